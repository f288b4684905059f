package ghsim

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/faults"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
)

// Faults are the faults the simulator injects (package faults); the
// simulator's /_admin/ routes are never faulted, so a test can always
// switch them off again.
type Faults = faults.Config

// FaultStats count what the fault injector did (package faults).
type FaultStats = faults.Stats

// RateLimits are the REST API's rate limits (package ratelimit); the
// registry (/v2/, /token), /_admin/ and /_raw/ are outside them.
type RateLimits = ratelimit.Limits

// TokenStats count what one caller did (package ratelimit): a token
// (classic or installation), "app" for the app's JWTs, or "anonymous".
type TokenStats = ratelimit.Stats

// rateCaller names the caller a request is counted for: its token, "app"
// for any of the app's JWTs, else "anonymous".
func rateCaller(r *http.Request) string {
	cred := bearer(r)
	switch {
	case cred == "":
		return ratelimit.Anonymous
	case looksLikeJWT(cred):
		return ratelimit.App
	}
	return cred
}

// SetRateLimits replaces the rate limits; windows and counters already
// open keep their counts.
func (s *Sim) SetRateLimits(l RateLimits) error {
	if err := s.limits.Set(l); err != nil {
		return fmt.Errorf("ghsim: %w", err)
	}
	return nil
}

// RateLimits returns the limits in force, defaults applied.
func (s *Sim) RateLimits() RateLimits { return s.limits.Limits() }

// RequestStats returns what each caller did since the simulator started
// or ResetRequestStats, keyed by token ("app" for the app's JWTs,
// "anonymous" without credentials).
func (s *Sim) RequestStats() map[string]TokenStats { return s.limits.Stats() }

// ResetRequestStats forgets every caller's windows and counters.
func (s *Sim) ResetRequestStats() { s.limits.Reset() }

// SetFaults replaces the faults in force and restarts their random source
// from f.Seed; counters stay.
func (s *Sim) SetFaults(f Faults) error {
	if err := s.faults.Set(f); err != nil {
		return fmt.Errorf("ghsim: faults: %w", err)
	}
	return nil
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults { return s.faults.Config() }

// FaultStats returns what the fault injector did.
func (s *Sim) FaultStats() FaultStats { return s.faults.Stats() }

// ResetFaultStats zeroes the fault counters.
func (s *Sim) ResetFaultStats() { s.faults.ResetStats() }

// faultsAnswer is the body of GET /_admin/faults.
type faultsAnswer struct {
	Faults   faults.View  `json:"faults"`
	Injected int          `json:"injected"`
	Stats    faults.Stats `json:"stats"`
}

// rateLimitsAnswer is the body of GET /_admin/ratelimits.
type rateLimitsAnswer struct {
	Callers []rateCallerStats `json:"callers"`
	Limited int               `json:"limited"`
	Limits  ratelimit.View    `json:"limits"`
}

// rateCallerStats is one caller's counters in GET /_admin/ratelimits.
type rateCallerStats struct {
	Caller string `json:"caller"`
	TokenStats
}

// registerFaultAdmin serves /_admin/faults (documented in doc.go).
func (s *adminAPI) registerFaultAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		st := s.faults.Stats()
		writeJSON(w, http.StatusOK, faultsAnswer{Faults: s.faults.Config().View(), Injected: st.Injected(), Stats: st})
	})
	mux.HandleFunc("PUT /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var v faults.View
		if !pkAdminDecode(w, r, &v) {
			return
		}
		f, err := v.Config()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.faults.Set(f); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Faults faults.View `json:"faults"`
		}{s.faults.Config().View()})
	})
	mux.HandleFunc("DELETE /_admin/faults/stats", func(w http.ResponseWriter, r *http.Request) {
		s.faults.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
}

// registerRateLimitAdmin serves /_admin/ratelimits (documented in doc.go).
func (s *adminAPI) registerRateLimitAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/ratelimits", func(w http.ResponseWriter, r *http.Request) {
		stats := s.limits.Stats()
		keys := make([]string, 0, len(stats))
		for k := range stats {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		callers := make([]rateCallerStats, 0, len(keys))
		limited := 0
		for _, k := range keys {
			callers = append(callers, rateCallerStats{Caller: k, TokenStats: stats[k]})
			limited += stats[k].Limited()
		}
		writeJSON(w, http.StatusOK, rateLimitsAnswer{Callers: callers, Limited: limited, Limits: s.limits.Limits().View()})
	})
	mux.HandleFunc("PUT /_admin/ratelimits", func(w http.ResponseWriter, r *http.Request) {
		var j ratelimit.View
		if !pkAdminDecode(w, r, &j) {
			return
		}
		l, err := j.Limits()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.limits.Set(l); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Limits ratelimit.View `json:"limits"`
		}{s.limits.Limits().View()})
	})
	mux.HandleFunc("DELETE /_admin/ratelimits/stats", func(w http.ResponseWriter, r *http.Request) {
		s.limits.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}
