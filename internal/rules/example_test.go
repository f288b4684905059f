package rules_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// files is a Source serving two files from memory.
type files map[string]string

func (f files) File(_ context.Context, owner, repo, path string) ([]byte, error) {
	data, ok := f[owner+"/"+repo+":"+path]
	if !ok {
		return nil, rules.ErrNotFound
	}
	return []byte(data), nil
}

func digest(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return "sha256:" + string(b)
}

// A release index keeps its platform manifests and its cosign signature;
// an untagged build index from last week goes with its children.
func Example() {
	src := files{"acme/app:.github/pkgwarden.yml": `
rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, older_than: 2d, delete_tags: ["pr-*"]}
`}
	pkg := rules.Package{Owner: "acme", Type: rules.TypeContainer, Name: "app", Repository: "app"}
	cfg, err := rules.NewLoader(src).Load(context.Background(), pkg)
	if err != nil {
		fmt.Println(err)
		return
	}

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	week := now.Add(-7 * 24 * time.Hour)
	rel, relAMD, relARM := digest('a'), digest('b'), digest('c')
	old, oldAMD := digest('d'), digest('e')
	sig := digest('f')
	versions := []rules.Version{
		{ID: 1, Name: relAMD, CreatedAt: week},
		{ID: 2, Name: relARM, CreatedAt: week},
		{ID: 3, Name: rel, Tags: []string{"v1.0.0"}, CreatedAt: week},
		{ID: 4, Name: sig, Tags: []string{"sha256-" + rel[7:] + ".sig"}, CreatedAt: week},
		{ID: 5, Name: oldAMD, CreatedAt: week},
		{ID: 6, Name: old, Tags: []string{"pr-42"}, CreatedAt: week},
	}
	image := func(d string) registry.Manifest {
		return registry.Manifest{Digest: d, MediaType: registry.MediaTypeOCIManifest}
	}
	graph := rules.Graph{Manifests: map[string]registry.Manifest{
		rel: {Digest: rel, MediaType: registry.MediaTypeOCIIndex, Children: []registry.Descriptor{
			{Digest: relAMD, Platform: "linux/amd64"}, {Digest: relARM, Platform: "linux/arm64"}}},
		old: {Digest: old, MediaType: registry.MediaTypeOCIIndex, Children: []registry.Descriptor{
			{Digest: oldAMD, Platform: "linux/amd64"}}},
		relAMD: image(relAMD), relARM: image(relARM), oldAMD: image(oldAMD), sig: image(sig),
	}}

	d := rules.Decide(rules.Input{Config: cfg, Package: pkg, Versions: versions, Graph: graph, Now: now})
	fmt.Println("rules from", d.Origin)
	for _, e := range d.Delete {
		fmt.Printf("delete %d %s: %s\n", e.ID, rules.ShortDigest(e.Version), e.Reason)
	}
	for _, e := range d.Keep {
		fmt.Printf("keep   %d %s: %s\n", e.ID, rules.ShortDigest(e.Version), e.Reason)
	}
	// Output:
	// rules from acme/app:.github/pkgwarden.yml
	// delete 6 sha256:dddddddddddd: matches delete_tags pr-*, older than 2d
	// delete 5 sha256:eeeeeeeeeeee: child linux/amd64 of index pr-42, goes with it
	// keep   4 sha256:ffffffffffff: signature of v1.0.0
	// keep   3 sha256:aaaaaaaaaaaa: tag v1.0.0 matches no delete_tags
	// keep   2 sha256:cccccccccccc: child linux/arm64 of index v1.0.0
	// keep   1 sha256:bbbbbbbbbbbb: child linux/amd64 of index v1.0.0
}
