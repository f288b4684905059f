package ghsim

import "net/http"

// registerRepoRoutes serves repositories, contents and collaborators.
func (s *Sim) registerRepoRoutes(mux *http.ServeMux) {}
