package restore_test

import (
	"errors"
	"fmt"

	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// deletePackage deletes acme's container app through the API, as someone
// in the organization would.
func (w *restoreWorld) deletePackage(t *testing.T) {
	t.Helper()
	pc, owner := w.packagesClient(t)
	ctx := context.Background()
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

// TestRestoreReusedNamespace: a package is deleted and a new package
// takes its name. Whether a prune of the new package
// records its id before the restore sweep runs or after, the reuse is
// reported exactly once over all sweeps, and the new package is left as
// it is.
func TestRestoreReusedNamespace(t *testing.T) {
	tests := map[string]struct {
		// pruneFirst: the new package's push webhook runs a prune (which
		// records the new package's id) before the first sweep; else two
		// sweeps run before it.
		pruneFirst bool
		// sweptBefore: a restore sweep saw the old package before it was
		// deleted; else only prune had recorded it (its id since
		// overwritten by the new package's), and the first sweep of the
		// name must tell from the versions recorded.
		sweptBefore bool
	}{
		"prune of the new package first": {pruneFirst: true, sweptBefore: true},
		"restore sweep first":            {pruneFirst: false, sweptBefore: true},
		"old package never swept":        {pruneFirst: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			w.Push(w.Image("v1"), 5*jobstest.Day, "v1.0.0")
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			w.prune(t)
			if tc.sweptBefore {
				w.sweep(t) // the restore job sees the old package
			}
			w.deletePackage(t)
			fresh := w.Push(w.Image("new"), 0, "new")
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

			vs, err := w.Sim.Versions("acme", "container", "app")
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
			// Nothing was restored: the report neither counts "0 items"
			// nor offers to forget anything.
			if n := w.countComments(t, "new package of the same name", "restored nothing"); n != 1 {
				t.Errorf("the reuse report does not say nothing was restored: %q", w.comments(t))
			}
			if n := w.countComments(t, "new package of the same name", "/pkgwarden forget"); n != 0 {
				t.Errorf("the reuse report offers to forget what was not restored: %q", w.comments(t))
			}
		})
	}
}

// packageID returns acme's container app's id, or 0 when it is gone.
func (w *restoreWorld) packageID(t *testing.T) int64 {
	t.Helper()
	pc, owner := w.packagesClient(t)
	ctx := context.Background()
	p, err := pc.GetPackage(ctx, owner, "container", "app")
	if errors.Is(err, githubapi.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// TestForgetRestoredPackage: a sweep restores a deleted package and
// reports it with an "intentional" box; ticking it, or commenting
// `/pkgwarden forget <package id>`, deletes the package again, and the
// next sweeps leave it deleted.
func TestForgetRestoredPackage(t *testing.T) {
	tests := map[string]struct {
		// request builds the forget request from the restore comment, as
		// the router does from the event.
		request func(t *testing.T, w *restoreWorld, comment string, pkgID int64) jobs.UndoRequest
	}{
		"intentional box ticked": {request: func(t *testing.T, w *restoreWorld, comment string, _ int64) jobs.UndoRequest {
			ticked := strings.Replace(comment, "- [ ] this deletion was intentional", "- [x] this deletion was intentional", 1)
			ids := jobstest.Seal.NewlyTickedIntentional(rules.Package{Owner: "acme", Type: "container", Name: "app"}, comment, ticked)
			if len(ids) != 1 {
				t.Fatalf("ticking the package's box asks to forget %v, want one id", ids)
			}
			return jobs.UndoRequest{Kind: jobs.UndoForget, IDs: ids, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "intentional checkbox", Answer: true}
		}},
		"forget command with the package id": {request: func(t *testing.T, w *restoreWorld, _ string, pkgID int64) jobs.UndoRequest {
			return jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{pkgID}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "comment", Answer: true}
		}},
		"forget package form": {request: func(t *testing.T, w *restoreWorld, _ string, _ int64) jobs.UndoRequest {
			return jobs.UndoRequest{Kind: jobs.UndoForget, Package: true, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "comment", Answer: true}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			old := w.Push(w.Image("v1"), 5*jobstest.Day, "v1.0.0")
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			w.prune(t)
			w.sweep(t)
			pkgID := w.packageID(t)
			w.deletePackage(t)
			w.sweep(t)
			if got := w.packageID(t); got != pkgID {
				t.Fatalf("package id after the sweep = %d, want %d restored", got, pkgID)
			}
			var comment string
			for _, c := range w.comments(t) {
				if strings.Contains(c, "the package `app`") {
					comment = c
				}
			}
			if !strings.Contains(comment, fmt.Sprintf("<!-- pkgwarden:intentional %d ", pkgID)) {
				t.Fatalf("package restore reported without an intentional box for id %d: %q", pkgID, comment)
			}

			w.undo(t, "d-forget-package", tc.request(t, w, comment, pkgID))
			if got := w.packageID(t); got != 0 {
				t.Fatalf("package %d still there after it was forgotten", got)
			}
			if !anyContains(w.comments(t), "@alice", fmt.Sprintf("(id %d) deleted again", pkgID)) {
				t.Errorf("forget not answered: %q", w.comments(t))
			}
			before := len(w.comments(t))
			for range 2 {
				w.sweep(t)
			}
			if got := w.packageID(t); got != 0 {
				t.Errorf("a sweep restored the package forgotten on purpose (id %d)", got)
			}
			if err := w.pull("v1.0.0"); err == nil {
				t.Errorf("v1.0.0 (%s) pulls after the package was forgotten", old)
			}
			if got := len(w.comments(t)); got != before {
				t.Errorf("sweeps after the forget added %d comments", got-before)
			}
			// Asked again while the package is gone: it stays so.
			w.undo(t, "d-forget-again", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{pkgID}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "comment", Answer: true})
			if !anyContains(w.comments(t), "@alice", fmt.Sprintf("(id %d) stays deleted", pkgID)) {
				t.Errorf("forget of the deleted package not answered: %q", w.comments(t))
			}
		})
	}
}
