package termtext_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/termtext"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":               "v1.2.3",
		"a b":                  "a b",
		"evil\x1b[2Jtag":       "evil?[2Jtag",
		"two\nlines\r":         "two?lines?",
		"zero\u200bwidth":      "zero?width",
		"ünïcödé tag":          "ünïcödé tag",
		"\u2028line separator": "?line separator",
	} {
		if got := termtext.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShortTag(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		"sha256-" + hex + ".sig": "sha256-abababababab….sig",
		"sha256-" + hex:          "sha256-abababababab…",
		"sha256-short":           "sha256-short",
		"latest":                 "latest",
	} {
		if got := termtext.ShortTag(in); got != want {
			t.Errorf("ShortTag(%q) = %q, want %q", in, got, want)
		}
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// TestErrWriter: after the first failed write nothing more is written and
// the first error is kept.
func TestErrWriter(t *testing.T) {
	f := &failAfter{n: 1}
	ew := &termtext.ErrWriter{W: f}
	fmt.Fprint(ew, "one")
	fmt.Fprint(ew, "two")
	f.n = 5
	fmt.Fprint(ew, "three")
	if ew.Err == nil || ew.Err.Error() != "disk full" || f.n != 5 {
		t.Errorf("Err %v, writes after the failure %d", ew.Err, 5-f.n)
	}
}
