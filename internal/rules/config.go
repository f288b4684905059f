package rules

import (
	"fmt"
	"strings"
	"time"
)

// Package types a rule can name.
const (
	TypeNPM       = "npm"
	TypeMaven     = "maven"
	TypeRubyGems  = "rubygems"
	TypeNuGet     = "nuget"
	TypeDocker    = "docker"
	TypeContainer = "container"
	TypeAny       = "any"
)

// Repository rules policy values.
const (
	RepositoryRulesAllow  = "allow"
	RepositoryRulesDryRun = "dry_run"
	RepositoryRulesDeny   = "deny"
)

// Defaults of the owner's policy when its file does not say.
const (
	DefaultMaxDeletionsPerRun = 500
	DefaultMinUntaggedAge     = time.Hour
	// DefaultReviewDeletionsOver is how many new deletions a change of
	// the rules may add before its preview asks for a closer review.
	DefaultReviewDeletionsOver = 100
)

// Path is where pkgwarden reads its file, in a repository and in the
// owner's ".github" repository alike.
const Path = ".github/pkgwarden.yml"

// OwnerRepo is the repository holding the owner's defaults and policy.
const OwnerRepo = ".github"

// isVersionedType reports whether packages of type t have semver-ish
// version names for keep_latest and prerelease_only.
func isVersionedType(t string) bool {
	switch t {
	case TypeNPM, TypeMaven, TypeRubyGems, TypeNuGet:
		return true
	}
	return false
}

// Config is the resolved configuration governing one package: the rules of
// the file that applies, bounded by the owner's policy.
type Config struct {
	// Origin names the file the rules come from, "owner/repo:path" (or the
	// name given to an override); empty when no file governs (inert).
	Origin string
	// Repository is the repository (name without owner) whose own file
	// provided the rules; empty when the rules are the owner's defaults.
	// Such rules govern only packages linked to that repository.
	Repository string
	// DryRun is true when the file asks for it or the policy forces it.
	DryRun bool
	Report Report
	Rules  []Rule
	// Policy is the owner's policy (defaults when it has none).
	Policy Policy
	// Notices are things the owner should be told that do not stop the
	// rules from applying (an ignored file, a forced dry run, ...).
	Notices []string
}

// Inert reports whether no file governs: nothing is ever deleted.
func (c *Config) Inert() bool { return c == nil || c.Origin == "" }

// Match returns the first rule governing pkg (first match wins) and its
// index, or nil and -1.
func (c *Config) Match(pkg Package) (*Rule, int) {
	if c == nil {
		return nil, -1
	}
	for i := range c.Rules {
		if c.Rules[i].Matches(pkg) {
			return &c.Rules[i], i
		}
	}
	return nil, -1
}

// Report says how the report issue is labelled and assigned, and whether
// the owner keeps a dashboard.
type Report struct {
	Labels    []string
	Assignees []string
	// Dashboard is the owner's report.dashboard: one issue in the owner's
	// .github repository with a line per package. It is read from the
	// owner's own file whatever file governs the package (like policy, it
	// is not taken from _extends).
	Dashboard bool
	// DashboardOnly is the owner's report.per_package: false (which needs
	// Dashboard): no report issue per package, only the dashboard.
	DashboardOnly bool
}

// Rule is one entry of "rules".
type Rule struct {
	// Packages selects package names (case-insensitive); every name when
	// the file does not say.
	Packages Patterns
	// Type is one of the Type constants; TypeAny when the file does not say.
	Type string
	// Prune is nil when the rule prunes nothing.
	Prune *Prune
	// Restore is nil when the rule restores nothing.
	Restore *Restore
	// Line is where the rule starts in its file, for messages.
	Line int
}

// Matches reports whether the rule selects pkg.
func (r *Rule) Matches(pkg Package) bool {
	if r.Type != TypeAny && r.Type != "" && !strings.EqualFold(r.Type, pkg.Type) {
		return false
	}
	if r.Packages.Empty() {
		return true
	}
	return r.Packages.Match(pkg.Name)
}

// Prune is the "prune" block of a rule. Zero values mean "not set": no
// untagged pruning, no age requirement, nothing kept by count.
type Prune struct {
	Untagged       bool
	OlderThan      time.Duration
	KeepUntagged   int
	DeleteTags     Patterns
	KeepTagged     int
	ExcludeTags    Patterns
	KeepLatest     int
	PrereleaseOnly bool
	// GhostImages and PartialImages make broken indexes delete
	// candidates: one none of whose platforms remain, one missing some
	// (broken.go). Off by default: a broken image is reported, not
	// deleted.
	GhostImages   bool
	PartialImages bool

	// restore is the rule's restore block while deciding: versions it
	// would restore are never pruned.
	restore *Restore
}

// Restore is the "restore" block of a rule.
type Restore struct {
	// Tags selects deleted versions to restore by any of their tags.
	Tags Patterns
	// Package asks for a deleted package to be restored.
	Package bool
	// LeaveBroken is restore.broken: false: the deleted children of kept
	// indexes are not restored (see HealsBroken).
	LeaveBroken bool
}

// HealsBroken reports whether restore.broken is on (the default, also
// for a rule without a restore block): a kept index's deleted but
// restorable children and referrers are restored.
func (r *Restore) HealsBroken() bool { return r == nil || !r.LeaveBroken }

// Wants reports whether a deleted version carrying tags must be restored.
func (r *Restore) Wants(tags []string) bool {
	if r == nil || r.Tags.Empty() {
		return false
	}
	for _, t := range tags {
		if r.Tags.Match(t) {
			return true
		}
	}
	return false
}

// Policy is the owner's "policy" block, with defaults filled in.
type Policy struct {
	// MaxDeletionsPerRun caps deletions per package per run.
	MaxDeletionsPerRun int
	// MinUntaggedAge is the age under which no version is ever deleted.
	MinUntaggedAge time.Duration
	// RepositoryRules is allow, dry_run or deny.
	RepositoryRules string
	// ReviewDeletionsOver is how many deletions a change of the rules
	// may add before its preview (plan --against, the pull request
	// check) says it deserves a closer review. It bounds nothing.
	ReviewDeletionsOver int
}

// DefaultPolicy is the policy of an owner whose file has no policy block.
func DefaultPolicy() Policy {
	return Policy{
		MaxDeletionsPerRun:  DefaultMaxDeletionsPerRun,
		MinUntaggedAge:      DefaultMinUntaggedAge,
		RepositoryRules:     RepositoryRulesAllow,
		ReviewDeletionsOver: DefaultReviewDeletionsOver,
	}
}

// FormatDuration prints d in the units the files use: days, hours or
// minutes, the largest that divides it (weeks print as days: 14d).
func FormatDuration(d time.Duration) string {
	units := []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}}
	if d <= 0 {
		return "0m"
	}
	for _, u := range units {
		if d%u.size == 0 {
			return fmt.Sprintf("%d%s", d/u.size, u.suffix)
		}
	}
	return d.String()
}
