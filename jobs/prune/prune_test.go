package prune_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

func TestPruneOutcomes(t *testing.T) {
	tests := map[string]struct {
		file   string
		paused bool
		tokens string
		want   prune.Outcome
		// deletes says whether the old untagged image goes.
		deletes bool
	}{
		"pruned":         {file: jobstest.PruneRules, tokens: "acme=TOKEN", want: prune.OutcomePruned, deletes: true},
		"dry_run":        {file: "dry_run: true\n" + jobstest.PruneRules, tokens: "acme=TOKEN", want: prune.OutcomeDryRun},
		"paused":         {file: jobstest.PruneRules, paused: true, tokens: "acme=TOKEN", want: prune.OutcomePaused},
		"no token":       {file: jobstest.PruneRules, tokens: "other=TOKEN", want: prune.OutcomeNoToken},
		"invalid config": {file: "rules:\n  - packages: [\"app\"]\n    prune: {untaged: true}\n", tokens: "acme=TOKEN", want: prune.OutcomeInvalidConfig},
		"no file":        {tokens: "acme=TOKEN", want: prune.OutcomeNothingToDo},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := jobstest.NewWorld(t)
			if tc.file != "" {
				w.File("app", tc.file)
			}
			old := w.Push(w.Image("old"), 3*jobstest.Day)
			w.Push(w.Image("v1"), 3*jobstest.Day, "v1")
			rep := &jobstest.Reports{}
			tokens := strings.ReplaceAll(tc.tokens, "TOKEN", w.Token)
			if err := w.Pruner(rep, tc.paused, tokens).Handle(context.Background(), w.Job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.Last(t)
			if run.Outcome != tc.want {
				t.Errorf("outcome = %s, want %s", run.Outcome, tc.want)
			}
			gone := !slices.Contains(w.ActiveDigests(), old)
			if gone != tc.deletes {
				t.Errorf("old image deleted = %t, want %t", gone, tc.deletes)
			}
			if got := len(run.Deleted) > 0; got != tc.deletes {
				t.Errorf("run.Deleted = %v, want deletions %t", run.Deleted, tc.deletes)
			}
			switch tc.want {
			case prune.OutcomeDryRun, prune.OutcomePaused:
				if len(run.Decision.Delete) != 1 || run.Decision.Delete[0].Version != old {
					t.Errorf("preview = %v, want the old image", run.Decision.Delete)
				}
				if run.Paused != tc.paused || run.DryRun == tc.paused {
					t.Errorf("paused %t dry run %t", run.Paused, run.DryRun)
				}
			case prune.OutcomeNoToken:
				if !strings.Contains(run.Problem, "PKGWARDEN_PACKAGES_TOKENS=acme=") || strings.Contains(run.Problem, w.Token) {
					t.Errorf("problem = %q", run.Problem)
				}
			case prune.OutcomeInvalidConfig:
				if len(run.ConfigErrors) == 0 || run.ConfigErrors[0].Line != 3 || run.ConfigErrors[0].Repo != "acme/app" {
					t.Errorf("config errors = %v", run.ConfigErrors)
				}
			}
		})
	}
}

// pushPopular makes acme/app public with three versions: popular, the
// oldest untagged one with 5,001 downloads (GitHub refuses to delete it),
// other, untagged, and v1.
func pushPopular(t *testing.T, w *jobstest.World) (popular, other string) {
	t.Helper()
	popular = w.Push(w.Image("popular"), 5*jobstest.Day)
	other = w.Push(w.Image("other"), 4*jobstest.Day)
	w.Push(w.Image("v1"), 3*jobstest.Day, "v1")
	if err := w.Sim.SetPackage("acme", "container", "app", "public", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sim.SetDownloads("acme", "container", "app", ghsim.VersionRef{Name: popular}, 5001); err != nil {
		t.Fatal(err)
	}
	return popular, other
}

// TestPruneRefusedIsSkipped: GitHub refuses to delete a public version
// with more than 5,000 downloads; the run skips and reports it, deletes
// the rest, and succeeds (no retry).
func TestPruneRefusedIsSkipped(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.File("app", jobstest.PruneRules)
	popular, other := pushPopular(t, w)
	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
		t.Fatalf("handle: %v (a refusal must not fail the job)", err)
	}
	run := rep.Last(t)
	if len(run.Skipped) != 1 || run.Skipped[0].Version != popular || !strings.Contains(run.Skipped[0].Reason, "5000 downloads") {
		t.Errorf("skipped = %+v, want the popular version with GitHub's reason", run.Skipped)
	}
	if len(run.Deleted) != 1 || run.Deleted[0].Version != other {
		t.Errorf("deleted = %+v, want the other version", run.Deleted)
	}
	if !slices.Contains(w.ActiveDigests(), popular) || slices.Contains(w.ActiveDigests(), other) {
		t.Errorf("active = %v", w.ActiveDigests())
	}
	deletes := w.Deletes.Load()
	if deletes != 1 {
		t.Errorf("%d successful DELETEs, want 1", deletes)
	}
}

// Changes the re-check must notice on a candidate.
var (
	tagCandidate = func(w *jobstest.World, c v1.Image) {
		if _, err := w.Pusher.PushImage(context.Background(), "acme/app", c, "keep-me"); err != nil {
			w.T.Error(err)
		}
	}
	indexCandidate = func(w *jobstest.World, c v1.Image) {
		if _, err := w.Pusher.PushIndex(context.Background(), "acme/app", jobstest.Index(c, w.Image("new-arm64")), "v2"); err != nil {
			w.T.Error(err)
		}
	}
	signCandidate = func(w *jobstest.World, c v1.Image) {
		d, err := c.Digest()
		if err != nil {
			w.T.Error(err)
			return
		}
		if _, err := w.Pusher.PushImage(context.Background(), "acme/app", w.Image("signature"), "sha256-"+d.Hex+".sig"); err != nil {
			w.T.Error(err)
		}
	}
)

// TestPruneRecheck: what changes after the plan saves a candidate. Between
// the plan and the deletions: a new tag on it, or a new index referencing
// it. After the run's first deletion, well within RecheckEvery of the last
// full re-check, still before a later group: a new index listing it as a
// child, or a new signature hanging off it by tag. Each twice: without an
// event count (every group looks at the newest versions), and as serve
// runs, the change arriving as a webhook the router counts, on a clock
// that stands still (no interval is ever due: the count alone makes the
// run list again).
func TestPruneRecheck(t *testing.T) {
	tests := map[string]struct {
		// afterDelete: the change comes after the first deletion (of an
		// older version, another group), else between plan and deletions.
		afterDelete bool
		change      func(w *jobstest.World, candidate v1.Image)
		reason      string
	}{
		"tagged since the plan":                     {change: tagCandidate, reason: "re-check: now tagged keep-me"},
		"referenced by a new index":                 {change: indexCandidate, reason: "re-check: now referenced by new index sha256:"},
		"between groups, referenced by a new index": {afterDelete: true, change: indexCandidate, reason: "re-check: now referenced by new index sha256:"},
		"between groups, signed by a new signature": {afterDelete: true, change: signCandidate, reason: "re-check: now referenced by new sig sha256:"},
	}
	for label, tc := range tests {
		for _, events := range []bool{false, true} {
			name := label
			if events {
				name += ", as a webhook"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				w := jobstest.NewWorld(t)
				w.File("app", jobstest.PruneRules)
				var first, other string
				if tc.afterDelete {
					first = w.Push(w.Image("first"), 4*jobstest.Day) // the oldest: deleted first
				}
				candidate := w.Image("candidate")
				cd := w.Push(candidate, 3*jobstest.Day)
				if !tc.afterDelete {
					other = w.Push(w.Image("other"), 3*jobstest.Day)
				}
				change := func() { tc.change(w, candidate) }
				if events {
					w.RouteWebhooks()
					at := w.Sim.Now()
					w.Now = func() time.Time { return at }
					change = func() { w.AwaitEvent(func() { tc.change(w, candidate) }) }
				}
				if tc.afterDelete {
					w.AfterFirstDelete = change
				} else {
					w.AfterFirstListing = change
				}
				rep := &jobstest.Reports{}
				if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
					t.Fatalf("handle: %v", err)
				}
				run := rep.Last(t)
				if tc.afterDelete && (len(run.Deleted) != 1 || run.Deleted[0].Version != first) {
					t.Errorf("deleted = %+v, want only the first version", run.Deleted)
				}
				if len(run.Kept) != 1 || run.Kept[0].Version != cd || !strings.HasPrefix(run.Kept[0].Reason, tc.reason) {
					t.Errorf("kept = %+v, want the candidate with %q", run.Kept, tc.reason)
				}
				active := w.ActiveDigests()
				switch {
				case tc.afterDelete && !slices.Contains(active, cd):
					t.Error("the candidate was deleted after something new referenced it")
				case !tc.afterDelete && (!slices.Contains(active, cd) || slices.Contains(active, other)):
					t.Errorf("candidate active %t, other active %t", slices.Contains(active, cd), slices.Contains(active, other))
				}
			})
		}
	}
}

// TestPruneInterruptedRunFinishes: a worker stopped between two deletions
// (its context cancelled after the index went), the job run again: the
// index's children, which the fresh plan alone would keep (untagged
// versions are not pruned here), go too, and the run reports all three.
func TestPruneInterruptedRunFinishes(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.File("app", `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: false, delete_tags: ["pr-*"]}
`)
	amd, arm := w.Image("amd64"), w.Image("arm64")
	idx := w.Push(jobstest.Index(amd, arm), 3*jobstest.Day, "pr-7")
	keep := w.Push(w.Image("untagged"), 3*jobstest.Day)
	w.Push(w.Image("v1"), 3*jobstest.Day, "v1")
	rep := &jobstest.Reports{}
	p := w.Pruner(rep, false, "acme="+w.Token)
	ctx, cancel := context.WithCancel(context.Background())
	w.Cancel, w.CancelAfterDeletes = cancel, 1
	err := p.Handle(ctx, w.Job())
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: err = %v, want cancelled", err)
	}
	if n := w.Deletes.Load(); n != 1 {
		t.Fatalf("first attempt deleted %d versions, want 1", n)
	}
	w.CancelAfterDeletes = 0
	// A newer job for the package (which replaced the first in the queue)
	// finishes the first run, under its id.
	second := w.Job()
	second.DeliveryID = "delivery-2"
	if err := p.Handle(context.Background(), second); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	want := []string{keep}
	for _, v := range w.Active() {
		if len(v.Tags) > 0 {
			want = append(want, v.Name)
		}
	}
	slices.Sort(want)
	if got := w.ActiveDigests(); !slices.Equal(got, want) {
		t.Errorf("active = %v, want %v (the untagged image and the tagged v1)", got, want)
	}
	run := rep.Last(t)
	var deleted []string
	for _, e := range run.Deleted {
		deleted = append(deleted, e.Version)
	}
	amdD, _ := amd.Digest()
	armD, _ := arm.Digest()
	wantDeleted := []string{idx, amdD.String(), armD.String()}
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("run deleted %v, want %v in that order", deleted, wantDeleted)
	}
	if run.ID != "delivery-1" {
		t.Errorf("run id = %q, want the interrupted run's", run.ID)
	}
	// Reported, the run is over: the next job is a run of its own.
	third := w.Job()
	third.DeliveryID = "delivery-3"
	if err := p.Handle(context.Background(), third); err != nil {
		t.Fatal(err)
	}
	if run := rep.Last(t); run.ID != "delivery-3" || run.Outcome != prune.OutcomeNothingToDo || len(run.Deleted) != 0 {
		t.Errorf("next run: id %q outcome %s deleted %v", run.ID, run.Outcome, run.Deleted)
	}
}

// TestPruneLastVersionIsSkipped: GitHub answers 400 to deleting the last
// version of a package; the run skips and reports it instead of failing
// the job again and again.
func TestPruneLastVersionIsSkipped(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.File("app", jobstest.PruneRules)
	only := w.Push(w.Image("only"), 5*jobstest.Day)
	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
		t.Fatalf("handle: %v (a refusal must not fail the job)", err)
	}
	run := rep.Last(t)
	if len(run.Skipped) != 1 || run.Skipped[0].Version != only || !strings.Contains(run.Skipped[0].Reason, "last version") {
		t.Errorf("skipped = %+v, want the only version with GitHub's reason", run.Skipped)
	}
	if len(run.Deleted) != 0 || !slices.Contains(w.ActiveDigests(), only) {
		t.Errorf("deleted = %v, active = %v", run.Deleted, w.ActiveDigests())
	}
}

// TestPruneRefusalRemembered: a version GitHub refused to delete is
// remembered, so the next runs keep it without asking and without letting
// it fill max_deletions_per_run; the memory expires, and a refused last
// version is asked again once the package gained a version.
func TestPruneRefusalRemembered(t *testing.T) {
	t.Run("downloads", func(t *testing.T) {
		w := jobstest.NewWorld(t)
		w.UseInventory = true
		var clock atomic.Int64 // hours ahead of real time
		w.Now = func() time.Time { return time.Now().Add(time.Duration(clock.Load()) * time.Hour) }
		w.File("app", jobstest.PruneRules)
		w.File(".github", "policy:\n  max_deletions_per_run: 1\n")
		popular, other := pushPopular(t, w)
		rep := &jobstest.Reports{}
		p := w.Pruner(rep, false, "acme="+w.Token)
		handle := func(delivery string) prune.Run {
			t.Helper()
			job := w.Job()
			job.DeliveryID = delivery
			if err := p.Handle(context.Background(), job); err != nil {
				t.Fatalf("%s: %v", delivery, err)
			}
			return rep.Last(t)
		}

		first := handle("delivery-1")
		if len(first.Skipped) != 1 || first.Skipped[0].Version != popular || len(first.Deleted) != 0 {
			t.Fatalf("first run: skipped %+v, deleted %+v, want the popular version refused and nothing deleted", first.Skipped, first.Deleted)
		}
		second := handle("delivery-2")
		if len(second.Deleted) != 1 || second.Deleted[0].Version != other {
			t.Errorf("second run deleted %+v, want the other version", second.Deleted)
		}
		// Still reported as skipped, in the words of the refused run, so an
		// unchanged report adds no comment; the DELETE count below shows it
		// was not asked again.
		if len(second.Skipped) != 1 || second.Skipped[0].Version != popular || second.Skipped[0].Reason != first.Skipped[0].Reason {
			t.Errorf("second run skipped %+v, want the popular version as the first run reported it", second.Skipped)
		}
		// Both runs say when GitHub is asked again: a day after the
		// refusal, the same time in both, so the report's line is stable.
		id := first.Skipped[0].ID
		ask1, ask2 := first.AskAgain[id], second.AskAgain[id]
		if d := ask1.Sub(first.Started); ask1.IsZero() || !ask1.Equal(ask2) || d < 23*time.Hour || d > 25*time.Hour {
			t.Errorf("asked again after %v (first run) and %v (second), want the same, a day after the refusal", ask1, ask2)
		}
		// The report lists it once, refused, not also kept.
		rr := prune.ReportRun(second)
		if c := report.CountRun(rr); c.Refused != 1 || c.Kept != len(second.Decision.Keep)-1 {
			t.Errorf("report counts %+v, want 1 refused and the other %d keeps", c, len(second.Decision.Keep)-1)
		}
		var kept string
		for _, e := range second.Decision.Keep {
			if e.Version == popular {
				kept = e.Reason
			}
		}
		if !strings.HasPrefix(kept, "GitHub refused to delete it on ") || !strings.Contains(kept, "5000 downloads") {
			t.Errorf("second plan keeps the popular version with %q, want the refusal with GitHub's message", kept)
		}
		if got := w.Mutating.Load(); got != 2 {
			t.Errorf("%d DELETE requests after two runs, want 2 (one refused, one deleted)", got)
		}
		if active := w.ActiveDigests(); !slices.Contains(active, popular) || slices.Contains(active, other) {
			t.Errorf("active = %v", active)
		}

		clock.Store(25) // past RefusalMemory: the situation may have changed
		third := handle("delivery-3")
		if len(third.Skipped) != 1 || third.Skipped[0].Version != popular {
			t.Errorf("third run (a day later) skipped %+v, want the popular version asked again", third.Skipped)
		}
		if got := w.Mutating.Load(); got != 3 {
			t.Errorf("%d DELETE requests after three runs, want 3", got)
		}
	})
	t.Run("last version", func(t *testing.T) {
		w := jobstest.NewWorld(t)
		w.UseInventory = true
		w.File("app", jobstest.PruneRules)
		only := w.Push(w.Image("only"), 5*jobstest.Day)
		rep := &jobstest.Reports{}
		p := w.Pruner(rep, false, "acme="+w.Token)
		for i, delivery := range []string{"delivery-1", "delivery-2"} {
			job := w.Job()
			job.DeliveryID = delivery
			if err := p.Handle(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			if got := w.Mutating.Load(); got != 1 {
				t.Fatalf("after run %d: %d DELETE requests, want 1 (the last version asked once)", i+1, got)
			}
		}
		w.Push(w.Image("fresh"), time.Minute) // too young to be a candidate
		job := w.Job()
		job.DeliveryID = "delivery-3"
		if err := p.Handle(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		if run := rep.Last(t); len(run.Deleted) != 1 || run.Deleted[0].Version != only {
			t.Errorf("after a push, deleted %+v, want the once-last version", run.Deleted)
		}
	})
}

// TestPruneNeverSplitsGroup: an index goes with all of its children in
// one run or not at all, under max_deletions_per_run, whether the plan or
// the job's own count (earlier attempts, their unfinished group) meets the
// cap. With untagged versions not pruned, a child left behind would stay
// for good.
func TestPruneNeverSplitsGroup(t *testing.T) {
	const tagRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: false, delete_tags: ["pr-*"]}
`
	t.Run("a group larger than the cap", func(t *testing.T) {
		t.Parallel()
		w := jobstest.NewWorld(t)
		w.File("app", tagRules)
		w.File(".github", "policy:\n  max_deletions_per_run: 2\n")
		w.Push(jobstest.Index(w.Image("amd64"), w.Image("arm64"), w.Image("s390x")), 3*jobstest.Day, "pr-7")
		before := w.ActiveDigests()
		rep := &jobstest.Reports{}
		p := w.Pruner(rep, false, "acme="+w.Token)
		for _, attempt := range []string{"first delivery", "redelivery"} {
			if err := p.Handle(context.Background(), w.Job()); err != nil {
				t.Fatalf("%s: %v", attempt, err)
			}
			run := rep.Last(t)
			if len(run.Deleted) != 0 || len(run.Decision.Delete) != 0 {
				t.Errorf("%s: deleted %v, planned %v, want nothing", attempt, run.Deleted, run.Decision.Delete)
			}
			for _, e := range run.Decision.Keep {
				if !strings.Contains(e.Reason, "exceed max_deletions_per_run 2: raise the cap") {
					t.Errorf("%s: %s kept with %q, want the cap named", attempt, e.Version, e.Reason)
				}
			}
		}
		if got := w.ActiveDigests(); !slices.Equal(got, before) {
			t.Errorf("active = %v, want all of %v", got, before)
		}
	})
	t.Run("an interrupted run and its redelivery", func(t *testing.T) {
		t.Parallel()
		w := jobstest.NewWorld(t)
		w.File("app", tagRules)
		w.File(".github", "policy:\n  max_deletions_per_run: 3\n")
		a := w.Image("a-amd64")
		idxA := w.Push(jobstest.Index(a), 4*jobstest.Day, "pr-7")
		b := w.Image("b-amd64")
		idxB := w.Push(jobstest.Index(b), 3*jobstest.Day, "pr-8")
		rep := &jobstest.Reports{}
		p := w.Pruner(rep, false, "acme="+w.Token)
		ctx, cancel := context.WithCancel(context.Background())
		w.Cancel, w.CancelAfterDeletes = cancel, 1
		if err := p.Handle(ctx, w.Job()); !errors.Is(err, context.Canceled) {
			t.Fatalf("first attempt: err = %v, want cancelled after deleting pr-7's index", err)
		}
		w.CancelAfterDeletes = 0
		// Redelivered: one deleted, pr-7's child left over (1 + 1), and
		// pr-8's group of 2 planned afresh would make 4 > 3.
		if err := p.Handle(context.Background(), w.Job()); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
		run := rep.Last(t)
		aD, _ := a.Digest()
		bD, _ := b.Digest()
		var deleted, deferred []string
		for _, e := range run.Deleted {
			deleted = append(deleted, e.Version)
		}
		for _, e := range run.Deferred {
			deferred = append(deferred, e.Version)
		}
		if want := []string{idxA, aD.String()}; !slices.Equal(deleted, want) {
			t.Errorf("run deleted %v, want %v", deleted, want)
		}
		if want := []string{idxB, bD.String()}; !slices.Equal(deferred, want) {
			t.Errorf("run deferred %v, want pr-8's whole group %v", deferred, want)
		}
		if got := w.Deletes.Load(); got != 2 {
			t.Errorf("%d versions deleted, want 2", got)
		}
		want := []string{idxB, bD.String()}
		slices.Sort(want)
		if got := w.ActiveDigests(); !slices.Equal(got, want) {
			t.Errorf("active = %v, want pr-8 and its child %v", got, want)
		}
	})
}

// TestPruneRecheckUnknownManifest: a version pushed during the run whose
// manifest the registry answers 404 for is listed and active, so what it
// references is unknown: the run deletes nothing more and says why.
func TestPruneRecheckUnknownManifest(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.File("app", jobstest.PruneRules)
	first := w.Push(w.Image("first"), 4*jobstest.Day)
	second := w.Push(w.Image("second"), 3*jobstest.Day)
	w.AfterFirstDelete = func() {
		d, err := w.Pusher.PushImage(context.Background(), "acme/app", w.Image("lost"), "v3")
		if err != nil {
			w.T.Error(err)
			return
		}
		w.UnknownManifest.Store(d.String())
	}
	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
		t.Fatalf("handle: %v", err)
	}
	run := rep.Last(t)
	if len(run.Deleted) != 1 || run.Deleted[0].Version != first {
		t.Errorf("deleted = %+v, want only the first version", run.Deleted)
	}
	if len(run.Kept) != 1 || run.Kept[0].Version != second || !strings.Contains(run.Kept[0].Reason, "is unknown to the registry") ||
		!strings.Contains(run.Kept[0].Reason, "nothing more is deleted this run") {
		t.Errorf("kept = %+v, want the second version with the unreadable manifest named", run.Kept)
	}
	if !slices.Contains(w.ActiveDigests(), second) {
		t.Error("the second version was deleted past an unreadable listed version")
	}
}

// TestPruneDeletionUnsavedAtKillIsReported: an attempt killed between
// GitHub's answer to a DELETE and saving its progress leaves a version
// deleted (and marked deleted, which comes first) that its saved progress
// does not list. The attempt that finishes the run reports it with the
// rest: one run, every deletion named.
func TestPruneDeletionUnsavedAtKillIsReported(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.UseInventory = true
	w.File("app", jobstest.PruneRules)
	a := w.Push(w.Image("a"), 5*jobstest.Day)
	b := w.Push(w.Image("b"), 4*jobstest.Day)
	c := w.Push(w.Image("c"), 3*jobstest.Day)
	w.Push(w.Image("v1"), 3*jobstest.Day, "v1")
	ctx := context.Background()
	versions := map[string]int64{}
	for _, v := range w.Active() {
		versions[v.Name] = v.ID
	}
	// The dead attempt: it planned a, b and c, saved the deletion of a,
	// and deleted b (marked first) without saving that.
	runs, err := prune.OpenKVRunStore(ctx, w.NATS.Queue.JS, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(d string) rules.Entry { return rules.Entry{ID: versions[d], Version: d, Reason: "untagged"} }
	job := w.Job()
	if err := runs.Save(ctx, job.Subject(), prune.RunProgress{RunID: "dead-run",
		Planned: []rules.Entry{entry(a), entry(b), entry(c)}, Deleted: []rules.Entry{entry(a)}}); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Open(ctx, w.NATS.Queue.JS, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ipkg := inventory.Package{Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: "app"}}
	for _, d := range []string{a, b} {
		if err := w.Sim.DeleteVersion("acme", "container", "app", ghsim.VersionRef{Name: d}, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{a, b} {
		if err := inv.SetMark(ctx, w.Installation, ipkg, inventory.MarkDeleted, versions[d]); err != nil {
			t.Fatal(err)
		}
	}
	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(ctx, job); err != nil {
		t.Fatal(err)
	}
	run := rep.Last(t)
	var got []string
	for _, e := range run.Deleted {
		got = append(got, e.Version)
	}
	slices.Sort(got)
	want := []string{a, b, c}
	slices.Sort(want)
	if run.ID != "dead-run" || !slices.Equal(got, want) {
		t.Errorf("run %s deleted %v, want run dead-run with %v (b deleted by the dead attempt, unsaved)", run.ID, got, want)
	}
}
