package restore_test

import (
	"testing"

	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// TestRestoredUntaggedNotPruned: a restored version whose tag another
// version holds now comes back untagged, and the prune job, which does
// delete untagged versions here, never deletes it for being untagged.
func TestRestoredUntaggedNotPruned(t *testing.T) {
	w := newRestoreWorld(t)
	old, fresh := w.tagTakenWhileDeleted(t, "v4.0.0", 5*jobstest.Day)
	// An untagged version nobody restored: the prune deletes it, which
	// shows the rules prune untagged versions in this world.
	stray := w.Push(w.Image("stray build"), 3*jobstest.Day)
	if v := w.version(t, old); v.Deleted || len(v.Tags) != 0 {
		t.Fatalf("old v4.0.0 after the sweep: deleted %t, tags %v; want restored untagged (the tag is %s's)", v.Deleted, v.Tags, fresh)
	}
	for i := range 2 {
		w.prune(t)
		if w.version(t, old).Deleted {
			t.Fatalf("prune %d deleted the restored, untagged old v4.0.0", i+1)
		}
	}
	if !w.version(t, stray).Deleted {
		t.Error("the untagged stray build was not pruned: the test proves nothing")
	}
	if w.version(t, fresh).Deleted {
		t.Error("the new v4.0.0 was pruned")
	}
}

// TestRestoredDoesNotTakeTheCap: a version pkgwarden restored is held by
// the plan, like one GitHub refused, and so never takes one of the run's
// max_deletions_per_run places: the versions behind it still go. (It once
// stayed a delete candidate that the deletion step then kept, so with a
// cap of one every run kept it and deleted nothing else, for good.)
func TestRestoredDoesNotTakeTheCap(t *testing.T) {
	w := newRestoreWorld(t)
	w.File(".github", "policy: {max_deletions_per_run: 1}\n")
	old, _ := w.tagTakenWhileDeleted(t, "v4.0.0", 9*jobstest.Day)
	if v := w.version(t, old); v.Deleted || len(v.Tags) != 0 {
		t.Fatalf("old v4.0.0 after the sweep: deleted %t, tags %v; want restored untagged", v.Deleted, v.Tags)
	}
	// Two untagged builds, younger than the restored one: each run may
	// delete one.
	strays := []string{w.Push(w.Image("stray 1"), 4*jobstest.Day), w.Push(w.Image("stray 2"), 3*jobstest.Day)}
	for i := range 2 {
		w.prune(t)
		if w.version(t, old).Deleted {
			t.Fatalf("prune %d deleted the restored old v4.0.0", i+1)
		}
	}
	for i, d := range strays {
		if !w.version(t, d).Deleted {
			t.Errorf("stray build %d is still there after two runs of one deletion each: the restored version took the run's place", i+1)
		}
	}
}
