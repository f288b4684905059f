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
	"maps"
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
	// given are the tags restored versions got back in this run, so that
	// two restored versions never take the same tag from each other.
	given map[string]bool
}

// Handle runs one restore job. Transient failures return an error, and
// the retry finds the work left: what was restored is active now.
func (r *Restorer) Handle(ctx context.Context, job jobs.Job) error {
	t := job.Target
	log := job.Logger(r.log)
	name := fmt.Sprintf("restore %s/%s/%s", t.Owner, t.PackageType, t.PackageName)
	session, err := r.cfg.Access.Session(t.Owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		// The prune job reports a missing token; restoring waits for it.
		log.WarnContext(ctx, "restore: no packages token", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	st := &pkgState{inst: t.InstallationID, runID: job.RunID(), trigger: job.Reason,
		clients: session.Clients, tagger: session.Tagger}
	if st.trigger == "" {
		st.trigger = "sweep"
	}
	if st.owner, err = st.clients.Packages.ResolveOwner(ctx, t.Owner); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	st.ref = rules.Package{Owner: st.owner.Login, Type: t.PackageType, Name: t.PackageName, Repository: rules.RepoName(t.Repository)}
	st.inv = inventory.Package{Owner: st.owner.Login, Type: t.PackageType, Name: t.PackageName, Repository: t.Repository}
	known, seen, err := r.cfg.Inventory.Package(ctx, st.inst, st.inv)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if seen && known.Repository != "" && st.ref.Repository == "" {
		st.ref.Repository, st.inv.Repository = rules.RepoName(known.Repository), known.Repository
	}

	st.pkg, err = st.clients.Packages.GetPackage(ctx, st.owner, t.PackageType, t.PackageName)
	gone := errors.Is(err, githubapi.ErrNotFound)
	if err != nil && !gone {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !gone {
		st.ref.Repository, st.inv.Repository = rules.RepoName(st.pkg.Repository), st.pkg.Repository
	}
	if err := r.loadRules(ctx, st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if job.Undo != nil {
		if gone {
			if seen {
				st.pkg.ID = known.ID
			}
			st.pkg.Repository = st.inv.Repository
		}
		return r.undo(ctx, log, st, job.Undo, gone)
	}

	// A package gone, or one of the same name with another id (the old
	// one deleted and its namespace reused), is restored when its rule
	// says so. The package record alone misses a reuse once a prune of the
	// new package recorded the new id, so restore's own marks count too:
	// it saw a package of this name, but never this one.
	sawName, sawThis, err := r.packageSeen(ctx, st, gone)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	reused := !gone && ((seen && known.ID != 0 && known.ID != st.pkg.ID) || (sawName && !sawThis))
	listed := false
	if !reused && !gone && !sawName && seen && st.restore != nil && st.restore.Package {
		// The first sweep of this name: the marks know nothing yet, and
		// prune may have recorded a new package's id over the old one.
		if err := r.list(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		listed = true
		if reused, err = r.versionsOfAnother(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if gone && seen && known.ID != 0 && st.restore != nil && st.restore.Package {
		intentional, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, known.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if intentional {
			log.DebugContext(ctx, "restore: deleted package left deleted, its deletion was intentional", "package_id", known.ID)
			return nil
		}
	}
	if (gone || reused) && seen && st.restore != nil && st.restore.Package {
		err := st.clients.Packages.RestorePackage(ctx, st.owner, t.PackageType, t.PackageName)
		switch {
		case err == nil:
			r.cfg.Metrics.restored.Inc()
			if st.pkg, err = st.clients.Packages.GetPackage(ctx, st.owner, t.PackageType, t.PackageName); err != nil {
				return fmt.Errorf("%s: after restoring the package: %w", name, err)
			}
			if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageRestored, st.pkg.ID); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			st.restored = append(st.restored, Restored{PackageID: st.pkg.ID, Version: st.ref.Name, Reason: "package deleted; restore.package is true"})
			log.InfoContext(ctx, "restore: package restored")
		case errors.Is(err, githubapi.ErrNamespaceReused):
			// Reported once: the marks written below make the next sweep
			// see the new package as the one it knows. The new package
			// is then looked after as any other.
			st.problem = "The package was deleted and a new package of the same name was created since, so GitHub cannot restore the old one; nothing was overwritten. Delete the new package first to restore the old one. (GitHub: " + githubapi.Message(err) + ")"
			log.WarnContext(ctx, "restore: package namespace reused, nothing restored", "package_id", st.pkg.ID)
		case errors.Is(err, githubapi.ErrNotFound):
			// Purged (past 30 days) or never deleted: nothing to restore.
			if gone {
				return nil
			}
		case errors.Is(err, githubapi.ErrRefused):
			st.problem = "GitHub refused to restore the deleted package: " + githubapi.Message(err)
			if gone {
				return r.finish(ctx, log, st)
			}
		default:
			return fmt.Errorf("%s: restore package: %w", name, err)
		}
	} else if gone {
		log.InfoContext(ctx, "restore: package is gone and not to be restored")
		return nil
	}
	if !listed || len(st.restored) > 0 {
		if err := r.list(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := r.cfg.Inventory.SeePackage(ctx, st.inst, inventory.Package{ID: st.pkg.ID, Owner: st.owner.Login, Type: st.pkg.Type, Name: st.pkg.Name, Repository: st.pkg.Repository}); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := r.cfg.Inventory.SeeVersions(ctx, st.inst, st.inv, inventoryVersions(st.active)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if st.restore != nil && !st.restore.Tags.Empty() {
		var roots []githubapi.Version
		for _, v := range st.deleted {
			tags, err := r.rememberedTags(ctx, st, v)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if !st.restore.Wants(tags) {
				continue
			}
			skip, err := r.skipAuto(ctx, st, v.ID)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
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
				return fmt.Errorf("%s: %w", name, err)
			}
		}
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
	known, err := r.cfg.Inventory.Versions(ctx, st.inst, st.inv)
	if err != nil {
		return false, err
	}
	listed := map[int64]bool{}
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		listed[v.ID] = true
	}
	for _, v := range known {
		if !listed[v.ID] && r.now().Sub(v.SeenAt) < report.RestoreWindow {
			return true, nil
		}
	}
	return false, nil
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
	loader := rules.NewLoader(githubapi.NewContentsSource(r.cfg.Access.App.InstallationClient(st.inst), r.now))
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
	if !cfg.Inert() && (cfg.Repository == "" || strings.EqualFold(cfg.Repository, st.ref.Repository)) {
		if rule, _ := cfg.Match(st.ref); rule != nil {
			st.restore = rule.Restore
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

// restoreTree restores v and everything restored with it needs, then
// gives each restored version its tags back: a signature's tag is how it
// is found.
func (r *Restorer) restoreTree(ctx context.Context, log *slog.Logger, st *pkgState, v githubapi.Version, reason string) error {
	ok, err := r.restoreOne(ctx, st, v, reason, false)
	if err != nil || !ok {
		return err
	}
	back := []githubapi.Version{v}
	if rules.IsContainerType(st.pkg.Type) && strings.HasPrefix(v.Name, "sha256:") {
		more, err := r.restoreDescendants(ctx, log, st, v)
		back = append(back, more...)
		if err != nil {
			return err
		}
	}
	for _, b := range back {
		if err := r.retag(ctx, log, st, b); err != nil {
			return err
		}
	}
	return nil
}

// restoreDescendants restores, until nothing more is found, the deleted
// versions that a restored one needs: the children of every restored
// index (so a nested index's grandchildren too) and every referrer tagged
// sha256-<hex> of a restored subject (a referrers index, signature,
// attestation, SBOM), whose own children and referrers follow in turn.
// It returns what it restored, root excluded.
func (r *Restorer) restoreDescendants(ctx context.Context, log *slog.Logger, st *pkgState, root githubapi.Version) ([]githubapi.Version, error) {
	byDigest := map[string]githubapi.Version{}
	for _, d := range st.deleted {
		byDigest[d.Name] = d
	}
	// The remembered tags of every deleted version, read once.
	tagsOf := map[int64][]string{}
	tags := func(d githubapi.Version) ([]string, error) {
		if t, ok := tagsOf[d.ID]; ok {
			return t, nil
		}
		t, err := r.rememberedTags(ctx, st, d)
		tagsOf[d.ID] = t
		return t, err
	}
	repo := planner.RegistryRepository(st.owner.Login, st.pkg.Name)
	manifests := map[string]registry.Manifest{}
	done := map[string]bool{root.Name: true}
	var back []githubapi.Version
	restore := func(d githubapi.Version, reason string) error {
		done[d.Name] = true
		ok, err := r.restoreOne(ctx, st, d, reason, true)
		if ok {
			back = append(back, d)
		}
		return err
	}
	for queue := []string{root.Name}; len(queue) > 0; queue = queue[1:] {
		x := queue[0]
		m, read := manifests[x]
		if !read {
			// Graph reads nested indexes too: their children are then
			// known without asking again.
			found, failed, err := st.clients.Registry.Graph(ctx, repo, []string{x})
			if err != nil {
				return back, fmt.Errorf("read manifest %s: %w", x, err)
			}
			if e := failed[x]; e != nil {
				log.WarnContext(ctx, "restore: manifest of restored version unreadable; its children are not restored", "digest", x, "err", e)
			}
			maps.Copy(manifests, found)
			m = found[x]
		}
		for _, c := range m.Children {
			d, deleted := byDigest[c.Digest]
			if !deleted || done[c.Digest] {
				continue
			}
			var err error
			if d.Tags, err = tags(d); err != nil {
				return back, err
			}
			n := len(back)
			if err := restore(d, "child of restored index "+rules.ShortDigest(x)); err != nil {
				return back, err
			}
			if len(back) > n {
				queue = append(queue, d.Name)
			}
		}
		for _, d := range st.deleted {
			if done[d.Name] {
				continue
			}
			dt, err := tags(d)
			if err != nil {
				return back, err
			}
			for _, t := range dt {
				subject, kind, ok := registry.ParseReferrerTag(t)
				if !ok || subject != x {
					continue
				}
				d.Tags = dt
				n := len(back)
				if err := restore(d, fmt.Sprintf("%s of restored %s", kind, rules.ShortDigest(subject))); err != nil {
					return back, err
				}
				if len(back) > n {
					queue = append(queue, d.Name)
				}
				break
			}
		}
	}
	return back, nil
}

// restoreOne restores one deleted version and records it; along says it
// comes back with another restored version (a child, a referrer). It
// reports false, and no error, when GitHub refused: the refusal is the
// run's problem, and the version is still deleted.
func (r *Restorer) restoreOne(ctx context.Context, st *pkgState, v githubapi.Version, reason string, along bool) (bool, error) {
	if err := st.clients.Packages.RestoreVersion(ctx, st.owner, st.pkg.Type, st.pkg.Name, v.ID); err != nil {
		if errors.Is(err, githubapi.ErrRefused) {
			st.problem = strings.TrimSpace(st.problem + fmt.Sprintf("\nGitHub refused to restore version %d: %s", v.ID, githubapi.Message(err)))
			return false, nil
		}
		return false, fmt.Errorf("restore version %d: %w", v.ID, err)
	}
	r.cfg.Metrics.restored.Inc()
	if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkRestored, v.ID); err != nil {
		return true, err
	}
	if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkDeleted, v.ID); err != nil {
		return true, err
	}
	st.restored = append(st.restored, Restored{ID: v.ID, Version: v.Name, Tags: v.Tags, Reason: reason, Along: along})
	return true, nil
}

// retag gives a restored version back the tags it had that no other
// version holds now, through the registry where GitHub did not.
func (r *Restorer) retag(ctx context.Context, log *slog.Logger, st *pkgState, v githubapi.Version) error {
	if !rules.IsContainerType(st.pkg.Type) || len(v.Tags) == 0 {
		return nil
	}
	now, err := st.clients.Packages.GetVersion(ctx, st.owner, st.pkg.Type, st.pkg.Name, v.ID)
	if err != nil {
		return fmt.Errorf("read restored version %d: %w", v.ID, err)
	}
	held := maps.Clone(st.given)
	if held == nil {
		held = map[string]bool{}
	}
	for _, o := range st.active {
		if o.ID != v.ID {
			for _, t := range o.Tags {
				held[t] = true
			}
		}
	}
	repo := planner.RegistryRepository(st.owner.Login, st.pkg.Name)
	if st.given == nil {
		st.given = map[string]bool{}
	}
	for _, t := range v.Tags {
		if held[t] {
			continue
		}
		st.given[t] = true
		if slices.Contains(now.Tags, t) {
			continue // GitHub gave it back
		}
		if err := st.tagger.Tag(ctx, repo, v.Name, t); err != nil {
			return fmt.Errorf("re-tag restored version %d as %s: %w", v.ID, t, err)
		}
		log.InfoContext(ctx, "restore: tag given back through the registry", "version_id", v.ID, "tag", t)
	}
	return nil
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
	_, err := r.cfg.Issues.NoteRestore(ctx, st.inst, labels, assignees, report.RestoreRun{ID: run.ID, Package: run.Package, Trigger: run.Trigger, Restored: run.Restored, Problem: run.Problem})
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
