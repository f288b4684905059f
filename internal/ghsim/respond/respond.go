// Package respond writes the simulator's answers the way GitHub's REST API
// writes them: JSON bodies (application/json; charset=utf-8) and the error
// object {"message", "documentation_url"} every REST error carries (GitHub
// REST docs, "Troubleshooting"). The simulator and its middleware packages
// (faults, ratelimit) share it, so that every error looks the same.
package respond

import (
	"encoding/json"
	"net/http"
)

// DocsURL is the documentation_url of the simulator's errors.
const DocsURL = "https://docs.github.com/rest"

// JSON answers with v as JSON; a nil v sends the status alone.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// Error answers with GitHub's error object.
func Error(w http.ResponseWriter, status int, message string) {
	JSON(w, status, Message{DocumentationURL: DocsURL, Message: message})
}

// Message is GitHub's error object. Its fields are in the order a map
// would encode them, so that the bytes match the simulator's earlier
// answers.
type Message struct {
	DocumentationURL string `json:"documentation_url"`
	Message          string `json:"message"`
}
