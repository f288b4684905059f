package report

import (
	"fmt"
	"strings"
)

// Healed is one broken image a restore run healed (restore.broken): a kept
// index whose children or referrers had been deleted outside pkgwarden.
type Healed struct {
	// Image names the kept image: its tags, else its version (digest).
	Image string
	// Tags are the kept image's tags, shown instead of Image when set.
	Tags []string
	// Parts are what came back: platforms ("linux/arm64"), else kinds
	// and short digests ("attestation sha256:0123…").
	Parts []string
	// Left are the parts still deleted: GitHub refused, or the run's cap
	// was reached (the next run goes on).
	Left []string
	// By is who deleted the parts, when known; "" says "outside pkgwarden".
	By string
}

// healedLine says what became of one broken image, on one line: "`v1` was
// broken (linux/arm64, linux/amd64 deleted outside pkgwarden): restored
// them; it pulls again".
func healedLine(h Healed) string {
	name := plainName(shortName(h.Image))
	if len(h.Tags) > 0 {
		names := make([]string, len(h.Tags))
		for i, t := range h.Tags {
			names[i] = "`" + quoteLine(oneLine(t)) + "`"
		}
		name = strings.Join(names, ", ")
	}
	by := "outside pkgwarden"
	if h.By != "" {
		by = "by " + codeWord(h.By)
	}
	parts, left := partNames(h.Parts), partNames(h.Left)
	line := fmt.Sprintf("%s was broken (%s deleted %s): ", name, strings.Join(append(parts, left...), ", "), by)
	switch {
	case len(left) == 0:
		line += "restored " + plural(len(parts), "it", "them") + "; it pulls again"
	case len(parts) == 0:
		line += "nothing restored yet; " + strings.Join(left, ", ") + " still deleted"
	default:
		line += "restored " + strings.Join(parts, ", ") + "; " + strings.Join(left, ", ") + " still deleted"
	}
	return oneLine(line)
}

// partNames shows parts (platforms come from manifests anyone can push)
// as plain text when made of letters, digits, spaces and "._-+:/" only,
// else as code on one line.
func partNames(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p
		for _, c := range p {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._-+:/ ", c)) {
				out[i] = "`" + quoteLine(oneLine(p)) + "`"
				break
			}
		}
	}
	return out
}

// renderHealed writes the healed images of a run, one line each.
func renderHealed(b *strings.Builder, healed []Healed) {
	if len(healed) == 0 {
		return
	}
	b.WriteString("**Healed** (`restore.broken`: images still in use whose parts were deleted outside pkgwarden):\n\n")
	for _, h := range healed {
		b.WriteString("- " + healedLine(h) + "\n")
	}
	b.WriteString("\n")
}
