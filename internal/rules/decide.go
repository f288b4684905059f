package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// Package is the package a decision is about. Its Repository is the
// linked repository's full name ("owner/name"); the rules read its name
// (RepoName).
type Package = pkgref.Ref

// Version is one active version of a package as GitHub lists it.
type Version struct {
	ID int64
	// Name is the digest ("sha256:<hex>") for container and docker
	// packages, the version string otherwise.
	Name string
	// Tags are the container tags (metadata.container.tags); empty for
	// other package types.
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Graph is what the registry said about a container package's manifests.
// It must hold every listed version's digest, in Manifests or in
// Unreadable; a listed digest in neither counts as unreadable. Digests
// referenced by an index but not listed need not be there: they are gone.
type Graph struct {
	Manifests  map[string]registry.Manifest
	Unreadable map[string]error
}

// Entry is the verdict on one version.
type Entry struct {
	ID int64 `json:"id"`
	// Version is the digest for containers, the version string otherwise.
	Version string   `json:"version"`
	Tags    []string `json:"tags"`
	// Reason says why, for people; code reads Kind, Holder and Relation.
	Reason string `json:"reason"`
	// Kind is the verdict's kind.
	Kind Kind `json:"kind"`
	// Holder names, for KindChild, KindReferrer and KindGoesWith, the
	// version this one is kept or deleted with (its tags, or its short
	// digest), and Relation what this one is to it ("child linux/amd64",
	// "signature").
	Holder   string `json:"holder,omitempty"`
	Relation string `json:"relation,omitempty"`
	// With lists the versions this one lives and dies with (the indexes
	// holding it, the subject it refers to), by ID; empty for versions
	// judged on their own.
	With []int64 `json:"-"`
}

// Kind is what a verdict rests on. Reasons are display text; code that
// needs to tell verdicts apart reads their kind.
type Kind string

// Kinds of verdicts.
const (
	// Kept: the package is not governed (no file, no matching rule, no
	// prune block, rules of another repository) or left untouched
	// (unreadable manifests).
	KindNotGoverned Kind = "not_governed"
	KindUntouched   Kind = "untouched"
	// Kept: a tag the rules keep (exclude_tags, restore.tags, no
	// delete_tags, a tag delete_tags does not match).
	KindExcluded    Kind = "excluded"
	KindRestoreTags Kind = "restore_tags"
	KindTagged      Kind = "tagged"
	// Kept: among the newest the rule keeps, or not selected at all
	// (prune.untagged off, not a pre-release, neither keep_latest nor
	// older_than).
	KindNewest      Kind = "newest"
	KindNotSelected Kind = "not_selected"
	// Kept: younger than older_than or min_untagged_age, or of unknown age.
	KindYoung      Kind = "young"
	KindUnknownAge Kind = "unknown_age"
	// Kept: held for a reason the listing does not show (GitHub refused).
	KindHeld Kind = "held"
	// Kept because of another version that stays: a child of an index, a
	// referrer of a subject (Entry.Holder, Entry.Relation).
	KindChild    Kind = "child"
	KindReferrer Kind = "referrer"
	// Kept: manifests that reference each other, or no safe order.
	KindCycle Kind = "cycle"
	// Kept: the run's cap (max_deletions_per_run): deferred to the next
	// run, or a group larger than the cap.
	KindDeferred      Kind = "deferred"
	KindGroupTooLarge Kind = "group_too_large"
	// Deleted: untagged, matching delete_tags, an old version (npm, maven,
	// ...), or going with the version it belongs to (Entry.Holder).
	KindUntagged   Kind = "untagged"
	KindDeleteTags Kind = "delete_tags"
	KindOld        Kind = "old"
	KindGoesWith   Kind = "goes_with"
	// Deleted: a referrer whose subject is gone.
	KindOrphan Kind = "orphan"
	// Deleted: a broken index the rule asks to delete (broken.go):
	// prune.ghost_images, prune.partial_images.
	KindGhostImage   Kind = "ghost_image"
	KindPartialImage Kind = "partial_image"
)

// Decision says, for every listed version of a package, whether it is kept
// or deleted and why. It is a value: nothing has been done.
type Decision struct {
	Package Package
	// Origin names the file the rules came from (empty when inert).
	Origin string
	// Rule is the index of the rule that matched, -1 when none did.
	Rule int
	// RuleLine is the line of Origin's file the rule starts on, 0 when
	// not known (rules inherited through _extends, built by hand).
	RuleLine int
	// DryRun is true when deletions must only be reported.
	DryRun bool
	// Untouched, when not empty, says why nothing of the package may be
	// deleted; Delete is then empty and every version is in Keep.
	Untouched string
	// Delete lists the versions to delete, in the order to delete them:
	// indexes before their children, subjects before their referrers,
	// older groups first.
	Delete []Entry
	// Keep lists the other versions, newest first.
	Keep []Entry
	// Notices are remarks for the report (ignored files, forced dry run).
	Notices []string
	// Storage is what Delete frees, set by whoever holds the graph
	// (StorageOf); zero, unknown, when nobody measured it.
	Storage Storage
	// Broken lists the kept container versions that no longer pull whole
	// (broken.go): indexes missing children, referrers missing their
	// subject, ordered by label. Versions the decision deletes are not in
	// it: their reason says why.
	Broken []BrokenImage
}

// MarshalJSON renders the decision in the shape of `pkgwarden plan --json`:
// {"owner","type","name","delete","keep","untouched"} with untouched null
// when the package may be pruned.
func (d Decision) MarshalJSON() ([]byte, error) {
	type out struct {
		Owner     string        `json:"owner"`
		Type      string        `json:"type"`
		Name      string        `json:"name"`
		Delete    []Entry       `json:"delete"`
		Keep      []Entry       `json:"keep"`
		Untouched *string       `json:"untouched"`
		Notices   []string      `json:"notices,omitempty"`
		Storage   *Storage      `json:"storage,omitempty"`
		Broken    []BrokenImage `json:"broken,omitempty"`
	}
	o := out{Owner: d.Package.Owner, Type: d.Package.Type, Name: d.Package.Name,
		Delete: d.Delete, Keep: d.Keep, Notices: d.Notices, Broken: d.Broken}
	if d.Storage != (Storage{}) {
		s := d.Storage
		o.Storage = &s
	}
	if o.Delete == nil {
		o.Delete = []Entry{}
	}
	if o.Keep == nil {
		o.Keep = []Entry{}
	}
	if d.Untouched != "" {
		u := d.Untouched
		o.Untouched = &u
	}
	return json.Marshal(o)
}

// node is the working state of one version during a decision.
type node struct {
	v       Version
	tags    []string // ordinary tags, sorted (referrer tags left out)
	holders []edge   // who this version lives and dies with
	held    []edge   // who lives and dies with this version
	// referrer describes a version that refers to a subject which is not
	// listed (its subject is gone); empty otherwise.
	orphanOf string

	judged bool   // a verdict was reached
	del    bool   // the verdict is delete
	reason string // why
	kind   Kind
	// holder is the node this one's verdict rests on (-1: none), and
	// relation what this one is to it.
	holder   int
	relation string
	selfKeep string // for held versions: a reason of its own to stay
	selfKind Kind

	// broken is set on a broken image (broken.go); lostAll and lostSome
	// say whether healing cannot bring back all, or some, of what it
	// misses.
	broken            *BrokenImage
	lostAll, lostSome bool
}

// edge links a holder (an index, a subject) to a version held by it.
type edge struct {
	from, to int
	// what names the relation from the held side: "child linux/arm64",
	// "signature", ...
	what string
	// index is true for index → child, false for subject → referrer.
	index bool
}

var referrerTagRE = regexp.MustCompile(`^sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?$`)

// referrerTag reports whether tag is a referrer tag: the OCI tag-schema
// fallback "sha256-<hex>" or a cosign "sha256-<hex>.sig|.att|.sbom". It
// returns the subject digest and what the referrer is.
func referrerTag(tag string) (subject, what string, ok bool) {
	if !strings.HasPrefix(tag, "sha256-") {
		return "", "", false
	}
	m := referrerTagRE.FindStringSubmatch(tag)
	if m == nil {
		return "", "", false
	}
	what = map[string]string{"": "referrers index", "sig": "signature", "att": "attestation", "sbom": "SBOM"}[m[2]]
	return "sha256:" + m[1], what, true
}

// artifactKind names an OCI 1.1 referrer by its artifact type.
func artifactKind(t string) string {
	switch {
	case strings.Contains(t, "cosign.artifact.sig"), strings.Contains(t, "simplesigning"), strings.Contains(t, "notary.signature"):
		return "signature"
	case strings.Contains(t, "in-toto"), strings.Contains(t, "attestation"):
		return "attestation"
	case strings.Contains(t, "spdx"), strings.Contains(t, "cyclonedx"), strings.Contains(t, "sbom"):
		return "SBOM"
	}
	return "referrer"
}

// ShortDigest abbreviates "sha256:<hex>" to 12 hex digits.
func ShortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}

// Input is what a decision is taken over.
type Input struct {
	// Config is the governing configuration; nil (or inert) keeps
	// everything.
	Config *Config
	// Package is the package the versions belong to.
	Package Package
	// Versions are the package's active versions.
	Versions []Version
	// Graph is the package's manifest graph (ignored for packages that
	// are not containers).
	Graph Graph
	// Deleted are the package's deleted versions (GitHub's listing with
	// state=deleted), which tell a missing child that can be restored from
	// one that is gone. The planner lists them only when an index misses
	// a child; without them every missing child counts as gone.
	Deleted []DeletedVersion
	// Now is the moment the rules are evaluated at.
	Now time.Time
	// Held maps a version ID to why it must stay for now although the
	// rules would delete it, for a reason the listing does not show
	// (GitHub refused to delete it). A held version is kept with that
	// reason, does not count toward max_deletions_per_run, and keeps what
	// lives and dies with it; the candidates behind it move up in its
	// place. Holds on versions the rules keep, or that are not listed,
	// change nothing.
	Held map[int64]string
}

// Decide judges every listed version of in.Package under in.Config as of
// in.Now. Decide is pure and deterministic.
func Decide(in Input) Decision {
	cfg, pkg, versions, g, now, held := in.Config, in.Package, in.Versions, in.Graph, in.Now, in.Held
	d := Decision{Package: pkg, Rule: -1}
	vs := uniqueVersions(versions)
	keepAll := func(kind Kind, reason string) Decision {
		for _, v := range vs {
			d.Keep = append(d.Keep, entry(v, kind, reason, nil))
		}
		sortKeep(d.Keep, vs)
		return d
	}
	// Notices come first: an inert configuration can still carry one (a
	// file that tried to govern this package from another repository).
	if cfg != nil {
		d.Notices = append(d.Notices, cfg.Notices...)
	}
	if cfg.Inert() {
		return keepAll(KindNotGoverned, "no pkgwarden.yml governs this package")
	}
	d.Origin, d.DryRun = cfg.Origin, cfg.DryRun
	if repo := pkg.RepoName(); cfg.Repository != "" && !strings.EqualFold(cfg.Repository, repo) {
		linked := "no repository"
		if repo != "" {
			linked = pkg.Owner + "/" + repo
		}
		d.Untouched = fmt.Sprintf("rules of %s ignored: they govern only packages linked to %s, this one is linked to %s", cfg.Origin, pkg.Owner+"/"+cfg.Repository, linked)
		d.Notices = append(d.Notices, d.Untouched)
		return keepAll(KindNotGoverned, "untouched")
	}
	rule, idx := cfg.Match(pkg)
	d.Rule = idx
	if rule != nil {
		d.RuleLine = rule.Line
	}
	if rule == nil {
		return keepAll(KindNotGoverned, "no rule matches this package")
	}
	if rule.Prune == nil {
		return keepAll(KindNotGoverned, fmt.Sprintf("rule %d has no prune", idx+1))
	}
	policy := cfg.Policy
	if policy.MinUntaggedAge <= 0 {
		// The floor is never off: a Config built by hand without a policy
		// gets the default.
		policy.MinUntaggedAge = DefaultMinUntaggedAge
	}
	if policy.MaxDeletionsPerRun <= 0 {
		policy.MaxDeletionsPerRun = DefaultMaxDeletionsPerRun
	}
	var nodes []*node
	if pkgref.IsContainerType(pkg.Type) {
		if why := unreadable(vs, g); why != "" {
			d.Untouched = why
			return keepAll(KindUntouched, "untouched")
		}
		p := *rule.Prune
		p.restore = rule.Restore
		nodes = judgeContainer(&p, policy, vs, g, now, held, deletedVersions(in.Deleted))
	} else {
		nodes = judgeVersioned(rule.Prune, policy, vs, now)
		hold(nodes, held)
	}
	d.Delete, d.Keep = order(nodes, policy.MaxDeletionsPerRun)
	d.Broken = keptBroken(nodes, d.Keep)
	return d
}

func uniqueVersions(in []Version) []Version {
	out := make([]Version, 0, len(in))
	seen := map[int64]bool{}
	for _, v := range in {
		if seen[v.ID] {
			continue
		}
		seen[v.ID] = true
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func entry(v Version, kind Kind, reason string, with []int64) Entry {
	tags := append([]string{}, v.Tags...)
	sort.Strings(tags)
	return Entry{ID: v.ID, Version: v.Name, Tags: tags, Reason: reason, Kind: kind, With: with}
}

// entryOf is the entry of a judged node.
func entryOf(nodes []*node, n *node) Entry {
	e := entry(n.v, n.kind, n.reason, holderIDs(nodes, n))
	if n.holder >= 0 {
		e.Holder, e.Relation = nodes[n.holder].label(), n.relation
	}
	return e
}

// newer orders versions newest first, by creation then by ID.
func newer(a, b Version) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

func sortKeep(keep []Entry, vs []Version) {
	byID := make(map[int64]Version, len(vs))
	for _, v := range vs {
		byID[v.ID] = v
	}
	sort.SliceStable(keep, func(i, j int) bool { return newer(byID[keep[i].ID], byID[keep[j].ID]) })
}

// unreadable returns why the package must stay untouched because a listed
// version's manifest is unknown, or "".
func unreadable(vs []Version, g Graph) string {
	var bad []string
	var first string
	for _, v := range vs {
		if _, ok := g.Manifests[v.Name]; ok {
			continue
		}
		if err, ok := g.Unreadable[v.Name]; ok && err != nil {
			if first == "" {
				first = fmt.Sprintf("manifest %s of version %d could not be read: %v", v.Name, v.ID, err)
			}
		} else if first == "" {
			first = fmt.Sprintf("manifest %s of version %d was not read", v.Name, v.ID)
		}
		bad = append(bad, v.Name)
	}
	switch len(bad) {
	case 0:
		return ""
	case 1:
		return first
	}
	return fmt.Sprintf("%s (and %d more)", first, len(bad)-1)
}

// label names a version in reasons: its first tag, else its short digest.
func (n *node) label() string {
	if len(n.tags) > 0 {
		return n.tags[0]
	}
	return ShortDigest(n.v.Name)
}

func ordinaryTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if _, _, ok := referrerTag(t); !ok {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// judgeContainer builds the graph of listed versions and judges each one.
func judgeContainer(p *Prune, policy Policy, vs []Version, g Graph, now time.Time, held map[int64]string, deleted map[string]DeletedVersion) []*node {
	nodes := make([]*node, len(vs))
	byDigest := make(map[string]int, len(vs))
	for i, v := range vs {
		nodes[i] = &node{v: v, tags: ordinaryTags(v.Tags), holder: -1}
		if _, dup := byDigest[v.Name]; !dup {
			byDigest[v.Name] = i
		}
	}
	seen := map[[2]int]bool{}
	link := func(from, to int, what string, index bool) {
		if from == to || seen[[2]int{from, to}] {
			return
		}
		seen[[2]int{from, to}] = true
		e := edge{from: from, to: to, what: what, index: index}
		nodes[from].held = append(nodes[from].held, e)
		nodes[to].holders = append(nodes[to].holders, e)
	}
	for i, n := range nodes {
		m := g.Manifests[n.v.Name]
		if m.IsIndex() {
			for _, c := range m.Children {
				ci, listed := byDigest[c.Digest]
				if !listed {
					continue // gone: ghost and partial indexes are normal
				}
				what := "child"
				switch c.Platform {
				case "":
				case "unknown/unknown":
					what = "attestation manifest"
				default:
					what = "child " + c.Platform
				}
				link(i, ci, what, true)
			}
		}
		var subjects []string
		for _, t := range n.v.Tags {
			if subj, what, ok := referrerTag(t); ok && subj != n.v.Name {
				subjects = append(subjects, subj)
				if si, listed := byDigest[subj]; listed {
					link(si, i, what, false)
				}
			}
		}
		if m.Subject != "" && m.Subject != n.v.Name {
			subjects = append(subjects, m.Subject)
			if si, listed := byDigest[m.Subject]; listed {
				link(si, i, artifactKind(m.ArtifactType), false)
			}
		}
		if len(n.holders) == 0 && len(subjects) > 0 {
			// Holders are only known once every node is linked; this is
			// rechecked below.
			sort.Strings(subjects)
			n.orphanOf = subjects[0]
		}
	}
	findBroken(nodes, byDigest, deleted, g, healsDeleted(p.restore))
	floor := policy.MinUntaggedAge
	var tagged, untagged []*node
	for _, n := range nodes {
		if len(n.holders) > 0 {
			n.orphanOf = ""
			n.selfKind, n.selfKeep = tagVerdictForHeld(p, n, now, floor)
			continue
		}
		switch {
		case n.orphanOf != "" && len(n.tags) == 0:
			kind := "referrer"
			for _, t := range n.v.Tags {
				if _, what, ok := referrerTag(t); ok {
					kind = what
					break
				}
			}
			if kind == "referrer" {
				kind = artifactKind(g.Manifests[n.v.Name].ArtifactType)
			}
			orphanBroken(n, n.orphanOf, kind, deleted)
			judgeAge(n, p, now, floor, KindOrphan, fmt.Sprintf("%s of %s, which is gone", kind, ShortDigest(n.orphanOf)))
		case len(n.tags) > 0:
			tagged = append(tagged, n)
		default:
			untagged = append(untagged, n)
		}
	}
	judgeTagged(p, tagged, now, floor)
	judgeUntagged(p, untagged, now, floor)
	judgeBroken(p, nodes, now, floor)
	hold(nodes, held)
	propagate(nodes)
	return nodes
}

// hold keeps the held versions the rules would delete. A held version
// that lives and dies with another gets the hold as a reason of its own to
// stay, so propagate keeps it, and what it holds, when its holders go.
func hold(nodes []*node, held map[int64]string) {
	if len(held) == 0 {
		return
	}
	for _, n := range nodes {
		why, ok := held[n.v.ID]
		switch {
		case !ok:
		case len(n.holders) > 0:
			if n.selfKeep == "" {
				n.selfKeep, n.selfKind = why, KindHeld
			}
		case n.del:
			n.del, n.reason, n.kind = false, why, KindHeld
		}
	}
}

// judgeAge settles a candidate: kept when too young, deleted otherwise.
func judgeAge(n *node, p *Prune, now time.Time, floor time.Duration, kind Kind, why string) {
	age := now.Sub(n.v.CreatedAt)
	n.judged = true
	switch {
	case n.v.CreatedAt.IsZero():
		// Without a creation time no age rule can be trusted.
		n.reason, n.kind = "creation time unknown", KindUnknownAge
	case p.OlderThan > 0 && age < p.OlderThan:
		n.reason, n.kind = "younger than "+FormatDuration(p.OlderThan), KindYoung
	case age < floor:
		n.reason, n.kind = "younger than "+FormatDuration(floor), KindYoung
	default:
		n.del = true
		n.reason, n.kind = why, kind
		if p.OlderThan > 0 {
			n.reason += ", older than " + FormatDuration(p.OlderThan)
		}
	}
}

// tagStatus applies exclude_tags and delete_tags to a version's ordinary
// tags: it returns a reason to keep it, or "" and the delete_tags pattern
// that makes it a candidate.
func tagStatus(p *Prune, n *node) (kind Kind, keep, matched string) {
	for _, t := range n.tags {
		if p.ExcludeTags.Match(t) {
			return KindExcluded, "excluded by tag " + t, ""
		}
	}
	// A version the rule would restore is never pruned: deleting it would
	// only start a delete/restore loop.
	for _, t := range n.tags {
		if p.restore.Wants([]string{t}) {
			return KindRestoreTags, "restore.tags keeps tag " + t, ""
		}
	}
	if p.DeleteTags.Empty() {
		return KindTagged, "tagged " + n.tags[0], ""
	}
	var pats []string
	for _, t := range n.tags {
		pat, ok := p.DeleteTags.Which(t)
		if !ok {
			return KindTagged, fmt.Sprintf("tag %s matches no delete_tags", t), ""
		}
		if !contains(pats, pat) {
			pats = append(pats, pat)
		}
	}
	return "", "", strings.Join(pats, ", ")
}

// tagVerdictForHeld gives a held version (child, referrer) a reason of its
// own to stay: a tag that would keep it, or its youth.
func tagVerdictForHeld(p *Prune, n *node, now time.Time, floor time.Duration) (Kind, string) {
	if len(n.tags) > 0 {
		if kind, keep, _ := tagStatus(p, n); keep != "" {
			return kind, keep
		}
	}
	switch {
	case n.v.CreatedAt.IsZero():
		return KindUnknownAge, "creation time unknown"
	case now.Sub(n.v.CreatedAt) < floor:
		return KindYoung, "younger than " + FormatDuration(floor)
	}
	return "", ""
}

func judgeTagged(p *Prune, tagged []*node, now time.Time, floor time.Duration) {
	var candidates []*node
	matched := map[*node]string{}
	for _, n := range tagged {
		kind, keep, pat := tagStatus(p, n)
		if keep != "" {
			n.judged, n.reason, n.kind = true, keep, kind
			continue
		}
		matched[n] = pat
		candidates = append(candidates, n)
	}
	sort.Slice(candidates, func(i, j int) bool { return newer(candidates[i].v, candidates[j].v) })
	for i, n := range candidates {
		if i < p.KeepTagged {
			n.judged, n.reason, n.kind = true, fmt.Sprintf("newest %d tagged candidates", p.KeepTagged), KindNewest
			continue
		}
		judgeAge(n, p, now, floor, KindDeleteTags, "matches delete_tags "+matched[n])
	}
}

func judgeUntagged(p *Prune, untagged []*node, now time.Time, floor time.Duration) {
	sort.Slice(untagged, func(i, j int) bool { return newer(untagged[i].v, untagged[j].v) })
	for i, n := range untagged {
		switch {
		case !p.Untagged:
			n.judged, n.reason, n.kind = true, "untagged, and prune.untagged is off", KindNotSelected
		case i < p.KeepUntagged:
			n.judged, n.reason, n.kind = true, fmt.Sprintf("newest %d untagged", p.KeepUntagged), KindNewest
		default:
			judgeAge(n, p, now, floor, KindUntagged, "untagged")
		}
	}
}

// propagate settles held versions: one goes only when every holder goes
// and it has no reason of its own to stay. Deletion needs that evidence,
// so anything unexplained (a cycle, in theory) is kept.
func propagate(nodes []*node) {
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if n.judged || len(n.holders) == 0 || n.selfKeep != "" {
				continue
			}
			all := true
			for _, h := range n.holders {
				hn := nodes[h.from]
				if !hn.judged || !hn.del {
					all = false
					break
				}
			}
			if all {
				h := n.holders[0]
				n.judged, n.del = true, true
				n.reason = fmt.Sprintf("%s %s %s, goes with it", h.what, ofWhat(h), nodes[h.from].label())
				n.kind, n.holder, n.relation = KindGoesWith, h.from, h.what
				changed = true
			}
		}
	}
	for _, n := range nodes {
		if n.judged {
			continue
		}
		n.judged = true
		// Prefer naming a kept holder that is tagged, then the newest.
		var best *edge
		for i := range n.holders {
			h := &n.holders[i]
			hn := nodes[h.from]
			if hn.del {
				continue
			}
			if best == nil || betterHolder(hn, nodes[best.from]) {
				best = h
			}
		}
		switch {
		case best != nil:
			n.reason = fmt.Sprintf("%s %s %s", best.what, ofWhat(*best), nodes[best.from].label())
			n.kind, n.holder, n.relation = KindReferrer, best.from, best.what
			if best.index {
				n.kind = KindChild
			}
		case n.selfKeep != "":
			n.reason, n.kind = n.selfKeep, n.selfKind
		default:
			n.reason, n.kind = "held by manifests that reference each other", KindCycle
		}
	}
}

func ofWhat(e edge) string {
	if e.index {
		return "of index"
	}
	return "of"
}

func betterHolder(a, b *node) bool {
	if (len(a.tags) > 0) != (len(b.tags) > 0) {
		return len(a.tags) > 0
	}
	return newer(a.v, b.v)
}

// judgeVersioned judges npm, maven, rubygems and nuget versions.
func judgeVersioned(p *Prune, policy Policy, vs []Version, now time.Time) []*node {
	nodes := make([]*node, len(vs))
	for i, v := range vs {
		nodes[i] = &node{v: v, holder: -1}
	}
	sorted := append([]*node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return newer(sorted[i].v, sorted[j].v) })
	for i, n := range sorted {
		n.judged = true
		switch {
		case p.KeepLatest == 0 && p.OlderThan == 0:
			n.reason, n.kind = "the rule sets neither keep_latest nor older_than", KindNotSelected
		case i < p.KeepLatest:
			n.reason, n.kind = fmt.Sprintf("newest %d versions", p.KeepLatest), KindNewest
		case p.PrereleaseOnly && !isPrerelease(n.v.Name):
			n.reason, n.kind = "not a pre-release", KindNotSelected
		default:
			var why []string
			if p.KeepLatest > 0 {
				why = append(why, fmt.Sprintf("beyond newest %d versions", p.KeepLatest))
			}
			if p.PrereleaseOnly {
				why = append(why, "pre-release")
			}
			reason := strings.Join(why, ", ")
			if reason == "" {
				reason = "old version"
			}
			judgeAge(n, p, now, policy.MinUntaggedAge, KindOld, reason)
			if n.del && len(why) == 0 {
				// Only its age (older_than is set: the first case
				// took the rest): say that alone.
				n.reason = "older than " + FormatDuration(p.OlderThan)
			}
		}
	}
	return nodes
}

// isPrerelease reports whether a version name is a semver pre-release
// (1.2.0-rc.1; maven's 1.0-SNAPSHOT reads as one too). Names that are not
// semver are not pre-releases.
func isPrerelease(name string) bool {
	v, err := semver.NewVersion(name)
	return err == nil && v.Prerelease() != ""
}

// order turns judged nodes into the delete list, in a safe order and
// capped, and the keep list, newest first.
func order(nodes []*node, max int) (del, keep []Entry) {
	var roots []*node
	for _, n := range nodes {
		if n.del && len(n.holders) == 0 {
			roots = append(roots, n)
		}
	}
	// Oldest first, so that a cap defers the newest.
	sort.Slice(roots, func(i, j int) bool { return newer(roots[j].v, roots[i].v) })
	pending := map[*node]int{}
	for _, n := range nodes {
		if n.del {
			pending[n] = len(n.holders)
		}
	}
	emitted := map[*node]bool{}
	var groups [][]*node
	var emit func(n *node, group *[]*node)
	emit = func(n *node, group *[]*node) {
		emitted[n] = true
		*group = append(*group, n)
		for _, e := range n.held {
			c := nodes[e.to]
			if !c.del || emitted[c] {
				continue
			}
			pending[c]--
			if pending[c] == 0 {
				emit(c, group)
			}
		}
	}
	for _, r := range roots {
		var group []*node
		emit(r, &group)
		groups = append(groups, group)
	}
	// A group (a version with the children and referrers that go with it)
	// is never split: deleting an index without some of its children would
	// leave them behind for good when untagged versions are not pruned. A
	// group that does not fit in what remains of the cap waits whole for
	// the next run, and so does everything after it, so that the oldest go
	// first. A group larger than the whole cap can never go: it is kept,
	// saying so, and does not hold up the others.
	count, full := 0, false
	for _, group := range groups {
		var why string
		var kind Kind
		switch {
		case len(group) > max:
			why = fmt.Sprintf("kept with its group of %d versions, which go together and exceed max_deletions_per_run %d: raise the cap to delete them", len(group), max)
			kind = KindGroupTooLarge
		case full || count+len(group) > max:
			full = true
			why, kind = fmt.Sprintf("deferred to next run (max_deletions_per_run %d)", max), KindDeferred
		}
		for _, n := range group {
			if why != "" {
				keep = append(keep, entry(n.v, kind, why, holderIDs(nodes, n)))
				continue
			}
			count++
			del = append(del, entryOf(nodes, n))
		}
	}
	var vs []Version
	for _, n := range nodes {
		vs = append(vs, n.v)
		if n.del && !emitted[n] {
			// Not reachable from a deleted root: keep rather than delete
			// out of order.
			keep = append(keep, entry(n.v, KindCycle, "kept: no safe deletion order", holderIDs(nodes, n)))
		}
		if !n.del {
			keep = append(keep, entryOf(nodes, n))
		}
	}
	sortKeep(keep, vs)
	return del, keep
}

func holderIDs(nodes []*node, n *node) []int64 {
	if len(n.holders) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(n.holders))
	for _, h := range n.holders {
		ids = append(ids, nodes[h.from].v.ID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
