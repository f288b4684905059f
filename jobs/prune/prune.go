// Package prune is the prune job: load a package and its rules, plan with
// internal/planner, delete what the plan deletes group by group, listing
// the package again before a group only when its webhooks say something
// happened (or a fallback interval passed), and report the run (Pruner);
// and the config job,
// which re-reads a repository's file after a push and queues prunes
// (ConfigHandler).
package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
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
	// ConfigPending and ConfigIssues, when both set, close a fixed file's
	// invalid-config issue once a prune under it succeeded (see
	// ConfigPending).
	ConfigPending ConfigPending
	ConfigIssues  ConfigSettler
	// Paused is the kill switch: plan and report, delete nothing.
	Paused bool
	// HealQueue, when set, gets a restore job for the package of every
	// prune run that acted on its rules, once reported: the restore job
	// heals the package's broken images (queueHeal).
	HealQueue *queue.Queue
	// RefusalMemory is how long a version GitHub refused to delete is
	// kept by later plans (with Inventory set) instead of being asked for
	// again: a refused version would otherwise be planned first by every
	// run, fill the per-run cap and stall everything behind it. Long
	// enough for that, short enough that a changed situation (a version
	// made private) is tried again; default 24h. A refusal of the last
	// version is forgotten as soon as the package lists more versions.
	RefusalMemory time.Duration
	// Events, when set, is the count of webhook events per package the
	// router keeps (serve sets it): the run reads it before listing for
	// its plan and before each deletion group, and lists the package
	// again only when it moved, or once RecheckFallback has passed. Nil
	// counts every deletion group as following an event: each looks at
	// the newest versions again.
	Events *jobs.PackageEvents
	// RecheckEvery is how old the full re-check listing (which sees new
	// tags on old candidates; the plan's listing is the first) may get
	// before a deletion group after an event lists every page again;
	// default 30s. A deletion group after an event is otherwise preceded
	// by a look at the newest versions only (the first page, and the next
	// while they are all new), which is where anything pushed since
	// appears.
	RecheckEvery time.Duration
	// RecheckFallback is how old the last full listing may get before a
	// deletion group lists every page again although no event came: the
	// webhook may be late or lost. Default DefaultRecheckFallback.
	RecheckFallback time.Duration
	// MaxRateWait is the longest rate-limit wait done inside the job; a
	// longer one fails the attempt, to be retried with backoff. Default 1m.
	MaxRateWait time.Duration
	Metrics     *Metrics
	Logger      *slog.Logger
}

// DefaultRecheckFallback is Config.RecheckFallback's default: long
// enough that a prune of thousands of versions lists its package again a
// handful of times without an event, short enough that a push whose
// webhook is lost saves what it references after a few minutes at most.
const DefaultRecheckFallback = 5 * time.Minute

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
	// tokenWorks holds, per owner (lower case), whether this process last
	// saw the owner's token work with every scope needed (true) or found
	// a problem with it (false): a good run closes the owner's
	// token-problem issue once, not on every run.
	tokenWorks sync.Map
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
	if cfg.RecheckFallback <= 0 {
		cfg.RecheckFallback = DefaultRecheckFallback
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
	name := "prune " + t.Ref().String()
	run := Run{
		ID: job.RunID(), InstallationID: t.InstallationID, Reason: job.Reason,
		Package: t.Ref(), Paused: p.cfg.Paused, Started: p.now(),
	}
	pr, err := p.load(ctx, log, job, &run)
	if p.stopForToken(log, &run, err) {
		return p.report(ctx, log, run)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if pr == nil {
		if run.Outcome == "" {
			return nil // the package is gone
		}
		return p.report(ctx, log, run)
	}
	if err := p.plan(ctx, log, pr, &run); p.stopForToken(log, &run, err) {
		return p.report(ctx, log, run)
	} else if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := p.act(ctx, log, pr, &run); err != nil && !p.stopForToken(log, &run, err) {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.checkToken(pr, &run)
	run.Storage = runStorage(pr.graph, &run)
	run.Finished = p.now()
	if err := p.report(ctx, log, run); err != nil {
		return err
	}
	if run.TokenWorks {
		p.tokenWorks.Store(strings.ToLower(run.Package.Owner), true)
	}
	if p.cfg.Runs != nil && pr.prog.RunID != "" {
		// Reported: the run is over. Should this fail, the next run of
		// the package reports these deletions once more, under this id.
		if err := p.cfg.Runs.Clear(ctx, pr.runKey); err != nil {
			log.WarnContext(ctx, "prune: finished run not cleared", "err", err)
		}
	}
	p.settleConfig(ctx, log, t.InstallationID, pr.cfg, run)
	p.queueHeal(ctx, log, job, run, healable(pr.d))
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
	// ref is the package as the job names it, the key of its event
	// count (Config.Events).
	ref pkgref.Ref
	// runKey names the run's progress in the run store (the job's
	// subject); prog is that progress.
	runKey string
	prog   RunProgress
	// Set by plan: the time planned at, the plan, and the versions held:
	// for GitHub's refusals (with the refusal), because pkgwarden restored
	// them, and all of them with the reason shown.
	at time.Time
	// events is the package's event count read before the plan's
	// listing; eventsKnown is false when it could not be read (or no
	// count is kept): the first deletion group then re-checks.
	events      uint64
	eventsKnown bool
	d           rules.Decision
	refused     map[int64]inventory.Refusal
	restored    map[int64]string
	held        map[int64]string
	graph       rules.Graph // the graph the plan was decided on
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
	pr := &pruning{inst: t.InstallationID, clients: session.Clients, runKey: job.Subject(), ref: t.Ref()}
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
	run.Package = pr.pkg.RefOf(pr.owner)

	pr.loader = rules.NewLoader(p.cfg.Access.Contents(t.InstallationID))
	pr.cfg, err = pr.loader.Load(ctx, run.Package)
	var invalid rules.ErrorList
	if errors.As(err, &invalid) {
		run.Outcome, run.ConfigErrors = OutcomeInvalidConfig, invalid
		// The owner's dashboard, if it keeps one, shows the error too.
		run.Report = pr.loader.OwnerDashboard(ctx, t.Owner)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	run.Report = pr.cfg.Report
	return pr, nil
}

// plan decides once, holding the versions GitHub lately refused to delete
// and those pkgwarden restored (the planner asks for them once it has
// listed the package), and writes what was seen to the inventory.
func (p *Pruner) plan(ctx context.Context, log *slog.Logger, pr *pruning, run *Run) error {
	pr.at = p.now()
	// Before the listing: an event counted after this read, even one
	// about a push the listing already shows, only costs a re-check.
	pr.events, pr.eventsKnown = p.eventCount(ctx, log, pr.ref)
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
		if pr.restored, err = p.restored(ctx, pr.inst, pr.owner, pr.pkg, versions); err != nil {
			return nil, err
		}
		for id, why := range pr.restored {
			pr.held[id] = why
		}
		return pr.held, nil
	}
	var in rules.Input
	pl, err := planner.New(planner.Options{Packages: pr.clients.Packages, Graphs: pr.clients.Registry, Loader: pr.loader,
		Now: func() time.Time { return pr.at }, Holds: holds, Decided: func(i rules.Input) { in = i }})
	if err != nil {
		return err
	}
	if pr.d, err = pl.PlanPackage(ctx, pr.owner, pr.pkg); err != nil {
		return err
	}
	run.Next, pr.graph = weekAhead(pr.cfg, in, pr.d), in.Graph
	if pr.d.Untouched == "" {
		// A candidate kept for GitHub's refusal is still a skipped one,
		// reported as on the run that was refused (the same words, so an
		// unchanged report body adds no comment).
		// One pkgwarden restored is reported kept, as the deletion step
		// kept it before it was a hold.
		for _, e := range pr.d.Keep {
			if e.Kind != rules.KindHeld {
				continue
			}
			if r, ok := pr.refused[e.ID]; ok {
				e.Reason = "GitHub refused the deletion: " + r.Message
				run.Skipped = append(run.Skipped, e)
				run.askAgain(e.ID, r.At.Add(p.cfg.RefusalMemory))
			} else if _, ok := pr.restored[e.ID]; ok {
				run.Kept = append(run.Kept, e)
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
	if err := p.deletedUnsaved(ctx, pr, leftover, run); err != nil {
		return err
	}
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
	case len(p.deleteScopesLacking(pr)) > 0:
		// GitHub listed the token's scopes, and deleting needs one it
		// lacks: every DELETE would be refused for the token, not for the
		// version. None is sent, none is held; the owner is told.
		have, _ := pr.clients.Packages.Scopes()
		run.Outcome = OutcomeTokenProblem
		run.Token = &report.TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope,
			Missing: p.deleteScopesLacking(pr), Have: have}, Types: []string{pr.pkg.Type}, Deleting: true}
		p.tokenWorks.Store(strings.ToLower(pr.owner.Login), false)
	default:
		run.Outcome = OutcomePruned
		limit := pr.cfg.Policy.MaxDeletionsPerRun
		if limit <= 0 {
			limit = rules.DefaultMaxDeletionsPerRun
		}
		resumed := pr.prog.RunID != ""
		if !resumed {
			pr.prog.RunID, pr.prog.Planned = run.ID, d.Delete
		}
		newest := &newestLister{pc: pr.clients.Packages, owner: pr.owner, pkg: pr.pkg}
		ex := &execution{p: p, log: log, clients: pr.clients, owner: pr.owner, pkg: pr.pkg, run: run, prog: pr.prog, runKey: pr.runKey, limit: limit, held: pr.held, newest: newest, resumed: resumed}
		ex.fromPlan(pr)
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

// stopForToken ends the run when err says GitHub did not accept the
// packages token (githubapi.ErrTokenProblem): the run is reported as a
// token problem, to the owner, and not retried (another attempt would
// meet the same answer), and no version is refused or held for it.
func (p *Pruner) stopForToken(log *slog.Logger, run *Run, err error) bool {
	tp, ok := githubapi.TokenProblemOf(err)
	if !ok {
		return false
	}
	log.Warn("prune: GitHub does not accept the packages token, run stopped", "kind", string(tp.Kind), "missing", strings.Join(tp.Missing, ","), "err", err)
	run.Outcome = OutcomeTokenProblem
	run.Token = &report.TokenProblem{TokenProblem: tp, Types: []string{run.Package.Type}, Deleting: true}
	p.tokenWorks.Store(strings.ToLower(run.Package.Owner), false)
	return true
}

// deleteScopesLacking returns the scopes the token lacks to delete
// versions of the package, as GitHub's X-OAuth-Scopes listed them on the
// run's answers; nil when GitHub listed none (not a classic token).
func (p *Pruner) deleteScopesLacking(pr *pruning) []string {
	have, known := pr.clients.Packages.Scopes()
	if !known {
		return nil
	}
	need := []string{"delete:packages"}
	if githubapi.RepoScoped(pr.pkg.Type) {
		need = append(need, "repo")
	}
	return githubapi.MissingScopes(have, need)
}

// checkToken looks, after a run GitHub answered, at the scopes the token
// has against those the package needs (restoring included): a lack the
// run did not meet yet is told to the owner without stopping the run;
// none at all, the first time in this process (or after a problem), lets
// the report close the owner's token-problem issue.
func (p *Pruner) checkToken(pr *pruning, run *Run) {
	if run.Token != nil {
		return
	}
	have, known := pr.clients.Packages.Scopes()
	if known {
		if missing := githubapi.MissingScopes(have, githubapi.ScopesFor(pr.pkg.Type)); len(missing) > 0 {
			run.Token = &report.TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope, Missing: missing, Have: have},
				Types: []string{pr.pkg.Type}}
			p.tokenWorks.Store(strings.ToLower(pr.owner.Login), false)
			return
		}
	}
	if ok, _ := p.tokenWorks.Load(strings.ToLower(pr.owner.Login)); ok != true {
		run.TokenWorks = true
	}
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
	log.InfoContext(ctx, "prune: run finished", "run", report.RunName(run.ID), "outcome", string(run.Outcome),
		"deleted", len(run.Deleted), "kept_by_recheck", len(run.Kept), "refused", len(run.Skipped), "deferred", len(run.Deferred), "gone", len(run.Gone))
	if err := p.cfg.Reporter.Report(ctx, run); err != nil {
		return fmt.Errorf("report prune of %s (run %s): %w", run.Package, report.RunName(run.ID), err)
	}
	return nil
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

// deletedUnsaved adds to the run the versions an attempt that died deleted
// without saving it (killed between GitHub's answer and the save): planned
// by the run, not among its saved deletions nor its leftovers (which
// checkCandidate settles), listed no more, and marked deleted, which
// deleteOne does before each DELETE.
func (p *Pruner) deletedUnsaved(ctx context.Context, pr *pruning, leftover []rules.Entry, run *Run) error {
	if p.cfg.Inventory == nil || len(pr.prog.Planned) == 0 {
		return nil
	}
	known := map[int64]bool{}
	for _, list := range [][]rules.Entry{run.Deleted, leftover, pr.d.Delete, pr.d.Keep} {
		for _, e := range list {
			known[e.ID] = true
		}
	}
	ipkg := inventoryPackage(pr.owner, pr.pkg)
	for _, e := range pr.prog.Planned {
		if known[e.ID] {
			continue
		}
		marked, err := p.cfg.Inventory.Marked(ctx, pr.inst, ipkg, inventory.MarkDeleted, e.ID)
		if err != nil {
			return err
		}
		if marked {
			run.Deleted = append(run.Deleted, e)
		}
	}
	return nil
}

// restored returns the listed versions pkgwarden restored (by
// restore.tags, a ticked box, a comment), with the reason they stay: an
// undo that the next prune reverted would be no undo. `/pkgwarden forget
// <id>` (or the intentional box) lets one go. As holds they take none of
// the run's max_deletions_per_run places.
func (p *Pruner) restored(ctx context.Context, installation int64, owner githubapi.Owner, pkg githubapi.Package, versions []rules.Version) (map[int64]string, error) {
	if p.cfg.Inventory == nil {
		return nil, nil
	}
	marked, err := p.cfg.Inventory.MarkedIDs(ctx, installation, inventoryPackage(owner, pkg), inventory.MarkRestored)
	if err != nil || len(marked) == 0 {
		return nil, err
	}
	out := map[int64]string{}
	for _, v := range versions {
		if !marked[v.ID] {
			continue
		}
		out[v.ID] = "kept: pkgwarden restored this version; it is never pruned for being untagged"
		if len(v.Tags) > 0 {
			out[v.ID] = "kept: pkgwarden restored this version on request; `/pkgwarden forget " + strconv.FormatInt(v.ID, 10) + "` lets it go"
		}
	}
	return out, nil
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
	return inventory.Package{ID: pkg.ID, Ref: pkg.RefOf(owner)}
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
