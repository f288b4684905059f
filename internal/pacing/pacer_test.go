package pacing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/queue"
)

// world is a simulator over real HTTP with one organisation acme, its
// admin's packages token, and one npm package "big" of many versions; and
// an embedded NATS server listening on a random port.
type world struct {
	sim   *ghsim.Sim
	api   *httptest.Server
	token string
	ids   []int64 // every version but the newest (the last cannot go)
	nats  string  // client URL
}

func newWorld(t testing.TB, limits ghsim.RateLimits, versions int) *world {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{RateLimits: limits})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim.APIHandler())
	t.Cleanup(func() { api.Close(); sim.Close() })
	sim.SetURLs(api.URL, api.URL)
	sim.SetQuiet(true)
	if _, err := sim.AddUser("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddOrg("acme", "alice"); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.AddClassicToken("alice", "read:packages", "write:packages", "delete:packages")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{sim: sim, api: api, token: tok}
	for i := range versions + 1 {
		id, err := sim.Publish("acme", "npm", "big", fmt.Sprintf("1.0.%d", i), ghsim.PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i < versions {
			w.ids = append(w.ids, id)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	emb, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Shutdown() })
	w.nats = emb.ClientURL()
	return w
}

// replica is one process's view: its own NATS connection and Pacer.
func (w *world) replica(t testing.TB, cfg pacing.Config, opts ...pacing.Option) *pacing.Pacer {
	t.Helper()
	p, _ := w.replicaKV(t, cfg, opts...)
	return p
}

func (w *world) replicaKV(t testing.TB, cfg pacing.Config, opts ...pacing.Option) (*pacing.Pacer, jetstream.KeyValue) {
	t.Helper()
	nc, err := nats.Connect(w.nats)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := pacing.CreateBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pacing.New(kv, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, kv
}

// client is the chain the prune job uses: githubapi's retrying Transport
// over the Pacer.
func client(p *pacing.Pacer) *http.Client {
	return &http.Client{Transport: githubapi.NewTransport(p.Wrap(nil), githubapi.RetryPolicy{BaseDelay: 10 * time.Millisecond}, nil)}
}

// clientAround is the other order: the Pacer around the retrying Transport.
func clientAround(p *pacing.Pacer) *http.Client {
	return &http.Client{Transport: p.Wrap(githubapi.NewTransport(nil, githubapi.RetryPolicy{BaseDelay: 10 * time.Millisecond}, nil))}
}

// do sends one request with the world's token and returns the status.
func (w *world) do(ctx context.Context, c *http.Client, method, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, w.api.URL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// deleteAll deletes every version of w.ids through the pacers, workers
// goroutines per pacer, and fails the test on any answer but 204.
func (w *world) deleteAll(t testing.TB, pacers []*pacing.Pacer, workers int) time.Duration {
	return w.deleteAllWith(t, pacers, workers, client)
}

func (w *world) deleteAllWith(t testing.TB, pacers []*pacing.Pacer, workers int, client func(*pacing.Pacer) *http.Client) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return w.deleteEach(ctx, t, pacers, workers, client, func() {})
}

// deleteEach is deleteAllWith within ctx, calling deleted (from the worker's
// goroutine) after each deletion, whatever its answer; it returns how long
// the deletions took.
func (w *world) deleteEach(ctx context.Context, t testing.TB, pacers []*pacing.Pacer, workers int, client func(*pacing.Pacer) *http.Client, deleted func()) time.Duration {
	t.Helper()
	ids := make(chan int64, len(w.ids))
	for _, id := range w.ids {
		ids <- id
	}
	close(ids)
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range pacers {
		c := client(p)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range ids {
					code, err := w.do(ctx, c, http.MethodDelete, fmt.Sprintf("/orgs/acme/packages/npm/big/versions/%d", id))
					if err != nil || code != http.StatusNoContent {
						t.Errorf("delete %d: %d %v", id, code, err)
					}
					deleted()
				}
			}()
		}
	}
	wg.Wait()
	return time.Since(start)
}

// remaining counts the package's active versions.
func (w *world) remaining(t testing.TB) int {
	t.Helper()
	vs, err := w.sim.Versions("acme", "npm", "big")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if !v.Deleted {
			n++
		}
	}
	return n
}

// TestTwoReplicasStayUnderTheSecondaryLimit is scenario (a): two replicas
// with a budget just under the simulator's secondary limit get no 403/429.
func TestTwoReplicasStayUnderTheSecondaryLimit(t *testing.T) {
	// 60 points per 2 s at the simulator: 12 deletions. The pacers share
	// 45 points and 9 deletions per 2 s, so at most 50 points go in any
	// 2 s (budget plus one deletion of burst), 10 points of slack for
	// scheduling jitter.
	w := newWorld(t, ghsim.RateLimits{SecondaryPoints: 60, SecondaryWindow: 2 * time.Second}, 30)
	cfg := pacing.Config{Window: 2 * time.Second, Points: 45, Burst: 5, Mutating: 9}
	pacers := []*pacing.Pacer{w.replica(t, cfg), w.replica(t, cfg)}
	took := w.deleteAll(t, pacers, 3)

	st := w.sim.RequestStats()[w.token]
	t.Logf("30 deletions in %s; simulator: %+v", took, st)
	if st.Limited() != 0 {
		t.Errorf("%d rate-limit answers: %+v", st.Limited(), st)
	}
	if st.Requests[http.MethodDelete] != 30 {
		t.Errorf("%d DELETEs reached the simulator, want 30", st.Requests[http.MethodDelete])
	}
	if n := w.remaining(t); n != 1 {
		t.Errorf("%d versions left, want 1", n)
	}
	// 30 deletions at 9 per 2 s take at least 29 intervals of 222 ms.
	if took < 6*time.Second {
		t.Errorf("30 deletions in %s: faster than the budget", took)
	}
	for i, p := range pacers {
		if s := p.Stats(); s.RateLimited != 0 {
			t.Errorf("replica %d saw rate limits: %+v", i, s)
		}
	}
}

// TestRecoversFromRateLimits is scenario (b): a budget above the
// simulator's limit meets 403 or 429 with Retry-After, waits, and finishes.
func TestRecoversFromRateLimits(t *testing.T) {
	tests := map[string]struct {
		status       int
		noRetryAfter bool
	}{
		"403": {status: http.StatusForbidden},
		"429": {status: http.StatusTooManyRequests},
		// GitHub may send a secondary limit as a bare 403: only its
		// message tells it from a refusal, and no time is named.
		"403 without Retry-After": {status: http.StatusForbidden, noRetryAfter: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ghsim.RateLimits{SecondaryPoints: 30, SecondaryWindow: time.Second, SecondaryStatus: tc.status,
				SecondaryWithoutRetryAfter: tc.noRetryAfter}, 20)
			cfg := pacing.Config{Window: time.Second, Points: 1000, Burst: 100, Mutating: 200, MutatingBurst: 20,
				UnnamedWait: 1500 * time.Millisecond}
			obs := &countingObserver{codes: map[int]int{}}
			pacers := []*pacing.Pacer{w.replica(t, cfg, pacing.WithObserver(obs)), w.replica(t, cfg, pacing.WithObserver(obs))}
			w.deleteAllWith(t, pacers, 3, func(p *pacing.Pacer) *http.Client {
				return &http.Client{Transport: githubapi.NewTransport(p.Wrap(nil), githubapi.RetryPolicy{}, obs)}
			})

			st := w.sim.RequestStats()[w.token]
			if st.SecondaryLimited == 0 {
				t.Fatalf("the simulator sent no rate limit; the test proves nothing: %+v", st)
			}
			if n := w.remaining(t); n != 1 {
				t.Errorf("%d versions left, want 1", n)
			}
			t.Logf("simulator: %+v", st)
			var limited, retries int64
			for _, p := range pacers {
				s := p.Stats()
				t.Logf("pacer: %+v", s)
				limited += s.RateLimited
				retries += s.Retries
			}
			if limited != int64(st.SecondaryLimited) || retries != limited {
				t.Errorf("pacers saw %d rate limits and retried %d; the simulator sent %d", limited, retries, st.SecondaryLimited)
			}
			// The observer saw every request GitHub saw, retried ones included.
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if obs.codes[tc.status] != st.SecondaryLimited || obs.codes[http.StatusNoContent] != 20 {
				t.Errorf("observed %v, the simulator sent %d rate limits and 20 deletions", obs.codes, st.SecondaryLimited)
			}
		})
	}
}

// TestMutatingSlotsAcrossReplicas is scenario (c): never more than
// MaxMutatingInFlight deletions in flight at the simulator, whatever the
// number of replicas and workers.
func TestMutatingSlotsAcrossReplicas(t *testing.T) {
	tests := map[string]struct {
		client func(*pacing.Pacer) *http.Client
	}{
		"pacer under the retrying transport":  {client},
		"pacer around the retrying transport": {clientAround},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ghsim.RateLimits{SecondaryPoints: -1, Latency: 50 * time.Millisecond}, 30)
			cfg := pacing.Config{Window: time.Second, Points: 10000, Burst: 1000, Mutating: 10000, MutatingBurst: 100, MaxMutatingInFlight: 3, PollInterval: 10 * time.Millisecond}
			pacers := []*pacing.Pacer{w.replica(t, cfg), w.replica(t, cfg)}
			w.deleteAllWith(t, pacers, 5, tc.client)
			st := w.sim.RequestStats()[w.token]
			t.Logf("simulator: %+v; pacers %+v %+v", st, pacers[0].Stats(), pacers[1].Stats())
			if st.MaxInFlightMutating > 3 || st.MaxInFlightMutating < 2 {
				t.Errorf("%d deletions in flight at once, want 2 or 3 (cap 3, 10 workers)", st.MaxInFlightMutating)
			}
			if n := w.remaining(t); n != 1 {
				t.Errorf("%d versions left, want 1", n)
			}
		})
	}
}

// TestDeadHolderLeaseExpires: a slot held by a replica that died frees up
// when its lease expires.
func TestDeadHolderLeaseExpires(t *testing.T) {
	w := newWorld(t, ghsim.RateLimits{}, 3)
	p, kv := w.replicaKV(t, pacing.Config{MaxMutatingInFlight: 1, PollInterval: 10 * time.Millisecond})
	// What a replica that died mid-request leaves: the only slot, held
	// until its lease runs out.
	until := time.Now().Add(700 * time.Millisecond)
	dead := fmt.Sprintf(`{"holders":[{"id":"dead","until":%d}]}`, until.UnixNano())
	if _, err := kv.Put(context.Background(), pacing.TokenKey(w.token), []byte(dead)); err != nil {
		t.Fatal(err)
	}
	code, err := w.do(context.Background(), client(p), http.MethodDelete, fmt.Sprintf("/orgs/acme/packages/npm/big/versions/%d", w.ids[0]))
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("delete: %d %v", code, err)
	}
	if now := time.Now(); now.Before(until) {
		t.Errorf("deleted %s before the dead holder's lease expired", until.Sub(now))
	}
	if s := p.Stats(); s.SlotWaits == 0 {
		t.Errorf("no slot wait: %+v", s)
	}
}

// TestPrimaryLimitWaitsForReset is scenario (d): with the primary limit
// nearly spent, every replica waits for X-RateLimit-Reset instead of
// meeting a 403.
func TestPrimaryLimitWaitsForReset(t *testing.T) {
	w := newWorld(t, ghsim.RateLimits{PrimaryLimit: 10, PrimaryWindow: time.Second}, 1)
	// Two workers, one per replica: a reserve of 3 covers the requests in
	// flight when the first answer shows it.
	cfg := pacing.Config{PrimaryReserve: 3}
	pacers := []*pacing.Pacer{w.replica(t, cfg), w.replica(t, cfg)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range pacers {
		c := client(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 9 {
				code, err := w.do(ctx, c, http.MethodGet, "/orgs/acme/packages/npm/big/versions")
				if err != nil || code != http.StatusOK {
					t.Errorf("list: %d %v", code, err)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	st := w.sim.RequestStats()[w.token]
	if st.Limited() != 0 || st.Requests[http.MethodGet] != 18 {
		t.Errorf("stats %+v", st)
	}
	var pauses int64
	for _, p := range pacers {
		pauses += p.Stats().PauseWaits
	}
	t.Logf("18 listings in %s, %d pause waits; simulator: %+v", took, pauses, st)
	// 18 requests at 7 per window: at least two resets waited for.
	if pauses == 0 || took < 2*time.Second {
		t.Errorf("18 requests in %s with %d pause waits: the reset was not waited for", took, pauses)
	}
}

// TestCancelWhileWaiting: a request waiting for its budget returns when its
// context ends.
func TestCancelWhileWaiting(t *testing.T) {
	w := newWorld(t, ghsim.RateLimits{}, 3)
	p := w.replica(t, pacing.Config{Window: time.Hour, Points: 5, Burst: 5, Mutating: 1})
	c := client(p)
	if code, err := w.do(context.Background(), c, http.MethodDelete, fmt.Sprintf("/orgs/acme/packages/npm/big/versions/%d", w.ids[0])); err != nil || code != http.StatusNoContent {
		t.Fatalf("first delete: %d %v", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := w.do(ctx, c, http.MethodDelete, fmt.Sprintf("/orgs/acme/packages/npm/big/versions/%d", w.ids[1]))
	if err == nil || time.Since(begin) > 5*time.Second {
		t.Fatalf("second delete within an hour's budget of one: err %v after %s", err, time.Since(begin))
	}
	if st := w.sim.RequestStats()[w.token]; st.Requests[http.MethodDelete] != 1 {
		t.Errorf("%d deletes reached the simulator", st.Requests[http.MethodDelete])
	}
}

// countingObserver counts requests by status, as the metrics would.
type countingObserver struct {
	mu    sync.Mutex
	codes map[int]int
}

func (o *countingObserver) ObserveRequest(method string, code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code]++
}

func (o *countingObserver) ObserveRateRemaining(int) {}

// TestPackagesClientIsPaced: githubapi's packages client (go-github sets
// the token above the transports) is paced by its token, and the bucket
// holds the token's hash, never the token.
func TestPackagesClientIsPaced(t *testing.T) {
	w := newWorld(t, ghsim.RateLimits{}, 3)
	p, kv := w.replicaKV(t, pacing.Config{Window: time.Hour, Points: 5, Burst: 5, Mutating: 1})
	pc, err := githubapi.NewPackagesClient(githubapi.NewToken("acme", "test", w.token), githubapi.PackagesClientOptions{
		BaseURL: w.api.URL, Transport: githubapi.NewTransport(p.Wrap(nil), githubapi.RetryPolicy{}, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	acme := githubapi.Owner{Login: "acme", Kind: githubapi.OwnerOrganization}
	if err := pc.DeleteVersion(context.Background(), acme, "npm", "big", w.ids[0]); err != nil {
		t.Fatalf("first delete: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := pc.DeleteVersion(ctx, acme, "npm", "big", w.ids[1]); err == nil {
		t.Fatal("second delete went through a budget of one per hour")
	}
	e, err := kv.Get(context.Background(), pacing.TokenKey(w.token))
	if err != nil {
		t.Fatalf("no state under the token's key: %v", err)
	}
	if strings.Contains(string(e.Value()), w.token) {
		t.Errorf("state holds the token: %s", e.Value())
	}
	keys, err := kv.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, w.token) {
			t.Errorf("key %q holds the token", k)
		}
	}
	if n := w.remaining(t); n != 3 {
		t.Errorf("%d versions left, want 3", n)
	}
}

// fakeClock moves only when slept on, so budget waits cost no real time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	return nil
}

// TestBudgetWaitsWithFakeClock: with one point per second and a burst of
// five, ten listings wait exactly five seconds in all, and three
// deletions (5 points each, one per 20 s) wait for the mutating budget.
func TestBudgetWaitsWithFakeClock(t *testing.T) {
	tests := map[string]struct {
		method string
		n      int
		slept  time.Duration
	}{
		"ten GETs":      {http.MethodGet, 10, 5 * time.Second},
		"three DELETEs": {http.MethodDelete, 3, 40 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ghsim.RateLimits{}, 4)
			clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			p := w.replica(t, pacing.Config{Window: time.Minute, Points: 60, Burst: 5, Mutating: 3}, pacing.WithClock(clock))
			c := client(p)
			for i := range tc.n {
				path := "/orgs/acme/packages/npm/big/versions"
				want := http.StatusOK
				if tc.method == http.MethodDelete {
					path = fmt.Sprintf("%s/%d", path, w.ids[i])
					want = http.StatusNoContent
				}
				if code, err := w.do(context.Background(), c, tc.method, path); err != nil || code != want {
					t.Fatalf("%s %d: %d %v", tc.method, i, code, err)
				}
			}
			if clock.slept != tc.slept {
				t.Errorf("slept %s, want %s", clock.slept, tc.slept)
			}
		})
	}
}
