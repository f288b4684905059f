package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// TestDashboardThroughWebhooks: serve as deployed, an owner keeping only
// the dashboard (report.dashboard: true, per_package: false in its .github
// file) and app governed by its own file. A publish webhook's prune writes
// the dashboard in acme/.github and no report issue; the next run
// rewrites the same issue without commenting.
func TestDashboardThroughWebhooks(t *testing.T) {
	w := newE2E(t, nil)
	w.file(".github", rules.Path, "report: {dashboard: true, per_package: false}\n")
	w.file("app", rules.Path, e2eRules)
	w.push(w.image("v1"), 5*cfgDay, "v1")
	w.push(w.image("old-1"), 4*cfgDay)
	w.deliverRun()

	dashboards := func() []string {
		var out []string
		for _, is := range w.issuesTitled(".github", func(title string) bool { return title == report.DashboardTitle("acme") }) {
			if len(is.Comments) != 0 {
				t.Errorf("the dashboard #%d has %d comments", is.Number, len(is.Comments))
			}
			out = append(out, is.Body)
		}
		return out
	}
	appRow := func(body string) string {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "| `container app` |") {
				return l
			}
		}
		return ""
	}
	testwait.For(t, "the dashboard with app's deletion", 30*time.Second, func() bool {
		d := dashboards()
		return len(d) == 1 && strings.Contains(appRow(d[0]), "| 1 | 1 |")
	})
	w.push(w.image("old-2"), 3*cfgDay)
	w.deliverRun()
	testwait.For(t, "the dashboard with two deletions", 30*time.Second, func() bool {
		d := dashboards()
		return len(d) == 1 && strings.Contains(appRow(d[0]), "| 2 | 2 |")
	})
	w.waitIdle()
	if n := len(dashboards()); n != 1 {
		t.Errorf("%d dashboards, want one rewritten in place", n)
	}
	if issues, _ := w.reportIssues(); len(issues) != 0 {
		t.Errorf("per_package: false, yet app has %d report issues", len(issues))
	}
}
