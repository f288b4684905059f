package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestServeLoggerDurations: serve's log lines write durations as people
// read them, at the top level and in groups, and leave other values alone.
func TestServeLoggerDurations(t *testing.T) {
	var buf bytes.Buffer
	newServeLogger(&buf).With("component", "workers").WithGroup("job").
		Warn("workers: job failed, will retry", "retry_in", 1500*time.Millisecond, "attempt", 2, "err", errors.New("boom"))
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON line: %v: %s", err, buf.String())
	}
	job, _ := rec["job"].(map[string]any)
	if got := job["retry_in"]; got != "1.5s" {
		t.Errorf("retry_in = %#v, want \"1.5s\" (line %s)", got, buf.String())
	}
	if got := job["attempt"]; got != float64(2) {
		t.Errorf("attempt = %#v, want 2", got)
	}
	if rec["component"] != "workers" || job["err"] != "boom" {
		t.Errorf("other attributes changed: %s", buf.String())
	}
}
