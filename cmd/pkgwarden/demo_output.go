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
	"github.com/pkgwarden/pkgwarden/internal/rules"
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
	Issues   []demoIssue `json:"issues"`
}

// summarize merges the runs: every deletion and refusal of every run, and
// the verdicts of each package's last run on what is still there.
func summarize(runs []prune.Run) demoResult {
	res := demoResult{Deleted: []demoEntry{}, Kept: []demoEntry{}, Restored: []demoEntry{}, Skipped: []demoEntry{}, Issues: []demoIssue{}}
	gone := map[string]bool{}
	last := map[string]prune.Run{}
	var order []string
	for _, r := range runs {
		pkg := r.Package.String()
		if _, ok := last[pkg]; !ok {
			order = append(order, pkg)
		}
		last[pkg] = r
		for _, e := range r.Deleted {
			if key := pkg + "#" + strconv.FormatInt(e.ID, 10); !gone[key] {
				gone[key] = true
				res.Deleted = append(res.Deleted, demoEntryOf(pkg, e))
			}
		}
	}
	slices.Sort(order)
	for _, pkg := range order {
		r := last[pkg]
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
	api, serve, org, pushed, published string
	webhooks                           string
	took                               time.Duration
	registry, token, admin, repo       string
	undo                               demoUndoInfo
	issues                             []demoIssueText
	versions                           map[string][]ghsim.PackageVersion // as seeded
}

// writeDemoText tells the demo as a story: what was there, what happened,
// what pkgwarden deleted, kept, could not delete and restored, and why,
// the undo through a comment, and the issues it wrote, with their text.
func writeDemoText(w io.Writer, res demoResult, h demoHeader) error {
	ew := &errWriter{w: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format, a...) }
	p("pkgwarden demo: a GitHub simulator at %s and pkgwarden serve at %s,\n", h.api, h.serve)
	p("both on loopback, in a temporary directory. Nothing real is touched.\n")

	p("\n1. What was there\n\n")
	p("   The organisation %s installed the pkgwarden App; its admin @%s gave it a\n", h.org, h.admin)
	p("   packages token. The repository %s holds .github/pkgwarden.yml:\n\n", h.repo)
	for _, l := range strings.Split(strings.TrimSpace(demoworld.Config), "\n") {
		p("     %s\n", l)
	}
	p("\n   and the organisation's policy (%s/.github) bounds every repository's rules:\n", h.org)
	p("   at most 500 deletions a run, nothing untagged younger than 1h.\n")
	pkgs := make([]string, 0, len(h.versions))
	for pkg := range h.versions {
		pkgs = append(pkgs, pkg)
	}
	slices.Sort(pkgs)
	for _, pkg := range pkgs {
		deleted := 0
		for _, v := range h.versions[pkg] {
			if v.Deleted {
				deleted++
			}
		}
		p("   Package %s: %d versions, %d of them deleted.\n", pkg, len(h.versions[pkg]), deleted)
	}
	p("   The image is a multi-arch release (v1.0.0, latest) with its signature and\n")
	p("   attestation, untagged builds, pr-* builds, and v0.9.0, deleted by hand 3 days\n")
	p("   ago; it is public and pr-41 was pulled 6,000 times. The npm package has\n")
	p("   releases and pre-releases.\n")

	p("\n2. What happened\n\n")
	p("   @%s pushed %s\n   and published %s.\n", h.admin, h.pushed, h.published)
	p("   The simulator sent signed webhooks: %s\n", h.webhooks)
	p("   (counting those of pkgwarden's own issue writes, which it ignores).\n")
	p("   pkgwarden checked each signature, queued one prune job per package on NATS JetStream,\n")
	p("   and a worker ran each: list versions, apply the rules, delete, write a report.\n")

	p("\n3. Deleted (%d), and why\n", len(res.Deleted))
	writeGroups(ew, res.Deleted)
	p("   Each deletion is listed on the package's report issue with a box to tick to\n")
	p("   restore it, and a comment can ask for any of them (section 8); %s [%d]\n   comes back through a comment in section 7.\n", displayTags(h.undo.Entry.Tags), h.undo.Entry.ID)
	p("\n4. Kept (%d), and why\n", len(res.Kept))
	writeGroups(ew, res.Kept)
	p("\n5. GitHub refused (%d)\n", len(res.Skipped))
	writeGroups(ew, res.Skipped)
	p("   pkgwarden records the refusal and moves on; it does not retry it.\n")

	p("\n6. Restored (%d), and why\n", len(res.Restored))
	writeGroups(ew, res.Restored)
	p("   Deleted versions can be restored for 30 days. The scheduler's sweep (run twice here,\n")
	p("   at once) brings back what restore.tags protects; a person can ask for anything else.\n")

	p("\n7. Undo through a comment\n\n")
	p("   @%s commented on %s#%d:\n\n     %s\n\n", h.admin, h.repo, h.undo.Issue, h.undo.Comment)
	p("   asking for %s %d (%s, %s) back.\n", h.undo.Entry.Package, h.undo.Entry.ID, rules.ShortDigest(h.undo.Entry.Version), displayTags(h.undo.Entry.Tags))
	p("   Only people with write access to the repository are obeyed. pkgwarden answered:\n\n")
	writeIndented(ew, h.undo.Answer, 5, 30)

	p("\n8. Issues written (%d)\n", len(h.issues))
	for _, is := range h.issues {
		p("\n   %s#%d %q, by %s, %s\n", is.Repository, is.Number, is.Title, is.User, is.State)
		p("   %s/%s/issues/%d\n\n", strings.TrimSuffix(h.api, "/"), is.Repository, is.Number)
		writeIndented(ew, is.Body, 5, 40)
		for _, c := range is.Comments {
			p("\n     -- comment by %s:\n", c.User)
			writeIndented(ew, c.Body, 5, 16)
		}
	}
	p("\nDone in %s. Everything lives in a temporary directory, removed at exit. Run\nwith --keep-running to\n", h.took.Round(100*time.Millisecond))
	p("browse the simulator's API and issues, or --json for the result as data.\n")
	if ew.err != nil {
		return fmt.Errorf("demo: write: %w", ew.err)
	}
	return nil
}

// writeGroups prints entries grouped by package and reason, one line per
// group, so ten untagged builds deleted for one reason read as one line.
func writeGroups(w io.Writer, list []demoEntry) {
	type group struct {
		pkg, reason string
		names       []string
	}
	var groups []*group
	for _, e := range list {
		reason, detail := e.Reason, ""
		// Platform images, signatures and attestations stay with what
		// they hang off: one group per parent, each saying what it is.
		if e.hangsOff != "" {
			reason, detail = "kept with "+e.hangsOff+" (what hangs off it)", ": "+e.relation
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.pkg == e.Package && g.reason == reason })
		if i < 0 {
			groups = append(groups, &group{pkg: e.Package, reason: reason})
			i = len(groups) - 1
		}
		name := rules.ShortDigest(e.Version)
		if len(e.Tags) > 0 {
			name = displayTags(e.Tags) + " (" + name + ")"
		}
		groups[i].names = append(groups[i].names, fmt.Sprintf("%s [%d]%s", name, e.ID, detail))
	}
	last := ""
	for _, g := range groups {
		if g.pkg != last {
			fmt.Fprintf(w, "   %s\n", g.pkg)
			last = g.pkg
		}
		fmt.Fprintf(w, "     %s\n", strings.TrimSuffix(g.reason, ".")+":")
		for _, n := range g.names {
			fmt.Fprintf(w, "       %s\n", n)
		}
	}
}

// htmlComment matches the markers pkgwarden hides in its markdown.
var htmlComment = regexp.MustCompile(`\s*<!--.*?-->`)

// writeIndented prints text indented, at most max lines, without the
// hidden HTML-comment markers and the blank lines they leave.
func writeIndented(w io.Writer, text string, indent, max int) {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
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
	for i, l := range lines {
		if i == max {
			fmt.Fprintf(w, "%s… (%d more lines)\n", pad, len(lines)-max)
			return
		}
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
