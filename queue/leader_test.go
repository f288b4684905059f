package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// The buckets of the elections under test, as sweep.Scheduler makes its
// own: the lease with the lease TTL, the state without.
const (
	bucketElection      = "election"
	bucketElectionState = "election_state"
)

// electionWorld is a real NATS server with the two buckets of an
// election, whose connections the electors share or not.
type electionWorld struct {
	t    *testing.T
	nats *queuetest.Server
	ttl  time.Duration
}

func newElectionWorld(t *testing.T, ttl time.Duration) *electionWorld {
	t.Helper()
	w := &electionWorld{t: t, nats: queuetest.Start(t, "", queuetest.Config()), ttl: ttl}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cfg := range []jetstream.KeyValueConfig{
		{Bucket: bucketElection, TTL: ttl, Storage: jetstream.FileStorage, Replicas: 1},
		{Bucket: bucketElectionState, Storage: jetstream.FileStorage, Replicas: 1},
	} {
		if _, err := w.nats.Queue.JS.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			t.Fatalf("kv %s: %v", cfg.Bucket, err)
		}
	}
	return w
}

// conn opens a separate NATS connection, as another replica would have.
func (w *electionWorld) conn() (*nats.Conn, jetstream.JetStream) {
	w.t.Helper()
	nc, err := w.nats.Embedded.Connect()
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		w.t.Fatal(err)
	}
	return nc, js
}

// electorRunner is one replica's elector, running; it leads by waiting
// for its leadership to end.
type electorRunner struct {
	holder string
	nc     *nats.Conn
	js     jetstream.JetStream
	el     *queue.Elector
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs an elector for holder on a connection of its own, with now as
// its clock.
func (w *electionWorld) start(holder string, now func() time.Time) *electorRunner {
	w.t.Helper()
	nc, js := w.conn()
	ctx, cancel := context.WithCancel(context.Background())
	lease, err := js.KeyValue(ctx, bucketElection)
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	state, err := js.KeyValue(ctx, bucketElectionState)
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	r := &electorRunner{holder: holder, nc: nc, js: js, cancel: cancel, done: make(chan struct{}),
		el: queue.NewElector(lease, state, holder, w.ttl, now, slog.New(slog.DiscardHandler))}
	go func() {
		defer close(r.done)
		r.el.Run(ctx, func(ctx context.Context) { <-ctx.Done() })
	}()
	w.t.Cleanup(r.stop)
	return r
}

// stop shuts the elector down cleanly (the lease is released).
func (r *electorRunner) stop() {
	r.cancel()
	<-r.done
}

// crash makes the elector vanish as a killed process would: its
// connection closes first, so it can neither refresh nor release.
func (r *electorRunner) crash() {
	r.nc.Close()
	r.stop()
}

func TestLeaderElection(t *testing.T) {
	const ttl = time.Second
	w := newElectionWorld(t, ttl)
	runners := []*electorRunner{}
	for _, h := range []string{"s1", "s2", "s3"} {
		runners = append(runners, w.start(h, time.Now))
	}

	// Sample who passes Check all along: never more than one.
	var (
		mu       sync.Mutex
		maxValid int
		samples  int
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n := 0
			for _, r := range runners {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				if r.el.Check(ctx) == nil {
					n++
				}
				cancel()
			}
			mu.Lock()
			maxValid, samples = max(maxValid, n), samples+1
			mu.Unlock()
		}
	}()

	leaders := func() []*electorRunner {
		var out []*electorRunner
		for _, r := range runners {
			if r.el.Leading() {
				out = append(out, r)
			}
		}
		return out
	}
	testwait.For(t, "a leader", 5*time.Second, func() bool { return len(leaders()) == 1 })
	first := leaders()[0]

	first.crash()
	crashed := time.Now()
	var second *electorRunner
	testwait.For(t, "a new leader", 10*ttl, func() bool {
		for _, r := range leaders() {
			if r != first {
				second = r
				return true
			}
		}
		return false
	})
	// The lease outlives its dead holder by at most the TTL, and the
	// others ask every TTL/3; the slack is for a loaded machine.
	if took := time.Since(crashed); took > 3*ttl {
		t.Errorf("takeover took %s, want within TTL %s plus a campaign period", took, ttl)
	}
	// Let the new leader refresh a few times (it refreshes every TTL/3,
	// and records each refresh), with the sampler looking on, then stop
	// everyone cleanly.
	mu.Lock()
	samplesAtTakeover := samples
	mu.Unlock()
	_, watcher := w.conn()
	testwait.For(t, "the new leader to record a TTL of refreshes, sampled", 10*ttl, func() bool {
		mu.Lock()
		sampledSince := samples - samplesAtTakeover
		mu.Unlock()
		if sampledSince < 10 {
			return false
		}
		kv, err := watcher.KeyValue(context.Background(), bucketElectionState)
		if err != nil {
			t.Fatal(err)
		}
		periods, err := queue.LeadershipPeriods(context.Background(), kv)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range periods {
			if p.Holder == second.holder && p.LastRefresh.Sub(p.Start) >= ttl {
				return true
			}
		}
		return false
	})
	close(stopSampling)
	<-sampled
	for _, r := range runners {
		r.stop()
	}

	mu.Lock()
	if maxValid > 1 || samples < 10 {
		t.Errorf("%d processes passed the leader check at once (over %d samples), want at most 1", maxValid, samples)
	}
	mu.Unlock()

	ctx := context.Background()
	_, state := w.conn()
	kv, err := state.KeyValue(ctx, bucketElectionState)
	if err != nil {
		t.Fatal(err)
	}
	periods, err := queue.LeadershipPeriods(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	if len(periods) < 2 {
		t.Fatalf("recorded %d leadership periods, want at least the crashed one and its successor: %+v", len(periods), periods)
	}
	if periods[0].Holder != first.holder || !periods[0].End.IsZero() || !periods[0].ActUntil.After(periods[0].LastRefresh) {
		t.Errorf("first period %+v, want %s's, ended by a crash (no release time, acting until after its last refresh)", periods[0], first.holder)
	}
	if periods[1].Holder != second.holder || periods[1].End.IsZero() {
		t.Errorf("second period %+v, want %s's, released on shutdown", periods[1], second.holder)
	}
	for i := 1; i < len(periods); i++ {
		prev, next := periods[i-1], periods[i]
		if next.Start.Before(prev.Until()) {
			t.Errorf("leadership periods overlap: %s held until %s, %s started at %s", prev.Holder, prev.Until(), next.Holder, next.Start)
		}
		if next.Term <= prev.Term {
			t.Errorf("terms not increasing: %d then %d", prev.Term, next.Term)
		}
	}
}

func TestLeaderNoticesLostLease(t *testing.T) {
	cases := map[string]struct {
		// lose makes the leader lose its lease without its knowing.
		lose func(t *testing.T, kv jetstream.KeyValue, skew *atomic.Int64)
	}{
		"lease taken by another": {lose: func(t *testing.T, kv jetstream.KeyValue, _ *atomic.Int64) {
			ctx := context.Background()
			if err := kv.Purge(ctx, "leader"); err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Create(ctx, "leader", []byte(`{"holder":"usurper"}`)); err != nil {
				t.Fatal(err)
			}
		}},
		// A pause longer than the TTL: the process's clock jumps past it
		// before its refresh loop could run again.
		"paused past the TTL": {lose: func(_ *testing.T, _ jetstream.KeyValue, skew *atomic.Int64) {
			skew.Store(int64(time.Minute))
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newElectionWorld(t, 30*time.Second)
			var skew atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			r := w.start("s1", now)
			testwait.For(t, "leadership", 5*time.Second, r.el.Leading)
			ctx := context.Background()
			if err := r.el.Check(ctx); err != nil {
				t.Fatalf("leader's check: %v", err)
			}
			kv, err := r.js.KeyValue(ctx, bucketElection)
			if err != nil {
				t.Fatal(err)
			}
			tc.lose(t, kv, &skew)
			if !r.el.Leading() {
				t.Fatal("the leader learnt of the loss before checking; the case tests nothing")
			}
			if err := r.el.Check(ctx); !errors.Is(err, queue.ErrNotLeader) {
				t.Errorf("check after losing the lease: %v, want ErrNotLeader", err)
			}
		})
	}
}
