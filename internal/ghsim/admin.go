package ghsim

import "net/http"

// registerAdminRoutes serves /_admin/: the package side in admin_packages.go,
// the app side (accounts, repositories, files, installations, tokens) in
// admin_app.go, rate limits and faults in admin_traffic.go.
func (s *Sim) registerAdminRoutes(mux *http.ServeMux) {
	s.registerPackageAdmin(mux)
	s.registerAppAdmin(mux)
	s.registerRateLimitAdmin(mux)
	s.registerFaultAdmin(mux)
}
