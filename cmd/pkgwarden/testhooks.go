//go:build pkgwardentest

package main

// Test instrumentation, used only by this command's tests to observe jobs
// from outside a `pkgwarden serve` subprocess. It is compiled only with the
// build tag pkgwardentest, which TestMain (serve_test.go) passes when it
// builds the binary the tests run; a normal `go build ./cmd/pkgwarden` gets
// the no-op registerTestHandlers of testhooks_off.go instead, and none of
// these variables means anything to it (TestNormalBuildHasNoTestHooks keeps
// it so). In a binary built with the tag:
//
//   PKGWARDEN_TEST_RECORD=path     replaces the prune handler with one that
//                                  appends a JSON line per run to path:
//                                  {"pid","package","delivery","start","end"}
//   PKGWARDEN_TEST_JOB_SLEEP=dur   makes each recorded run take dur.
//   PKGWARDEN_TEST_TRACE=path      keeps the real handlers and wraps each of
//                                  them: a JSON line when a run starts and
//                                  one when it ends (traceLine), so a test
//                                  can check from outside that no two runs
//                                  for one package ever overlapped, across
//                                  processes and kills.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/pkgwarden/pkgwarden/jobs"
)

func registerTestHandlers(reg *jobs.Registry, logger *slog.Logger) error {
	if path := os.Getenv("PKGWARDEN_TEST_TRACE"); path != "" {
		logger.Warn("test instrumentation on: job runs are traced", "trace", path)
		traceHandlers(reg, path)
	}
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
		return appendJSONLine(path, recordLine{PID: os.Getpid(), Package: job.Target.PackageName, Delivery: job.DeliveryID, Start: start, End: time.Now()})
	}))
	return nil
}

// traceHandlers wraps every registered handler so that each run appends a
// start and an end line to path. A line that cannot be written fails the
// run, so a trace never silently misses one.
func traceHandlers(reg *jobs.Registry, path string) {
	var runs atomic.Int64
	write := func(l traceLine) error { return appendJSONLine(path, l) }
	for _, typ := range []string{jobs.TypePrune, jobs.TypeRestore, jobs.TypeConfig} {
		h, ok := reg.Lookup(typ)
		if !ok {
			continue
		}
		reg.Register(typ, jobs.HandlerFunc(func(ctx context.Context, job jobs.Job) error {
			l := traceLine{PID: os.Getpid(), Run: runs.Add(1), Event: "start", Type: job.Type,
				Lease: job.LeaseName(), Delivery: job.DeliveryID, At: time.Now()}
			if err := write(l); err != nil {
				return err
			}
			err := h.Handle(ctx, job)
			l.Event, l.At = "end", time.Now()
			if err != nil {
				l.Err = err.Error()
			}
			if werr := write(l); werr != nil && err == nil {
				return werr
			}
			return err
		}))
	}
}

// appendJSONLine appends v to path as one line of JSON. One write of one
// short line: O_APPEND keeps lines whole when several processes append to
// the same file.
func appendJSONLine(path string, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode a line for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
