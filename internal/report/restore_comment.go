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
// comment per run on the package's report issue. A restore a person asked
// for says who asked and what came back ("@alice asked: restored pr-57 (id
// 124).") and is the answer to the request too: it carries the answer's
// marker, and what else became of the request. An automatic restore (the
// rules' restore block bringing back what was deleted outside pkgwarden)
// says so, with a "this deletion was intentional" box under every version
// (or package) restored on its own: the box is for telling pkgwarden it
// was wrong, which a person who asked has no need of.

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
	Trigger string
	// AskedBy is the login of the person whose request the run carried
	// out; "" for an automatic restore.
	AskedBy  string
	Restored []Restored
	// Replies are what else became of the person's request (the commands
	// that restored nothing, the names that fit no version), said in
	// the same comment: it is the request's one answer.
	Replies []AnswerPart
	// Problem says what kept a wanted restore from happening, "" when
	// nothing did.
	Problem string
	// Healed are the broken images the run healed (restore.broken).
	Healed []Healed
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

// renderRestoreComment says what a restore run did and why.
func renderRestoreComment(marker string, run RestoreRun, seal Seal) string {
	var b strings.Builder
	b.WriteString(marker + "\n")
	if run.AskedBy != "" {
		renderAskedRestore(&b, run)
		return b.String()
	}
	if len(run.Restored) == 0 {
		// Only a problem to tell (a reused namespace): nothing to undo.
		fmt.Fprintf(&b, "**pkgwarden restored nothing** (trigger: %s).\n\n**Not restored:** %s\n", oneLine(run.Trigger), oneLine(run.Problem))
		return b.String()
	}
	why := "the rules' `restore` block brings back what was deleted outside pkgwarden"
	if len(run.Healed) > 0 && !slices.ContainsFunc(run.Restored, func(e Restored) bool { return !strings.Contains(e.Reason, "restore.broken") }) {
		// Only healed parts: a restore.tags or restore.package restore
		// beside them keeps the general words.
		why = "`restore.broken` brings back the deleted parts of images still in use"
	}
	renderHealed(&b, run.Healed)
	fmt.Fprintf(&b, "**Restored automatically** (no one asked: %s):\n\n", why)
	for _, e := range run.Restored {
		// A package's box names the package's id: no version has it.
		box := e.ID
		if e.ID == 0 {
			box = e.PackageID
		} else if e.Along {
			box = 0
		}
		fmt.Fprintf(&b, "- %s: %s\n", restoredName(e), oneLine(e.Reason))
		if box != 0 {
			fmt.Fprintf(&b, "  - [ ] this deletion was intentional (tick to delete it again and never restore it automatically) %s\n", intentionalMarker(seal, run.Package, box))
		}
	}
	if run.Problem != "" {
		fmt.Fprintf(&b, "\n**Not restored:** %s\n", oneLine(run.Problem))
	}
	b.WriteString("\nComment `/pkgwarden forget <id>` to delete a restored version again for good.\n")
	if slices.ContainsFunc(run.Restored, func(e Restored) bool { return e.ID == 0 && e.PackageID != 0 }) {
		b.WriteString("For a restored package, `/pkgwarden forget package` (or its id) deletes it again for good.\n")
	}
	return b.String()
}

// renderAskedRestore says what came back of what run.AskedBy asked, and
// what else became of the request; it ends with the request's answer
// marker, so that the request is answered once.
func renderAskedRestore(b *strings.Builder, run RestoreRun) {
	var asked, along []string
	for _, e := range run.Restored {
		if e.Along {
			along = append(along, fmt.Sprintf("- %s: %s", restoredName(e), oneLine(e.Reason)))
		} else {
			asked = append(asked, restoredName(e))
		}
	}
	what := "nothing"
	if len(asked) > 0 {
		what = strings.Join(asked, ", ")
	}
	fmt.Fprintf(b, "@%s asked: restored %s", run.AskedBy, what)
	if len(along) > 0 {
		fmt.Fprintf(b, ", and with %s:\n\n%s\n", plural(len(along), "it", "them"), strings.Join(along, "\n"))
	} else {
		b.WriteString(".\n")
	}
	if replies := answerText(run.Replies); replies != "" {
		b.WriteString("\n" + replies + "\n")
	}
	if run.Problem != "" {
		fmt.Fprintf(b, "\n**Not restored:** %s\n", oneLine(run.Problem))
	}
	if len(run.Restored) > 0 {
		b.WriteString("\nComment `/pkgwarden forget <id>` to delete a restored version again for good.\n")
	}
	b.WriteString("\n" + answerMarker(run.ID) + "\n")
}

// restoredName names a restored version for people: its tags ("pr-57
// (id 124)"), else its short digest or version, and its id; a package by
// its name and id.
func restoredName(e Restored) string {
	if e.ID == 0 {
		return fmt.Sprintf("the package %s (id %d)", codeWord(e.Version), e.PackageID)
	}
	var names []string
	for _, t := range e.Tags {
		names = append(names, plainName(t))
	}
	if len(names) == 0 {
		names = append(names, plainName(shortName(e.Version)))
	}
	return fmt.Sprintf("%s (id %d)", strings.Join(names, ", "), e.ID)
}

// plainName shows a tag, digest or version as plain text when it is made
// of letters, digits and ".", "_", "-", "+" and ":" only (every OCI tag,
// digest and semantic version is), in a code span otherwise.
func plainName(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-+:", c) >= 0) || i == 0 && (c == '_' || c == '-') {
			return "`" + quoteLine(oneLine(s)) + "`"
		}
	}
	if s == "" {
		return "untagged"
	}
	return s
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
	for _, m := range intentionalLine.FindAllStringSubmatch(lf(body), -1) {
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
