package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
)

// TestTokenProblemIssue: one issue in the owner's .github, rewritten in
// place when the problem changes, untouched when it does not, never
// commented on until TokenWorks closes it with one comment; a later
// problem reopens the same issue.
func TestTokenProblemIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	scope := report.TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope, Missing: []string{"delete:packages"}, Have: []string{"read:packages"}},
		Types: []string{"container"}, Deleting: true}
	steps := []struct {
		name    string
		p       report.TokenProblem
		created bool
		updated bool
	}{
		{"first", scope, true, false},
		{"same again", scope, false, false},
		{"another package, same problem", scope, false, false},
		{"another problem", report.TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenSSO}, Types: []string{"container"}, Deleting: true}, false, true},
	}
	for _, s := range steps {
		res, err := w.rep.TokenProblem(ctx, w.inst, "acme", "webapp", s.p)
		must(t, err)
		if res.Created != s.created || res.Updated != s.updated || res.Commented || res.Issue.Repository != "acme/.github" {
			t.Fatalf("%s: %+v", s.name, res)
		}
	}
	is := w.only(t, ".github")
	if is.Title != report.TokenProblemTitle("acme") || len(is.Comments) != 0 || !strings.Contains(is.Body, "SAML") {
		t.Fatalf("issue %q with %d comments, body %q", is.Title, len(is.Comments), is.Body)
	}
	if len(w.issues(t, "webapp")) != 0 {
		t.Fatal("the repository got an issue: the token is the owner's concern")
	}
	res, err := w.rep.TokenWorks(ctx, w.inst, "acme")
	must(t, err)
	if is := w.only(t, ".github"); !res.Closed || is.State != "closed" || len(is.Comments) != 1 {
		t.Fatalf("TokenWorks: %+v, issue %s with %d comments", res, is.State, len(is.Comments))
	}
	if res, err := w.rep.TokenWorks(ctx, w.inst, "acme"); err != nil || res.Closed {
		t.Fatalf("closed twice: %+v, %v", res, err)
	}
	res, err = w.rep.TokenProblem(ctx, w.inst, "acme", "webapp", scope)
	must(t, err)
	if !res.Reopened || len(w.issues(t, ".github")) != 1 {
		t.Fatalf("a new problem: %+v, want the same issue reopened", res)
	}
}

// TestDeadLettersIssue: one issue for every dead letter of the owner,
// rewritten per new letter and never commented on.
func TestDeadLettersIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	l1 := report.DeadLetter{Job: "prune", Package: pkgref.Ref{Owner: "acme", Type: "container", Name: "webapp", Repository: "acme/webapp"}, Attempts: 5, Error: "boom", At: at}
	l2 := report.DeadLetter{Job: "prune", Package: pkgref.Ref{Owner: "acme", Type: "npm", Name: "client"}, Attempts: 5, Error: "bang", At: at.Add(time.Minute)}
	res, err := w.rep.DeadLetters(ctx, w.inst, "acme", []report.DeadLetter{l1}, 1)
	must(t, err)
	if !res.Created || res.Issue.Repository != "acme/.github" {
		t.Fatalf("first: %+v", res)
	}
	res, err = w.rep.DeadLetters(ctx, w.inst, "acme", []report.DeadLetter{l2, l1}, 2)
	must(t, err)
	if res.Created || !res.Updated || res.Commented {
		t.Fatalf("second: %+v", res)
	}
	is := w.only(t, ".github")
	if is.Title != report.DeadLettersTitle("acme") || len(is.Comments) != 0 || !strings.Contains(is.Body, "`bang`") || !strings.Contains(is.Body, "`boom`") {
		t.Fatalf("issue %q, %d comments, body %q", is.Title, len(is.Comments), is.Body)
	}
}
