package ghsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimits configure the simulated rate limits of the REST API (not of
// the registry under /v2/, nor of /_admin/ and /_raw/). Zero fields take
// the defaults below; a negative number switches that limit off. Windows
// are wall time: the admin clock does not move them.
type RateLimits struct {
	// PrimaryLimit is how many requests a token may make per PrimaryWindow.
	// Default 15000, the figure GitHub gives GitHub Enterprise Cloud
	// tokens and the most an installation reaches; GitHub.com's classic
	// tokens get 5000 ("Rate limits for the REST API").
	PrimaryLimit int
	// PrimaryWindow is the primary window, started by a token's first
	// request after the previous one ended. Default 1h.
	PrimaryWindow time.Duration
	// SecondaryPoints is how many points a token may spend per
	// SecondaryWindow: GET, HEAD and OPTIONS cost 1, other methods 5.
	// Default 900 per minute, GitHub's documented REST figure.
	SecondaryPoints int
	// SecondaryWindow is the points window. Default 1m.
	SecondaryWindow time.Duration
	// SecondaryStatus is the status of a secondary-limit answer, 403 or
	// 429 (GitHub sends either). Default 403.
	SecondaryStatus int
	// SecondaryWithoutRetryAfter leaves Retry-After out of secondary-limit
	// answers: GitHub documents that it may, and that a client should then
	// wait at least a minute. Only the message tells such a 403 from a
	// refusal.
	SecondaryWithoutRetryAfter bool
	// MaxConcurrent caps a token's requests in flight. Default 100.
	MaxConcurrent int
	// Latency is added to every counted request while it is in flight, so
	// that tests can observe concurrency. Default 0.
	Latency time.Duration
}

// Default rate limits (see RateLimits).
const (
	DefaultPrimaryLimit    = 15000
	DefaultPrimaryWindow   = time.Hour
	DefaultSecondaryPoints = 900
	DefaultSecondaryWindow = time.Minute
	DefaultMaxConcurrent   = 100
)

func (l RateLimits) withDefaults() RateLimits {
	if l.PrimaryLimit == 0 {
		l.PrimaryLimit = DefaultPrimaryLimit
	}
	if l.PrimaryWindow <= 0 {
		l.PrimaryWindow = DefaultPrimaryWindow
	}
	if l.SecondaryPoints == 0 {
		l.SecondaryPoints = DefaultSecondaryPoints
	}
	if l.SecondaryWindow <= 0 {
		l.SecondaryWindow = DefaultSecondaryWindow
	}
	if l.SecondaryStatus == 0 {
		l.SecondaryStatus = http.StatusForbidden
	}
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = DefaultMaxConcurrent
	}
	return l
}

func (l RateLimits) validate() error {
	if l.SecondaryStatus != 0 && l.SecondaryStatus != http.StatusForbidden && l.SecondaryStatus != http.StatusTooManyRequests {
		return fmt.Errorf("secondary status %d: want 403 or 429", l.SecondaryStatus)
	}
	if l.Latency < 0 {
		return fmt.Errorf("latency %s: must not be negative", l.Latency)
	}
	return nil
}

// String renders the limits in the syntax ParseRateLimits reads.
func (l RateLimits) String() string {
	l = l.withDefaults()
	num := func(n int) string {
		if n < 0 {
			return "off"
		}
		return strconv.Itoa(n)
	}
	s := fmt.Sprintf("primary=%s/%s,secondary=%s/%s,secondary-status=%d,concurrency=%s",
		num(l.PrimaryLimit), l.PrimaryWindow, num(l.SecondaryPoints), l.SecondaryWindow,
		l.SecondaryStatus, num(l.MaxConcurrent))
	if l.Latency > 0 {
		s += ",latency=" + l.Latency.String()
	}
	return s
}

// ParseRateLimits reads the --rate-limits syntax of `pkgwarden sim`: a
// comma-separated list of primary=N[/DURATION], secondary=N[/DURATION],
// secondary-status=403|429, concurrency=N and latency=DURATION, where N
// may be "off"; "" and "default" are the defaults, "off" switches every
// limit off. Keys not given keep their defaults.
func ParseRateLimits(spec string) (RateLimits, error) {
	var l RateLimits
	spec = strings.TrimSpace(spec)
	switch spec {
	case "", "default":
		return l, nil
	case "off":
		return RateLimits{PrimaryLimit: -1, SecondaryPoints: -1, MaxConcurrent: -1}, nil
	}
	for _, part := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return l, fmt.Errorf("rate limits %q: %q is not key=value", spec, part)
		}
		var err error
		switch key {
		case "primary":
			l.PrimaryLimit, l.PrimaryWindow, err = parseLimitWindow(val)
		case "secondary":
			l.SecondaryPoints, l.SecondaryWindow, err = parseLimitWindow(val)
		case "secondary-status":
			l.SecondaryStatus, err = strconv.Atoi(val)
		case "concurrency":
			l.MaxConcurrent, err = parseLimitNumber(val)
		case "latency":
			l.Latency, err = time.ParseDuration(val)
		default:
			err = fmt.Errorf("unknown key (want primary, secondary, secondary-status, concurrency, latency)")
		}
		if err != nil {
			return l, fmt.Errorf("rate limits %q: %s: %w", spec, key, err)
		}
	}
	if err := l.validate(); err != nil {
		return l, fmt.Errorf("rate limits %q: %w", spec, err)
	}
	return l, nil
}

func parseLimitWindow(v string) (int, time.Duration, error) {
	num, win, hasWin := strings.Cut(v, "/")
	n, err := parseLimitNumber(num)
	if err != nil {
		return 0, 0, err
	}
	if !hasWin {
		return n, 0, nil
	}
	d, err := time.ParseDuration(win)
	if err != nil {
		return 0, 0, err
	}
	if d <= 0 {
		return 0, 0, fmt.Errorf("window %s must be positive", d)
	}
	return n, d, nil
}

func parseLimitNumber(v string) (int, error) {
	if v == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, fmt.Errorf("%d must be positive (or off)", n)
	}
	return n, nil
}

// TokenStats counts what one caller did: a token (classic or
// installation), "app" for the app's JWTs, or "anonymous".
type TokenStats struct {
	// Requests counts every API request by method, limited ones included.
	Requests map[string]int `json:"requests"`
	// NotModified counts 304 answers (free against the primary limit).
	NotModified int `json:"not_modified"`
	// PrimaryLimited and SecondaryLimited count the rate-limit answers
	// sent (403, or 429 for secondary limits when so configured).
	PrimaryLimited   int `json:"primary_limited"`
	SecondaryLimited int `json:"secondary_limited"`
	// MaxInFlight is the most requests seen in flight at once, and
	// MaxInFlightMutating the most POST/PATCH/PUT/DELETE requests.
	MaxInFlight         int `json:"max_in_flight"`
	MaxInFlightMutating int `json:"max_in_flight_mutating"`
}

// Limited is the number of rate-limit answers sent to this caller.
func (t TokenStats) Limited() int { return t.PrimaryLimited + t.SecondaryLimited }

// rateLimiter keeps the counters; its own mutex, never held while taking
// Sim.mu (the handlers take Sim.mu first, then this one when they write
// their status).
type rateLimiter struct {
	mu     sync.Mutex
	limits RateLimits // with defaults applied
	by     map[string]*rlCaller
}

type rlCaller struct {
	primaryStart time.Time // zero: no window open
	primaryUsed  int
	secStart     time.Time
	secPoints    int
	inFlight     int
	inFlightMut  int
	stats        TokenStats
}

func newRateLimiter(l RateLimits) *rateLimiter {
	return &rateLimiter{limits: l.withDefaults(), by: map[string]*rlCaller{}}
}

func isMutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// secondaryPoints is GitHub's "Calculating points for the secondary rate
// limit": most GET, HEAD and OPTIONS requests cost 1 point, most POST,
// PATCH, PUT and DELETE requests 5.
func secondaryPoints(method string) int {
	if isMutating(method) {
		return 5
	}
	return 1
}

// rlDecision is what admit decided.
type rlDecision struct {
	limited   int // 0 admitted, else the status to answer
	primary   bool
	retry     time.Duration
	caller    *rlCaller
	mutating  bool
	unlimited bool // the primary limit is off
}

// roll closes windows that ended.
func (c *rlCaller) roll(l RateLimits, now time.Time) {
	if !c.primaryStart.IsZero() && !now.Before(c.primaryStart.Add(l.PrimaryWindow)) {
		c.primaryStart, c.primaryUsed = time.Time{}, 0
	}
	if !c.secStart.IsZero() && !now.Before(c.secStart.Add(l.SecondaryWindow)) {
		c.secStart, c.secPoints = time.Time{}, 0
	}
}

// primaryReset is when the caller's primary window ends: the open
// window's end, or a full window from now when none is open.
func (c *rlCaller) primaryReset(l RateLimits, now time.Time) time.Time {
	if c.primaryStart.IsZero() {
		return now.Add(l.PrimaryWindow)
	}
	return c.primaryStart.Add(l.PrimaryWindow)
}

func (rl *rateLimiter) admit(key, method string, now time.Time) rlDecision {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	l := rl.limits
	c := rl.by[key]
	if c == nil {
		c = &rlCaller{stats: TokenStats{Requests: map[string]int{}}}
		rl.by[key] = c
	}
	c.stats.Requests[method]++
	c.roll(l, now)
	d := rlDecision{caller: c, mutating: isMutating(method), unlimited: l.PrimaryLimit < 0}
	switch {
	case l.PrimaryLimit >= 0 && c.primaryUsed >= l.PrimaryLimit:
		d.limited, d.primary = http.StatusForbidden, true
		c.stats.PrimaryLimited++
		return d
	case l.MaxConcurrent >= 0 && c.inFlight >= l.MaxConcurrent:
		// Nothing says when a slot frees; one second is the simulator's
		// choice.
		d.limited, d.retry = l.SecondaryStatus, time.Second
		c.stats.SecondaryLimited++
		return d
	case l.SecondaryPoints >= 0 && c.secPoints+secondaryPoints(method) > l.SecondaryPoints:
		d.limited, d.retry = l.SecondaryStatus, max(c.secStart.Add(l.SecondaryWindow).Sub(now), 0)
		c.stats.SecondaryLimited++
		return d
	}
	if c.primaryStart.IsZero() {
		c.primaryStart = now
	}
	if c.secStart.IsZero() {
		c.secStart = now
	}
	// The request counts against the primary limit now, so that
	// concurrent requests cannot overspend it; a 304 gives it back.
	c.primaryUsed++
	c.secPoints += secondaryPoints(method)
	c.inFlight++
	c.stats.MaxInFlight = max(c.stats.MaxInFlight, c.inFlight)
	if d.mutating {
		c.inFlightMut++
		c.stats.MaxInFlightMutating = max(c.stats.MaxInFlightMutating, c.inFlightMut)
	}
	return d
}

func (rl *rateLimiter) done(d rlDecision) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	d.caller.inFlight--
	if d.mutating {
		d.caller.inFlightMut--
	}
}

// setHeaders writes the primary headers as they stand, after refunding a
// 304 (GitHub: a conditional request answered 304 does not count against
// the primary limit).
func (rl *rateLimiter) setHeaders(h http.Header, d rlDecision, status int, now time.Time) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	l := rl.limits
	c := d.caller
	if status == http.StatusNotModified && d.limited == 0 {
		c.stats.NotModified++
		if c.primaryUsed > 0 {
			c.primaryUsed--
		}
	}
	limit, used := l.PrimaryLimit, c.primaryUsed
	if d.unlimited {
		// No primary limit: advertise the default, never spent.
		limit, used = DefaultPrimaryLimit, min(used, DefaultPrimaryLimit-1)
	}
	reset := c.primaryReset(l, now)
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	// Rounded up: a client that waits until the header's second must find
	// the window reset.
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(reset), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.After(time.Unix(s, 0)) {
		s++
	}
	return s
}

func (rl *rateLimiter) set(l RateLimits) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.limits = l.withDefaults()
}

func (rl *rateLimiter) get() RateLimits {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.limits
}

// reset forgets windows and statistics (requests in flight stay counted).
func (rl *rateLimiter) reset() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for k, c := range rl.by {
		if c.inFlight == 0 {
			delete(rl.by, k)
			continue
		}
		*c = rlCaller{inFlight: c.inFlight, inFlightMut: c.inFlightMut, stats: TokenStats{Requests: map[string]int{}}}
	}
}

func (rl *rateLimiter) stats() map[string]TokenStats {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make(map[string]TokenStats, len(rl.by))
	for k, c := range rl.by {
		s := c.stats
		s.Requests = make(map[string]int, len(c.stats.Requests))
		for m, n := range c.stats.Requests {
			s.Requests[m] = n
		}
		out[k] = s
	}
	return out
}

// rateKey names the caller a request is counted for: its token, "app" for
// any of the app's JWTs (GitHub counts the app, not each JWT), else
// "anonymous" (GitHub counts those by IP; the simulator lumps them).
func rateKey(r *http.Request) string {
	cred := bearer(r)
	switch {
	case cred == "":
		return "anonymous"
	case looksLikeJWT(cred):
		return "app"
	}
	return cred
}

// rateLimited reports whether a path is outside GitHub's REST API: the
// admin routes and the raw file host.
func rateExempt(path string) bool {
	return strings.HasPrefix(path, "/_admin/") || strings.HasPrefix(path, "/_raw/")
}

const (
	msgSecondaryLimit = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."
)

// withRateLimits counts every REST API request against its caller's
// limits, answers the ones over a limit, and adds GitHub's X-RateLimit-*
// headers to the others (see doc.go).
func (s *Sim) withRateLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		if rateExempt(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		key := rateKey(r)
		now := time.Now()
		d := s.rl.admit(key, r.Method, now)
		if d.limited != 0 {
			s.rl.setHeaders(w.Header(), d, d.limited, now)
			if d.primary {
				w.Header().Set("X-RateLimit-Remaining", "0")
				writeError(w, http.StatusForbidden, primaryLimitMessage(key))
				return
			}
			if !s.rl.get().SecondaryWithoutRetryAfter {
				w.Header().Set("Retry-After", strconv.FormatInt(int64((d.retry+time.Second-1)/time.Second), 10))
			}
			writeError(w, d.limited, msgSecondaryLimit)
			return
		}
		defer s.rl.done(d)
		if lat := s.rl.get().Latency; lat > 0 {
			if err := sleepCtx(r.Context(), lat); err != nil {
				return
			}
		}
		rw := &rlWriter{ResponseWriter: w, header: func(status int) {
			s.rl.setHeaders(w.Header(), d, status, time.Now())
		}}
		next.ServeHTTP(rw, r)
		if !rw.wrote {
			rw.WriteHeader(http.StatusOK)
		}
	})
}

// primaryLimitMessage is GitHub's message for a spent primary limit; the
// id is the simulator's stand-in (it names no secret).
func primaryLimitMessage(key string) string {
	switch key {
	case "anonymous":
		return "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
	case "app":
		return "API rate limit exceeded for app."
	}
	return "API rate limit exceeded for user ID " + strconv.Itoa(int(shortHash(key))) + "."
}

func shortHash(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h >> 8
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rlWriter sets the rate-limit headers when the status is known, so that
// a 304 can be refunded before its headers are written.
type rlWriter struct {
	http.ResponseWriter
	header func(status int)
	wrote  bool
}

func (w *rlWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		w.header(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *rlWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *rlWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetRateLimits replaces the rate limits; windows and counters already
// open keep their counts.
func (s *Sim) SetRateLimits(l RateLimits) error {
	if err := l.validate(); err != nil {
		return fmt.Errorf("ghsim: %w", err)
	}
	s.rl.set(l)
	return nil
}

// RateLimits returns the limits in force, defaults applied.
func (s *Sim) RateLimits() RateLimits { return s.rl.get() }

// RequestStats returns what each caller did since the simulator started
// or ResetRequestStats, keyed by token ("app" for the app's JWTs,
// "anonymous" without credentials).
func (s *Sim) RequestStats() map[string]TokenStats { return s.rl.stats() }

// ResetRequestStats forgets every caller's windows and counters.
func (s *Sim) ResetRequestStats() { s.rl.reset() }

// rateLimitsJSON is the admin route's view of RateLimits, durations as
// Go duration strings.
type rateLimitsJSON struct {
	PrimaryLimit    int    `json:"primary_limit"`
	PrimaryWindow   string `json:"primary_window"`
	SecondaryPoints int    `json:"secondary_points"`
	SecondaryWindow string `json:"secondary_window"`
	SecondaryStatus int    `json:"secondary_status"`
	// SecondaryWithoutRetryAfter: see RateLimits.
	SecondaryWithoutRetryAfter bool   `json:"secondary_without_retry_after,omitempty"`
	MaxConcurrent              int    `json:"max_concurrent"`
	Latency                    string `json:"latency"`
}

func (l RateLimits) toJSON() rateLimitsJSON {
	return rateLimitsJSON{
		PrimaryLimit: l.PrimaryLimit, PrimaryWindow: l.PrimaryWindow.String(),
		SecondaryPoints: l.SecondaryPoints, SecondaryWindow: l.SecondaryWindow.String(),
		SecondaryStatus: l.SecondaryStatus, SecondaryWithoutRetryAfter: l.SecondaryWithoutRetryAfter,
		MaxConcurrent: l.MaxConcurrent, Latency: l.Latency.String(),
	}
}

func (j rateLimitsJSON) limits() (RateLimits, error) {
	l := RateLimits{PrimaryLimit: j.PrimaryLimit, SecondaryPoints: j.SecondaryPoints,
		SecondaryStatus: j.SecondaryStatus, SecondaryWithoutRetryAfter: j.SecondaryWithoutRetryAfter,
		MaxConcurrent: j.MaxConcurrent}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"primary_window", j.PrimaryWindow, &l.PrimaryWindow},
		{"secondary_window", j.SecondaryWindow, &l.SecondaryWindow},
		{"latency", j.Latency, &l.Latency},
	} {
		if f.in == "" {
			continue
		}
		d, err := time.ParseDuration(f.in)
		if err != nil {
			return l, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.out = d
	}
	return l, l.validate()
}

// registerRateLimitAdmin serves /_admin/ratelimits (documented in doc.go).
func (s *Sim) registerRateLimitAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/ratelimits", func(w http.ResponseWriter, r *http.Request) {
		stats := s.RequestStats()
		keys := make([]string, 0, len(stats))
		for k := range stats {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		type caller struct {
			Caller string `json:"caller"`
			TokenStats
		}
		callers := make([]caller, 0, len(keys))
		limited := 0
		for _, k := range keys {
			callers = append(callers, caller{Caller: k, TokenStats: stats[k]})
			limited += stats[k].Limited()
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"limits": s.RateLimits().toJSON(), "callers": callers, "limited": limited,
		})
	})
	mux.HandleFunc("PUT /_admin/ratelimits", func(w http.ResponseWriter, r *http.Request) {
		var j rateLimitsJSON
		if !pkAdminDecode(w, r, &j) {
			return
		}
		l, err := j.limits()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.SetRateLimits(l); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"limits": s.RateLimits().toJSON()})
	})
	mux.HandleFunc("DELETE /_admin/ratelimits/stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetRequestStats()
		w.WriteHeader(http.StatusNoContent)
	})
}
