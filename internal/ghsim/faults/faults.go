// Package faults is the simulator's fault injection: middleware that makes
// an http.Handler misbehave the way a real GitHub sometimes does (5xx
// answers, dropped connections, answers lost after the change was made,
// latency), at rates a Config sets, reproducibly from a seed, and counts
// what it did. It knows nothing of the simulator's state: ghsim wraps its
// REST API and its registry with an Injector and decides which routes stay
// outside (/_admin/).
package faults

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/respond"
)

// Config says which faults to inject. The zero value injects nothing.
// Each request in scope draws once: it is dropped with DropRate, answered
// with a 5xx with ErrorRate, or handled and then has its answer lost with
// LostRate (the three rates add up to at most 1); every request in scope
// is delayed by Latency plus up to Jitter first.
type Config struct {
	// ErrorRate is the fraction of requests answered 500, 502 or 503 (in
	// turn, drawn at random) with GitHub's JSON error body, without the
	// request being handled.
	ErrorRate float64
	// DropRate is the fraction of requests whose connection is closed
	// before the request is handled, with no answer at all.
	DropRate float64
	// LostRate is the fraction of requests that are handled (their change
	// applied) and whose connection is then closed before the answer is
	// sent: the case that makes a retried DELETE meet 404.
	LostRate float64
	// Latency is added to every request in scope; Jitter adds a uniformly
	// drawn extra of up to Jitter.
	Latency time.Duration
	Jitter  time.Duration
	// Registry applies the faults to the handlers wrapped with
	// WrapRegistry too (the simulator's OCI registry, /v2/ and /token); by
	// default only those wrapped with Wrap (its REST API and /_raw/) are
	// faulted.
	Registry bool
	// MutatingOnly limits faults (latency included) to POST, PUT, PATCH
	// and DELETE requests.
	MutatingOnly bool
	// Paths, when not empty, limits faults to requests whose path starts
	// with one of these prefixes (e.g. "/orgs/acme/packages/").
	Paths []string
	// Seed makes the draws reproducible: an Injector given the same seed
	// draws the same faults for the same sequence of requests (concurrent
	// requests may take them in any order). 0 means a random seed.
	Seed uint64
}

// Active reports whether c injects anything.
func (c Config) Active() bool {
	return c.ErrorRate > 0 || c.DropRate > 0 || c.LostRate > 0 || c.Latency > 0 || c.Jitter > 0
}

// Validate reports a rate outside 0..1, rates adding up to more than 1, a
// negative duration or a path prefix without its leading slash.
func (c Config) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"error", c.ErrorRate}, {"drop", c.DropRate}, {"lost", c.LostRate}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s rate %v: want a fraction between 0 and 1", r.name, r.v)
		}
	}
	if sum := c.ErrorRate + c.DropRate + c.LostRate; sum > 1+1e-9 {
		return fmt.Errorf("error, drop and lost rates add up to %v: at most 1", sum)
	}
	if c.Latency < 0 || c.Jitter < 0 {
		return fmt.Errorf("latency %s and jitter %s must not be negative", c.Latency, c.Jitter)
	}
	for _, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path prefix %q must start with /", p)
		}
	}
	return nil
}

// String renders c in the syntax Parse reads ("off" when inactive).
func (c Config) String() string {
	if !c.Active() {
		return "off"
	}
	var parts []string
	rate := func(k string, v float64) {
		if v > 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	rate("error", c.ErrorRate)
	rate("drop", c.DropRate)
	rate("lost", c.LostRate)
	if c.Latency > 0 {
		parts = append(parts, "latency="+c.Latency.String())
	}
	if c.Jitter > 0 {
		parts = append(parts, "jitter="+c.Jitter.String())
	}
	if c.Registry {
		parts = append(parts, "registry")
	}
	if c.MutatingOnly {
		parts = append(parts, "scope=mutating")
	}
	for _, p := range c.Paths {
		parts = append(parts, "path="+p)
	}
	if c.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(c.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// Parse reads the --faults syntax of `pkgwarden sim`: "" or "off" for
// none, else a comma-separated list of error=RATE, drop=RATE, lost=RATE
// (a fraction, 0.05, or a percentage, 5%), latency=DURATION,
// jitter=DURATION, seed=N, scope=all|mutating, path=PREFIX (repeatable)
// and registry (or registry=true|false).
func Parse(spec string) (Config, error) {
	var c Config
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "off" {
		return c, nil
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		key, val, hasVal := strings.Cut(part, "=")
		if !hasVal && key != "registry" {
			return Config{}, fmt.Errorf("faults %q: %q is not key=value", spec, part)
		}
		var err error
		switch key {
		case "error":
			c.ErrorRate, err = parseRate(val)
		case "drop":
			c.DropRate, err = parseRate(val)
		case "lost":
			c.LostRate, err = parseRate(val)
		case "latency":
			c.Latency, err = time.ParseDuration(val)
		case "jitter":
			c.Jitter, err = time.ParseDuration(val)
		case "seed":
			c.Seed, err = strconv.ParseUint(val, 10, 64)
		case "scope":
			switch val {
			case "all":
				c.MutatingOnly = false
			case "mutating":
				c.MutatingOnly = true
			default:
				err = fmt.Errorf("%q: want all or mutating", val)
			}
		case "path":
			c.Paths = append(c.Paths, val)
		case "registry":
			c.Registry = true
			if hasVal {
				c.Registry, err = strconv.ParseBool(val)
			}
		default:
			err = fmt.Errorf("unknown key (want error, drop, lost, latency, jitter, seed, scope, path, registry)")
		}
		if err != nil {
			return Config{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("faults %q: %w", spec, err)
	}
	return c, nil
}

func parseRate(v string) (float64, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseFloat(p, 64)
		return n / 100, err
	}
	return strconv.ParseFloat(v, 64)
}

// Stats count what an Injector did since it was made or ResetStats.
type Stats struct {
	// Seen counts requests in scope (each drew once).
	Seen int `json:"seen"`
	// Errors counts injected 5xx answers by status.
	Errors map[int]int `json:"errors"`
	// Dropped counts connections closed before handling; Lost those closed
	// after the request was handled.
	Dropped int `json:"dropped"`
	Lost    int `json:"lost"`
	// Delayed counts requests given added latency, Delay their total.
	Delayed int           `json:"delayed"`
	Delay   time.Duration `json:"delay_ns"`
}

// Injected is the number of requests that did not get their true answer.
func (s Stats) Injected() int {
	n := s.Dropped + s.Lost
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// Injector holds the faults in force, their random source and their
// counters behind its own mutex (never held while a request is handled).
type Injector struct {
	mu    sync.Mutex
	c     Config
	rng   *rand.Rand
	stats Stats
}

// New makes an Injector with c in force; c should have passed Validate.
func New(c Config) *Injector {
	in := &Injector{stats: Stats{Errors: map[int]int{}}}
	in.set(c)
	return in
}

// Set replaces the faults in force and restarts their random source from
// c.Seed; counters stay.
func (in *Injector) Set(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	in.set(c)
	return nil
}

func (in *Injector) set(c Config) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c.Paths = append([]string(nil), c.Paths...)
	in.c = c
	seed := c.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	// A fresh source per setting: the same seed replays the same draws.
	in.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Config returns the faults in force.
func (in *Injector) Config() Config {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.c
	c.Paths = append([]string(nil), c.Paths...)
	return c
}

// Stats returns what the Injector did.
func (in *Injector) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.stats
	s.Errors = make(map[int]int, len(in.stats.Errors))
	for k, v := range in.stats.Errors {
		s.Errors[k] = v
	}
	return s
}

// ResetStats zeroes the counters.
func (in *Injector) ResetStats() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stats = Stats{Errors: map[int]int{}}
}

type kind int

const (
	none kind = iota
	injectError
	drop
	lose
)

// plan is what one request drew.
type plan struct {
	kind   kind
	status int
	delay  time.Duration
}

// statuses are the statuses an injected error draws from.
var statuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

func mutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// draw decides the fault of one request, nil when it is out of scope.
func (in *Injector) draw(r *http.Request, registry bool) *plan {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.c
	if !c.Active() || (registry && !c.Registry) || (c.MutatingOnly && !mutating(r.Method)) {
		return nil
	}
	if len(c.Paths) > 0 {
		inside := false
		for _, p := range c.Paths {
			if strings.HasPrefix(r.URL.Path, p) {
				inside = true
				break
			}
		}
		if !inside {
			return nil
		}
	}
	p := &plan{delay: c.Latency}
	if c.Jitter > 0 {
		p.delay += time.Duration(in.rng.Int64N(int64(c.Jitter) + 1))
	}
	// One draw per request for the kind, so that a seed replays exactly.
	u := in.rng.Float64()
	switch {
	case u < c.DropRate:
		p.kind = drop
	case u < c.DropRate+c.ErrorRate:
		p.kind = injectError
		p.status = statuses[in.rng.IntN(len(statuses))]
	case u < c.DropRate+c.ErrorRate+c.LostRate:
		p.kind = lose
	}
	in.stats.Seen++
	if p.delay > 0 {
		in.stats.Delayed++
		in.stats.Delay += p.delay
	}
	switch p.kind {
	case injectError:
		in.stats.Errors[p.status]++
	case drop:
		in.stats.Dropped++
	case lose:
		in.stats.Lost++
	}
	return p
}

// message is GitHub's message for a 5xx answer.
func message(status int) string {
	if status == http.StatusServiceUnavailable {
		return "Service Unavailable"
	}
	return "Server Error"
}

// Wrap injects the faults in force in front of next, a REST API. Put it
// outside rate limits: a request dropped or answered 5xx before handling
// is then not counted, as it never reached GitHub's API.
func (in *Injector) Wrap(next http.Handler) http.Handler { return in.wrap(next, false) }

// WrapRegistry is Wrap for a registry: faulted only when Config.Registry
// says so.
func (in *Injector) WrapRegistry(next http.Handler) http.Handler { return in.wrap(next, true) }

func (in *Injector) wrap(next http.Handler, registry bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := in.draw(r, registry)
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		if p.delay > 0 {
			if err := clock.Sleep(r.Context(), p.delay); err != nil {
				return
			}
		}
		switch p.kind {
		case drop:
			dropConnection(w)
		case injectError:
			respond.Error(w, p.status, message(p.status))
		case lose:
			// The handler writes into a buffer that is never sent, so no
			// byte of the answer can reach the client before the drop.
			buf := &discardWriter{header: http.Header{}}
			next.ServeHTTP(buf, r)
			dropConnection(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// dropConnection closes the client's connection without an answer. Where
// the connection cannot be taken over (HTTP/2), aborting the handler makes
// net/http reset the stream instead.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// discardWriter takes a handler's answer and keeps none of it.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// View is Config as JSON (the simulator's admin route), durations as Go
// duration strings and MutatingOnly as scope "all" or "mutating".
type View struct {
	ErrorRate float64  `json:"error_rate"`
	DropRate  float64  `json:"drop_rate"`
	LostRate  float64  `json:"lost_rate"`
	Latency   string   `json:"latency"`
	Jitter    string   `json:"jitter"`
	Registry  bool     `json:"registry"`
	Scope     string   `json:"scope"`
	Paths     []string `json:"paths"`
	Seed      uint64   `json:"seed"`
}

// View renders c as JSON.
func (c Config) View() View {
	v := View{ErrorRate: c.ErrorRate, DropRate: c.DropRate, LostRate: c.LostRate,
		Latency: c.Latency.String(), Jitter: c.Jitter.String(), Registry: c.Registry,
		Scope: "all", Paths: c.Paths, Seed: c.Seed}
	if c.MutatingOnly {
		v.Scope = "mutating"
	}
	if v.Paths == nil {
		v.Paths = []string{}
	}
	return v
}

// Config reads v back, validated; omitted fields are zero.
func (v View) Config() (Config, error) {
	c := Config{ErrorRate: v.ErrorRate, DropRate: v.DropRate, LostRate: v.LostRate,
		Registry: v.Registry, Paths: v.Paths, Seed: v.Seed}
	switch v.Scope {
	case "", "all":
	case "mutating":
		c.MutatingOnly = true
	default:
		return c, fmt.Errorf("scope %q: want all or mutating", v.Scope)
	}
	if err := respond.ParseDurations(respond.Duration{Name: "latency", In: v.Latency, Out: &c.Latency}, respond.Duration{Name: "jitter", In: v.Jitter, Out: &c.Jitter}); err != nil {
		return c, err
	}
	return c, c.Validate()
}
