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
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	old := w.Push(w.Image("v4-old"), 5*jobstest.Day, "v4.0.0")
	w.prune(t)
	w.deleteByHand(t, old)
	fresh := w.Push(w.Image("v4-new"), 0, "v4.0.0")
	// An untagged version nobody restored: the prune deletes it, which
	// shows the rules prune untagged versions in this world.
	stray := w.Push(w.Image("stray build"), 3*jobstest.Day)
	w.sweep(t)
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
