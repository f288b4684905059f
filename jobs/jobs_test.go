package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// recorder is a handler that remembers every run.
type recorder struct {
	mu    sync.Mutex
	runs  []run
	sleep time.Duration
	fail  error
}

type run struct {
	job        Job
	start, end time.Time
}

func (r *recorder) Handle(ctx context.Context, job Job) error {
	start := time.Now()
	if r.sleep > 0 {
		select {
		case <-time.After(r.sleep):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	r.runs = append(r.runs, run{job: job, start: start, end: time.Now()})
	r.mu.Unlock()
	return r.fail
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// startPipeline runs a router and a pool on q until the test ends.
func startPipeline(t *testing.T, q *queue.Queue, h Handler, cfg PoolConfig) (*Metrics, func()) {
	t.Helper()
	reg := NewRegistry()
	reg.Register(TypePrune, h)
	metrics := NewMetrics(prometheus.NewRegistry(), q)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); NewRouter(q, RouterConfig{}, testLogger(t)).Run(ctx) }()
	go func() { defer wg.Done(); NewPool(q, reg, cfg, metrics, testLogger(t)).Run(ctx) }()
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return metrics, stop
}

func msgs(t *testing.T, q *queue.Queue, stream string) uint64 {
	t.Helper()
	return queuetest.Stored(t, q.JS, stream)
}

func packageBody(installation int64, owner, name string) []byte {
	return fmt.Appendf(nil, `{"action":"published","installation":{"id":%d},"organization":{"login":%q},
		"registry_package":{"name":%q,"package_type":"CONTAINER","owner":{"login":%q,"type":"Organization"}}}`,
		installation, owner, name, owner)
}

func target(name string) webhook.Target {
	return webhook.Target{InstallationID: 1, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: name}
}

// TestProcessedDeliveryNeverRunsTwice processes a delivery, restarts the
// server on the same store, and sends the same delivery id again after
// the stream's own duplicate window: KV deliveries drops it.
func TestProcessedDeliveryNeverRunsTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := queuetest.Config()
	cfg.DuplicateWindow = 500 * time.Millisecond
	rec := &recorder{}
	body := packageBody(1, "acme", "app")

	srv := queuetest.Start(t, dir, cfg)
	_, stop := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2})
	if dup, err := srv.Queue.PublishDelivery(ctx, webhook.EventRegistryPackage, "delivery-1", body); err != nil || dup {
		t.Fatalf("publish: dup=%t err=%v", dup, err)
	}
	testwait.For(t, "the first run", 10*time.Second, func() bool { return rec.count() == 1 })
	stop()
	srv.Stop(t)

	// On purpose: outlive the stream's duplicate window, a span of time
	// with nothing to watch, so only the deliveries bucket can catch it.
	time.Sleep(cfg.DuplicateWindow + 200*time.Millisecond)
	srv = queuetest.Start(t, dir, cfg)
	if dup, err := srv.Queue.PublishDelivery(ctx, webhook.EventRegistryPackage, "delivery-1", body); err != nil || dup {
		t.Fatalf("publish again after the duplicate window: dup=%t err=%v (the stream must not catch it)", dup, err)
	}
	// A different delivery for another package proves the pipeline runs.
	if _, err := srv.Queue.PublishDelivery(ctx, webhook.EventRegistryPackage, "delivery-2", packageBody(1, "acme", "other")); err != nil {
		t.Fatal(err)
	}
	startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2})
	testwait.For(t, "both deliveries routed and the jobs done", 10*time.Second, func() bool {
		return msgs(t, srv.Queue, queue.StreamWebhooks) == 0 && msgs(t, srv.Queue, queue.StreamJobs) == 0 && rec.count() >= 2
	})
	// A wrongly queued job would be run before the workers are idle.
	testwait.For(t, "the router and the workers to be idle", 10*time.Second, func() bool { return queuetest.ConsumersIdle(t, srv.Queue.JS) })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.runs) != 2 || rec.runs[1].job.Target.PackageName != "other" {
		t.Fatalf("runs = %+v, want app once then other once", rec.runs)
	}
}

func TestAlwaysFailingJobIsDeadLettered(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	rec := &recorder{fail: errors.New("registry exploded")}
	metrics, _ := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2, MaxAttempts: 3, Backoff: 20 * time.Millisecond})
	job := Job{Type: TypePrune, Target: target("app"), DeliveryID: "d-1"}
	if err := Publish(ctx, srv.Queue, job); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the dead letter", 10*time.Second, func() bool { return msgs(t, srv.Queue, queue.StreamDeadLetters) == 1 })
	// The job is acknowledged and counted after its dead letter is
	// stored; a fourth run would come before the workers are idle.
	testwait.For(t, "the dead letter counted and the workers idle", 10*time.Second, func() bool {
		return testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultDeadLetter)) >= 1 && queuetest.ConsumersIdle(t, srv.Queue.JS)
	})
	if n := rec.count(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
	if n := msgs(t, srv.Queue, queue.StreamJobs); n != 0 {
		t.Errorf("jobs stream holds %d, want 0 (acknowledged)", n)
	}
	m, err := srv.Queue.DeadLetters.GetLastMsgForSubject(ctx, queue.DeadLettersSubject+"."+TypePrune)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(queue.HeaderAttempts) != "3" || m.Header.Get(queue.HeaderError) != "registry exploded" || m.Header.Get(queue.HeaderDelivery) != "d-1" {
		t.Errorf("dead letter headers = %v", m.Header)
	}
	if got := testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultRetry)); got != 2 {
		t.Errorf("retries counted = %v, want 2", got)
	}
	if got := testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultDeadLetter)); got != 1 {
		t.Errorf("dead letters counted = %v, want 1", got)
	}
}

// TestBusyPackageDoesNotUseAttempts holds a package's lease from outside
// for longer than the job's only attempt would allow to wait: the job waits
// and then runs, and nothing is dead-lettered.
func TestBusyPackageDoesNotUseAttempts(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	job := Job{Type: TypePrune, Target: target("app")}
	other := queue.NewLeases(mustLeasesKV(t, srv.Queue), srv.Queue.Leases.TTL(), "other-process")
	lease, err := other.TryAcquire(ctx, job.LeaseName())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	metrics, _ := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2, MaxAttempts: 1, BusyDelay: 50 * time.Millisecond})
	if err := Publish(ctx, srv.Queue, job); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the job to be found busy several times", 10*time.Second, func() bool {
		return testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultBusy)) >= 3
	})
	if rec.count() != 0 {
		t.Fatal("job ran while the package was leased elsewhere")
	}
	if err := lease.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the job to run", 10*time.Second, func() bool { return rec.count() == 1 })
	if n := msgs(t, srv.Queue, queue.StreamDeadLetters); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}

func mustLeasesKV(t *testing.T, q *queue.Queue) jetstream.KeyValue {
	kv, err := q.JS.KeyValue(context.Background(), queue.BucketLeases)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestBurstCoalesces queues many jobs for one package before any worker
// runs: one pending job remains and runs once.
func TestBurstCoalesces(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	for i := range 20 {
		body := packageBody(1, "acme", "app")
		if _, err := srv.Queue.PublishDelivery(ctx, webhook.EventRegistryPackage, "burst-"+strconv.Itoa(i), body); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	// The router alone first, so every job is queued before a worker runs.
	rctx, cancel := context.WithCancel(ctx)
	go NewRouter(srv.Queue, RouterConfig{}, testLogger(t)).Run(rctx)
	testwait.For(t, "routing", 10*time.Second, func() bool { return msgs(t, srv.Queue, queue.StreamWebhooks) == 0 })
	cancel()
	if n := msgs(t, srv.Queue, queue.StreamJobs); n != 1 {
		t.Fatalf("jobs stream holds %d, want 1 coalesced job", n)
	}
	reg := NewRegistry()
	reg.Register(TypePrune, rec)
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go NewPool(srv.Queue, reg, PoolConfig{Workers: 3}, NewMetrics(prometheus.NewRegistry(), srv.Queue), testLogger(t)).Run(pctx)
	testwait.For(t, "the job", 10*time.Second, func() bool { return rec.count() == 1 })
	rec.mu.Lock()
	last := rec.runs[0].job.DeliveryID
	rec.mu.Unlock()
	if last != "burst-19" {
		t.Errorf("coalesced job carries delivery %s, want the latest, burst-19", last)
	}
}

// TestHeartbeatKeepsLongJob runs a job three times longer than AckWait
// and the lease TTL: heartbeats keep it from being handed to another
// worker. The lease alone would hide a redelivery (the second worker finds
// the package busy and puts the job back), so the test watches JetStream's
// own view while the job runs: the message is never redelivered and stays
// the one pending ack, and no worker ever finds the package busy.
func TestHeartbeatKeepsLongJob(t *testing.T) {
	ctx := context.Background()
	cfg := queuetest.Config()
	cfg.AckWait = time.Second
	cfg.LeaseTTL = time.Second
	srv := queuetest.Start(t, "", cfg)
	rec := &recorder{sleep: 3 * time.Second}
	metrics, _ := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 3, Heartbeat: 250 * time.Millisecond})
	cons, err := srv.Queue.JS.Consumer(ctx, queue.StreamJobs, queue.ConsumerWorkers)
	if err != nil {
		t.Fatal(err)
	}
	consumerInfo := func() *jetstream.ConsumerInfo {
		t.Helper()
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s: %v", queue.ConsumerWorkers, err)
		}
		return info
	}
	if err := Publish(ctx, srv.Queue, Job{Type: TypePrune, Target: target("slow")}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the slow job to be handed out", 10*time.Second, func() bool { return consumerInfo().NumAckPending == 1 })
	watchStart, samples := time.Now(), 0
	for rec.count() == 0 {
		info := consumerInfo()
		if rec.count() != 0 {
			break // acked between the two looks
		}
		samples++
		if info.NumRedelivered != 0 || info.NumAckPending != 1 {
			t.Fatalf("after %d looks while the job runs: consumer has %d redelivered, %d pending ack; want 0 and 1 (the heartbeat did not hold the message)", samples, info.NumRedelivered, info.NumAckPending)
		}
		if busy := testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultBusy)); busy != 0 {
			t.Fatalf("after %d looks while the job runs: %v busy put-backs, want 0 (the job was handed to another worker)", samples, busy)
		}
		if samples > 200 {
			t.Fatal("the slow job did not finish")
		}
		time.Sleep(100 * time.Millisecond) // a sampling watch while the job runs, not a wait
	}
	if watched := time.Since(watchStart); watched < 2*cfg.AckWait {
		t.Fatalf("watched the running job for %s only, want over twice AckWait (%s)", watched, cfg.AckWait)
	}
	// A redelivered copy would be handed out, then run, before the
	// workers are idle.
	testwait.For(t, "the workers to be idle after the slow job", 10*time.Second, func() bool { return queuetest.ConsumersIdle(t, srv.Queue.JS) })
	if n := rec.count(); n != 1 {
		t.Errorf("slow job ran %d times, want 1", n)
	}
	if n := msgs(t, srv.Queue, queue.StreamJobs); n != 0 {
		t.Errorf("jobs stream holds %d after the job, want 0", n)
	}
	if busy := testutil.ToFloat64(metrics.jobs.WithLabelValues(TypePrune, ResultBusy)); busy != 0 {
		t.Errorf("%v busy put-backs, want 0", busy)
	}
}

// TestWorkersNeverOverlapPerPackage runs two pools on one server (as two
// processes would) over 100 jobs for 5 packages, queued while work is
// going on, and checks one package's runs never overlap.
func TestWorkersNeverOverlapPerPackage(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	rec := &recorder{sleep: 30 * time.Millisecond}
	m1, _ := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2, BusyDelay: 20 * time.Millisecond})
	m2, _ := startPipeline(t, srv.Queue, rec, PoolConfig{Workers: 2, BusyDelay: 20 * time.Millisecond})
	lastQueued := map[string]string{}
	for i := range 100 {
		name := "pkg-" + strconv.Itoa(i%5)
		if err := Publish(ctx, srv.Queue, Job{Type: TypePrune, Target: target(name), DeliveryID: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		lastQueued[name] = strconv.Itoa(i)
		time.Sleep(5 * time.Millisecond) // on purpose: queue while the workers run
	}
	testwait.For(t, "all jobs", 20*time.Second, func() bool { return msgs(t, srv.Queue, queue.StreamJobs) == 0 })
	testwait.For(t, "the workers to be idle", 10*time.Second, func() bool { return queuetest.ConsumersIdle(t, srv.Queue.JS) })
	checkNoOverlap(t, rec, lastQueued)
	if n := msgs(t, srv.Queue, queue.StreamDeadLetters); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	busy := testutil.ToFloat64(m1.jobs.WithLabelValues(TypePrune, ResultBusy)) + testutil.ToFloat64(m2.jobs.WithLabelValues(TypePrune, ResultBusy))
	if busy == 0 {
		t.Error("no job ever found its package busy: the test did not exercise the lease")
	}
	t.Logf("%d runs, %v busy put-backs", rec.count(), busy)
}

func checkNoOverlap(t *testing.T, rec *recorder, lastQueued map[string]string) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	byPkg := map[string][]run{}
	for _, r := range rec.runs {
		byPkg[r.job.Target.PackageName] = append(byPkg[r.job.Target.PackageName], r)
	}
	if len(byPkg) != len(lastQueued) {
		t.Fatalf("runs for %d packages, want %d", len(byPkg), len(lastQueued))
	}
	for name, runs := range byPkg {
		for i := range runs {
			for j := i + 1; j < len(runs); j++ {
				a, b := runs[i], runs[j]
				if a.start.Before(b.end) && b.start.Before(a.end) {
					t.Errorf("%s: runs overlap: [%s, %s] and [%s, %s]", name, a.start.Format(time.StampMicro), a.end.Format(time.StampMicro), b.start.Format(time.StampMicro), b.end.Format(time.StampMicro))
				}
			}
		}
		// Coalescing may skip jobs in the middle of a burst, never the
		// last one: nothing newer can replace it.
		ranLast := false
		for _, r := range runs {
			ranLast = ranLast || r.job.DeliveryID == lastQueued[name]
		}
		if !ranLast {
			t.Errorf("%s: its last job (%s) never ran", name, lastQueued[name])
		}
	}
}

// TestRouterDropsOwnBotAndNonTriggers routes deliveries that must not
// become jobs next to one that must.
func TestRouterDropsOwnBotAndNonTriggers(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	deliveries := []struct {
		id, event string
		body      []byte
	}{
		{"own", webhook.EventRegistryPackage, []byte(`{"action":"published","installation":{"id":1},"sender":{"login":"pkgwarden-acme[bot]"},"registry_package":{"name":"own","package_type":"CONTAINER","owner":{"login":"acme"}}}`)},
		{"deleted-action", webhook.EventPackage, []byte(`{"action":"deleted","installation":{"id":1},"package":{"name":"gone","package_type":"npm","owner":{"login":"acme"}}}`)},
		{"incomplete", webhook.EventRegistryPackage, []byte(`{"action":"published","registry_package":{"name":"x"}}`)},
		// namespace is "owner/repo" on GitHub, never the owner: without
		// owner.login there is no job (it went to owner "acme/app" once).
		{"namespace-only", webhook.EventRegistryPackage, []byte(`{"action":"published","installation":{"id":1},"organization":{"login":"acme"},"registry_package":{"name":"app","namespace":"acme/app","package_type":"CONTAINER","owner":{"login":""}}}`)},
		{"push", webhook.EventPush, []byte(`{"ref":"refs/heads/main","installation":{"id":1}}`)},
		{"good", webhook.EventRegistryPackage, packageBody(1, "acme", "app")},
	}
	for _, d := range deliveries {
		if _, err := srv.Queue.PublishDelivery(ctx, d.event, d.id, d.body); err != nil {
			t.Fatal(err)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go NewRouter(srv.Queue, RouterConfig{OwnBotLogin: "pkgwarden-acme[bot]"}, testLogger(t)).Run(rctx)
	testwait.For(t, "routing", 10*time.Second, func() bool { return msgs(t, srv.Queue, queue.StreamWebhooks) == 0 })
	if n := msgs(t, srv.Queue, queue.StreamJobs); n != 1 {
		t.Fatalf("jobs stream holds %d, want only the good delivery's job", n)
	}
	m, err := srv.Queue.Jobs.GetLastMsgForSubject(ctx, queue.JobSubject(TypePrune, target("app").String()))
	if err != nil {
		t.Fatalf("the good delivery's job: %v", err)
	}
	if m.Header.Get(queue.HeaderDelivery) != "good" {
		t.Errorf("job headers = %v", m.Header)
	}
	for _, d := range deliveries {
		if _, err := srv.Queue.Deliveries.Get(ctx, queue.Key(d.id)); err != nil {
			t.Errorf("delivery %s not recorded as processed: %v", d.id, err)
		}
	}
}
