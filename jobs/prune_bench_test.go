package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
)

// BenchmarkPrune prunes a container package of 300 versions (30 tagged
// releases, 40 untagged two-platform indexes, 150 untagged images: 270 to
// delete) in the simulator, through the Pruner with pacing at 1,000
// deletions and 5,400 points a minute under a simulator allowing 6,000.
// It reports the REST calls made against the lower bound (listing pages,
// owner and package lookups, deletions; re-check listings answered 304
// are counted apart), manifest reads, deletions per minute against the
// pacing budget and rate-limit answers; then the same figures for the run
// right after (the listing changed) and an idle run (nothing changed).
//
//	go test -run '^$' -bench BenchmarkPrune -benchtime 1x ./jobs/
func BenchmarkPrune(b *testing.B) {
	const (
		releases, indexes, images = 30, 40, 150
		mutatingPerMinute         = 1000
	)
	for b.Loop() {
		b.StopTimer()
		w := newPruneWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 6000})
		w.file("app", pruneRules)
		for i := range releases {
			w.push(w.image(fmt.Sprintf("rel-%d", i)), 30*day, fmt.Sprintf("v1.%d", i))
		}
		for i := range indexes {
			w.push(index(w.image(fmt.Sprintf("amd64-%d", i)), w.image(fmt.Sprintf("arm64-%d", i))), time.Duration(20+i)*time.Hour)
		}
		for i := range images {
			w.push(w.image(fmt.Sprintf("u-%d", i)), time.Duration(2+i)*time.Hour)
		}
		total := releases + 3*indexes + images
		if got := len(w.active()); got != total {
			b.Fatalf("seeded %d versions, want %d", got, total)
		}
		kv, err := pacing.CreateBucket(context.Background(), w.nats.Queue.JS, 1)
		if err != nil {
			b.Fatal(err)
		}
		if w.pacer, err = pacing.New(kv, pacing.Config{Points: 5400, Mutating: mutatingPerMinute, Burst: 20, MutatingBurst: 1}); err != nil {
			b.Fatal(err)
		}
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		b.StartTimer()

		start := time.Now()
		if err := p.Handle(context.Background(), w.job()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		run := rep.runs[len(rep.runs)-1]
		deleted := len(run.Deleted)
		if want := 3*indexes + images; deleted != want {
			b.Fatalf("deleted %d, want %d", deleted, want)
		}
		pages := (total + 99) / 100
		lower := pages + 2 + deleted
		calls := int(w.gets.Load() + w.mutating.Load())
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(lower), "lower-bound-calls")
		b.ReportMetric(float64(w.notModified.Load()), "recheck-304s")
		b.ReportMetric(float64(w.manifestReads.Load()), "manifest-reads")
		b.ReportMetric(float64(w.limited.Load()), "rate-limited")
		w.delMu.Lock()
		span := w.lastDel.Sub(w.firstDel)
		w.delMu.Unlock()
		perMin := float64(deleted-1) / span.Minutes()
		b.ReportMetric(perMin/mutatingPerMinute, "deletes/min÷budget")
		b.Logf("run 1: %d deletions in %s (%.0f/min, budget %d/min), %d REST calls (lower bound %d), %d 304s, %d manifest reads, %d rate-limited",
			deleted, took.Round(time.Millisecond), perMin, mutatingPerMinute, calls, lower, w.notModified.Load(), w.manifestReads.Load(), w.limited.Load())

		for _, label := range []string{"after", "idle"} {
			w.gets.Store(0)
			w.notModified.Store(0)
			w.mutating.Store(0)
			w.manifestReads.Store(0)
			if err := p.Handle(context.Background(), w.job()); err != nil {
				b.Fatal(err)
			}
			b.Logf("run %s: %d GETs answered 200, %d answered 304, %d mutating, %d manifest reads",
				label, w.gets.Load(), w.notModified.Load(), w.mutating.Load(), w.manifestReads.Load())
			if label == "idle" {
				b.ReportMetric(float64(w.mutating.Load()+w.manifestReads.Load()), "idle-mutating+reads")
			}
		}
	}
}
