package ghsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

const docsURL = "https://docs.github.com/rest"

// writeJSON answers with v as JSON, as GitHub does (application/json; charset=utf-8).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeError answers with GitHub's error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"message": message, "documentation_url": docsURL})
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
