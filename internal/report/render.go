package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
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
	// FoldAfter is how many entries of a list (restorable deletions,
	// refusals, versions a dry run would delete) show before the rest is
	// folded in a <details> block.
	FoldAfter = 20
	// maxReasons is how many distinct reasons a summary lists per group.
	maxReasons = 15
	// maxTagShown is how much of a tag a list shows.
	maxTagShown = 30
	// maxVersionShown is how much of a version string a list shows.
	maxVersionShown = 60
	// maxListed is how many refused or would-delete versions the body
	// lists one by one.
	maxListed = 200
)

// bodyMarker started package report bodies before their first line named
// the package (bodyMarkerOf); such bodies get the new line when rewritten.
const bodyMarker = "<!-- pkgwarden:report -->"

func runes(s string) int { return utf8.RuneCountInString(s) }

// cut shortens s to at most n runes and an ellipsis; a string cut once is
// not cut again (a body read back renders the same).
func cut(s string, n int) string {
	if runes(s) <= n+1 {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// shortVersion names a version for people: a digest shortened to 12 hex
// digits, a long version string cut.
func shortVersion(v string) string {
	if algo, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(algo, "sha") {
		if short := rules.ShortDigest(v); short != v {
			return short + "…"
		}
	}
	return cut(v, maxVersionShown)
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

// nameSafe keeps a tag or version inside a code span of a list line: on
// one line, without backticks or the " · " that separates a line's parts.
var nameSafe = strings.NewReplacer("`", "'", "·", ".")

func safeName(s string, n int) string { return cut(nameSafe.Replace(oneLine(s)), n) }

// digestHex is the short hex of a digest version ("6b51d431df5d"), with
// its algorithm when not sha256; "" when version is not a digest.
func digestHex(version string) string {
	algo, hx, ok := strings.Cut(strings.TrimSuffix(version, "…"), ":")
	if !ok || !strings.HasPrefix(algo, "sha") || len(hx) < 12 {
		return ""
	}
	if _, err := hex.DecodeString(hx[:12]); err != nil || strings.ToLower(hx[:12]) != hx[:12] {
		return ""
	}
	if algo == "sha256" {
		return hx[:12]
	}
	return algo + ":" + hx[:12]
}

// versionName is how a version is named at the start of a list line: its
// tags for an image ("`pr-12`, `latest` +1", or "untagged"), its version
// string otherwise ("`1.2.0-rc.1`").
func versionName(version string, tags []string) string {
	if digestHex(version) == "" {
		return "`" + safeName(version, maxVersionShown) + "`"
	}
	if len(tags) == 0 {
		return "untagged"
	}
	shown, more := tags, ""
	if len(shown) > 3 {
		shown, more = shown[:3], fmt.Sprintf(" +%d", len(tags)-3)
	}
	parts := make([]string, len(shown))
	for i, t := range shown {
		parts[i] = "`" + safeName(t, maxTagShown) + "`"
	}
	return strings.Join(parts, ", ") + more
}

// versionLabel names a version on a list line: its name and, for an image,
// its short digest ("`pr-12` · `6b51d431df5d`"); mid, when set, goes
// between the two (an age).
func versionLabel(version string, tags []string, mid string) string {
	parts := []string{versionName(version, tags)}
	if mid != "" {
		parts = append(parts, mid)
	}
	if h := digestHex(version); h != "" {
		parts = append(parts, "`"+h+"`")
	}
	return strings.Join(parts, " · ")
}

var (
	shownDigest = regexp.MustCompile("^`((?:sha[0-9]+:)?[0-9a-f]{12})`$")
	shownMore   = regexp.MustCompile("^(.*`) \\+([0-9]+)$")
)

// parseLabel reads version and tags back from a line's visible text as
// versionLabel wrote it with a middle part: "name · mid · `digest`" or
// "name · mid". ok is false for any other text.
func parseLabel(shown string) (version string, tags []string, ok bool) {
	segs := strings.Split(shown, " · ")
	switch len(segs) {
	case 3:
		m := shownDigest.FindStringSubmatch(segs[2])
		if m == nil {
			return "", nil, false
		}
		version = m[1]
		if !strings.Contains(version, ":") {
			version = "sha256:" + version
		}
		version += "…"
		name := segs[0]
		if name == "untagged" {
			return version, nil, true
		}
		if m := shownMore.FindStringSubmatch(name); m != nil {
			name = m[1]
		}
		inner, ok := strings.CutPrefix(name, "`")
		if inner, ok2 := strings.CutSuffix(inner, "`"); ok && ok2 {
			return version, strings.Split(inner, "`, `"), true
		}
		return "", nil, false
	case 2:
		inner, ok := strings.CutPrefix(segs[0], "`")
		if inner, ok2 := strings.CutSuffix(inner, "`"); ok && ok2 && !strings.Contains(inner, "`") {
			return inner, nil, true
		}
	}
	return "", nil, false
}

// age says how long ago t was, in whole days: "today", "1 day ago",
// "3 days ago". It changes once a day, so a body holding it is rewritten at
// most once a day when nothing else changed.
func age(t, now time.Time) string {
	days := int(now.Sub(t) / (24 * time.Hour))
	switch {
	case days <= 0:
		return "today"
	case days == 1:
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", days)
}

// when is a time as people read it in a report.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

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
			fmt.Fprintf(b, "- %d for %d other reasons\n", rest, len(rc)-i)
			break
		}
		reason := c.reason
		if reason == "" {
			reason = "no reason given"
		}
		fmt.Fprintf(b, "- %d × %s\n", c.n, oneLine(reason))
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

// RunName is how a run is named to people, in comments and logs alike:
// "run-" and 8 hex digits of a hash of its id (a delivery's UUID, or a
// job's type and queue time), so the same run always has the same short
// name. The full id stays in the comment's hidden marker, which is what
// keeps a redelivered run to one comment.
func RunName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "run-" + hex.EncodeToString(sum[:4])
}

// ruleOrigin says which rule of which file governs the package, the file
// linked to the rule's line on GitHub (web is GitHub's web URL, "" for no
// link): "rule 1 of [.github/pkgwarden.yml](…#L4)".
func ruleOrigin(d *rules.Decision, pkg rules.Package, web string) string {
	if d.Origin == "" {
		return "no " + rules.Path + " governs this package"
	}
	text := "`" + nameSafe.Replace(oneLine(d.Origin)) + "`"
	if repo, path, ok := strings.Cut(d.Origin, ":"); ok && strings.Count(repo, "/") == 1 && !strings.ContainsAny(d.Origin, " \t\n()[]<>`") {
		text = path
		if !strings.EqualFold(repo, pkg.Owner+"/"+pkg.RepoName()) {
			text += " in " + repo
		}
		if web != "" {
			link := strings.TrimSuffix(web, "/") + "/" + repo + "/blob/HEAD/" + (&url.URL{Path: path}).EscapedPath()
			if d.RuleLine > 0 {
				link += "#L" + strconv.Itoa(d.RuleLine)
			}
			text = "[" + text + "](" + link + ")"
		}
	}
	if d.Rule < 0 {
		return text + " (no rule matches this package)"
	}
	return fmt.Sprintf("rule %d of %s", d.Rule+1, text)
}

// summaryPrefix starts the summary line of a run that deleted nothing on
// purpose.
func summaryPrefix(m mode) string {
	switch m {
	case modeDryRun:
		return "**Dry run** · "
	case modePaused:
		return "**Paused** · "
	case modeUntouched:
		return "**Untouched** · "
	}
	return ""
}

// summaryLine is the body's first visible line.
func summaryLine(m mode, c Counts, origin string) string {
	return withPrefix(summaryPrefix(m), c.Line()) + " — " + origin
}

// withPrefix puts prefix before a counts line, which then goes on in
// lower case.
func withPrefix(prefix, line string) string {
	if prefix == "" {
		return line
	}
	r, n := utf8.DecodeRuneInString(line)
	return prefix + string(unicode.ToLower(r)) + line[n:]
}

// summaryCounts reads the counts of a body's summary line (zero when it
// has none).
func summaryCounts(body string) Counts {
	_, rest, _ := strings.Cut(body, "\n")
	line, _, _ := strings.Cut(rest, "\n")
	for _, m := range []mode{modeDryRun, modePaused, modeUntouched} {
		if p := summaryPrefix(m); strings.HasPrefix(line, p) {
			return Counts{}
		}
	}
	counts, _, ok := strings.Cut(line, " — ")
	if !ok {
		return Counts{}
	}
	c, _ := parseCounts(counts)
	return c
}

// relineSummary rewrites the counts of restorable and restored versions in
// a summary line written by summaryLine; ok is false when line is not one.
func relineSummary(line string, restorable, restored int) (string, bool) {
	prefix := ""
	for _, m := range []mode{modeDryRun, modePaused, modeUntouched} {
		if p := summaryPrefix(m); strings.HasPrefix(line, p) {
			prefix = p
		}
	}
	counts, origin, ok := strings.Cut(strings.TrimPrefix(line, prefix), " — ")
	if !ok {
		return "", false
	}
	c, ok := parseCounts(counts)
	if !ok {
		return "", false
	}
	c.Restorable, c.Restored = restorable, restored
	return withPrefix(prefix, c.Line()) + " — " + origin, true
}

// Hidden markers of the body's lists. Each listed version's line ends with
// one naming its id, so a body read back knows what it listed, and no id is
// listed twice (reporttest checks it).
const (
	// boxesOpen and boxesClose enclose the restorable deletions and the
	// restored versions: what a restore rewrites (relistBody).
	boxesOpen  = "<!-- pkgwarden:boxes -->"
	boxesClose = "<!-- /pkgwarden:boxes -->"
	// newsPrefix marks the run whose news the body last told, so that a
	// run retried after writing the body still adds its comment.
	newsPrefix = "<!-- pkgwarden:news "
)

var (
	refusedMarker = regexp.MustCompile(`<!-- pkgwarden:refused (\d+) -->`)
	// oldRefusedLine is a refusal as bodies before listed it, under
	// "Skipped": no marker, the id before GitHub's reason.
	oldRefusedLine = regexp.MustCompile(`(?m)^  - .* id (\d+): GitHub refused`)
	wouldMarker    = regexp.MustCompile(`<!-- pkgwarden:would (\d+) -->`)
	newsMarker     = regexp.MustCompile(`<!-- pkgwarden:news (\S+) -->`)
)

// markedIDs returns the ids of re's markers in body.
func markedIDs(re *regexp.Regexp, body string) map[int64]bool {
	out := map[int64]bool{}
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			out[id] = true
		}
	}
	return out
}

// idOf is how a run id appears in hidden markers: one word.
func idOf(runID string) string { return strings.ReplaceAll(oneLine(runID), " ", "_") }

// bodyParts is what a package report body says, before it is rendered.
type bodyParts struct {
	run      *Run
	web      string // GitHub's web URL, for the link to the rules
	list     []Restorable
	restored []restoredEntry
	news     string // run id of the last run with news, "" for none
	now      time.Time
	// lastDeleted is what the last deleting run deleted, shown by a run
	// that deleted nothing.
	lastDeleted int
	lastFrees   *Freed
	// storage is the bytes freed over runs, this one's included.
	storage storageTotal
	// noPlan is set for a body written before any run planned the
	// package (emptyBody).
	noPlan bool
}

// renderBody renders a package report body. It returns the body and the
// restorable deletions it holds: the oldest are dropped when the body
// would pass bodyBudget.
func renderBody(p bodyParts) (string, []Restorable) {
	run := p.run
	d := &run.Decision
	v := classify(run)
	m := run.mode()

	var tail strings.Builder
	if m == modeDryRun || m == modePaused {
		title := "Would delete"
		if m == modePaused {
			title = "Held back"
		}
		writeEntries(&tail, fmt.Sprintf("%s (%d)", title, len(v.would)), v.would, "would", nil)
	}
	writeEntries(&tail, fmt.Sprintf("Refused by GitHub (%d)", len(v.refused)), v.refused, "refused", run.AskAgain)
	writeBroken(&tail, run)
	fmt.Fprintf(&tail, "\n<details><summary>Kept (%d): why</summary>\n\n", len(v.kept))
	writeReasons(&tail, v.kept)
	tail.WriteString("\n</details>\n")
	if p.news != "" {
		tail.WriteString("\n" + newsPrefix + idOf(p.news) + " -->\n")
	}

	var head strings.Builder
	head.WriteString(bodyMarkerOf(run.Package) + "\n")
	c := Counts{Refused: len(v.refused), Kept: len(v.kept), Restored: len(p.restored)}
	if m == modeDryRun || m == modePaused {
		c.WouldDelete = len(v.would)
	} else if m == modeRun {
		c.Deleted = len(v.deleted)
		if c.Deleted == 0 {
			c.Deleted = p.lastDeleted
		}
	}
	if n := len(v.deleted) + len(v.would); n > 0 {
		c.Frees = runFreed(run, n)
	} else {
		c.Frees = p.lastFrees
	}
	origin := ruleOrigin(d, run.Package, p.web)
	if p.noPlan {
		origin = "the next run of the rules fills this in"
	}
	switch m {
	case modeUntouched:
		fmt.Fprintf(&head, "\n> [!WARNING]\n> **Nothing is deleted**: this package is left untouched because %s.\n", oneLine(d.Untouched))
	case modeDryRun:
		head.WriteString("\n> [!NOTE]\n> **Dry run**: nothing is deleted; the versions listed under \"Would delete\" would be. Set `dry_run: false` to prune.\n")
	case modePaused:
		head.WriteString("\n> [!IMPORTANT]\n> **Paused**: pkgwarden runs with `PKGWARDEN_PAUSED` set, so nothing is deleted; the versions listed under \"Held back\" would be.\n")
	}
	if len(d.Notices) > 0 {
		head.WriteString("\n")
		for _, n := range d.Notices {
			fmt.Fprintf(&head, "- Note: %s\n", oneLine(n))
		}
	}
	headText := head.String()
	// The summary's width depends on counts the boxes decide: reserve it.
	budget := bodyBudget - runes(headText) - runes(tail.String()) - runes(origin) - 200
	boxes, kept := renderBoxes(p.list, p.restored, p.now, budget)
	c.Restorable = len(kept)
	first, rest, _ := strings.Cut(headText, "\n")
	body := first + "\n" + summaryLine(m, c, origin) + "\n" + storageParagraph(run, p.storage) + rest + boxes + tail.String()
	return body, kept
}

// writeEntries writes a list of versions with their reasons, each line
// ending with a hidden marker of kind; past FoldAfter the rest is folded,
// past maxListed counted.
func writeEntries(b *strings.Builder, title string, entries []rules.Entry, kind string, askAgain map[int64]time.Time) {
	if len(entries) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### %s\n\n", title)
	for i, e := range entries {
		if i == maxListed {
			fmt.Fprintf(b, "- and %d more\n", len(entries)-i)
			break
		}
		if i == FoldAfter {
			fmt.Fprintf(b, "\n<details><summary>%d more</summary>\n\n", min(len(entries), maxListed+1)-FoldAfter)
		}
		reason := e.Reason
		if kind == "refused" {
			reason = strings.TrimPrefix(reason, refusedPrefix)
			if t, ok := askAgain[e.ID]; ok {
				reason = strings.TrimSuffix(reason, ".") + "; asked again after " + when(t)
			}
		}
		fmt.Fprintf(b, "- %s: %s <!-- pkgwarden:%s %d -->\n", versionLabel(e.Version, e.Tags, ""), oneLine(reason), kind, e.ID)
	}
	if len(entries) > FoldAfter {
		b.WriteString("\n</details>\n")
	}
}

// refusedPrefix starts the reason of a version GitHub refused to delete;
// the body's section says so already.
const refusedPrefix = "GitHub refused the deletion: "

// boxesHelp tells people what the boxes do.
const boxesHelp = "Tick a box to restore that version, or comment `/pkgwarden restore <tag or id>` (`all` for every one). GitHub keeps deleted versions for 30 days.\n"

// renderBoxes renders the restorable deletions (newest first) and the
// restored versions, enclosed in boxesOpen and boxesClose, within budget
// characters: the oldest deletions are dropped first, and said so. It
// returns the text and the deletions it holds.
func renderBoxes(list []Restorable, restored []restoredEntry, now time.Time, budget int) (string, []Restorable) {
	var b strings.Builder
	b.WriteString("\n" + boxesOpen + "\n")
	var rest strings.Builder
	if len(restored) > 0 {
		fmt.Fprintf(&rest, "\n### Restored (%d)\n\n", len(restored))
		for _, e := range restored {
			rest.WriteString(restoredLineText(e, now))
		}
	}
	rest.WriteString("\n" + boxesClose + "\n")
	budget -= runes(rest.String()) + runes(boxesHelp) + 100

	var lines []string
	for i, e := range list {
		l := restoreLineText(e, now)
		if i == 0 || !e.DeletedAt.Truncate(time.Second).Equal(list[i-1].DeletedAt.Truncate(time.Second)) {
			// The deletion time, hidden, above the entries deleted at it.
			l = batchMarkerPrefix + e.DeletedAt.UTC().Truncate(time.Second).Format(time.RFC3339) + " -->\n" + l
		}
		if n := runes(l); n <= budget {
			budget -= n
			lines = append(lines, l)
			continue
		}
		break
	}
	kept := list[:len(lines)]
	if len(lines) > 0 {
		fmt.Fprintf(&b, "### Restorable deletions (%d)\n\n%s\n", len(lines), boxesHelp)
	}
	for i, l := range lines {
		if i == FoldAfter {
			fmt.Fprintf(&b, "\n<details><summary>%d older %s</summary>\n\n", len(lines)-FoldAfter, plural(len(lines)-FoldAfter, "deletion", "deletions"))
		}
		b.WriteString(l)
	}
	if len(lines) > FoldAfter {
		b.WriteString("\n</details>\n")
	}
	if dropped := len(list) - len(lines); dropped > 0 {
		fmt.Fprintf(&b, "\n%d older %s no longer listed here to keep this issue under GitHub's size limit.\n", dropped, plural(dropped, "deletion is", "deletions are"))
	}
	b.WriteString(rest.String())
	return b.String(), kept
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// restoreLineText is the checkbox line of e: tag (or version), how long ago
// it was deleted and short digest, then a hidden marker with the id and the
// box's seal. The deletion time is on a hidden batch line above the entries
// deleted at that time.
func restoreLineText(e Restorable, now time.Time) string {
	box := " "
	if e.Checked {
		box = "x"
	}
	shown := e.shown
	if shown == "" {
		shown = versionLabel(e.Version, e.Tags, age(e.DeletedAt, now))
	}
	return "- [" + box + "] " + shown + " " + restoreMarker(e.ID, e.seal) + "\n"
}

// runMarker is the hidden first line of a run's comment.
func runMarker(runID string) string {
	return "<!-- pkgwarden:run " + idOf(runID) + " -->"
}

// renderComment renders the comment of one run: what changed (deleted,
// newly refused, or for a dry run or a paused run what would be deleted)
// with reasons; the body holds the rest.
func renderComment(run *Run, at time.Time, newRefusals []rules.Entry) string {
	var b strings.Builder
	b.WriteString(runMarker(run.ID) + "\n")
	v := classify(run)
	name := RunName(run.ID)
	var list []rules.Entry
	var heading string
	switch run.mode() {
	case modeDryRun:
		fmt.Fprintf(&b, "**Dry run** `%s`, %s: %d %s would be deleted%s; nothing was deleted.\n", name, when(at), len(v.would), plural(len(v.would), "version", "versions"), commentFreed(run, len(v.would)))
		list, heading = v.would, "Would delete"
	case modePaused:
		fmt.Fprintf(&b, "**Paused** (`PKGWARDEN_PAUSED`) `%s`, %s: %d %s held back%s; nothing was deleted.\n", name, when(at), len(v.would), plural(len(v.would), "deletion", "deletions"), commentFreed(run, len(v.would)))
		list, heading = v.would, "Held back"
	default:
		var parts []string
		if len(v.deleted) > 0 || len(newRefusals) == 0 {
			parts = append(parts, fmt.Sprintf("deleted %d", len(v.deleted))+commentFreed(run, len(v.deleted)))
		}
		if len(newRefusals) > 0 {
			parts = append(parts, fmt.Sprintf("GitHub refused %d %s", len(newRefusals), plural(len(newRefusals), "deletion", "deletions")))
		}
		fmt.Fprintf(&b, "**Run** `%s`, %s: %s.\n", name, when(at), strings.Join(parts, ", "))
		list, heading = v.deleted, "Deleted"
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
			l := fmt.Sprintf("- %s: %s\n", versionLabel(e.Version, e.Tags, ""), oneLine(strings.TrimPrefix(e.Reason, refusedPrefix)))
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
	writeList("Refused by GitHub", newRefusals)
	return b.String()
}
