package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/termtext"
)

// ageRecorder is the planner's Packages, remembering when each listed
// version was created: a decision's entries carry no time, and plan shows
// ages and orders its rows by them. It also keeps each package's listing
// of deleted versions: the planner lists them for a broken image, and
// viewPlan's restores need the same, listed once. (Active versions are
// listed once anyway, and not kept twice.)
type ageRecorder struct {
	planner.Packages
	mu      sync.Mutex
	created map[string]map[int64]time.Time   // by "type/name"
	deleted map[string]githubapi.VersionList // by "type/name"
}

func newAgeRecorder(p planner.Packages) *ageRecorder {
	return &ageRecorder{Packages: p, created: map[string]map[int64]time.Time{}, deleted: map[string]githubapi.VersionList{}}
}

func (a *ageRecorder) ListVersions(ctx context.Context, o githubapi.Owner, packageType, name string, opts githubapi.ListVersionsOptions) (githubapi.VersionList, error) {
	key := packageType + "/" + name
	isDeleted := opts.State == githubapi.StateDeleted
	if isDeleted {
		a.mu.Lock()
		list, ok := a.deleted[key]
		a.mu.Unlock()
		if ok {
			return list, nil
		}
	}
	list, err := a.Packages.ListVersions(ctx, o, packageType, name, opts)
	if err != nil {
		return list, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if isDeleted {
		a.deleted[key] = list
	}
	if a.created[key] == nil {
		a.created[key] = map[int64]time.Time{}
	}
	for _, v := range list.Versions {
		a.created[key][v.ID] = v.CreatedAt
	}
	return list, nil
}

func (a *ageRecorder) createdAt(pkg rules.Package, id int64) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.created[pkg.Type+"/"+pkg.Name][id]
}

// planView is what plan prints: the planner's decisions, with each
// version's creation time, the restores the rules would make and the
// policy's cap.
type planView struct {
	planner.Plan
	Packages []packageView
}

// packageView is one package of a planView.
type packageView struct {
	rules.Decision
	// Created is each listed version's creation time, by ID.
	Created map[int64]time.Time
	// Restore lists the deleted versions restore.tags protects: what the
	// restore sweep would bring back, as far as plan can tell.
	Restore []restoreEntry
	// Cap is the run's cap on deletions; nil when nothing would go.
	Cap *planCap
}

// restoreEntry is a deleted version the restore sweep would bring back.
type restoreEntry struct {
	ID        int64      `json:"id"`
	Version   string     `json:"version"`
	Tags      []string   `json:"tags"`
	Reason    string     `json:"reason"`
	Kind      rules.Kind `json:"kind"`
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt time.Time  `json:"deleted_at,omitzero"`
}

// planCap is policy.max_deletions_per_run against what the rules would
// delete: ThisRun go now, Deferred wait for later runs. (A group larger
// than the cap is kept, its reason says so, and is not counted here: no
// run deletes it until the cap is raised.)
type planCap struct {
	Max      int `json:"max_deletions_per_run"`
	ThisRun  int `json:"this_run"`
	Deferred int `json:"deferred"`
}

// viewPlan adds ages, restores and the cap to the plan. It reads each
// package's rules again from loader (which cached them) and lists the
// deleted versions of the packages whose rule has restore.tags.
func viewPlan(ctx context.Context, plan planner.Plan, loader *rules.Loader, pkgs *ageRecorder) (planView, error) {
	view := planView{Plan: plan}
	for _, d := range plan.Packages {
		pv := packageView{Decision: d, Created: map[int64]time.Time{}}
		for _, e := range slices.Concat(d.Delete, d.Keep) {
			pv.Created[e.ID] = pkgs.createdAt(d.Package, e.ID)
		}
		cfg, err := loader.Load(ctx, d.Package)
		var invalid rules.ErrorList
		switch {
		case errors.As(err, &invalid):
			// Untouched, and the restore job restores nothing either
			// until the file is fixed.
			view.Packages = append(view.Packages, pv)
			continue
		case err != nil:
			return planView{}, fmt.Errorf("plan %s: %w", d.Package, err)
		}
		pv.Cap = capOf(d, cfg)
		if pv.Restore, err = restores(ctx, plan.Owner, plan.At, d, cfg, pkgs); err != nil {
			return planView{}, fmt.Errorf("plan %s: list deleted versions: %w", d.Package, err)
		}
		view.Packages = append(view.Packages, pv)
	}
	return view, nil
}

// capOf counts the deletions of d against the policy's cap; nil when the
// rules would delete nothing, now or later.
func capOf(d rules.Decision, cfg *rules.Config) *planCap {
	c := planCap{Max: cfg.Policy.MaxDeletionsPerRun, ThisRun: len(d.Delete)}
	if c.Max <= 0 {
		c.Max = rules.DefaultMaxDeletionsPerRun
	}
	for _, e := range d.Keep {
		if e.Kind == rules.KindDeferred {
			c.Deferred++
		}
	}
	if c.ThisRun+c.Deferred == 0 {
		return nil
	}
	return &c
}

// restores lists the deleted versions of d's package that the restore
// sweep would bring back: those with a tag the governing rule's
// restore.tags matches, read as the restore job reads the rule (a
// repository's rules only for that repository's packages).
func restores(ctx context.Context, owner githubapi.Owner, at time.Time, d rules.Decision, cfg *rules.Config, pkgs *ageRecorder) ([]restoreEntry, error) {
	if cfg.Inert() || (cfg.Repository != "" && !strings.EqualFold(cfg.Repository, d.Package.RepoName())) {
		return nil, nil
	}
	rule, _ := cfg.Match(d.Package)
	if rule == nil || rule.Restore == nil || rule.Restore.Tags.Empty() {
		return nil, nil
	}
	list, err := pkgs.ListVersions(ctx, owner, d.Package.Type, d.Package.Name, githubapi.ListVersionsOptions{State: githubapi.StateDeleted})
	if err != nil {
		return nil, err
	}
	var out []restoreEntry
	for _, v := range list.Versions {
		if !rule.Restore.Wants(v.Tags) {
			continue
		}
		var protected []string
		for _, t := range v.Tags {
			if rule.Restore.Tags.Match(t) {
				protected = append(protected, t)
			}
		}
		why := "restore.tags " + rule.Restore.Tags.String() + " protects " + strings.Join(protected, ",")
		if !v.DeletedAt.IsZero() {
			why = "deleted " + ageAt(at, v.DeletedAt) + " ago; " + why
		}
		tags := v.Tags
		if tags == nil {
			tags = []string{}
		}
		out = append(out, restoreEntry{ID: v.ID, Version: v.Name, Tags: tags, Reason: why,
			Kind: rules.KindRestoreTags, CreatedAt: v.CreatedAt, DeletedAt: v.DeletedAt})
	}
	return out, nil
}

// Row actions, in the order plan lists them.
const (
	actionDelete  = "delete"
	actionDefer   = "defer"
	actionRestore = "restore"
	actionKeep    = "keep"
)

var actionRank = map[string]int{actionDelete: 0, actionDefer: 1, actionRestore: 2, actionKeep: 3}

// planRow is one line of a package's table.
type planRow struct {
	action  string
	id      int64
	version string
	tags    []string
	created time.Time
	reason  string
}

// rows lists the package's versions by action, then oldest first (a
// version of unknown age last), then by ID.
func (pv packageView) rows() []planRow {
	var rows []planRow
	add := func(action string, e rules.Entry) {
		rows = append(rows, planRow{action: action, id: e.ID, version: e.Version, tags: e.Tags, created: pv.Created[e.ID], reason: e.Reason})
	}
	for _, e := range pv.Delete {
		add(actionDelete, e)
	}
	for _, e := range pv.Keep {
		if e.Kind == rules.KindDeferred {
			add(actionDefer, e)
		} else {
			add(actionKeep, e)
		}
	}
	for _, r := range pv.Restore {
		rows = append(rows, planRow{action: actionRestore, id: r.ID, version: r.Version, tags: r.Tags, created: r.CreatedAt, reason: r.Reason})
	}
	slices.SortStableFunc(rows, func(a, b planRow) int {
		if c := cmp.Compare(actionRank[a.action], actionRank[b.action]); c != 0 {
			return c
		}
		if a.created.IsZero() != b.created.IsZero() {
			if a.created.IsZero() {
				return 1
			}
			return -1
		}
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return rows
}

// counts are a package's (or a plan's) versions by action.
type counts struct {
	del, deferred, restore, keep int
}

func (pv packageView) counts() counts {
	c := counts{del: len(pv.Delete), restore: len(pv.Restore)}
	for _, e := range pv.Keep {
		if e.Kind == rules.KindDeferred {
			c.deferred++
		} else {
			c.keep++
		}
	}
	return c
}

// String reads "8 to delete, 2 deferred, 1 to restore, 10 to keep",
// leaving out deferred and restore when there are none.
func (c counts) String() string {
	parts := []string{plural(c.del, "version", "versions") + " to delete"}
	if c.deferred > 0 {
		parts = append(parts, fmt.Sprintf("%d deferred", c.deferred))
	}
	if c.restore > 0 {
		parts = append(parts, fmt.Sprintf("%d to restore", c.restore))
	}
	parts = append(parts, fmt.Sprintf("%d to keep", c.keep))
	return strings.Join(parts, ", ")
}

// plural is n and the noun that goes with it: "1 package", "2 packages".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ageAt is how long before now t was, as people say it: 45m, 20h, 3d,
// 5w, 2y; "-" when t is unknown. Under two days in hours, under two
// weeks in days, under a year in weeks.
func ageAt(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return humanAge(now.Sub(t))
}

func humanAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", max(d, 0)/time.Minute)
	case d < 2*day:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d < 14*day:
		return fmt.Sprintf("%dd", d/day)
	case d < 365*day:
		return fmt.Sprintf("%dw", d/(7*day))
	default:
		return fmt.Sprintf("%dy", d/(365*day))
	}
}

// writePlanTable prints the plan grouped by package: a row per version,
// by action then oldest first, with its age and reason; the cap; then
// totals.
func writePlanTable(w io.Writer, view planView) error {
	ew := &termtext.ErrWriter{W: w}
	fmt.Fprintf(ew, "Plan for %s as of %s\n", view.Owner.Login, view.At.UTC().Format(time.RFC3339))
	for _, n := range view.Notices {
		fmt.Fprintf(ew, "note: %s\n", n)
	}
	if len(view.Packages) == 0 {
		fmt.Fprintln(ew, "\nNo packages.")
	}
	var total counts
	var storage storageTotal
	untouched := 0
	for _, pv := range view.Packages {
		d := pv.Decision
		fmt.Fprintf(ew, "\n%s\n", d.Package)
		linked := "not linked to a repository"
		if repo := d.Package.RepoName(); repo != "" {
			linked = "linked to " + d.Package.Owner + "/" + repo
		}
		rulesFrom := "no pkgwarden.yml"
		if d.Origin != "" {
			rulesFrom = "rules from " + d.Origin
			if d.Rule >= 0 {
				rulesFrom += fmt.Sprintf(" (rule %d)", d.Rule+1)
			} else {
				rulesFrom += " (no rule matches)"
			}
		}
		fmt.Fprintf(ew, "  %s; %s\n", linked, rulesFrom)
		for _, n := range d.Notices {
			if n != d.Untouched {
				fmt.Fprintf(ew, "  note: %s\n", n)
			}
		}
		c := pv.counts()
		total.del += c.del
		total.deferred += c.deferred
		total.restore += c.restore
		total.keep += c.keep
		storage.add(d)
		if d.Untouched != "" {
			untouched++
			fmt.Fprintf(ew, "  UNTOUCHED: %s\n  %s kept\n", d.Untouched, plural(len(d.Keep), "version", "versions"))
			continue
		}
		if d.DryRun {
			fmt.Fprintln(ew, "  dry_run: a prune would only report these deletions")
		}
		if rows := pv.rows(); len(rows) > 0 {
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  ACTION\tID\tVERSION\tTAGS\tAGE\tREASON")
			for _, r := range rows {
				fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", r.action, r.id, rules.ShortDigest(r.version), displayTags(r.tags), ageAt(view.At, r.created), r.reason)
			}
			_ = tw.Flush()
		}
		writePlanBroken(ew, d)
		if pv.Cap != nil {
			fmt.Fprintf(ew, "  cap: %d of %s this run (max_deletions_per_run %d)", pv.Cap.ThisRun, plural(pv.Cap.ThisRun+pv.Cap.Deferred, "deletion", "deletions"), pv.Cap.Max)
			if pv.Cap.Deferred > 0 {
				fmt.Fprintf(ew, "; %d wait for the next runs", pv.Cap.Deferred)
			}
			fmt.Fprintln(ew)
		}
		if len(pv.Restore) > 0 {
			fmt.Fprintln(ew, "  note: restores judged on the tags GitHub lists; the restore sweep also leaves alone versions pkgwarden deleted itself or whose deletion was marked intentional, which plan cannot see")
		}
		if s := storageLine(d); s != "" {
			fmt.Fprintf(ew, "  %s\n", s)
		}
		fmt.Fprintf(ew, "  %s\n", c)
	}
	fmt.Fprintf(ew, "\nTotal: %s, %s, %s untouched.\n", plural(len(view.Packages), "package", "packages"), total, plural(untouched, "package", "packages"))
	fmt.Fprintln(ew, storage)
	fmt.Fprintln(ew, "Nothing was deleted or restored: plan never changes anything.")
	if ew.Err != nil {
		return fmt.Errorf("write table: %w", ew.Err)
	}
	return nil
}

// planEntryJSON is a rules.Entry as plan --json prints it: its own fields,
// then created_at.
type planEntryJSON struct {
	rules.Entry
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// planPackageJSON is a package as plan --json prints it: the fields of
// rules.Decision's JSON, in its order (TestPlanJSONKeepsDecisionFields
// keeps them so), then plan's own: restore and cap.
type planPackageJSON struct {
	Owner     string          `json:"owner"`
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Delete    []planEntryJSON `json:"delete"`
	Keep      []planEntryJSON `json:"keep"`
	Untouched *string         `json:"untouched"`
	Notices   []string        `json:"notices,omitempty"`
	Storage   *rules.Storage  `json:"storage,omitempty"`

	// Broken follows the decision's fields (broken images, plan_broken.go).
	Broken []rules.BrokenImage `json:"broken,omitempty"`

	Restore []restoreEntry `json:"restore"`
	Cap     *planCap       `json:"cap"`
}

// writePlanJSON prints {"packages": [...]}: each package in the shape of
// rules.Decision's JSON, its entries with created_at, plus the restores
// the rules would make and the cap (null when nothing would be deleted).
// Delete stays in deletion order and Keep newest first, as the decision
// has them: scripts may rely on it.
func writePlanJSON(w io.Writer, view planView) error {
	out := struct {
		Packages []planPackageJSON `json:"packages"`
		Notices  []string          `json:"notices,omitempty"`
	}{Packages: []planPackageJSON{}, Notices: view.Notices}
	for _, pv := range view.Packages {
		d := pv.Decision
		p := planPackageJSON{Owner: d.Package.Owner, Type: d.Package.Type, Name: d.Package.Name,
			Delete: entriesJSON(d.Delete, pv.Created), Keep: entriesJSON(d.Keep, pv.Created),
			Notices: d.Notices, Broken: d.Broken, Restore: pv.Restore, Cap: pv.Cap}
		if d.Untouched != "" {
			u := d.Untouched
			p.Untouched = &u
		}
		if d.Storage != (rules.Storage{}) {
			s := d.Storage
			p.Storage = &s
		}
		if p.Restore == nil {
			p.Restore = []restoreEntry{}
		}
		out.Packages = append(out.Packages, p)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func entriesJSON(es []rules.Entry, created map[int64]time.Time) []planEntryJSON {
	out := make([]planEntryJSON, len(es))
	for i, e := range es {
		out[i] = planEntryJSON{Entry: e, CreatedAt: created[e.ID]}
	}
	return out
}

// displayTags joins tags, shortening the long referrer tags
// (termtext.ShortTag); "-" for none.
func displayTags(tags []string) string {
	if len(tags) == 0 {
		return "-"
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = termtext.ShortTag(t)
	}
	return strings.Join(out, ",")
}
