package ghsim

import (
	"fmt"
	"net/http"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/faults"
)

// Faults are the faults the simulator injects (package faults); the
// simulator's /_admin/ routes are never faulted, so a test can always
// switch them off again.
type Faults = faults.Config

// FaultStats count what the fault injector did (package faults).
type FaultStats = faults.Stats

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

// registerFaultAdmin serves /_admin/faults (documented in doc.go).
func (s *Sim) registerFaultAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		st := s.FaultStats()
		writeJSON(w, http.StatusOK, map[string]any{
			"faults": s.Faults().View(), "stats": st, "injected": st.Injected(),
		})
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
		if err := s.SetFaults(f); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults().View()})
	})
	mux.HandleFunc("DELETE /_admin/faults/stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetFaultStats()
		w.WriteHeader(http.StatusNoContent)
	})
}
