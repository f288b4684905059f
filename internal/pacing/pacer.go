package pacing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
)

// Bucket is the KV bucket holding one pacing state per token.
const Bucket = "pacing"

// bucketTTL drops the state of a token nobody used for that long: its
// budgets are full again, its leases expired and its pauses (at most an
// hour: a primary reset) over.
const bucketTTL = 6 * time.Hour

// CreateBucket creates the pacing bucket, or updates it to this
// configuration, with replicas copies (1 or 3). Every replica may call it.
func CreateBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "GitHub request pacing per token (GCRA budgets, pauses, mutating slots); keys are token hashes",
		History:     1,
		TTL:         bucketTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", Bucket, err)
	}
	return kv, nil
}

// Config is the pacing budget of one token, the same in every replica.
// Zero fields take the defaults; Validate says what is wrong.
type Config struct {
	// Window is the period budgets are given for. Default 1m.
	Window time.Duration
	// Points per Window, GitHub's secondary-limit points (Points): 1 per
	// read, 5 per mutating request. Default 600 (GitHub allows 900).
	Points int
	// Mutating requests per Window. Default 100 (500 of the points).
	Mutating int
	// Burst is how many points may go at once after a quiet spell; the
	// most points sent in any Window is Points+Burst. Default 10, at
	// least 5 (one mutating request).
	Burst int
	// MutatingBurst is the same for mutating requests. Default 1: they
	// are spread evenly over the window.
	MutatingBurst int
	// MaxMutatingInFlight caps mutating requests in flight per token across
	// all replicas. Default 3.
	MaxMutatingInFlight int
	// LeaseTTL frees the slot of a replica that died mid-request; it must
	// exceed the longest request. Default 2m.
	LeaseTTL time.Duration
	// PrimaryReserve: when X-RateLimit-Remaining falls to this or below,
	// every replica waits for X-RateLimit-Reset. Default 50.
	PrimaryReserve int
	// MaxRetries is how often a request answered with a rate limit is sent
	// again after waiting; then the answer goes to the caller. Default 5.
	MaxRetries int
	// PollInterval is how often a request waiting for a mutating slot looks
	// again. Default 50ms.
	PollInterval time.Duration
	// UnnamedWait is how long every replica pauses after a rate limit that
	// names no time (a secondary-limit 403 or a 429 without Retry-After).
	// Default githubapi.DefaultSecondaryWait, GitHub's "at least one
	// minute".
	UnnamedWait time.Duration
}

// Defaults (see Config).
const (
	DefaultWindow              = time.Minute
	DefaultPoints              = 600
	DefaultMutating            = 100
	DefaultBurst               = 10
	DefaultMaxMutatingInFlight = 3
	DefaultLeaseTTL            = 2 * time.Minute
	DefaultPrimaryReserve      = 50
	DefaultMaxRetries          = 5
	DefaultPollInterval        = 50 * time.Millisecond
)

// resetSlack is added to X-RateLimit-Reset, a whole second that GitHub's
// clock and ours may not agree on.
const resetSlack = time.Second

// WithDefaults fills the zero fields (durations: zero or less).
func (c Config) WithDefaults() Config {
	positiveOr(&c.Window, DefaultWindow)
	orDefault(&c.Points, DefaultPoints)
	orDefault(&c.Mutating, DefaultMutating)
	orDefault(&c.Burst, DefaultBurst)
	orDefault(&c.MutatingBurst, 1)
	orDefault(&c.MaxMutatingInFlight, DefaultMaxMutatingInFlight)
	positiveOr(&c.LeaseTTL, DefaultLeaseTTL)
	orDefault(&c.PrimaryReserve, DefaultPrimaryReserve)
	orDefault(&c.MaxRetries, DefaultMaxRetries)
	positiveOr(&c.PollInterval, DefaultPollInterval)
	positiveOr(&c.UnnamedWait, githubapi.DefaultSecondaryWait)
	return c
}

// orDefault sets *v to d when it is the zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// positiveOr sets *v to d unless it is above zero.
func positiveOr(v *time.Duration, d time.Duration) {
	if *v <= 0 {
		*v = d
	}
}

// Validate reports a configuration that cannot work, defaults applied.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Points < Points(http.MethodDelete):
		return fmt.Errorf("pacing: points %d: a mutating request costs %d", c.Points, Points(http.MethodDelete))
	case c.Burst < Points(http.MethodDelete):
		return fmt.Errorf("pacing: burst %d: a mutating request costs %d points, so none could ever start", c.Burst, Points(http.MethodDelete))
	case c.Mutating < 0 || c.MutatingBurst < 0:
		return fmt.Errorf("pacing: mutating budget %d, burst %d: must be positive", c.Mutating, c.MutatingBurst)
	case c.MaxMutatingInFlight < 0:
		return fmt.Errorf("pacing: max mutating in flight %d: must be positive", c.MaxMutatingInFlight)
	case c.PrimaryReserve < 0 || c.MaxRetries < 0:
		return fmt.Errorf("pacing: primary reserve %d, max retries %d: must not be negative", c.PrimaryReserve, c.MaxRetries)
	}
	return nil
}

func (c Config) pointInterval() time.Duration    { return c.Window / time.Duration(c.Points) }
func (c Config) mutatingInterval() time.Duration { return c.Window / time.Duration(c.Mutating) }

// Clock gives wall time and waits. Budgets, pauses and leases are shared
// between processes, so the clock must be wall time in production; tests
// of the decisions use a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx.Err() when ctx is done first.
	Sleep(ctx context.Context, d time.Duration) error
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, d) }

// Stats count what a Pacer did, for logs and benchmarks.
type Stats struct {
	// Requests sent on the network (retries included).
	Requests int64
	// RateLimited answers seen (403/429 rate limits), and Retries of them.
	RateLimited, Retries int64
	// Waits and Waited: how often and how long requests waited, by reason.
	PauseWaits, BudgetWaits, SlotWaits int64
	Waited                             time.Duration
	// Conflicts counts KV updates lost to another writer (and retried).
	Conflicts int64
}

// Pacer paces the GitHub requests of every token through one KV bucket
// shared by all replicas. It is safe for concurrent use.
type Pacer struct {
	kv    jetstream.KeyValue
	cfg   Config
	clock Clock
	log   *slog.Logger
	obs   githubapi.Observer

	requests, rateLimited, retries     atomic.Int64
	pauseWaits, budgetWaits, slotWaits atomic.Int64
	waitedNanos, conflicts             atomic.Int64
}

// Option changes a Pacer.
type Option func(*Pacer)

// WithClock replaces wall time (tests).
func WithClock(c Clock) Option { return func(p *Pacer) { p.clock = c } }

// WithLogger sets the logger (default: discard). Tokens are never logged,
// only the first characters of their hash.
func WithLogger(l *slog.Logger) Option { return func(p *Pacer) { p.log = l } }

// WithObserver reports the rate-limited answers the Pacer retries (and so
// hides from the transport above it) to obs, so that
// pkgwarden_github_requests_total still counts every request GitHub saw.
func WithObserver(obs githubapi.Observer) Option { return func(p *Pacer) { p.obs = obs } }

// New returns a Pacer on kv (see CreateBucket) with cfg.
func New(kv jetstream.KeyValue, cfg Config, opts ...Option) (*Pacer, error) {
	if kv == nil {
		return nil, errors.New("pacing: no KV bucket")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pacer{kv: kv, cfg: cfg.WithDefaults(), clock: wallClock{}, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Config is the configuration in force, defaults applied.
func (p *Pacer) Config() Config { return p.cfg }

// Stats returns the counters so far.
func (p *Pacer) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), RateLimited: p.rateLimited.Load(), Retries: p.retries.Load(),
		PauseWaits: p.pauseWaits.Load(), BudgetWaits: p.budgetWaits.Load(), SlotWaits: p.slotWaits.Load(),
		Waited: time.Duration(p.waitedNanos.Load()), Conflicts: p.conflicts.Load(),
	}
}

// Wrap returns a RoundTripper that paces each request by the credential in
// its Authorization header, then sends it through next (nil:
// githubapi.Pool()). Requests without credentials pass unpaced. It
// must sit where the token is already set, under go-github's
// WithAuthToken. Two places work:
//
//   - as the Base of githubapi's retrying Transport (recommended):
//     githubapi.NewTransport(p.Wrap(nil), policy, obs). Every attempt,
//     5xx retries included, is paced, and no backoff sleep happens while
//     a mutating slot is held. Pass WithObserver(obs) so the rate-limited
//     answers the Pacer retries are counted too.
//   - around it: p.Wrap(githubapi.NewTransport(nil, policy, obs)). The
//     retries of 5xx answers then go unpaced and hold the slot through
//     their backoff.
func (p *Pacer) Wrap(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = githubapi.Pool()
	}
	return &transport{p: p, next: next}
}

type transport struct {
	p    *Pacer
	next http.RoundTripper
}

// TokenKey is the KV key of a credential: a hash, so the bucket never
// holds a token.
func TokenKey(credential string) string {
	sum := sha256.Sum256([]byte("pkgwarden-pacing\x00" + credential))
	return "t" + hex.EncodeToString(sum[:16])
}

func credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	_, rest, ok := strings.Cut(h, " ")
	if !ok {
		return strings.TrimSpace(h)
	}
	return strings.TrimSpace(rest)
}

// RoundTrip waits for the token's pause, budgets and (for a mutating
// request) a slot, sends the request, shares what the answer says about
// the limits, and on a rate limit waits and sends it again.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	cred := credential(req)
	if cred == "" {
		return t.next.RoundTrip(req)
	}
	p := t.p
	key := TokenKey(cred)
	ctx := req.Context()
	mutating := isMutating(req.Method)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("pacing %s %s: replay body: %w", req.Method, req.URL.Path, err)
				}
				r.Body = body
			}
		}
		slot, err := p.acquire(ctx, key, Points(req.Method), mutating)
		if err != nil {
			return nil, fmt.Errorf("pacing %s %s: %w", req.Method, req.URL.Path, err)
		}
		p.requests.Add(1)
		resp, err := t.next.RoundTrip(r)
		if slot != "" {
			p.release(ctx, key, slot)
		}
		if err != nil {
			return nil, err
		}
		now := p.clock.Now()
		wait, limited := githubapi.RateLimitWait(resp, now)
		if !limited {
			p.notePrimary(ctx, key, resp, now)
			return resp, nil
		}
		p.rateLimited.Add(1)
		secondary := resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") != "0"
		if secondary && resp.Header.Get("Retry-After") == "" {
			// GitHub named no time (found by its message, or a bare 429).
			wait = p.cfg.UnnamedWait
		}
		why := "secondary rate limit"
		if !secondary {
			why = "primary rate limit spent"
			wait += resetSlack
		}
		if err := p.pause(ctx, key, now.Add(wait), why, secondary); err != nil {
			p.log.Warn("pacing: could not share a rate-limit pause", "token", key[:9], "err", err)
		}
		if attempt >= p.cfg.MaxRetries || !replayable {
			return resp, nil
		}
		p.retries.Add(1)
		if p.obs != nil {
			p.obs.ObserveRequest(req.Method, resp.StatusCode)
		}
		// The answer is a rate limit, not data: drop it and try again once
		// the shared pause ends (acquire waits for it).
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
}

// acquire waits until the token may send a request of cost points and
// records it in KV; for a mutating request it returns the slot held. It
// never sleeps between reading and writing the state: a wait starts over
// with a fresh read.
func (p *Pacer) acquire(ctx context.Context, key string, cost int, mutating bool) (string, error) {
	id := ""
	if mutating {
		id = rand.Text()[:16]
	}
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		st, rev, err := p.read(ctx, key)
		if err != nil {
			return "", err
		}
		d := p.cfg.admit(st, p.clock.Now(), cost, mutating, id)
		if d.wait > 0 {
			switch d.blocked {
			case blockPause:
				p.pauseWaits.Add(1)
			case blockBudget:
				p.budgetWaits.Add(1)
			case blockSlot:
				p.slotWaits.Add(1)
				// Jitter keeps pollers of several replicas from moving in step.
				d.wait = d.wait/2 + jitter(d.wait/2+1)
			}
			p.waitedNanos.Add(int64(d.wait))
			if err := p.clock.Sleep(ctx, d.wait); err != nil {
				return "", err
			}
			continue
		}
		ok, err := p.write(ctx, key, rev, d.next)
		if err != nil {
			return "", err
		}
		if ok {
			return id, nil
		}
	}
}

func jitter(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return mathrand.N(n)
}

// read returns the state of key and its revision (0: no state yet).
func (p *Pacer) read(ctx context.Context, key string) (state, uint64, error) {
	e, err := p.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{}, 0, nil
	}
	if err != nil {
		return state{}, 0, fmt.Errorf("read pacing state %s: %w", key[:9], err)
	}
	st, err := decodeState(e.Value())
	if err != nil {
		// A value we cannot read is replaced: better a fresh budget than
		// a token stuck for good.
		p.log.Warn("pacing: unreadable state replaced", "token", key[:9], "err", err)
		return state{}, e.Revision(), nil
	}
	return st, e.Revision(), nil
}

// write stores st if key is still at rev; false means another writer was
// first and the caller must read again.
func (p *Pacer) write(ctx context.Context, key string, rev uint64, st state) (bool, error) {
	var err error
	if rev == 0 {
		_, err = p.kv.Create(ctx, key, st.encode())
	} else {
		_, err = p.kv.Update(ctx, key, st.encode(), rev)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		p.conflicts.Add(1)
		return false, nil
	}
	return false, fmt.Errorf("write pacing state %s: %w", key[:9], err)
}

// update applies f to the state of key until it is stored (or f says
// there is nothing to change).
func (p *Pacer) update(ctx context.Context, key string, f func(state) (state, bool)) error {
	for {
		st, rev, err := p.read(ctx, key)
		if err != nil {
			return err
		}
		next, changed := f(st)
		if !changed {
			return nil
		}
		ok, err := p.write(ctx, key, rev, next)
		if err != nil || ok {
			return err
		}
	}
}

// releaseTimeout bounds giving a slot back; past it the lease expires.
const releaseTimeout = 5 * time.Second

// release gives the slot back, even when the request's context ended.
func (p *Pacer) release(ctx context.Context, key, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := p.update(ctx, key, func(st state) (state, bool) { return release(st, id) })
	if err != nil {
		p.log.Warn("pacing: slot not released, its lease will expire", "token", key[:9], "err", err)
	}
}

// pause holds every request of the token until until, in all replicas.
func (p *Pacer) pause(ctx context.Context, key string, until time.Time, why string, secondary bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	changed := false
	err := p.update(ctx, key, func(st state) (state, bool) {
		next, c := p.cfg.pause(st, until, why, secondary)
		changed = c
		return next, c
	})
	if err == nil && changed {
		p.log.Info("pacing: token paused", "token", key[:9], "reason", why, "until", until.UTC().Format(time.RFC3339Nano))
	}
	return err
}

// notePrimary pauses the token until X-RateLimit-Reset once
// X-RateLimit-Remaining is down to the reserve, so that replicas stop
// before GitHub refuses them.
func (p *Pacer) notePrimary(ctx context.Context, key string, resp *http.Response, now time.Time) {
	remaining, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining")))
	if err != nil || remaining > p.cfg.PrimaryReserve {
		return
	}
	reset, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return
	}
	until := time.Unix(reset, 0).Add(resetSlack)
	if !until.After(now) {
		return
	}
	if err := p.pause(ctx, key, until, "primary rate limit low ("+strconv.Itoa(remaining)+" left)", false); err != nil {
		p.log.Warn("pacing: could not share a primary-limit pause", "token", key[:9], "err", err)
	}
}
