package rules

import (
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// Storage is what a container package's manifests hold in the registry,
// and what deleting some of them frees: the config and layer blobs they
// reference, each blob counted once however many manifests share it.
type Storage struct {
	// Known is false when the sizes could not be measured; Why then says
	// why ("not a container package", "manifests not read", ...) and the
	// byte counts are zero, meaning nothing.
	Known bool   `json:"known"`
	Why   string `json:"why,omitempty"`
	// Before is the bytes of the unique blobs of every listed version,
	// After those of the versions that stay, and Frees the difference:
	// the blobs only the deleted versions referenced.
	Before int64 `json:"before"`
	After  int64 `json:"after"`
	Frees  int64 `json:"frees"`
}

// Reasons a Storage is not known.
const (
	StorageNotContainer = "not a container package"
	StorageNotRead      = "manifests not read"
	StorageNoSizes      = "manifests without sizes"
)

// StorageOf measures what the decision's deletions free in g: its Delete
// against its Keep. It is pure.
func StorageOf(d Decision, g Graph) Storage {
	return MeasureStorage(d.Package, g, d.Delete, d.Keep)
}

// MeasureStorage measures what deleting the versions deleted frees when
// the versions kept stay, over the package's graph g: the blobs of the
// deleted manifests (an index's children are versions of their own, in
// deleted when they go with it) that no kept manifest references. A
// version in both lists counts as kept. Sizes are unknown unless every
// version named has its manifest in g with its sizes known.
func MeasureStorage(pkg Package, g Graph, deleted, kept []Entry) Storage {
	if !pkgref.IsContainerType(pkg.Type) {
		return Storage{Why: StorageNotContainer}
	}
	keep := map[string]int64{}
	all := map[string]int64{}
	keptIDs := map[int64]bool{}
	for _, e := range kept {
		keptIDs[e.ID] = true
	}
	add := func(e Entry, into ...map[string]int64) string {
		m, ok := g.Manifests[e.Version]
		switch {
		case !ok:
			return StorageNotRead
		case !m.SizesKnown:
			return StorageNoSizes
		}
		for _, b := range m.Blobs {
			for _, set := range into {
				set[b.Digest] = b.Size
			}
		}
		return ""
	}
	for _, e := range kept {
		if why := add(e, keep, all); why != "" {
			return Storage{Why: why}
		}
	}
	for _, e := range deleted {
		if keptIDs[e.ID] {
			continue
		}
		if why := add(e, all); why != "" {
			return Storage{Why: why}
		}
	}
	s := Storage{Known: true, Before: sum(all), After: sum(keep)}
	s.Frees = s.Before - s.After
	return s
}

func sum(blobs map[string]int64) int64 {
	var n int64
	for _, size := range blobs {
		n += size
	}
	return n
}
