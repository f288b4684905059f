package report_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const bot = "pkgwarden[bot]"

// TestRecognise: an issue is a report only when pkgwarden's bot wrote it,
// its title and first line name one package, in a repository of the
// package's owner; the owner is GitHub's spelling, never the title's.
func TestRecognise(t *testing.T) {
	body := "<!-- pkgwarden:report container acme/webapp -->\n## pkgwarden report\n"
	title := "pkgwarden: container acme/webapp"
	tests := map[string]struct {
		bot  string
		is   report.IssueFacts
		want string // package key, or the error
	}{
		"genuine":               {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: body}, "acme/container/webapp"},
		"bot login in any case": {bot, report.IssueFacts{RepoOwner: "acme", Author: "PkgWarden[bot]", Title: title, Body: body}, "acme/container/webapp"},
		"CRLF body":             {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: strings.ReplaceAll(body, "\n", "\r\n")}, "acme/container/webapp"},
		"owner spelled by GitHub": {bot, report.IssueFacts{RepoOwner: "Acme", Author: bot, Title: "pkgwarden: container ACME/webapp", Body: body},
			"acme/container/webapp"},
		"a dry run's title":        {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title + " (dry run)", Body: body}, "acme/container/webapp"},
		"written by a person":      {bot, report.IssueFacts{RepoOwner: "acme", Author: "mallory", Title: title, Body: body}, report.ErrNotOurs.Error()},
		"written by another bot":   {bot, report.IssueFacts{RepoOwner: "acme", Author: "other-app[bot]", Title: title, Body: body}, report.ErrNotOurs.Error()},
		"bot unknown":              {"", report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: body}, report.ErrNotOurs.Error()},
		"another owner's repo":     {bot, report.IssueFacts{RepoOwner: "evil", Author: bot, Title: title, Body: body}, report.ErrElsewhere.Error()},
		"marker names another":     {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: strings.Replace(body, "webapp", "other", 1)}, report.ErrNotReport.Error()},
		"bare marker of old":       {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: "<!-- pkgwarden:report -->\n"}, report.ErrNotReport.Error()},
		"marker not first":         {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: title, Body: "hi\n" + body}, report.ErrNotReport.Error()},
		"title of no package type": {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: "pkgwarden: thing acme/webapp", Body: body}, report.ErrNotReport.Error()},
		"title with a space":       {bot, report.IssueFacts{RepoOwner: "acme", Author: bot, Title: "pkgwarden: container acme/web app", Body: body}, report.ErrNotReport.Error()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pkg, err := report.Recognise(tc.bot, tc.is)
			got := pkg.Key()
			if err != nil {
				got = err.Error()
			} else if pkg.Owner != tc.is.RepoOwner {
				t.Errorf("owner %q, want GitHub's %q", pkg.Owner, tc.is.RepoOwner)
			}
			if got != tc.want {
				t.Errorf("Recognise = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReportPlace(t *testing.T) {
	tests := []struct {
		repo, linked string
		takesIssues  bool
		want         bool
	}{
		{"acme/app", "acme/app", true, true},
		{"ACME/App", "acme/app", true, true},
		{"acme/other", "acme/app", true, false},
		{"acme/.github", "acme/app", true, false},
		{"acme/.github", "acme/app", false, true},
		{"acme/.github", "", true, true},
		{"acme/app", "", true, false},
		{"evil/.github", "", true, false},
		{"evil/app", "acme/app", true, false},
	}
	for _, tc := range tests {
		if got := report.ReportPlace(tc.repo, "acme", tc.linked, tc.takesIssues); got != tc.want {
			t.Errorf("ReportPlace(%q, linked %q, issues %t) = %t, want %t", tc.repo, tc.linked, tc.takesIssues, got, tc.want)
		}
	}
}

// TestSealedBoxes: a ticked box counts only when pkgwarden wrote it for
// this package; a line someone added, or whose id someone changed, or one
// copied from another package's report, is ignored.
func TestSealedBoxes(t *testing.T) {
	w := newWorld(t)
	body := w.reported(t, "r1", 2).Body
	seal := w.rep.Seal()
	tick := func(body string, id string) string {
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			if strings.Contains(l, "pkgwarden:restore "+id+" ") {
				lines[i] = strings.Replace(l, "[ ]", "[x]", 1)
			}
		}
		return strings.Join(lines, "\n")
	}
	// Lines added under a batch line, as bodies before held the time.
	batch := "**Deleted 2026-11-25 10:30 UTC** <!-- pkgwarden:batch 2026-11-25T10:30:00Z -->"
	tests := map[string]struct {
		to   string
		pkg  rules.Package
		seal report.Seal
		want []int64
	}{
		"pkgwarden's box ticked": {to: tick(body, "1001"), pkg: webapp, seal: seal, want: []int64{1001}},
		"ticked in the web editor (CRLF)": {to: strings.ReplaceAll(tick(body, "1001"), "\n", "\r\n"), pkg: webapp, seal: seal,
			want: []int64{1001}},
		"a line added without a seal": {to: body + "\n" + batch + "\n- [x] mine <!-- pkgwarden:restore 4242 -->\n", pkg: webapp, seal: seal},
		"a line added with a made-up seal": {to: body + "\n" + batch + "\n- [x] mine <!-- pkgwarden:restore 4242 AAAAAAAAAAA -->\n", pkg: webapp,
			seal: seal},
		"an id changed":             {to: strings.Replace(tick(body, "1001"), "pkgwarden:restore 1001 ", "pkgwarden:restore 4242 ", 1), pkg: webapp, seal: seal},
		"another package's report":  {to: tick(body, "1001"), pkg: rules.Package{Owner: "acme", Type: "container", Name: "other"}, seal: seal},
		"another deployment's seal": {to: tick(body, "1001"), pkg: webapp, seal: report.NewSeal([]byte("another secret"))},
		"no seal at all":            {to: tick(body, "1001"), pkg: webapp, seal: report.Seal{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.seal.NewlyTicked(tc.pkg, body, tc.to); !slices.Equal(got, tc.want) {
				t.Errorf("NewlyTicked = %v, want %v", got, tc.want)
			}
		})
	}
	if got := seal.Sealed(webapp, body); len(got) != 2 {
		t.Errorf("Sealed = %v, want the run's two boxes", got)
	}
}

// TestLookAlikeNeverAdopted: an issue someone opened with the report's
// exact title and label, and restore lines of their own, is not the
// report: pkgwarden opens its own and leaves the look-alike alone.
func TestLookAlikeNeverAdopted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	title := report.Title(webapp)
	fake := "<!-- pkgwarden:report container acme/webapp -->\n### Restorable deletions\n\n**Deleted 2026-11-20 00:00 UTC** <!-- pkgwarden:batch 2026-11-20T00:00:00Z -->\n\n- [ ] `x` id 4242 <!-- pkgwarden:restore 4242 -->\n"
	n, err := w.sim.CreateIssue("acme", "webapp", "mia", title, fake, "pkgwarden")
	must(t, err)
	res, err := w.rep.Report(ctx, w.runOf("r1", entries(0, 2, "old"), nil))
	must(t, err)
	if !res.Created || res.Issue.Number == n {
		t.Fatalf("the report went to #%d (created %t); the look-alike is #%d", res.Issue.Number, res.Created, n)
	}
	for _, is := range w.issues(t, "webapp") {
		switch is.Number {
		case n:
			if is.Body != fake || len(is.Comments) != 0 {
				t.Errorf("the look-alike was written to: %q, %d comments", is.Body, len(is.Comments))
			}
		case res.Issue.Number:
			if is.User != w.sim.BotLogin() || slices.ContainsFunc(report.ParseRestorable(is.Body), func(e report.Restorable) bool { return e.ID == 4242 }) {
				t.Errorf("the report (by %s) took the look-alike's lines:\n%s", is.User, is.Body)
			}
		}
	}
	if _, err := report.Recognise(w.sim.BotLogin(), report.IssueFacts{RepoOwner: "acme", Author: "mia", Title: title, Body: fake}); !errors.Is(err, report.ErrNotOurs) {
		t.Errorf("the look-alike is recognised as a report: %v", err)
	}
}
