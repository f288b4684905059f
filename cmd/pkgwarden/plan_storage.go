package main

import (
	"fmt"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// storageLine is what plan says of a package's storage: what its
// deletions would free of what it holds, or why that is unknown; "" when
// nobody measured it (an invalid file left it untouched).
func storageLine(d rules.Decision) string {
	s := d.Storage
	switch {
	case s == (rules.Storage{}):
		return ""
	case !s.Known:
		return "storage: size unknown (" + s.Why + ")"
	case len(d.Delete) == 0:
		return fmt.Sprintf("storage: ≈ %s, nothing to free", report.Bytes(s.Before))
	}
	return fmt.Sprintf("storage: would free ≈ %s of ≈ %s", report.Bytes(s.Frees), report.Bytes(s.Before))
}

// storageTotal sums what the plan's deletions would free, and counts the
// packages with deletions whose sizes are unknown.
type storageTotal struct {
	frees   int64
	unknown int
}

func (t *storageTotal) add(d rules.Decision) {
	switch {
	case len(d.Delete) == 0:
	case d.Storage.Known:
		t.frees += d.Storage.Frees
	default:
		t.unknown++
	}
}

// String reads "Storage: the deletions would free ≈ 1.2 GiB (sizes
// unknown for 1 package)."
func (t storageTotal) String() string {
	s := "Storage: the deletions would free ≈ " + report.Bytes(t.frees)
	if t.unknown > 0 {
		s += fmt.Sprintf(" (sizes unknown for %s)", plural(t.unknown, "package", "packages"))
	}
	return s + "."
}
