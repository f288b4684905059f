package configdiff

import (
	"fmt"
	"html"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/termtext"
)

// MaxMarkdown is the most characters Markdown writes: GitHub takes at
// most 65,535 in a check run's summary or text.
const MaxMarkdown = 65535

// Headline is the one-line verdict: what the change adds and removes,
// and whether it deserves review.
func (d Diff) Headline() string {
	if len(d.Errors) > 0 {
		return d.Verdict()
	}
	if len(d.Packages) == 0 {
		return fmt.Sprintf("no change to what pkgwarden would delete or restore in %d packages", d.Unchanged)
	}
	t := d.Totals
	parts := []string{fmt.Sprintf("%d more %s", t.Delete, plural(t.Delete, "deletion"))}
	if t.DeleteDeferred > 0 {
		parts[0] += fmt.Sprintf(" (%d deferred by max_deletions_per_run)", t.DeleteDeferred)
	}
	parts = append(parts, fmt.Sprintf("%d fewer", t.Keep))
	if t.RestoreStart+t.RestoreStop > 0 {
		parts = append(parts, fmt.Sprintf("%d %s start, %d stop", t.RestoreStart, plural(t.RestoreStart, "restore"), t.RestoreStop))
	}
	if t.Hands > 0 {
		parts = append(parts, fmt.Sprintf("%d %s hands", t.Hands, plural(t.Hands, "package changes", "packages change")))
	}
	s := fmt.Sprintf("%s, in %d of %d packages", strings.Join(parts, ", "), len(d.Packages), len(d.Packages)+d.Unchanged)
	return s + "; " + d.Verdict()
}

// Verdict says how the new deletions stand against
// policy.review_deletions_over.
func (d Diff) Verdict() string {
	if len(d.Errors) > 0 {
		return fmt.Sprintf("failure: the new rules cannot be loaded (%d %s), what they govern would be left untouched", len(d.Errors), plural(len(d.Errors), "error"))
	}
	if d.Review {
		return fmt.Sprintf("review: %d new deletions is over policy.review_deletions_over (%d)", d.Totals.Delete, d.ReviewOver)
	}
	return fmt.Sprintf("within policy.review_deletions_over (%d)", d.ReviewOver)
}

// WriteText prints the diff for a terminal: per package the deletions
// added (+) and removed (-), the restores started and stopped, then the
// totals and the verdict. Text from GitHub (tags, names) is printed
// without control characters.
func WriteText(w io.Writer, d Diff) error {
	ew := &termtext.ErrWriter{W: w}
	fmt.Fprintf(ew, "%s: %s → %s, %s's packages\n", d.File, termtext.Printable(d.OldName), termtext.Printable(d.NewName), d.Owner)
	for _, e := range d.Errors {
		fmt.Fprintf(ew, "error: %s\n", termtext.Printable(e.Error()))
	}
	for _, p := range d.Packages {
		fmt.Fprintf(ew, "\n%s\n", termtext.Printable(p.Ref()))
		if p.Hands {
			fmt.Fprintf(ew, "  changes hands: %s → %s\n", p.OldRules, p.NewRules)
		} else {
			fmt.Fprintf(ew, "  rules: %s\n", p.NewRules)
		}
		if p.Untouched != "" {
			fmt.Fprintf(ew, "  untouched: %s\n", termtext.Printable(p.Untouched))
		}
		for _, n := range p.Notices {
			fmt.Fprintf(ew, "  notice: %s\n", termtext.Printable(n))
		}
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		row := func(sign, action string, v Version) {
			if v.Deferred {
				action = "delete later"
			}
			fmt.Fprintf(tw, "  %s %s\t%d\t%s\t%s\t%s\n", sign, action, v.ID, termtext.Printable(shortVersion(v.Version)), termtext.Printable(tagList(v.Tags)), termtext.Printable(v.Reason))
		}
		for _, v := range p.Delete {
			row("+", "delete", v)
		}
		for _, v := range p.Keep {
			row("-", "delete", v)
		}
		for _, v := range p.RestoreStart {
			row("+", "restore", v)
		}
		for _, v := range p.RestoreStop {
			row("-", "restore", v)
		}
		_ = tw.Flush()
		fmt.Fprintf(ew, "  deletions: %s → %s%s\n", countText(p.Old), countText(p.New), dryRun(p.DryRun))
	}
	t := d.Totals
	fmt.Fprintf(ew, "\ntotals: deletions +%d (%d deferred) -%d; restores +%d -%d; %d changing hands; %d %s unchanged\n",
		t.Delete, t.DeleteDeferred, t.Keep, t.RestoreStart, t.RestoreStop, t.Hands, d.Unchanged, plural(d.Unchanged, "package"))
	fmt.Fprintf(ew, "all packages: %s → %s\n", countText(t.Old), countText(t.New))
	fmt.Fprintf(ew, "%s\n", d.Verdict())
	for _, n := range d.Notices {
		fmt.Fprintf(ew, "note: %s\n", termtext.Printable(n))
	}
	return ew.Err
}

func countText(c Count) string {
	if c.Deferred == 0 {
		return fmt.Sprintf("%d", c.ThisRun)
	}
	return fmt.Sprintf("%d (+%d deferred)", c.ThisRun, c.Deferred)
}

func dryRun(on bool) string {
	if on {
		return " (dry run: only reported)"
	}
	return ""
}

// Markdown renders the diff for a check run: the headline first, a table
// of totals, then each package folded in its own <details>. It stays
// under MaxMarkdown characters: rows that do not fit are counted, not
// listed, and every <details> it opens is closed. Text from GitHub is
// escaped and kept on one line.
func Markdown(d Diff) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**pkgwarden**: %s\n\n", mdText(d.Headline()))
	fmt.Fprintf(&b, "`%s`: %s → %s, over the current listings of %s's packages.\n\n", mdCode(d.File), mdText(d.OldName), mdText(d.NewName), mdText(d.Owner))
	t := d.Totals
	b.WriteString("| | old | new |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| deletions this run | %d | %d |\n", t.Old.ThisRun, t.New.ThisRun)
	fmt.Fprintf(&b, "| deferred by `max_deletions_per_run` | %d | %d |\n\n", t.Old.Deferred, t.New.Deferred)
	for _, e := range d.Errors {
		fmt.Fprintf(&b, "Error: %s\n\n", mdText(e.Error()))
	}
	for _, n := range d.Notices {
		fmt.Fprintf(&b, "Note: %s\n\n", mdText(n))
	}
	if len(d.Packages) == 0 {
		return b.String()
	}
	// What is left for the packages, keeping room for the closing lines
	// of a package cut short and the count of those not shown.
	const reserve = 600
	size := utf8.RuneCountInString(b.String())
	write := func(s string) {
		b.WriteString(s)
		size += utf8.RuneCountInString(s)
	}
	omittedPkgs := 0
	for i, p := range d.Packages {
		head := fmt.Sprintf("<details><summary><code>%s</code>: %s</summary>\n\n", html.EscapeString(oneLine(p.Ref(), 200)), html.EscapeString(packageLine(p)))
		if size+utf8.RuneCountInString(head)+reserve > MaxMarkdown {
			omittedPkgs = len(d.Packages) - i
			break
		}
		write(head)
		var lines []string
		if p.Hands {
			lines = append(lines, fmt.Sprintf("- changes hands: `%s` → `%s`", mdCode(p.OldRules), mdCode(p.NewRules)))
		}
		if p.Untouched != "" {
			lines = append(lines, "- untouched: "+mdText(p.Untouched))
		}
		for _, n := range p.Notices {
			lines = append(lines, "- notice: "+mdText(n))
		}
		item := func(what string, v Version) string {
			if v.Deferred {
				what += " (later run)"
			}
			return fmt.Sprintf("- %s `%d` `%s` %s — %s", what, v.ID, mdCode(shortVersion(v.Version)), tagsMD(v.Tags), mdText(v.Reason))
		}
		for _, v := range p.Delete {
			lines = append(lines, item("➕ delete", v))
		}
		for _, v := range p.Keep {
			lines = append(lines, item("➖ no longer deleted", v))
		}
		for _, v := range p.RestoreStart {
			lines = append(lines, item("➕ restore", v))
		}
		for _, v := range p.RestoreStop {
			lines = append(lines, item("➖ no longer restored", v))
		}
		lines = append(lines, fmt.Sprintf("- deletions: %s → %s%s", countText(p.Old), countText(p.New), dryRun(p.DryRun)))
		for j, l := range lines {
			if size+utf8.RuneCountInString(l)+reserve > MaxMarkdown {
				write(fmt.Sprintf("- … %d more lines not shown: run `pkgwarden plan --config … --against …` for all\n", len(lines)-j))
				break
			}
			write(l + "\n")
		}
		write("\n</details>\n\n")
	}
	if omittedPkgs > 0 {
		fmt.Fprintf(&b, "%d more packages not shown: run `pkgwarden plan --config … --against …` for all.\n", omittedPkgs)
	}
	return b.String()
}

func packageLine(p Package) string {
	var parts []string
	if n := len(p.Delete); n > 0 {
		parts = append(parts, fmt.Sprintf("+%d %s", n, plural(n, "deletion")))
	}
	if n := len(p.Keep); n > 0 {
		parts = append(parts, fmt.Sprintf("−%d %s", n, plural(n, "deletion")))
	}
	if n := len(p.RestoreStart); n > 0 {
		parts = append(parts, fmt.Sprintf("+%d %s", n, plural(n, "restore")))
	}
	if n := len(p.RestoreStop); n > 0 {
		parts = append(parts, fmt.Sprintf("−%d %s", n, plural(n, "restore")))
	}
	if p.Hands {
		parts = append(parts, "changes hands")
	}
	if p.Untouched != "" {
		parts = append(parts, "untouched")
	}
	if len(parts) == 0 {
		parts = append(parts, "notices")
	}
	return strings.Join(parts, ", ")
}

// plural is one (n == 1) or many: one+"s" unless given.
func plural(n int, one string, many ...string) string {
	switch {
	case n == 1:
		return one
	case len(many) > 0:
		return many[0]
	}
	return one + "s"
}

// shortVersion shortens a digest to 12 hex digits.
func shortVersion(v string) string {
	if strings.HasPrefix(v, "sha256:") && len(v) > 7+12 {
		return v[:7+12]
	}
	return v
}

// tagList joins tags, shortening long referrer tags.
func tagList(tags []string) string {
	if len(tags) == 0 {
		return "-"
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = oneLine(termtext.ShortTag(t), 80)
	}
	return strings.Join(out, ",")
}

func tagsMD(tags []string) string {
	if len(tags) == 0 {
		return "(untagged)"
	}
	return "`" + mdCode(tagList(tags)) + "`"
}

// oneLine folds s onto one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

// mdCode keeps text inside a code span: one line, no backtick, no pipe
// (a table cell), no HTML comment end.
var codeSafe = strings.NewReplacer("`", "'", "|", "¦", "-->", "-- >")

func mdCode(s string) string { return codeSafe.Replace(oneLine(s, 300)) }

// mdText escapes text for a markdown line: one line, HTML and markdown
// punctuation neutralised, so that a tag or a message cannot add a link,
// a mention's formatting, a heading or a block of its own.
var textSafe = strings.NewReplacer(
	"\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]",
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "|", "\\|", "#", "\\#", "!", "\\!", "~", "\\~",
)

func mdText(s string) string { return textSafe.Replace(oneLine(s, 300)) }
