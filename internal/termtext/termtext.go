// Package termtext is text for a terminal's tables that came from GitHub
// (tags, versions, reasons, messages): made harmless to print and short
// enough to read, and a writer that keeps a table's code free of error
// checks. `pkgwarden plan` and the configuration diff print through it.
package termtext

import (
	"io"
	"strings"
	"unicode"
)

// Printable keeps text from tags and manifests from moving a terminal's
// cursor or starting a line of its own: every control or unprintable
// character becomes '?'.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return '?'
		}
		return r
	}, s)
}

// ShortTag shortens a long referrer tag (sha256-<64 hex>[.sig|.att|.sbom])
// to 12 hex digits; other tags are returned as they are.
func ShortTag(t string) string {
	if strings.HasPrefix(t, "sha256-") && len(t) >= 7+64 {
		return t[:7+12] + "…" + t[7+64:]
	}
	return t
}

// ErrWriter writes to W until a write fails, then writes nothing more;
// Err is that first error.
type ErrWriter struct {
	W   io.Writer
	Err error
}

func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
	return n, err
}
