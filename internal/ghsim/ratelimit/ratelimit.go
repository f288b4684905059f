// Package ratelimit is the simulator's rate limiting, as middleware: GitHub's
// primary limit (requests per window), its secondary limits (points per
// window, requests in flight) and its X-RateLimit-* headers, counted per
// caller. It knows nothing of the simulator's state: the caller of a
// request is whatever the function given to New names (ghsim names a token,
// App or Anonymous), and ghsim decides which routes stay outside.
package ratelimit

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/respond"
)

// Limits configure the rate limits of the wrapped REST API. Zero fields take
// the defaults below; a negative number switches that limit off. Windows
// are wall time: the admin clock does not move them.
type Limits struct {
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

// Default rate limits (see Limits).
const (
	DefaultPrimaryLimit    = 15000
	DefaultPrimaryWindow   = time.Hour
	DefaultSecondaryPoints = 900
	DefaultSecondaryWindow = time.Minute
	DefaultMaxConcurrent   = 100
)

func (l Limits) withDefaults() Limits {
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

// Validate reports a secondary status other than 403 or 429 and a negative
// latency.
func (l Limits) Validate() error {
	if l.SecondaryStatus != 0 && l.SecondaryStatus != http.StatusForbidden && l.SecondaryStatus != http.StatusTooManyRequests {
		return fmt.Errorf("secondary status %d: want 403 or 429", l.SecondaryStatus)
	}
	if l.Latency < 0 {
		return fmt.Errorf("latency %s: must not be negative", l.Latency)
	}
	return nil
}

// String renders the limits in the syntax Parse reads.
func (l Limits) String() string {
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

// Parse reads the --rate-limits syntax of `pkgwarden sim`: a
// comma-separated list of primary=N[/DURATION], secondary=N[/DURATION],
// secondary-status=403|429, concurrency=N and latency=DURATION, where N
// may be "off"; "" and "default" are the defaults, "off" switches every
// limit off. Keys not given keep their defaults.
func Parse(spec string) (Limits, error) {
	var l Limits
	spec = strings.TrimSpace(spec)
	switch spec {
	case "", "default":
		return l, nil
	case "off":
		return Limits{PrimaryLimit: -1, SecondaryPoints: -1, MaxConcurrent: -1}, nil
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
	if err := l.Validate(); err != nil {
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

// Stats count what one caller did.
type Stats struct {
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
func (t Stats) Limited() int { return t.PrimaryLimited + t.SecondaryLimited }

// Limiter counts requests against the limits, per caller, behind its
// own mutex (the wrapped handler may hold a lock of its own when it
// writes its status, which takes this one).
type Limiter struct {
	mu     sync.Mutex
	limits Limits // with defaults applied
	by     map[string]*rlCaller
	caller func(*http.Request) string
}

type rlCaller struct {
	primaryStart time.Time // zero: no window open
	primaryUsed  int
	secStart     time.Time
	secPoints    int
	inFlight     int
	inFlightMut  int
	stats        Stats
}

// New makes a Limiter with l in force (l should have passed Validate);
// caller names the caller a request counts for.
func New(l Limits, caller func(*http.Request) string) *Limiter {
	return &Limiter{limits: l.withDefaults(), by: map[string]*rlCaller{}, caller: caller}
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
func (c *rlCaller) roll(l Limits, now time.Time) {
	if !c.primaryStart.IsZero() && !now.Before(c.primaryStart.Add(l.PrimaryWindow)) {
		c.primaryStart, c.primaryUsed = time.Time{}, 0
	}
	if !c.secStart.IsZero() && !now.Before(c.secStart.Add(l.SecondaryWindow)) {
		c.secStart, c.secPoints = time.Time{}, 0
	}
}

// primaryReset is when the caller's primary window ends: the open
// window's end, or a full window from now when none is open.
func (c *rlCaller) primaryReset(l Limits, now time.Time) time.Time {
	if c.primaryStart.IsZero() {
		return now.Add(l.PrimaryWindow)
	}
	return c.primaryStart.Add(l.PrimaryWindow)
}

func (rl *Limiter) admit(key, method string, now time.Time) rlDecision {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	l := rl.limits
	c := rl.by[key]
	if c == nil {
		c = &rlCaller{stats: Stats{Requests: map[string]int{}}}
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

func (rl *Limiter) done(d rlDecision) {
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
func (rl *Limiter) setHeaders(h http.Header, d rlDecision, status int, now time.Time) {
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

// Set replaces the limits; windows and counters already open keep their
// counts.
func (rl *Limiter) Set(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.limits = l.withDefaults()
	return nil
}

// Limits returns the limits in force, defaults applied.
func (rl *Limiter) Limits() Limits {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.limits
}

// Reset forgets windows and statistics (requests in flight stay counted).
func (rl *Limiter) Reset() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for k, c := range rl.by {
		if c.inFlight == 0 {
			delete(rl.by, k)
			continue
		}
		*c = rlCaller{inFlight: c.inFlight, inFlightMut: c.inFlightMut, stats: Stats{Requests: map[string]int{}}}
	}
}

// Stats returns what each caller did since New or Reset, keyed by caller.
func (rl *Limiter) Stats() map[string]Stats {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make(map[string]Stats, len(rl.by))
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

// Callers that are not a token: the app's JWTs together (GitHub counts the
// app, not each JWT) and requests without credentials (GitHub counts those
// by IP; the simulator lumps them). The primary limit's message names them.
const (
	App       = "app"
	Anonymous = "anonymous"
)

const (
	msgSecondaryLimit = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."
)

// Wrap counts every request to next against its caller's limits, answers
// the ones over a limit, and adds GitHub's X-RateLimit-* headers to the
// others.
func (rl *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := rl.caller(r)
		now := time.Now()
		d := rl.admit(key, r.Method, now)
		if d.limited != 0 {
			rl.setHeaders(w.Header(), d, d.limited, now)
			if d.primary {
				w.Header().Set("X-RateLimit-Remaining", "0")
				respond.Error(w, http.StatusForbidden, primaryLimitMessage(key))
				return
			}
			if !rl.Limits().SecondaryWithoutRetryAfter {
				w.Header().Set("Retry-After", strconv.FormatInt(int64((d.retry+time.Second-1)/time.Second), 10))
			}
			respond.Error(w, d.limited, msgSecondaryLimit)
			return
		}
		defer rl.done(d)
		if lat := rl.Limits().Latency; lat > 0 {
			if err := clock.Sleep(r.Context(), lat); err != nil {
				return
			}
		}
		rw := &rlWriter{ResponseWriter: w, header: func(status int) {
			rl.setHeaders(w.Header(), d, status, time.Now())
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
	case Anonymous:
		return "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
	case App:
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

// View is Limits as JSON (the simulator's admin route), durations as Go
// duration strings.
type View struct {
	PrimaryLimit    int    `json:"primary_limit"`
	PrimaryWindow   string `json:"primary_window"`
	SecondaryPoints int    `json:"secondary_points"`
	SecondaryWindow string `json:"secondary_window"`
	SecondaryStatus int    `json:"secondary_status"`
	// SecondaryWithoutRetryAfter: see Limits.
	SecondaryWithoutRetryAfter bool   `json:"secondary_without_retry_after,omitempty"`
	MaxConcurrent              int    `json:"max_concurrent"`
	Latency                    string `json:"latency"`
}

// View renders l as JSON.
func (l Limits) View() View {
	return View{
		PrimaryLimit: l.PrimaryLimit, PrimaryWindow: l.PrimaryWindow.String(),
		SecondaryPoints: l.SecondaryPoints, SecondaryWindow: l.SecondaryWindow.String(),
		SecondaryStatus: l.SecondaryStatus, SecondaryWithoutRetryAfter: l.SecondaryWithoutRetryAfter,
		MaxConcurrent: l.MaxConcurrent, Latency: l.Latency.String(),
	}
}

// Limits reads j back, validated; omitted fields take the defaults.
func (j View) Limits() (Limits, error) {
	l := Limits{PrimaryLimit: j.PrimaryLimit, SecondaryPoints: j.SecondaryPoints,
		SecondaryStatus: j.SecondaryStatus, SecondaryWithoutRetryAfter: j.SecondaryWithoutRetryAfter,
		MaxConcurrent: j.MaxConcurrent}
	if err := respond.ParseDurations(
		respond.Duration{Name: "primary_window", In: j.PrimaryWindow, Out: &l.PrimaryWindow},
		respond.Duration{Name: "secondary_window", In: j.SecondaryWindow, Out: &l.SecondaryWindow},
		respond.Duration{Name: "latency", In: j.Latency, Out: &l.Latency},
	); err != nil {
		return l, err
	}
	return l, l.Validate()
}
