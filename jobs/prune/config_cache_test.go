package prune_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestConfigJobSeesAnAddedFile: the prune reads the rules through the
// etags bucket, where a missing file is remembered; the config job a push
// queues reads the files fresh, so that the prune after it sees a file
// the push added, as it sees at once a change of a file it read.
func TestConfigJobSeesAnAddedFile(t *testing.T) {
	w := jobstest.NewWorld(t)
	old := w.Push(w.Image("old"), 3*jobstest.Day)
	w.Push(w.Image("v1"), 3*jobstest.Day, "v1")
	rep := &jobstest.Reports{}
	p := w.Pruner(rep, false, "acme="+w.Token)
	ctx := context.Background()
	prune1 := func(step string, want prune.Outcome, deleted bool) {
		t.Helper()
		if err := p.Handle(ctx, w.Job()); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := rep.Last(t).Outcome; got != want {
			t.Errorf("%s: outcome %s, want %s", step, got, want)
		}
		if gone := !slices.Contains(w.ActiveDigests(), old); gone != deleted {
			t.Errorf("%s: old image deleted %t, want %t", step, gone, deleted)
		}
	}
	prune1("no file", prune.OutcomeNothingToDo, false)
	w.File("app", jobstest.PruneRules)
	prune1("file added, no push seen: still remembered missing", prune.OutcomeNothingToDo, false)

	// The config job of the push, with serve's Access on the same etags
	// bucket as the pruner's.
	tokens, err := githubapi.ParsePackagesTokens("acme="+w.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	etags, err := githubapi.OpenKVETagStore(ctx, w.NATS.Queue.JS, "etags", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := prune.NewConfigHandler(prune.ConfigJobConfig{
		Access: &planner.Access{App: w.App, Tokens: tokens, APIURL: w.Server.URL, RegistryURL: w.Server.URL, ETags: etags, Now: w.Now},
		Issues: report.New(w.App, w.Now, nil, jobstest.ReportOptions(w.Sim)...), Queue: w.NATS.Queue,
	})
	if err != nil {
		t.Fatal(err)
	}
	job := jobs.Job{Type: jobs.TypeConfig, Target: jobs.ConfigTarget(w.Installation, "acme", "app"), DeliveryID: "push-1",
		Reason: "push abc1234 changed .github/pkgwarden.yml", QueuedAt: time.Now()}
	if err := h.Handle(ctx, job); err != nil {
		t.Fatalf("config job: %v", err)
	}
	prune1("after the config job", prune.OutcomePruned, true)
}
