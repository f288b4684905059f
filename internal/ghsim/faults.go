package ghsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults make the simulator misbehave the way a real GitHub sometimes does,
// so that tests can see pkgwarden cope. The zero value injects nothing.
// Each request in scope draws once: it is dropped with DropRate, answered
// with a 5xx with ErrorRate, or handled and then has its answer lost with
// LostRate (the three rates add up to at most 1); every request in scope
// is delayed by Latency plus up to Jitter first. Routes under /_admin/ are
// never faulted, so a test can always switch faults off again.
type Faults struct {
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
	// Registry applies the faults to the OCI registry (/v2/, /token) too;
	// by default only the REST API (and /_raw/) is faulted.
	Registry bool
	// MutatingOnly limits faults (latency included) to POST, PUT, PATCH
	// and DELETE requests.
	MutatingOnly bool
	// Paths, when not empty, limits faults to requests whose path starts
	// with one of these prefixes (e.g. "/orgs/acme/packages/").
	Paths []string
	// Seed makes the draws reproducible: a simulator given the same seed
	// draws the same faults for the same sequence of requests (concurrent
	// requests may take them in any order). 0 means a random seed.
	Seed uint64
}

// Active reports whether f injects anything.
func (f Faults) Active() bool {
	return f.ErrorRate > 0 || f.DropRate > 0 || f.LostRate > 0 || f.Latency > 0 || f.Jitter > 0
}

func (f Faults) validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"error", f.ErrorRate}, {"drop", f.DropRate}, {"lost", f.LostRate}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s rate %v: want a fraction between 0 and 1", r.name, r.v)
		}
	}
	if sum := f.ErrorRate + f.DropRate + f.LostRate; sum > 1+1e-9 {
		return fmt.Errorf("error, drop and lost rates add up to %v: at most 1", sum)
	}
	if f.Latency < 0 || f.Jitter < 0 {
		return fmt.Errorf("latency %s and jitter %s must not be negative", f.Latency, f.Jitter)
	}
	for _, p := range f.Paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path prefix %q must start with /", p)
		}
	}
	return nil
}

// String renders f in the syntax ParseFaults reads ("off" when inactive).
func (f Faults) String() string {
	if !f.Active() {
		return "off"
	}
	var parts []string
	rate := func(k string, v float64) {
		if v > 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	rate("error", f.ErrorRate)
	rate("drop", f.DropRate)
	rate("lost", f.LostRate)
	if f.Latency > 0 {
		parts = append(parts, "latency="+f.Latency.String())
	}
	if f.Jitter > 0 {
		parts = append(parts, "jitter="+f.Jitter.String())
	}
	if f.Registry {
		parts = append(parts, "registry")
	}
	if f.MutatingOnly {
		parts = append(parts, "scope=mutating")
	}
	for _, p := range f.Paths {
		parts = append(parts, "path="+p)
	}
	if f.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(f.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// ParseFaults reads the --faults syntax of `pkgwarden sim`: "" or "off"
// for none, else a comma-separated list of error=RATE, drop=RATE,
// lost=RATE (a fraction, 0.05, or a percentage, 5%), latency=DURATION,
// jitter=DURATION, seed=N, scope=all|mutating, path=PREFIX (repeatable)
// and registry (or registry=true|false).
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "off" {
		return f, nil
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		key, val, hasVal := strings.Cut(part, "=")
		if !hasVal && key != "registry" {
			return Faults{}, fmt.Errorf("faults %q: %q is not key=value", spec, part)
		}
		var err error
		switch key {
		case "error":
			f.ErrorRate, err = parseRate(val)
		case "drop":
			f.DropRate, err = parseRate(val)
		case "lost":
			f.LostRate, err = parseRate(val)
		case "latency":
			f.Latency, err = time.ParseDuration(val)
		case "jitter":
			f.Jitter, err = time.ParseDuration(val)
		case "seed":
			f.Seed, err = strconv.ParseUint(val, 10, 64)
		case "scope":
			switch val {
			case "all":
				f.MutatingOnly = false
			case "mutating":
				f.MutatingOnly = true
			default:
				err = fmt.Errorf("%q: want all or mutating", val)
			}
		case "path":
			f.Paths = append(f.Paths, val)
		case "registry":
			f.Registry = true
			if hasVal {
				f.Registry, err = strconv.ParseBool(val)
			}
		default:
			err = fmt.Errorf("unknown key (want error, drop, lost, latency, jitter, seed, scope, path, registry)")
		}
		if err != nil {
			return Faults{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
		}
	}
	if err := f.validate(); err != nil {
		return Faults{}, fmt.Errorf("faults %q: %w", spec, err)
	}
	return f, nil
}

func parseRate(v string) (float64, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseFloat(p, 64)
		return n / 100, err
	}
	return strconv.ParseFloat(v, 64)
}

// FaultStats count what the fault injector did since the simulator
// started or ResetFaultStats.
type FaultStats struct {
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
func (s FaultStats) Injected() int {
	n := s.Dropped + s.Lost
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// faultInjector holds the faults in force, their random source and their
// counters behind its own mutex (never held while handling a request).
type faultInjector struct {
	mu    sync.Mutex
	f     Faults
	rng   *rand.Rand
	stats FaultStats
}

func newFaultInjector(f Faults) *faultInjector {
	fi := &faultInjector{}
	fi.set(f)
	fi.stats.Errors = map[int]int{}
	return fi
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f.Paths = append([]string(nil), f.Paths...)
	fi.f = f
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	// A fresh source per setting: the same seed replays the same draws.
	fi.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	f.Paths = append([]string(nil), f.Paths...)
	return f
}

type faultKind int

const (
	faultNone faultKind = iota
	faultError
	faultDrop
	faultLost
)

// faultPlan is what one request drew.
type faultPlan struct {
	kind   faultKind
	status int
	delay  time.Duration
}

// faultStatuses are the statuses an injected error draws from.
var faultStatuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// draw decides the fault of one request, nil when it is out of scope.
func (fi *faultInjector) draw(r *http.Request, registry bool) *faultPlan {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	if !f.Active() || (registry && !f.Registry) || strings.HasPrefix(r.URL.Path, "/_admin/") ||
		(f.MutatingOnly && !isMutating(r.Method)) {
		return nil
	}
	if len(f.Paths) > 0 {
		in := false
		for _, p := range f.Paths {
			if strings.HasPrefix(r.URL.Path, p) {
				in = true
				break
			}
		}
		if !in {
			return nil
		}
	}
	p := &faultPlan{delay: f.Latency}
	if f.Jitter > 0 {
		p.delay += time.Duration(fi.rng.Int64N(int64(f.Jitter) + 1))
	}
	// One draw per request for the kind, so that a seed replays exactly.
	u := fi.rng.Float64()
	switch {
	case u < f.DropRate:
		p.kind = faultDrop
	case u < f.DropRate+f.ErrorRate:
		p.kind = faultError
		p.status = faultStatuses[fi.rng.IntN(len(faultStatuses))]
	case u < f.DropRate+f.ErrorRate+f.LostRate:
		p.kind = faultLost
	}
	fi.stats.Seen++
	if p.delay > 0 {
		fi.stats.Delayed++
		fi.stats.Delay += p.delay
	}
	switch p.kind {
	case faultError:
		fi.stats.Errors[p.status]++
	case faultDrop:
		fi.stats.Dropped++
	case faultLost:
		fi.stats.Lost++
	}
	return p
}

func (fi *faultInjector) snapshot() FaultStats {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	s := fi.stats
	s.Errors = make(map[int]int, len(fi.stats.Errors))
	for k, v := range fi.stats.Errors {
		s.Errors[k] = v
	}
	return s
}

func (fi *faultInjector) resetStats() {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.stats = FaultStats{Errors: map[int]int{}}
}

// faultMessage is GitHub's message for a 5xx answer.
func faultMessage(status int) string {
	if status == http.StatusServiceUnavailable {
		return "Service Unavailable"
	}
	return "Server Error"
}

// withFaults injects the faults in force in front of next (see Faults and
// doc.go). It sits outside the rate limits: a request dropped or answered
// 5xx before handling is not counted, as it never reached GitHub's API.
func (s *Sim) withFaults(next http.Handler, registry bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.faults.draw(r, registry)
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		if p.delay > 0 {
			if err := sleepCtx(r.Context(), p.delay); err != nil {
				return
			}
		}
		switch p.kind {
		case faultDrop:
			dropConnection(w)
		case faultError:
			writeError(w, p.status, faultMessage(p.status))
		case faultLost:
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

// SetFaults replaces the faults in force and restarts their random source
// from f.Seed; counters stay.
func (s *Sim) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("ghsim: faults: %w", err)
	}
	s.faults.set(f)
	return nil
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults { return s.faults.get() }

// FaultStats returns what the fault injector did.
func (s *Sim) FaultStats() FaultStats { return s.faults.snapshot() }

// ResetFaultStats zeroes the fault counters.
func (s *Sim) ResetFaultStats() { s.faults.resetStats() }

// faultsJSON is the admin route's view of Faults, durations as Go
// duration strings.
type faultsJSON struct {
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

func (f Faults) toJSON() faultsJSON {
	j := faultsJSON{ErrorRate: f.ErrorRate, DropRate: f.DropRate, LostRate: f.LostRate,
		Latency: f.Latency.String(), Jitter: f.Jitter.String(), Registry: f.Registry,
		Scope: "all", Paths: f.Paths, Seed: f.Seed}
	if f.MutatingOnly {
		j.Scope = "mutating"
	}
	if j.Paths == nil {
		j.Paths = []string{}
	}
	return j
}

func (j faultsJSON) faults() (Faults, error) {
	f := Faults{ErrorRate: j.ErrorRate, DropRate: j.DropRate, LostRate: j.LostRate,
		Registry: j.Registry, Paths: j.Paths, Seed: j.Seed}
	switch j.Scope {
	case "", "all":
	case "mutating":
		f.MutatingOnly = true
	default:
		return f, fmt.Errorf("scope %q: want all or mutating", j.Scope)
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"latency", j.Latency, &f.Latency}, {"jitter", j.Jitter, &f.Jitter}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return f, fmt.Errorf("%s: %w", d.name, err)
		}
		*d.out = v
	}
	return f, f.validate()
}

// registerFaultAdmin serves /_admin/faults (documented in doc.go).
func (s *Sim) registerFaultAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		st := s.FaultStats()
		writeJSON(w, http.StatusOK, map[string]any{
			"faults": s.Faults().toJSON(), "stats": st, "injected": st.Injected(),
		})
	})
	mux.HandleFunc("PUT /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var j faultsJSON
		if !pkAdminDecode(w, r, &j) {
			return
		}
		f, err := j.faults()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults().toJSON()})
	})
	mux.HandleFunc("DELETE /_admin/faults/stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetFaultStats()
		w.WriteHeader(http.StatusNoContent)
	})
}
