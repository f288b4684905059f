package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// The "Broken images" section of a package report: the kept images that
// no longer pull whole and that healing cannot mend (rules.BrokenImage),
// once per image, before "Kept". Each line carries a hidden
// `<!-- pkgwarden:broken ID -->` marker naming the image's version; the
// version may also be counted in "Kept" (which lists reasons, not
// versions) but never in a list of deleted, would-delete or refused
// versions: the rules report broken images only when they keep them.

// unhealable are the broken images of the run with what healing cannot
// bring back, in the decision's order.
func unhealable(run *Run) []brokenLine {
	var out []brokenLine
	for _, b := range run.Decision.Broken {
		if ms := b.Unhealable(); len(ms) > 0 {
			out = append(out, brokenLine{image: b, missing: ms})
		}
	}
	return out
}

type brokenLine struct {
	image   rules.BrokenImage
	missing []rules.Missing
}

// writeBroken writes the section, nothing when no image is broken beyond
// healing. Past FoldAfter the rest is folded, past maxListed counted.
func writeBroken(b *strings.Builder, run *Run) {
	lines := unhealable(run)
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Broken images (%d)\n\n", len(lines))
	b.WriteString("They are still listed but no longer pull whole, and pkgwarden cannot restore what they miss.\n\n")
	for i, l := range lines {
		if i == maxListed {
			fmt.Fprintf(b, "- and %d more\n", len(lines)-i)
			break
		}
		if i == FoldAfter {
			fmt.Fprintf(b, "\n<details><summary>%d more</summary>\n\n", min(len(lines), maxListed+1)-FoldAfter)
		}
		fmt.Fprintf(b, "- %s <!-- pkgwarden:broken %d -->\n", brokenText(l), l.image.ID)
	}
	if len(lines) > FoldAfter {
		b.WriteString("\n</details>\n")
	}
}

// brokenText says on one line what an image misses and what to do:
// "`v1` is broken: `linux/arm64` is gone (GitHub does not say since
// when); rebuild it or delete the tag". Names from manifests and tags are
// in code spans, so none of them can start markup or a comment.
func brokenText(l brokenLine) string {
	im := l.image
	name := "`" + safeName(im.Name, maxTagShown+30) + "`"
	if h := digestHex(im.Version); h != "" && !strings.Contains(im.Name, h) {
		name += " (`" + h + "`)"
	}
	var gone, deleted []string
	var deletedAt []time.Time
	for _, m := range l.missing {
		what := "`" + safeName(m.What, 40) + "`"
		if m.What == "subject" {
			what = "its subject `" + digestHex(m.Digest) + "`"
		}
		if m.Via != "" {
			what += " of nested index `" + digestHex(m.Via) + "`"
		}
		if m.State == rules.ChildGone {
			gone = append(gone, what)
		} else {
			deleted = append(deleted, what)
			deletedAt = append(deletedAt, m.DeletedAt)
		}
	}
	var parts []string
	if len(gone) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s gone (GitHub does not say since when)", listed(gone), isAre(len(gone))))
	}
	if len(deleted) > 0 {
		since := "at a time GitHub does not say"
		if t := earliest(deletedAt); !t.IsZero() {
			since = "on " + when(t)
		}
		why := " and restore.broken is off"
		if im.Kind == rules.BrokenOrphan {
			why = "" // healing mends images, not a subject someone deleted
		}
		parts = append(parts, fmt.Sprintf("%s %s deleted %s%s", listed(deleted), wasWere(len(deleted)), since, why))
	}
	advice := "rebuild it or delete the tag"
	if len(im.Tags) == 0 || strings.HasPrefix(im.Name, "sha256:") {
		advice = "rebuild it or delete it"
	}
	switch im.Kind {
	case rules.BrokenOrphan:
		advice = "push it again with its subject, or delete it"
	case rules.BrokenGhost:
		advice += " (`prune.ghost_images: true` deletes such images)"
	case rules.BrokenPartial:
		advice += " (`prune.partial_images: true` deletes such images)"
	}
	return oneLine(fmt.Sprintf("%s is broken: %s; %s", name, strings.Join(parts, "; "), advice))
}

func listed(items []string) string {
	const shown = 4
	if len(items) > shown {
		items = append(items[:shown:shown], fmt.Sprintf("%d more", len(items)-shown))
	}
	switch len(items) {
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func earliest(ts []time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}

// BrokenImages counts the broken images of a decision that healing cannot
// mend: the ones its report lists (the dashboard's count).
func BrokenImages(d rules.Decision) int {
	return len(unhealable(&Run{Decision: d}))
}

// brokenCell adds a row's broken images to its errors cell.
func brokenCell(r DashboardRow, cell string) string {
	if r.Broken == 0 {
		return cell
	}
	n := fmt.Sprintf("%d broken %s (see the report)", r.Broken, plural(r.Broken, "image", "images"))
	if cell == "·" {
		return n
	}
	return cell + "; " + n
}
