package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/termtext"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
)

// What the demo prints: the runs summed up, and the text and JSON views.

// demoEntry is one version in the demo's result, in the shape of
// `plan --json` entries plus the package.
type demoEntry struct {
	Package string   `json:"package"`
	ID      int64    `json:"id"`
	Version string   `json:"version"`
	Tags    []string `json:"tags"`
	Reason  string   `json:"reason"`
	// hangsOff names, for a version kept because of another (a platform
	// image, a signature), that other and what this one is to it.
	hangsOff, relation string
}

type demoIssue struct {
	Repository string `json:"repository"`
	Number     int    `json:"number"`
	Title      string `json:"title"`
	URL        string `json:"url"`
}

// demoResult is what `demo --json` prints.
type demoResult struct {
	Deleted  []demoEntry `json:"deleted"`
	Kept     []demoEntry `json:"kept"`
	Restored []demoEntry `json:"restored"`
	Skipped  []demoEntry `json:"skipped"`
	// Broken are the kept images that miss what healing cannot bring
	// back (their report's "Broken images").
	Broken []demoBroken `json:"broken"`
	Issues []demoIssue  `json:"issues"`
	// wouldDelete are the entries of Kept a dry or paused run would
	// have deleted: the text counts them apart.
	wouldDelete []demoEntry
	// freed is, per package, what its runs' deletions freed in the
	// registry, when every run that deleted could measure it.
	freed map[string]int64
}

// demoBroken is a broken image in the demo's result: what it misses and
// in which state (deleted past healing, gone).
type demoBroken struct {
	Package string   `json:"package"`
	Name    string   `json:"name"`
	ID      int64    `json:"id"`
	Missing []string `json:"missing"`
}

// summarize merges the runs: every deletion of every run, and the
// verdicts of each package's last run (the state its report issue shows)
// on what is still there. In the shared vocabulary of counts, each listed
// version is in one list only: refused (GitHub refused the deletion in
// this run, or lately and the rules hold it for that) is not also kept.
func summarize(runs []prune.Run) demoResult {
	res := demoResult{Deleted: []demoEntry{}, Kept: []demoEntry{}, Restored: []demoEntry{}, Skipped: []demoEntry{}, Broken: []demoBroken{}, Issues: []demoIssue{}, freed: map[string]int64{}}
	unmeasured := map[string]bool{}
	gone := map[string]bool{}
	last := map[string]prune.Run{}
	var order []string
	for _, r := range runs {
		pkg := r.Package.String()
		if _, ok := last[pkg]; !ok {
			order = append(order, pkg)
		}
		last[pkg] = r
		if len(r.Deleted) > 0 {
			if r.Storage.Known {
				res.freed[pkg] += r.Storage.Frees
			} else {
				unmeasured[pkg] = true
			}
		}
		for _, e := range r.Deleted {
			if key := pkg + "#" + strconv.FormatInt(e.ID, 10); !gone[key] {
				gone[key] = true
				res.Deleted = append(res.Deleted, demoEntryOf(pkg, e))
			}
		}
	}
	for pkg := range unmeasured {
		delete(res.freed, pkg)
	}
	slices.Sort(order)
	for _, pkg := range order {
		r := last[pkg]
		for _, b := range r.Decision.Broken {
			var missing []string
			for _, m := range b.Unhealable() {
				missing = append(missing, m.What+" "+string(m.State))
			}
			if len(missing) > 0 {
				res.Broken = append(res.Broken, demoBroken{Package: pkg, Name: b.Name, ID: b.ID, Missing: missing})
			}
		}
		seen := map[int64]bool{}
		add := func(list *[]demoEntry, e rules.Entry) {
			if seen[e.ID] || gone[pkg+"#"+strconv.FormatInt(e.ID, 10)] {
				return
			}
			seen[e.ID] = true
			*list = append(*list, demoEntryOf(pkg, e))
		}
		for _, e := range r.Skipped {
			add(&res.Skipped, e)
		}
		for _, e := range r.Decision.Keep {
			if e.Kind == rules.KindHeld {
				add(&res.Skipped, e)
			}
		}
		for _, e := range r.Kept {
			add(&res.Kept, e)
		}
		for _, e := range r.Deferred {
			add(&res.Kept, e)
		}
		// Candidates a run did not act on (dry run, paused) stay.
		if r.Outcome == prune.OutcomeDryRun || r.Outcome == prune.OutcomePaused {
			why := "dry run"
			if r.Outcome == prune.OutcomePaused {
				why = "paused (PKGWARDEN_PAUSED)"
			}
			for _, e := range r.Decision.Delete {
				e.Reason = why + ": would delete, " + e.Reason
				add(&res.Kept, e)
				res.wouldDelete = append(res.wouldDelete, res.Kept[len(res.Kept)-1])
			}
		}
		for _, e := range r.Decision.Keep {
			add(&res.Kept, e)
		}
	}
	return res
}

func demoEntryOf(pkg string, e rules.Entry) demoEntry {
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	d := demoEntry{Package: pkg, ID: e.ID, Version: e.Version, Tags: tags, Reason: e.Reason}
	if e.Kind == rules.KindChild || e.Kind == rules.KindReferrer {
		d.hangsOff, d.relation = e.Holder, e.Relation
	}
	return d
}

// demoIssues lists the issues of the demo's repositories.
func demoIssues(sim *ghsim.Sim, apiURL, org string, repos []string) ([]demoIssue, error) {
	out := []demoIssue{}
	for _, r := range repos {
		issues, err := sim.Issues(org, r)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			full := org + "/" + r
			out = append(out, demoIssue{Repository: full, Number: is.Number, Title: is.Title,
				URL: strings.TrimSuffix(apiURL, "/") + "/" + full + "/issues/" + strconv.Itoa(is.Number)})
		}
	}
	return out, nil
}

type demoHeader struct {
	api, serve, org string
	took            time.Duration
	registry, token string
	admin, repo     string
	undo            demoUndoInfo
	issues          []demoIssueText
	// broken are the seed's releases other tools broke before the demo.
	broken []demoworld.Broken
}

// demoText says what the text view shows besides the recap.
type demoText struct {
	// showIssues prints the issues' text and comments before the recap.
	showIssues bool
	// keepRunning is on: the closing line does not suggest it.
	keepRunning bool
}

// demoCounts are a package's counts, in the report's words
// (report.Counts): the terminal says what the issue's summary line says.
type demoCounts struct {
	Package string
	report.Counts
}

// String is the report's summary line, lower-case first, to follow a
// package's name on a step line.
func (c demoCounts) String() string {
	line := c.Line()
	return strings.ToLower(line[:1]) + line[1:]
}

// countsOf counts res per package, in package order. A version deleted
// and brought back is counted as deleted and as restored, and is not
// restorable.
func countsOf(res demoResult) []demoCounts {
	by := map[string]*demoCounts{}
	get := func(pkg string) *demoCounts {
		if by[pkg] == nil {
			by[pkg] = &demoCounts{Package: pkg}
		}
		return by[pkg]
	}
	back := map[string]bool{}
	for _, e := range res.Restored {
		get(e.Package).Restored++
		back[e.Package+"#"+strconv.FormatInt(e.ID, 10)] = true
	}
	for _, e := range res.Deleted {
		c := get(e.Package)
		c.Deleted++
		if !back[e.Package+"#"+strconv.FormatInt(e.ID, 10)] {
			c.Restorable++
		}
	}
	for _, e := range res.Skipped {
		get(e.Package).Refused++
	}
	would := map[string]bool{}
	for _, e := range res.wouldDelete {
		get(e.Package).WouldDelete++
		would[e.Package+"#"+strconv.FormatInt(e.ID, 10)] = true
	}
	for _, e := range res.Kept {
		if !would[e.Package+"#"+strconv.FormatInt(e.ID, 10)] {
			get(e.Package).Kept++
		}
	}
	out := make([]demoCounts, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b demoCounts) int { return strings.Compare(a.Package, b.Package) })
	return out
}

// countsFor is pkg's counts in res.
func countsFor(res demoResult, pkg string) demoCounts {
	for _, c := range countsOf(res) {
		if c.Package == pkg {
			return c
		}
	}
	return demoCounts{Package: pkg}
}

// writeDemoText ends the demo, after the step lines: with showIssues the
// issues' text, then a recap that fits on a screen (per package its
// counts and what was deleted, refused, restored and kept, the issues
// written with their URLs), and a closing line.
func writeDemoText(w io.Writer, res demoResult, h demoHeader, opt demoText) error {
	ew := &termtext.ErrWriter{W: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format, a...) }
	if opt.showIssues {
		for _, is := range h.issues {
			p("\n%s#%d %q, by %s, %s\n", is.Repository, is.Number, oneLineText(is.Title), is.User, is.State)
			p("%s/%s/issues/%d\n\n", strings.TrimSuffix(h.api, "/"), is.Repository, is.Number)
			writeIndented(ew, is.Body, 4)
			for _, c := range is.Comments {
				p("\n    -- comment by %s:\n", c.User)
				writeIndented(ew, c.Body, 4)
			}
		}
	}
	p("\nRecap\n")
	for _, c := range countsOf(res) {
		line := c.Line()
		if n, ok := res.freed[c.Package]; ok && n > 0 {
			line += " · freed ≈ " + report.Bytes(n)
		}
		p("\n  %s: %s\n", c.Package, line)
		byPkg := func(list []demoEntry) []demoEntry {
			var out []demoEntry
			for _, e := range list {
				if e.Package == c.Package {
					out = append(out, e)
				}
			}
			return out
		}
		if d := byPkg(res.Deleted); len(d) > 0 {
			p("    deleted   %s\n", namesByReason(d))
		}
		// One line each, the list's name on the first.
		for _, list := range []struct {
			name    string
			entries []demoEntry
		}{{"refused", byPkg(res.Skipped)}, {"restored", byPkg(res.Restored)}} {
			for i, e := range list.entries {
				name := list.name
				if i > 0 {
					name = ""
				}
				p("    %-9s %s: %s\n", name, entryName(e), oneLineText(e.Reason))
			}
		}
		first := true
		for _, b := range res.Broken {
			if b.Package != c.Package {
				continue
			}
			name := ""
			if first {
				name, first = "broken", false
			}
			p("    %-9s %s misses %s: rebuild it or delete the tag\n", name, oneLineText(b.Name), oneLineText(strings.Join(b.Missing, ", ")))
		}
		if k := byPkg(res.Kept); len(k) > 0 {
			p("    kept      %s\n", names(k))
		}
	}
	if len(res.Issues) > 0 {
		p("\n  Issues written, with every reason:\n")
		for _, is := range res.Issues {
			p("    %s#%d  %s\n      %s\n", is.Repository, is.Number, oneLineText(is.Title), is.URL)
		}
	}
	took := h.took.Round(100 * time.Millisecond)
	if opt.keepRunning {
		p("\nDone in %s; the simulator and serve stay up, and the issue URLs above open a\nread-only view of each issue.\n", took)
	} else {
		p("\nDone in %s; everything lived in a temporary directory, now removed. Again with:\n", took)
		p("  --keep-running  to keep the simulator up and open the issue URLs in a browser\n")
		if !opt.showIssues {
			p("  --show-issues   to print the issues' text (markdown and comments)\n")
		}
		p("  --json          to print the result as data\n")
	}
	if ew.Err != nil {
		return fmt.Errorf("demo: write: %w", ew.Err)
	}
	return nil
}

// oneLineText keeps text on one line: text echoed from GitHub or from
// the rules may hold line breaks (and control characters: see
// terminalSafe).
func oneLineText(s string) string { return strings.Join(strings.Fields(terminalSafe(s)), " ") }

// terminalSafe drops the control characters of text written on GitHub
// (an escape sequence in a comment must not drive the terminal), but
// tabs and line breaks.
func terminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n') || (r >= 0x7f && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// entryName names a version for people: its tags, else its short digest
// (containers) or version string.
func entryName(e demoEntry) string {
	if len(e.Tags) > 0 {
		// "latest/v1.0.0": the names are listed with commas.
		return strings.ReplaceAll(displayTags(e.Tags), ",", "/")
	}
	return rules.ShortDigest(e.Version)
}

// names lists versions in a line: tagged and npm versions by name, the
// versions that hang off another counted under it, other untagged
// container versions counted.
func names(list []demoEntry) string {
	var named []string
	var holders []string
	hanging := map[string]int{}
	untagged := 0
	for _, e := range list {
		switch {
		case e.hangsOff != "":
			if hanging[e.hangsOff] == 0 {
				holders = append(holders, e.hangsOff)
			}
			hanging[e.hangsOff]++
		case len(e.Tags) == 0 && strings.HasPrefix(e.Version, "sha256:"):
			untagged++
		default:
			named = append(named, entryName(e))
		}
	}
	for _, h := range holders {
		named = append(named, fmt.Sprintf("%d hanging off %s", hanging[h], h))
	}
	if untagged > 0 {
		named = append(named, fmt.Sprintf("%d untagged", untagged))
	}
	return strings.Join(named, ", ")
}

// namesByReason lists versions grouped by reason: "names (reason); …".
func namesByReason(list []demoEntry) string {
	var reasons []string
	by := map[string][]demoEntry{}
	for _, e := range list {
		r := strings.TrimSuffix(oneLineText(e.Reason), ".")
		if by[r] == nil {
			reasons = append(reasons, r)
		}
		by[r] = append(by[r], e)
	}
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = names(by[r]) + " (" + r + ")"
	}
	return strings.Join(parts, "; ")
}

// htmlComment matches the markers pkgwarden hides in its markdown.
var htmlComment = regexp.MustCompile(`\s*<!--.*?-->`)

// writeIndented prints text indented, without the hidden HTML-comment
// markers and the blank lines they leave, as GitHub shows it.
func writeIndented(w io.Writer, text string, indent int) {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(terminalSafe(text)), "\n") {
		stripped := htmlComment.ReplaceAllString(l, "")
		if strings.TrimSpace(stripped) == "" && (strings.TrimSpace(l) != "" || (len(lines) > 0 && lines[len(lines)-1] == "")) {
			continue
		}
		lines = append(lines, strings.TrimRight(stripped, " "))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	pad := strings.Repeat(" ", indent)
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s\n", pad, l)
	}
}

// restoredEntries lists what the restore runs brought back.
func restoredEntries(runs []restore.Run) []demoEntry {
	out := []demoEntry{}
	for _, r := range runs {
		for _, e := range r.Restored {
			tags := e.Tags
			if tags == nil {
				tags = []string{}
			}
			reason := e.Reason
			if !strings.HasPrefix(reason, "asked by ") { // an undo's reason names its trigger already
				reason += " (" + r.Trigger + ")"
			}
			out = append(out, demoEntry{Package: r.Package.String(), ID: e.ID, Version: e.Version, Tags: tags, Reason: reason})
		}
	}
	return out
}
