package sweep_test

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
	"github.com/pkgwarden/pkgwarden/queue"
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
	// sweepDrainLimit bounds the wait for one sweep's jobs.
	sweepDrainLimit = 10 * time.Minute
)

// sweepRules keeps most: every tag, the untagged builds of the last 30
// days and at least the newest 20 untagged builds; it deletes untagged
// builds older than 30 days (sweepOld a package).
const sweepRules = `rules:
  - packages: ["svc-*"]
    type: container
    prune: {untagged: true, older_than: 30d, keep_untagged: 20}
`

// BenchmarkSweep is one sweep of 100 container packages of 1,000 versions
// each (100,000 versions; 10,000 to delete), seeded in bulk, through the
// path serve runs: the Scheduler's SweepNow lists the installation's
// packages and queues a prune and a restore job for each on the jobs
// stream of the world's embedded NATS, and a worker Pool of 4 with the
// real Pruner and Restorer registered (wired as cmd/pkgwarden's
// appHandlers and newScheduler wire them: one pacing bucket, manifest
// cache, ETag store, run store, inventory, issue reports) drains it.
// The sweep ends when the jobs stream is empty and the workers consumer
// has nothing pending or unacknowledged; then the simulator must show
// exactly the 100 old untagged builds of each package deleted and every
// other version active.
//
// A second sweep follows at once with nothing changed (warm: manifests
// cached by digest, listing ETags stored, inventory filled). For each it
// reports the time from SweepNow to drained, jobs by type and result,
// API calls by method (the simulator's request stats, every caller),
// the GETs split by path (counted on the way out by the benchmark's
// transports, which carry every request of the App, the packages token
// and the registry), 304s, listing pages, manifest reads, deletions and
// deletions a minute, rate-limit answers, the requests counting against
// GitHub's primary limit (any answer but a 304) by package, and peak RSS
// (VmHWM, reset before each sweep where the kernel allows; the simulator,
// its 100,000 manifests and NATS are in the same process). It fails when
// the warm sweep's jobs spend more primary-limit requests than there are
// packages, or read a manifest (issue 17's target). With
// PKGWARDEN_SWEEP_HEAPPROFILE=prefix it writes the heap profile after each
// sweep to prefix-cold.prof and prefix-warm.prof.
//
//	go test -run '^$' -bench BenchmarkSweep -benchtime 1x -timeout 15m ./jobs/sweep/
func BenchmarkSweep(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		sb := newSweepBench(b)
		ctx, cancel := context.WithCancel(context.Background())
		poolDone := make(chan struct{})
		go func() {
			defer close(poolDone)
			if err := sb.pool.Run(ctx); err != nil {
				b.Error(err)
			}
		}()
		b.StartTimer()

		cold := sb.sweep(b, "cold")
		sb.checkState(b)
		warm := sb.sweep(b, "warm")
		sb.checkState(b)

		b.StopTimer()
		cancel()
		<-poolDone
		if cold.deletions != sweepPackages*sweepOld {
			b.Fatalf("cold sweep deleted %d versions, want %d", cold.deletions, sweepPackages*sweepOld)
		}
		if warm.deletions != 0 {
			b.Fatalf("warm sweep deleted %d versions, want 0", warm.deletions)
		}
		for _, f := range []sweepFigures{cold, warm} {
			f.report(b)
		}
		// Issue 17's target: a warm sweep spends at most one request of
		// GitHub's primary limit per package (listings, package, rules
		// files and report issues conditional or cached) and reads no
		// manifest.
		// A package the cold sweep changed after its last read (its
		// restore job ran before its prune) pays that one read now: the
		// bound is on the sweep's total.
		total, most, mostPkg := warm.jobsPrimary()
		if total > sweepPackages || warm.manifestReads > 0 {
			b.Fatalf("warm sweep: the jobs made %d primary-limit requests (%s: %d, naming no package: %d) for %d packages and %d manifest reads; want at most 1 a package and none",
				total, mostPkg, most, warm.primary[""], sweepPackages, warm.manifestReads)
		}
		if warm.apiCalls >= cold.apiCalls/2 {
			b.Logf("NOTE: the warm sweep made %d API calls against the cold one's %d: not far fewer", warm.apiCalls, cold.apiCalls)
		}
		b.StartTimer()
	}
}

// sweepBench is BenchmarkSweep's world: the simulator with the seeded
// packages, and the scheduler and worker pool on its embedded NATS.
type sweepBench struct {
	w       *jobstest.World
	q       *queue.Queue
	sched   *sweep.Scheduler
	pool    *jobs.Pool
	metrics *prometheus.Registry
	calls   *sweepCalls
	rep     *runCount
	// old are the digests of each package's builds the rule deletes.
	old map[string]map[string]bool
}

func newSweepBench(b *testing.B) *sweepBench {
	b.Helper()
	ctx := context.Background()
	w := jobstest.NewWorldLimits(b, ghsim.RateLimits{SecondaryPoints: 10_000_000, PrimaryLimit: 10_000_000})
	w.File("app", sweepRules)
	sb := &sweepBench{w: w, q: w.NATS.Queue, calls: newSweepCalls(), rep: &runCount{}, metrics: prometheus.NewRegistry(), old: map[string]map[string]bool{}}

	seedStart := time.Now()
	now := w.Sim.Now()
	for p := range sweepPackages {
		name := fmt.Sprintf("svc-%03d", p)
		sb.old[name] = map[string]bool{}
		ms := make([]ghsim.ContainerManifest, 0, sweepVersions)
		add := func(note string, age time.Duration, tags ...string) []byte {
			body := jobstest.ImageManifest(fmt.Sprintf("svc-%d-%s", p, note))
			ms = append(ms, ghsim.ContainerManifest{MediaType: jobstest.OCIImage, Body: body, Tags: tags, CreatedAt: now.Add(-age)})
			return body
		}
		for i := range sweepTagged {
			add(fmt.Sprintf("rel-%d", i), 30*jobstest.Day+time.Duration(i)*time.Minute, fmt.Sprintf("v1.%d", i))
		}
		for i := range sweepOld {
			sb.old[name][jobstest.Digest(add(fmt.Sprintf("old-%d", i), 31*jobstest.Day+time.Duration(i)*time.Hour))] = true
		}
		for i := range sweepRecent {
			add(fmt.Sprintf("new-%d", i), time.Duration(i+1)*time.Hour)
		}
		if _, err := w.Sim.AddContainerManifests("acme", name, "acme/app", ms); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d packages × %d versions in %s", sweepPackages, sweepVersions, time.Since(seedStart).Round(time.Millisecond))

	// What follows mirrors cmd/pkgwarden: appHandlers for the worker's
	// handlers, newScheduler for the scheduler. The transports count
	// every request on its way out (under the retries, as the simulator
	// sees them) and go to the world's loopback server.
	logger := slog.New(slog.DiscardHandler)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	newApp := func(role string) *githubapi.App {
		app, err := githubapi.NewApp(githubapi.AppConfig{AppID: w.Sim.AppID(), PrivateKey: keyPEM, BaseURL: w.Server.URL,
			Transport: githubapi.NewTransport(sb.calls.as(role), githubapi.RetryPolicy{}, nil)})
		if err != nil {
			b.Fatal(err)
		}
		return app
	}
	tokens, err := githubapi.ParsePackagesTokens("acme="+w.Token, "")
	if err != nil {
		b.Fatal(err)
	}
	pcfg := pacing.Config{Points: 1_000_000, Mutating: sweepMutating, Burst: 200, MutatingBurst: 20}
	pkv, err := pacing.CreateBucket(ctx, sb.q.JS, 1)
	if err != nil {
		b.Fatal(err)
	}
	newPacer := func() *pacing.Pacer {
		pacer, err := pacing.New(pkv, pcfg, pacing.WithLogger(logger))
		if err != nil {
			b.Fatal(err)
		}
		return pacer
	}
	// serve gives the pruner and the restorer one packages transport; here
	// each gets its own, over the same pacer, only so that their requests
	// are counted apart (the transports keep no state of their own).
	packed := func(pacer *pacing.Pacer, role string) http.RoundTripper {
		return githubapi.NewTransport(pacer.Wrap(sb.calls.as(role)), githubapi.RetryPolicy{}, nil)
	}

	// Worker: appHandlers.
	app := newApp("worker-app")
	workerPacer := newPacer()
	cache, err := registry.OpenKVCache(ctx, sb.q.JS, "manifests", 1)
	if err != nil {
		b.Fatal(err)
	}
	etags, err := githubapi.OpenKVETagStore(ctx, sb.q.JS, "etags", 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	runs, err := prune.OpenKVRunStore(ctx, sb.q.JS, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	issues := report.New(app, nil, logger, report.WithBot(ghsim.AppSlug+"[bot]"), report.WithSeal(jobstest.Seal), report.WithCache(etags))
	inv, err := inventory.Open(ctx, sb.q.JS, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	// One bounded memory cache before the bucket, as wireAccess builds it.
	manifests := registry.NewMemoryCache()
	// The workers' Access, one per job type so that calls are counted by
	// role.
	access := func(role string) *planner.Access {
		return &planner.Access{
			Tokens: tokens, App: app, APIURL: w.Server.URL, RegistryURL: w.Server.URL,
			PackagesTransport: packed(workerPacer, role), RegistryTransport: sb.calls.as(role),
			Cache: registry.Tiered{Front: manifests, Back: cache}, ETags: etags,
		}
	}
	// No webhook comes during the sweep: the count never moves.
	events, err := jobs.OpenPackageEvents(ctx, sb.q.JS, 1)
	if err != nil {
		b.Fatal(err)
	}
	pruner, err := prune.New(prune.Config{
		Access: access("prune"), Runs: runs, Events: events,
		Reporter:    prune.Reporters{prune.IssueReporter{Issues: issues, Logger: logger}, sb.rep},
		TokenIssues: issues, Inventory: inv, Metrics: prune.NewMetrics(sb.metrics), Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	restorer, err := restore.New(restore.Config{
		Access: access("restore"), Inventory: inv, Issues: issues, Metrics: restore.NewMetrics(sb.metrics), Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	reg := jobs.NewRegistry()
	reg.Register(jobs.TypePrune, pruner)
	reg.Register(jobs.TypeRestore, restorer)
	sb.pool = jobs.NewPool(sb.q, reg, jobs.PoolConfig{Workers: sweepWorkers}, jobs.NewMetrics(sb.metrics, sb.q), logger)

	// Scheduler: newScheduler, with its own App and pacer on the same
	// pacing bucket; the inventory as serve reads it.
	if sb.sched, err = sweep.Open(ctx, sb.q, sweep.Config{
		Holder: b.Name(), Interval: time.Hour,
		Access: &planner.Access{App: newApp("scheduler-app"), Tokens: tokens, APIURL: w.Server.URL,
			PackagesTransport: packed(newPacer(), "scheduler")},
		Inventory: sweep.InventoryPackages{Store: inv}, Replicas: 1, Logger: logger,
	}); err != nil {
		b.Fatal(err)
	}
	return sb
}

// sweepFigures are what one sweep did.
type sweepFigures struct {
	label                string
	queued               int
	took                 time.Duration
	jobs                 map[string]float64 // "type/result" → attempts
	byMethod             map[string]int     // the simulator's, every caller
	apiCalls             int
	notModified, limited int
	paths                map[sweepCallKey]sweepPathCount
	// writes counts the messages stored per stream (KV buckets included).
	writes            map[string]uint64
	listingPages      int
	listing304        int
	manifestReads     int
	deletions         int
	runs              int
	rssStart, rssPeak float64
	hwmReset          bool
	// primary is the jobs' requests counting against GitHub's primary
	// limit (any answer but a 304) by package, "" for those naming none;
	// primaryScheduler the scheduler's (once a sweep, not per package).
	primary          map[string]int
	primaryScheduler int
}

// jobsPrimary is the jobs' primary-limit requests in all, and the most
// that named one package.
func (f sweepFigures) jobsPrimary() (total, most int, mostPkg string) {
	for _, pkg := range slices.Sorted(maps.Keys(f.primary)) {
		n := f.primary[pkg]
		total += n
		if pkg != "" && n > most {
			most, mostPkg = n, pkg
		}
	}
	return total, most, mostPkg
}

// sweep runs one sweep, SweepNow to drained, and collects its figures.
func (sb *sweepBench) sweep(b *testing.B, label string) sweepFigures {
	b.Helper()
	ctx := context.Background()
	sb.w.Sim.ResetRequestStats()
	sb.calls.reset()
	jobsBefore := sb.jobCounts(b)
	runsBefore := sb.rep.Count()
	seqBefore := sb.streamSeqs(b)
	f := sweepFigures{label: label, rssStart: jobstest.ProcStatusMiB("VmRSS:"), hwmReset: jobstest.ResetPeakRSS()}

	start := time.Now()
	n, err := sb.sched.SweepNow(ctx)
	if err != nil {
		b.Fatalf("%s sweep: SweepNow: %v", label, err)
	}
	sb.waitDrained(b, label, start)
	f.took = time.Since(start)
	f.queued = n
	f.rssPeak = jobstest.PeakRSSMiB()
	writeHeapProfile(b, label)

	f.jobs = map[string]float64{}
	for k, v := range sb.jobCounts(b) {
		if d := v - jobsBefore[k]; d != 0 {
			f.jobs[k] = d
		}
	}
	if dl, err := queue.CountMessages(ctx, sb.q.DeadLetters); err != nil || dl != 0 {
		b.Fatalf("%s sweep: %d dead letters (%v)", label, dl, err)
	}
	for _, typ := range []string{jobs.TypePrune, jobs.TypeRestore} {
		if got := f.jobs[typ+"/"+jobs.ResultSuccess]; got != sweepPackages {
			b.Fatalf("%s sweep: %d %s jobs succeeded, want %d (jobs %v)", label, int(got), typ, sweepPackages, f.jobs)
		}
	}
	if want := 2 * sweepPackages; n != want {
		b.Fatalf("%s sweep: SweepNow queued %d jobs, want %d", label, n, want)
	}

	f.byMethod = map[string]int{}
	for _, st := range sb.w.Sim.RequestStats() {
		for m, c := range st.Requests {
			f.byMethod[m] += c
			f.apiCalls += c
		}
		f.notModified += st.NotModified
		f.limited += st.Limited()
	}
	f.paths = sb.calls.snapshot()
	f.primary = sb.calls.primaryCounts()
	for key, c := range f.paths {
		if strings.HasPrefix(key.role, "scheduler") {
			f.primaryScheduler += c.total() - c.notModified
		}
		switch {
		case key.method == http.MethodGet && strings.Contains(key.path, "/versions?"):
			f.listingPages += c.total()
			f.listing304 += c.notModified
		case key.method == http.MethodGet && strings.HasPrefix(key.path, "/v2/") && strings.Contains(key.path, "/manifests/"):
			f.manifestReads += c.total()
		case key.method == http.MethodDelete && strings.HasSuffix(key.path, "/versions/:id"):
			f.deletions += c.ok
		}
	}
	f.writes = map[string]uint64{}
	for name, seq := range sb.streamSeqs(b) {
		if d := seq - seqBefore[name]; d != 0 {
			f.writes[name] = d
		}
	}
	f.runs = sb.rep.Count() - runsBefore
	if f.runs != sweepPackages {
		b.Fatalf("%s sweep: %d prune runs reported, want %d", label, f.runs, sweepPackages)
	}
	// The transports carry every API request the simulator saw; if the
	// two disagree, a path was missed and the split is incomplete.
	seen := map[string]int{}
	for key, c := range f.paths {
		if !isRegistryPath(key.path) {
			seen[key.method] += c.total()
		}
	}
	if !maps.Equal(seen, f.byMethod) {
		b.Errorf("%s sweep: the transports counted %v API calls, the simulator %v", label, seen, f.byMethod)
	}
	return f
}

// waitDrained waits until the jobs stream holds nothing and the workers
// consumer has nothing pending or unacknowledged: every job of the
// sweep acknowledged (work-queue retention removes a message on its ack).
func (sb *sweepBench) waitDrained(b *testing.B, label string, start time.Time) {
	b.Helper()
	ctx := context.Background()
	cons, err := sb.q.JS.Consumer(ctx, queue.StreamJobs, queue.ConsumerWorkers)
	if err != nil {
		b.Fatal(err)
	}
	var msgs uint64
	var info *jetstream.ConsumerInfo
	drained := testwait.Until(sweepDrainLimit-time.Since(start), func() bool {
		msgs, err = queue.CountMessages(ctx, sb.q.Jobs)
		if err != nil {
			b.Fatal(err)
		}
		info, err = cons.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return msgs == 0 && info.NumPending == 0 && info.NumAckPending == 0
	})
	if !drained {
		b.Fatalf("%s sweep: not drained after %s: %d jobs in the stream, %d pending, %d unacknowledged", label, sweepDrainLimit, msgs, info.NumPending, info.NumAckPending)
	}
}

// checkState fails unless each package has exactly its old untagged
// builds deleted and every other version active.
func (sb *sweepBench) checkState(b *testing.B) {
	b.Helper()
	for name, old := range sb.old {
		vs, err := sb.w.Sim.Versions("acme", "container", name)
		if err != nil {
			b.Fatal(err)
		}
		if len(vs) != sweepVersions {
			b.Fatalf("%s has %d versions, want %d", name, len(vs), sweepVersions)
		}
		gone := 0
		for _, v := range vs {
			if v.Deleted != old[v.Name] {
				b.Fatalf("%s: version %d (%s, tags %v, created %s) deleted=%t, want %t", name, v.ID, v.Name, v.Tags, v.CreatedAt, v.Deleted, old[v.Name])
			}
			if v.Deleted {
				gone++
			}
		}
		if gone != sweepOld {
			b.Fatalf("%s: %d versions deleted, want %d", name, gone, sweepOld)
		}
	}
}

// jobCounts reads pkgwarden_jobs_total as "type/result" → count.
func (sb *sweepBench) jobCounts(b *testing.B) map[string]float64 {
	b.Helper()
	mfs, err := sb.metrics.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "pkgwarden_jobs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var typ, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "type":
					typ = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			out[typ+"/"+result] = m.GetCounter().GetValue()
		}
	}
	return out
}

// streamSeqs returns each stream's last sequence: the difference between
// two reads is how many messages were stored (a KV bucket's puts and
// deletes included).
func (sb *sweepBench) streamSeqs(b *testing.B) map[string]uint64 {
	b.Helper()
	out := map[string]uint64{}
	streams := sb.q.JS.ListStreams(context.Background())
	for info := range streams.Info() {
		out[info.Config.Name] = info.State.LastSeq
	}
	if err := streams.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// report prints the figures and reports them as metrics prefixed with
// the sweep's label.
func (f sweepFigures) report(b *testing.B) {
	perMin := float64(f.deletions) / f.took.Minutes()
	gets := f.byMethod[http.MethodGet]
	b.ReportMetric(f.took.Seconds(), f.label+"-sweep-s")
	b.ReportMetric(float64(f.apiCalls), f.label+"-api-calls")
	b.ReportMetric(float64(gets), f.label+"-GETs")
	b.ReportMetric(float64(f.notModified), f.label+"-304s")
	b.ReportMetric(float64(f.listingPages), f.label+"-listing-pages")
	b.ReportMetric(float64(f.manifestReads), f.label+"-manifest-reads")
	b.ReportMetric(float64(f.deletions), f.label+"-deletions")
	b.ReportMetric(perMin, f.label+"-deletions/min")
	b.ReportMetric(float64(f.limited), f.label+"-rate-limited")
	b.ReportMetric(f.rssPeak, f.label+"-peak-RSS-MiB")
	total, most, mostPkg := f.jobsPrimary()
	b.ReportMetric(float64(total)/sweepPackages, f.label+"-primary/pkg")
	b.Logf("%s sweep: requests counting against the primary limit: the jobs %d (%.2f a package; at most %d for one, %s; %d naming no package), the scheduler %d",
		f.label, total, float64(total)/sweepPackages, most, mostPkg, f.primary[""], f.primaryScheduler)

	var methods, jobsLine string
	for _, m := range slices.Sorted(maps.Keys(f.byMethod)) {
		methods += fmt.Sprintf(" %s %d", m, f.byMethod[m])
	}
	for _, k := range slices.Sorted(maps.Keys(f.jobs)) {
		jobsLine += fmt.Sprintf(" %s %d", k, int(f.jobs[k]))
	}
	hwm := "VmHWM reset before the sweep"
	if !f.hwmReset {
		hwm = "VmHWM could not be reset: the process's peak so far"
	}
	b.Logf("%s sweep: %d packages × %d versions, %d jobs queued, %d workers: %s (SweepNow → jobs stream drained); jobs by type/result:%s; %d deletions (%.0f/min, budget %d/min); API calls %d by method:%s (%d answered 304, %d rate-limited); listing pages %d (%d answered 304); %d manifest reads; RSS %.0f MiB at the start, peak %.0f MiB (%s)",
		f.label, sweepPackages, sweepVersions, f.queued, sweepWorkers, f.took.Round(time.Millisecond), jobsLine, f.deletions, perMin, sweepMutating,
		f.apiCalls, methods, f.notModified, f.limited, f.listingPages, f.listing304, f.manifestReads, f.rssStart, f.rssPeak, hwm)
	// One line: the testing package keeps only the first lines of a
	// benchmark's log unless -v is given.
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s sweep, requests by caller and path [2xx/304/rate-limited/other]:", f.label)
	keys := slices.SortedFunc(maps.Keys(f.paths), func(a, b sweepCallKey) int {
		return cmp.Or(cmp.Compare(a.role, b.role), cmp.Compare(a.path, b.path), cmp.Compare(a.method, b.method))
	})
	for i, k := range keys {
		c := f.paths[k]
		if i > 0 {
			sb.WriteString(";")
		}
		fmt.Fprintf(&sb, " %s %s %s [%d/%d/%d/%d]", k.role, k.method, k.path, c.ok, c.notModified, c.limited, c.other)
	}
	b.Log(sb.String())
	var writes string
	for _, name := range slices.Sorted(maps.Keys(f.writes)) {
		writes += fmt.Sprintf(" %s %d", name, f.writes[name])
	}
	b.Logf("%s sweep, NATS messages stored by stream:%s", f.label, writes)
}

// sweepCalls counts requests by caller, method and path kind (numbers,
// package names and digests replaced); its callers' transports send them
// on with http.DefaultTransport.
type sweepCalls struct {
	mu sync.Mutex
	by map[sweepCallKey]*sweepPathCount
	// primary counts the API requests of the workers' jobs that count
	// against GitHub's primary limit (any answer but a 304) by the
	// package their path names, "" for those that name none (rules
	// files, issues, owner lookups); the scheduler's are its own.
	primary map[string]int
}

// sweepCallKey is one kind of request of one caller.
type sweepCallKey struct{ role, method, path string }

// sweepCaller is the transport of one caller.
type sweepCaller struct {
	calls *sweepCalls
	role  string
}

// as returns the transport counting role's requests.
func (s *sweepCalls) as(role string) sweepCaller { return sweepCaller{s, role} }

// sweepPathCount counts one kind of request by answer.
type sweepPathCount struct {
	ok, notModified, limited, other int
}

func (c sweepPathCount) total() int { return c.ok + c.notModified + c.limited + c.other }

func newSweepCalls() *sweepCalls {
	return &sweepCalls{by: map[sweepCallKey]*sweepPathCount{}, primary: map[string]int{}}
}

func (c sweepCaller) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.calls.count(sweepCallKey{c.role, r.Method, pathKind(r)}, packageOf(r), resp, err)
	return resp, err
}

// packageOf is the benchmark's package a request's path names, "" for
// none.
func packageOf(r *http.Request) string {
	for _, p := range strings.Split(r.URL.Path, "/") {
		if strings.HasPrefix(p, "svc-") {
			return p
		}
	}
	return ""
}

func (s *sweepCalls) count(key sweepCallKey, pkg string, resp *http.Response, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !isRegistryPath(key.path) && !strings.HasPrefix(key.role, "scheduler") && (err != nil || resp.StatusCode != http.StatusNotModified) {
		s.primary[pkg]++
	}
	c := s.by[key]
	if c == nil {
		c = &sweepPathCount{}
		s.by[key] = c
	}
	switch {
	case err != nil:
		c.other++
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != "":
		c.limited++
	case resp.StatusCode == http.StatusNotModified:
		c.notModified++
	case resp.StatusCode/100 == 2:
		c.ok++
	default:
		c.other++
	}
}

func (s *sweepCalls) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.by)
	clear(s.primary)
}

// primaryCounts returns the jobs' primary-limit requests by package
// ("": naming none).
func (s *sweepCalls) primaryCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.primary)
}

func (s *sweepCalls) snapshot() map[sweepCallKey]sweepPathCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[sweepCallKey]sweepPathCount, len(s.by))
	for k, c := range s.by {
		out[k] = *c
	}
	return out
}

// pathKind is a request's path with what varies replaced: numbers by
// :id, the benchmark's package names by :pkg, a registry reference by
// :ref; listings keep their state and package_type, and get a "?" so
// that a listing is told from a single version.
func pathKind(r *http.Request) string {
	parts := strings.Split(r.URL.Path, "/")
	for i, p := range parts {
		switch {
		case p == "":
		case strings.Trim(p, "0123456789") == "":
			parts[i] = ":id"
		case strings.HasPrefix(p, "svc-"):
			parts[i] = ":pkg"
		case i > 0 && (parts[i-1] == "manifests" || parts[i-1] == "blobs"):
			parts[i] = ":ref"
		}
	}
	path := strings.Join(parts, "/")
	if strings.HasSuffix(path, "/versions") || strings.HasSuffix(path, "/packages") {
		q := r.URL.Query()
		var keep []string
		for _, k := range []string{"package_type", "state"} {
			if v := q.Get(k); v != "" {
				keep = append(keep, k+"="+v)
			}
		}
		path += "?" + strings.Join(keep, "&")
	}
	return path
}

// isRegistryPath tells the registry's requests from the REST API's.
func isRegistryPath(path string) bool {
	return path == "/v2" || strings.HasPrefix(path, "/v2/") || path == "/token" || strings.HasPrefix(path, "/token?")
}

// writeHeapProfile writes, when PKGWARDEN_SWEEP_HEAPPROFILE names a
// path prefix, the heap profile after a sweep (a GC first, so in-use is
// what the process holds then: simulator, NATS and pkgwarden) to
// <prefix>-<label>.prof, for go tool pprof -sample_index=inuse_space.
func writeHeapProfile(b *testing.B, label string) {
	b.Helper()
	prefix := os.Getenv("PKGWARDEN_SWEEP_HEAPPROFILE")
	if prefix == "" {
		return
	}
	runtime.GC()
	f, err := os.Create(prefix + "-" + label + ".prof")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// runCount counts the prune runs reported. Unlike jobstest.Reports it
// keeps none: a reporter holding every run's decision would be memory
// that grows with the runs, which serve does not have, in the peak RSS
// and heap profiles.
type runCount struct{ n atomic.Int64 }

// Report implements prune.Reporter.
func (c *runCount) Report(context.Context, prune.Run) error { c.n.Add(1); return nil }

// Count is the number of runs reported.
func (c *runCount) Count() int { return int(c.n.Load()) }
