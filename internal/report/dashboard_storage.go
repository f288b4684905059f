package report

import (
	"fmt"
	"time"
)

// freedSince sums the bytes the deletions at or after since freed; known
// is false when one of them could not be measured (the sum is then a
// lower bound), any false when no deletion falls in the window.
func (r DashboardRow) freedSince(since time.Time) (bytes int64, known, any bool) {
	known = true
	for _, d := range r.Deletions {
		if d.At.Before(since) {
			continue
		}
		any = true
		if d.Freed == nil {
			known = false
			continue
		}
		bytes += *d.Freed
	}
	return bytes, known, any
}

// approx says bytes as the dashboard shows them: "≈ 12.0 MiB", "at least
// ≈ 12.0 MiB" when some of it could not be measured.
func approx(bytes int64, known bool) string {
	if known {
		return "≈ " + Bytes(bytes)
	}
	return "at least ≈ " + Bytes(bytes)
}

// storageTotals are the dashboard's bytes: freed this week over every
// package, and what the measured packages hold.
type storageTotals struct {
	freed        int64
	freedKnown   bool // every deletion of the week was measured
	freedAny     bool // some deletion of the week was measured
	size         int64
	sized, total int // packages with a known size, of all
}

func (t *storageTotals) add(r DashboardRow, weekAgo time.Time) {
	if t.total == 0 {
		t.freedKnown = true
	}
	t.total++
	if bytes, known, any := r.freedSince(weekAgo); any {
		t.freed += bytes
		t.freedKnown = t.freedKnown && known
		t.freedAny = t.freedAny || bytes > 0 || known
	}
	if r.Size != nil {
		t.size += *r.Size
		t.sized++
	}
}

// parts are the summary line's parts: "freed this week ≈ 1.2 GiB",
// "holding ≈ 3.4 GiB" (with how many packages, when not all are
// measured).
func (t storageTotals) parts() []string {
	var parts []string
	if t.freedAny {
		parts = append(parts, "freed this week "+approx(t.freed, t.freedKnown))
	}
	if t.sized > 0 {
		s := "holding ≈ " + Bytes(t.size)
		if t.sized < t.total {
			s += fmt.Sprintf(" (%d %s measured)", t.sized, plural(t.sized, "package", "packages"))
		}
		parts = append(parts, s)
	}
	return parts
}
