package rules

import (
	"errors"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic,
// every error must carry a position, and whatever it accepts must be
// usable by Decide. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte(untaggedRule))
	f.Add([]byte("_extends: acme/.github\nrules: [{type: npm, prune: {keep_latest: 3}}]\n"))
	f.Add([]byte("rules:\n  - &a {packages: [\"x*\"]}\n  - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(Path, data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T is not a non-empty ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Column < 1 || e.Msg == "" {
					t.Fatalf("error without position or message: %#v", e)
				}
			}
			return
		}
		cfg := build(file, "fuzz", "app", DefaultPolicy(), nil)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		idx := registry.Manifest{Digest: "sha256:1", MediaType: registry.MediaTypeOCIIndex,
			Children: []registry.Descriptor{{Digest: "sha256:2", Platform: "linux/amd64"}}}
		g := Graph{Manifests: map[string]registry.Manifest{
			"sha256:1": idx,
			"sha256:2": {Digest: "sha256:2", MediaType: registry.MediaTypeOCIManifest},
			"sha256:3": {Digest: "sha256:3", MediaType: registry.MediaTypeOCIManifest, Subject: "sha256:1"},
		}}
		versions := []Version{
			{ID: 1, Name: "sha256:1", Tags: []string{"v1", "pr-1"}, CreatedAt: now.Add(-100 * time.Hour)},
			{ID: 2, Name: "sha256:2", CreatedAt: now.Add(-100 * time.Hour)},
			{ID: 3, Name: "sha256:3", CreatedAt: now.Add(-100 * time.Hour)},
		}
		for _, typ := range []string{TypeContainer, TypeNPM} {
			d := Decide(Input{Config: cfg, Package: Package{Owner: "acme", Type: typ, Name: "app", Repository: "app"}, Versions: versions, Graph: g, Now: now})
			if len(d.Delete)+len(d.Keep) != len(versions) {
				t.Fatalf("decision lost versions: %+v", d)
			}
		}
	})
}
