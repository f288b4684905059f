// Package restore is the restore job: it brings back the deleted versions
// (and packages) a repository's restore rules protect, within GitHub's 30
// days, and carries out what a person asked on a report issue (restore,
// forget), after checking who asked (trust.go).
package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Config configures New.
type Config struct {
	// Access is the way to GitHub (required): the App reads configuration
	// files and issues as the installation, the owner's packages token
	// lists and restores. Its manifest cache is where a deleted index's
	// children are found (the registry hides a deleted manifest); its
	// ETags make a sweep that finds a package unchanged get 304s, which
	// GitHub does not count against the rate limit.
	Access *planner.Access
	// Inventory remembers tags of deleted versions and the marks that
	// decide what is restored (required).
	Inventory *inventory.Store
	// Issues writes what was restored into the package's report issue;
	// nil means nothing is written.
	Issues *report.Reporter
	// Recorder is told about every restore run; optional (the demo).
	Recorder Recorder
	// Paused is the kill switch: nothing is deleted, so a forget request
	// only marks the version. Restoring goes on: it deletes nothing.
	Paused  bool
	Metrics *Metrics
	Logger  *slog.Logger
}

// Metrics are the restore job's Prometheus metrics.
type Metrics struct {
	restored prometheus.Counter
}

// NewMetrics registers pkgwarden_versions_restored_total with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{restored: jobs.NewCounter(reg,
		"pkgwarden_versions_restored_total", "Package versions (and packages) restored by restore jobs.")}
}

// Restored is one version (or package, ID 0) a restore run brought back.
type Restored = report.Restored

// Run is what one restore job did.
type Run struct {
	ID             string
	InstallationID int64
	Package        rules.Package
	// Trigger is the job's reason ("sweep", "undo ... by @login").
	Trigger  string
	Restored []Restored
	// Problem says what kept a wanted restore from happening (a reused
	// namespace), empty when nothing did.
	Problem string
}

// Recorder is told about every restore run that restored something
// or met a problem.
type Recorder interface {
	RecordRestore(ctx context.Context, run Run)
}

// Restorer is the restore job's handler. A sweep job (any job without an
// Undo request) restores the package's deleted versions its restore rule
// protects and, with restore.package, the package itself; a job with an
// Undo request does what a person asked in the report issue.
type Restorer struct {
	cfg Config
	now func() time.Time // the Access's clock
	log *slog.Logger
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Restorer, error) {
	if err := cfg.Access.Check(); err != nil {
		return nil, fmt.Errorf("restorer: %w", err)
	}
	if cfg.Inventory == nil {
		return nil, errors.New("restorer: no inventory")
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &Restorer{cfg: cfg, now: cfg.Access.Clock(), log: jobs.LoggerOrDiscard(cfg.Logger)}, nil
}

// pkgState is what a restore job knows of its package.
type pkgState struct {
	clients  planner.Clients
	tagger   *registry.Tagger
	owner    githubapi.Owner
	pkg      githubapi.Package
	ref      rules.Package
	inv      inventory.Package
	cfg      *rules.Config
	restore  *rules.Restore
	active   []githubapi.Version
	deleted  []githubapi.Version
	inst     int64
	runID    string
	trigger  string
	restored []Restored
	problem  string
	// askedBy is the person whose request the job carries out ("" for a
	// sweep); replies what else became of the request, said in the
	// restore comment when something came back.
	askedBy string
	replies []report.AnswerPart
	// governed says a rule of a governing file matches the package;
	// heal is set while the run heals (heal.go), healedImages are the
	// broken images it healed, for the restore comment.
	governed     bool
	heal         *healing
	healedImages []report.Healed
	// given are the tags restored versions got back in this run, so that
	// two restored versions never take the same tag from each other.
	given map[string]bool
	// known is the inventory's record of the package, if seen; gone says
	// GitHub no longer lists the package.
	known      inventory.Package
	seen, gone bool
}

// Handle runs one restore job: load, then carry out a person's request
// (undo) or the rules (sweep). Transient failures return an error, and
// the retry finds the work left: what was restored is active now.
func (r *Restorer) Handle(ctx context.Context, job jobs.Job) error {
	err := r.handle(ctx, job)
	if tp, ok := githubapi.TokenProblemOf(err); ok {
		return r.tokenProblem(ctx, job, tp, err)
	}
	return err
}

// tokenProblem ends a job GitHub stopped because of the owner's packages
// token (invalid, lacking a scope, not authorised for SAML SSO): the
// owner is told in their token issue, as a prune tells it, and the job
// ends without an error, since retrying cannot help until the owner fixes
// the token; the next sweep tries again. The error of the issue's writing
// is returned, for a retry.
func (r *Restorer) tokenProblem(ctx context.Context, job jobs.Job, tp githubapi.TokenProblem, cause error) error {
	t := job.Target
	job.Logger(r.log).WarnContext(ctx, "restore: the packages token does not work for this; the owner is told", "kind", string(tp.Kind), "missing", tp.Missing, "err", cause)
	if r.cfg.Issues == nil {
		return nil
	}
	_, err := r.cfg.Issues.TokenProblem(ctx, t.InstallationID, t.Owner, t.Ref().RepoName(),
		report.TokenProblem{TokenProblem: tp, Types: []string{t.PackageType}})
	if err != nil && !errors.Is(err, report.ErrNowhere) {
		return fmt.Errorf("restore %s: %w", t.Ref(), err)
	}
	return nil
}

func (r *Restorer) handle(ctx context.Context, job jobs.Job) error {
	t := job.Target
	log := job.Logger(r.log)
	name := "restore " + t.Ref().String()
	st, err := r.load(ctx, log, job)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if st == nil {
		return nil
	}
	if job.Undo != nil {
		if st.gone {
			if st.seen {
				st.pkg.ID = st.known.ID
			}
			st.pkg.Repository = st.inv.Repository
		}
		return r.undo(ctx, log, st, job.Undo, st.gone)
	}
	return r.sweep(ctx, log, st, name)
}

// load reads the owner's session, the package (it may be gone), what the
// inventory knows of it, and its restore rule. It returns nil when the
// owner has no packages token: the prune job reports that, and restoring
// waits for it.
func (r *Restorer) load(ctx context.Context, log *slog.Logger, job jobs.Job) (*pkgState, error) {
	t := job.Target
	session, err := r.cfg.Access.Session(t.Owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		log.WarnContext(ctx, "restore: no packages token", "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := &pkgState{inst: t.InstallationID, runID: job.RunID(), trigger: job.Reason,
		clients: session.Clients, tagger: session.Tagger}
	if st.trigger == "" {
		st.trigger = "sweep"
	}
	if st.owner, err = st.clients.Packages.ResolveOwner(ctx, t.Owner); err != nil {
		return nil, err
	}
	st.ref = t.Ref()
	st.ref.Owner = st.owner.Login
	st.inv = inventory.Package{Ref: st.ref}
	if st.known, st.seen, err = r.cfg.Inventory.Package(ctx, st.inst, st.inv); err != nil {
		return nil, err
	}
	if st.seen && st.known.Repository != "" && st.ref.RepoName() == "" {
		st.ref.Repository, st.inv.Repository = st.known.Repository, st.known.Repository
	}
	st.pkg, err = st.clients.Packages.GetPackage(ctx, st.owner, t.PackageType, t.PackageName)
	st.gone = errors.Is(err, githubapi.ErrNotFound)
	if err != nil && !st.gone {
		return nil, err
	}
	if !st.gone {
		st.ref.Repository, st.inv.Repository = st.pkg.Repository, st.pkg.Repository
	}
	if err := r.loadRules(ctx, st); err != nil {
		return nil, err
	}
	return st, nil
}

// sweep is a restore job without a person's request: restore the package
// if its rule says so, list and remember its versions, restore the deleted
// versions restore.tags protects, report.
func (r *Restorer) sweep(ctx context.Context, log *slog.Logger, st *pkgState, name string) error {
	// A package gone, or one of the same name with another id (the old
	// one deleted and its namespace reused), is restored when its rule
	// says so. The package record alone misses a reuse once a prune of the
	// new package recorded the new id, so restore's own marks count too:
	// it saw a package of this name, but never this one.
	sawName, sawThis, err := r.packageSeen(ctx, st, st.gone)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done, listed, err := r.restorePackage(ctx, log, st, sawName, sawThis)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if done {
		return nil
	}
	if !listed || len(st.restored) > 0 {
		if err := r.list(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	rec := inventory.Package{ID: st.pkg.ID, Ref: st.pkg.RefOf(st.owner)}
	if err := r.cfg.Inventory.SeePackage(ctx, st.inst, rec); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := r.cfg.Inventory.SeeVersions(ctx, st.inst, st.inv, inventoryVersions(st.active)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := r.restoreTagged(ctx, log, st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := r.heal(ctx, log, st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := r.finish(ctx, log, st); err != nil {
		return err
	}
	// Only once the run is reported: a retry must report a reuse again.
	if err := r.markPackageSeen(ctx, st, sawName, sawThis); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// restorePackage restores the package when it is gone, or its namespace
// was reused, and its rule says restore.package. done says the job ends
// here with nothing to report; listed that the versions were listed on
// the way. A refusal or a reused namespace is left in st.problem; the
// refusal of a package that is gone is reported at once.
func (r *Restorer) restorePackage(ctx context.Context, log *slog.Logger, st *pkgState, sawName, sawThis bool) (done, listed bool, err error) {
	gone, seen, known := st.gone, st.seen, st.known
	wants := st.restore != nil && st.restore.Package
	reused := !gone && ((seen && known.ID != 0 && known.ID != st.pkg.ID) || (sawName && !sawThis))
	if !reused && !gone && !sawName && seen && wants {
		// The first sweep of this name: the marks know nothing yet, and
		// prune may have recorded a new package's id over the old one.
		if err := r.list(ctx, st); err != nil {
			return false, false, err
		}
		listed = true
		if reused, err = r.versionsOfAnother(ctx, st); err != nil {
			return false, listed, err
		}
	}
	if gone && seen && known.ID != 0 && wants {
		intentional, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, known.ID)
		if err != nil {
			return false, listed, err
		}
		if intentional {
			log.DebugContext(ctx, "restore: deleted package left deleted, its deletion was intentional", "package_id", known.ID)
			return true, listed, nil
		}
	}
	if !(gone || reused) || !seen || !wants {
		if gone {
			log.InfoContext(ctx, "restore: package is gone and not to be restored")
		}
		return gone, listed, nil
	}
	err = st.clients.Packages.RestorePackage(ctx, st.owner, st.ref.Type, st.ref.Name)
	switch {
	case err == nil:
		r.cfg.Metrics.restored.Inc()
		if st.pkg, err = st.clients.Packages.GetPackage(ctx, st.owner, st.ref.Type, st.ref.Name); err != nil {
			return false, listed, fmt.Errorf("after restoring the package: %w", err)
		}
		if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageRestored, st.pkg.ID); err != nil {
			return false, listed, err
		}
		st.restored = append(st.restored, Restored{PackageID: st.pkg.ID, Version: st.ref.Name, Reason: "package deleted; restore.package is true"})
		log.InfoContext(ctx, "restore: package restored")
	case errors.Is(err, githubapi.ErrTokenProblem):
		return false, listed, fmt.Errorf("restore package: %w", err)
	case errors.Is(err, githubapi.ErrNamespaceReused):
		// Reported once: the marks written after the report make the
		// next sweep see the new package as the one it knows. The new
		// package is then looked after as any other.
		st.problem = "The package was deleted and a new package of the same name was created since, so GitHub cannot restore the old one; nothing was overwritten. Delete the new package first to restore the old one. (GitHub: " + githubapi.Message(err) + ")"
		log.WarnContext(ctx, "restore: package namespace reused, nothing restored", "package_id", st.pkg.ID)
	case errors.Is(err, githubapi.ErrNotFound):
		// Purged (past 30 days) or never deleted: nothing to restore.
		return gone, listed, nil
	case errors.Is(err, githubapi.ErrRefused):
		st.problem = "GitHub refused to restore the deleted package: " + githubapi.Message(err)
		if gone {
			return true, listed, r.finish(ctx, log, st)
		}
	default:
		return false, listed, fmt.Errorf("restore package: %w", err)
	}
	return false, listed, nil
}

// restoreTagged restores the deleted versions restore.tags protects, with
// their trees, unless pkgwarden deleted them or a person said the deletion
// was intentional (skipAuto).
func (r *Restorer) restoreTagged(ctx context.Context, log *slog.Logger, st *pkgState) error {
	if st.restore == nil || st.restore.Tags.Empty() {
		return nil
	}
	var roots []githubapi.Version
	for _, v := range st.deleted {
		tags, err := r.rememberedTags(ctx, st, v)
		if err != nil {
			return err
		}
		if !st.restore.Wants(tags) {
			continue
		}
		skip, err := r.skipAuto(ctx, st, v.ID)
		if err != nil {
			return err
		}
		if skip != "" {
			log.DebugContext(ctx, "restore: deleted version left deleted", "version_id", v.ID, "why", skip)
			continue
		}
		v.Tags = tags
		roots = append(roots, v)
	}
	for _, v := range roots {
		if err := r.restoreTree(ctx, log, st, v, "deleted outside pkgwarden; restore.tags "+st.restore.Tags.String()+" protects "+strings.Join(v.Tags, ",")); err != nil {
			return err
		}
	}
	return nil
}

// packageSeen says whether the restore job saw a package of this name
// before, and the package of the current id (false when it is gone).
func (r *Restorer) packageSeen(ctx context.Context, st *pkgState, gone bool) (name, this bool, err error) {
	if name, err = r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageSeen, 0); err != nil || gone {
		return name, false, err
	}
	this, err = r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageSeen, st.pkg.ID)
	return name, this, err
}

// versionsOfAnother reports whether the inventory holds a version seen
// active within the last 30 days that the current package lists neither
// active nor deleted. Such a version was deleted less than 30 days ago
// (GitHub would still list it) unless its package went with it: it was
// another package's, deleted, and this one reuses the namespace. Only
// asked on the restore job's first sweep of a name; GitHub's answer to
// the restore request decides in the end.
func (r *Restorer) versionsOfAnother(ctx context.Context, st *pkgState) (bool, error) {
	listed := map[int64]bool{}
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		listed[v.ID] = true
	}
	found := false
	err := r.cfg.Inventory.EachVersion(ctx, st.inst, st.inv, func(v inventory.Version) error {
		found = found || !listed[v.ID] && r.now().Sub(v.SeenAt) < report.RestoreWindow
		return nil
	})
	return found, err
}

// markPackageSeen remembers that the restore job saw the current package,
// writing only what it did not know yet.
func (r *Restorer) markPackageSeen(ctx context.Context, st *pkgState, sawName, sawThis bool) error {
	if !sawName {
		if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageSeen, 0); err != nil {
			return err
		}
	}
	if !sawThis && st.pkg.ID != 0 {
		return r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageSeen, st.pkg.ID)
	}
	return nil
}

// loadRules reads the package's rules as the prune job does; an invalid
// file is the prune job's to report, and restores nothing meanwhile.
func (r *Restorer) loadRules(ctx context.Context, st *pkgState) error {
	loader := rules.NewLoader(r.cfg.Access.Contents(st.inst))
	cfg, err := loader.Load(ctx, st.ref)
	var invalid rules.ErrorList
	if errors.As(err, &invalid) {
		r.log.InfoContext(ctx, "restore: rules invalid, no automatic restore", "package", st.ref.String())
		return nil
	}
	if err != nil {
		return err
	}
	st.cfg = cfg
	if !cfg.Inert() && (cfg.Repository == "" || strings.EqualFold(cfg.Repository, st.ref.RepoName())) {
		if rule, _ := cfg.Match(st.ref); rule != nil {
			st.restore, st.governed = rule.Restore, true
		}
	}
	return nil
}

// list reads the active and the deleted versions.
func (r *Restorer) list(ctx context.Context, st *pkgState) error {
	active, err := st.clients.Packages.ListVersions(ctx, st.owner, st.pkg.Type, st.pkg.Name, githubapi.ListVersionsOptions{State: githubapi.StateActive})
	if err != nil {
		return fmt.Errorf("list active versions: %w", err)
	}
	deleted, err := st.clients.Packages.ListVersions(ctx, st.owner, st.pkg.Type, st.pkg.Name, githubapi.ListVersionsOptions{State: githubapi.StateDeleted})
	if err != nil {
		return fmt.Errorf("list deleted versions: %w", err)
	}
	st.active, st.deleted = active.Versions, deleted.Versions
	return nil
}

// rememberedTags are a deleted version's tags: as listed, and as the
// inventory last saw them active.
func (r *Restorer) rememberedTags(ctx context.Context, st *pkgState, v githubapi.Version) ([]string, error) {
	tags := slices.Clone(v.Tags)
	rec, ok, err := r.cfg.Inventory.Version(ctx, st.inst, st.inv, v.ID)
	if err != nil {
		return nil, err
	}
	if ok {
		for _, t := range rec.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	return tags, nil
}

// skipAuto says why a sweep leaves a deleted version alone: pkgwarden
// deleted it itself, or someone said its deletion was intentional.
func (r *Restorer) skipAuto(ctx context.Context, st *pkgState, id int64) (string, error) {
	for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
		ok, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, m, id)
		if err != nil {
			return "", err
		}
		if ok {
			return "marked " + string(m), nil
		}
	}
	return "", nil
}

// finish reports the run.
func (r *Restorer) finish(ctx context.Context, log *slog.Logger, st *pkgState) error {
	if len(st.restored) == 0 && st.problem == "" {
		return nil
	}
	run := Run{ID: st.runID, InstallationID: st.inst, Package: st.ref, Trigger: st.trigger, Restored: st.restored, Problem: st.problem}
	log.InfoContext(ctx, "restore: run finished", "run", run.ID, "restored", len(run.Restored), "problem", run.Problem != "")
	if r.cfg.Recorder != nil {
		r.cfg.Recorder.RecordRestore(ctx, run)
	}
	if r.cfg.Issues == nil {
		return nil
	}
	var labels, assignees []string
	if st.cfg != nil {
		labels, assignees = st.cfg.Report.Labels, st.cfg.Report.Assignees
	}
	_, err := r.cfg.Issues.NoteRestore(ctx, st.inst, labels, assignees, report.RestoreRun{ID: run.ID, Package: run.Package, Trigger: run.Trigger, AskedBy: st.askedBy, Restored: run.Restored, Problem: run.Problem, Replies: st.replies, Healed: st.healedImages})
	if errors.Is(err, report.ErrNowhere) {
		log.WarnContext(ctx, "restore not reported: no repository takes issues", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("report restore of %s: %w", run.Package, err)
	}
	return nil
}

func inventoryVersions(vs []githubapi.Version) []inventory.Version {
	out := make([]inventory.Version, len(vs))
	for i, v := range vs {
		out[i] = inventory.Version{ID: v.ID, Name: v.Name, Tags: v.Tags}
	}
	return out
}
