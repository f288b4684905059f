package demoworld

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// ownerFile serves OrgPolicy as acme's .github/pkgwarden.yml.
type ownerFile struct{}

func (ownerFile) File(_ context.Context, owner, repo, path string) ([]byte, error) {
	if owner == "acme" && repo == ".github" && path == ".github/pkgwarden.yml" {
		return []byte(OrgPolicy), nil
	}
	return nil, rules.ErrNotFound
}

// TestOrgPolicyIsSafeToCopy decides, under the organisation's default
// alone, packages whose every version is months old: an npm release is
// never deleted, only pre-releases beyond the newest 10, and a container
// loses only its old untagged builds beyond the newest 5.
func TestOrgPolicyIsSafeToCopy(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	var npm []rules.Version
	for i := range 3 { // three old pre-releases, then releases 1.0.0 … 1.11.0
		npm = append(npm, rules.Version{ID: int64(20 + i), Name: fmt.Sprintf("0.%d.0-rc.1", i), CreatedAt: now.Add(-time.Duration(300-i) * day)})
	}
	for i := range 12 {
		npm = append(npm, rules.Version{ID: int64(i + 1), Name: fmt.Sprintf("1.%d.0", i), CreatedAt: now.Add(-time.Duration(200-i) * day)})
	}
	var image []rules.Version
	graph := rules.Graph{Manifests: map[string]registry.Manifest{}}
	for i := range 8 { // 7 untagged builds and a tagged release, all 30 days old or more
		d := fmt.Sprintf("sha256:%064x", i+1)
		v := rules.Version{ID: int64(100 + i), Name: d, CreatedAt: now.Add(-time.Duration(30+i) * day)}
		if i == 7 {
			v.Tags = []string{"v1.0.0"}
		}
		image = append(image, v)
		graph.Manifests[d] = registry.Manifest{Digest: d, MediaType: registry.MediaTypeOCIManifest}
	}
	for _, tc := range []struct {
		typ        string
		versions   []rules.Version
		graph      rules.Graph
		wantDelete []int64
	}{
		// Beyond the newest 10 (1.2.0 … 1.11.0): 1.0.0 and 1.1.0 stay,
		// releases; the three pre-releases go.
		{"npm", npm, rules.Graph{}, []int64{20, 21, 22}},
		// The two oldest untagged builds: 7 untagged, the newest 5 stay.
		{"container", image, graph, []int64{106, 105}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			pkg := rules.Package{Owner: "acme", Type: tc.typ, Name: "lib"}
			cfg, err := rules.NewLoader(ownerFile{}).Load(context.Background(), pkg)
			if err != nil {
				t.Fatal(err)
			}
			d := rules.Decide(rules.Input{Config: cfg, Package: pkg, Versions: tc.versions, Graph: tc.graph, Now: now})
			var got []int64
			for _, e := range d.Delete {
				got = append(got, e.ID)
			}
			slices.Sort(got)
			want := slices.Clone(tc.wantDelete)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("deletes %v, want %v (origin %q)\n%+v", got, want, d.Origin, d.Delete)
			}
		})
	}
}
