package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
)

// ConfigIssues writes and settles the invalid-config issue;
// *report.Reporter provides it.
type ConfigIssues interface {
	InvalidConfig(ctx context.Context, installation int64, owner, repo string, errs rules.ErrorList) (report.Result, error)
	ConfigFixed(ctx context.Context, installation int64, owner, repo, note string) (report.Result, error)
}

var _ ConfigIssues = (*report.Reporter)(nil)

// ConfigJobConfig configures NewConfigHandler.
type ConfigJobConfig struct {
	// Access is the way to GitHub (required): the App reads configuration
	// files as the installation; the owner's packages token lists the
	// owner's packages (an owner without one gets no prunes queued: its
	// prune jobs could only report the missing token).
	Access *planner.Access
	// Issues reports invalid files (required).
	Issues ConfigIssues
	// Queue is where the prune jobs go (required).
	Queue *queue.Queue
	// MaxPackages bounds the prunes one push queues (the owner's .github
	// governs every package of the owner); default 1,000. Packages past
	// it are pruned at their next publish or sweep.
	MaxPackages int
	Logger      *slog.Logger
}

// ConfigHandler is the config job's handler.
type ConfigHandler struct {
	cfg ConfigJobConfig
	now func() time.Time // the Access's clock
	log *slog.Logger
}

// NewConfigHandler checks cfg and fills its defaults.
func NewConfigHandler(cfg ConfigJobConfig) (*ConfigHandler, error) {
	if err := cfg.Access.Check(); err != nil {
		return nil, fmt.Errorf("config handler: %w", err)
	}
	switch {
	case cfg.Issues == nil:
		return nil, errors.New("config handler: nowhere to report invalid files")
	case cfg.Queue == nil:
		return nil, errors.New("config handler: no queue for the prune jobs")
	}
	if cfg.MaxPackages <= 0 {
		cfg.MaxPackages = 1000
	}
	h := &ConfigHandler{cfg: cfg, now: cfg.Access.Clock(), log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Handle validates the repository's file as it is now on the default
// branch (not as the push had it: a later push may have changed it
// again), reports or settles the invalid-config issue, and, when the
// configuration is valid, queues a prune of every package it governs.
func (h *ConfigHandler) Handle(ctx context.Context, job jobs.Job) error {
	t := job.Target
	owner, repo := t.Owner, t.PackageName
	log := job.Logger(h.log)
	ownerWide := strings.EqualFold(repo, rules.OwnerRepo)

	// The loader resolves the file as a prune would (the owner's policy,
	// _extends): an error it reports is one every prune would stop at.
	pkg := rules.Package{Owner: owner, Type: rules.TypeContainer, Name: "", Repository: owner + "/" + repo}
	if ownerWide {
		pkg.Repository = ""
	}
	loader := rules.NewLoader(githubapi.NewContentsSource(h.cfg.Access.App.InstallationClient(t.InstallationID), h.now))
	_, err := loader.Load(ctx, pkg)
	var invalid rules.ErrorList
	if err != nil && !errors.As(err, &invalid) {
		return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
	}
	if len(invalid) > 0 {
		// Report to the repository the errors name: the pushed one, or
		// the owner's .github when its file (read first) is the broken one.
		at := repo
		if r := invalid[0].Repo; r != "" {
			at = pkgref.RepoName(r)
		}
		if _, err := h.cfg.Issues.InvalidConfig(ctx, t.InstallationID, owner, at, invalid); err != nil && !errors.Is(err, report.ErrNowhere) {
			return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
		}
		log.InfoContext(ctx, "config: invalid file reported", "reported_in", owner+"/"+at, "errors", len(invalid))
		// No prunes: they would stop at the same errors. When the errors
		// are the owner's, the pushed file was not even reached, and its
		// own issue, if any, stays until the owner's file is fixed.
		return nil
	}
	note := ""
	if job.Reason != "" {
		note = "(" + job.Reason + ")"
	}
	res, err := h.cfg.Issues.ConfigFixed(ctx, t.InstallationID, owner, repo, note)
	if err != nil && !errors.Is(err, report.ErrNowhere) {
		return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
	}
	if res.Closed {
		log.InfoContext(ctx, "config: invalid-config issue closed", "issue", res.Issue.Number)
	}
	return h.queuePrunes(ctx, log, job, ownerWide)
}

// queuePrunes queues a prune of each package linked to the repository, or
// of every package of the owner for its .github repository.
func (h *ConfigHandler) queuePrunes(ctx context.Context, log *slog.Logger, job jobs.Job, ownerWide bool) error {
	t := job.Target
	session, err := h.cfg.Access.Session(t.Owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		// Nothing can be pruned; the next prune job reports the missing
		// token, which is where that issue is kept.
		log.InfoContext(ctx, "config: no packages token, no prunes queued", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("config of %s: %w", t.Repository, err)
	}
	pc := session.Packages
	owner, err := pc.ResolveOwner(ctx, t.Owner)
	if err != nil {
		return fmt.Errorf("config of %s: %w", t.Repository, err)
	}
	var targets []webhook.Target
	for _, typ := range planner.PackageTypes() {
		pkgs, err := pc.ListPackages(ctx, owner, typ, "")
		if err != nil {
			return fmt.Errorf("config of %s: %w", t.Repository, err)
		}
		for _, p := range pkgs {
			if !ownerWide && !strings.EqualFold(p.Repository, t.Repository) {
				continue
			}
			targets = append(targets, webhook.Target{
				InstallationID: t.InstallationID, Owner: owner.Login, OwnerType: string(owner.Kind),
				PackageType: p.Type, PackageName: p.Name, Repository: p.Repository,
			})
		}
	}
	if len(targets) > h.cfg.MaxPackages {
		log.WarnContext(ctx, "config: too many packages; the rest are pruned at their next publish or sweep",
			"packages", len(targets), "queued", h.cfg.MaxPackages)
		targets = targets[:h.cfg.MaxPackages]
	}
	for _, target := range targets {
		// Publishing again after a failed attempt only replaces the
		// waiting job of the package: the retry is harmless.
		pj := jobs.Job{Type: jobs.TypePrune, Target: target, DeliveryID: job.DeliveryID,
			Reason: "configuration changed: " + t.Repository, QueuedAt: h.now().UTC()}
		if err := jobs.Publish(ctx, h.cfg.Queue, pj); err != nil {
			return fmt.Errorf("config of %s: %w", t.Repository, err)
		}
	}
	log.InfoContext(ctx, "config: prunes queued", "packages", len(targets))
	return nil
}
