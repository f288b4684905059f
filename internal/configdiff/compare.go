// Package configdiff previews a change of a rules file: it decides the
// owner's packages under the old file and the new one over a single
// reading of GitHub (planner.PlanAlternatives) and says, per package, what
// the new file would delete that the old keeps and the reverse, the
// restores that would start or stop, and the packages that would change
// hands between a repository's rules and the owner's. `pkgwarden plan
// --against` prints it; the pull request check renders it as markdown.
// Nothing is deleted, restored or written.
package configdiff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// File is one side of a change. The zero value is the file as committed
// (read through the Source); Data is a file's content, named Name in
// messages; Absent is no file at all (one the change adds or removes).
type File struct {
	Name   string
	Data   []byte
	Absent bool
}

func (f File) committed() bool { return f.Data == nil && !f.Absent }

// Change is a change of the rules file of one repository of the owner
// (rules.OwnerRepo for the owner's own file: its rules and policy then
// reach every repository's packages), or of a file others name in
// _extends (Path).
type Change struct {
	Repo string
	// Path is the file's path in Repo: rules.Path when empty; another
	// path is a base file that rules files _extends.
	Path     string
	Old, New File
}

// InvalidError is a side of the change that does not decode: Errs name
// the file, line and column of each problem, in the words of the
// invalid-configuration issue.
type InvalidError struct {
	// Side is "old" or "new".
	Side string
	Errs rules.ErrorList
}

func (e *InvalidError) Error() string { return e.Errs.Error() }

func (e *InvalidError) Unwrap() error { return e.Errs }

// Version is a version whose fate the change alters.
type Version struct {
	ID      int64    `json:"id"`
	Version string   `json:"version"`
	Tags    []string `json:"tags"`
	// Reason is the side's verdict that differs: why the new file deletes
	// it (or restores it), why the new file keeps it (or stops restoring
	// it).
	Reason string     `json:"reason"`
	Kind   rules.Kind `json:"kind"`
	// Deferred is a deletion beyond max_deletions_per_run: it waits for a
	// later run.
	Deferred bool `json:"deferred,omitempty"`
}

// Count is what one side would delete in a package, with the policy's
// cap applied.
type Count struct {
	ThisRun  int `json:"this_run"`
	Deferred int `json:"deferred"`
}

// Package is what the change does to one package.
type Package struct {
	Owner      string `json:"owner"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// OldRules and NewRules name the file governing the package on each
	// side ("owner/repo:path", "none"); Hands is set when the package
	// changes hands between a repository's rules and the owner's.
	OldRules string `json:"old_rules"`
	NewRules string `json:"new_rules"`
	Hands    bool   `json:"changes_hands"`
	// Delete lists what the new file would delete that the old keeps;
	// Keep what the old would delete that the new keeps.
	Delete []Version `json:"delete"`
	Keep   []Version `json:"keep"`
	// RestoreStart and RestoreStop are deleted versions the new file
	// would restore and the old would not (restore.tags, restore.broken),
	// and the reverse.
	RestoreStart []Version `json:"restore_start"`
	RestoreStop  []Version `json:"restore_stop"`
	Old          Count     `json:"old"`
	New          Count     `json:"new"`
	// DryRun is the new side's dry run: its deletions are only reported.
	DryRun bool `json:"dry_run"`
	// Untouched says why the new file leaves the package alone when the
	// old did not (an _extends not found, an invalid base).
	Untouched string `json:"untouched,omitempty"`
	// Notices are the new side's remarks the old side did not make.
	Notices []string `json:"notices,omitempty"`
}

// Ref is "owner/type/name".
func (p Package) Ref() string { return p.Owner + "/" + p.Type + "/" + p.Name }

// Totals sum the packages.
type Totals struct {
	// Delete and Keep count Package.Delete and Package.Keep over every
	// package; DeleteDeferred is the part of Delete beyond the cap.
	Delete         int `json:"delete"`
	DeleteDeferred int `json:"delete_deferred"`
	Keep           int `json:"keep"`
	RestoreStart   int `json:"restore_start"`
	RestoreStop    int `json:"restore_stop"`
	Hands          int `json:"changes_hands"`
	// Old and New are what each side would delete over every package.
	Old Count `json:"old"`
	New Count `json:"new"`
}

// Diff is the preview of a change.
type Diff struct {
	Owner string `json:"owner"`
	// File is the file changed, "owner/repo:path"; OldName and NewName
	// the names of its two sides.
	File    string `json:"file"`
	OldName string `json:"old_name"`
	NewName string `json:"new_name"`
	// Packages are the packages the change alters, in plan order;
	// Unchanged counts the others.
	Packages  []Package `json:"packages"`
	Unchanged int       `json:"unchanged"`
	Totals    Totals    `json:"totals"`
	// ReviewOver is policy.review_deletions_over, read from the old
	// side's policy: a change cannot raise its own bar. Review is true
	// when Totals.Delete exceeds it.
	ReviewOver int  `json:"review_deletions_over"`
	Review     bool `json:"review"`
	// Errors are the problems the new side meets loading its rules that
	// the old side did not (an _extends naming a file that does not
	// exist, an invalid base), each at its file, line and column: the
	// packages concerned are left untouched, so the check should fail.
	Errors rules.ErrorList `json:"errors,omitempty"`
	// Notices are the listing's own (a package type the token may not
	// list): the diff says nothing of those packages.
	Notices []string `json:"notices,omitempty"`
}

// Conclusion is the check run's conclusion for a diff of files that
// decode: "failure" when the new rules cannot be loaded (Errors),
// "neutral" when the new deletions deserve review, else "success".
func (d Diff) Conclusion() string {
	if len(d.Errors) > 0 {
		return "failure"
	}
	if d.Review {
		return "neutral"
	}
	return "success"
}

// Compare previews ch for the packages of sel: it reads every file the
// two sides need once through src, each package once through p (the
// planner's own loader is not used), and decides each package under both.
// A side that does not decode is an *InvalidError; other errors are
// GitHub's, naming what failed.
func Compare(ctx context.Context, p *planner.Planner, src rules.Source, sel planner.Selection, ch Change) (Diff, error) {
	owner := sel.Owner.Login
	repo := ch.Repo
	if repo == "" {
		repo = rules.OwnerRepo
	}
	shared := &onceSource{src: src, got: map[string]onceResult{}}
	loaders := [2]*rules.Loader{rules.NewLoader(shared), rules.NewLoader(shared)}
	sides := [2]File{ch.Old, ch.New}
	names := [2]string{"old", "new"}
	path := ch.Path
	if path == "" {
		path = rules.Path
	}
	file := owner + "/" + repo + ":" + path
	for i, f := range sides {
		name := f.Name
		if name == "" {
			name = path
		}
		switch {
		case path != rules.Path && !f.committed():
			// A base file: served in the repository's place, so the
			// loader reads it as it reads any _extends. It must decode
			// on its own.
			if !f.Absent {
				if errs := decodeBase(name, f.Data); errs != nil {
					return Diff{}, &InvalidError{Side: names[i], Errs: errs}
				}
			}
			loaders[i] = rules.NewLoader(&overlay{Source: shared, owner: owner, repo: repo, path: path, file: f})
		case f.Absent:
			loaders[i].Remove(owner, repo)
		case !f.committed():
			if err := loaders[i].Override(owner, repo, name, f.Data); err != nil {
				var list rules.ErrorList
				if errors.As(err, &list) {
					return Diff{}, &InvalidError{Side: names[i], Errs: list}
				}
				return Diff{}, err
			}
		}
	}
	alts, err := p.PlanAlternatives(ctx, sel, loaders[0], loaders[1])
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Owner: owner, File: file, OldName: sideName(ch.Old, file), NewName: sideName(ch.New, file), Packages: []Package{}, Notices: sel.Notices}
	d.ReviewOver = reviewOver(ctx, loaders[0], owner)
	seenErr := map[string]bool{}
	for _, a := range alts {
		d.Errors = append(d.Errors, newErrors(a, seenErr)...)
		pkg := comparePackage(a)
		d.Totals.Old.ThisRun += pkg.Old.ThisRun
		d.Totals.Old.Deferred += pkg.Old.Deferred
		d.Totals.New.ThisRun += pkg.New.ThisRun
		d.Totals.New.Deferred += pkg.New.Deferred
		if !pkg.changed() {
			d.Unchanged++
			continue
		}
		d.Totals.Delete += len(pkg.Delete)
		for _, v := range pkg.Delete {
			if v.Deferred {
				d.Totals.DeleteDeferred++
			}
		}
		d.Totals.Keep += len(pkg.Keep)
		d.Totals.RestoreStart += len(pkg.RestoreStart)
		d.Totals.RestoreStop += len(pkg.RestoreStop)
		if pkg.Hands {
			d.Totals.Hands++
		}
		d.Packages = append(d.Packages, pkg)
	}
	d.Review = d.Totals.Delete > d.ReviewOver
	return d, nil
}

// newErrors are the new side's loading errors for a that the old side
// did not have, each once over the diff.
func newErrors(a planner.Alternative, seen map[string]bool) rules.ErrorList {
	var list rules.ErrorList
	if !errors.As(a.Sides[1].Err, &list) {
		return nil
	}
	old := map[string]bool{}
	var oldList rules.ErrorList
	if errors.As(a.Sides[0].Err, &oldList) {
		for _, e := range oldList {
			old[e.Error()] = true
		}
	}
	var out rules.ErrorList
	for _, e := range list {
		if k := e.Error(); !old[k] && !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func sideName(f File, file string) string {
	switch {
	case f.Absent:
		return "no file"
	case f.committed():
		return "committed"
	case f.Name != "":
		return f.Name
	}
	return rules.Path
}

// reviewOver is the old side's policy.review_deletions_over; the default
// when the owner's old file cannot be read.
func reviewOver(ctx context.Context, l *rules.Loader, owner string) int {
	cfg, err := l.Load(ctx, rules.Package{Owner: owner, Type: rules.TypeContainer, Name: "-"})
	if err != nil {
		return rules.DefaultReviewDeletionsOver
	}
	return cfg.Policy.ReviewDeletionsOver
}

func (p Package) changed() bool {
	return len(p.Delete)+len(p.Keep)+len(p.RestoreStart)+len(p.RestoreStop) > 0 || p.Hands || p.Untouched != "" ||
		len(p.Notices) > 0 || p.Old != p.New
}

func comparePackage(a planner.Alternative) Package {
	old, nw := a.Sides[0], a.Sides[1]
	pkg := Package{Owner: a.Package.Owner, Type: a.Package.Type, Name: a.Package.Name, Repository: a.Package.Repository,
		Delete: []Version{}, Keep: []Version{}, RestoreStart: []Version{}, RestoreStop: []Version{}, DryRun: nw.Decision.DryRun}
	var ok, nk string
	pkg.OldRules, ok = governor(old, a.Package)
	pkg.NewRules, nk = governor(nw, a.Package)
	pkg.Hands = ok != nk && ok != "invalid" && nk != "invalid"

	oldDel, newDel := deletions(old.Decision), deletions(nw.Decision)
	pkg.Old, pkg.New = count(old.Decision), count(nw.Decision)
	for _, e := range newDel.order {
		if _, was := oldDel.by[e.ID]; !was {
			pkg.Delete = append(pkg.Delete, version(e, e.Kind == rules.KindDeferred))
		}
	}
	newKeep := map[int64]rules.Entry{}
	for _, e := range nw.Decision.Keep {
		newKeep[e.ID] = e
	}
	for _, e := range oldDel.order {
		if _, still := newDel.by[e.ID]; still {
			continue
		}
		if k, ok := newKeep[e.ID]; ok {
			e = k
		}
		pkg.Keep = append(pkg.Keep, version(e, false))
	}

	oldRes, newRes := restoresOf(old, a), restoresOf(nw, a)
	for _, v := range newRes.order {
		if _, was := oldRes.by[v.ID]; !was {
			pkg.RestoreStart = append(pkg.RestoreStart, v)
		}
	}
	for _, v := range oldRes.order {
		if _, still := newRes.by[v.ID]; !still {
			pkg.RestoreStop = append(pkg.RestoreStop, v)
		}
	}
	if nw.Decision.Untouched != "" && old.Decision.Untouched == "" {
		pkg.Untouched = nw.Decision.Untouched
	}
	seen := map[string]bool{}
	for _, n := range old.Decision.Notices {
		seen[n] = true
	}
	for _, n := range nw.Decision.Notices {
		if !seen[n] && n != pkg.Untouched {
			pkg.Notices = append(pkg.Notices, n)
		}
	}
	return pkg
}

// governor names the file governing pkg on a side, canonically (not by
// an override's name), and whose it is: "repository", "owner", "none"
// or "invalid".
func governor(s planner.Side, pkg rules.Package) (string, string) {
	switch {
	case s.Config == nil:
		return "invalid configuration", "invalid"
	case s.Config.Inert():
		return "none", "none"
	case s.Config.Repository != "" && !strings.EqualFold(s.Config.Repository, pkg.RepoName()):
		// Another repository's rules do not govern it (an override of
		// that repository's file): the package is left alone.
		return "none", "none"
	case s.Config.Repository != "":
		return pkg.Owner + "/" + s.Config.Repository + ":" + rules.Path, "repository"
	}
	return pkg.Owner + "/" + rules.OwnerRepo + ":" + rules.Path, "owner"
}

type entrySet struct {
	order []rules.Entry
	by    map[int64]rules.Entry
}

// deletions are the versions a decision deletes, now or in a later run
// (deferred by the cap), in its order.
func deletions(d rules.Decision) entrySet {
	s := entrySet{by: map[int64]rules.Entry{}}
	add := func(e rules.Entry) {
		s.order = append(s.order, e)
		s.by[e.ID] = e
	}
	for _, e := range d.Delete {
		add(e)
	}
	for _, e := range d.Keep {
		if e.Kind == rules.KindDeferred {
			add(e)
		}
	}
	return s
}

func count(d rules.Decision) Count {
	c := Count{ThisRun: len(d.Delete)}
	for _, e := range d.Keep {
		if e.Kind == rules.KindDeferred {
			c.Deferred++
		}
	}
	return c
}

func version(e rules.Entry, deferred bool) Version {
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	return Version{ID: e.ID, Version: e.Version, Tags: tags, Reason: e.Reason, Kind: e.Kind, Deferred: deferred}
}

type versionSet struct {
	order []Version
	by    map[int64]Version
}

// restoresOf are the deleted versions a side would restore: those its
// rule's restore.tags protects (as plan lists them), then the deleted
// children and referrers restore.broken would bring back to kept images.
func restoresOf(s planner.Side, a planner.Alternative) versionSet {
	out := versionSet{by: map[int64]Version{}}
	add := func(v Version) {
		if _, ok := out.by[v.ID]; ok {
			return
		}
		out.order = append(out.order, v)
		out.by[v.ID] = v
	}
	if s.Config == nil {
		return out // invalid: the restore job restores nothing either
	}
	if r := planner.RestoreRule(s.Config, a.Package); r != nil {
		for _, v := range a.Deleted {
			var protected []string
			for _, t := range v.Tags {
				if r.Tags.Match(t) {
					protected = append(protected, t)
				}
			}
			if len(protected) == 0 {
				continue
			}
			tags := v.Tags
			if tags == nil {
				tags = []string{}
			}
			add(Version{ID: v.ID, Version: v.Name, Tags: tags, Kind: rules.KindRestoreTags,
				Reason: "restore.tags " + r.Tags.String() + " protects " + strings.Join(protected, ",")})
		}
	}
	names := map[int64]string{}
	for _, v := range a.Deleted {
		names[v.ID] = v.Name
	}
	for _, b := range s.Decision.Broken {
		if !b.Heals {
			continue
		}
		for _, m := range b.Missing {
			if m.State != rules.ChildDeleted || m.DeletedID == 0 {
				continue
			}
			add(Version{ID: m.DeletedID, Version: m.Digest, Tags: []string{}, Kind: "restore_broken",
				Reason: fmt.Sprintf("restore.broken heals %s: its %s", b.Name, m.What)})
		}
	}
	return out
}

// decodeBase checks a base file as the loader will read it.
func decodeBase(name string, data []byte) rules.ErrorList {
	if len(data) > rules.MaxFileSize {
		return rules.ErrorList{{File: name, Line: 1, Column: 1, Msg: fmt.Sprintf("%s is %d bytes, over the %d MiB limit", name, len(data), rules.MaxFileSize>>20)}}
	}
	_, err := rules.Decode(name, data)
	var list rules.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return nil
}

// overlay serves one side's version of a base file in place of what the
// repository holds.
type overlay struct {
	rules.Source
	owner, repo, path string
	file              File
}

func (o *overlay) File(ctx context.Context, owner, repo, path string) ([]byte, error) {
	if !strings.EqualFold(owner, o.owner) || !strings.EqualFold(repo, o.repo) || path != o.path {
		return o.Source.File(ctx, owner, repo, path)
	}
	if o.file.Absent {
		return nil, fmt.Errorf("%s/%s:%s: %w", owner, repo, path, rules.ErrNotFound)
	}
	return o.file.Data, nil
}

// onceSource reads each file once for both sides: the files a change does
// not touch are the same on both.
type onceSource struct {
	src rules.Source
	mu  sync.Mutex
	got map[string]onceResult
}

type onceResult struct {
	data []byte
	err  error
}

func (s *onceSource) File(ctx context.Context, owner, repo, path string) ([]byte, error) {
	key := strings.ToLower(owner + "/" + repo + ":" + path)
	s.mu.Lock()
	r, ok := s.got[key]
	s.mu.Unlock()
	if ok {
		return r.data, r.err
	}
	data, err := s.src.File(ctx, owner, repo, path)
	if err != nil && !errors.Is(err, rules.ErrNotFound) && !errors.Is(err, rules.ErrUnreadable) {
		return nil, err // transient: not remembered
	}
	s.mu.Lock()
	s.got[key] = onceResult{data: data, err: err}
	s.mu.Unlock()
	return data, err
}
