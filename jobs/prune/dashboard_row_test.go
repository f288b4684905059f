package prune

import (
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func TestDashboardRow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	deleted := func(n int) []rules.Entry { return make([]rules.Entry, n) }
	prev := report.DashboardRow{Restorable: 1, Deletions: []report.Deletion{
		{At: now.Add(-40 * day), N: 9, Run: "r0"}, // beyond GitHub's 30 days: dropped
		{At: now.Add(-10 * day), N: 3, Run: "r1"}, // restorable, not this week
		{At: now.Add(-time.Hour), N: 2, Run: "r2"},
	}}
	issue := report.Result{Issue: report.Issue{Number: 7, URL: "https://github.com/acme/app/issues/7"}, Restorable: 4}
	tests := map[string]struct {
		run                  Run
		res                  report.Result
		week, restorable, wd int
		err                  string // in the errors column
		broken               int
	}{
		"a new run adds its deletions":          {run: Run{ID: "r3", Outcome: OutcomePruned, Deleted: deleted(5)}, res: issue, week: 7, restorable: 4},
		"a retried run counts once":             {run: Run{ID: "r2", Outcome: OutcomePruned, Deleted: deleted(2)}, res: issue, week: 2, restorable: 4},
		"no issue: restorable from rows":        {run: Run{ID: "r3", Outcome: OutcomePruned, Deleted: deleted(1)}, week: 3, restorable: 6},
		"dry run would delete":                  {run: Run{ID: "r3", Outcome: OutcomeDryRun, DryRun: true, Decision: rules.Decision{Delete: deleted(4)}}, res: issue, week: 2, restorable: 4, wd: 4},
		"an invalid file keeps the last counts": {run: Run{ID: "r3", Outcome: OutcomeInvalidConfig, ConfigErrors: rules.ErrorList{{Repo: "acme/app", File: ".github/pkgwarden.yml", Line: 3, Msg: "unknown key"}}}, week: 2, restorable: 1, err: "line 3: unknown key"},
		"nothing to do keeps the history":       {run: Run{ID: "r3", Outcome: OutcomeNothingToDo}, week: 2, restorable: 5},
		"broken images beyond healing count, restorable ones do not": {run: Run{ID: "r3", Outcome: OutcomeNothingToDo, Decision: rules.Decision{Broken: []rules.BrokenImage{
			{ID: 1, Name: "v1", Missing: []rules.Missing{{What: "linux/arm64", State: rules.ChildGone}}},
			{ID: 2, Name: "v2", Heals: true, Missing: []rules.Missing{{What: "linux/arm64", State: rules.ChildDeleted, DeletedID: 9}}},
		}}}, week: 2, restorable: 5, broken: 1},
		"a token problem is an error, its deletions count": {run: Run{ID: "r3", Outcome: OutcomeTokenProblem, Deleted: deleted(1),
			Token: &report.TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope, Missing: []string{"delete:packages"}}}},
			week: 3, restorable: 6, err: "packages token lacks delete:packages"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.run.Finished = now
			r := dashboardRow(tc.run, tc.res, prev, now)
			if got := r.DeletedSince(now.Add(-report.Week)); got != tc.week {
				t.Errorf("deleted this week = %d, want %d", got, tc.week)
			}
			if r.Restorable != tc.restorable || r.WouldDelete != tc.wd {
				t.Errorf("restorable %d would delete %d, want %d %d", r.Restorable, r.WouldDelete, tc.restorable, tc.wd)
			}
			if !strings.Contains(r.Error, tc.err) || (tc.err == "") != (r.Error == "") {
				t.Errorf("error %q, want one with %q", r.Error, tc.err)
			}
			if r.Broken != tc.broken {
				t.Errorf("broken %d, want %d", r.Broken, tc.broken)
			}
			if r.Issue != tc.res.Issue {
				t.Errorf("issue %+v, want %+v", r.Issue, tc.res.Issue)
			}
		})
	}
}
