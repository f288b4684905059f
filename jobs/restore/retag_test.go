package restore_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// TestRestoreRetag: with the simulator giving no tags back on restore
// (GitHub's docs do not promise it does), a protected tag deleted by hand
// is restored by a sweep and pkgwarden gives the tag back through the
// registry: it resolves to the same digest again and the API lists it on
// the restored version. A tag another version holds now stays there.
func TestRestoreRetag(t *testing.T) {
	tests := map[string]struct {
		// setup pushes and deletes by hand; it returns the restored root's
		// digest, the tags that must resolve to which digest afterwards,
		// and the digests whose versions must list which tags.
		setup func(t *testing.T, w *restoreWorld) (root string, resolve map[string]string, listed map[string][]string)
	}{
		"multi-arch index": {setup: func(t *testing.T, w *restoreWorld) (string, map[string]string, map[string][]string) {
			idx := jobstest.Index(w.Image("amd64"), w.Image("arm64"))
			d := w.Push(idx, 5*jobstest.Day, "v1.0.0")
			w.prune(t)
			w.deleteIndexByHand(t, idx, d)
			return d, map[string]string{"v1.0.0": d}, map[string][]string{d: {"v1.0.0"}}
		}},
		"single image, two tags": {setup: func(t *testing.T, w *restoreWorld) (string, map[string]string, map[string][]string) {
			d := w.Push(w.Image("v2.1.0"), 5*jobstest.Day, "v2.1.0", "v2.1")
			w.prune(t)
			w.deleteByHand(t, d)
			return d, map[string]string{"v2.1.0": d, "v2.1": d}, map[string][]string{d: {"v2.1", "v2.1.0"}}
		}},
		"signature deleted with its image": {setup: func(t *testing.T, w *restoreWorld) (string, map[string]string, map[string][]string) {
			d := w.Push(w.Image("v5"), 5*jobstest.Day, "v5.0.0")
			sigTag := registry.ReferrerTag(d, registry.ReferrerSignature)
			sig := w.Push(w.Image("signature of v5"), 5*jobstest.Day, sigTag)
			w.prune(t)
			w.deleteByHand(t, d)
			w.deleteByHand(t, sig)
			return d, map[string]string{"v5.0.0": d, sigTag: sig}, map[string][]string{d: {"v5.0.0"}, sig: {sigTag}}
		}},
		"tag held by another version": {setup: func(t *testing.T, w *restoreWorld) (string, map[string]string, map[string][]string) {
			old := w.Push(w.Image("v3-old"), 5*jobstest.Day, "v3.0.0", "v3.0")
			w.prune(t)
			w.deleteByHand(t, old)
			fresh := w.Push(w.Image("v3-new"), 0, "v3.0.0")
			// v3.0 is free again and comes back; v3.0.0 stays on fresh.
			return old, map[string]string{"v3.0.0": fresh, "v3.0": old}, map[string][]string{old: {"v3.0"}, fresh: {"v3.0.0"}}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			w.Sim.SetRestoreWithoutTags(true)
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			root, resolve, listed := tc.setup(t, w)
			for tag := range resolve {
				if got, err := w.head(tag); err == nil && got == root {
					t.Fatalf("%s resolves to the deleted %s before the sweep", tag, got)
				}
			}
			w.sweep(t)
			if w.version(t, root).Deleted {
				t.Fatalf("%s not restored", root)
			}
			for tag, want := range resolve {
				got, err := w.head(tag)
				if err != nil {
					t.Errorf("HEAD %s after the sweep: %v", tag, err)
					continue
				}
				if got != want {
					t.Errorf("%s resolves to %s, want %s", tag, got, want)
				}
				if err := w.pull(tag); err != nil {
					t.Errorf("pull %s: %v", tag, err)
				}
			}
			got := w.listedTags(t)
			for digest, want := range listed {
				if tags := got[digest]; !slices.Equal(tags, want) {
					t.Errorf("API lists %s with tags %v, want %v", digest, tags, want)
				}
			}
			// The next sweep changes nothing: no restore, no more tags.
			before := len(w.comments(t))
			w.sweep(t)
			if n := len(w.comments(t)); n != before {
				t.Errorf("second sweep added %d comments", n-before)
			}
			if again := w.listedTags(t); !maps.EqualFunc(again, got, slices.Equal[[]string]) {
				t.Errorf("second sweep changed tags: %v, was %v", again, got)
			}
		})
	}
}

// TestRestoreWithoutTagsSwitch: the simulator switch really withholds
// the tags, so TestRestoreRetag's tags came from pkgwarden.
func TestRestoreWithoutTagsSwitch(t *testing.T) {
	w := newRestoreWorld(t)
	w.Sim.SetRestoreWithoutTags(true)
	d := w.Push(w.Image("v7"), 5*jobstest.Day, "v7.0.0")
	w.deleteByHand(t, d)
	pc, owner := w.packagesClient(t)
	ctx := context.Background()
	if err := pc.RestoreVersion(ctx, owner, "container", "app", w.version(t, d).ID); err != nil {
		t.Fatal(err)
	}
	if v := w.version(t, d); v.Deleted || len(v.Tags) != 0 {
		t.Errorf("restored with the switch on: deleted %t, tags %v; want active, no tags", v.Deleted, v.Tags)
	}
	if _, err := w.head("v7.0.0"); err == nil {
		t.Error("v7.0.0 resolves after a restore without tags")
	}
}

// head resolves tag in the registry to a digest.
func (w *restoreWorld) head(tag string) (string, error) {
	host := strings.TrimPrefix(w.Server.URL, "http://")
	ref, err := name.NewTag(host+"/acme/app:"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: w.Token}))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

func (w *restoreWorld) packagesClient(t *testing.T) (*githubapi.PackagesClient, githubapi.Owner) {
	t.Helper()
	pc, err := githubapi.NewPackagesClient(githubapi.NewToken("acme", "test", w.Token), githubapi.PackagesClientOptions{BaseURL: w.Server.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pc.ResolveOwner(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return pc, owner
}

// listedTags are the active versions' tags, sorted, as the REST API lists
// them, by digest.
func (w *restoreWorld) listedTags(t *testing.T) map[string][]string {
	t.Helper()
	pc, owner := w.packagesClient(t)
	page, err := pc.ListVersions(context.Background(), owner, "container", "app", githubapi.ListVersionsOptions{State: githubapi.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, v := range page.Versions {
		tags := slices.Clone(v.Tags)
		slices.Sort(tags)
		out[v.Name] = tags
	}
	return out
}
