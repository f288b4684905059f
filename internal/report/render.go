package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Limits of what is written.
const (
	// MaxBodyChars is GitHub's limit on issue and comment bodies.
	MaxBodyChars = 65536
	// bodyBudget leaves room under the limit for what GitHub or a person
	// may add around a body pkgwarden wrote (ticking a box adds nothing).
	bodyBudget = MaxBodyChars - 536
	// FoldAfter is how many restorable deletions show before the rest is
	// folded in a <details> block.
	FoldAfter = 20
	// maxReasons is how many distinct reasons a summary lists per group.
	maxReasons = 15
	// maxTagShown is how much of a tag a list shows.
	maxTagShown = 30
	// maxListed is how many skipped versions the body lists one by one.
	maxListed = 20
)

// bodyMarker started package report bodies before their first line named
// the package (bodyMarkerOf); such bodies get the new line when rewritten.
const bodyMarker = "<!-- pkgwarden:report -->"

func runes(s string) int { return utf8.RuneCountInString(s) }

// shortVersion names a version for people: a digest shortened to 12 hex
// digits, a long version string cut.
func shortVersion(v string) string {
	if algo, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(algo, "sha") {
		if short := rules.ShortDigest(v); short != v {
			return short + "…"
		}
	}
	if runes(v) > 60 {
		r := []rune(v)
		return string(r[:60]) + "…"
	}
	return v
}

// label is how a version appears in a list: `sha256:0123456789ab…` (pr-1, latest).
func label(version string, tags []string) string {
	s := "`" + strings.ReplaceAll(shortVersion(version), "`", "'") + "`"
	if len(tags) > 0 {
		shown := slices.Clone(tags)
		more := ""
		if len(shown) > 3 {
			shown, more = shown[:3], fmt.Sprintf(" +%d", len(tags)-3)
		}
		// A tag may be 128 characters long: lines of lists stay short.
		for i, t := range shown {
			if runes(t) > maxTagShown {
				shown[i] = string([]rune(t)[:maxTagShown]) + "…"
			}
		}
		s += " (" + strings.Join(shown, ", ") + more + ")"
	}
	return s
}

// oneLine keeps a free text (reason, notice, error message) on one
// Markdown line and stops it from closing an HTML comment or a code span.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "-->", "-- >")
	if runes(s) > 300 {
		s = string([]rune(s)[:300]) + "…"
	}
	return s
}

type reasonCount struct {
	reason string
	n      int
}

// byReason counts entries per reason, most frequent first.
func byReason(entries []rules.Entry) []reasonCount {
	m := map[string]int{}
	for _, e := range entries {
		m[e.Reason]++
	}
	out := make([]reasonCount, 0, len(m))
	for r, n := range m {
		out = append(out, reasonCount{r, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].reason < out[j].reason
	})
	return out
}

func writeReasons(b *strings.Builder, entries []rules.Entry) {
	rc := byReason(entries)
	for i, c := range rc {
		if i == maxReasons {
			rest := 0
			for _, c := range rc[i:] {
				rest += c.n
			}
			fmt.Fprintf(b, "  - %d for %d other reasons\n", rest, len(rc)-i)
			break
		}
		reason := c.reason
		if reason == "" {
			reason = "no reason given"
		}
		fmt.Fprintf(b, "  - %d × %s\n", c.n, oneLine(reason))
	}
}

// mode is how a run is told: it decides wording of body and comment.
type mode int

const (
	modeRun mode = iota
	modeDryRun
	modePaused
	modeUntouched
)

func (run *Run) mode() mode {
	switch {
	case run.Decision.Untouched != "":
		return modeUntouched
	case run.Decision.DryRun:
		return modeDryRun
	case run.Paused:
		return modePaused
	}
	return modeRun
}

// renderSummary writes the "last run" part of the body; it holds no time
// and no run id so that an unchanged state renders the same text.
func renderSummary(b *strings.Builder, run *Run) {
	d := &run.Decision
	b.WriteString("### Last run\n\n")
	switch run.mode() {
	case modeUntouched:
		fmt.Fprintf(b, "> [!WARNING]\n> **Nothing was deleted**: this package is left untouched because %s.\n\n", oneLine(d.Untouched))
	case modeDryRun:
		fmt.Fprintf(b, "> [!NOTE]\n> **Dry run: this is a preview.** Nothing was deleted; %d %s would be deleted. Set `dry_run: false` to prune.\n\n", len(d.Delete), plural(len(d.Delete), "version", "versions"))
	case modePaused:
		fmt.Fprintf(b, "> [!IMPORTANT]\n> **Paused**: pkgwarden runs with `PKGWARDEN_PAUSED` set, so no deletion was made; %d %s held back.\n\n", len(d.Delete), plural(len(d.Delete), "deletion was", "deletions were"))
	}
	if d.Origin != "" {
		fmt.Fprintf(b, "Rules: `%s`", oneLine(d.Origin))
		if d.Rule >= 0 {
			fmt.Fprintf(b, ", rule %d", d.Rule+1)
		}
		b.WriteString("\n\n")
	}
	switch run.mode() {
	case modeDryRun:
		fmt.Fprintf(b, "- **Would delete: %d**\n", len(d.Delete))
		writeReasons(b, d.Delete)
	case modePaused:
		fmt.Fprintf(b, "- **Held back: %d**\n", len(d.Delete))
		writeReasons(b, d.Delete)
	}
	if len(run.Skipped) > 0 {
		fmt.Fprintf(b, "- **Skipped: %d**\n", len(run.Skipped))
		for i, e := range run.Skipped {
			if i == maxListed {
				fmt.Fprintf(b, "  - and %d more\n", len(run.Skipped)-i)
				break
			}
			fmt.Fprintf(b, "  - %s id %d: %s\n", label(e.Version, e.Tags), e.ID, oneLine(e.Reason))
		}
	}
	fmt.Fprintf(b, "- **Kept: %d**\n", len(d.Keep))
	writeReasons(b, d.Keep)
	if len(d.Notices) > 0 {
		b.WriteString("\nNotices:\n")
		for _, n := range d.Notices {
			fmt.Fprintf(b, "- %s\n", oneLine(n))
		}
	}
}

// The block saying what the last deleting run deleted is carried over
// verbatim from the previous body by runs that delete nothing, so that such
// runs render an unchanged body.
const (
	deletedOpen  = "<!-- pkgwarden:deleted -->"
	deletedClose = "<!-- /pkgwarden:deleted -->"
	noDeletions  = deletedOpen + "\nNothing deleted yet.\n" + deletedClose + "\n"
)

// renderDeleted is the block of a run that deleted something.
func renderDeleted(deleted []rules.Entry, at time.Time) string {
	var b strings.Builder
	b.WriteString(deletedOpen + "\n")
	fmt.Fprintf(&b, "%d %s deleted on %s:\n\n", len(deleted), plural(len(deleted), "version", "versions"), at.UTC().Format("2006-01-02 15:04 UTC"))
	writeReasons(&b, deleted)
	b.WriteString(deletedClose + "\n")
	return strings.ReplaceAll(b.String(), "\n  - ", "\n- ")
}

// carriedDeleted returns the deleted block of a previous body, or the
// "nothing yet" block.
func carriedDeleted(body string) string {
	i := strings.Index(body, deletedOpen)
	if i < 0 {
		return noDeletions
	}
	j := strings.Index(body[i:], deletedClose)
	if j < 0 {
		return noDeletions
	}
	return body[i:i+j+len(deletedClose)] + "\n"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// restoreLineText is the checkbox line of e: what people need to know
// which version it is, and the id in a short hidden marker. Its time is on
// the batch line above it.
func restoreLineText(e Restorable) string {
	box := " "
	if e.Checked {
		box = "x"
	}
	shown := e.shown
	if shown == "" {
		shown = oneLine(fmt.Sprintf("%s id %d", label(e.Version, e.Tags), e.ID))
	}
	return "- [" + box + "] " + shown + " " + restoreMarker(e.ID, e.seal) + "\n"
}

// renderBody renders a package report body from the run, the block saying
// what was last deleted, and the restorable deletions (newest first). It returns the body and the entries it holds:
// the oldest are dropped when the body would pass bodyBudget.
func renderBody(run *Run, deletedBlock string, list []Restorable) (string, []Restorable) {
	var head strings.Builder
	head.WriteString(bodyMarkerOf(run.Package) + "\n")
	fmt.Fprintf(&head, "## pkgwarden report: %s `%s/%s`\n\n", run.Package.Type, run.Package.Owner, run.Package.Name)
	renderSummary(&head, run)
	head.WriteString("\n### Last deletions\n\n")
	head.WriteString(deletedBlock)
	head.WriteString(listHeading)
	return finishBody(head.String(), list)
}

// listHeading starts the list of restorable deletions; everything before it
// is the head of the body, which MarkRestored keeps as it is.
const listHeading = "\n### Restorable deletions\n\n"

// finishBody appends the restorable deletions (newest first) to head,
// folding after FoldAfter entries and dropping the oldest past bodyBudget.
// It returns the body and the entries it holds.
func finishBody(head string, list []Restorable) (string, []Restorable) {
	if len(list) == 0 {
		return head + "None.\n", nil
	}
	head += "Tick a box to restore that version (GitHub keeps deleted versions for 30 days), or comment `/pkgwarden restore <id>` or `/pkgwarden restore all`.\n"

	// Reserve room for the fold and the dropped note, whose widths depend
	// on counts of at most 7 digits.
	const reserve = 200
	budget := bodyBudget - runes(head) - reserve
	// A batch line goes above the first entry, the first folded one, and
	// each entry deleted at another time than the one before.
	batchStart := func(i int) bool {
		return i == 0 || i == FoldAfter || !list[i].DeletedAt.Truncate(time.Second).Equal(list[i-1].DeletedAt.Truncate(time.Second))
	}
	var lines []string
	for i, e := range list {
		l := restoreLineText(e)
		if batchStart(i) {
			l = "\n" + batchHeading(e.DeletedAt) + "\n" + l
		}
		n := runes(l)
		if n > budget {
			break
		}
		budget -= n
		lines = append(lines, l)
	}
	kept := list[:len(lines)]
	dropped := len(list) - len(lines)

	var b strings.Builder
	b.WriteString(head)
	for i, l := range lines {
		if i == FoldAfter {
			fmt.Fprintf(&b, "\n<details><summary>%d older %s</summary>\n", len(lines)-FoldAfter, plural(len(lines)-FoldAfter, "deletion", "deletions"))
		}
		b.WriteString(l)
	}
	if len(lines) > FoldAfter {
		b.WriteString("\n</details>\n")
	}
	if dropped > 0 {
		fmt.Fprintf(&b, "\n%d older %s no longer listed here to keep this issue under GitHub's size limit.\n", dropped, plural(dropped, "deletion is", "deletions are"))
	}
	return b.String(), kept
}

// runMarker is the hidden first line of a run's comment.
func runMarker(runID string) string {
	return "<!-- pkgwarden:run " + strings.ReplaceAll(oneLine(runID), " ", "_") + " -->"
}

// renderComment renders the comment of one run: what it deleted (or would,
// or held back) with reasons, and what it skipped and why.
func renderComment(run *Run, at time.Time) string {
	var b strings.Builder
	b.WriteString(runMarker(run.ID) + "\n")
	when := at.UTC().Format("2006-01-02 15:04 UTC")
	d := &run.Decision
	var list []rules.Entry
	var heading string
	switch run.mode() {
	case modeDryRun:
		fmt.Fprintf(&b, "**Dry run (preview)** `%s`, %s: %d %s would be deleted; nothing was deleted.\n", oneLine(run.ID), when, len(d.Delete), plural(len(d.Delete), "version", "versions"))
		list, heading = d.Delete, "Would delete"
	case modePaused:
		fmt.Fprintf(&b, "**Paused** (`PKGWARDEN_PAUSED`) run `%s`, %s: %d %s held back; nothing was deleted.\n", oneLine(run.ID), when, len(d.Delete), plural(len(d.Delete), "deletion", "deletions"))
		list, heading = d.Delete, "Held back"
	case modeUntouched:
		fmt.Fprintf(&b, "**Run** `%s`, %s: nothing was deleted: %s.\n", oneLine(run.ID), when, oneLine(d.Untouched))
	default:
		fmt.Fprintf(&b, "**Run** `%s`, %s: deleted %d, skipped %d.\n", oneLine(run.ID), when, len(run.Deleted), len(run.Skipped))
		list, heading = run.Deleted, "Deleted"
	}
	// Lines stop before the comment would pass the budget.
	budget := bodyBudget - runes(b.String()) - 400
	writeList := func(title string, entries []rules.Entry) {
		if len(entries) == 0 {
			return
		}
		h := fmt.Sprintf("\n%s (%d):\n", title, len(entries))
		b.WriteString(h)
		budget -= runes(h)
		for i, e := range entries {
			l := fmt.Sprintf("- %s id %d: %s\n", label(e.Version, e.Tags), e.ID, oneLine(e.Reason))
			if runes(l) > budget {
				fmt.Fprintf(&b, "- and %d more\n", len(entries)-i)
				budget -= 40
				return
			}
			b.WriteString(l)
			budget -= runes(l)
		}
	}
	writeList(heading, list)
	writeList("Skipped", run.Skipped)
	return b.String()
}
