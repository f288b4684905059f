package prune_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// BenchmarkPrune prunes a container package of 300 versions (30 tagged
// releases, 40 untagged two-platform indexes, 150 untagged images: 270 to
// delete) in the simulator, through the Pruner as serve builds it (the
// router counting the package's events), with pacing at 1,000
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
		w := jobstest.NewWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 6000})
		w.File("app", jobstest.PruneRules)
		for i := range releases {
			w.Push(w.Image(fmt.Sprintf("rel-%d", i)), 30*jobstest.Day, fmt.Sprintf("v1.%d", i))
		}
		for i := range indexes {
			w.Push(jobstest.Index(w.Image(fmt.Sprintf("amd64-%d", i)), w.Image(fmt.Sprintf("arm64-%d", i))), time.Duration(20+i)*time.Hour)
		}
		for i := range images {
			w.Push(w.Image(fmt.Sprintf("u-%d", i)), time.Duration(2+i)*time.Hour)
		}
		total := releases + 3*indexes + images
		if got := len(w.Active()); got != total {
			b.Fatalf("seeded %d versions, want %d", got, total)
		}
		w.RouteWebhooks() // as serve: the router counts the package's events
		p, run, took := pacedPrune(b, w, pacing.Config{Points: 5400, Mutating: mutatingPerMinute, Burst: 20, MutatingBurst: 1})
		deleted := len(run.Deleted)
		if want := 3*indexes + images; deleted != want {
			b.Fatalf("deleted %d, want %d", deleted, want)
		}
		pages := (total + 99) / 100
		lower := pages + 2 + deleted
		calls := int(w.Gets.Load() + w.Mutating.Load())
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(lower), "lower-bound-calls")
		b.ReportMetric(float64(w.NotModified.Load()), "recheck-304s")
		b.ReportMetric(float64(w.ManifestReads.Load()), "manifest-reads")
		b.ReportMetric(float64(w.Limited.Load()), "rate-limited")
		span := w.DeleteSpan()
		perMin := float64(deleted-1) / span.Minutes()
		b.ReportMetric(perMin/mutatingPerMinute, "deletes/min÷budget")
		b.Logf("run 1: %d deletions in %s (%.0f/min, budget %d/min), %d REST calls (lower bound %d), %d 304s, %d manifest reads, %d rate-limited",
			deleted, took.Round(time.Millisecond), perMin, mutatingPerMinute, calls, lower, w.NotModified.Load(), w.ManifestReads.Load(), w.Limited.Load())
		if n := w.Limited.Load(); n != 0 {
			b.Fatalf("%d rate-limited answers under a pacing budget below the simulator's limits", n)
		}

		for _, label := range []string{"after", "idle"} {
			w.ResetCounts()
			if err := p.Handle(context.Background(), w.Job()); err != nil {
				b.Fatal(err)
			}
			b.Logf("run %s: %d GETs answered 200, %d answered 304, %d mutating, %d manifest reads",
				label, w.Gets.Load(), w.NotModified.Load(), w.Mutating.Load(), w.ManifestReads.Load())
			if label == "idle" {
				b.ReportMetric(float64(w.Mutating.Load()+w.ManifestReads.Load()), "idle-mutating+reads")
			}
		}
	}
}

// Shape of BenchmarkPruneLarge's package.
const (
	largeTagged   = 2000 // tagged versions, indexes included
	largeIndexes  = 200  // tagged multi-arch indexes, 3 children each
	largeChildren = 3
	largeTotal    = 10000
	// largeUntagged are the untagged builds, all old enough to go.
	largeUntagged = largeTotal - largeTagged - largeIndexes*largeChildren
	// largeMutating is the pacing budget of mutating requests a minute:
	// high, so that 7,400 deletions take about 75 seconds.
	largeMutating = 6000
)

// seedLarge makes BenchmarkPruneLarge's package with the simulator's bulk
// seed: pushing 10,000 manifests through the registry would take minutes.
func seedLarge(b *testing.B, w *jobstest.World) {
	b.Helper()
	now := w.Sim.Now()
	var ms []ghsim.ContainerManifest
	add := func(mt string, body []byte, age time.Duration, tags ...string) {
		ms = append(ms, ghsim.ContainerManifest{MediaType: mt, Body: body, Tags: tags, CreatedAt: now.Add(-age)})
	}
	for i := range largeIndexes {
		var desc []string
		for c := range largeChildren {
			child := jobstest.ImageManifest(fmt.Sprintf("rel-%d-arch-%d", i, c))
			add(jobstest.OCIImage, child, 30*jobstest.Day)
			desc = append(desc, fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d,"platform":{"os":"linux","architecture":"arch%d"}}`, jobstest.OCIImage, jobstest.Digest(child), len(child), c))
		}
		idx := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s],"annotations":{"org.opencontainers.image.source":%q}}`, jobstest.OCIIndex, strings.Join(desc, ","), jobstest.Source)
		add(jobstest.OCIIndex, []byte(idx), 30*jobstest.Day, fmt.Sprintf("v2.%d", i))
	}
	for i := range largeTagged - largeIndexes {
		add(jobstest.OCIImage, jobstest.ImageManifest(fmt.Sprintf("rel-%d", i)), 30*jobstest.Day, fmt.Sprintf("v1.%d", i))
	}
	for i := range largeUntagged {
		add(jobstest.OCIImage, jobstest.ImageManifest(fmt.Sprintf("build-%d", i)), 2*jobstest.Day+time.Duration(i)*time.Second)
	}
	if _, err := w.Sim.AddContainerManifests("acme", "app", "acme/app", ms); err != nil {
		b.Fatal(err)
	}
	if got := len(w.Active()); got != largeTotal {
		b.Fatalf("seeded %d versions, want %d", got, largeTotal)
	}
}

// BenchmarkPruneLarge is issue 5's benchmark: a container package of
// 10,000 versions (2,000 tagged, 200 of them indexes over 3 untagged
// children; 7,400 untagged builds, all to delete) with
// max_deletions_per_run above the count, pruned as serve prunes (the
// router counting the package's events) with pacing at 6,000
// mutating requests a minute (40,000 points) under a simulator allowing
// 45,000 points a minute. It reports the REST calls and manifest reads
// against the lower bound, deletions a minute against the mutating
// budget, rate-limit answers and peak RSS; then a run right after (the
// listing changed since the last re-check) and an idle run, which must
// read no manifest, mutate nothing and get 304 for its listings.
//
//	go test -run '^$' -bench BenchmarkPruneLarge -benchtime 1x -timeout 10m ./jobs/
func BenchmarkPruneLarge(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		w := jobstest.NewWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 45000, PrimaryLimit: 100000})
		w.File(".github", "policy:\n  max_deletions_per_run: 20000\n")
		w.File("app", jobstest.PruneRules)
		seedStart := time.Now()
		seedLarge(b, w)
		b.Logf("seeded %d versions in %s", largeTotal, time.Since(seedStart).Round(time.Millisecond))
		w.RouteWebhooks() // as serve: the router counts the package's events
		// MutatingBurst 5: with 1, a deletion whose own round trip
		// (~1 ms here) ends after its successor's slot loses that time
		// for good, which at a 10 ms spacing is 9% of the budget (0.914
		// measured); a bucket of 5 banks it, at most 5 above the budget
		// in any minute.
		p, run, took := pacedPrune(b, w, pacing.Config{Points: 40000, Mutating: largeMutating, Burst: 100, MutatingBurst: 5})
		deleted := len(run.Deleted)
		if deleted != largeUntagged {
			b.Fatalf("deleted %d, want %d (outcome %s, deferred %d, kept %d, skipped %d)", deleted, largeUntagged, run.Outcome, len(run.Deferred), len(run.Kept), len(run.Skipped))
		}
		if got := len(w.Active()); got != largeTotal-largeUntagged {
			b.Fatalf("%d versions left, want %d", got, largeTotal-largeUntagged)
		}
		// The lower bound: the owner and package lookups, the plan's
		// listing pages and the deletions. The re-checks' listings are
		// above it (the price of not deleting what changed meanwhile) and
		// reported apart. Manifest reads go to the registry and are
		// counted apart: one per digest at best, as the cache starts empty.
		listPages := int(w.Listings.Load())
		planPages := (largeTotal + 99) / 100
		lowerREST := 2 + planPages + deleted
		calls := int(w.Gets.Load() + w.NotModified.Load() + w.Mutating.Load())
		span := w.DeleteSpan()
		perMin := float64(deleted-1) / span.Minutes()
		rss := jobstest.PeakRSSMiB()
		b.ReportMetric(float64(calls), "rest-calls")
		b.ReportMetric(float64(lowerREST), "rest-lower-bound")
		b.ReportMetric(float64(w.ManifestReads.Load()), "manifest-reads")
		b.ReportMetric(perMin/largeMutating, "deletes/min÷budget")
		b.ReportMetric(float64(w.Limited.Load()), "rate-limited")
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.Logf("run 1: %d deletions in %s (%.0f/min against a budget of %d/min: %.3f), %d REST calls against a lower bound of %d (2 lookups + the plan's %d listing pages + %d deletions); above it %d re-check listing pages (%d answered 304 in all); %d manifest reads for %d distinct digests, %d rate-limited answers, peak RSS %.0f MiB",
			deleted, took.Round(time.Millisecond), perMin, largeMutating, perMin/largeMutating, calls, lowerREST, planPages, deleted, listPages-planPages, w.NotModified.Load(),
			w.ManifestReads.Load(), largeTotal, w.Limited.Load(), rss)
		if n := w.Limited.Load(); n != 0 {
			b.Fatalf("%d rate-limited answers under a pacing budget below the simulator's limits", n)
		}

		for _, label := range []string{"after", "idle"} {
			w.ResetCounts()
			start := time.Now()
			if err := p.Handle(context.Background(), w.Job()); err != nil {
				b.Fatal(err)
			}
			b.Logf("run %s: %s, %d GETs answered 200, %d answered 304 (%d listing pages), %d mutating, %d manifest reads",
				label, time.Since(start).Round(time.Millisecond), w.Gets.Load(), w.NotModified.Load(), w.Listings.Load(), w.Mutating.Load(), w.ManifestReads.Load())
			if label == "idle" {
				b.ReportMetric(float64(w.Mutating.Load()+w.ManifestReads.Load()), "idle-mutating+reads")
				b.ReportMetric(float64(w.NotModified.Load()), "idle-304s")
				if w.Mutating.Load() != 0 || w.ManifestReads.Load() != 0 {
					b.Errorf("the idle run mutated %d times and read %d manifests", w.Mutating.Load(), w.ManifestReads.Load())
				}
			}
		}
	}
}

// pacedPrune paces w's pruner with cfg (a pacing bucket of its own), then
// starts the timer and runs one prune of acme/app: the pruner, the run
// and how long it took.
func pacedPrune(b *testing.B, w *jobstest.World, cfg pacing.Config) (*prune.Pruner, prune.Run, time.Duration) {
	b.Helper()
	kv, err := pacing.CreateBucket(context.Background(), w.NATS.Queue.JS, 1)
	if err != nil {
		b.Fatal(err)
	}
	if w.Pacer, err = pacing.New(kv, cfg); err != nil {
		b.Fatal(err)
	}
	rep := &jobstest.Reports{}
	p := w.Pruner(rep, false, "acme="+w.Token)
	b.StartTimer()
	start := time.Now()
	if err := p.Handle(context.Background(), w.Job()); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	return p, rep.Last(b), took
}

// Shape of BenchmarkPrune230's package: the one dataaxiom's
// ghcr-cleanup-action was compared on (issue 17).
const (
	peerUntagged = 230 // untagged single-image builds, all to delete
	peerTagged   = 1   // a tagged release, kept
	// peerRequests is what ghcr-cleanup-action made for that prune.
	peerRequests = 235
)

// BenchmarkPrune230 prunes a container package of 230 untagged
// single-image builds and one tagged release, as serve does (the router
// counting the package's events: none come during the run), and once
// more with no event count, each group looking at the newest versions
// as before issue 17. It prints the REST requests by kind, 304s and the
// App's included, against the lower bound (the owner and package
// lookups, the plan's listing pages and the deletions) and against the
// 235 requests of dataaxiom's ghcr-cleanup-action on the same package;
// manifest reads go to the registry and are printed apart. It fails on
// any rate-limited answer, and when serve's way makes more packages
// requests than the peer.
//
//	go test -run '^$' -bench BenchmarkPrune230 -benchtime 1x ./jobs/prune/
func BenchmarkPrune230(b *testing.B) {
	for _, mode := range []string{"events", "no-count"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				w := jobstest.NewWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 6000})
				w.File("app", jobstest.PruneRules)
				now := w.Sim.Now()
				var ms []ghsim.ContainerManifest
				for i := range peerUntagged {
					ms = append(ms, ghsim.ContainerManifest{MediaType: jobstest.OCIImage, Body: jobstest.ImageManifest(fmt.Sprintf("build-%d", i)), CreatedAt: now.Add(-2*jobstest.Day - time.Duration(i)*time.Minute)})
				}
				ms = append(ms, ghsim.ContainerManifest{MediaType: jobstest.OCIImage, Body: jobstest.ImageManifest("release"), Tags: []string{"v1"}, CreatedAt: now.Add(-time.Hour)})
				if _, err := w.Sim.AddContainerManifests("acme", "app", "acme/app", ms); err != nil {
					b.Fatal(err)
				}
				total := peerUntagged + peerTagged
				if got := len(w.Active()); got != total {
					b.Fatalf("seeded %d versions, want %d", got, total)
				}
				if mode == "events" {
					w.RouteWebhooks()
				}
				_, run, took := pacedPrune(b, w, pacing.Config{Points: 5400, Mutating: 1000, Burst: 20, MutatingBurst: 1})
				deleted := len(run.Deleted)
				if deleted != peerUntagged {
					b.Fatalf("deleted %d, want %d (outcome %s, kept %d, skipped %d)", deleted, peerUntagged, run.Outcome, len(run.Kept), len(run.Skipped))
				}
				kinds := w.RequestKinds()
				var packages, app int
				var lines []string
				for _, k := range slices.Sorted(maps.Keys(kinds)) {
					lines = append(lines, fmt.Sprintf("%-40s %5d", k, kinds[k]))
					if strings.HasPrefix(k, "packages ") {
						packages += kinds[k]
					} else {
						app += kinds[k]
					}
				}
				pages := (total + 99) / 100
				lower := 2 + pages + deleted
				b.ReportMetric(float64(packages), "packages-requests")
				b.ReportMetric(float64(lower), "lower-bound")
				b.ReportMetric(float64(app), "app-requests")
				b.ReportMetric(float64(w.ManifestReads.Load()), "manifest-reads")
				b.ReportMetric(float64(w.Limited.Load()), "rate-limited")
				b.Logf("%s: %d deletions in %s; requests by kind:\n%s\npackages token: %d requests (304s included) against a lower bound of %d (2 lookups + %d listing pages + %d deletions) and ghcr-cleanup-action's %d; App: %d (token, config files); registry: %d manifest reads; %d rate-limited",
					mode, deleted, took.Round(time.Millisecond), strings.Join(lines, "\n"), packages, lower, pages, deleted, peerRequests, app, w.ManifestReads.Load(), w.Limited.Load())
				if n := w.Limited.Load(); n != 0 {
					b.Fatalf("%d rate-limited answers under a pacing budget below the simulator's limits", n)
				}
				if mode == "events" && packages > peerRequests {
					b.Errorf("%d packages requests, more than ghcr-cleanup-action's %d", packages, peerRequests)
				}
			}
		})
	}
}
