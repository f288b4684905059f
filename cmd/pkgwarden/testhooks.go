package main

// Test instrumentation, used only by this command's tests (serve_test.go)
// to observe jobs from outside a `pkgwarden serve` subprocess. Never set
// these variables in production:
//
//   PKGWARDEN_TEST_RECORD=path     replaces the prune handler with one that
//                                  appends a JSON line per run to path:
//                                  {"pid","package","delivery","start","end"}
//   PKGWARDEN_TEST_JOB_SLEEP=dur   makes each recorded run take dur.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/pkgwarden/pkgwarden/jobs"
)

// recordLine is one run, as written to PKGWARDEN_TEST_RECORD.
type recordLine struct {
	PID      int       `json:"pid"`
	Package  string    `json:"package"`
	Delivery string    `json:"delivery"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

func registerTestHandlers(reg *jobs.Registry, logger *slog.Logger) error {
	path := os.Getenv("PKGWARDEN_TEST_RECORD")
	if path == "" {
		return nil
	}
	var sleep time.Duration
	if v := os.Getenv("PKGWARDEN_TEST_JOB_SLEEP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("PKGWARDEN_TEST_JOB_SLEEP: %w", err)
		}
		sleep = d
	}
	logger.Warn("test instrumentation on: prune jobs are recorded, not run", "record", path)
	reg.Register(jobs.TypePrune, jobs.HandlerFunc(func(ctx context.Context, job jobs.Job) error {
		start := time.Now()
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return ctx.Err()
		}
		line, _ := json.Marshal(recordLine{PID: os.Getpid(), Package: job.Target.PackageName, Delivery: job.DeliveryID, Start: start, End: time.Now()})
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("record %s: %w", path, err)
		}
		defer f.Close()
		// One write of one short line: O_APPEND keeps lines whole across
		// processes.
		if _, err := f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("record %s: %w", path, err)
		}
		return nil
	}))
	return nil
}
