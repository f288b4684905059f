package prune_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestTokenProblemIsTheOwners: a packages token GitHub does not accept
// (lacking delete:packages, not authorised for SAML SSO, revoked) gives
// one issue in the owner's .github saying so, run after run, and no
// refusal of any version: nothing is held, nothing is said in the
// repository's report. Once the token is fixed, the next run deletes what
// the rules say and closes the issue.
func TestTokenProblemIsTheOwners(t *testing.T) {
	full := []string{"read:packages", "write:packages", "delete:packages", "repo"}
	tests := map[string]struct {
		// spoil makes the token go wrong; it returns the tokens setting
		// to run with.
		spoil func(t *testing.T, w *jobstest.World) string
		// fix makes it right again, as its owner would; it returns the
		// tokens setting to run with then.
		fix  func(t *testing.T, w *jobstest.World) string
		want string // in the issue's body
	}{
		"lacks delete:packages": {
			spoil: func(t *testing.T, w *jobstest.World) string {
				must(t, w.Sim.SetTokenScopes(w.Token, "read:packages", "write:packages"))
				return "acme=" + w.Token
			},
			fix: func(t *testing.T, w *jobstest.World) string {
				must(t, w.Sim.SetTokenScopes(w.Token, full...))
				return "acme=" + w.Token
			},
			want: "lacks the `delete:packages` scope",
		},
		"SAML SSO from the re-check on": {
			spoil: func(t *testing.T, w *jobstest.World) string {
				w.AfterFirstListing = func() { must(t, w.Sim.EnforceSAML("acme", true)) }
				return "acme=" + w.Token
			},
			fix: func(t *testing.T, w *jobstest.World) string {
				must(t, w.Sim.AuthorizeSSO(w.Token, "acme"))
				return "acme=" + w.Token
			},
			want: "SAML single sign-on",
		},
		"revoked": {
			spoil: func(t *testing.T, w *jobstest.World) string { return "acme=ghp_revoked0000000000000000000000000000" },
			fix:   func(t *testing.T, w *jobstest.World) string { return "acme=" + w.Token },
			want:  "401 Bad credentials",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := jobstest.NewWorld(t)
			w.UseInventory = true
			w.File("app", jobstest.PruneRules)
			old := w.Push(w.Image("old"), 3*jobstest.Day)
			w.Push(w.Image("v1"), 2*jobstest.Day, "v1")
			issues := report.New(w.App, nil, slog.New(slog.DiscardHandler), jobstest.ReportOptions(w.Sim)...)
			rep := prune.IssueReporter{Issues: issues}
			ctx := context.Background()

			tokens := tc.spoil(t, w)
			for i := range 2 {
				if err := w.Pruner(rep, false, tokens).Handle(ctx, w.Job()); err != nil {
					t.Fatalf("run %d: %v (a token problem is reported, not retried)", i+1, err)
				}
			}
			if !strings.Contains(strings.Join(w.ActiveDigests(), " "), old) {
				t.Fatal("the old version went with a spoilt token")
			}
			is := ownerIssue(t, w)
			if is.State != "open" || len(is.Comments) != 0 || !strings.Contains(is.Body, tc.want) {
				t.Fatalf("owner issue %s with %d comments, body:\n%s\nwant %q", is.State, len(is.Comments), is.Body, tc.want)
			}
			appIssues, err := w.Sim.Issues("acme", "app")
			must(t, err)
			for _, ai := range appIssues {
				if strings.Contains(ai.Body, "refused") || strings.Contains(ai.Body, "scope") {
					t.Errorf("the repository's issue %q speaks of the token:\n%s", ai.Title, ai.Body)
				}
			}
			inv, err := inventory.Open(ctx, w.NATS.Queue.JS, 1, nil)
			must(t, err)
			refusals, err := inv.Refusals(ctx, w.Installation, inventory.Package{Ref: w.Job().Target.Ref()})
			must(t, err)
			if len(refusals) != 0 {
				t.Errorf("refusals remembered for a token problem: %+v", refusals)
			}

			w.AfterFirstListing = nil
			tokens = tc.fix(t, w)
			if err := w.Pruner(rep, false, tokens).Handle(ctx, w.Job()); err != nil {
				t.Fatalf("run with the token fixed: %v", err)
			}
			if strings.Contains(strings.Join(w.ActiveDigests(), " "), old) {
				t.Error("the old version stayed once the token was fixed: it was held for the token problem")
			}
			if is := ownerIssue(t, w); is.State != "closed" || len(is.Comments) != 1 {
				t.Errorf("owner issue %s with %d comments after a good run, want closed with one", is.State, len(is.Comments))
			}
		})
	}
}

// ownerIssue is the one token-problem issue of acme's .github.
func ownerIssue(t *testing.T, w *jobstest.World) ghsim.Issue {
	t.Helper()
	all, err := w.Sim.Issues("acme", ".github")
	must(t, err)
	var found []ghsim.Issue
	for _, is := range all {
		if is.Title == report.TokenProblemTitle("acme") {
			found = append(found, is)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d token-problem issues in acme/.github, want 1", len(found))
	}
	return found[0]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
