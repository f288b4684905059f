package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

// blob is a config or layer of a test image: its label and size.
type blob struct {
	label string
	size  int64
}

// image is an image manifest with its blobs, sizes known.
func image(label string, blobs ...blob) registry.Manifest {
	m := registry.Manifest{Digest: digestOf(label), MediaType: registry.MediaTypeOCIManifest, SizesKnown: true}
	for _, b := range blobs {
		m.Blobs = append(m.Blobs, registry.Blob{Digest: digestOf(b.label), Size: b.size})
	}
	return m
}

// sized marks an index's sizes known, as the registry's reader does.
func sized(m registry.Manifest) registry.Manifest { m.SizesKnown = true; return m }

// TestStorage measures what a decision frees over image graphs with
// shared blobs. The decisions and figures of every case are in
// testdata/storage.golden; run with -update to rewrite it after a
// deliberate change.
func TestStorage(t *testing.T) {
	base := blob{"base-layer", 80 * mib}
	tests := []struct {
		name       string
		pkgType    string
		versions   []ver
		manifests  []registry.Manifest
		unreadable []string
		// frees is the figure the case is about, checked apart from the
		// golden file so that -update cannot bless a wrong one.
		frees int64
		known bool
	}{{
		name:     "two images share a base layer, one deleted: only its own blobs count",
		versions: []ver{{1, "old", 48 * time.Hour, nil}, {2, "v1", 24 * time.Hour, []string{"v1"}}},
		manifests: []registry.Manifest{
			image("old", blob{"old-config", 2 * kib}, base, blob{"old-app", 12 * mib}),
			image("v1", blob{"v1-config", 2 * kib}, base, blob{"v1-app", 15 * mib}),
		},
		frees: 2*kib + 12*mib, known: true,
	}, {
		name: "an index deleted with its children, which share a layer: the index's whole storage, each blob once",
		versions: []ver{{1, "idx", 48 * time.Hour, nil}, {2, "idx-amd64", 48 * time.Hour, nil}, {3, "idx-arm64", 48 * time.Hour, nil},
			{4, "v2", time.Hour * 3, []string{"v2"}}},
		manifests: []registry.Manifest{
			sized(index("idx", child{"idx-amd64", "linux/amd64"}, child{"idx-arm64", "linux/arm64"})),
			image("idx-amd64", blob{"amd64-config", kib}, blob{"shared-assets", 5 * mib}, blob{"amd64-bin", 30 * mib}),
			image("idx-arm64", blob{"arm64-config", kib}, blob{"shared-assets", 5 * mib}, blob{"arm64-bin", 28 * mib}),
			image("v2", blob{"v2-config", kib}, base),
		},
		frees: 2*kib + 5*mib + 30*mib + 28*mib, known: true,
	}, {
		name:     "a blob a kept index's child references is not counted",
		versions: []ver{{1, "old", 48 * time.Hour, nil}, {2, "rel", 24 * time.Hour, []string{"1.0"}}, {3, "rel-amd64", 24 * time.Hour, nil}},
		manifests: []registry.Manifest{
			image("old", blob{"old-config", kib}, base, blob{"deps", 40 * mib}, blob{"old-app", 3 * mib}),
			sized(index("rel", child{"rel-amd64", "linux/amd64"})),
			image("rel-amd64", blob{"rel-config", kib}, base, blob{"deps", 40 * mib}, blob{"rel-app", 4 * mib}),
		},
		frees: kib + 3*mib, known: true,
	}, {
		name:     "nothing deleted frees nothing, the size is still known",
		versions: []ver{{1, "v1", 48 * time.Hour, []string{"v1"}}},
		manifests: []registry.Manifest{
			image("v1", blob{"v1-config", kib}, base),
		},
		frees: 0, known: true,
	}, {
		name:     "a manifest without sizes (an old cache entry): unknown, not zero",
		versions: []ver{{1, "old", 48 * time.Hour, nil}, {2, "v1", 24 * time.Hour, []string{"v1"}}},
		manifests: []registry.Manifest{
			{Digest: digestOf("old"), MediaType: registry.MediaTypeOCIManifest},
			image("v1", blob{"v1-config", kib}, base),
		},
	}, {
		name:       "an unreadable manifest: the package is untouched, its size unknown",
		versions:   []ver{{1, "old", 48 * time.Hour, nil}, {2, "v1", 24 * time.Hour, []string{"v1"}}},
		manifests:  []registry.Manifest{image("v1", blob{"v1-config", kib}, base)},
		unreadable: []string{"old"},
	}, {
		name:     "npm: not a container package",
		pkgType:  TypeNPM,
		versions: []ver{{1, "1.0.0", 48 * time.Hour, nil}, {2, "1.0.1", 24 * time.Hour, nil}},
	}}
	var out strings.Builder
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, untaggedRule+"  - type: npm\n    prune: {keep_latest: 1}\n", DefaultPolicy())
			pkgType := TypeContainer
			if tc.pkgType != "" {
				pkgType = tc.pkgType
			}
			pkg := Package{Owner: "acme", Type: pkgType, Name: "app", Repository: "app"}
			g := Graph{Manifests: map[string]registry.Manifest{}, Unreadable: map[string]error{}}
			var versions []Version
			var labels []string
			for _, v := range tc.versions {
				vv := v.version()
				if pkgType != TypeContainer {
					vv.Name = v.label
				}
				versions = append(versions, vv)
				labels = append(labels, v.label)
			}
			for _, m := range tc.manifests {
				g.Manifests[m.Digest] = m
			}
			for _, l := range tc.unreadable {
				g.Unreadable[digestOf(l)] = errors.New("registry said 500")
			}
			d := Decide(Input{Config: cfg, Package: pkg, Versions: versions, Graph: g, Now: testNow})
			s := StorageOf(d, g)
			if s.Known != tc.known || s.Frees != tc.frees {
				t.Errorf("storage = %+v; want known %t, frees %d", s, tc.known, tc.frees)
			}
			if s.Known && s.Frees != s.Before-s.After {
				t.Errorf("frees %d != before %d - after %d", s.Frees, s.Before, s.After)
			}
			if !s.Known && (s.Why == "" || s.Frees != 0 || s.Before != 0) {
				t.Errorf("unknown storage %+v: want a reason and no figures", s)
			}
			fmt.Fprintf(&out, "## %s\n%s", tc.name, render(d, labels))
			if s.Known {
				fmt.Fprintf(&out, "storage: before %d, after %d, frees %d\n\n", s.Before, s.After, s.Frees)
			} else {
				fmt.Fprintf(&out, "storage unknown: %s\n\n", s.Why)
			}
		})
	}
	golden := filepath.Join("testdata", "storage.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden: %v (run with -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("storage:\n%s\nwant:\n%s", out.String(), want)
	}
}

// MeasureStorage over what a run did: a version planned for deletion but
// not deleted (GitHub refused it) stays, and so do its blobs.
func TestMeasureStorageOfARun(t *testing.T) {
	pkg := Package{Owner: "acme", Type: TypeContainer, Name: "app"}
	g := Graph{Manifests: map[string]registry.Manifest{}}
	for _, m := range []registry.Manifest{
		image("a", blob{"a-config", kib}, blob{"shared", mib}),
		image("b", blob{"b-config", kib}, blob{"shared", mib}),
		image("c", blob{"c-config", kib}),
	} {
		g.Manifests[m.Digest] = m
	}
	e := func(id int64, label string) Entry { return Entry{ID: id, Version: digestOf(label)} }
	both := MeasureStorage(pkg, g, []Entry{e(1, "a"), e(2, "b")}, []Entry{e(3, "c")})
	if !both.Known || both.Frees != 2*kib+mib {
		t.Errorf("a and b deleted: %+v, want frees %d", both, 2*kib+mib)
	}
	oneRefused := MeasureStorage(pkg, g, []Entry{e(1, "a")}, []Entry{e(2, "b"), e(3, "c")})
	if !oneRefused.Known || oneRefused.Frees != kib {
		t.Errorf("a deleted, b kept: %+v, want frees %d", oneRefused, kib)
	}
	gone := MeasureStorage(pkg, g, []Entry{e(1, "a"), e(4, "gone")}, []Entry{e(3, "c")})
	if gone.Known || gone.Why != StorageNotRead {
		t.Errorf("a deleted version not in the graph: %+v, want unknown (%s)", gone, StorageNotRead)
	}
}
