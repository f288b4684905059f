package restore

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Healing broken images (restore.broken): an image still in use whose
// platform manifests or referrers another tool deleted no longer pulls,
// although GitHub keeps the deleted versions restorable for 30 days. A
// restore job (the sweep's, and the one every prune queues once it has
// reported) restores them as it restores a deleted index's tree.

// healing is what one run's healing has left to do.
type healing struct {
	// budget is how many more versions the run may restore
	// (policy.max_deletions_per_run, as deletions).
	budget int
	// deferred counts the versions left for the next run by the cap.
	deferred int
}

// heal restores the deleted children and referrers of the package's kept
// images, unless the run is paused, no rule governs the package, its rule
// says restore.broken: false, or nothing is deleted. Kept images are the
// active versions with a tag other than a referrer tag, and, following
// them, their active children (nested indexes) and active referrers (a
// referrers index, a signature). A version pkgwarden deleted, or one a
// person called intentional, is never restored (skipAuto).
func (r *Restorer) heal(ctx context.Context, log *slog.Logger, st *pkgState) error {
	if r.cfg.Paused || !st.governed || !st.restore.HealsBroken() || !pkgref.IsContainerType(st.pkg.Type) || len(st.deleted) == 0 {
		return nil
	}
	deleted := map[string]githubapi.Version{}
	for _, d := range st.deleted {
		deleted[d.Name] = d
	}
	// The roots: tagged, and not only by a referrer tag (a referrer whose
	// subject is gone is an orphan, not an image in use).
	var roots []string
	tagsOf := map[string][]string{}
	for _, v := range st.active {
		if !strings.HasPrefix(v.Name, "sha256:") || len(v.Tags) == 0 {
			continue
		}
		tagsOf[v.Name] = v.Tags
		if slices.ContainsFunc(v.Tags, func(t string) bool { _, _, ok := registry.ParseReferrerTag(t); return !ok }) {
			roots = append(roots, v.Name)
		}
	}
	if len(roots) == 0 {
		return nil
	}
	repo := planner.RegistryRepository(st.owner.Login, st.pkg.Name)
	// Read as the prune's plan reads them: from the manifest cache, so a
	// heal after a prune costs no registry request.
	manifests, failed, err := st.clients.Registry.Graph(ctx, repo, roots)
	if err != nil {
		return fmt.Errorf("heal: read manifests: %w", err)
	}
	for d, e := range failed {
		log.DebugContext(ctx, "heal: manifest unreadable; its children are not checked", "digest", d, "err", e)
	}
	// Walk the kept versions, each under the image (root) it belongs to,
	// and note the deleted parts each one names.
	type broken struct {
		image string
		parts []string // part labels, in order
		want  map[string]string
	}
	var images []*broken
	byImage := map[string]*broken{}
	imageOf := map[string]string{}
	var kept []string
	for _, root := range roots {
		if _, ok := imageOf[root]; ok {
			continue
		}
		imageOf[root] = root
		for queue := []string{root}; len(queue) > 0; queue = queue[1:] {
			x := queue[0]
			kept = append(kept, x)
			note := func(d, label string) {
				b := byImage[imageOf[x]]
				if b == nil {
					b = &broken{image: imageOf[x], want: map[string]string{}}
					byImage[b.image] = b
					images = append(images, b)
				}
				if _, ok := b.want[d]; !ok {
					b.want[d] = label
					b.parts = append(b.parts, d)
				}
			}
			_, _, isReferrer := referrerOf(tagsOf[x])
			for _, c := range manifests[x].Children {
				if _, ok := deleted[c.Digest]; ok {
					note(c.Digest, partLabel(c, isReferrer))
					continue
				}
				if _, seen := imageOf[c.Digest]; !seen && activeDigest(st, c.Digest) {
					imageOf[c.Digest] = imageOf[x]
					queue = append(queue, c.Digest)
				}
			}
			for _, d := range st.deleted {
				if subject, kind, ok := referrerOf(d.Tags); ok && subject == x {
					note(d.Name, string(kind)+" "+rules.ShortDigest(d.Name))
				}
			}
			for _, v := range st.active {
				a := v.Name
				if subject, _, ok := referrerOf(tagsOf[a]); ok && subject == x {
					if _, seen := imageOf[a]; !seen {
						imageOf[a] = imageOf[x]
						queue = append(queue, a)
						if _, read := manifests[a]; !read {
							more, _, err := st.clients.Registry.Graph(ctx, repo, []string{a})
							if err != nil {
								return fmt.Errorf("heal: read manifests: %w", err)
							}
							for k, m := range more {
								manifests[k] = m
							}
						}
					}
				}
			}
		}
	}
	if len(images) == 0 {
		return nil
	}
	limit := st.cfg.Policy.MaxDeletionsPerRun
	if limit <= 0 {
		limit = rules.DefaultMaxDeletionsPerRun
	}
	st.heal = &healing{budget: limit}
	defer func() { st.heal = nil }()
	// Each kept version's tree, as a deleted index's: restoreDescendants
	// restores what it names, and what those name in turn, each checked
	// by healSkips.
	for _, x := range kept {
		b := byImage[imageOf[x]]
		if b == nil {
			continue
		}
		var names bool
		for _, c := range manifests[x].Children {
			names = names || isDeleted(st, c.Digest)
		}
		for _, d := range st.deleted {
			if subject, _, ok := referrerOf(d.Tags); ok && subject == x {
				names = true
			}
		}
		if !names {
			continue
		}
		n := len(st.restored)
		back, err := r.restoreDescendants(ctx, log, st, githubapi.Version{Name: x})
		r.nameAlong(ctx, st, repo, b.want, &b.parts, back)
		r.healed(st, back, b.want, n)
		for _, v := range back {
			if err := r.retag(ctx, log, st, v); err != nil {
				return err
			}
		}
		if err != nil {
			return fmt.Errorf("heal %s: %w", rules.ShortDigest(x), err)
		}
	}
	for _, b := range images {
		h := report.Healed{Image: b.image, Tags: tagsOf[b.image]}
		for _, d := range b.parts {
			if isDeleted(st, d) {
				h.Left = append(h.Left, b.want[d])
			} else {
				h.Parts = append(h.Parts, b.want[d])
			}
		}
		if len(h.Parts) > 0 {
			st.healedImages = append(st.healedImages, h)
		}
	}
	if st.heal.deferred > 0 {
		log.InfoContext(ctx, "heal: cap reached, the rest waits for the next run", "deferred", st.heal.deferred, "cap", limit)
	}
	return nil
}

// healed moves what a heal restored from the deleted versions to the
// active ones (a shared child is restored once), and words the reasons of
// the run's entries from n on, each with its own "intentional" box: each
// deletion may have been meant.
func (r *Restorer) healed(st *pkgState, back []githubapi.Version, labels map[string]string, n int) {
	for i := n; i < len(st.restored); i++ {
		e := &st.restored[i]
		what := "part of an image in use"
		if part := labels[e.Version]; part != "" && part != rules.ShortDigest(e.Version) {
			what = part + " of an image in use"
		}
		e.Reason = what + ", deleted outside pkgwarden; restore.broken brings it back"
		e.Along = false
	}
	for _, v := range back {
		st.deleted = slices.DeleteFunc(st.deleted, func(d githubapi.Version) bool { return d.ID == v.ID })
		st.active = append(st.active, v)
	}
}

// nameAlong adds to an image's parts what came back with them (the
// children of a restored nested index), named by the platform their
// restored index gives them; the restored indexes' manifests were read by
// restoreDescendants, so they come from the manifest cache.
func (r *Restorer) nameAlong(ctx context.Context, st *pkgState, repo string, labels map[string]string, parts *[]string, back []githubapi.Version) {
	var idx []string
	for _, v := range back {
		if _, ok := labels[v.Name]; !ok {
			idx = append(idx, v.Name)
		}
	}
	if len(idx) == 0 {
		return
	}
	var names []string
	for _, v := range back {
		names = append(names, v.Name)
	}
	found, _, err := st.clients.Registry.Graph(ctx, repo, names)
	if err != nil {
		return // the digests name them
	}
	platform := map[string]registry.Descriptor{}
	for _, m := range found {
		for _, c := range m.Children {
			platform[c.Digest] = c
		}
	}
	for _, d := range idx {
		labels[d] = rules.ShortDigest(d)
		if c, ok := platform[d]; ok {
			labels[d] = partLabel(c, false)
		}
		*parts = append(*parts, d)
	}
}

// healSkips says whether a heal leaves d deleted: pkgwarden deleted it,
// a person called its deletion intentional, or the run's cap is reached.
func (r *Restorer) healSkips(ctx context.Context, log *slog.Logger, st *pkgState, d githubapi.Version) (bool, error) {
	why, err := r.skipAuto(ctx, st, d.ID)
	if err != nil {
		return true, err
	}
	if why != "" {
		log.DebugContext(ctx, "heal: deleted part left deleted", "version_id", d.ID, "why", why)
		return true, nil
	}
	if st.heal.budget <= 0 {
		st.heal.deferred++
		return true, nil
	}
	st.heal.budget--
	return false, nil
}

// partLabel names a child for people: its platform (when it is plain:
// manifests are written by anyone), else what it is and its short digest.
func partLabel(c registry.Descriptor, ofReferrer bool) string {
	short := rules.ShortDigest(c.Digest)
	if c.Platform != "" && c.Platform != "unknown/unknown" && plainPlatform(c.Platform) {
		return c.Platform
	}
	if ofReferrer {
		return "referrer " + short
	}
	return short
}

// plainPlatform reports whether p looks like os/arch[/variant].
func plainPlatform(p string) bool {
	if len(p) > 60 {
		return false
	}
	for _, c := range p {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// referrerOf returns the subject and kind of the first referrer tag of tags.
func referrerOf(tags []string) (string, registry.ReferrerKind, bool) {
	for _, t := range tags {
		if subject, kind, ok := registry.ParseReferrerTag(t); ok {
			return subject, kind, true
		}
	}
	return "", "", false
}

func activeDigest(st *pkgState, d string) bool {
	return slices.ContainsFunc(st.active, func(v githubapi.Version) bool { return v.Name == d })
}

func isDeleted(st *pkgState, d string) bool {
	return slices.ContainsFunc(st.deleted, func(v githubapi.Version) bool { return v.Name == d })
}
