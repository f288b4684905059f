package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// Broken images: an active index whose children (platform manifests,
// nested indexes, the referrers of a referrers index) are no longer all
// active, and a referrer whose subject is no longer active. Another tool,
// a script or a person deleted them; pkgwarden never deletes a child
// without its index.

// ChildState is what became of a manifest an image needs.
type ChildState string

// States of a missing manifest.
const (
	// ChildDeleted: listed among the package's deleted versions, so GitHub
	// can still restore it (for 30 days).
	ChildDeleted ChildState = "deleted"
	// ChildGone: not listed at all, active or deleted: it cannot be
	// restored.
	ChildGone ChildState = "gone"
)

// BrokenKind says how an image is broken.
type BrokenKind string

// Kinds of broken images.
const (
	// BrokenGhost: an index none of whose platforms (or, for an index
	// without platforms such as a referrers index, none of whose
	// children) remain.
	BrokenGhost BrokenKind = "ghost"
	// BrokenPartial: an index missing some of them.
	BrokenPartial BrokenKind = "partial"
	// BrokenOrphan: a referrer (signature, attestation, ...) whose
	// subject is missing.
	BrokenOrphan BrokenKind = "orphan"
)

// Missing is one manifest a broken image needs and the package no longer
// has active.
type Missing struct {
	Digest string `json:"digest"`
	// Platform is the index entry's platform ("linux/arm64"), empty when
	// it names none.
	Platform string `json:"platform,omitempty"`
	// What names it for people: "linux/arm64", "attestation manifest",
	// "signature", "subject".
	What  string     `json:"what"`
	State ChildState `json:"state"`
	// DeletedID is the deleted version's ID (State ChildDeleted), and
	// DeletedAt when GitHub says it was deleted (zero when it does not).
	DeletedID int64     `json:"deleted_id,omitempty"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// Via is the digest of the nested index that names it, empty when the
	// image itself does.
	Via string `json:"via,omitempty"`
}

// BrokenImage is an active version that no longer pulls whole. It is
// reported once per image: a nested index's missing children are
// reported under the outermost active index that holds it.
type BrokenImage struct {
	// Name names the image for people: its first tag, what it is to the
	// image it belongs to ("referrers index of v1"), or its short digest.
	Name    string     `json:"name"`
	ID      int64      `json:"id"`
	Version string     `json:"version"`
	Tags    []string   `json:"tags"`
	Kind    BrokenKind `json:"kind"`
	Missing []Missing  `json:"missing"`
	// Heals is true when healing restores the deleted manifests it
	// misses (the rule's restore.broken, on by default): only the gone
	// ones are then beyond repair.
	Heals bool `json:"heals"`
}

// brokenName names a broken version: its first tag, else what it is to
// the version it refers to, else its short digest.
func brokenName(nodes []*node, n *node) string {
	if len(n.tags) > 0 {
		return n.tags[0]
	}
	for _, h := range n.holders {
		if !h.index {
			return h.what + " of " + nodes[h.from].label()
		}
	}
	return ShortDigest(n.v.Name)
}

// Unhealable returns the missing manifests healing cannot bring back: the
// gone ones, and the deleted ones too unless b.Heals.
func (b BrokenImage) Unhealable() []Missing {
	var out []Missing
	for _, m := range b.Missing {
		if m.State == ChildGone || !b.Heals {
			out = append(out, m)
		}
	}
	return out
}

// healsDeleted reports whether healing restores the deleted children of
// kept images under r (BrokenImage.Heals): restore.broken, on by default.
// Only what healing cannot bring back makes an index a ghost or partial
// image for prune.ghost_images and prune.partial_images, and goes into
// the report.
func healsDeleted(r *Restore) bool { return r.HealsBroken() }

// DeletedVersion is one of a package's deleted versions (Input.Deleted).
type DeletedVersion struct {
	ID   int64
	Name string // the digest
	// DeletedAt is when it was deleted, zero when GitHub does not say.
	DeletedAt time.Time
}

// deletedVersions indexes the package's deleted versions by digest, the
// newest deletion first when a digest was deleted more than once.
func deletedVersions(vs []DeletedVersion) map[string]DeletedVersion {
	out := make(map[string]DeletedVersion, len(vs))
	for _, v := range vs {
		if old, ok := out[v.Name]; !ok || v.DeletedAt.After(old.DeletedAt) || (v.DeletedAt.Equal(old.DeletedAt) && v.ID > old.ID) {
			out[v.Name] = v
		}
	}
	return out
}

// childWhat names an index entry for people.
func childWhat(parentTags []string, c registry.Descriptor) string {
	switch {
	case c.MediaType == registry.MediaTypeOCIIndex || c.MediaType == registry.MediaTypeDockerManifestList:
		return "nested index"
	case c.Platform == "unknown/unknown":
		return "attestation manifest"
	case c.Platform != "":
		return c.Platform
	}
	for _, t := range parentTags {
		if _, what, ok := referrerTag(t); ok && what == "referrers index" {
			return artifactKind(c.ArtifactType)
		}
	}
	if c.ArtifactType != "" {
		return artifactKind(c.ArtifactType)
	}
	return "child"
}

// missingOf walks the index of node i and returns what it names that is
// not active, through nested indexes (active ones, and deleted ones whose
// manifest is known), and whether every platform of it is lost (no child
// left that is active or that healing restores).
func missingOf(i int, nodes []*node, byDigest map[string]int, deleted map[string]DeletedVersion, g Graph, heal bool) (missing []Missing, ghost bool) {
	visiting := map[string]bool{}
	var walk func(digest, via string, tags []string) (lost, total int)
	walk = func(digest, via string, tags []string) (lost, total int) {
		if visiting[digest] {
			return 0, 0
		}
		visiting[digest] = true
		defer delete(visiting, digest)
		m := g.Manifests[digest]
		platforms := 0
		for _, c := range m.Children {
			if c.Platform != "" && c.Platform != "unknown/unknown" {
				platforms++
			}
		}
		for _, c := range m.Children {
			counts := platforms == 0 || (c.Platform != "" && c.Platform != "unknown/unknown")
			cm, known := g.Manifests[c.Digest]
			nested := known && cm.IsIndex()
			if ci, ok := byDigest[c.Digest]; ok {
				if nested {
					l, t := walk(c.Digest, c.Digest, nodes[ci].v.Tags)
					if counts {
						total++
						if t > 0 && l == t {
							lost++
						}
					}
					continue
				}
				if counts {
					total++
				}
				continue
			}
			mi := Missing{Digest: c.Digest, Platform: c.Platform, What: childWhat(tags, c), State: ChildGone, Via: via}
			if dv, ok := deleted[c.Digest]; ok {
				mi.State, mi.DeletedID, mi.DeletedAt = ChildDeleted, dv.ID, dv.DeletedAt
			}
			missing = append(missing, mi)
			if mi.State == ChildDeleted && nested {
				// A deleted nested index comes back with its children
				// only if they can come back too.
				l, t := walk(c.Digest, c.Digest, nil)
				if counts {
					total++
					if !heal || (t > 0 && l == t) {
						lost++
					}
				}
				continue
			}
			if counts {
				total++
				if mi.State == ChildGone || !heal {
					lost++
				}
			}
		}
		return lost, total
	}
	lost, total := walk(nodes[i].v.Name, "", nodes[i].v.Tags)
	return missing, total > 0 && lost == total
}

// findBroken finds the broken indexes among the listed versions: every
// active index missing something, reported under the outermost active
// index holding it (node.broken). An index is a ghost when none of its
// platforms is active; whether what it misses is lost for good (healing
// cannot bring it back) is kept apart for prune.ghost_images and
// prune.partial_images (node.lostAll, node.lostSome).
func findBroken(nodes []*node, byDigest map[string]int, deleted map[string]DeletedVersion, g Graph, heal bool) {
	for i, n := range nodes {
		if !g.Manifests[n.v.Name].IsIndex() {
			continue
		}
		heldByIndex := false
		for _, h := range n.holders {
			if h.index {
				heldByIndex = true
				break
			}
		}
		if heldByIndex || whole(g.Manifests[n.v.Name], byDigest) {
			continue // reported under its holder, or nothing missing
		}
		missing, lostAll := missingOf(i, nodes, byDigest, deleted, g, heal)
		if len(missing) == 0 {
			continue
		}
		_, ghost := missingOf(i, nodes, byDigest, deleted, g, false)
		kind := BrokenPartial
		if ghost {
			kind = BrokenGhost
		}
		n.broken = &BrokenImage{Name: brokenName(nodes, n), ID: n.v.ID, Version: n.v.Name, Tags: append([]string(nil), n.v.Tags...), Kind: kind, Missing: missing, Heals: heal}
		n.lostAll = lostAll
		for _, mi := range missing {
			if mi.State == ChildGone || !heal {
				n.lostSome = true
			}
		}
	}
}

// whole reports, cheaply, that an index names only active manifests and
// no nested index: the common case, which needs no walk.
func whole(m registry.Manifest, byDigest map[string]int) bool {
	for _, c := range m.Children {
		if _, ok := byDigest[c.Digest]; !ok || c.MediaType == registry.MediaTypeOCIIndex || c.MediaType == registry.MediaTypeDockerManifestList {
			return false
		}
	}
	return true
}

// orphanBroken records a referrer whose subject is missing.
func orphanBroken(n *node, subject, what string, deleted map[string]DeletedVersion) {
	mi := Missing{Digest: subject, What: "subject", State: ChildGone}
	if dv, ok := deleted[subject]; ok {
		mi.State, mi.DeletedID, mi.DeletedAt = ChildDeleted, dv.ID, dv.DeletedAt
	}
	n.broken = &BrokenImage{Name: what + " of " + ShortDigest(subject), ID: n.v.ID, Version: n.v.Name, Tags: append([]string(nil), n.v.Tags...), Kind: BrokenOrphan, Missing: []Missing{mi}}
}

// brokenCandidate makes a broken index a delete candidate when the rule
// asks for it (prune.ghost_images, prune.partial_images) and what it
// misses cannot be healed: a ghost (nothing left) under ghost_images, a
// partial image (something left) under partial_images. It returns the kind
// and reason, or "".
func brokenCandidate(p *Prune, n *node) (Kind, string) {
	b := n.broken
	if b == nil || b.Kind == BrokenOrphan {
		return "", ""
	}
	lost := describeMissing(b.Unhealable())
	switch {
	case n.lostAll && p.GhostImages:
		return KindGhostImage, "ghost image: " + lost + ", and prune.ghost_images is on"
	case n.lostSome && !n.lostAll && p.PartialImages:
		return KindPartialImage, "partial image: " + lost + ", and prune.partial_images is on"
	}
	return "", ""
}

// describeMissing says, on one line, what an image misses
// ("linux/arm64 gone, linux/amd64 deleted").
func describeMissing(ms []Missing) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s", m.What, m.State))
	}
	sort.Strings(parts)
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("%d more", len(parts)-5))
	}
	return strings.Join(parts, ", ")
}

// judgeBroken makes the kept broken indexes that the rule asks to delete
// candidates, judged by age like any other; a tag the rules keep
// (exclude_tags, restore.tags) still keeps them, and so does youth (the
// verdict they had stays).
func judgeBroken(p *Prune, nodes []*node, now time.Time, floor time.Duration) {
	for _, n := range nodes {
		if n.broken == nil || n.del || len(n.holders) > 0 {
			continue
		}
		kind, why := brokenCandidate(p, n)
		if kind == "" {
			continue
		}
		if len(n.tags) > 0 {
			if k, keep, _ := tagStatus(p, n); keep != "" && (k == KindExcluded || k == KindRestoreTags) {
				continue
			}
		}
		was := *n
		judgeAge(n, p, now, floor, kind, why)
		if !n.del {
			n.reason, n.kind = was.reason, was.kind
		}
	}
}

// keptBroken lists the broken images the decision keeps, by label.
func keptBroken(nodes []*node, keep []Entry) []BrokenImage {
	if !slices.ContainsFunc(nodes, func(n *node) bool { return n.broken != nil }) {
		return nil
	}
	kept := make(map[int64]bool, len(keep))
	for _, e := range keep {
		kept[e.ID] = true
	}
	var out []BrokenImage
	for _, n := range nodes {
		if n.broken != nil && kept[n.v.ID] {
			out = append(out, *n.broken)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].Name, out[j].Name; a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// MissesManifests reports whether the graph of the listed versions names a
// manifest that is not listed active: an index's child (through active
// nested indexes) or a referrer's subject. Only then does telling
// restorable from gone need the package's deleted versions
// (Input.Deleted), so a package whose images are whole costs no listing
// more.
func MissesManifests(versions []Version, g Graph) bool {
	listed := make(map[string]bool, len(versions))
	for _, v := range versions {
		listed[v.Name] = true
	}
	for _, v := range versions {
		m := g.Manifests[v.Name]
		for _, c := range m.Children {
			if !listed[c.Digest] {
				return true
			}
		}
		if m.Subject != "" && !listed[m.Subject] {
			return true
		}
		for _, t := range v.Tags {
			if subj, _, ok := referrerTag(t); ok && !listed[subj] {
				return true
			}
		}
	}
	return false
}
