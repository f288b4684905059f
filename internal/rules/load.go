package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// ErrNotFound is what a Source returns (wrapped or as is) when the
// repository or the file does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnreadable is what a Source returns (wrapped, best through
// Unreadable or TooLarge, which say why) when path exists but can never be
// read as a configuration file: a directory, a symlink or submodule, a
// file too large to be served. It is permanent: the loader reports it as
// a configuration error of the file that names the path, and does not
// read it again.
var ErrUnreadable = errors.New("not readable as a configuration file")

// unreadableError is ErrUnreadable with the reason.
type unreadableError struct{ reason string }

func (e *unreadableError) Error() string { return e.reason }

func (e *unreadableError) Is(target error) bool { return target == ErrUnreadable }

// Unreadable returns an error matching ErrUnreadable whose text, reason,
// is what the configuration error says of the path after naming it:
// "is a directory, not a file".
func Unreadable(reason string) error { return &unreadableError{reason: reason} }

// TooLarge is Unreadable for a file of size bytes, over MaxFileSize.
func TooLarge(size int) error { return Unreadable(tooLarge(size)) }

func tooLarge(size int) string {
	return fmt.Sprintf("is %.1f MiB (%d bytes), over the %d MiB limit", float64(size)/(1<<20), size, MaxFileSize>>20)
}

// unreadableReason is why data cannot be a configuration file, or "".
func unreadableReason(data []byte) string {
	switch {
	case len(data) > MaxFileSize:
		return tooLarge(len(data))
	case !utf8.Valid(data):
		return "is not valid UTF-8"
	}
	return ""
}

// Source reads a file at the default branch of a repository. It is the
// only way the rules package reaches the outside world.
type Source interface {
	// File returns the content of path in owner/repo at its default branch,
	// an error wrapping ErrNotFound when the repository or file does not
	// exist, or one wrapping ErrUnreadable when path can never be read as
	// a file. Any other error is treated as transient.
	File(ctx context.Context, owner, repo, path string) ([]byte, error)
}

// Loader finds and resolves the configuration governing a package. It
// remembers every file it read, so make one per run (a prune job, a plan)
// to see fresh files next time. It is safe for concurrent use.
type Loader struct {
	src Source

	mu       sync.Mutex
	files    map[string]loaded
	override *overrideFile
}

type loaded struct {
	file *File // nil when not found
	err  error // an ErrorList when the file is invalid or unreadable
	// partial is what was decoded of an invalid file (nil when it could
	// not be parsed): a repository file's misplaced policy block is
	// reported with its other errors.
	partial *File
	// unreadable says why the path cannot be read as a file ("is a
	// directory, not a file"), for an _extends naming it; err then
	// reports it as the file's own error.
	unreadable string
}

type overrideFile struct {
	owner, repo string
	file        *File
}

// NewLoader returns a loader reading files through src.
func NewLoader(src Source) *Loader {
	return &Loader{src: src, files: map[string]loaded{}}
}

func fileKey(owner, repo, path string) string {
	return strings.ToLower(owner + "/" + repo + ":" + path)
}

// Override makes the loader use data, named name in messages, as the file
// of owner/repo, whatever that repository holds: `plan --config FILE`
// evaluates a file before it is committed. The owner's policy still
// applies; overriding the owner's ".github" repository replaces the
// owner's file, policy included. An invalid file is an ErrorList.
func (l *Loader) Override(owner, repo, name string, data []byte) error {
	if why := unreadableReason(data); why != "" {
		return ErrorList{{File: name, Line: 1, Column: 1, Msg: name + " " + why}}
	}
	f, errs := decode(name, data)
	if f != nil && f.policy != nil && !strings.EqualFold(repo, OwnerRepo) {
		return withPolicyMisplaced(errs, f, owner)
	}
	if len(errs) > 0 {
		return errs
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files[fileKey(owner, repo, Path)] = loaded{file: f}
	l.override = &overrideFile{owner: owner, repo: repo, file: f}
	return nil
}

// Remove makes the loader see no file at owner/repo, whatever that
// repository holds: the preview of a change that deletes the file.
func (l *Loader) Remove(owner, repo string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files[fileKey(owner, repo, Path)] = loaded{}
}

// file reads and decodes one file, once.
func (l *Loader) file(ctx context.Context, owner, repo, path string) (*File, error) {
	got, err := l.read(ctx, owner, repo, path)
	if err != nil {
		return nil, err
	}
	return got.file, got.err
}

// read reads and decodes one file, once. The error is a transient one,
// not remembered, for the caller to retry; a file that is invalid or
// cannot be read as one is remembered with its ErrorList in loaded.err.
func (l *Loader) read(ctx context.Context, owner, repo, path string) (loaded, error) {
	key := fileKey(owner, repo, path)
	l.mu.Lock()
	got, ok := l.files[key]
	l.mu.Unlock()
	if ok {
		return got, nil
	}
	data, err := l.src.File(ctx, owner, repo, path)
	switch {
	case errors.Is(err, ErrNotFound):
		got = loaded{}
	case errors.Is(err, ErrUnreadable):
		got = unreadableFile(owner, repo, path, unreadableText(err))
	case err != nil:
		// Transient: not remembered, the caller retries.
		return loaded{}, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, err)
	default:
		if why := unreadableReason(data); why != "" {
			got = unreadableFile(owner, repo, path, why)
			break
		}
		f, derrs := decode(path, data)
		if len(derrs) > 0 {
			got = loaded{err: withRepo(derrs, owner+"/"+repo), partial: f}
		} else {
			got = loaded{file: f}
		}
	}
	l.mu.Lock()
	l.files[key] = got
	l.mu.Unlock()
	return got, nil
}

// unreadableFile is the file owner/repo:path that cannot be read as one,
// reported as its own error (for the _extends naming it, extend reports
// it there instead).
func unreadableFile(owner, repo, path, why string) loaded {
	return loaded{unreadable: why, err: ErrorList{{Repo: owner + "/" + repo, File: path, Line: 1, Column: 1, Msg: path + " " + why}}}
}

// unreadableText is the reason an ErrUnreadable from a Source gives:
// Unreadable's, or else the whole error.
func unreadableText(err error) string {
	var u *unreadableError
	if errors.As(err, &u) {
		return u.reason
	}
	return fmt.Sprintf("is %s (%v)", ErrUnreadable, err)
}

func withRepo(err error, repo string) error {
	var list ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			e.Repo = repo
		}
		return list
	}
	return err
}

func policyMisplaced(f *File, owner string) error {
	return withPolicyMisplaced(nil, f, owner)
}

// withPolicyMisplaced adds to errs, the other errors of f, in file order,
// that f, a repository's file, holds a policy block: one pass says all
// that is wrong with it.
func withPolicyMisplaced(errs ErrorList, f *File, owner string) ErrorList {
	pe := &Error{File: f.name, Line: f.policy.line, Column: f.policy.column, Field: "policy",
		Msg: fmt.Sprintf("only allowed in the owner's %s/%s repository", owner, OwnerRepo)}
	if len(errs) > 0 {
		pe.Repo = errs[0].Repo
	}
	out := make(ErrorList, 0, len(errs)+1)
	placed := false
	for _, e := range errs {
		if !placed && (e.Line > pe.Line || e.Line == pe.Line && e.Column > pe.Column) {
			out, placed = append(out, pe), true
		}
		out = append(out, e)
	}
	if !placed {
		out = append(out, pe)
	}
	if len(out) > maxErrors {
		out = out[:maxErrors]
	}
	return out
}

// Load returns the configuration governing pkg:
//
//   - the owner's file (OwnerRepo, Path) is read first; its policy bounds
//     everything below;
//   - a package linked to a repository follows that repository's file,
//     unless the policy says repository_rules: deny (dry_run forces a dry
//     run);
//   - otherwise, and for packages linked to no repository, the owner's
//     rules apply;
//   - with no file anywhere the configuration is inert.
//
// An invalid file, or a path that cannot be read as one (ErrUnreadable:
// a directory, a file over MaxFileSize, bytes that are not UTF-8), is an
// error wrapping an ErrorList whose entries name the repository and file
// to report to: nothing the file governs may be touched until it is
// fixed. Other errors come from the Source and are transient.
func (l *Loader) Load(ctx context.Context, pkg Package) (*Config, error) {
	cfg, err := l.load(ctx, pkg)
	if err != nil {
		return nil, fmt.Errorf("rules for %s: %w", pkg, err)
	}
	return cfg, nil
}

func (l *Loader) load(ctx context.Context, pkg Package) (*Config, error) {
	repo := pkg.RepoName()
	ownerFile, err := l.file(ctx, pkg.Owner, OwnerRepo, Path)
	if err != nil {
		return nil, err
	}
	policy := DefaultPolicy()
	if ownerFile != nil && ownerFile.policy != nil {
		p := ownerFile.policy
		if p.maxDeletions != nil {
			policy.MaxDeletionsPerRun = *p.maxDeletions
		}
		if p.minUntaggedAge != nil {
			policy.MinUntaggedAge = *p.minUntaggedAge
		}
		if p.repoRules != nil {
			policy.RepositoryRules = *p.repoRules
		}
		if p.reviewOver != nil {
			policy.ReviewDeletionsOver = *p.reviewOver
		}
	}
	ownerOrigin := pkg.Owner + "/" + OwnerRepo + ":" + Path
	var notices []string
	l.mu.Lock()
	ov := l.override
	l.mu.Unlock()
	if ov != nil && strings.EqualFold(ov.owner, pkg.Owner) && !strings.EqualFold(ov.repo, repo) {
		if n := foreignNotice(ov, pkg); n != "" {
			notices = append(notices, n)
		}
	}

	if repo != "" && !strings.EqualFold(repo, OwnerRepo) {
		got, err := l.read(ctx, pkg.Owner, repo, Path)
		repoFile := got.file
		if err == nil && got.err != nil {
			err = got.err
			if got.partial != nil && got.partial.policy != nil {
				var list ErrorList
				if errors.As(got.err, &list) {
					err = withRepo(withPolicyMisplaced(list, got.partial, pkg.Owner), pkg.Owner+"/"+repo)
				}
			}
		}
		var list ErrorList
		denied := policy.RepositoryRules == RepositoryRulesDeny
		if err != nil && !(denied && errors.As(err, &list)) {
			return nil, err
		}
		origin := pkg.Owner + "/" + repo + ":" + Path
		if ov != nil && repoFile != nil && repoFile == ov.file {
			origin = repoFile.name
		}
		switch {
		case denied && (repoFile != nil || err != nil):
			// Ignored, even when invalid: the policy says it does not count.
			notices = append(notices, fmt.Sprintf("%s ignored: policy.repository_rules is deny in %s", origin, ownerOrigin))
		case repoFile != nil:
			if repoFile.policy != nil {
				return nil, withRepo(policyMisplaced(repoFile, pkg.Owner), pkg.Owner+"/"+repo)
			}
			merged, more, err := l.extend(ctx, repoFile, pkg.Owner+"/"+repo)
			if err != nil {
				return nil, err
			}
			if repoFile.dashboard != nil || repoFile.perPackage != nil {
				notices = append(notices, fmt.Sprintf("report.dashboard and report.per_package of %s ignored: only %s switches the dashboard", origin, ownerOrigin))
			}
			cfg := build(merged, origin, repo, policy, append(notices, more...))
			ownerDashboard(cfg, ownerFile)
			if policy.RepositoryRules == RepositoryRulesDryRun && !cfg.DryRun {
				cfg.DryRun = true
				cfg.Notices = append(cfg.Notices, fmt.Sprintf("dry run forced by policy.repository_rules: dry_run in %s", ownerOrigin))
			}
			return cfg, nil
		}
	}
	if ownerFile == nil {
		return &Config{Policy: policy, Notices: notices}, nil
	}
	if ov != nil && ownerFile == ov.file {
		ownerOrigin = ownerFile.name
	}
	merged, more, err := l.extend(ctx, ownerFile, pkg.Owner+"/"+OwnerRepo)
	if err != nil {
		return nil, err
	}
	cfg := build(merged, ownerOrigin, "", policy, append(notices, more...))
	ownerDashboard(cfg, ownerFile)
	return cfg, nil
}

// extend merges the file f extends under it: maps merge, lists are
// replaced, one level deep. The base's own policy and _extends are not
// followed; policy only ever comes from the owner's file itself.
func (l *Loader) extend(ctx context.Context, f *File, repo string) (*File, []string, error) {
	if f.extends == nil {
		return f, nil, nil
	}
	ref := *f.extends
	got, err := l.read(ctx, ref.owner, ref.repo, ref.path)
	if err != nil {
		return nil, nil, err
	}
	if got.unreadable != "" {
		// The file names a path that cannot be read: its _extends is
		// what to fix, as when the path does not exist.
		return nil, nil, ErrorList{{Repo: repo, File: f.name, Line: ref.line, Column: ref.column, Field: "_extends",
			Msg: fmt.Sprintf("%s %s", ref, got.unreadable)}}
	}
	if got.err != nil {
		return nil, nil, got.err
	}
	base := got.file
	if base == nil {
		return nil, nil, ErrorList{{Repo: repo, File: f.name, Line: ref.line, Column: ref.column, Field: "_extends",
			Msg: fmt.Sprintf("%s not found", ref)}}
	}
	var notices []string
	if base.extends != nil {
		notices = append(notices, fmt.Sprintf("%s: _extends of %s not followed (one level only)", ref, base.extends))
	}
	merged := *base
	merged.name = f.name
	merged.policy = f.policy
	merged.extends = nil
	if f.dryRun != nil {
		merged.dryRun = f.dryRun
	}
	if f.labels != nil {
		merged.labels = f.labels
	}
	if f.assignees != nil {
		merged.assignees = f.assignees
	}
	if f.rules != nil {
		merged.rules = f.rules
	} else if base.rules != nil {
		// The rules are the base file's: their lines are not lines of
		// the file the origin names.
		inherited := append([]Rule(nil), *base.rules...)
		for i := range inherited {
			inherited[i].Line = 0
		}
		merged.rules = &inherited
	}
	return &merged, notices, nil
}

func build(f *File, origin, repo string, policy Policy, notices []string) *Config {
	cfg := &Config{
		Origin:     origin,
		Repository: repo,
		Report:     Report{Labels: []string{"pkgwarden"}, Assignees: []string{}},
		Policy:     policy,
		Notices:    notices,
	}
	if f.dryRun != nil {
		cfg.DryRun = *f.dryRun
	}
	if f.labels != nil {
		cfg.Report.Labels = append([]string{}, *f.labels...)
	}
	if f.assignees != nil {
		cfg.Report.Assignees = append([]string{}, *f.assignees...)
	}
	if f.rules != nil {
		cfg.Rules = append([]Rule(nil), *f.rules...)
	}
	return cfg
}

// foreignNotice reports an overriding repository file that names, by a
// literal pattern, a package linked elsewhere: such rules are ignored for
// it, since a repository's file governs only that repository's packages.
func foreignNotice(ov *overrideFile, pkg Package) string {
	if ov.file.rules == nil || strings.EqualFold(ov.repo, OwnerRepo) {
		return ""
	}
	for i, r := range *ov.file.rules {
		if r.Type != TypeAny && !strings.EqualFold(r.Type, pkg.Type) {
			continue
		}
		for _, lit := range r.Packages.Literals() {
			if !strings.EqualFold(lit, pkg.Name) {
				continue
			}
			linked := "no repository"
			if repo := pkg.RepoName(); repo != "" {
				linked = pkg.Owner + "/" + repo
			}
			return fmt.Sprintf("%s rule %d names package %s, which is linked to %s, not %s/%s: ignored for it",
				ov.file.name, i+1, pkg.Name, linked, ov.owner, ov.repo)
		}
	}
	return ""
}
