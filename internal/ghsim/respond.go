package ghsim

import (
	"net/http"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/respond"
)

const docsURL = respond.DocsURL

// writeJSON answers with v as JSON, as GitHub does (respond.JSON).
func writeJSON(w http.ResponseWriter, status int, v any) { respond.JSON(w, status, v) }

// writeError answers with GitHub's error shape (respond.Error).
func writeError(w http.ResponseWriter, status int, message string) {
	respond.Error(w, status, message)
}

// Common GitHub messages.
const (
	msgRequiresAuth = "Requires authentication"
	msgBadCreds     = "Bad credentials"
	msgNotFound     = "Not Found"
)

// bearer extracts the credential of an Authorization header: "token X",
// "Bearer X", or the password of Basic auth, as GitHub accepts all three.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return ""
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		return strings.TrimSpace(rest)
	}
	return ""
}
