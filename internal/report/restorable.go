package report

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// RestoreWindow is how long GitHub keeps a deleted version restorable.
const RestoreWindow = 30 * 24 * time.Hour

// Restorable is a deleted version listed in a report body with a restore
// checkbox.
type Restorable struct {
	ID int64
	// Version is the digest for containers, the version string otherwise.
	// Read back from a body it is the shortened form the line shows
	// (`sha256:0123456789ab…`): the body keeps what people and the restore
	// work need (id, time, checkbox), not the full digest.
	Version   string
	Tags      []string
	DeletedAt time.Time
	// Checked is true when the box is ticked.
	Checked bool

	// shown is the visible text of a line read back from a body, written
	// again as it was so that a body read and rendered again is unchanged.
	shown string
	// seal is the box's seal (Seal.Sign), read back from the marker or
	// given by the Reporter before it writes the line; "" for none.
	seal string
}

// A checkbox line ends with a hidden marker holding the version id and the
// box's seal (see Seal):
// `- [ ] `sha256:0123456789ab…` (pr-1) id 1234 <!-- pkgwarden:restore 1234 Ab3_x-9kQ2Z -->`.
// The deletion time is on the batch line above the entries of one run:
// `**Deleted 2026-11-25 10:30 UTC** <!-- pkgwarden:batch 2026-11-25T10:30:00Z -->`.
// Kept short so that hundreds of deletions fit a body; issues written
// before carry the old long marker (id, time, escaped version and tags)
// on each line, still read.
const (
	restoreMarkerPrefix = "<!-- pkgwarden:restore "
	batchMarkerPrefix   = "<!-- pkgwarden:batch "
)

var (
	// restoreLine is a checkbox line of the current format.
	restoreLine = regexp.MustCompile(`^[ \t]*[-*] \[([ xX])\] (.*?) ?<!-- pkgwarden:restore (\d+)(?: ([A-Za-z0-9_-]{11}))? -->[ \t]*\r?$`)
	// oldRestoreLine is a checkbox line written before: the marker holds
	// id, time, escaped version and tags.
	oldRestoreLine = regexp.MustCompile(`^[ \t]*[-*] \[([ xX])\] [^\n]*?<!-- pkgwarden:restore (\d+) (\S+) (\S+) (\S+) -->`)
	// batchLine starts the entries deleted at one time.
	batchLine = regexp.MustCompile(`<!-- pkgwarden:batch (\S+) -->`)
)

func restoreMarker(id int64, seal string) string {
	if seal != "" {
		return restoreMarkerPrefix + strconv.FormatInt(id, 10) + " " + seal + " -->"
	}
	return restoreMarkerPrefix + strconv.FormatInt(id, 10) + " -->"
}

// batchHeading is the line above the entries deleted at t.
func batchHeading(t time.Time) string {
	t = t.UTC()
	return "**Deleted " + t.Format("2006-01-02 15:04 UTC") + "** " + batchMarkerPrefix + t.Format(time.RFC3339) + " -->\n"
}

// ParseRestorable reads the restorable deletions back from a report body,
// in body order, with the state of their checkboxes. Lines whose marker is
// damaged, and current-format lines with no batch line above them, are
// skipped; an id listed twice counts once (the first).
func ParseRestorable(body string) []Restorable {
	var out []Restorable
	seen := map[int64]bool{}
	var batch time.Time
	for _, line := range strings.Split(body, "\n") {
		if !strings.Contains(line, "<!-- pkgwarden:") {
			continue
		}
		var e Restorable
		var ok bool
		if m := oldRestoreLine.FindStringSubmatch(line); m != nil {
			e, ok = parseOldLine(m)
		} else if m := restoreLine.FindStringSubmatch(line); m != nil {
			e, ok = parseLine(m, batch)
		} else if m := batchLine.FindStringSubmatch(line); m != nil {
			// A damaged batch line leaves its entries without a time:
			// skipped, not given the time of the batch before.
			batch = time.Time{}
			if t, err := time.Parse(time.RFC3339, m[1]); err == nil {
				batch = t.UTC()
			}
			continue
		}
		if !ok || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out
}

// parseLine reads a current-format line; m is restoreLine's match.
func parseLine(m []string, batch time.Time) (Restorable, bool) {
	id, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil || id <= 0 || batch.IsZero() {
		return Restorable{}, false
	}
	e := Restorable{ID: id, DeletedAt: batch, Checked: m[1] != " ", shown: m[2], seal: m[4]}
	// Version and tags as shown, for callers that print them.
	if rest, ok := strings.CutPrefix(m[2], "`"); ok {
		if v, after, ok := strings.Cut(rest, "`"); ok {
			e.Version = v
			if tags, ok := strings.CutPrefix(after, " ("); ok {
				if tags, _, ok = strings.Cut(tags, ")"); ok {
					for _, t := range strings.Split(tags, ", ") {
						if i := strings.LastIndex(t, " +"); i >= 0 {
							t = t[:i]
						}
						e.Tags = append(e.Tags, t)
					}
				}
			}
		}
	}
	return e, true
}

// parseOldLine reads a line of the old format; m is oldRestoreLine's match.
func parseOldLine(m []string) (Restorable, bool) {
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || id <= 0 {
		return Restorable{}, false
	}
	at, err := time.Parse(time.RFC3339, m[3])
	if err != nil {
		return Restorable{}, false
	}
	e := Restorable{ID: id, DeletedAt: at.UTC(), Checked: m[1] != " "}
	if m[4] != "-" {
		if e.Version, err = url.QueryUnescape(m[4]); err != nil {
			return Restorable{}, false
		}
	}
	if m[5] != "-" {
		for _, t := range strings.Split(m[5], ",") {
			v, err := url.QueryUnescape(t)
			if err != nil {
				return Restorable{}, false
			}
			e.Tags = append(e.Tags, v)
		}
	}
	return e, true
}

// Ticked returns the ids whose restore box is ticked in body, ascending.
func Ticked(body string) []int64 {
	var ids []int64
	for _, e := range ParseRestorable(body) {
		if e.Checked {
			ids = append(ids, e.ID)
		}
	}
	sortIDs(ids)
	return ids
}

// Seal is the seal the entry's marker carried, "" for none: Seal.Verify
// tells whether pkgwarden wrote it.
func (e Restorable) Seal() string { return e.seal }

func sortIDs(ids []int64) { sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] }) }

// sealed returns list with every entry's box sealed for pkg by s.
func sealed(s Seal, pkg rules.Package, list []Restorable) []Restorable {
	out := make([]Restorable, len(list))
	for i, e := range list {
		e.seal = s.Sign(BoxRestore, pkg, e.ID)
		out[i] = e
	}
	return out
}

// NewlyTicked returns the ids ticked in to but not in from, ascending: what
// an `issues` `edited` webhook asks to restore, from being
// changes.body.from and to the new body. Boxes unticked or removed
// are ignored (unticking never deletes).
func NewlyTicked(from, to string) []int64 {
	before := map[int64]bool{}
	for _, id := range Ticked(from) {
		before[id] = true
	}
	var out []int64
	for _, id := range Ticked(to) {
		if !before[id] {
			out = append(out, id)
		}
	}
	return out
}

// mergeRestorable combines the list read from the body with this run's
// deletions: an id already listed keeps its entry (time and checkbox), so a
// redelivered run changes nothing; restored ids and entries past the restore
// window leave. The result is newest first.
func mergeRestorable(old []Restorable, deleted []Restorable, restored []int64, now time.Time) []Restorable {
	gone := map[int64]bool{}
	for _, id := range restored {
		gone[id] = true
	}
	seen := map[int64]bool{}
	var out []Restorable
	add := func(e Restorable) {
		if seen[e.ID] || gone[e.ID] || now.Sub(e.DeletedAt) >= RestoreWindow {
			return
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	for _, e := range old {
		add(e)
	}
	for _, e := range deleted {
		add(e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DeletedAt.Equal(out[j].DeletedAt) {
			return out[i].DeletedAt.After(out[j].DeletedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}
