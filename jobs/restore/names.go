package restore

import (
	"context"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Versions named by tag or digest in a command ("/pkgwarden restore
// pr-42", "/pkgwarden forget sha256:6e7d"). A name is looked up only among
// what pkgwarden itself knows of the package: GitHub's listing of its
// versions (deleted ones keep their tags there), the tags the inventory
// saw on them, and pkgwarden's marks, which say which versions a command
// may act on. Nothing but the name is taken from the comment.

// candidate is a version a name may stand for.
type candidate struct {
	id int64
	// name is the version's name: its digest for a container.
	name string
	// listed are its tags as GitHub lists them; remembered adds those
	// the inventory saw on it while it was active.
	listed, remembered []string
}

// matchName returns the candidates name stands for, by precedence: the
// versions GitHub lists with the tag; else those the inventory remembers
// with it; else those whose version name it is (an npm version, a whole
// digest); else, for a word that may be a digest written without
// "sha256:" (report.BareDigestPrefix), those whose digest starts with it.
// digest says name is a digest prefix ("sha256:6e7d"): only digests
// count.
func matchName(name string, digest bool, cands []candidate) []candidate {
	prefix := func(p string) []candidate {
		var out []candidate
		for _, c := range cands {
			if strings.HasPrefix(c.name, p) {
				out = append(out, c)
			}
		}
		return out
	}
	if digest {
		return prefix(name)
	}
	for _, has := range []func(candidate) bool{
		func(c candidate) bool { return slices.Contains(c.listed, name) },
		func(c candidate) bool { return slices.Contains(c.remembered, name) },
		func(c candidate) bool { return c.name == name },
	} {
		var out []candidate
		for _, c := range cands {
			if has(c) {
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if p, ok := report.BareDigestPrefix(name); ok {
		return prefix(p)
	}
	return nil
}

// candidates are the versions among vs that carry mark, with their tags
// as listed and as the inventory remembers them.
func (r *Restorer) candidates(ctx context.Context, st *pkgState, mark inventory.Mark, vs []githubapi.Version) ([]candidate, error) {
	marked, err := r.cfg.Inventory.MarkedIDs(ctx, st.inst, st.inv, mark)
	if err != nil || len(marked) == 0 {
		return nil, err
	}
	// The marked versions' tags as remembered, streamed: the others are
	// not kept.
	seen := map[int64][]string{}
	err = r.cfg.Inventory.EachVersion(ctx, st.inst, st.inv, func(k inventory.Version) error {
		if marked[k.ID] {
			seen[k.ID] = k.Tags
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, v := range vs {
		if !marked[v.ID] || slices.ContainsFunc(out, func(c candidate) bool { return c.id == v.ID }) {
			continue
		}
		c := candidate{id: v.ID, name: v.Name, listed: v.Tags}
		for _, t := range seen[v.ID] {
			if !slices.Contains(v.Tags, t) {
				c.remembered = append(c.remembered, t)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// resolveNames turns the tags and digests of c into ids among cands, in
// order, after c's own ids and without repeating them. A name that fits
// no candidate or several is answered (report.NoSuchName,
// report.Ambiguous) and adds nothing.
func resolveNames(c jobs.UndoCommand, cands []candidate) ([]int64, []report.Outcome) {
	ids := slices.Clone(c.IDs)
	var notes []report.Outcome
	type named struct {
		name   string
		digest bool
	}
	var names []named
	for _, t := range c.Tags {
		names = append(names, named{t, false})
	}
	for _, d := range c.Digests {
		names = append(names, named{d, true})
	}
	for _, n := range names {
		found := matchName(n.name, n.digest, cands)
		switch len(found) {
		case 0:
			notes = append(notes, report.NoSuchName{Name: n.name, Verb: report.Verb(c.Kind)})
		case 1:
			if !slices.Contains(ids, found[0].id) {
				ids = append(ids, found[0].id)
			}
		default:
			a := report.Ambiguous{Name: n.name}
			for _, f := range found {
				a.Candidates = append(a.Candidates, report.Candidate{ID: f.id, Version: f.name, Tags: append(slices.Clone(f.listed), f.remembered...)})
			}
			notes = append(notes, a)
		}
	}
	return ids, notes
}
