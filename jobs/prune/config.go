package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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
	InvalidConfigAt(ctx context.Context, installation int64, owner, repo string, errs rules.ErrorList, push report.ConfigPush) (report.Result, error)
	ConfigValid(ctx context.Context, installation int64, owner, repo string, push report.ConfigPush) (report.Result, error)
	ConfigSettler
}

// ConfigSettler closes the invalid-config issue; *report.Reporter
// provides it.
type ConfigSettler interface {
	ConfigFixed(ctx context.Context, installation int64, owner, repo, note string) (report.Result, error)
}

// ConfigPending remembers the repositories whose invalid-config issue
// waits, the file being valid again, for a prune under it to succeed: the
// config job marks one, the first prune that succeeds under that file
// closes the issue and clears the mark. Any successful prune will do (the
// re-prune the config job queued, or one that replaced it in the queue, a
// publish, a sweep), so no prune is waited for that may never come.
// *KVRunStore provides it.
type ConfigPending interface {
	MarkConfigPending(ctx context.Context, installation int64, owner, repo string) error
	ConfigPending(ctx context.Context, installation int64, owner, repo string) (bool, error)
	ClearConfigPending(ctx context.Context, installation int64, owner, repo string) error
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
	// Pending, when set, holds a fixed file's invalid-config issue open
	// until a prune under it succeeds (Config.ConfigPending closes it
	// then); nil closes it as soon as a push makes the file valid.
	Pending ConfigPending
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
// again) and reports the invalid-config issue, with the push's links and
// pusher; when the configuration is valid it queues a prune of every
// package it governs, and an open invalid-config issue waits, said so, for
// the first of them to succeed (ConfigPending), unless there is none.
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
	// Fresh: the push changed a file the jobs' sources may remember
	// (missing, or by its ETag); what this reads is what they see next.
	loader := rules.NewLoader(h.cfg.Access.Contents(t.InstallationID).Fresh())
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
		push := configPush(job)
		if !strings.EqualFold(at, repo) {
			// The owner's file is what is wrong: this push did not make it so.
			push = report.ConfigPush{}
		}
		if _, err := h.cfg.Issues.InvalidConfigAt(ctx, t.InstallationID, owner, at, invalid, push); err != nil && !errors.Is(err, report.ErrNowhere) {
			return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
		}
		log.InfoContext(ctx, "config: invalid file reported", "reported_in", owner+"/"+at, "errors", len(invalid))
		// No prunes: they would stop at the same errors. When the errors
		// are the owner's, the pushed file was not even reached, and its
		// own issue, if any, stays until the owner's file is fixed.
		return nil
	}
	if h.cfg.Pending == nil {
		return h.fixedAtOnce(ctx, log, job, ownerWide)
	}
	// Valid: an open invalid-config issue says so and waits for a prune
	// under the file to succeed. The mark goes first: a prune finishing
	// after it closes the issue, whichever prune that is.
	res, err := h.cfg.Issues.ConfigValid(ctx, t.InstallationID, owner, repo, configPush(job))
	if err != nil && !errors.Is(err, report.ErrNowhere) {
		return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
	}
	waiting := res.Issue.Number != 0
	if waiting {
		if err := h.cfg.Pending.MarkConfigPending(ctx, t.InstallationID, owner, repo); err != nil {
			return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
		}
		log.InfoContext(ctx, "config: file valid again, its issue closes after a successful prune", "issue", res.Issue.Number)
	}
	queued, err := h.queuePrunes(ctx, log, job, ownerWide)
	if err != nil {
		return err
	}
	if waiting && queued == 0 {
		// No package to prune under the file: nothing to wait for.
		if err := h.settle(ctx, log, job, "It governs no package yet."); err != nil {
			return err
		}
		if err := h.cfg.Pending.ClearConfigPending(ctx, t.InstallationID, owner, repo); err != nil {
			return fmt.Errorf("config of %s/%s: %w", owner, repo, err)
		}
	}
	return nil
}

// fixedAtOnce closes the invalid-config issue as soon as the file is
// valid (no ConfigPending to wait for a prune with), then queues prunes.
func (h *ConfigHandler) fixedAtOnce(ctx context.Context, log *slog.Logger, job jobs.Job, ownerWide bool) error {
	note := ""
	if job.Reason != "" {
		note = "(" + job.Reason + ")"
	}
	if err := h.settle(ctx, log, job, note); err != nil {
		return err
	}
	_, err := h.queuePrunes(ctx, log, job, ownerWide)
	return err
}

func (h *ConfigHandler) settle(ctx context.Context, log *slog.Logger, job jobs.Job, note string) error {
	t := job.Target
	res, err := h.cfg.Issues.ConfigFixed(ctx, t.InstallationID, t.Owner, t.PackageName, note)
	if err != nil && !errors.Is(err, report.ErrNowhere) {
		return fmt.Errorf("config of %s/%s: %w", t.Owner, t.PackageName, err)
	}
	if res.Closed {
		log.InfoContext(ctx, "config: invalid-config issue closed", "issue", res.Issue.Number)
	}
	return nil
}

// configPush is the report's view of the push a config job comes from.
func configPush(job jobs.Job) report.ConfigPush {
	if job.Push == nil {
		return report.ConfigPush{}
	}
	return report.ConfigPush{Repo: job.Target.Repository, Commit: job.Push.Commit, Pusher: job.Push.Pusher, RepoURL: job.Push.RepoURL}
}

// queuePrunes queues a prune of each package linked to the repository, or
// of every package of the owner for its .github repository.
// It returns how many it queued, -1 without a packages token (no prune
// can run before one is configured).
func (h *ConfigHandler) queuePrunes(ctx context.Context, log *slog.Logger, job jobs.Job, ownerWide bool) (int, error) {
	t := job.Target
	session, err := h.cfg.Access.Session(t.Owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		// Nothing can be pruned; the next prune job reports the missing
		// token, which is where that issue is kept.
		log.InfoContext(ctx, "config: no packages token, no prunes queued", "err", err)
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("config of %s: %w", t.Repository, err)
	}
	pc := session.Packages
	owner, err := pc.ResolveOwner(ctx, t.Owner)
	if err != nil {
		return 0, fmt.Errorf("config of %s: %w", t.Repository, err)
	}
	var targets []webhook.Target
	for _, typ := range planner.PackageTypes() {
		pkgs, err := pc.ListPackages(ctx, owner, typ, "")
		if err != nil {
			return 0, fmt.Errorf("config of %s: %w", t.Repository, err)
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
			return 0, fmt.Errorf("config of %s: %w", t.Repository, err)
		}
	}
	log.InfoContext(ctx, "config: prunes queued", "packages", len(targets))
	return len(targets), nil
}

// settleConfig closes the invalid-config issue of the file that governed
// a prune run that succeeded, and of the owner's file (every load reads it
// first, for the policy), when a config job marked it as waiting for one.
// A failure is logged: the mark stays, and the next successful prune of a
// package under the file tries again.
func (p *Pruner) settleConfig(ctx context.Context, log *slog.Logger, installation int64, cfg *rules.Config, run Run) {
	if p.cfg.ConfigPending == nil || p.cfg.ConfigIssues == nil || cfg.Inert() {
		return
	}
	owner := run.Package.Owner
	repos := []string{rules.OwnerRepo}
	if cfg.Repository != "" && !strings.EqualFold(cfg.Repository, rules.OwnerRepo) {
		repos = append(repos, cfg.Repository)
	}
	for _, repo := range repos {
		waiting, err := p.cfg.ConfigPending.ConfigPending(ctx, installation, owner, repo)
		if err != nil {
			log.WarnContext(ctx, "prune: pending invalid-config issue not read", "repository", owner+"/"+repo, "err", err)
			continue
		}
		if !waiting {
			continue
		}
		note := fmt.Sprintf("A prune under it succeeded: %s, run %s.", run.Package, run.ID)
		res, err := p.cfg.ConfigIssues.ConfigFixed(ctx, installation, owner, repo, note)
		if err != nil && !errors.Is(err, report.ErrNowhere) {
			log.WarnContext(ctx, "prune: invalid-config issue not closed", "repository", owner+"/"+repo, "err", err)
			continue
		}
		if err := p.cfg.ConfigPending.ClearConfigPending(ctx, installation, owner, repo); err != nil {
			log.WarnContext(ctx, "prune: pending invalid-config mark not cleared", "repository", owner+"/"+repo, "err", err)
		}
		if res.Closed {
			log.InfoContext(ctx, "prune: succeeded under the fixed file, invalid-config issue closed", "repository", owner+"/"+repo, "issue", res.Issue.Number)
		}
	}
}

// configPendingKey is where a repository's pending mark is kept in the
// runs bucket: apart from the runs' keys, which hash job subjects.
func configPendingKey(installation int64, owner, repo string) string {
	return "config." + queue.Key(fmt.Sprintf("%d/%s/%s", installation, strings.ToLower(owner), strings.ToLower(repo)))
}

// MarkConfigPending implements ConfigPending. The mark lives as long as
// the bucket's entries (7 days): a file no prune succeeds under for that
// long leaves its issue open until the next push of the file.
func (s *KVRunStore) MarkConfigPending(ctx context.Context, installation int64, owner, repo string) error {
	if _, err := s.kv.Put(ctx, configPendingKey(installation, owner, repo), []byte(owner+"/"+repo)); err != nil {
		return fmt.Errorf("mark invalid-config issue of %s/%s pending: %w", owner, repo, err)
	}
	return nil
}

// ConfigPending implements ConfigPending.
func (s *KVRunStore) ConfigPending(ctx context.Context, installation int64, owner, repo string) (bool, error) {
	_, err := s.kv.Get(ctx, configPendingKey(installation, owner, repo))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read pending invalid-config issue of %s/%s: %w", owner, repo, err)
	}
	return true, nil
}

// ClearConfigPending implements ConfigPending.
func (s *KVRunStore) ClearConfigPending(ctx context.Context, installation int64, owner, repo string) error {
	if err := s.kv.Delete(ctx, configPendingKey(installation, owner, repo)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("clear pending invalid-config issue of %s/%s: %w", owner, repo, err)
	}
	return nil
}

var _ ConfigPending = (*KVRunStore)(nil)
