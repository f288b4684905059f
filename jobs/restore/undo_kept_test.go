package restore_test

import (
	"testing"

	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// TestUndoneVersionStays: a tagged version pkgwarden pruned and someone
// brought back (a ticked box, /pkgwarden restore) is not pruned again by
// the next runs, though the rules still match it; /pkgwarden forget lets
// it go for good.
func TestUndoneVersionStays(t *testing.T) {
	w := newRestoreWorld(t)
	if _, err := w.Sim.AddUser("bob"); err != nil {
		t.Fatal(err)
	}
	if err := w.Sim.SetCollaborator("acme", "app", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	d := w.Push(w.Image("pr-3"), 5*jobstest.Day, "pr-3")
	w.prune(t)
	if !w.version(t, d).Deleted {
		t.Fatal("pr-3 not pruned: the rules do not match it and the test proves nothing")
	}
	id := w.version(t, d).ID
	issue := w.reportIssue(t)
	w.undo(t, "d-undo", jobs.UndoRequest{Kind: jobs.UndoRestore, IDs: []int64{id}, Sender: "bob", Repository: "acme/app", Issue: issue, Via: "comment", Answer: true})
	if w.version(t, d).Deleted {
		t.Fatal("the undo did not bring pr-3 back")
	}
	for i := range 2 {
		w.prune(t)
		if w.version(t, d).Deleted {
			t.Fatalf("prune %d after the undo deleted pr-3 again", i+1)
		}
	}
	// Deleting again is a package admin's call: alice, the organisation's
	// admin, forgets it (bob, a writer, may not; TestForgetNeedsAdmin).
	w.undo(t, "d-forget", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{id}, Sender: "alice", Repository: "acme/app", Issue: issue, Via: "comment", Answer: true})
	if !w.version(t, d).Deleted {
		t.Error("/pkgwarden forget left pr-3 in place")
	}
	w.sweep(t)
	if !w.version(t, d).Deleted {
		t.Error("the sweep brought back the forgotten pr-3")
	}
}
