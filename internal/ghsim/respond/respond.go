// Package respond writes the simulator's answers the way GitHub's REST API
// writes them: JSON bodies (application/json; charset=utf-8) and the error
// object {"message", "documentation_url"} every REST error carries (GitHub
// REST docs, "Troubleshooting"). The simulator and its middleware packages
// (faults, ratelimit) share it, so that every error looks the same.
package respond

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
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

// Duration is one duration field of an admin document: its JSON name, the
// text given ("" leaves Out as it is), where the parsed value goes.
type Duration struct {
	Name string
	In   string
	Out  *time.Duration
}

// ParseDurations parses each field given; the error names the field.
func ParseDurations(fields ...Duration) error {
	for _, f := range fields {
		if f.In == "" {
			continue
		}
		d, err := time.ParseDuration(f.In)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		*f.Out = d
	}
	return nil
}
