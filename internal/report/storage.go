package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Freed is what a run's deletions free in the registry, as the summary
// line says it: "frees ≈ 1.2 GiB", or "size unknown" when it could not be
// measured (not a container package, a manifest without sizes).
type Freed struct {
	Bytes int64 `json:"bytes"`
	Known bool  `json:"known"`
}

// Bytes says an amount of storage in IEC units as people read it:
// "512 B", "3.5 KiB", "1.2 GiB".
func Bytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u:u+1] + "iB"
}

// freedPart is the summary line's part for f; would says the run only
// previewed its deletions.
func freedPart(f Freed, would bool) string {
	switch {
	case !f.Known:
		return "size unknown"
	case would:
		return "would free ≈ " + Bytes(f.Bytes)
	}
	return "frees ≈ " + Bytes(f.Bytes)
}

var (
	freedPartRE = regexp.MustCompile(`^(?:would free|frees) ≈ ([0-9.]+) (B|[KMGTPE]iB)$`)
	unitShift   = map[string]uint{"B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40, "PiB": 50, "EiB": 60}
)

// parseFreed reads a part freedPart wrote back, to the precision shown.
func parseFreed(s string) (Freed, bool) {
	if s == "size unknown" {
		return Freed{}, true
	}
	m := freedPartRE.FindStringSubmatch(s)
	if m == nil {
		return Freed{}, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return Freed{}, false
	}
	return Freed{Bytes: int64(v * float64(uint64(1)<<unitShift[m[2]])), Known: true}, true
}

// storageOf is what run measured: its own Storage, else its plan's.
func storageOf(run *Run) rules.Storage {
	if run.Storage != (rules.Storage{}) {
		return run.Storage
	}
	return run.Decision.Storage
}

// measured reports whether anybody measured the run's storage: a Run
// built without it (a body rewritten without a plan) says nothing of it.
func measured(s rules.Storage) bool { return s != (rules.Storage{}) }

// runFreed is the summary line's Freed of a run that deleted (or would
// delete) something, nil when it says nothing of storage.
func runFreed(run *Run, deletions int) *Freed {
	s := storageOf(run)
	if deletions == 0 || !measured(s) {
		return nil
	}
	return &Freed{Bytes: s.Frees, Known: s.Known}
}

// storageMarker carries the bytes pkgwarden's runs freed in all from one
// body to the next: the total, whether a run could not measure what it
// freed (the total is then a lower bound), and the id of the last run
// counted, so that a run reported twice counts once. It is read only at
// the end of the paragraph's own line: text echoed elsewhere in the body
// (a reason quoting a file) cannot pass for it.
var storageMarker = regexp.MustCompile(`(?m)^\*\*Storage\*\*: [^\n]* <!-- pkgwarden:storage freed=(\d+) partial=(true|false) run=(\S+) -->$`)

// storageTotal is the storage a report body carries across runs.
type storageTotal struct {
	freed   int64
	partial bool
	run     string // id of the last run counted
	seen    bool   // the body carried a total
}

func parseStorageTotal(body string) storageTotal {
	m := storageMarker.FindStringSubmatch(body)
	if m == nil {
		return storageTotal{}
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return storageTotal{}
	}
	return storageTotal{freed: n, partial: m[2] == "true", run: m[3], seen: true}
}

// addRun adds what run freed, once per run id.
func (t storageTotal) addRun(run *Run, deleted int) storageTotal {
	if run.mode() != modeRun || deleted == 0 || t.run == idOf(run.ID) {
		return t
	}
	s := storageOf(run)
	if !measured(s) || (!s.Known && !t.seen) {
		// A total starts with a run that measured what it freed: a
		// package never measured (npm, ...) carries none.
		return t
	}
	if s.Known {
		t.freed += s.Frees
	} else {
		t.partial = true
	}
	t.run, t.seen = idOf(run.ID), true
	return t
}

// storageParagraph is the body's paragraph under the summary line: what
// pkgwarden's runs freed in all and what the package held after the last
// run (restores since are not counted), with the
// hidden marker that carries the total. Empty when the package's storage
// was never measured.
func storageParagraph(run *Run, t storageTotal) string {
	s := storageOf(run)
	if !t.seen && (!measured(s) || !s.Known) {
		return ""
	}
	var parts []string
	if t.seen {
		at := "≈ "
		if t.partial {
			at = "at least ≈ "
		}
		parts = append(parts, "pkgwarden's runs freed "+at+Bytes(t.freed)+" in all")
	}
	switch {
	case run.mode() == modeUntouched || !measured(s):
		// An untouched package's manifests were not all read.
	case !s.Known:
		parts = append(parts, "the package's size is unknown ("+oneLine(s.Why)+")")
	case run.mode() == modeRun:
		parts = append(parts, "the package held ≈ "+Bytes(s.After)+" after the last run")
	default:
		parts = append(parts, "the package held ≈ "+Bytes(s.Before)+" at the last run")
	}
	if len(parts) == 0 {
		return ""
	}
	marker := ""
	if t.seen {
		marker = fmt.Sprintf(" <!-- pkgwarden:storage freed=%d partial=%t run=%s -->", t.freed, t.partial, t.run)
	}
	return "\n**Storage**: " + strings.Join(parts, " · ") + marker + "\n"
}

// commentFreed is the clause a run's comment adds to its first line:
// ", freeing ≈ 1.2 GiB", ", size unknown", or "".
func commentFreed(run *Run, deletions int) string {
	f := runFreed(run, deletions)
	if f == nil {
		return ""
	}
	if !f.Known {
		return " (size unknown)"
	}
	return ", freeing ≈ " + Bytes(f.Bytes)
}
