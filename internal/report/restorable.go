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

// A checkbox line names the version (tag first), how long ago it was
// deleted and its short digest, and ends with a hidden marker holding the
// version id and the box's seal (see Seal):
// "- [ ] `pr-1` · 3 days ago · `0123456789ab` <!-- pkgwarden:restore 1234 Ab3_x-9kQ2Z -->".
// The deletion time is on a hidden line above the entries deleted at that
// time, "<!-- pkgwarden:batch 2026-11-25T10:30:00Z -->": kept out of the
// lines so that well over 500 of them fit a body. Bodies written before
// showed the time on that line ("**Deleted 2026-11-25 10:30 UTC** <!--
// pkgwarden:batch … -->") and the digest first on each line ("`sha256:…`
// (pr-1) id 1234"), and before that held id, time, escaped version and
// tags in each line's marker: all are still read, and rewritten in the
// current format. A time in a line's own marker, after the seal, is read
// too.
const (
	restoreMarkerPrefix = "<!-- pkgwarden:restore "
	batchMarkerPrefix   = "<!-- pkgwarden:batch "
)

var (
	// restoreLine is a checkbox line of the current or the batch format.
	restoreLine = regexp.MustCompile(`^[ \t]*[-*] \[([ xX])\] (.*?) ?<!-- pkgwarden:restore (\d+)(?: ([A-Za-z0-9_-]{11}))?(?: ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z))? -->[ \t]*\r?$`)
	// oldRestoreLine is a checkbox line written before: the marker holds
	// id, time, escaped version and tags.
	oldRestoreLine = regexp.MustCompile(`^[ \t]*[-*] \[([ xX])\] [^\n]*?<!-- pkgwarden:restore (\d+) (\S+) (\S+) (\S+) -->`)
	// batchLine gives the time of the entries below it.
	batchLine = regexp.MustCompile(`<!-- pkgwarden:batch (\S+) -->`)
	// batchID ends the visible text of a batch-format line.
	batchID = regexp.MustCompile(`^ id [0-9]+$`)
)

// restoreMarker is the hidden end of a box's line.
func restoreMarker(id int64, seal string) string {
	if seal != "" {
		return restoreMarkerPrefix + strconv.FormatInt(id, 10) + " " + seal + " -->"
	}
	return restoreMarkerPrefix + strconv.FormatInt(id, 10) + " -->"
}

// batchHeading is the line above the entries deleted at t in the batch
// format, which bodies no longer use; tests write it as old bodies held it.
func batchHeading(t time.Time) string {
	t = t.UTC()
	return "**Deleted " + t.Format("2006-01-02 15:04 UTC") + "** " + batchMarkerPrefix + t.Format(time.RFC3339) + " -->\n"
}

// ParseRestorable reads the restorable deletions back from a report body,
// in body order, with the state of their checkboxes. Lines whose marker is
// damaged, and current-format lines with no batch line above them, are
// skipped; an id listed twice counts once (the first).
func ParseRestorable(body string) []Restorable {
	body = lf(body)
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

// parseLine reads a line of the current or the batch format; m is
// restoreLine's match, batch the time of the batch line above it.
func parseLine(m []string, batch time.Time) (Restorable, bool) {
	id, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil || id <= 0 {
		return Restorable{}, false
	}
	at := batch
	if m[5] != "" {
		if at, err = time.Parse(time.RFC3339, m[5]); err != nil {
			return Restorable{}, false
		}
		at = at.UTC()
	}
	if at.IsZero() {
		return Restorable{}, false
	}
	e := Restorable{ID: id, DeletedAt: at, Checked: m[1] != " ", seal: m[4]}
	if v, tags, ok := parseLabel(m[2]); ok {
		e.Version, e.Tags = v, tags
		return e, true
	}
	if v, tags, ok := parseBatchLabel(m[2]); ok {
		// Written in the batch format: rendered again in the current one.
		e.Version, e.Tags = v, tags
		return e, true
	}
	// Edited by hand: kept as it is.
	e.shown = m[2]
	return e, true
}

// parseBatchLabel reads version and tags from a line of the batch format:
// "`sha256:0123456789ab…` (pr-1, latest +2) id 7".
func parseBatchLabel(shown string) (version string, tags []string, ok bool) {
	rest, ok := strings.CutPrefix(shown, "`")
	if !ok {
		return "", nil, false
	}
	v, after, ok := strings.Cut(rest, "`")
	if !ok || v == "" {
		return "", nil, false
	}
	if t, ok := strings.CutPrefix(after, " ("); ok {
		t, after, ok = strings.Cut(t, ")")
		if !ok {
			return "", nil, false
		}
		for _, tag := range strings.Split(t, ", ") {
			if i := strings.LastIndex(tag, " +"); i >= 0 {
				tag = tag[:i]
			}
			tags = append(tags, tag)
		}
	}
	if !batchID.MatchString(after) {
		return "", nil, false
	}
	return v, tags, true
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

// restoredEntry is a version pkgwarden brought back, listed in the body's
// "Restored" section until GitHub's restore window has passed since its
// deletion's restore, or the version is no longer listed.
type restoredEntry struct {
	ID         int64
	Version    string
	Tags       []string
	RestoredAt time.Time
	// shown is the visible text of a line that could not be read back as
	// written (edited by hand), kept as it was.
	shown string
}

// restoredLine is a line of the "Restored" section.
var restoredLine = regexp.MustCompile(`^- (.*?) ?<!-- pkgwarden:restored (\d+) ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z) -->\r?$`)

// restoredLineText is the line of a restored version: tag (or version),
// when restored, short digest, and a hidden marker with id and time.
func restoredLineText(e restoredEntry, now time.Time) string {
	shown := e.shown
	if shown == "" {
		shown = versionLabel(e.Version, e.Tags, "restored "+age(e.RestoredAt, now))
	}
	return "- " + shown + " <!-- pkgwarden:restored " + strconv.FormatInt(e.ID, 10) + " " + e.RestoredAt.UTC().Truncate(time.Second).Format(time.RFC3339) + " -->\n"
}

// parseRestored reads the "Restored" section's entries back from a body.
func parseRestored(body string) []restoredEntry {
	body = lf(body)
	var out []restoredEntry
	seen := map[int64]bool{}
	for _, line := range strings.Split(body, "\n") {
		m := restoredLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || id <= 0 || seen[id] {
			continue
		}
		at, err := time.Parse(time.RFC3339, m[3])
		if err != nil {
			continue
		}
		seen[id] = true
		e := restoredEntry{ID: id, RestoredAt: at.UTC()}
		if v, tags, ok := parseLabel(m[1]); ok {
			e.Version, e.Tags = v, tags
		} else {
			e.shown = m[1]
		}
		out = append(out, e)
	}
	return out
}

// mergeRestored moves the entries of ids from list (the restorable
// deletions before the restore) into restored (newest first), and drops from restored what is restorable again, what a run no
// longer lists (listed nil: unknown, nothing dropped), and what was
// restored a restore window ago.
func mergeRestored(restored []restoredEntry, list []Restorable, ids []int64, listed map[int64]bool, now time.Time) []restoredEntry {
	back := map[int64]bool{}
	for _, id := range ids {
		back[id] = true
	}
	restorable := map[int64]bool{}
	for _, e := range list {
		restorable[e.ID] = !back[e.ID]
	}
	var out []restoredEntry
	seen := map[int64]bool{}
	add := func(e restoredEntry) {
		if seen[e.ID] || restorable[e.ID] || now.Sub(e.RestoredAt) >= RestoreWindow || listed != nil && !listed[e.ID] {
			return
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	var moved []restoredEntry
	for _, e := range list {
		if back[e.ID] {
			moved = append(moved, restoredEntry{ID: e.ID, Version: e.Version, Tags: e.Tags, RestoredAt: now.Truncate(time.Second), shown: restoredShown(e)})
			delete(back, e.ID)
		}
	}
	for _, e := range moved {
		add(e)
	}
	// Restored ids the list did not hold (dropped for size, restored by
	// a command of an older body) are shown by id.
	for _, e := range restored {
		delete(back, e.ID) // restored already: listed as it was
	}
	for _, id := range ids {
		if back[id] {
			add(restoredEntry{ID: id, RestoredAt: now.Truncate(time.Second), shown: "id " + strconv.FormatInt(id, 10)})
		}
	}
	for _, e := range restored {
		add(e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RestoredAt.After(out[j].RestoredAt) })
	return out
}

// restoredShown keeps the text of a box edited by hand when it moves to
// the restored versions.
func restoredShown(e Restorable) string {
	if e.shown != "" && e.Version == "" {
		return e.shown
	}
	return ""
}
