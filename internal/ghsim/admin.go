package ghsim

import "net/http"

// registerAdminRoutes serves /_admin/: the package side in admin_packages.go,
// the app side (accounts, repositories, files, installations, tokens) in
// admin_app.go, rate limits in ratelimit.go, faults in
// faults.go.
func (s *Sim) registerAdminRoutes(mux *http.ServeMux) {
	s.registerPackageAdmin(mux)
	s.registerAppAdmin(mux)
	s.registerRateLimitAdmin(mux)
	s.registerFaultAdmin(mux)
}
