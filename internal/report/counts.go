package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Counts are the numbers pkgwarden tells about one package, in the words
// the report issue, the terminal and --json share. Within one run every
// listed version is in exactly one of Deleted, WouldDelete, Refused and
// Kept; Restorable and Restored count across runs (the deletions still
// listed as restore boxes within GitHub's 30 days, and the versions
// pkgwarden brought back).
type Counts struct {
	// Deleted: deleted by this run.
	Deleted int `json:"deleted"`
	// WouldDelete: what a dry run or a paused run would have deleted.
	WouldDelete int `json:"would_delete"`
	// Refused: planned, but GitHub refused the deletion (listed once, with
	// GitHub's reason).
	Refused int `json:"refused"`
	// Kept: kept by the rules (a refused version is not also kept).
	Kept int `json:"kept"`
	// Restorable: deletions still offered as restore boxes.
	Restorable int `json:"restorable"`
	// Restored: versions pkgwarden brought back.
	Restored int `json:"restored"`
	// Frees: what the run's deletions free in the registry (would free,
	// for a preview); nil when the run says nothing of storage.
	Frees *Freed `json:"frees,omitempty"`
}

// CountRun counts one run. Restorable is what this run deleted and
// Restored what it lists as restored: the report issue adds the deletions
// and restores of earlier runs it still lists.
func CountRun(run Run) Counts {
	v := classify(&run)
	c := Counts{Refused: len(v.refused), Kept: len(v.kept), Restored: len(run.Restored)}
	switch run.mode() {
	case modeDryRun, modePaused:
		c.WouldDelete = len(v.would)
	default:
		c.Deleted, c.Restorable = len(v.deleted), len(v.deleted)
	}
	c.Frees = runFreed(&run, c.Deleted+c.WouldDelete)
	return c
}

// Line is the counts as the report's summary line shows them:
// "Deleted 7 · 5 restorable · restored 2 · refused 1 · kept 13 · frees ≈
// 1.2 GiB". Counts of zero are left out, except kept; the bytes freed
// come last, when known to the run.
func (c Counts) Line() string {
	var parts []string
	add := func(n int, s string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(s, n))
		}
	}
	add(c.Deleted, "deleted %d")
	add(c.WouldDelete, "would delete %d")
	add(c.Restorable, "%d restorable")
	add(c.Restored, "restored %d")
	add(c.Refused, "refused %d")
	parts = append(parts, fmt.Sprintf("kept %d", c.Kept))
	if c.Frees != nil {
		parts = append(parts, freedPart(*c.Frees, c.Deleted == 0 && c.WouldDelete > 0))
	}
	s := strings.Join(parts, " · ")
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// countPart reads one part of a Line back.
var countPart = regexp.MustCompile(`^(?i:(deleted|would delete|restored|refused|kept) (\d+)|(\d+) restorable)$`)

// parseCounts reads a Line back; ok is false when s is not one.
func parseCounts(s string) (Counts, bool) {
	var c Counts
	for _, p := range strings.Split(s, " · ") {
		if f, ok := parseFreed(p); ok {
			c.Frees = &f
			continue
		}
		m := countPart.FindStringSubmatch(p)
		if m == nil {
			return Counts{}, false
		}
		if m[3] != "" {
			c.Restorable, _ = strconv.Atoi(m[3])
			continue
		}
		n, _ := strconv.Atoi(m[2])
		switch strings.ToLower(m[1]) {
		case "deleted":
			c.Deleted = n
		case "would delete":
			c.WouldDelete = n
		case "restored":
			c.Restored = n
		case "refused":
			c.Refused = n
		case "kept":
			c.Kept = n
		}
	}
	return c, true
}

// verdicts is a run's versions, each in one group.
type verdicts struct {
	deleted, would, kept []rules.Entry
	refused              []rules.Entry
}

// classify puts every version of run in one group: deleted (by this run),
// would delete (dry run, paused), refused (GitHub's refusals, once each)
// and kept (the rest of the plan's keeps and the deletions the run kept
// after all), each id once, in the first group that has it.
func classify(run *Run) verdicts {
	var v verdicts
	seen := map[int64]bool{}
	take := func(list []rules.Entry, into *[]rules.Entry) {
		for _, e := range list {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			*into = append(*into, e)
		}
	}
	d := &run.Decision
	switch run.mode() {
	case modeDryRun, modePaused:
		take(run.Skipped, &v.refused)
		take(d.Delete, &v.would)
	default:
		take(run.Deleted, &v.deleted)
		take(run.Skipped, &v.refused)
	}
	take(d.Keep, &v.kept)
	take(run.Kept, &v.kept)
	return v
}
