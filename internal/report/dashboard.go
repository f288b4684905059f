package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// The owner dashboard: one issue in the owner's .github repository, with a
// line per package (its last run and report issue, deleted this week,
// restorable, refused, errors, the deletions due in the coming 7 days),
// switched on by the owner's report.dashboard. It is rewritten in place
// and never commented on. Its rows come from the store the prune job
// keeps (one row per package); the body is pure (RenderDashboard).

// DashboardTitle is the title the dashboard of owner is found again by
// (with pkgwarden's bot as its author: look-alikes are never adopted).
func DashboardTitle(owner string) string { return "pkgwarden: dashboard of " + owner }

// dashboardMarkerPrefix starts the first line of a dashboard body.
const dashboardMarkerPrefix = "<!-- pkgwarden:dashboard "

// Week is how far back "deleted this week" and ahead "next 7 days" look.
const Week = 7 * 24 * time.Hour

// Deletion is how many versions one run of a package deleted, and when.
type Deletion struct {
	At time.Time `json:"at"`
	N  int       `json:"n"`
	// Run is the run's id: a run reported twice counts once.
	Run string `json:"run,omitempty"`
	// Freed is the bytes the run's deletions freed; nil when not measured.
	Freed *int64 `json:"freed,omitempty"`
}

// DashboardRow is one package's line of the dashboard, as its last prune
// run left it. Every text in it came from GitHub or a file someone wrote:
// the renderer keeps each on one line of its table cell.
type DashboardRow struct {
	Package rules.Package `json:"package"`
	// LastRun is when the last run finished, RunID its id, Outcome how it
	// ended ("pruned", "nothing_to_do", "dry_run", "paused", "untouched").
	LastRun time.Time `json:"last_run"`
	RunID   string    `json:"run_id,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	// Issue is the package's report issue; zero when it has none (no
	// report needed yet, or report.per_package: false).
	Issue Issue `json:"issue,omitzero"`
	// Deletions are the deletions of the last 30 days, one per run that
	// deleted; "deleted this week" sums those of the last 7.
	Deletions []Deletion `json:"deletions,omitempty"`
	// Restorable counts the deletions that can still be brought back.
	Restorable int `json:"restorable"`
	// Refused counts the versions GitHub refused to delete (or that were
	// held for an earlier refusal) in the last run.
	Refused int `json:"refused"`
	// Error says what keeps the package from being pruned ("" for
	// nothing): an unreadable manifest, an invalid file...
	Error string `json:"error,omitempty"`
	// WouldDelete counts, for a dry run or a paused run, what the run
	// would have deleted.
	WouldDelete int `json:"would_delete,omitempty"`
	// Next counts the deletions the rules will make in the coming 7 days
	// if nothing is pushed meanwhile, NextShown names the first few.
	Next      int      `json:"next"`
	NextShown []string `json:"next_shown,omitempty"`
	// Size is the bytes the package holds in the registry after the last
	// run; nil when not measured.
	Size *int64 `json:"size,omitempty"`
	// Broken counts the kept images the last run found broken beyond
	// healing (BrokenImages): they put the package under "Needs a look".
	Broken int `json:"broken,omitempty"`
}

// DeletedSince sums the deletions at or after since.
func (r DashboardRow) DeletedSince(since time.Time) int {
	n := 0
	for _, d := range r.Deletions {
		if !d.At.Before(since) {
			n += d.N
		}
	}
	return n
}

// Limits of the dashboard.
const (
	// dashboardBudget is what the body may use of GitHub's limit: room
	// for the closing lines and what a person may add.
	dashboardBudget = MaxBodyChars - 4096
	// maxNextShown is how many of the next deletions a line names.
	maxNextShown = 3
	// maxErrorShown is how much of an error a line shows.
	maxErrorShown = 120
)

// dashboardTotals are the counts of the summary line.
type dashboardTotals struct {
	packages, deleted, restorable, refused, errors, next, would int
	storage                                                     storageTotals
	broken                                                      int
}

func (t *dashboardTotals) add(r DashboardRow, weekAgo time.Time) {
	t.packages++
	t.deleted += r.DeletedSince(weekAgo)
	t.restorable += r.Restorable
	t.refused += r.Refused
	t.next += r.Next
	t.would += r.WouldDelete
	t.storage.add(r, weekAgo)
	t.broken += r.Broken
	if r.Error != "" {
		t.errors++
	}
}

// summary is the counts line: parts with zero are left out, except the
// number of packages.
func (t dashboardTotals) summary() string {
	parts := []string{fmt.Sprintf("**%d %s**", t.packages, plural(t.packages, "package", "packages"))}
	add := func(n int, s string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(s, n))
		}
	}
	add(t.deleted, "deleted this week %d")
	add(t.restorable, "%d restorable")
	add(t.refused, "refused %d")
	add(t.errors, "%d with errors")
	add(t.broken, "%d broken images")
	add(t.would, "would delete %d (dry run or paused)")
	add(t.next, "%d due in the next 7 days")
	parts = append(parts, t.storage.parts()...)
	return strings.Join(parts, " · ")
}

// Sections of the dashboard, in the order they show.
const (
	sectionAttention = iota // errors or refusals: someone should look
	sectionActive           // something deleted, restorable or due
	sectionQuiet            // nothing to act on: folded
)

func section(r DashboardRow, weekAgo time.Time) int {
	switch {
	case r.Error != "" || r.Refused > 0 || r.Broken > 0:
		return sectionAttention
	case r.DeletedSince(weekAgo) > 0 || r.Restorable > 0 || r.Next > 0 || r.WouldDelete > 0:
		return sectionActive
	}
	return sectionQuiet
}

// RenderDashboard is the dashboard body of owner at now: the counts on
// top, then a table of the packages with something to look at (errors and
// refusals first, then those deleting or due to), then the quiet ones
// folded in a <details>. Under GitHub's body limit whatever the number of
// packages: rows that would not fit are counted in one line per section
// instead, whose counts add up to the summary's.
func RenderDashboard(owner string, rows []DashboardRow, now time.Time) string {
	now = now.UTC()
	weekAgo := now.Add(-Week)
	var total dashboardTotals
	var bySection [3][]DashboardRow
	for _, r := range rows {
		total.add(r, weekAgo)
		s := section(r, weekAgo)
		bySection[s] = append(bySection[s], r)
	}
	sortRows(bySection[sectionAttention], func(a, b DashboardRow) (bool, bool) {
		if (a.Error != "") != (b.Error != "") {
			return a.Error != "", true
		}
		return a.Refused > b.Refused, a.Refused != b.Refused
	})
	sortRows(bySection[sectionActive], func(a, b DashboardRow) (bool, bool) {
		if a.Next != b.Next {
			return a.Next > b.Next, true
		}
		da, db := a.DeletedSince(weekAgo), b.DeletedSince(weekAgo)
		return da > db, da != db
	})
	sortRows(bySection[sectionQuiet], func(a, b DashboardRow) (bool, bool) { return false, false })

	var b strings.Builder
	b.WriteString(dashboardMarkerPrefix + oneLine(owner) + " -->\n")
	b.WriteString(total.summary() + "\n\n")
	fmt.Fprintf(&b, "pkgwarden's dashboard of `%s`'s packages, rewritten after each run (times UTC, updated %s). ",
		cell(owner), now.Format("2006-01-02 15:04"))
	if withIssues(rows) {
		b.WriteString("A last run links to the package's report issue, where deletions are restored. ")
	} else {
		b.WriteString("`report.per_package: false`: packages have no report issue of their own. ")
	}
	fmt.Fprintf(&b, "\"Next 7 days\" is what the rules will delete by %s if nothing is pushed meanwhile.\n", now.Add(Week).Format("2006-01-02"))

	headings := [3]string{"Needs a look", "Deleting or due", ""}
	for s, list := range bySection {
		if len(list) == 0 {
			continue
		}
		if s == sectionQuiet {
			fmt.Fprintf(&b, "\n<details><summary>%d quiet %s: nothing deleted this week, nothing restorable, refused or due</summary>\n\n",
				len(list), plural(len(list), "package", "packages"))
			b.WriteString("| package | last run |\n|---|---|\n")
		} else {
			fmt.Fprintf(&b, "\n### %s (%d)\n\n", headings[s], len(list))
			b.WriteString("| package | last run | deleted this week | restorable | refused | next 7 days | errors |\n|---|---|---|---|---|---|---|\n")
		}
		for i, r := range list {
			var line string
			if s == sectionQuiet {
				line = fmt.Sprintf("| %s | %s |\n", packageCell(r), lastRunCell(r))
			} else {
				line = fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", packageCell(r), lastRunCell(r),
					count(r.DeletedSince(weekAgo)), count(r.Restorable), count(r.Refused), nextCell(r), errorCell(r))
			}
			if b.Len()+len(line) > dashboardBudget {
				writeRest(&b, list[i:], weekAgo)
				break
			}
			b.WriteString(line)
		}
		if s == sectionQuiet {
			b.WriteString("\n</details>\n")
		}
	}
	if len(rows) == 0 {
		b.WriteString("\nNo package has been pruned yet.\n")
	}
	return b.String()
}

func withIssues(rows []DashboardRow) bool {
	for _, r := range rows {
		if r.Issue.URL != "" {
			return true
		}
	}
	return false
}

// writeRest counts the rows that do not fit in one line, so the section's
// counts still add up.
func writeRest(b *strings.Builder, rest []DashboardRow, weekAgo time.Time) {
	var t dashboardTotals
	for _, r := range rest {
		t.add(r, weekAgo)
	}
	fmt.Fprintf(b, "\n…and %s (not listed: the issue would exceed GitHub's size limit)\n", t.summary())
}

// sortRows sorts by less (first result: a before b, second: decided),
// then by type and name.
func sortRows(rows []DashboardRow, less func(a, b DashboardRow) (bool, bool)) {
	sort.SliceStable(rows, func(i, j int) bool {
		if l, ok := less(rows[i], rows[j]); ok {
			return l
		}
		a, b := rows[i].Package, rows[j].Package
		if !strings.EqualFold(a.Name, b.Name) {
			return strings.ToLower(a.Name) < strings.ToLower(b.Name)
		}
		return a.Type < b.Type
	})
}

// cell keeps a text someone wrote inside one table cell: one line, no
// pipe or backtick to end the cell or a code span early.
func cell(s string) string {
	s = oneLine(s)
	s = strings.ReplaceAll(s, "`", "'")
	return strings.ReplaceAll(s, "|", "\\|")
}

func packageCell(r DashboardRow) string {
	return "`" + cell(r.Package.Type+" "+r.Package.Name) + "`"
}

// lastRunCell is when the last run finished, linked to the report issue
// when there is one, and how the run ended when it deleted nothing on
// purpose.
func lastRunCell(r DashboardRow) string {
	when := r.LastRun.UTC().Format("01-02 15:04")
	if u := safeURL(r.Issue.URL); u != "" {
		when = "[" + when + "](" + u + ")"
	}
	switch r.Outcome {
	case "dry_run":
		when += " dry run"
	case "paused":
		when += " paused"
	}
	return when
}

// safeURL is u when it is a plain https URL a table cell can hold, else
// "": the URL comes from GitHub, but a link must not break the table.
func safeURL(u string) string {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return ""
	}
	if strings.ContainsAny(u, " \t\r\n()<>|`[]\"'") {
		return ""
	}
	return u
}

func count(n int) string {
	if n == 0 {
		return "·"
	}
	return fmt.Sprint(n)
}

func nextCell(r DashboardRow) string {
	var s string
	switch {
	case r.Next == 0 && r.WouldDelete == 0:
		return "·"
	case r.Next > 0:
		shown := make([]string, 0, len(r.NextShown))
		for i, n := range r.NextShown {
			if i == maxNextShown {
				break
			}
			shown = append(shown, cell(n))
		}
		s = fmt.Sprint(r.Next)
		if len(shown) > 0 {
			more := ""
			if r.Next > len(shown) {
				more = ", …"
			}
			s += " (" + strings.Join(shown, ", ") + more + ")"
		}
	}
	if r.WouldDelete > 0 {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("would delete %d now", r.WouldDelete)
	}
	return s
}

func errorCell(r DashboardRow) string {
	if r.Error == "" {
		return brokenCell(r, "·")
	}
	e := cell(r.Error)
	if runes(e) > maxErrorShown {
		e = string([]rune(e)[:maxErrorShown]) + "…"
	}
	return brokenCell(r, e)
}

// Dashboard writes the dashboard of owner from rows into its issue in the
// owner's .github repository: opened the first time, rewritten in place
// when the body changed, reopened if closed, never commented on. Two
// calls for one owner must not run at once (the dashboard job's lease
// gives that): each rewrites the whole body.
func (r *Reporter) Dashboard(ctx context.Context, installation int64, owner string, rows []DashboardRow) (Result, error) {
	body := RenderDashboard(owner, rows, r.now())
	res, err := r.ensure(ctx, []place{r.ownerPlace(installation, owner)},
		func(place) string { return DashboardTitle(owner) }, body)
	if err != nil {
		return res, fmt.Errorf("write the dashboard of %s: %w", owner, err)
	}
	r.log.InfoContext(ctx, "dashboard written", "owner", owner, "packages", len(rows), "issue", res.Issue.Number,
		"created", res.Created, "updated", res.Updated)
	return res, nil
}
