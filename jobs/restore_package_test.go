package jobs_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
)

// deletePackage deletes acme's container app through the API, as someone
// in the organization would.
func (w *restoreWorld) deletePackage(t *testing.T) {
	t.Helper()
	pc, err := githubapi.NewPackagesClient(githubapi.NewToken("acme", "test", w.token), githubapi.PackagesClientOptions{BaseURL: w.srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	owner, err := pc.ResolveOwner(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.DeletePackage(ctx, owner, "container", "app"); err != nil {
		t.Fatal(err)
	}
}

// countComments counts acme/app's issue comments holding every part.
func (w *restoreWorld) countComments(t *testing.T, parts ...string) int {
	t.Helper()
	n := 0
	for _, c := range w.comments(t) {
		if anyContains([]string{c}, parts...) {
			n++
		}
	}
	return n
}

// TestRestoreReusedNamespace: a package restore swept before is deleted
// and a new package takes its name. Whether a prune of the new package
// records its id before the restore sweep runs or after, the reuse is
// reported exactly once over all sweeps, and the new package is left as
// it is.
func TestRestoreReusedNamespace(t *testing.T) {
	tests := map[string]struct {
		// pruneFirst: the new package's push webhook runs a prune (which
		// records the new package's id) before the first sweep; else two
		// sweeps run before it.
		pruneFirst bool
	}{
		"prune of the new package first": {pruneFirst: true},
		"restore sweep first":            {pruneFirst: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			w.push(w.image("v1"), 5*day, "v1.0.0")
			w.push(w.image("latest"), 2*day, "latest")
			w.prune(t)
			w.sweep(t) // the restore job sees the old package
			w.deletePackage(t)
			fresh := w.push(w.image("new"), 0, "new")
			if tc.pruneFirst {
				w.prune(t)
			}
			w.sweep(t)
			w.sweep(t)
			if !tc.pruneFirst {
				// The webhook's prune comes late; the sweep after it
				// sees the recorded id match and must stay quiet too.
				w.prune(t)
				w.sweep(t)
			}

			vs, err := w.sim.Versions("acme", "container", "app")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range vs {
				names = append(names, v.Name)
			}
			if !slices.Equal(names, []string{fresh}) {
				t.Errorf("versions = %v, want the new package's %s only: something was overwritten", names, fresh)
			}
			if n := w.countComments(t, "Not restored", "new package of the same name"); n != 1 {
				t.Errorf("%d reports of the reused namespace over the sweeps, want 1: %q", n, strings.Join(w.comments(t), "\n---\n"))
			}
		})
	}
}
