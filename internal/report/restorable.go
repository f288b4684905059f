package report

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RestoreWindow is how long GitHub keeps a deleted version restorable.
const RestoreWindow = 30 * 24 * time.Hour

// Restorable is a deleted version listed in a report body with a restore
// checkbox.
type Restorable struct {
	ID int64
	// Version is the digest for containers, the version string otherwise.
	Version   string
	Tags      []string
	DeletedAt time.Time
	// Checked is true when the box is ticked.
	Checked bool
}

// restoreMarker is the hidden part of a checkbox line. Fields are space
// separated and query-escaped; tags are comma-joined, "-" when none.
const restoreMarkerPrefix = "<!-- pkgwarden:restore "

var restoreLine = regexp.MustCompile(`(?m)^[ \t]*[-*] \[([ xX])\] [^\n]*?<!-- pkgwarden:restore (\d+) (\S+) (\S+) (\S+) -->`)

func restoreMarker(e Restorable) string {
	tags := "-"
	if len(e.Tags) > 0 {
		esc := make([]string, len(e.Tags))
		for i, t := range e.Tags {
			esc[i] = escapeField(t)
		}
		tags = strings.Join(esc, ",")
	}
	version := escapeField(e.Version)
	if version == "" {
		version = "-"
	}
	return restoreMarkerPrefix + strconv.FormatInt(e.ID, 10) + " " + e.DeletedAt.UTC().Format(time.RFC3339) + " " + version + " " + tags + " -->"
}

// escapeField query-escapes a marker field; a lone "-" is escaped too,
// because "-" alone means "none".
func escapeField(v string) string {
	if v == "-" {
		return "%2D"
	}
	return url.QueryEscape(v)
}

// ParseRestorable reads the restorable deletions back from a report body,
// in body order, with the state of their checkboxes. Lines whose marker is
// damaged are skipped; an id listed twice counts once (the first).
func ParseRestorable(body string) []Restorable {
	var out []Restorable
	seen := map[int64]bool{}
	for _, m := range restoreLine.FindAllStringSubmatch(body, -1) {
		id, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || seen[id] {
			continue
		}
		at, err := time.Parse(time.RFC3339, m[3])
		if err != nil {
			continue
		}
		e := Restorable{ID: id, DeletedAt: at.UTC(), Checked: m[1] != " "}
		if m[4] != "-" {
			if e.Version, err = url.QueryUnescape(m[4]); err != nil {
				continue
			}
		}
		if m[5] != "-" {
			bad := false
			for _, t := range strings.Split(m[5], ",") {
				v, err := url.QueryUnescape(t)
				if err != nil {
					bad = true
					break
				}
				e.Tags = append(e.Tags, v)
			}
			if bad {
				continue
			}
		}
		seen[id] = true
		out = append(out, e)
	}
	return out
}

// Ticked returns the ids whose restore box is ticked in body, ascending.
func Ticked(body string) []int64 {
	var ids []int64
	for _, e := range ParseRestorable(body) {
		if e.Checked {
			ids = append(ids, e.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
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
