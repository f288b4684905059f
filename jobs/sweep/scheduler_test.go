package sweep_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// schedWorld is the simulator with acme (alice's token, the App
// installed) and bob (the App installed, no packages token), and a real
// NATS server whose connections the schedulers share or not.
type schedWorld struct {
	t      *testing.T
	sim    *ghsim.Sim
	srv    *httptest.Server
	app    *githubapi.App
	tokens *githubapi.PackagesTokens
	nats   *queuetest.Server
	acme   int64
}

func newSchedWorld(t *testing.T) *schedWorld {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	w := &schedWorld{t: t, sim: sim}
	w.srv = httptest.NewServer(sim.APIHandler())
	t.Cleanup(w.srv.Close)
	sim.SetURLs(w.srv.URL+"/", w.srv.URL)
	for _, u := range []string{"alice", "bob"} {
		if _, err := sim.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.AddOrg("acme", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddRepo("acme", "app", ghsim.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	token, err := sim.AddClassicToken("alice", "read:packages", "write:packages", "delete:packages", "repo")
	if err != nil {
		t.Fatal(err)
	}
	if w.acme, err = sim.AddInstallation("acme", map[string]string{"metadata": "read"}); err != nil {
		t.Fatal(err)
	}
	if _, err = sim.AddInstallation("bob", map[string]string{"metadata": "read"}); err != nil {
		t.Fatal(err)
	}
	if w.tokens, err = githubapi.ParsePackagesTokens("acme="+token, ""); err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	if w.app, err = githubapi.NewApp(githubapi.AppConfig{AppID: sim.AppID(), PrivateKey: keyPEM, BaseURL: w.srv.URL}); err != nil {
		t.Fatal(err)
	}
	w.nats = queuetest.Start(t, "", queuetest.Config())
	return w
}

// conn opens a separate NATS connection with its own queue handle, as
// another replica would have.
func (w *schedWorld) conn(holder string) *queue.Queue {
	w.t.Helper()
	nc, err := w.nats.Embedded.Connect()
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := queue.Setup(ctx, nc, queuetest.Config(), holder)
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

// schedRunner is one running scheduler.
type schedRunner struct {
	holder string
	q      *queue.Queue
	s      *sweep.Scheduler
	cancel context.CancelFunc
	done   chan struct{}
}

func (w *schedWorld) start(holder string, q *queue.Queue, cfg sweep.Config) *schedRunner {
	w.t.Helper()
	cfg.Holder = holder
	// Each runner its own Access, as each replica builds its own; a
	// test's cfg.Access gives only the clock.
	access := &planner.Access{App: w.app, Tokens: w.tokens, APIURL: w.srv.URL}
	if cfg.Access != nil {
		access.Now = cfg.Access.Now
	}
	cfg.Access = access
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sweep.Open(ctx, q, cfg)
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	r := &schedRunner{holder: holder, q: q, s: s, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); s.Run(ctx) }()
	w.t.Cleanup(r.stop)
	return r
}

// stop shuts the scheduler down cleanly (the lease is released).
func (r *schedRunner) stop() {
	r.cancel()
	<-r.done
}

// crash makes the scheduler vanish as a killed process would: its
// connection closes first, so it can neither refresh nor release.
func (r *schedRunner) crash() {
	r.q.NC.Close()
	r.stop()
}

// staticInventory is an inventory that has seen a fixed list of packages.
type staticInventory map[int64][]webhook.Target

func (s staticInventory) PackagesSeen(_ context.Context, installationID int64) ([]webhook.Target, error) {
	return s[installationID], nil
}

// jobRecorder collects every job published, with when it arrived.
type jobRecorder struct {
	mu   sync.Mutex
	jobs []recordedJob
}

type recordedJob struct {
	job jobs.Job
	at  time.Time
}

func recordJobs(t *testing.T, q *queue.Queue) *jobRecorder {
	t.Helper()
	rec := &jobRecorder{}
	sub, err := q.NC.Subscribe(queue.JobsSubject+".>", func(m *nats.Msg) {
		var j jobs.Job
		if err := json.Unmarshal(m.Data, &j); err != nil {
			t.Errorf("undecodable job on %s: %v", m.Subject, err)
			return
		}
		rec.mu.Lock()
		rec.jobs = append(rec.jobs, recordedJob{job: j, at: time.Now()})
		rec.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return rec
}

func (r *jobRecorder) all() []recordedJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedJob(nil), r.jobs...)
}

func sweepState(t *testing.T, q *queue.Queue) sweep.State {
	t.Helper()
	ctx := context.Background()
	kv, err := q.JS.KeyValue(ctx, sweep.BucketSchedulerState)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return sweep.State{}
	}
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := sweep.LoadState(ctx, kv)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSchedulerSweep(t *testing.T) {
	cases := map[string]struct {
		// crashAfter crashes the first leader once it queued that many
		// packages; a second scheduler must continue the sweep.
		crashAfter int
	}{
		"one leader":            {},
		"leader crashes midway": {crashAfter: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newSchedWorld(t)
			for _, p := range []struct{ typ, name string }{
				{"npm", "web"}, {"npm", "cli"}, {"maven", "core"}, {"rubygems", "gem"}, {"nuget", "lib"},
			} {
				if _, err := w.sim.Publish("acme", p.typ, p.name, "1.0.0", ghsim.PublishOptions{Repository: "app"}); err != nil {
					t.Fatal(err)
				}
			}
			// bob has a package but no packages token: skipped.
			if _, err := w.sim.Publish("bob", "npm", "private", "1.0.0", ghsim.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			gone := webhook.Target{InstallationID: w.acme, Owner: "acme", OwnerType: "Organization", PackageType: "npm", PackageName: "deleted"}
			// A package the inventory saw that is still active must not
			// get a second restore job.
			web := webhook.Target{InstallationID: w.acme, Owner: "acme", OwnerType: "Organization", PackageType: "npm", PackageName: "web", Repository: "acme/app"}
			inv := staticInventory{w.acme: {gone, web}}

			observer := w.conn("observer")
			rec := recordJobs(t, observer)
			const interval = 1500 * time.Millisecond
			cfg := sweep.Config{LeaseTTL: 600 * time.Millisecond, Interval: interval, Inventory: inv}
			r1 := w.start("s1", w.conn("s1"), cfg)
			if tc.crashAfter > 0 {
				testwait.For(t, "progress", 10*time.Second, func() bool { return sweepState(t, observer).Queued >= tc.crashAfter })
				r1.crash()
				w.start("s2", w.conn("s2"), cfg)
			}
			var st sweep.State
			testwait.For(t, "a completed sweep", 20*time.Second, func() bool {
				st = sweepState(t, observer)
				return !st.LastCompleted.IsZero()
			})
			// Jobs of the next sweep, if it began, are queued after this
			// one completed.
			var got []recordedJob
			for _, j := range rec.all() {
				if !j.job.QueuedAt.After(st.LastCompleted) {
					got = append(got, j)
				}
			}

			type key struct{ typ, target string }
			count := map[key]int{}
			for _, j := range got {
				if j.job.Reason != sweep.JobReason {
					t.Errorf("job %s %s has reason %q, want %q", j.job.Type, j.job.Target, j.job.Reason, sweep.JobReason)
				}
				count[key{j.job.Type, j.job.Target.String()}]++
				// Spread: no job before its package's point in the interval.
				if due := st.LastStarted.Add(sweep.Offset(j.job.Target, interval)); j.at.Before(due.Add(-5 * time.Millisecond)) {
					t.Errorf("%s job for %s queued at %s, before its offset %s", j.job.Type, j.job.Target, j.at, due)
				}
			}
			want := map[key]int{}
			for _, p := range []struct{ typ, name string }{
				{"npm", "web"}, {"npm", "cli"}, {"maven", "core"}, {"rubygems", "gem"}, {"nuget", "lib"},
			} {
				tg := webhook.Target{InstallationID: w.acme, Owner: "acme", PackageType: p.typ, PackageName: p.name}
				want[key{jobs.TypePrune, tg.String()}] = 1
				want[key{jobs.TypeRestore, tg.String()}] = 1
			}
			want[key{jobs.TypeRestore, gone.String()}] = 1
			// A leader killed between queueing a package's jobs and saving
			// its progress leaves that package to its successor, which
			// queues it again: at least once, never lost. Only the package
			// in flight at the crash may be queued twice (the jobs stream
			// coalesces them if the first is still waiting).
			twice := 0
			for k, n := range want {
				switch {
				case count[k] == n:
				case tc.crashAfter > 0 && count[k] == n+1:
					twice++
				default:
					t.Errorf("%s jobs for %s: %d, want %d", k.typ, k.target, count[k], n)
				}
			}
			if twice > 2 { // its prune and its restore job
				t.Errorf("%d jobs queued twice after the crash, want at most the 2 of the package in flight", twice)
			}
			for k, n := range count {
				if want[k] == 0 {
					t.Errorf("unexpected %d %s job(s) for %s", n, k.typ, k.target)
				}
			}
			if st.LastQueued != 6 {
				t.Errorf("sweep state counts %d packages queued, want 6", st.LastQueued)
			}
			// Offsets differ, so the jobs are spread rather than bunched.
			offsets := map[time.Duration]bool{}
			for _, j := range got {
				offsets[sweep.Offset(j.job.Target, interval)] = true
			}
			if len(offsets) != 6 {
				t.Errorf("%d distinct offsets among 6 packages", len(offsets))
			}
			// The next sweep starts an interval after this one, not at
			// once after a change of leader.
			if st.InProgress && st.Started.Before(st.LastStarted.Add(interval)) {
				t.Errorf("sweep started at %s, less than %s after the last at %s", st.Started, interval, st.LastStarted)
			}
		})
	}
}

func TestSchedulerSweepNow(t *testing.T) {
	w := newSchedWorld(t)
	for _, name := range []string{"web", "cli"} {
		if _, err := w.sim.Publish("acme", "npm", name, "1.0.0", ghsim.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	q := w.conn("demo")
	rec := recordJobs(t, q)
	ctx := context.Background()
	s, err := sweep.Open(ctx, q, sweep.Config{Holder: "demo", Interval: time.Hour,
		Access: &planner.Access{App: w.app, Tokens: w.tokens, APIURL: w.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("SweepNow queued %d jobs, want a prune and a restore for each of 2 packages", n)
	}
	testwait.For(t, "the jobs", 5*time.Second, func() bool { return len(rec.all()) == n })
	seen := map[string]bool{}
	for _, j := range rec.all() {
		seen[j.job.Type+" "+j.job.Target.PackageName] = true
	}
	for _, want := range []string{"prune web", "restore web", "prune cli", "restore cli"} {
		if !seen[want] {
			t.Errorf("no %s job among %v", want, seen)
		}
	}
	if st := sweepState(t, q); !st.Started.IsZero() {
		t.Errorf("SweepNow changed the sweep's progress: %+v", st)
	}
}

// hookReceiver answers the simulator's webhooks: 500 on the first
// attempt of each delivery whose package name is in fail (or on every
// attempt if failAlways), 200 otherwise, publishing what it accepts into
// the queue as the intake would.
type hookReceiver struct {
	t          *testing.T
	q          *queue.Queue
	fail       map[string]bool
	failAlways map[string]bool

	mu        sync.Mutex
	attempts  map[string]int // by guid
	published map[string]int // by package: deliveries queued, repeats excluded
	pkg       map[string]string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RegistryPackage struct {
			Name string `json:"name"`
		} `json:"registry_package"`
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	}
	raw := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		raw = append(raw, buf[:n]...)
		if err != nil {
			break
		}
	}
	_ = json.Unmarshal(raw, &body)
	name := body.RegistryPackage.Name + body.Package.Name
	guid := r.Header.Get("X-GitHub-Delivery")
	event := r.Header.Get("X-GitHub-Event")
	h.mu.Lock()
	h.attempts[guid]++
	n := h.attempts[guid]
	h.pkg[guid] = name
	h.mu.Unlock()
	if h.failAlways[name] || (h.fail[name] && n == 1) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	dup, err := h.q.PublishDelivery(r.Context(), event, guid, raw)
	if err != nil {
		h.t.Errorf("publish delivery %s: %v", guid, err)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if !dup {
		h.mu.Lock()
		h.published[name]++
		h.mu.Unlock()
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *hookReceiver) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for g, n := range h.attempts {
		out[h.pkg[g]] += n
	}
	return out
}

func (h *hookReceiver) publishedCounts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for n, c := range h.published {
		out[n] = c
	}
	return out
}

func (h *hookReceiver) guidOf(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for g, p := range h.pkg {
		if p == name {
			return g
		}
	}
	return ""
}

func TestSchedulerRedeliversFailedWebhooks(t *testing.T) {
	w := newSchedWorld(t)
	q := w.conn("s1")
	recv := &hookReceiver{
		t: t, q: q,
		fail:       map[string]bool{"flaky": true},
		failAlways: map[string]bool{"broken": true},
		attempts:   map[string]int{}, pkg: map[string]string{}, published: map[string]int{},
	}
	hooks := httptest.NewServer(recv)
	t.Cleanup(hooks.Close)
	w.sim.SetWebhookURL(hooks.URL)
	w.sim.SetQuiet(false)
	for _, name := range []string{"fine", "flaky", "broken"} {
		if _, err := w.sim.Publish("acme", "npm", name, "1.0.0", ghsim.PublishOptions{Repository: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	router := jobs.NewRouter(q, jobs.RouterConfig{}, nil)
	routerCtx, stopRouter := context.WithCancel(ctx)
	routed := make(chan struct{})
	go func() { defer close(routed); _ = router.Run(routerCtx) }()

	r := w.start("s1", q, sweep.Config{LeaseTTL: 2 * time.Second, Interval: 500 * time.Millisecond})
	testwait.For(t, "a completed sweep", 10*time.Second, func() bool { return !sweepState(t, q).LastCompleted.IsZero() })
	if err := w.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	// A second pass, by the same leader, finds nothing left to send:
	// flaky succeeded on redelivery, broken was redelivered already.
	stats, err := r.s.RedeliverFailed(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Redelivered) != 0 || stats.AlreadyRedelivered != 1 {
		t.Errorf("second pass: %+v, want nothing redelivered and broken already redelivered", stats)
	}
	if err := w.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"fine": 1, "flaky": 2, "broken": 2}
	if got := recv.counts(); len(got) != len(want) || got["fine"] != want["fine"] || got["flaky"] != want["flaky"] || got["broken"] != want["broken"] {
		t.Errorf("attempts per package %v, want %v", got, want)
	}
	redeliveries := 0
	for _, d := range w.sim.Deliveries() {
		if d.Redelivery {
			redeliveries++
		}
	}
	if redeliveries != 2 {
		t.Errorf("simulator log holds %d redeliveries, want 2 (flaky and broken, once each)", redeliveries)
	}
	// The router processed each accepted delivery once: the flaky one
	// is recorded, and its webhook became one prune job.
	testwait.For(t, "the router", 10*time.Second, func() bool {
		_, err := q.Deliveries.Get(ctx, queue.Key(recv.guidOf("flaky")))
		return err == nil
	})
	for _, name := range []string{"fine", "flaky"} {
		if _, err := q.Deliveries.Get(ctx, queue.Key(recv.guidOf(name))); err != nil {
			t.Errorf("delivery of %s not recorded as processed: %v", name, err)
		}
	}
	if _, err := q.Deliveries.Get(ctx, queue.Key(recv.guidOf("broken"))); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("delivery of broken, never accepted, is recorded as processed: %v", err)
	}
	stopRouter()
	<-routed
	if got := recv.publishedCounts(); len(got) != 2 || got["fine"] != 1 || got["flaky"] != 1 {
		t.Errorf("deliveries queued per package %v, want fine and flaky once each", got)
	}
}
