package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/termtext"
)

// writePlanBroken prints a line per broken image of a package after its
// table (rules.Decision.Broken): what it misses, each missing manifest
// restorable (with the deleted version's id) or gone.
func writePlanBroken(w io.Writer, d rules.Decision) {
	for _, b := range d.Broken {
		parts := make([]string, 0, len(b.Missing))
		for _, m := range b.Missing {
			what := termtext.Printable(m.What)
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
		fmt.Fprintf(w, "  broken (%s): %s %s misses %s\n", b.Kind, termtext.Printable(b.Name), rules.ShortDigest(b.Version), strings.Join(parts, ", "))
	}
}
