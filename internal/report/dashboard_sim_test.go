package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// TestDashboardIssue: the dashboard is one issue in the owner's .github,
// opened once, rewritten in place, never commented on; an issue someone
// else opened with its title is left alone.
func TestDashboardIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	title := report.DashboardTitle("acme")
	fake, err := w.sim.CreateIssue("acme", ".github", "mia", title, "<!-- pkgwarden:dashboard acme -->\nnothing to see", "pkgwarden")
	must(t, err)
	row := func(name string) report.DashboardRow {
		return report.DashboardRow{Package: rules.Package{Owner: "acme", Type: "container", Name: name}, LastRun: w.clock(), Outcome: "pruned"}
	}
	steps := []struct {
		rows    []report.DashboardRow
		created bool
		updated bool
		names   []string
	}{
		{rows: []report.DashboardRow{row("app")}, created: true, names: []string{"app"}},
		{rows: []report.DashboardRow{row("app"), row("tools")}, updated: true, names: []string{"app", "tools"}},
		{rows: []report.DashboardRow{row("app"), row("tools")}}, // nothing changed, same minute
	}
	number := 0
	for i, s := range steps {
		res, err := w.rep.Dashboard(ctx, w.inst, "acme", s.rows)
		must(t, err)
		if res.Created != s.created || res.Updated != s.updated || res.Commented {
			t.Errorf("step %d: created %v updated %v commented %v, want %v %v false", i, res.Created, res.Updated, res.Commented, s.created, s.updated)
		}
		if res.Issue.Number == fake {
			t.Fatalf("step %d: the look-alike #%d was adopted", i, fake)
		}
		if number == 0 {
			number = res.Issue.Number
		} else if res.Issue.Number != number {
			t.Errorf("step %d: wrote #%d, the dashboard is #%d", i, res.Issue.Number, number)
		}
		w.advance(10 * time.Second)
	}
	for _, is := range w.issues(t, ".github") {
		switch is.Number {
		case fake:
			if is.Body != "<!-- pkgwarden:dashboard acme -->\nnothing to see" {
				t.Errorf("the look-alike was rewritten: %q", is.Body)
			}
		case number:
			if len(is.Comments) != 0 || is.User != w.sim.BotLogin() || !strings.Contains(is.Body, "`container tools`") {
				t.Errorf("dashboard #%d by %s, %d comments, body:\n%s", is.Number, is.User, len(is.Comments), is.Body)
			}
		default:
			t.Errorf("unexpected issue #%d %q", is.Number, is.Title)
		}
	}
}
