package report_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
)

// TestReportRemembersItsIssue: a Reporter WithCache finds a package's
// report by the number it remembered, read conditionally: a run without
// news costs one GET answered 304 (the Reporter read the issue once after
// its last write) (free against GitHub's primary limit)
// and no listing; a person's comment changes the issue, read again with
// a 200; a person closing it sends the next run to the listing, which
// finds it and reopens it, as without a cache (GETs: the remembered issue,
// the listing, the run's comment looked for, the read after writing).
func TestReportRemembersItsIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.rep = report.New(w.app, w.clock, nil, report.WithBot(w.sim.BotLogin()),
		report.WithSeal(report.NewSeal([]byte("test secret"))), report.WithCache(githubapi.NewMemoryETagStore()))
	res, err := w.rep.Report(ctx, w.runOf("r1", entries(0, 2, "old"), nil))
	must(t, err)
	if !res.Created {
		t.Fatalf("first run: %+v, want the issue created", res)
	}
	number := res.Issue.Number
	olga := w.userClient(t, "olga")

	steps := []struct {
		name string
		// before is what a person does first.
		before func()
		run    report.Run
		// gets and notModified are the GETs the run sent and how many
		// were answered 304.
		gets, notModified int
		reopened          bool
	}{
		{name: "no news: the remembered issue, read after the write, 304", run: w.runOf("r2", nil, nil), gets: 1, notModified: 1},
		{name: "commented by a person: read again", before: func() {
			_, _, err := olga.Issues.CreateComment(ctx, "acme", "webapp", number, &github.IssueComment{Body: github.String("thanks")})
			must(t, err)
		}, run: w.runOf("r3", nil, nil), gets: 1},
		{name: "unchanged again: 304", run: w.runOf("r4", nil, nil), gets: 1, notModified: 1},
		{name: "closed by a person: the listing finds it, reopened", before: func() {
			_, _, err := olga.Issues.Edit(ctx, "acme", "webapp", number, &github.IssueRequest{State: github.String("closed")})
			must(t, err)
		}, run: w.runOf("r5", entries(5, 1, "old"), nil), gets: 4, notModified: 0, reopened: true},
		{name: "after the reopening run's writes: 304", run: w.runOf("r6", nil, nil), gets: 1, notModified: 1},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		w.sim.ResetRequestStats()
		res, err := w.rep.Report(ctx, st.run)
		must(t, err)
		gets, notModified := 0, 0
		for _, s := range w.sim.RequestStats() {
			gets += s.Requests[http.MethodGet]
			notModified += s.NotModified
		}
		if gets != st.gets || notModified != st.notModified || res.Reopened != st.reopened || res.Issue.Number != number {
			t.Errorf("%s: %d GETs, %d answered 304, reopened %t, issue #%d; want %d, %d, %t, #%d",
				st.name, gets, notModified, res.Reopened, res.Issue.Number, st.gets, st.notModified, st.reopened, number)
		}
	}
	if is := w.only(t, "webapp"); is.State != "open" {
		t.Errorf("the report is %s, want open", is.State)
	}
}
