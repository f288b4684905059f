package ghsim

import "net/http"

// newRegistry builds the ghcr.io-like OCI registry.
func (s *Sim) newRegistry() (http.Handler, error) { return http.NotFoundHandler(), nil }
