package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Run is what one prune run did to one package: the plan it followed and
// the outcome of each planned deletion.
type Run struct {
	// ID names the run; it must stay the same when a job is redelivered,
	// because it is what keeps the run to one comment.
	ID           string
	Installation int64
	// Package is the package (Repository empty when linked to none);
	// Decision.Package when left zero.
	Package rules.Package
	// Report is the config's report block (labels and assignees); nil
	// labels mean DefaultLabels.
	Report rules.Report
	// Decision is the plan. With Decision.DryRun or Paused, Decision.Delete
	// is what would have been deleted and Deleted must be empty.
	Decision rules.Decision
	// Paused is true when PKGWARDEN_PAUSED held every deletion back.
	Paused bool
	// Deleted are the versions deleted (a 404 on delete counts), with the
	// reasons from the plan.
	Deleted []rules.Entry
	// Skipped are planned versions not deleted, Reason saying why (GitHub
	// refused: more than 5,000 downloads, last version, ...).
	Skipped []rules.Entry
	// Restored are version ids restored since: they leave the list.
	Restored []int64
}

// Report writes the run into the package's report issue: it finds (or
// opens, or reopens) the issue, rewrites the body when the state changed,
// and adds one comment when the run changed something. Calling it again
// with the same run changes nothing.
func (r *Reporter) Report(ctx context.Context, run Run) (Result, error) {
	if run.Package == (rules.Package{}) {
		run.Package = run.Decision.Package
	}
	pkg := run.Package
	if run.ID == "" {
		return Result{}, fmt.Errorf("report %s: run has no id", pkg)
	}
	if pkg.Owner == "" || pkg.Name == "" {
		return Result{}, fmt.Errorf("report %s: package needs an owner and a name", pkg)
	}
	labels, label := labelsOr(run.Report.Labels)
	title := Title(pkg)
	now := r.now().UTC()
	log := r.log.With("package", pkg.String(), "run", run.ID)

	var tried []string
	for _, p := range r.places(run.Installation, pkg.Owner, pkg.Repository) {
		f, err := r.find(ctx, p, title, label)
		if errors.Is(err, errNoIssues) {
			log.InfoContext(ctx, "repository takes no issues, trying the owner's .github", "repository", p.String(), "err", err)
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("report %s: %w", pkg, err)
		}
		res, err := r.write(ctx, p, f, &run, title, labels, now)
		if errors.Is(err, errNoIssues) {
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("report %s: %w", pkg, err)
		}
		return res, nil
	}
	return Result{}, fmt.Errorf("report %s: tried %s: %w", pkg, strings.Join(tried, ", "), ErrNowhere)
}

// places lists where a package's report may go, in order.
func (r *Reporter) places(installation int64, owner, repo string) []place {
	repo = pkgref.RepoName(repo)
	gh := r.clients.InstallationClient(installation)
	var out []place
	if repo != "" && !strings.EqualFold(repo, rules.OwnerRepo) {
		out = append(out, place{gh: gh, owner: owner, repo: repo})
	}
	return append(out, place{gh: gh, owner: owner, repo: rules.OwnerRepo})
}

// write brings the issue f (nil: none yet) in p up to date with run.
func (r *Reporter) write(ctx context.Context, p place, f *found, run *Run, title string, labels []string, now time.Time) (Result, error) {
	var old []Restorable
	if f != nil {
		old = ParseRestorable(f.body)
	}
	deleted := make([]Restorable, 0, len(run.Deleted))
	// The body keeps times to the second: entries read back group and
	// sort as they were written.
	deletedAt := now.Truncate(time.Second)
	if run.mode() == modeRun {
		for _, e := range run.Deleted {
			deleted = append(deleted, Restorable{ID: e.ID, Version: e.Version, Tags: e.Tags, DeletedAt: deletedAt})
		}
	}
	// The last-deletions block is new only when this run deleted versions
	// the body did not list yet: a redelivered run renders the same body.
	block := noDeletions
	if f != nil {
		block = carriedDeleted(f.body)
	}
	if len(deleted) > 0 && !allListed(old, deleted) {
		block = renderDeleted(run.Deleted, now)
	}
	list := sealed(r.seal, run.Package, mergeRestorable(old, deleted, run.Restored, now))
	body, list := renderBody(run, block, list)

	bodyChanged := f == nil || body != f.body
	preview := (run.mode() == modeDryRun || run.mode() == modePaused) && len(run.Decision.Delete) > 0
	// A refusal or a preview is news only when the body shows something new:
	// the same refusal every run must not add a comment every run.
	commentWanted := (run.mode() == modeRun && len(run.Deleted) > 0) ||
		(bodyChanged && (len(run.Skipped) > 0 || preview))

	w := write{title: title, body: body, labels: labels, assignees: run.Report.Assignees}
	var res Result
	if f == nil {
		worth := commentWanted || run.mode() == modeUntouched || len(run.Skipped) > 0 ||
			len(run.Decision.Notices) > 0 || len(list) > 0
		if !worth {
			return Result{}, nil
		}
		nf, err := r.create(ctx, p, w)
		if err != nil {
			return Result{}, err
		}
		f, res.Created = nf, true
	} else {
		state := ""
		if f.state != "open" && commentWanted {
			state, res.Reopened = "open", true
		}
		updated, err := r.update(ctx, p, f, w, state)
		if err != nil {
			return Result{}, err
		}
		res.Updated = updated
	}
	res.Issue, res.Restorable = f.issue(p), len(list)
	if commentWanted {
		marker := runMarker(run.ID)
		seen := false
		if !res.Created {
			var err error
			if seen, err = r.hasComment(ctx, p, f.number, marker); err != nil {
				return res, err
			}
		}
		if !seen {
			if err := r.comment(ctx, p, f.number, renderComment(run, now)); err != nil {
				return res, err
			}
			res.Commented = true
		}
	}
	level := slog.LevelDebug
	if res.Created || res.Updated || res.Reopened || res.Commented {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, "package report written", "package", run.Package.String(), "run", run.ID,
		"repository", p.String(), "issue", f.number, "created", res.Created, "updated", res.Updated,
		"reopened", res.Reopened, "commented", res.Commented, "restorable", len(list))
	return res, nil
}

func allListed(list, want []Restorable) bool {
	have := make(map[int64]bool, len(list))
	for _, e := range list {
		have[e.ID] = true
	}
	for _, e := range want {
		if !have[e.ID] {
			return false
		}
	}
	return true
}

// labelsOr is labels, or DefaultLabels when nil, and the first of them: the
// label a report issue is found again by ("" for none).
func labelsOr(labels []string) ([]string, string) {
	if labels == nil {
		labels = DefaultLabels
	}
	if len(labels) == 0 {
		return labels, ""
	}
	return labels, labels[0]
}
