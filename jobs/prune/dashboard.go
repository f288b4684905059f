package prune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
)

// The owner dashboard (report.dashboard: true in the owner's file) is
// written in two steps, so that runs of several packages of one owner
// finishing at once on several workers or replicas never lose an update:
//
//  1. each prune run stores its package's row (Dashboards.Record, under
//     the package's lease: one writer per row), then queues a dashboard
//     job for the owner;
//  2. the dashboard job (DashboardHandler) reads every row of the owner and
//     rewrites the issue.
//
// The dashboard job has one subject and one lease per owner
// (jobs.DashboardTarget): a burst of runs leaves one waiting job, which
// runs once the lease is free, and a job queued while another rewrites the
// issue waits for it, then reads rows stored after it began. Two writers
// never rewrite the body at once, and the last one has seen every row.
// A compare-and-swap on the issue is not possible (GitHub's issue edit has
// no precondition), which is why the lease and not a KV revision orders
// the writers.

// rowMemory is how long a package's deletions count for its row: GitHub
// keeps deleted versions restorable for 30 days.
const rowMemory = 30 * 24 * time.Hour

// Dashboards records prune runs into the rows of their owner's dashboard
// and queues the owner's dashboard job.
type Dashboards struct {
	Inventory *inventory.Store
	Queue     *queue.Queue
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record stores run's row of its owner's dashboard (res is what the
// package's report issue became, zero without one) and queues the
// owner's dashboard job.
func (d *Dashboards) Record(ctx context.Context, run Run, res report.Result) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ipkg := inventory.Package{Ref: run.Package}
	var prev report.DashboardRow
	b, ok, err := d.Inventory.DashboardRow(ctx, run.InstallationID, ipkg)
	if err != nil {
		return err
	}
	if ok {
		if err := json.Unmarshal(b, &prev); err != nil {
			// A row is only ever written here: an unreadable one is
			// replaced, losing its history only.
			prev = report.DashboardRow{}
		}
	}
	row := dashboardRow(run, res, prev, now())
	if b, err = json.Marshal(row); err != nil {
		return fmt.Errorf("dashboard row of %s: %w", run.Package, err)
	}
	if err := d.Inventory.SetDashboardRow(ctx, run.InstallationID, ipkg, b); err != nil {
		return err
	}
	return jobs.Publish(ctx, d.Queue, jobs.Job{
		Type: jobs.TypeDashboard, Target: jobs.DashboardTarget(run.InstallationID, run.Package.Owner),
		Reason: "prune of " + run.Package.String() + " finished", QueuedAt: now(),
	})
}

// dashboardRow is run's line of the dashboard, its deletions added to
// those of the runs before (prev) of the last 30 days. A run reported again
// (a retried job) replaces its own deletions rather than adding them twice.
func dashboardRow(run Run, res report.Result, prev report.DashboardRow, now time.Time) report.DashboardRow {
	at := run.Finished
	if at.IsZero() {
		at = now
	}
	row := report.DashboardRow{
		Package: run.Package, LastRun: at.UTC(), RunID: run.ID, Outcome: string(run.Outcome),
		Issue: res.Issue, Refused: len(run.Skipped), Error: run.Decision.Untouched,
	}
	row.Broken = report.BrokenImages(run.Decision)
	if run.Outcome == OutcomeInvalidConfig && len(run.ConfigErrors) > 0 {
		e := run.ConfigErrors[0]
		row.Error = fmt.Sprintf("invalid %s, line %d: %s", e.File, e.Line, e.Msg)
		if e.Repo != "" {
			row.Error = fmt.Sprintf("invalid %s:%s, line %d: %s", e.Repo, e.File, e.Line, e.Msg)
		}
		if n := len(run.ConfigErrors); n > 1 {
			row.Error += fmt.Sprintf(" (and %d more)", n-1)
		}
		// Nothing was looked at: what the last good run said still holds.
		row.Restorable, row.Next, row.NextShown = prev.Restorable, prev.Next, prev.NextShown
	}
	if run.Outcome == OutcomeTokenProblem && run.Token != nil {
		row.Error = tokenProblemCell(run.Token.TokenProblem)
	}
	for _, del := range prev.Deletions {
		if del.Run != run.ID && now.Sub(del.At) < rowMemory {
			row.Deletions = append(row.Deletions, del)
		}
	}
	if (run.Outcome == OutcomePruned || run.Outcome == OutcomeTokenProblem) && len(run.Deleted) > 0 {
		row.Deletions = append(row.Deletions, report.Deletion{At: at.UTC(), N: len(run.Deleted), Run: run.ID, Freed: freedBytes(run)})
	}
	if row.Size = sizeAfter(run); run.Outcome == OutcomeInvalidConfig {
		row.Size = prev.Size
	}
	if run.DryRun || run.Paused {
		row.WouldDelete = len(run.Decision.Delete)
	}
	switch {
	case run.Outcome == OutcomeInvalidConfig:
	case res.Issue.Number != 0:
		row.Restorable = res.Restorable
	default:
		// No report issue (report.per_package: false): what GitHub still
		// keeps of pkgwarden's deletions.
		row.Restorable = row.DeletedSince(now.Add(-rowMemory))
	}
	if run.Outcome == OutcomeInvalidConfig {
		return row
	}
	row.Next = len(run.Next)
	for _, e := range run.Next {
		if len(row.NextShown) == 3 {
			break
		}
		name := rules.ShortDigest(e.Version)
		if len(e.Tags) > 0 {
			name = e.Tags[0]
		}
		row.NextShown = append(row.NextShown, name)
	}
	return row
}

// weekAhead is what the rules will delete within 7 days if nothing is
// pushed: the same decision (the same listing, graph, holds and
// configuration) taken again as of a week later, less what this run
// deletes. Deciding again rather than reading the kept versions' reasons
// gives every rule its due (ages crossing older_than and the policy's
// floor, keep_* counts, what lives and dies with what) from the one
// function that decides. Only for an owner who keeps a dashboard: it costs
// a second decision.
func weekAhead(cfg *rules.Config, in rules.Input, now rules.Decision) []rules.Entry {
	if cfg == nil || !cfg.Report.Dashboard || in.Config == nil || now.Untouched != "" {
		return nil
	}
	going := make(map[int64]bool, len(now.Delete))
	for _, e := range now.Delete {
		going[e.ID] = true
	}
	in.Now = in.Now.Add(report.Week)
	var out []rules.Entry
	for _, e := range rules.Decide(in).Delete {
		if !going[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

// DashboardHandler is the dashboard job's handler: it rewrites the owner's
// dashboard issue from every row stored for the owner.
type DashboardHandler struct {
	Inventory *inventory.Store
	Issues    *report.Reporter
	Logger    *slog.Logger
}

// Handle rewrites the dashboard of job's owner. A dashboard that can go
// nowhere (the owner's .github takes no issues) is logged, not retried.
func (h DashboardHandler) Handle(ctx context.Context, job jobs.Job) error {
	t := job.Target
	raw, err := h.Inventory.DashboardRows(ctx, t.InstallationID, t.Owner)
	if err != nil {
		return err
	}
	rows := make([]report.DashboardRow, 0, len(raw))
	for _, b := range raw {
		var r report.DashboardRow
		if err := json.Unmarshal(b, &r); err != nil {
			continue // rewritten by the package's next run
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b report.DashboardRow) int {
		if a.Package.Key() < b.Package.Key() {
			return -1
		}
		if a.Package.Key() > b.Package.Key() {
			return 1
		}
		return 0
	})
	_, err = h.Issues.Dashboard(ctx, t.InstallationID, t.Owner, rows)
	if errors.Is(err, report.ErrNowhere) {
		job.Logger(jobs.LoggerOrDiscard(h.Logger)).WarnContext(ctx, "dashboard not written: the owner's .github takes no issues", "err", err)
		return nil
	}
	return err
}

// tokenProblemCell is a token problem in a dashboard's errors column; the
// owner's token issue says how to fix it.
func tokenProblemCell(p githubapi.TokenProblem) string {
	switch p.Kind {
	case githubapi.TokenInvalid:
		return "packages token refused by GitHub (invalid, expired or revoked): see the token issue"
	case githubapi.TokenSSO:
		return "packages token not authorised for SAML SSO: see the token issue"
	case githubapi.TokenScope:
		if len(p.Missing) > 0 {
			return "packages token lacks " + strings.Join(p.Missing, ", ") + ": see the token issue"
		}
		return "packages token lacks a scope: see the token issue"
	}
	return "packages token: see the token issue"
}
