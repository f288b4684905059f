package prune_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestPruneStaleListing: ghcr.io lists a just-deleted version as active
// for a while and answers 404 to its deletion (the simulator's
// StaleListing). The run that deleted the versions reports each once; the
// runs that follow while the listing lags see them listed again, get 404
// for them, and count them as no new deletion: no comment, the report's
// list unchanged, no error; once the listing catches up there is nothing
// to do.
//
// With catchUp, the listing catches up between the second run's plan and
// its deletions: the re-check finds the versions gone, which are no
// deletion of that run either.
func TestPruneStaleListing(t *testing.T) {
	for _, catchUp := range []bool{false, true} {
		t.Run(map[bool]string{false: "listed at the deletions", true: "gone at the re-check"}[catchUp], func(t *testing.T) {
			t.Parallel()
			testPruneStaleListing(t, catchUp)
		})
	}
}

func testPruneStaleListing(t *testing.T, catchUp bool) {
	const lag = 10 * time.Minute // the simulator's installation tokens last an hour of its clock
	w := jobstest.NewWorld(t)
	w.UseInventory = true
	w.Sim.SetStaleListing(lag)
	w.File("app", jobstest.PruneRules)
	w.Push(w.Image("latest"), 3*jobstest.Day, "latest")
	a := w.Push(w.Image("a"), 5*jobstest.Day)
	b := w.Push(w.Image("b"), 4*jobstest.Day)
	pr := w.Push(w.Image("pr-1"), 4*jobstest.Day, "pr-1")
	want := []string{a, b, pr}
	slices.Sort(want)

	issues := report.New(w.App, nil, slog.New(slog.DiscardHandler), jobstest.ReportOptions(w.Sim)...)
	rep := &jobstest.Reports{}
	pruner := w.Pruner(prune.Reporters{prune.IssueReporter{Issues: issues}, rep}, false, "acme="+w.Token)
	ctx := context.Background()
	// reportIssue is the package's report issue: its restorable ids and
	// its comments.
	reportIssue := func() (ids []int64, comments int) {
		t.Helper()
		all, err := w.Sim.Issues("acme", "app")
		must(t, err)
		if len(all) != 1 {
			t.Fatalf("%d issues in acme/app, want the report", len(all))
		}
		for _, e := range report.ParseRestorable(all[0].Body) {
			ids = append(ids, e.ID)
		}
		return ids, len(all[0].Comments)
	}
	versions := func(list []string) (out []string) {
		out = slices.Clone(list)
		slices.Sort(out)
		return out
	}
	names := func(run prune.Run, which string) []string {
		var out []string
		switch which {
		case "deleted":
			for _, e := range run.Deleted {
				out = append(out, e.Version)
			}
		case "gone":
			for _, e := range run.Gone {
				out = append(out, e.Version)
			}
		}
		return versions(out)
	}

	job := w.Job()
	if err := pruner.Handle(ctx, job); err != nil {
		t.Fatalf("first run: %v", err)
	}
	first := rep.Last(t)
	if got := names(first, "deleted"); !slices.Equal(got, want) {
		t.Fatalf("first run deleted %v, want %v", got, want)
	}
	listed, comments := reportIssue()
	if len(listed) != 3 || comments != 1 {
		t.Fatalf("after the first run the report lists %v with %d comments, want 3 deletions and 1 comment", listed, comments)
	}
	if active := w.ActiveDigests(); len(active) != 1 {
		t.Fatalf("active %v, want latest only", active)
	}

	// More runs (later webhooks) while ghcr.io still lists them.
	later := []string{"delivery-2", "delivery-3"}
	if catchUp {
		later = later[:1]
		w.Listings.Store(0)
		w.AfterFirstListing = func() { w.Sim.Advance(lag + time.Second) }
	}
	for i, id := range later {
		job.DeliveryID = id
		deletes := w.Deletes.Load()
		if err := pruner.Handle(ctx, job); err != nil {
			t.Fatalf("run %d: %v (a 404 to deleting a deleted version is no error)", i+2, err)
		}
		run := rep.Last(t)
		if run.ID != id {
			t.Fatalf("run %d reported as %s, want %s", i+2, run.ID, id)
		}
		if len(run.Deleted) != 0 || len(run.Skipped) != 0 || len(run.Kept) != 0 {
			t.Errorf("run %d: deleted %v, refused %v, kept %v; want none: the versions were deleted by the first run", i+2, names(run, "deleted"), run.Skipped, run.Kept)
		}
		if got := names(run, "gone"); !slices.Equal(got, want) {
			t.Errorf("run %d: gone %v, want %v", i+2, got, want)
		}
		if run.Changed() {
			t.Errorf("run %d changed something", i+2)
		}
		if n := w.Deletes.Load() - deletes; n != 0 {
			t.Errorf("run %d: %d successful DELETEs, want none", i+2, n)
		}
		ids, n := reportIssue()
		if !slices.Equal(ids, listed) || n != comments {
			t.Errorf("run %d: the report lists %v with %d comments, want %v with %d: nothing new to say", i+2, ids, n, listed, comments)
		}
		for _, e := range run.Gone {
			if !strings.Contains(e.Reason, "deleted") {
				t.Errorf("gone %s: reason %q, want it to say it was deleted", e.Version, e.Reason)
			}
		}
	}

	// The listing catches up: nothing to do.
	if !catchUp {
		w.Sim.Advance(lag + time.Second)
	}
	job.DeliveryID = "delivery-4"
	if err := pruner.Handle(ctx, job); err != nil {
		t.Fatalf("last run: %v", err)
	}
	if run := rep.Last(t); run.Outcome != prune.OutcomeNothingToDo || len(run.Gone) != 0 {
		t.Errorf("once the listing caught up: outcome %s, gone %v; want nothing to do", run.Outcome, names(run, "gone"))
	}
	if ids, n := reportIssue(); !slices.Equal(ids, listed) || n != comments {
		t.Errorf("at the end the report lists %v with %d comments, want %v with %d", ids, n, listed, comments)
	}
}

// TestPruneLostAnswerIsDeleted: GitHub carries out a DELETE whose answer
// is lost; the transport asks again and GitHub answers 404. That 404 is
// this run's deletion (no run deleted the version before): counted and
// reported once, as a deletion, not as gone.
func TestPruneLostAnswerIsDeleted(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.UseInventory = true
	w.File("app", jobstest.PruneRules)
	w.Push(w.Image("latest"), 3*jobstest.Day, "latest")
	a := w.Push(w.Image("a"), 5*jobstest.Day)
	w.LoseDeleteAnswers.Store(1)
	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
		t.Fatalf("handle: %v (a 404 to the retry of a DELETE is no error)", err)
	}
	run := rep.Last(t)
	if len(run.Deleted) != 1 || run.Deleted[0].Version != a || len(run.Gone) != 0 {
		t.Errorf("deleted %v, gone %v; want a deleted once", run.Deleted, run.Gone)
	}
	if n := w.LoseDeleteAnswers.Load(); n != 0 {
		t.Errorf("lost answers left %d, want 0 (the one DELETE's answer lost): the test proves nothing", n)
	}
	if slices.Contains(w.ActiveDigests(), a) {
		t.Error("a is still active")
	}
}
