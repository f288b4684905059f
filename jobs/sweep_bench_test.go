package jobs_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Shape of BenchmarkSweep's packages: each of sweepPackages container
// packages linked to acme/app has sweepTagged tagged releases (30 days
// old), sweepRecent untagged builds of the last 200 hours and sweepOld
// untagged builds older than 30 days; the rule deletes the old ones only.
const (
	sweepPackages = 100
	sweepTagged   = 700
	sweepRecent   = 200
	sweepOld      = 100
	sweepVersions = sweepTagged + sweepRecent + sweepOld
	sweepWorkers  = 4
	// sweepMutating is the pacing budget of mutating requests a minute,
	// raised so 10,000 deletions take well under two minutes.
	sweepMutating = 30000
)

// sweepRules keeps most: every tag, the untagged builds of the last 30
// days and at least the newest 20 untagged builds; it deletes untagged
// builds older than 30 days (sweepOld a package).
const sweepRules = `rules:
  - packages: ["svc-*"]
    type: container
    prune: {untagged: true, older_than: 30d, keep_untagged: 20}
`

// BenchmarkSweep is a sweep's worth of prune work over 100 container
// packages of 1,000 versions each (100,000 versions; 10,000 to delete),
// seeded in bulk. It queues nothing: a pool of 4 workers calls the
// Pruner's Handle once a package, as serve's workers do with the jobs a
// sweep queues (scheduler, queue and restore pass are not part of it).
// Pacing allows 30,000 deletions a minute under a simulator allowing far
// more. It reports the time, the API calls by method (the simulator's
// request stats), manifest reads, deletions, rate-limit answers and peak
// RSS (simulator and NATS in the same process).
//
//	go test -run '^$' -bench BenchmarkSweep -benchtime 1x -timeout 10m ./jobs/
func BenchmarkSweep(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := newPruneWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 10_000_000, PrimaryLimit: 10_000_000})
		w.file("app", sweepRules)
		seedStart := time.Now()
		now := w.sim.Now()
		for p := range sweepPackages {
			ms := make([]ghsim.ContainerManifest, 0, sweepVersions)
			add := func(note string, age time.Duration, tags ...string) {
				ms = append(ms, ghsim.ContainerManifest{MediaType: ociImage, Body: largeImage(fmt.Sprintf("svc-%d-%s", p, note)), Tags: tags, CreatedAt: now.Add(-age)})
			}
			for i := range sweepTagged {
				add(fmt.Sprintf("rel-%d", i), 30*day+time.Duration(i)*time.Minute, fmt.Sprintf("v1.%d", i))
			}
			for i := range sweepOld {
				add(fmt.Sprintf("old-%d", i), 31*day+time.Duration(i)*time.Hour)
			}
			for i := range sweepRecent {
				add(fmt.Sprintf("new-%d", i), time.Duration(i+1)*time.Hour)
			}
			if _, err := w.sim.AddContainerManifests("acme", fmt.Sprintf("svc-%03d", p), "acme/app", ms); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("seeded %d packages × %d versions in %s", sweepPackages, sweepVersions, time.Since(seedStart).Round(time.Millisecond))
		kv, err := pacing.CreateBucket(context.Background(), w.nats.Queue.JS, 1)
		if err != nil {
			b.Fatal(err)
		}
		if w.pacer, err = pacing.New(kv, pacing.Config{Points: 1_000_000, Mutating: sweepMutating, Burst: 200, MutatingBurst: 20}); err != nil {
			b.Fatal(err)
		}
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		w.sim.ResetRequestStats()
		b.StartTimer()

		start := time.Now()
		todo := make(chan jobs.Job)
		errs := make(chan error, sweepPackages)
		var wg sync.WaitGroup
		for range sweepWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range todo {
					if err := p.Handle(context.Background(), j); err != nil {
						errs <- fmt.Errorf("%s: %w", j.Target.PackageName, err)
					}
				}
			}()
		}
		for i := range sweepPackages {
			todo <- jobs.Job{Type: jobs.TypePrune, DeliveryID: fmt.Sprintf("sweep-%03d", i), Reason: "sweep", QueuedAt: time.Now(),
				Target: webhook.Target{InstallationID: w.installation, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: fmt.Sprintf("svc-%03d", i), Repository: "acme/app"}}
		}
		close(todo)
		wg.Wait()
		took := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		deleted := 0
		for _, run := range rep.runs {
			deleted += len(run.Deleted)
		}
		if len(rep.runs) != sweepPackages || deleted != sweepPackages*sweepOld {
			b.Fatalf("%d runs deleted %d, want %d runs deleting %d", len(rep.runs), deleted, sweepPackages, sweepPackages*sweepOld)
		}
		byMethod := map[string]int{}
		notModified, limited := 0, 0
		for _, st := range w.sim.RequestStats() {
			for m, n := range st.Requests {
				byMethod[m] += n
			}
			notModified += st.NotModified
			limited += st.Limited()
		}
		var calls string
		for _, m := range slices.Sorted(maps.Keys(byMethod)) {
			calls += fmt.Sprintf(" %s %d", m, byMethod[m])
		}
		rss := peakRSS()
		perMin := float64(deleted) / took.Minutes()
		b.ReportMetric(took.Seconds(), "sweep-s")
		b.ReportMetric(float64(deleted), "deletions")
		b.ReportMetric(float64(w.manifestReads.Load()), "manifest-reads")
		b.ReportMetric(float64(limited), "rate-limited")
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.Logf("sweep: %d packages × %d versions, %d workers: %s; %d deletions (%.0f/min, budget %d/min); API calls by method:%s (%d answered 304); listing pages %d; %d manifest reads; %d rate-limited answers; peak RSS %.0f MiB",
			sweepPackages, sweepVersions, sweepWorkers, took.Round(time.Millisecond), deleted, perMin, sweepMutating, calls, notModified,
			w.listings.Load(), w.manifestReads.Load(), limited, rss)
	}
}
