package ghsim

import (
	"net/http"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/faults"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
)

// adminAPI is the part that serves /_admin/, the simulator's own API for
// tests and the demo: it changes the shared world without GitHub's rules
// and sets the middleware's faults and rate limits. The package side is in
// admin_packages.go, the app side (accounts, repositories, files,
// installations, tokens) in admin_app.go, rate limits and faults in
// admin_traffic.go; routes are documented in doc.go.
type adminAPI struct {
	*world
	faults *faults.Injector
	limits *ratelimit.Limiter
}

func (s *adminAPI) register(mux *http.ServeMux) {
	s.registerPackageAdmin(mux)
	s.registerAppAdmin(mux)
	s.registerHookAdmin(mux)
	s.registerPullAdmin(mux)
	s.registerRateLimitAdmin(mux)
	s.registerFaultAdmin(mux)
}
