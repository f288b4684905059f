package restore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// TestRestoreTokenProblemIsTheOwners: a packages token GitHub will not
// restore with (it lacks write:packages) is the owner's problem, as it is
// for a prune: said once in the owner's token issue, not as GitHub
// "refusing" each version in the repository's report; the person who
// asked gets one answer that nothing was restored and why, and the job
// ends without an error to retry. Once the token has the scope, the same
// request restores.
func TestRestoreTokenProblemIsTheOwners(t *testing.T) {
	w := newNamesWorld(t)
	if err := w.Sim.SetTokenScopes(w.Token, "read:packages", "delete:packages"); err != nil {
		t.Fatal(err)
	}
	before := len(w.comments(t))
	w.undo(t, "d-token", commentRequest("bob", w.issue, "/pkgwarden restore pr-3"))
	added := w.comments(t)[before:]
	if len(added) != 1 {
		t.Fatalf("%d comments added, want 1: %q", len(added), added)
	}
	for _, s := range []string{"@bob", "nothing was restored", report.TokenProblemTitle("acme")} {
		if !strings.Contains(added[0], s) {
			t.Errorf("the answer does not say %q:\n%s", s, added[0])
		}
	}
	if strings.Contains(added[0], "refused to restore") || strings.Contains(added[0], w.Token) {
		t.Errorf("the answer blames the version, or shows the token:\n%s", added[0])
	}
	if !w.deletedID(t, w.pr3) {
		t.Fatal("pr-3 restored without the scope")
	}
	// A sweep meets the same problem: still one owner issue, no error.
	w.sweep(t)
	issues, err := w.Sim.Issues("acme", ".github")
	if err != nil {
		t.Fatal(err)
	}
	var owner []string
	for _, is := range issues {
		if is.Title == report.TokenProblemTitle("acme") {
			owner = append(owner, is.Body)
		}
	}
	if len(owner) != 1 || !strings.Contains(owner[0], "write:packages") {
		t.Fatalf("owner token issues: %q, want one naming write:packages", owner)
	}
	if n := len(w.comments(t)) - before; n != 1 {
		t.Errorf("%d comments in the report after the sweep, want the one answer", n)
	}

	if err := w.Sim.SetTokenScopes(w.Token, "read:packages", "write:packages", "delete:packages"); err != nil {
		t.Fatal(err)
	}
	w.undo(t, "d-token-again", commentRequest("bob", w.issue, "/pkgwarden restore pr-3"))
	if w.deletedID(t, w.pr3) {
		t.Fatalf("pr-3 not restored once the token has the scope: %q", w.comments(t)[before:])
	}
	if last := w.comments(t); !strings.Contains(last[len(last)-1], fmt.Sprintf("@bob asked: restored pr-3 (id %d)", w.pr3)) {
		t.Errorf("last comment %q", last[len(last)-1])
	}
}

// TestForgetTokenProblemIsTheOwners: the same for forget, whose deletion
// needs delete:packages: one answer pointing to the owner's issue, the
// version stays as it is and still pkgwarden's to forget once the token
// is fixed.
func TestForgetTokenProblemIsTheOwners(t *testing.T) {
	w := newNamesWorld(t)
	restoreByID(t, w)
	if err := w.Sim.SetTokenScopes(w.Token, "read:packages", "write:packages"); err != nil {
		t.Fatal(err)
	}
	before := len(w.comments(t))
	w.undo(t, "d-forget", commentRequest("alice", w.issue, "/pkgwarden forget pr-3"))
	added := w.comments(t)[before:]
	if len(added) != 1 || !strings.Contains(added[0], report.TokenProblemTitle("acme")) || strings.Contains(added[0], "refused") {
		t.Fatalf("comments added %q, want one pointing to the owner's token issue", added)
	}
	if w.deletedID(t, w.pr3) {
		t.Fatal("pr-3 deleted without the scope")
	}
	if err := w.Sim.SetTokenScopes(w.Token, "read:packages", "write:packages", "delete:packages"); err != nil {
		t.Fatal(err)
	}
	w.undo(t, "d-forget-again", commentRequest("alice", w.issue, "/pkgwarden forget pr-3"))
	if !w.deletedID(t, w.pr3) {
		c := w.comments(t)
		t.Fatalf("pr-3 not deleted again once the token has the scope: %q", c[len(c)-1])
	}
}

// TestForgetPackageTokenProblemIsTheOwners: forgetting a restored package
// with a token that may not delete is answered with the owner's token
// issue, not as GitHub refusing the package.
func TestForgetPackageTokenProblemIsTheOwners(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("v1"), 5*jobstest.Day, "v1.0.0")
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	w.prune(t)
	w.sweep(t)
	pkgID := w.packageID(t)
	w.deletePackage(t)
	w.sweep(t)
	if got := w.packageID(t); got != pkgID {
		t.Fatalf("package id after the sweep = %d, want %d restored", got, pkgID)
	}
	if err := w.Sim.SetTokenScopes(w.Token, "read:packages", "write:packages"); err != nil {
		t.Fatal(err)
	}
	before := len(w.comments(t))
	w.undo(t, "d-forget-package", jobs.UndoRequest{Kind: jobs.UndoForget, Package: true, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "comment", Answer: true})
	added := w.comments(t)[before:]
	if len(added) != 1 || !strings.Contains(added[0], report.TokenProblemTitle("acme")) || strings.Contains(added[0], "refused") {
		t.Fatalf("comments added %q, want one pointing to the owner's token issue", added)
	}
	if got := w.packageID(t); got != pkgID {
		t.Fatalf("package id %d, want %d still there", got, pkgID)
	}
}
