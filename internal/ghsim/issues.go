package ghsim

import "net/http"

// registerIssueRoutes serves issues, comments and labels.
func (s *Sim) registerIssueRoutes(mux *http.ServeMux) {}
