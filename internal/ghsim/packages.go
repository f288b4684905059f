package ghsim

import "net/http"

// registerPackageRoutes serves the 24 Packages endpoints of the seed.
func (s *Sim) registerPackageRoutes(mux *http.ServeMux) {}
