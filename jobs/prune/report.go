package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// IssueReporter writes prune runs to GitHub issues with internal/report:
// the package's report issue and the run's comment, the invalid-config
// issue, the missing-token issue.
type IssueReporter struct {
	Issues *report.Reporter
	Logger *slog.Logger
	// Dashboards, when set, records each run of an owner who keeps a
	// dashboard (report.dashboard) into it; nil means no dashboard.
	Dashboards *Dashboards
}

var _ Reporter = IssueReporter{}

// Report implements Reporter. A report that can go nowhere (issues
// disabled in the repository and in the owner's .github) is logged, not
// retried: retrying cannot help until the owner changes that.
func (r IssueReporter) Report(ctx context.Context, run Run) error {
	var err error
	if run.Token != nil {
		// The owner's concern, said in the owner's issue; the package's
		// report says nothing of it.
		_, err = r.Issues.TokenProblem(ctx, run.InstallationID, run.Package.Owner, run.Package.Repository, *run.Token)
		if err != nil && !errors.Is(err, report.ErrNowhere) {
			return err
		}
	}
	switch run.Outcome {
	case OutcomeTokenProblem:
		var res report.Result
		if len(run.Deleted) > 0 && !run.Report.DashboardOnly {
			// Deletions made before GitHub stopped taking the token.
			res, err = r.Issues.Report(ctx, ReportRun(run))
		}
		err = r.dashboard(ctx, run, res, err)
	case OutcomeNoToken:
		_, err = r.Issues.MissingToken(ctx, run.InstallationID, run.Package.Owner, run.Package.Repository)
	case OutcomeInvalidConfig:
		var res report.Result
		res, err = r.Issues.InvalidConfig(ctx, run.InstallationID, run.Package.Owner, configRepo(run), run.ConfigErrors)
		err = r.dashboard(ctx, run, res, err)
	default:
		var res report.Result
		if !run.Report.DashboardOnly {
			res, err = r.Issues.Report(ctx, ReportRun(run))
		}
		err = r.dashboard(ctx, run, res, err)
	}
	if err == nil && run.TokenWorks {
		_, err = r.Issues.TokenWorks(ctx, run.InstallationID, run.Package.Owner)
	}
	if errors.Is(err, report.ErrNowhere) {
		if r.Logger != nil {
			r.Logger.WarnContext(ctx, "prune run not reported: no repository takes issues", "package", run.Package.String(), "run", run.ID, "err", err)
		}
		return nil
	}
	return err
}

// dashboard records run into its owner's dashboard when the owner keeps
// one and the issue was written (res) or could go nowhere; it returns the
// issue's error, or the dashboard's.
func (r IssueReporter) dashboard(ctx context.Context, run Run, res report.Result, err error) error {
	if (err != nil && !errors.Is(err, report.ErrNowhere)) || !run.Report.Dashboard || r.Dashboards == nil {
		return err
	}
	if derr := r.Dashboards.Record(ctx, run, res); derr != nil {
		return fmt.Errorf("dashboard of %s: %w", run.Package.Owner, derr)
	}
	return err
}

// ReportRun is the report package's view of a run: GitHub's refusals
// are its refused versions (with when they are asked again), the
// candidates kept by the re-check or deferred by the cap are kept; versions
// found gone already are no longer listed and not reported.
func ReportRun(run Run) report.Run {
	out := report.Run{
		ID: run.ID, Installation: run.InstallationID, Package: run.Package, Report: run.Report,
		Decision: run.Decision, Paused: run.Paused, Deleted: run.Deleted,
		Skipped: run.Skipped, AskAgain: run.AskAgain, Storage: run.Storage,
	}
	if run.DryRun || run.Paused {
		// The report reads Decision.Delete as the preview then.
		out.Deleted = nil
	}
	for _, list := range [][]rules.Entry{run.Kept, run.Deferred} {
		out.Kept = append(out.Kept, list...)
	}
	return out
}

// configRepo is the repository whose invalid file is reported: the one the
// errors name, else the package's.
func configRepo(run Run) string {
	for _, e := range run.ConfigErrors {
		if e.Repo != "" {
			return pkgref.RepoName(e.Repo)
		}
	}
	return run.Package.RepoName()
}
