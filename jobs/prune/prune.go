// Package prune is the prune job: load a package and its rules, plan with
// internal/planner, delete what the plan deletes group by group with a
// re-check before each, and report the run (Pruner); and the config job,
// which re-reads a repository's file after a push and queues prunes
// (ConfigHandler).
package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Installations gives an installation's API client (the App identity:
// config files, issues); *githubapi.App provides it.
type Installations interface {
	InstallationClient(installationID int64) *github.Client
}

var _ Installations = (*githubapi.App)(nil)

// Config configures New.
type Config struct {
	// Access is the way to GitHub (required): the App reads configuration
	// files as the installation, the owner's packages token (an owner
	// without one is reported, never served by another token) lists and
	// deletes, its clock is the clock of the rules.
	Access *planner.Access
	// Runs remembers what earlier attempts of a run deleted; optional.
	Runs RunStore
	// Inventory, when set, records the versions each run sees and marks
	// each version right before deleting it (the restore sweep leaves
	// what pkgwarden deleted alone); a version pkgwarden restored is
	// never pruned for being untagged.
	Inventory *inventory.Store
	// Reporter is told about every run; nil means nothing is reported.
	Reporter Reporter
	// TokenIssues closes an owner's missing-token issue once a prune
	// finds the owner's token (*report.Reporter); nil means never.
	TokenIssues TokenIssues
	// Paused is the kill switch: plan and report, delete nothing.
	Paused bool
	// RefusalMemory is how long a version GitHub refused to delete is
	// kept by later plans (with Inventory set) instead of being asked for
	// again: a refused version would otherwise be planned first by every
	// run, fill the per-run cap and stall everything behind it. Long
	// enough for that, short enough that a changed situation (a version
	// made private) is tried again; default 24h. A refusal of the last
	// version is forgotten as soon as the package lists more versions.
	RefusalMemory time.Duration
	// RecheckEvery is how old the full re-check listing (which sees new
	// tags on old candidates) may get before the next deletion group lists
	// every page again; default 30s. Between full listings, each deletion
	// group is preceded by a look at the newest versions only (one
	// conditional page, usually a 304), which is where anything pushed
	// since appears.
	RecheckEvery time.Duration
	// MaxRateWait is the longest rate-limit wait done inside the job; a
	// longer one fails the attempt, to be retried with backoff. Default 1m.
	MaxRateWait time.Duration
	Metrics     *Metrics
	Logger      *slog.Logger
}

// Metrics are the prune job's Prometheus metrics.
type Metrics struct {
	deleted prometheus.Counter
}

// NewMetrics registers pkgwarden_versions_deleted_total with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{deleted: jobs.NewCounter(reg,
		"pkgwarden_versions_deleted_total", "Package versions deleted by prune jobs.")}
}

// TokenIssues settles the missing-token issue of an owner.
type TokenIssues interface {
	TokenConfigured(ctx context.Context, installation int64, owner string) (report.Result, error)
}

var _ TokenIssues = (*report.Reporter)(nil)

// Pruner is the prune job's handler: plan a package, delete what the plan
// says in its safe order after a cheap re-check, report.
type Pruner struct {
	cfg Config
	now func() time.Time // the Access's clock
	log *slog.Logger
	// tokenSettled holds the owners (lower case) whose missing-token
	// issue this process has closed or found closed: a token is only
	// configured at start, so once per owner and process is enough.
	tokenSettled sync.Map
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Pruner, error) {
	if err := cfg.Access.Check(); err != nil {
		return nil, fmt.Errorf("pruner: %w", err)
	}
	if cfg.RefusalMemory <= 0 {
		cfg.RefusalMemory = 24 * time.Hour
	}
	if cfg.RecheckEvery <= 0 {
		cfg.RecheckEvery = 30 * time.Second
	}
	if cfg.MaxRateWait <= 0 {
		cfg.MaxRateWait = time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if cfg.Reporter == nil {
		cfg.Reporter = Reporters(nil)
	}
	return &Pruner{cfg: cfg, now: cfg.Access.Clock(), log: jobs.LoggerOrDiscard(cfg.Logger)}, nil
}

// Handle runs one prune: load the package and its rules, plan, act on the
// plan, report. Problems a person must fix (no token, an invalid file) are
// reported and end the job; transient failures return an error so the job
// is retried, and the retry finishes the work: what was deleted is absent
// from its plan.
func (p *Pruner) Handle(ctx context.Context, job jobs.Job) error {
	t := job.Target
	log := job.Logger(p.log)
	name := fmt.Sprintf("prune %s/%s/%s", t.Owner, t.PackageType, t.PackageName)
	run := Run{
		ID: job.RunID(), InstallationID: t.InstallationID, Reason: job.Reason,
		Package:    rules.Package{Owner: t.Owner, Type: t.PackageType, Name: t.PackageName, Repository: rules.RepoName(t.Repository)},
		Repository: t.Repository, Paused: p.cfg.Paused, Started: p.now(),
	}
	pr, err := p.load(ctx, log, job, &run)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if pr == nil {
		if run.Outcome == "" {
			return nil // the package is gone
		}
		return p.report(ctx, log, run)
	}
	if err := p.plan(ctx, log, pr, &run); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := p.act(ctx, log, pr, &run); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	run.Finished = p.now()
	if err := p.report(ctx, log, run); err != nil {
		return err
	}
	if p.cfg.Runs != nil && pr.prog.RunID != "" {
		// Reported: the run is over. Should this fail, the next run of
		// the package reports these deletions once more, under this id.
		if err := p.cfg.Runs.Clear(ctx, pr.runKey); err != nil {
			log.WarnContext(ctx, "prune: finished run not cleared", "err", err)
		}
	}
	return nil
}

// pruning is one prune run's package once loaded, and what its steps
// hand on to the next.
type pruning struct {
	inst    int64
	clients planner.Clients
	owner   githubapi.Owner
	pkg     githubapi.Package
	loader  *rules.Loader
	cfg     *rules.Config
	// runKey names the run's progress in the run store (the job's
	// subject); prog is that progress.
	runKey string
	prog   RunProgress
	// Set by plan: the time planned at, the plan, and the versions held
	// for GitHub's refusals (with the refusal, and the reason shown).
	at      time.Time
	d       rules.Decision
	refused map[int64]inventory.Refusal
	held    map[int64]string
}

// load reads the owner's session, the package and its governing rules. It
// returns nil when the run ends here: the package is gone (run.Outcome
// empty), or the run is to be reported as it is (no token, invalid file).
func (p *Pruner) load(ctx context.Context, log *slog.Logger, job jobs.Job, run *Run) (*pruning, error) {
	t := job.Target
	session, err := p.cfg.Access.Session(t.Owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		run.Outcome, run.Problem = OutcomeNoToken, err.Error()
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.settleToken(ctx, log, t.InstallationID, t.Owner)
	pr := &pruning{inst: t.InstallationID, clients: session.Clients, runKey: job.Subject()}
	if pr.owner, err = pr.clients.Packages.ResolveOwner(ctx, t.Owner); err != nil {
		return nil, err
	}
	pr.pkg, err = pr.clients.Packages.GetPackage(ctx, pr.owner, t.PackageType, t.PackageName)
	if errors.Is(err, githubapi.ErrNotFound) {
		log.InfoContext(ctx, "prune: package is gone, nothing to do")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	run.Package = rules.Package{Owner: pr.owner.Login, Type: pr.pkg.Type, Name: pr.pkg.Name, Repository: rules.RepoName(pr.pkg.Repository)}
	run.Repository = pr.pkg.Repository

	pr.loader = rules.NewLoader(githubapi.NewContentsSource(p.cfg.Access.App.InstallationClient(t.InstallationID), p.now))
	pr.cfg, err = pr.loader.Load(ctx, run.Package)
	var invalid rules.ErrorList
	if errors.As(err, &invalid) {
		run.Outcome, run.ConfigErrors = OutcomeInvalidConfig, invalid
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	run.Report = pr.cfg.Report
	return pr, nil
}

// plan decides once, holding the versions GitHub lately refused to delete
// (the planner asks for them once it has listed the package), and writes
// what was seen to the inventory.
func (p *Pruner) plan(ctx context.Context, log *slog.Logger, pr *pruning, run *Run) error {
	pr.at = p.now()
	holds := func(ctx context.Context, _ rules.Package, versions []rules.Version) (map[int64]string, error) {
		var err error
		if pr.refused, err = p.refusals(ctx, log, pr.inst, pr.owner, pr.pkg, versions, pr.at); err != nil {
			return nil, err
		}
		pr.held = make(map[int64]string, len(pr.refused))
		for id, r := range pr.refused {
			pr.held[id] = fmt.Sprintf("GitHub refused to delete it on %s: %s (asked again after %s)",
				r.At.UTC().Format("2006-01-02 15:04 UTC"), r.Message, r.At.Add(p.cfg.RefusalMemory).UTC().Format("2006-01-02 15:04 UTC"))
		}
		return pr.held, nil
	}
	pl, err := planner.New(planner.Options{Packages: pr.clients.Packages, Graphs: pr.clients.Registry, Loader: pr.loader,
		Now: func() time.Time { return pr.at }, Holds: holds})
	if err != nil {
		return err
	}
	if pr.d, err = pl.PlanPackage(ctx, pr.owner, pr.pkg); err != nil {
		return err
	}
	if pr.d.Untouched == "" {
		// A candidate kept for GitHub's refusal is still a skipped one,
		// reported as on the run that was refused (the same words, so an
		// unchanged report body adds no comment).
		for _, e := range pr.d.Keep {
			if r, ok := pr.refused[e.ID]; ok && e.Kind == rules.KindHeld {
				e.Reason = "GitHub refused the deletion: " + r.Message
				run.Skipped = append(run.Skipped, e)
			}
		}
	}
	run.Decision, run.DryRun = pr.d, pr.d.DryRun
	return p.remember(ctx, pr.inst, pr.owner, pr.pkg, pr.d)
}

// act carries the plan out, unless nothing may or need be deleted, and
// sets the run's outcome. Progress is kept per package until the run is
// reported: a job that finds some finishes that run, under its id,
// whether it is the same job redelivered or a newer one that replaced it
// in the queue while its worker died.
func (p *Pruner) act(ctx context.Context, log *slog.Logger, pr *pruning, run *Run) error {
	d := pr.d
	if p.cfg.Runs != nil {
		var err error
		if pr.prog, err = p.cfg.Runs.Load(ctx, pr.runKey); err != nil {
			return err
		}
		if pr.prog.RunID != "" {
			run.ID = pr.prog.RunID
		}
		run.Deleted = pr.prog.Deleted
	}
	leftover := unfinished(pr.prog, d)
	candidates := append(append([]rules.Entry(nil), leftover...), d.Delete...)

	switch {
	case d.Untouched != "":
		run.Outcome = OutcomeUntouched
	case len(candidates) == 0:
		run.Outcome = OutcomeNothingToDo
	case d.DryRun:
		run.Outcome = OutcomeDryRun
	case p.cfg.Paused:
		run.Outcome = OutcomePaused
	default:
		run.Outcome = OutcomePruned
		limit := pr.cfg.Policy.MaxDeletionsPerRun
		if limit <= 0 {
			limit = rules.DefaultMaxDeletionsPerRun
		}
		if pr.prog.RunID == "" {
			pr.prog.RunID, pr.prog.Planned = run.ID, d.Delete
		}
		newest := &newestLister{pc: pr.clients.Packages, owner: pr.owner, pkg: pr.pkg}
		ex := &execution{p: p, log: log, clients: pr.clients, owner: pr.owner, pkg: pr.pkg, run: run, prog: pr.prog, runKey: pr.runKey, limit: limit, held: pr.held, newest: newest}
		if err := ex.deleteAll(ctx, candidates, len(leftover)); err != nil {
			return err
		}
	}
	if run.Outcome != OutcomePruned && len(run.Deleted) > 0 {
		// An earlier attempt of this run deleted what this one no longer
		// sees: the run did prune.
		run.Outcome = OutcomePruned
	}
	return nil
}

// settleToken closes the owner's missing-token issue, once per process. A
// failure is logged and tried again by the next prune of the owner: the
// prune itself does not depend on it.
func (p *Pruner) settleToken(ctx context.Context, log *slog.Logger, installation int64, owner string) {
	if p.cfg.TokenIssues == nil {
		return
	}
	key := strings.ToLower(owner)
	if _, done := p.tokenSettled.Load(key); done {
		return
	}
	res, err := p.cfg.TokenIssues.TokenConfigured(ctx, installation, owner)
	if err != nil && !errors.Is(err, report.ErrNowhere) {
		log.WarnContext(ctx, "prune: missing-token issue not closed", "err", err)
		return
	}
	p.tokenSettled.Store(key, true)
	if res.Closed {
		log.InfoContext(ctx, "prune: packages token found, missing-token issue closed", "issue", res.Issue.Number)
	}
}

func (p *Pruner) report(ctx context.Context, log *slog.Logger, run Run) error {
	if run.Finished.IsZero() {
		run.Finished = p.now()
	}
	log.InfoContext(ctx, "prune: run finished", "run", run.ID, "outcome", string(run.Outcome),
		"deleted", len(run.Deleted), "kept_by_recheck", len(run.Kept), "skipped", len(run.Skipped), "deferred", len(run.Deferred))
	if err := p.cfg.Reporter.Report(ctx, run); err != nil {
		return fmt.Errorf("report prune of %s (run %s): %w", run.Package, run.ID, err)
	}
	return nil
}

// execution is the deleting part of one run.
type execution struct {
	p       *Pruner
	log     *slog.Logger
	clients planner.Clients
	owner   githubapi.Owner
	pkg     githubapi.Package
	run     *Run
	prog    RunProgress
	runKey  string
	limit   int
	held    map[int64]string // versions GitHub refused lately → reason

	// The re-check: the fresh listing, and what new versions reference.
	newest    *newestLister
	checkedAt time.Time
	fresh     map[int64]githubapi.Version
	refs      map[string]string // digest → what references it now
	blocked   string            // why nothing more may be deleted
	rateWaits int               // rate-limit waits done in this attempt
}

// deletedEarlier reports whether pkgwarden itself sent the delete of a
// planned candidate that is gone now: the inventory's deleted mark is
// written right before each delete request, and a candidate of this run
// was active when the run planned it.
func (ex *execution) deletedEarlier(ctx context.Context, e rules.Entry) (bool, error) {
	inv := ex.p.cfg.Inventory
	if inv == nil {
		return false, nil
	}
	return inv.Marked(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), inventory.MarkDeleted, e.ID)
}

// maxRateWaits bounds the rate-limit waits of one attempt.
const maxRateWaits = 3

// deleteAll deletes the plan's candidates in order, each after the
// re-check, keeping a candidate whose holder (index, subject) stayed. The
// first leftover candidates are an earlier attempt's unfinished group.
func (ex *execution) deleteAll(ctx context.Context, candidates []rules.Entry, leftover int) error {
	d := ex.run.Decision
	planned := map[int64]bool{}
	for _, list := range [][]rules.Entry{candidates, d.Delete, d.Keep} {
		for _, e := range list {
			planned[e.ID] = true
		}
	}
	stayed := map[int64]string{} // candidates not deleted → label
	for i := 0; i < len(candidates); i++ {
		e := candidates[i]
		if h := firstIn(e.With, stayed); h != "" {
			ex.keep(e, fmt.Sprintf("kept: %s was not deleted, and this version lives and dies with it", h), stayed)
			continue
		}
		if why := ex.held[e.ID]; why != "" {
			// Only an earlier attempt's leftover can be held: the plan
			// keeps held versions.
			ex.keep(e, why, stayed)
			continue
		}
		if end := groupEnd(candidates, leftover, i); end > i && len(ex.run.Deleted)+end-i > ex.limit {
			// The plan is capped already; a redelivered run counts what
			// its earlier attempts deleted too, and defers a group that
			// no longer fits whole rather than split it (the rest of an
			// index would stay behind for good).
			for _, rest := range candidates[i:] {
				rest.Reason = fmt.Sprintf("deferred to next run (max_deletions_per_run %d)", ex.limit)
				ex.run.Deferred = append(ex.run.Deferred, rest)
			}
			return nil
		}
		switch {
		case ex.checkedAt.IsZero() || ex.p.now().Sub(ex.checkedAt) >= ex.p.cfg.RecheckEvery:
			if err := ex.recheck(ctx, planned); err != nil {
				return err
			}
		case groupStart(candidates, leftover, i) && ex.blocked == "":
			// Before each group: an index or referrer pushed since the
			// last look may reference a candidate of this group.
			if err := ex.recheckNewest(ctx, planned); err != nil {
				return err
			}
		}
		if ex.blocked != "" {
			ex.keep(e, ex.blocked, stayed)
			continue
		}
		v, listed := ex.fresh[e.ID]
		if !listed {
			earlier, err := ex.deletedEarlier(ctx, e)
			if err != nil {
				return err
			}
			if earlier {
				// An attempt of this run that died (killed between its
				// request and saving its progress) deleted it: it is
				// part of this run's deletions and of its one comment.
				ex.run.Deleted = append(ex.run.Deleted, e)
				continue
			}
			e.Reason = "already gone at the re-check"
			ex.run.Skipped = append(ex.run.Skipped, e)
			continue
		}
		if added := newTags(e.Tags, v.Tags); len(added) > 0 {
			ex.keep(e, "re-check: now tagged "+strings.Join(added, ","), stayed)
			continue
		}
		if by := ex.refs[e.Version]; by != "" {
			ex.keep(e, "re-check: now referenced by "+by, stayed)
			continue
		}
		if inv := ex.p.cfg.Inventory; inv != nil {
			ipkg := inventoryPackage(ex.owner, ex.pkg)
			// A version pkgwarden restored (by restore.tags, or because
			// someone ticked its box or asked in a comment) is not pruned
			// again: an undo that the next prune reverted would be no undo.
			// `/pkgwarden forget <id>` (or the intentional box) lets it go.
			restored, err := inv.Marked(ctx, ex.run.InstallationID, ipkg, inventory.MarkRestored, e.ID)
			if err != nil {
				return err
			}
			if restored {
				reason := "kept: pkgwarden restored this version; it is never pruned for being untagged"
				if len(e.Tags) > 0 {
					reason = "kept: pkgwarden restored this version on request; `/pkgwarden forget " + strconv.FormatInt(e.ID, 10) + "` lets it go"
				}
				ex.keep(e, reason, stayed)
				continue
			}
			// Marked before the request: a crash after it leaves the
			// mark, so the restore sweep never brings back what
			// pkgwarden deleted.
			if err := inv.SetMark(ctx, ex.run.InstallationID, ipkg, inventory.MarkDeleted, e.ID); err != nil {
				return err
			}
		}
		err := ex.clients.Packages.DeleteVersion(ctx, ex.owner, ex.pkg.Type, ex.pkg.Name, e.ID)
		var rl *githubapi.RateLimitError
		switch {
		case err == nil:
			delete(ex.fresh, e.ID)
			ex.run.Deleted = append(ex.run.Deleted, e)
			ex.p.cfg.Metrics.deleted.Inc()
			if ex.p.cfg.Runs != nil {
				ex.prog.Deleted = ex.run.Deleted
				// The deletion happened: record it even when the job is
				// being stopped, which is when the record matters most.
				saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				err := ex.p.cfg.Runs.Save(saveCtx, ex.runKey, ex.prog)
				cancel()
				if err != nil {
					// The deletion stands; only a crash before the next
					// save would make the report miss it.
					ex.log.WarnContext(ctx, "prune: progress not saved", "err", err)
				}
			}
		case errors.Is(err, githubapi.ErrRefused):
			e.Reason = "GitHub refused the deletion: " + githubapi.Message(err)
			ex.run.Skipped = append(ex.run.Skipped, e)
			stayed[e.ID] = label(e)
			ex.rememberRefusal(ctx, e, err)
		case errors.As(err, &rl) && rl.Wait <= ex.p.cfg.MaxRateWait && ex.rateWaits < maxRateWaits:
			// Pacing should prevent this; when it happens anyway, wait
			// here a few times, then let the job's backoff take over.
			ex.rateWaits++
			ex.log.WarnContext(ctx, "prune: rate limited, waiting", "wait", rl.Wait)
			if err := jobs.Sleep(ctx, rl.Wait); err != nil {
				return err
			}
			i-- // the same candidate again
		default:
			return err
		}
	}
	return nil
}

// rememberRefusal records GitHub's refusal so later plans keep the version
// rather than ask again. A failure only costs a second request later.
func (ex *execution) rememberRefusal(ctx context.Context, e rules.Entry, err error) {
	inv := ex.p.cfg.Inventory
	if inv == nil {
		return
	}
	r := inventory.Refusal{ID: e.ID, At: ex.p.now(), Message: githubapi.Message(err), Listed: len(ex.fresh)}
	var apiErr *githubapi.APIError
	if errors.As(err, &apiErr) {
		r.Status = apiErr.StatusCode
	}
	if err := inv.SetRefusal(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), r); err != nil {
		ex.log.WarnContext(ctx, "prune: refusal not remembered", "version", e.ID, "err", err)
	}
}

// groupStart reports whether candidate i starts a deletion group.
func groupStart(candidates []rules.Entry, leftover, i int) bool {
	return groupEnd(candidates, leftover, i) > i
}

// groupEnd returns, when candidate i starts a deletion group, the index
// just past the group, and i otherwise. The leftover candidates of an
// earlier attempt form one group; in the plan a group is a version judged
// on its own followed by what lives and dies with it (rules.Decide emits
// each group whole, in order).
func groupEnd(candidates []rules.Entry, leftover, i int) int {
	switch {
	case i < leftover:
		if i > 0 {
			return i
		}
		return leftover
	case i > leftover && len(candidates[i].With) > 0:
		return i
	}
	end := i + 1
	for end < len(candidates) && len(candidates[end].With) > 0 {
		end++
	}
	return end
}

func (ex *execution) keep(e rules.Entry, reason string, stayed map[int64]string) {
	e.Reason = reason
	ex.run.Kept = append(ex.run.Kept, e)
	stayed[e.ID] = label(e)
}

// recheck lists the active versions again (conditionally: usually a 304)
// and reads the manifests of versions that appeared since the plan, to
// learn which candidates a new index or referrer now points at.
func (ex *execution) recheck(ctx context.Context, planned map[int64]bool) error {
	list, err := ex.clients.Packages.ListVersions(ctx, ex.owner, ex.pkg.Type, ex.pkg.Name, githubapi.ListVersionsOptions{State: githubapi.StateActive})
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	ex.checkedAt = ex.p.now()
	ex.fresh = make(map[int64]githubapi.Version, len(list.Versions))
	ex.refs = map[string]string{}
	var added []githubapi.Version
	for _, v := range list.Versions {
		ex.fresh[v.ID] = v
		if !planned[v.ID] {
			added = append(added, v)
		}
	}
	return ex.learn(ctx, added)
}

// recheckNewest looks at the newest versions only: the first page of the
// listing, conditionally (a 304 when nothing changed there since the last
// look), and the next pages only while a page holds nothing but versions
// unknown to the last re-check. New versions are listed first, so this
// finds every version pushed since; tags added to old versions wait for
// the next full re-check.
func (ex *execution) recheckNewest(ctx context.Context, planned map[int64]bool) error {
	var added []githubapi.Version
	for page := 1; ; page++ {
		vs, next, changed, err := ex.newest.page(ctx, page)
		if err != nil {
			return fmt.Errorf("re-check: %w", err)
		}
		if !changed {
			return nil
		}
		allNew := len(vs) > 0
		for _, v := range vs {
			_, known := ex.fresh[v.ID]
			ex.fresh[v.ID] = v // tags as they are now
			if known || planned[v.ID] {
				allNew = false
				continue
			}
			added = append(added, v)
		}
		if !allNew || next == 0 {
			break
		}
	}
	return ex.learn(ctx, added)
}

// learn records what the versions that appeared since the plan reference:
// referrer tags name their subject, and new manifests are read for the
// children of an index and the subject of a referrer.
func (ex *execution) learn(ctx context.Context, added []githubapi.Version) error {
	var newDigests []string
	for _, v := range added {
		for _, t := range v.Tags {
			if subject, kind, ok := registry.ParseReferrerTag(t); ok {
				ex.refs[subject] = fmt.Sprintf("new %s %s", kind, rules.ShortDigest(v.Name))
			}
		}
		if strings.HasPrefix(v.Name, "sha256:") {
			newDigests = append(newDigests, v.Name)
		}
	}
	if len(newDigests) == 0 || !rules.IsContainerType(ex.pkg.Type) {
		return nil
	}
	found, failed, err := ex.clients.Registry.Graph(ctx, planner.RegistryRepository(ex.owner.Login, ex.pkg.Name), newDigests)
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	for _, dg := range newDigests {
		// Every new digest here is a listed, active version: one the
		// registry does not know (404) is as unreadable as one it failed
		// to serve, and what it references cannot be known.
		if err := failed[dg]; err != nil {
			why := "could not be read"
			if errors.Is(err, registry.ErrManifestUnknown) {
				why = "is unknown to the registry"
			}
			ex.blocked = fmt.Sprintf("re-check: the manifest of new version %s %s, so what it references is unknown and nothing more is deleted this run", rules.ShortDigest(dg), why)
			ex.log.WarnContext(ctx, "prune: re-check cannot read a new manifest", "digest", dg, "err", err)
			return nil
		}
	}
	for dg, m := range found {
		for _, c := range m.Children {
			ex.refs[c.Digest] = "new index " + rules.ShortDigest(dg)
		}
		if m.Subject != "" {
			ex.refs[m.Subject] = "new referrer " + rules.ShortDigest(dg)
		}
	}
	return nil
}

// unfinished returns what an earlier attempt of the run planned and left
// orphaned: versions that live and die with versions it deleted, and so
// must go too even though a fresh plan may judge them on their own now (an
// untagged child when untagged versions are kept). They come first: what
// held them is gone already.
func unfinished(prog RunProgress, d rules.Decision) []rules.Entry {
	if len(prog.Deleted) == 0 {
		return nil
	}
	gone := map[int64]bool{}
	for _, e := range prog.Deleted {
		gone[e.ID] = true
	}
	again := map[int64]bool{}
	for _, e := range d.Delete {
		again[e.ID] = true
	}
	var out []rules.Entry
	for _, e := range prog.Planned {
		if gone[e.ID] || again[e.ID] || len(e.With) == 0 {
			continue
		}
		orphan := true
		for _, h := range e.With {
			orphan = orphan && gone[h]
		}
		if orphan {
			out = append(out, e)
			gone[e.ID] = true // its own children follow it
		}
	}
	return out
}

// newTags returns the tags of now that were not in planned.
func newTags(planned, now []string) []string {
	var out []string
	for _, t := range now {
		if !slices.Contains(planned, t) {
			out = append(out, t)
		}
	}
	return out
}

func firstIn(ids []int64, set map[int64]string) string {
	for _, id := range ids {
		if l, ok := set[id]; ok {
			return l
		}
	}
	return ""
}

// label names a version in reasons: its first tag, else its short digest.
func label(e rules.Entry) string {
	if len(e.Tags) > 0 {
		return e.Tags[0]
	}
	if strings.HasPrefix(e.Version, "sha256:") {
		return rules.ShortDigest(e.Version)
	}
	return e.Version
}

// refusals returns the refusals of listed versions that still hold, by
// version, and forgets refusals that no longer hold: older
// than RefusalMemory, of a version no longer listed, or of a last version
// (any refusal but a 403) in a package that has gained versions since.
func (p *Pruner) refusals(ctx context.Context, log *slog.Logger, installation int64, owner githubapi.Owner, pkg githubapi.Package, versions []rules.Version, at time.Time) (map[int64]inventory.Refusal, error) {
	if p.cfg.Inventory == nil {
		return nil, nil
	}
	ipkg := inventoryPackage(owner, pkg)
	rs, err := p.cfg.Inventory.Refusals(ctx, installation, ipkg)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	listed := make(map[int64]bool, len(versions))
	for _, v := range versions {
		listed[v.ID] = true
	}
	held := map[int64]inventory.Refusal{}
	for _, r := range rs {
		lastVersion := r.Status != http.StatusForbidden
		if !listed[r.ID] || at.Sub(r.At) >= p.cfg.RefusalMemory || lastVersion && len(listed) > r.Listed {
			if err := p.cfg.Inventory.ClearRefusal(ctx, installation, ipkg, r.ID); err != nil {
				log.WarnContext(ctx, "prune: stale refusal not forgotten", "version", r.ID, "err", err)
			}
			continue
		}
		held[r.ID] = r
	}
	return held, nil
}

// remember records the package and its listed versions in the inventory.
func (p *Pruner) remember(ctx context.Context, installation int64, owner githubapi.Owner, pkg githubapi.Package, d rules.Decision) error {
	if p.cfg.Inventory == nil {
		return nil
	}
	ipkg := inventoryPackage(owner, pkg)
	if err := p.cfg.Inventory.SeePackage(ctx, installation, ipkg); err != nil {
		return err
	}
	var vs []inventory.Version
	for _, list := range [][]rules.Entry{d.Delete, d.Keep} {
		for _, e := range list {
			vs = append(vs, inventory.Version{ID: e.ID, Name: e.Version, Tags: e.Tags})
		}
	}
	return p.cfg.Inventory.SeeVersions(ctx, installation, ipkg, vs)
}

func inventoryPackage(owner githubapi.Owner, pkg githubapi.Package) inventory.Package {
	return inventory.Package{ID: pkg.ID, Owner: owner.Login, Type: pkg.Type, Name: pkg.Name, Repository: pkg.Repository}
}

// newestLister reads the first pages of a package's active versions, the
// newest, for the re-check before each deletion group. ListVersions always
// reads every page; this reads one at a time, the first conditionally on
// the ETag this run last saw it with, so an unchanged first page costs a
// 304.
type newestLister struct {
	pc    *githubapi.PackagesClient
	owner githubapi.Owner
	pkg   githubapi.Package
	etag  string // of the first page, last time it was read
}

// page reads one page of active versions, newest first. changed is false
// when the first page answered 304: nothing there changed since the last
// read of it.
func (l *newestLister) page(ctx context.Context, n int) (vs []githubapi.Version, next int, changed bool, err error) {
	etag := ""
	if n == 1 {
		etag = l.etag
	}
	p, err := l.pc.ListVersionsPage(ctx, l.owner, l.pkg.Type, l.pkg.Name, githubapi.StateActive, n, etag)
	if err != nil {
		return nil, 0, false, fmt.Errorf("newest versions: %w", err)
	}
	if p.NotModified {
		return nil, 0, false, nil
	}
	if n == 1 {
		l.etag = p.ETag
	}
	return p.Versions, p.Next, true, nil
}

// Unconfigured is the prune job's handler in a process without the App
// configured (rules are read as the App, so nothing can be planned): it
// records that a prune was asked for and deletes nothing. Pruner is the
// real one.
type Unconfigured struct {
	Logger *slog.Logger
}

// Handle logs the request.
func (h Unconfigured) Handle(ctx context.Context, job jobs.Job) error {
	job.Logger(h.Logger).InfoContext(ctx, "prune requested; no GitHub App configured, nothing deleted", "reason", job.Reason)
	return nil
}
