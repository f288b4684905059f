package main

import (
	"path/filepath"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// tokenIssues returns the issues of acme/repo titled as acme's
// missing-token issue.
func (w *e2e) tokenIssues(repo string) []ghsim.Issue {
	w.t.Helper()
	return w.issuesTitled(repo, func(title string) bool { return title == report.TokenTitle("acme") })
}

// TestMissingTokenIssueClosedOnceConfigured: a serve without acme's
// packages token opens the missing-token issue at the first prune; a serve
// started with the token closes it at its first prune of acme.
func TestMissingTokenIssueClosedOnceConfigured(t *testing.T) {
	w := newE2EWorld(t, ghsim.RateLimits{})
	w.file("app", rules.Path, e2eRules)
	w.startServe(func(s *settings.Settings) { s.PackagesTokens = nil })
	w.push(w.image("first"), cfgDay)
	w.deliver()
	tokenIssue := func() ghsim.Issue {
		t.Helper()
		found := w.tokenIssues(rules.OwnerRepo)
		if len(found) != 1 {
			t.Fatalf("%d missing-token issues, want 1: %+v", len(found), found)
		}
		return found[0]
	}
	if is := tokenIssue(); is.State != "open" {
		t.Fatalf("without a token the issue is %s", is.State)
	}

	// The same world, a new serve (own NATS data) holding the token.
	w.q, w.addr = nil, ""
	w.startServe(func(s *settings.Settings) { s.DataDir = filepath.Join(w.dir, "data-with-token") })
	w.push(w.image("second"), cfgDay)
	w.deliver()
	is := tokenIssue()
	if is.State != "closed" {
		t.Fatalf("with the token configured the issue is %s", is.State)
	}
	if len(is.Comments) != 1 {
		t.Errorf("the closed issue has %d comments, want 1: %+v", len(is.Comments), is.Comments)
	}
}
