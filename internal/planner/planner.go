// Package planner works out what pkgwarden's rules would delete and keep
// for one package or every package of an owner: it lists the active
// versions with the owner's packages token, reads the OCI graph of
// container packages from the registry, loads the governing configuration
// and asks rules.Decide, once per package, holding the versions
// Options.Holds names. It deletes nothing and prints nothing; `pkgwarden
// plan` renders its result, and the prune job acts on it.
package planner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// packageTypes are the package types GitHub lists, in the order an owner's
// packages are planned.
var packageTypes = [...]string{
	rules.TypeContainer, rules.TypeDocker, rules.TypeNPM, rules.TypeMaven, rules.TypeRubyGems, rules.TypeNuGet,
}

// PackageTypes returns the package types GitHub lists, in the order an
// owner's packages are planned.
func PackageTypes() []string { return append([]string(nil), packageTypes[:]...) }

// Packages is what the planner needs of the Packages API;
// *githubapi.PackagesClient provides it.
type Packages interface {
	ResolveOwner(ctx context.Context, login string) (githubapi.Owner, error)
	ListPackages(ctx context.Context, o githubapi.Owner, packageType, visibility string) ([]githubapi.Package, error)
	GetPackage(ctx context.Context, o githubapi.Owner, packageType, name string) (githubapi.Package, error)
	ListVersions(ctx context.Context, o githubapi.Owner, packageType, name string, opts githubapi.ListVersionsOptions) (githubapi.VersionList, error)
}

// Graphs is what the planner needs of the registry; *registry.Reader
// provides it.
type Graphs interface {
	Graph(ctx context.Context, repository string, digests []string) (map[string]registry.Manifest, map[string]error, error)
}

var (
	_ Packages = (*githubapi.PackagesClient)(nil)
	_ Graphs   = (*registry.Reader)(nil)
)

// Stage says what the planner is doing when it reports progress.
type Stage string

// Stages of a plan, in order for each package.
const (
	StageListPackages Stage = "list packages"
	StageListVersions Stage = "list versions"
	StageReadGraph    Stage = "read manifests"
	StageDecided      Stage = "decided"
)

// Progress is reported as the planner goes, for progress bars.
type Progress struct {
	Stage Stage
	// Package is "owner/type/name", empty while listing packages.
	Package string
	// Done and Total count packages: Done have been decided out of Total
	// (0 while the packages are still being listed).
	Done, Total int
	// Pages and Versions count the current package's listing so far.
	Pages, Versions int
}

// Options configure New.
type Options struct {
	// Packages lists packages and versions with the owner's packages token.
	Packages Packages
	// Graphs reads manifests with the same token. Without it, container
	// packages are left untouched (their graph is unknown).
	Graphs Graphs
	// Loader finds each package's configuration. Make one per run: it
	// caches files. Call its Override before planning for `--config`.
	Loader *rules.Loader
	// Now is the moment rules are evaluated at; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is called as the plan goes; it must be quick.
	Progress func(Progress)
	// Holds, when set, gives the versions of each package to keep for now
	// although the rules would delete them (rules.Input.Held): the prune
	// job's versions GitHub lately refused to delete.
	Holds Holds
	// Decided, when set, is given the input of each package's decision
	// once decided: the prune job decides it again a week ahead for the
	// owner dashboard's "next 7 days".
	Decided func(rules.Input)
}

// Holds returns the versions of pkg to hold, by ID, with why
// (rules.Input.Held), given its listed versions. It is asked once per
// package whose rules could be read, after the listing and the manifests,
// right before the decision; an error fails the package's plan.
type Holds func(ctx context.Context, pkg rules.Package, versions []rules.Version) (map[int64]string, error)

// Planner plans the packages of one owner, with that owner's token. It is
// meant for one run, like its Loader, and is safe for concurrent use as
// far as its dependencies are.
type Planner struct {
	pkgs     Packages
	graphs   Graphs
	loader   *rules.Loader
	now      func() time.Time
	progress func(Progress)
	holds    Holds
	decided  func(rules.Input)
}

// New returns a planner. Packages and Loader are required.
func New(opts Options) (*Planner, error) {
	if opts.Packages == nil {
		return nil, errors.New("planner: no packages client")
	}
	if opts.Loader == nil {
		return nil, errors.New("planner: no rules loader")
	}
	p := &Planner{pkgs: opts.Packages, graphs: opts.Graphs, loader: opts.Loader, now: opts.Now, progress: opts.Progress, holds: opts.Holds, decided: opts.Decided}
	if p.now == nil {
		p.now = time.Now
	}
	if p.progress == nil {
		p.progress = func(Progress) {}
	}
	return p, nil
}

// Filter selects the packages of an owner to plan. The zero value selects
// every package of every type.
type Filter struct {
	// Type restricts the plan to one package type.
	Type string
	// Package selects one package by name (case-insensitive), whatever
	// repository it is linked to.
	Package string
	// Repository selects the packages linked to one repository (its name,
	// or "owner/name"); ignored when Package is set.
	Repository string
}

// Plan is the plan of an owner's packages.
type Plan struct {
	Owner githubapi.Owner
	// At is the moment the rules were evaluated at.
	At time.Time
	// Packages are the decisions, ordered by type (as PackageTypes) and
	// name.
	Packages []rules.Decision
	// Notices are things the reader should know about the listing itself
	// (a package type the token may not list).
	Notices []string
}

// Totals counts what a plan would do.
type Totals struct {
	Packages, Delete, Keep, Untouched int
}

// Totals counts the plan's packages, deletions, kept versions and
// untouched packages.
func (p Plan) Totals() Totals {
	t := Totals{Packages: len(p.Packages)}
	for _, d := range p.Packages {
		t.Delete += len(d.Delete)
		t.Keep += len(d.Keep)
		if d.Untouched != "" {
			t.Untouched++
		}
	}
	return t
}

// Selection is the packages of an owner a Filter selected, in plan order.
type Selection struct {
	Owner    githubapi.Owner
	Packages []githubapi.Package
	// Notices are things the reader should know about the listing (a
	// package type the token may not list).
	Notices []string
}

// PlanOwner plans the packages of owner that f selects, all evaluated at
// one moment: Select then PlanSelection.
func (p *Planner) PlanOwner(ctx context.Context, owner string, f Filter) (Plan, error) {
	sel, err := p.Select(ctx, owner, f)
	if err != nil {
		return Plan{}, err
	}
	return p.PlanSelection(ctx, sel)
}

// Select resolves owner and finds the packages f selects, ordered by type
// (as PackageTypes) and name. Errors name what failed: an unknown owner,
// an unknown package asked for by name, a listing GitHub refused for a
// type asked for by name. A type listed only because every type is
// (maven and docker need the repo scope) is a notice instead.
//
// One package (f.Package) is asked for by name first (findPackage); only
// when no type has a package of exactly that name are the listings
// searched, case-insensitively. Each type is listed once.
func (p *Planner) Select(ctx context.Context, owner string, f Filter) (Selection, error) {
	types := PackageTypes()
	if f.Type != "" {
		if !knownType(f.Type) {
			return Selection{}, fmt.Errorf("plan %s: unknown package type %q (want one of %s)", owner, f.Type, strings.Join(PackageTypes(), ", "))
		}
		types = []string{strings.ToLower(f.Type)}
	}
	p.progress(Progress{Stage: StageListPackages})
	var o githubapi.Owner
	if f.Package != "" {
		sel, found, err := p.findPackage(ctx, owner, f)
		if err != nil || found {
			return sel, err
		}
		o = sel.Owner // resolved by the 404 that findPackage met first
	} else {
		var err error
		if o, err = p.pkgs.ResolveOwner(ctx, owner); err != nil {
			return Selection{}, fmt.Errorf("plan %s: %w", owner, err)
		}
	}
	sel := Selection{Owner: o}
	for _, t := range types {
		list, err := p.pkgs.ListPackages(ctx, o, t, "")
		if err != nil {
			if f.Type == "" && errors.Is(err, githubapi.ErrRefused) {
				sel.Notices = append(sel.Notices, fmt.Sprintf("%s packages not listed: %v", t, err))
				continue
			}
			return Selection{}, fmt.Errorf("plan %s: %w", owner, err)
		}
		for _, pkg := range list {
			if selected(pkg, f) {
				sel.Packages = append(sel.Packages, pkg)
			}
		}
	}
	if f.Package != "" && len(sel.Packages) == 0 {
		return Selection{}, fmt.Errorf("plan %s: package %q: %w", owner, f.Package, githubapi.ErrNotFound)
	}
	sort.SliceStable(sel.Packages, func(i, j int) bool {
		a, b := sel.Packages[i], sel.Packages[j]
		if a.Type != b.Type {
			return typeRank(a.Type) < typeRank(b.Type)
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
	return sel, nil
}

// probeOrder is the order findPackage asks for a package of no given type
// in: the types most packages on GitHub have first, docker (the registry
// GitHub moved to container) last.
var probeOrder = [...]string{
	rules.TypeContainer, rules.TypeNPM, rules.TypeMaven, rules.TypeNuGet, rules.TypeRubyGems, rules.TypeDocker,
}

// loginSyntax is GitHub's syntax of a login: only such a name is put in
// a path before GitHub has said who it is.
var loginSyntax = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)

// findPackage asks for the one package f.Package of owner (GET of the
// package) rather than listing the owner's packages: of type f.Type, or
// else of the first type of probeOrder that has a package of that name
// (another type's package of the same name is not looked for: --type
// selects it). Container names are asked for in lower case, as registries
// name them. found is false when no type has a package of exactly that
// name; sel.Owner is then resolved, for Select to search the listings.
//
// The owner is taken to be an organisation, the common case, until GitHub
// says otherwise: the first GET goes to /orgs/{owner}/…, and a package in
// its answer is the owner resolved, which spares GET /users/{owner}. A
// 404 there (a user, or no such package) resolves the owner the usual way
// (ResolveOwner), once, and asks again if it is not an organisation.
func (p *Planner) findPackage(ctx context.Context, owner string, f Filter) (sel Selection, found bool, err error) {
	types := probeOrder[:]
	if f.Type != "" {
		types = []string{strings.ToLower(f.Type)}
	}
	resolved := false
	resolve := func() error {
		o, err := p.pkgs.ResolveOwner(ctx, owner)
		if err != nil {
			return fmt.Errorf("plan %s: %w", owner, err)
		}
		sel.Owner, resolved = o, true
		return nil
	}
	var refused []string
	if loginSyntax.MatchString(owner) {
		sel.Owner = githubapi.Owner{Login: owner, Kind: githubapi.OwnerOrganization}
	} else if err := resolve(); err != nil {
		return Selection{}, false, err
	}
	for i := 0; i < len(types); i++ {
		t, name := types[i], f.Package
		if pkgref.IsContainerType(t) {
			name = strings.ToLower(name)
		}
		pkg, err := p.pkgs.GetPackage(ctx, sel.Owner, t, name)
		switch {
		case err == nil:
			if !resolved && strings.EqualFold(pkg.Owner, owner) {
				// GitHub's spelling of the organisation's login, as
				// ResolveOwner gives it (never another owner's).
				sel.Owner.Login = pkg.Owner
			}
			sel.Packages = []githubapi.Package{pkg}
			sel.Notices = refused
			return sel, true, nil
		case !resolved && errors.Is(err, githubapi.ErrNotFound):
			guess := sel.Owner
			if err := resolve(); err != nil {
				return Selection{}, false, err
			}
			if sel.Owner.Kind != guess.Kind {
				i-- // the organisation's path was the wrong one: ask again
			}
		case errors.Is(err, githubapi.ErrNotFound):
		case f.Type == "" && errors.Is(err, githubapi.ErrRefused):
			// maven and docker need the repo scope: a package of this
			// name may hide there. (The listings say so themselves, if
			// it comes to them.)
			refused = append(refused, fmt.Sprintf("%s packages not looked at: %v", t, err))
		default:
			return Selection{}, false, fmt.Errorf("plan %s: %w", owner, err)
		}
	}
	if !resolved {
		// Every answer was a refusal: nothing said who owner is.
		if err := resolve(); err != nil {
			return Selection{}, false, err
		}
	}
	return Selection{Owner: sel.Owner}, false, nil
}

// PlanSelection plans the selected packages, all evaluated at one moment.
// It stops at the first package that cannot be planned (a listing or a
// file read failing), naming it.
func (p *Planner) PlanSelection(ctx context.Context, sel Selection) (Plan, error) {
	plan := Plan{Owner: sel.Owner, At: p.now(), Notices: sel.Notices}
	for i, pkg := range sel.Packages {
		d, err := p.plan(ctx, sel.Owner, pkg, plan.At, i, len(sel.Packages))
		if err != nil {
			return Plan{}, err
		}
		plan.Packages = append(plan.Packages, d)
		p.progress(Progress{Stage: StageDecided, Package: packageName(sel.Owner, pkg), Done: i + 1, Total: len(sel.Packages)})
	}
	return plan, nil
}

// PlanPackage decides one package of o as of now: the prune job's entry
// point. A configuration that cannot be used (an invalid file) is not an
// error: the decision is untouched and says why. Errors are transient
// failures to list versions or read files.
func (p *Planner) PlanPackage(ctx context.Context, o githubapi.Owner, pkg githubapi.Package) (rules.Decision, error) {
	return p.plan(ctx, o, pkg, p.now(), 0, 1)
}

func (p *Planner) plan(ctx context.Context, o githubapi.Owner, pkg githubapi.Package, at time.Time, done, total int) (rules.Decision, error) {
	r, err := p.read(ctx, o, pkg, at, done, total, []*rules.Loader{p.loader}, nil)
	if err != nil {
		return rules.Decision{}, err
	}
	return r.Sides[0].Decision, nil
}

// reading is one package read once and decided under the configuration
// of each loader.
type reading struct {
	Versions []rules.Version
	// Deleted is the package's deleted versions, when they were listed
	// (nil otherwise).
	Deleted []githubapi.Version
	Sides   []Side
}

// read lists pkg's versions once, reads its graph once if any loader's
// configuration could prune it, lists its deleted versions once if any
// decision needs them (or wantDeleted says the caller does), then decides
// it under each loader's configuration.
func (p *Planner) read(ctx context.Context, o githubapi.Owner, pkg githubapi.Package, at time.Time, done, total int, loaders []*rules.Loader, wantDeleted func([]*rules.Config) bool) (reading, error) {
	name := packageName(o, pkg)
	report := func(pr Progress) {
		pr.Package, pr.Done, pr.Total = name, done, total
		p.progress(pr)
	}
	report(Progress{Stage: StageListVersions})
	list, err := p.pkgs.ListVersions(ctx, o, pkg.Type, pkg.Name, githubapi.ListVersionsOptions{
		State: githubapi.StateActive,
		Progress: func(lp githubapi.ListProgress) {
			report(Progress{Stage: StageListVersions, Pages: lp.Pages, Versions: lp.Versions})
		},
	})
	if err != nil {
		return reading{}, fmt.Errorf("plan %s: %w", name, err)
	}
	rpkg := pkg.RefOf(o)
	versions := make([]rules.Version, 0, len(list.Versions))
	for _, v := range list.Versions {
		versions = append(versions, rules.Version{ID: v.ID, Name: v.Name, Tags: v.Tags, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt})
	}
	r := reading{Versions: versions, Sides: make([]Side, len(loaders))}

	cfgs := make([]*rules.Config, len(loaders))
	needGraph := false
	for i, l := range loaders {
		cfg, err := l.Load(ctx, rpkg)
		var invalid rules.ErrorList
		switch {
		case errors.As(err, &invalid):
			// Nothing a broken file governs is touched until it is fixed.
			r.Sides[i] = Side{Err: err, Decision: untouched(rpkg, versions, at, fmt.Sprintf("invalid configuration: %v", err))}
			continue
		case err != nil:
			return reading{}, fmt.Errorf("plan %s: %w", name, err)
		}
		cfgs[i] = cfg
		if pkgref.IsContainerType(pkg.Type) && !cfg.Inert() && len(versions) > 0 {
			if m, _ := cfg.Match(rpkg); m != nil && m.Prune != nil {
				needGraph = true
			}
		}
	}

	var graph rules.Graph
	if needGraph {
		// The graph is read only when something could be pruned:
		// every read counts as a download on ghcr.io.
		report(Progress{Stage: StageReadGraph, Pages: list.Pages, Versions: len(versions)})
		graph, err = p.readGraph(ctx, o, pkg, versions)
		if err != nil {
			return reading{}, fmt.Errorf("plan %s: %w", name, err)
		}
	}
	listDeleted := len(graph.Manifests) > 0 && rules.MissesManifests(versions, graph)
	if !listDeleted && wantDeleted != nil && wantDeleted(cfgs) {
		listDeleted = true
	}
	var deleted []rules.DeletedVersion
	if listDeleted {
		dl, err := p.pkgs.ListVersions(ctx, o, pkg.Type, pkg.Name, githubapi.ListVersionsOptions{State: githubapi.StateDeleted})
		if err != nil {
			return reading{}, fmt.Errorf("plan %s: list deleted versions: %w", name, err)
		}
		r.Deleted = dl.Versions
		deleted = make([]rules.DeletedVersion, 0, len(dl.Versions))
		for _, v := range dl.Versions {
			deleted = append(deleted, rules.DeletedVersion{ID: v.ID, Name: v.Name, DeletedAt: v.DeletedAt})
		}
	}
	var held map[int64]string
	if p.holds != nil {
		if held, err = p.holds(ctx, rpkg, versions); err != nil {
			return reading{}, fmt.Errorf("plan %s: %w", name, err)
		}
	}
	for i, cfg := range cfgs {
		if cfg == nil {
			continue // invalid: decided above
		}
		in := rules.Input{Config: cfg, Package: rpkg, Versions: versions, Deleted: deleted, Graph: graph, Now: at, Held: held}
		d := rules.Decide(in)
		d.Storage = rules.StorageOf(d, graph)
		if p.decided != nil {
			p.decided(in)
		}
		r.Sides[i] = Side{Config: cfg, Decision: d}
	}
	return r, nil
}

// readGraph reads the manifests of every listed version. Per-digest
// failures go into Graph.Unreadable, where rules.Decide turns a listed one
// into an untouched package.
func (p *Planner) readGraph(ctx context.Context, o githubapi.Owner, pkg githubapi.Package, versions []rules.Version) (rules.Graph, error) {
	digests := make([]string, 0, len(versions))
	for _, v := range versions {
		digests = append(digests, v.Name)
	}
	if p.graphs == nil {
		g := rules.Graph{Unreadable: map[string]error{}}
		for _, d := range digests {
			g.Unreadable[d] = errors.New("no registry to read it from")
		}
		return g, nil
	}
	found, failed, err := p.graphs.Graph(ctx, RegistryRepository(o.Login, pkg.Name), digests)
	if err != nil {
		return rules.Graph{}, err
	}
	return rules.Graph{Manifests: found, Unreadable: failed}, nil
}

// RegistryRepository is the registry path of a container package: owner
// and package name, lower-cased as ghcr.io names repositories
// ("Acme", "Team/App" → "acme/team/app").
func RegistryRepository(owner, name string) string {
	return strings.ToLower(owner + "/" + name)
}

// untouched is the decision for a package nothing may be deleted from.
func untouched(pkg rules.Package, versions []rules.Version, at time.Time, why string) rules.Decision {
	// An inert decision lists every version, newest first; only the
	// reasons change.
	d := rules.Decide(rules.Input{Package: pkg, Versions: versions, Now: at})
	d.Untouched = why
	for i := range d.Keep {
		d.Keep[i].Reason = "untouched"
	}
	return d
}

func selected(pkg githubapi.Package, f Filter) bool {
	if f.Package != "" {
		return strings.EqualFold(pkg.Name, f.Package)
	}
	if f.Repository != "" {
		return strings.EqualFold(pkgref.RepoName(pkg.Repository), pkgref.RepoName(f.Repository))
	}
	return true
}

func packageName(o githubapi.Owner, pkg githubapi.Package) string {
	return o.Login + "/" + pkg.Type + "/" + pkg.Name
}

func knownType(t string) bool { return typeRank(strings.ToLower(t)) < len(packageTypes) }

func typeRank(t string) int {
	for i, pt := range packageTypes {
		if pt == t {
			return i
		}
	}
	return len(packageTypes)
}

// Clients are the owner's packages client and registry reader, both
// authenticated with the owner's packages token.
type Clients struct {
	Packages *githubapi.PackagesClient
	Registry *registry.Reader
}

// DefaultRegistryURL is ghcr.io.
const DefaultRegistryURL = "https://ghcr.io"
