package prune

import "github.com/pkgwarden/pkgwarden/internal/rules"

// runStorage measures what run freed over the graph its plan was decided
// on: the blobs of the versions it deleted that no version still listed
// references. A preview (dry run, paused) is its plan's measure. Versions
// found gone at the re-check were deleted by someone else: they neither
// stay nor count as freed by pkgwarden. A version an earlier attempt of
// the same run deleted is not in this attempt's graph, so its sizes are
// unknown and the run's figure says so rather than guess.
func runStorage(g rules.Graph, run *Run) rules.Storage {
	d := run.Decision
	if run.DryRun || run.Paused || d.Untouched != "" {
		return d.Storage
	}
	out := map[int64]bool{}
	for _, list := range [][]rules.Entry{run.Deleted, run.Gone} {
		for _, e := range list {
			out[e.ID] = true
		}
	}
	kept := append([]rules.Entry(nil), d.Keep...)
	for _, e := range d.Delete {
		if !out[e.ID] {
			kept = append(kept, e)
		}
	}
	return rules.MeasureStorage(run.Package, g, run.Deleted, kept)
}

// freedBytes is what run's deletions freed for the dashboard; nil when
// not measured.
func freedBytes(run Run) *int64 {
	if !run.Storage.Known {
		return nil
	}
	n := run.Storage.Frees
	return &n
}

// sizeAfter is what the package holds once run is over: what stays after
// its deletions, or all of it for a preview; nil when not measured.
func sizeAfter(run Run) *int64 {
	s := run.Storage
	if !s.Known {
		return nil
	}
	n := s.After
	if run.DryRun || run.Paused {
		n = s.Before
	}
	return &n
}
