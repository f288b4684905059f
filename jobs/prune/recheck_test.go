package prune_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestPruneRecheckWithoutEvent: a run as serve makes it (the router
// counting the package's events) with no event during the run lists the
// package for its plan and never again until RecheckFallback has passed;
// past it, one full listing, which is also what saves a candidate signed
// meanwhile when the signature's webhook is lost. The simulator's listing
// requests are counted: the plan's one page before the first deletion,
// then the re-check listings.
func TestPruneRecheckWithoutEvent(t *testing.T) {
	const images = 5 // untagged, one deletion group each
	tests := map[string]struct {
		// advance moves the clock after the first deletion.
		advance time.Duration
		// sign signs the newest candidate after the first deletion,
		// its webhook lost.
		sign bool
		// Wanted: deletions, re-check listings after the first deletion.
		deleted, relists int
	}{
		"no event":                                {deleted: images},
		"no event, just before the fallback":      {advance: prune.DefaultRecheckFallback - time.Second, deleted: images},
		"no event, past the fallback":             {advance: prune.DefaultRecheckFallback, deleted: images, relists: 1},
		"signed, webhook lost, past the fallback": {advance: prune.DefaultRecheckFallback, sign: true, deleted: images - 1, relists: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := jobstest.NewWorld(t)
			w.File("app", jobstest.PruneRules)
			var digests []string
			newest := w.Image("newest")
			for i := range images - 1 {
				digests = append(digests, w.Push(w.Image(fmt.Sprintf("build-%d", i)), time.Duration(10-i)*time.Hour))
			}
			digests = append(digests, w.Push(newest, time.Hour))
			w.Push(w.Image("release"), 2*time.Hour, "v1")
			w.RouteWebhooks()
			at := w.Sim.Now()
			var offset atomic.Int64
			w.Now = func() time.Time { return at.Add(time.Duration(offset.Load())) }
			var atFirstDelete int32
			w.AfterFirstDelete = func() {
				atFirstDelete = w.Listings.Load()
				if tc.sign {
					w.Sim.SetQuiet(true) // the webhook is lost
					signCandidate(w, newest)
				}
				offset.Store(int64(tc.advance))
			}
			rep := &jobstest.Reports{}
			if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.Last(t)
			if len(run.Deleted) != tc.deleted || int(w.Deletes.Load()) != tc.deleted {
				t.Errorf("run deleted %d, the simulator %d; want %d", len(run.Deleted), w.Deletes.Load(), tc.deleted)
			}
			if atFirstDelete != 1 {
				t.Errorf("%d listing requests before the first deletion, want the plan's 1 page", atFirstDelete)
			}
			if got := int(w.Listings.Load() - atFirstDelete); got != tc.relists {
				t.Errorf("%d re-check listing requests after the first deletion, want %d", got, tc.relists)
			}
			nd := digests[len(digests)-1]
			switch {
			case tc.sign && (len(run.Kept) != 1 || run.Kept[0].Version != nd || !strings.HasPrefix(run.Kept[0].Reason, "re-check: now referenced by new sig")):
				t.Errorf("kept = %+v, want the signed candidate, saved by the fallback's listing", run.Kept)
			case tc.sign && !slices.Contains(w.ActiveDigests(), nd):
				t.Error("the signed candidate was deleted")
			case !tc.sign && len(run.Kept) != 0:
				t.Errorf("kept = %+v, want none", run.Kept)
			}
		})
	}
}
