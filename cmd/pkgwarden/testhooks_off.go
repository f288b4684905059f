//go:build !pkgwardentest

package main

import (
	"log/slog"

	"github.com/pkgwarden/pkgwarden/jobs"
)

// registerTestHandlers does nothing: the test instrumentation (testhooks.go)
// is compiled only with the build tag pkgwardentest, so a normal build can
// neither record nor trace jobs, nor replace a handler, whatever its
// environment says.
func registerTestHandlers(*jobs.Registry, *slog.Logger) error { return nil }
