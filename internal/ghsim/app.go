package ghsim

import (
	"errors"
	"net/http"
)

// registerAuthRoutes serves GitHub App authentication: /app, installations
// and installation access tokens.
func (s *Sim) registerAuthRoutes(mux *http.ServeMux) {}

// verifyAppJWT checks an RS256 app JWT against the app's key.
func (s *Sim) verifyAppJWT(jwt string) error { return errors.New("not implemented") }
