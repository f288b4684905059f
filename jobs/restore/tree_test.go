package restore_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// pullDigest reads the image digest names from the registry, config
// included.
func (w *restoreWorld) pullDigest(digest string) error {
	host := strings.TrimPrefix(w.Server.URL, "http://")
	ref, err := name.NewDigest(host+"/acme/app@"+digest, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: "alice", Password: w.Token}))
	if err != nil {
		return err
	}
	_, err = img.ConfigFile()
	return err
}

// digests returns the digests of the manifests idx lists.
func digests(t *testing.T, idx v1.ImageIndex) []string {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range im.Manifests {
		out = append(out, m.Digest.String())
	}
	return out
}

// TestRestoreTreeRecursive: restoring a version restores, all the way
// down, what the versions restored with it list: the attestation an OCI
// referrers index (tag sha256-<hex>) lists, and the grandchildren of a
// nested index. Every deleted part comes back and pulls.
func TestRestoreTreeRecursive(t *testing.T) {
	tests := map[string]struct {
		// build pushes the protected version and what hangs off it, and
		// returns the tag to pull whole and the digests of every manifest
		// below it (leaves are images).
		build func(t *testing.T, w *restoreWorld) (root, pullTag string, below, leaves []string)
	}{
		"referrers index lists an attestation": {build: func(t *testing.T, w *restoreWorld) (string, string, []string, []string) {
			subject := w.Push(w.Image("v6"), 5*jobstest.Day, "v6.0.0")
			att := w.Image("in-toto attestation of v6")
			refIdx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: att})
			tag := registry.ReferrerTag(subject, registry.ReferrerIndex)
			ri := w.Push(refIdx, 5*jobstest.Day, tag)
			attDigest := digests(t, refIdx)[0]
			return subject, tag, []string{ri, attDigest}, []string{subject, attDigest}
		}},
		"nested index": {build: func(t *testing.T, w *restoreWorld) (string, string, []string, []string) {
			inner := jobstest.Index(w.Image("amd64 v7"), w.Image("arm64 v7"))
			outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
			root := w.Push(outer, 5*jobstest.Day, "v7.0.0")
			innerDigest := digests(t, outer)[0]
			leaves := digests(t, inner)
			return root, "v7.0.0", append([]string{innerDigest}, leaves...), leaves
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			root, pullTag, below, leaves := tc.build(t, w)
			w.prune(t) // the inventory sees the tags; nothing to prune
			for _, d := range append([]string{root}, below...) {
				if w.version(t, d).Deleted {
					t.Fatalf("%s pruned before the test", d)
				}
				w.deleteByHand(t, d)
			}
			if err := w.pull(pullTag); err == nil {
				t.Fatalf("pull %s succeeded with everything deleted", pullTag)
			}
			w.sweep(t)
			for _, d := range append([]string{root}, below...) {
				if w.version(t, d).Deleted {
					t.Errorf("%s not restored with %s", d, root)
				}
			}
			if err := w.pull(pullTag); err != nil {
				t.Errorf("pull %s after the sweep: %v", pullTag, err)
			}
			for _, d := range leaves {
				if err := w.pullDigest(d); err != nil {
					t.Errorf("pull %s after the sweep: %v", d, err)
				}
			}
		})
	}
}

// TestForgetNestedIndex: a nested index restored whole, then forgotten:
// the index goes again, and everything below it, no longer protected as
// restored, goes with the next prune, grandchildren included.
func TestForgetNestedIndex(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	inner := jobstest.Index(w.Image("amd64 v8"), w.Image("arm64 v8"))
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
	root := w.Push(outer, 5*jobstest.Day, "v8.0.0")
	below := append(digests(t, outer), digests(t, inner)...)
	w.prune(t)
	for _, d := range append([]string{root}, below...) {
		w.deleteByHand(t, d)
	}
	w.sweep(t)
	for _, d := range append([]string{root}, below...) {
		if w.version(t, d).Deleted {
			t.Fatalf("%s not restored", d)
		}
	}
	w.undo(t, "d-forget-nested", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{w.version(t, root).ID}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "intentional checkbox", Answer: true})
	if !w.version(t, root).Deleted {
		t.Fatal("the nested index was not deleted again")
	}
	w.prune(t)
	for _, d := range below {
		if !w.version(t, d).Deleted {
			t.Errorf("%s, below the forgotten index, still there after the prune", d)
		}
	}
}
