package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// writePlanBroken prints a line per broken image of a package after its
// table (rules.Decision.Broken): what it misses, each missing manifest
// restorable (with the deleted version's id) or gone.
func writePlanBroken(w io.Writer, d rules.Decision) {
	for _, b := range d.Broken {
		parts := make([]string, 0, len(b.Missing))
		for _, m := range b.Missing {
			what := printable(m.What)
			if m.What == "subject" {
				what += " " + rules.ShortDigest(m.Digest)
			}
			if m.Via != "" {
				what += " of nested index " + rules.ShortDigest(m.Via)
			}
			switch m.State {
			case rules.ChildDeleted:
				parts = append(parts, fmt.Sprintf("%s deleted (restorable: version %d)", what, m.DeletedID))
			default:
				parts = append(parts, what+" gone")
			}
		}
		fmt.Fprintf(w, "  broken (%s): %s %s misses %s\n", b.Kind, printable(b.Name), rules.ShortDigest(b.Version), strings.Join(parts, ", "))
	}
}

// printable keeps text from tags and manifests from moving a terminal's
// cursor or starting a line of its own.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return '?'
		}
		return r
	}, s)
}
