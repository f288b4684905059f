package report

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// The restore comment: what a restore run brought back and why, one
// comment per run on the package's report issue, with a "this deletion was
// intentional" box under every version (or package) restored on its own.

// Restored is one version (or package, ID 0) a restore run brought back.
type Restored struct {
	ID      int64
	Version string
	Tags    []string
	// Reason says what triggered it (the rule, who asked, its index).
	Reason string
	// PackageID is the restored package's id when ID is 0 (a package
	// restore): its "intentional" box and forget command name it.
	PackageID int64
	// Along says it came back with another restored version (a child of
	// a restored index, a referrer of a restored subject): it has no
	// "intentional" box of its own, the other's stands for it.
	Along bool
}

// RestoreRun is what one restore run did, as its comment tells it.
type RestoreRun struct {
	// ID is the run's id: the comment's marker carries it, so a retried
	// run comments once.
	ID      string
	Package rules.Package
	// Trigger is the run's reason ("sweep", "restore comment by @login").
	Trigger  string
	Restored []Restored
	// Problem says what kept a wanted restore from happening, "" when
	// nothing did.
	Problem string
}

// restoreRunMarker is the hidden first line of a restore run's comment.
func restoreRunMarker(runID string) string {
	return "<!-- pkgwarden:restore-run " + strings.ReplaceAll(runID, " ", "_") + " -->"
}

// NoteRestore adds run's comment to the package's report issue (opening
// the issue when there is none) and takes the versions it restored off the
// restorable deletions, as Note does: a retried run comments once. labels
// and assignees are the config's report.labels and report.assignees.
func (r *Reporter) NoteRestore(ctx context.Context, installation int64, labels, assignees []string, run RestoreRun) (Result, error) {
	var ids []int64
	for _, e := range run.Restored {
		if e.ID != 0 {
			ids = append(ids, e.ID)
		}
	}
	marker := restoreRunMarker(run.ID)
	return r.Note(ctx, installation, run.Package, labels, assignees, marker, renderRestoreComment(marker, run, r.seal), ids)
}

// renderRestoreComment says what a restore run did and why, with an
// "intentional" box for every version restored on its own.
func renderRestoreComment(marker string, run RestoreRun, seal Seal) string {
	var b strings.Builder
	b.WriteString(marker + "\n")
	if len(run.Restored) == 0 {
		// Only a problem to tell (a reused namespace): nothing to undo.
		fmt.Fprintf(&b, "**pkgwarden restored nothing** (trigger: %s).\n\n**Not restored:** %s\n", run.Trigger, run.Problem)
		return b.String()
	}
	fmt.Fprintf(&b, "**pkgwarden restored %d %s** (trigger: %s).\n\n", len(run.Restored), plural(len(run.Restored), "item", "items"), run.Trigger)
	for _, e := range run.Restored {
		// A package's box names the package's id: no version has it.
		box := e.ID
		if e.ID == 0 {
			fmt.Fprintf(&b, "- the package `%s` (id %d): %s\n", e.Version, e.PackageID, e.Reason)
			box = e.PackageID
		} else {
			tags := "untagged"
			if len(e.Tags) > 0 {
				tags = strings.Join(e.Tags, ", ")
			}
			fmt.Fprintf(&b, "- id %d `%s` (%s): %s\n", e.ID, shortName(e.Version), tags, e.Reason)
			if e.Along {
				box = 0
			}
		}
		if box != 0 {
			fmt.Fprintf(&b, "  - [ ] this deletion was intentional (tick to delete it again and never restore it automatically) %s\n", intentionalMarker(seal, run.Package, box))
		}
	}
	if run.Problem != "" {
		fmt.Fprintf(&b, "\n**Not restored:** %s\n", run.Problem)
	}
	b.WriteString("\nComment `/pkgwarden forget <id>` to delete a restored version again for good.\n")
	if slices.ContainsFunc(run.Restored, func(e Restored) bool { return e.ID == 0 && e.PackageID != 0 }) {
		b.WriteString("For a restored package, `/pkgwarden forget package` (or its id) deletes it again for good.\n")
	}
	return b.String()
}

// shortName is a digest cut to "sha256:" and 12 hex digits, as the restore
// comment has always shown it; any other version whole.
func shortName(v string) string {
	if strings.HasPrefix(v, "sha256:") {
		return rules.ShortDigest(v)
	}
	return v
}

// intentionalLine is a "this deletion was intentional" box of a restore
// comment; its marker carries the id and the box's seal.
var intentionalLine = regexp.MustCompile(`(?m)^[ \t]*[-*] \[([ xX])\] [^\n]*<!-- pkgwarden:intentional (\d+)(?: ([A-Za-z0-9_-]+))? -->`)

// intentionalMarker is the hidden marker of id's intentional box.
func intentionalMarker(seal Seal, pkg rules.Package, id int64) string {
	if sig := seal.Sign(BoxIntentional, pkg, id); sig != "" {
		return fmt.Sprintf("<!-- pkgwarden:intentional %d %s -->", id, sig)
	}
	return fmt.Sprintf("<!-- pkgwarden:intentional %d -->", id)
}

// tickedIntentional returns the ids whose "this deletion was intentional"
// box is ticked in body, and whose seal verifies when verify.
func tickedIntentional(body string, seal Seal, pkg rules.Package, verify bool) []int64 {
	var out []int64
	for _, m := range intentionalLine.FindAllStringSubmatch(body, -1) {
		if m[1] == " " {
			continue
		}
		id, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || id <= 0 || slices.Contains(out, id) || verify && !seal.Verify(BoxIntentional, pkg, id, m[3]) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// NewlyTickedIntentional returns the ids of pkg's "this deletion was
// intentional" boxes of a restore comment ticked in to and not in from
// that pkgwarden wrote (their seal verifies), in the comment's order.
func (s Seal) NewlyTickedIntentional(pkg rules.Package, from, to string) []int64 {
	before := tickedIntentional(from, s, pkg, false)
	var out []int64
	for _, id := range tickedIntentional(to, s, pkg, true) {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}
