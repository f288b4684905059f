package planner

import (
	"context"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Side is one package decided under one configuration of an Alternatives.
type Side struct {
	// Config is the configuration that governed; nil when it is invalid
	// (Err), the decision then untouched.
	Config *rules.Config
	// Err is the configuration's ErrorList when it is invalid.
	Err      error
	Decision rules.Decision
}

// Alternative is one package read once and decided under each loader of
// PlanAlternatives, in the loaders' order.
type Alternative struct {
	Package rules.Package
	// Deleted is the package's deleted versions when they were listed
	// (for a broken image's children, or because a side's rule has
	// restore.tags); nil otherwise.
	Deleted []githubapi.Version
	Sides   []Side
}

// PlanAlternatives decides the selected packages under the configuration
// of each loader, all at one moment, reading GitHub once: one listing of
// each package's versions, one read of its graph when any configuration
// could prune it, one listing of its deleted versions when a decision or
// any side's restore.tags needs it. It is what a preview of a change of
// the rules compares (old and new loader); the planner's own loader is not
// used. It stops at the first package that cannot be read, naming it.
func (p *Planner) PlanAlternatives(ctx context.Context, sel Selection, loaders ...*rules.Loader) ([]Alternative, error) {
	out := make([]Alternative, 0, len(sel.Packages))
	at := p.now()
	for i, pkg := range sel.Packages {
		rpkg := pkg.RefOf(sel.Owner)
		r, err := p.read(ctx, sel.Owner, pkg, at, i, len(sel.Packages), loaders, func(cfgs []*rules.Config) bool {
			for _, cfg := range cfgs {
				if RestoreRule(cfg, rpkg) != nil {
					return true
				}
			}
			return false
		})
		if err != nil {
			return nil, err
		}
		out = append(out, Alternative{Package: rpkg, Deleted: r.Deleted, Sides: r.Sides})
		p.progress(Progress{Stage: StageDecided, Package: packageName(sel.Owner, pkg), Done: i + 1, Total: len(sel.Packages)})
	}
	return out, nil
}

// RestoreRule is the restore block of the rule governing pkg under cfg
// when it has restore.tags, read as the restore job reads it (a
// repository's rules only for that repository's packages); nil otherwise.
func RestoreRule(cfg *rules.Config, pkg rules.Package) *rules.Restore {
	if cfg.Inert() || cfg.Repository != "" && !strings.EqualFold(cfg.Repository, pkg.RepoName()) {
		return nil
	}
	rule, _ := cfg.Match(pkg)
	if rule == nil || rule.Restore == nil || rule.Restore.Tags.Empty() {
		return nil
	}
	return rule.Restore
}
