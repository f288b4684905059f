package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Restoring a version with its tree: an index's platform manifests and
// referrers, and its tags given back.

// restoreTree restores v and everything restored with it needs, then
// gives each restored version its tags back: a signature's tag is how it
// is found.
func (r *Restorer) restoreTree(ctx context.Context, log *slog.Logger, st *pkgState, v githubapi.Version, reason string) error {
	ok, err := r.restoreOne(ctx, st, v, reason, false)
	if err != nil || !ok {
		return err
	}
	back := []githubapi.Version{v}
	if pkgref.IsContainerType(st.pkg.Type) && strings.HasPrefix(v.Name, "sha256:") {
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
		if st.heal != nil {
			if skip, err := r.healSkips(ctx, log, st, d); skip || err != nil {
				return err
			}
		}
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
		// A token GitHub does not take is the owner's problem, not a
		// refusal of this version: the run stops (Handle tells the owner).
		if errors.Is(err, githubapi.ErrRefused) && !errors.Is(err, githubapi.ErrTokenProblem) {
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
	if !pkgref.IsContainerType(st.pkg.Type) || len(v.Tags) == 0 {
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
