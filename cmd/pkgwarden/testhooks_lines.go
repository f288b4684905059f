package main

// The lines the test instrumentation writes (testhooks.go, built only with
// the tag pkgwardentest) and the tests read back. They live in an untagged
// file so that the tests, built without the tag, and the instrumented binary
// share one definition; a normal build never uses them, so the linker leaves
// them out.

import "time"

// recordLine is one run, as written to PKGWARDEN_TEST_RECORD.
type recordLine struct {
	PID      int       `json:"pid"`
	Package  string    `json:"package"`
	Delivery string    `json:"delivery"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// traceLine is one event of PKGWARDEN_TEST_TRACE. A run is the pair of
// lines with the same pid and run; a run with no "end" line was cut off by
// a kill.
type traceLine struct {
	PID      int       `json:"pid"`
	Run      int64     `json:"run"`
	Event    string    `json:"event"` // "start" or "end"
	Type     string    `json:"type"`
	Lease    string    `json:"lease"` // the package the run holds: jobs.Job.LeaseName
	Delivery string    `json:"delivery,omitempty"`
	At       time.Time `json:"at"`
	Err      string    `json:"err,omitempty"`
}
