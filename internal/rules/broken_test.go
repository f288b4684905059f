package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// renderBroken prints the broken images of a decision with labels in place
// of digests, one line per missing manifest.
func renderBroken(d Decision, labels []string) string {
	var pairs []string
	for _, l := range labels {
		pairs = append(pairs, digestOf(l), l, ShortDigest(digestOf(l)), l)
	}
	r := strings.NewReplacer(pairs...)
	var b strings.Builder
	for _, im := range d.Broken {
		for _, m := range im.Missing {
			fmt.Fprintf(&b, "broken %s (%s): %s %s %s", r.Replace(im.Name), im.Kind, r.Replace(m.Digest), m.What, m.State)
			if m.DeletedID != 0 {
				fmt.Fprintf(&b, " #%d", m.DeletedID)
			}
			if m.Via != "" {
				fmt.Fprintf(&b, " via %s", r.Replace(m.Via))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func nestedIndex(label string, children ...registry.Descriptor) registry.Manifest {
	return registry.Manifest{Digest: digestOf(label), MediaType: registry.MediaTypeOCIIndex, Children: children}
}

func desc(label, mediaType, platform, artifactType string) registry.Descriptor {
	return registry.Descriptor{Digest: digestOf(label), MediaType: mediaType, Platform: platform, ArtifactType: artifactType}
}

// TestDecideBroken reads like a specification of what a broken image is,
// how it is reported (Decision.Broken) and when the rules delete it.
func TestDecideBroken(t *testing.T) {
	const tagged = `
rules:
  - type: container
    prune: {untagged: true, exclude_tags: ["keep-*"]%s}
`
	rule := func(extra string) string { return fmt.Sprintf(tagged, extra) }
	day := 24 * time.Hour
	v1 := index("v1", child{"amd64", "linux/amd64"}, child{"arm64", "linux/arm64"}, child{"att", "unknown/unknown"})
	v1Versions := func(without ...string) []ver {
		all := []ver{{1, "v1", day, []string{"v1"}}, {2, "amd64", day, nil}, {3, "arm64", day, nil}, {4, "att", day, nil}}
		var out []ver
		for _, v := range all {
			if !contains(without, v.label) {
				out = append(out, v)
			}
		}
		return out
	}
	tests := map[string]struct {
		config    string
		versions  []ver
		deleted   []ver
		manifests []registry.Manifest
		want      string // the decision, as render prints it
		broken    string // Decision.Broken, as renderBroken prints it
	}{
		"a whole image is not broken": {
			config:    rule(""),
			versions:  v1Versions(),
			manifests: []registry.Manifest{v1},
			want:      "keep amd64: child linux/amd64 of index v1\nkeep arm64: child linux/arm64 of index v1\nkeep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
		},
		"a platform another client deleted is restorable": {
			config:    rule(""),
			versions:  v1Versions("arm64"),
			deleted:   []ver{{30, "arm64", day, nil}},
			manifests: []registry.Manifest{v1},
			want:      "keep amd64: child linux/amd64 of index v1\nkeep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (partial): arm64 linux/arm64 deleted #30\n",
		},
		"a platform not listed at all is gone": {
			config:    rule(""),
			versions:  v1Versions("arm64"),
			manifests: []registry.Manifest{v1},
			want:      "keep amd64: child linux/amd64 of index v1\nkeep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (partial): arm64 linux/arm64 gone\n",
		},
		"no platform left is a ghost, kept by default": {
			config:    rule(""),
			versions:  v1Versions("arm64", "amd64"),
			manifests: []registry.Manifest{v1},
			want:      "keep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (ghost): amd64 linux/amd64 gone\nbroken v1 (ghost): arm64 linux/arm64 gone\n",
		},
		"ghost_images deletes a ghost, with what remains of it": {
			config:    rule(", ghost_images: true"),
			versions:  v1Versions("arm64", "amd64"),
			manifests: []registry.Manifest{v1},
			want:      "delete v1: ghost image: linux/amd64 gone, linux/arm64 gone, and prune.ghost_images is on\ndelete att: attestation manifest of index v1, goes with it\n",
		},
		"ghost_images leaves a partial image alone": {
			config:    rule(", ghost_images: true"),
			versions:  v1Versions("arm64"),
			manifests: []registry.Manifest{v1},
			want:      "keep amd64: child linux/amd64 of index v1\nkeep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (partial): arm64 linux/arm64 gone\n",
		},
		"partial_images deletes a partial image, with its remaining platforms": {
			config:    rule(", partial_images: true"),
			versions:  v1Versions("arm64"),
			manifests: []registry.Manifest{v1},
			want:      "delete v1: partial image: linux/arm64 gone, and prune.partial_images is on\ndelete amd64: child linux/amd64 of index v1, goes with it\ndelete att: attestation manifest of index v1, goes with it\n",
		},
		"partial_images leaves an image healing can restore": {
			config:    rule(", partial_images: true, ghost_images: true"),
			versions:  v1Versions("arm64", "amd64"),
			deleted:   []ver{{30, "arm64", day, nil}, {31, "amd64", day, nil}},
			manifests: []registry.Manifest{v1},
			want:      "keep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (ghost): amd64 linux/amd64 deleted #31\nbroken v1 (ghost): arm64 linux/arm64 deleted #30\n",
		},
		"restore.broken: false: a deleted platform stays missing, and partial_images deletes the image": {
			config:    rule(", partial_images: true}\n    restore: {broken: false"),
			versions:  v1Versions("arm64"),
			deleted:   []ver{{30, "arm64", day, nil}},
			manifests: []registry.Manifest{v1},
			want:      "delete v1: partial image: linux/arm64 deleted, and prune.partial_images is on\ndelete amd64: child linux/amd64 of index v1, goes with it\ndelete att: attestation manifest of index v1, goes with it\n",
		},
		"restore.broken: false: a deleted platform is reported as not healed": {
			config:    rule("}\n    restore: {broken: false"),
			versions:  v1Versions("arm64"),
			deleted:   []ver{{30, "arm64", day, nil}},
			manifests: []registry.Manifest{v1},
			want:      "keep amd64: child linux/amd64 of index v1\nkeep att: attestation manifest of index v1\nkeep v1: tagged v1\n",
			broken:    "broken v1 (partial): arm64 linux/arm64 deleted #30\n",
		},
		"exclude_tags keeps a ghost": {
			config:    rule(", ghost_images: true"),
			versions:  []ver{{1, "v1", day, []string{"keep-1"}}, {4, "att", day, nil}},
			manifests: []registry.Manifest{v1},
			want:      "keep att: attestation manifest of index keep-1\nkeep v1: excluded by tag keep-1\n",
			broken:    "broken keep-1 (ghost): amd64 linux/amd64 gone\nbroken keep-1 (ghost): arm64 linux/arm64 gone\n",
		},
		"a young ghost waits for the age floor": {
			config:    rule(", ghost_images: true"),
			versions:  []ver{{1, "v1", time.Minute, []string{"v1"}}},
			manifests: []registry.Manifest{v1},
			want:      "keep v1: tagged v1\n",
			broken:    "broken v1 (ghost): amd64 linux/amd64 gone\nbroken v1 (ghost): arm64 linux/arm64 gone\nbroken v1 (ghost): att attestation manifest gone\n",
		},
		"an untagged broken index the rules delete anyway is not reported": {
			config:    rule(""),
			versions:  []ver{{1, "u", day, nil}, {2, "amd64", day, nil}},
			manifests: []registry.Manifest{index("u", child{"amd64", "linux/amd64"}, child{"arm64", "linux/arm64"})},
			want:      "delete u: untagged\ndelete amd64: child linux/amd64 of index u, goes with it\n",
		},
		"nested index: reported once, under the outer image": {
			config:   rule(""),
			versions: []ver{{1, "top", day, []string{"v2"}}, {2, "inner", day, nil}, {3, "amd64", day, nil}},
			manifests: []registry.Manifest{
				nestedIndex("top", desc("inner", registry.MediaTypeOCIIndex, "", "")),
				index("inner", child{"amd64", "linux/amd64"}, child{"arm64", "linux/arm64"}),
			},
			want:   "keep amd64: child linux/amd64 of index inner\nkeep inner: child of index v2\nkeep top: tagged v2\n",
			broken: "broken v2 (partial): arm64 linux/arm64 gone via inner\n",
		},
		"nested index deleted, its manifest known: its children too; healing would leave it partial": {
			config:   rule(", ghost_images: true, partial_images: true"),
			versions: []ver{{1, "top", day, []string{"v2"}}},
			deleted:  []ver{{20, "inner", day, nil}, {21, "amd64", day, nil}},
			manifests: []registry.Manifest{
				nestedIndex("top", desc("inner", registry.MediaTypeOCIIndex, "", "")),
				index("inner", child{"amd64", "linux/amd64"}, child{"arm64", "linux/arm64"}),
			},
			want: "delete top: partial image: linux/arm64 gone, and prune.partial_images is on\n",
		},
		"nested index deleted, its manifest known: its children are checked too": {
			config:   rule(", ghost_images: true"),
			versions: []ver{{1, "top", day, []string{"v2"}}},
			deleted:  []ver{{20, "inner", day, nil}, {21, "amd64", day, nil}},
			manifests: []registry.Manifest{
				nestedIndex("top", desc("inner", registry.MediaTypeOCIIndex, "", "")),
				index("inner", child{"amd64", "linux/amd64"}, child{"arm64", "linux/arm64"}),
			},
			want:   "keep top: tagged v2\n",
			broken: "broken v2 (ghost): inner nested index deleted #20\nbroken v2 (ghost): amd64 linux/amd64 deleted #21 via inner\nbroken v2 (ghost): arm64 linux/arm64 gone via inner\n",
		},
		"referrers index missing its attestation": {
			config:   rule(""),
			versions: []ver{{1, "img", day, []string{"v3"}}, {2, "refs", day, []string{"sha256-@img"}}, {3, "sig", day, nil}},
			deleted:  []ver{{40, "attn", day, nil}},
			manifests: []registry.Manifest{
				nestedIndex("refs",
					desc("sig", registry.MediaTypeOCIManifest, "", "application/vnd.dev.cosign.artifact.sig.v1+json"),
					desc("attn", registry.MediaTypeOCIManifest, "", "application/vnd.in-toto+json")),
			},
			want:   "keep img: tagged v3\nkeep refs: referrers index of v3\nkeep sig: child of index refs\n",
			broken: "broken referrers index of v3 (partial): attn attestation deleted #40\n",
		},
		"an orphan referrer too young to prune is reported": {
			config:    rule(""),
			versions:  []ver{{1, "sig", time.Minute, []string{"sha256-@img.sig"}}},
			deleted:   []ver{{50, "img", day, []string{"v4"}}},
			manifests: []registry.Manifest{},
			want:      "keep sig: younger than 1h\n",
			broken:    "broken signature of img (orphan): img subject deleted #50\n",
		},
		"an orphan referrer pruned is not reported again": {
			config:   rule(""),
			versions: []ver{{1, "sig", day, []string{"sha256-@img.sig"}}},
			want:     "delete sig: signature of img, which is gone\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, tc.config, DefaultPolicy())
			pkg := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
			g := Graph{Manifests: map[string]registry.Manifest{}}
			var versions []Version
			var deleted []DeletedVersion
			labels := []string{"arm64", "amd64", "att", "attn", "img", "inner", "v1", "top", "refs", "sig", "u"}
			for _, v := range tc.versions {
				versions = append(versions, v.version())
				g.Manifests[digestOf(v.label)] = registry.Manifest{Digest: digestOf(v.label), MediaType: registry.MediaTypeOCIManifest}
			}
			for _, v := range tc.deleted {
				deleted = append(deleted, DeletedVersion{ID: v.id, Name: digestOf(v.label), DeletedAt: testNow.Add(-time.Hour)})
			}
			for _, m := range tc.manifests {
				g.Manifests[m.Digest] = m
			}
			in := Input{Config: cfg, Package: pkg, Versions: versions, Deleted: deleted, Graph: g, Now: testNow}
			d := Decide(in)
			if got := render(d, labels); got != tc.want {
				t.Errorf("decision:\n%s\nwant:\n%s", got, tc.want)
			}
			if got := renderBroken(d, labels); got != tc.broken {
				t.Errorf("broken:\n%s\nwant:\n%s", got, tc.broken)
			}
			for _, b := range d.Broken {
				// Healing restores an image's deleted children unless
				// restore.broken is off, never an orphan's subject.
				if b.Heals != (b.Kind != BrokenOrphan && !strings.Contains(tc.config, "broken: false")) {
					t.Errorf("%s (%s): heals %t", b.Name, b.Kind, b.Heals)
				}
			}
			checkKinds(t, d)
			in.Versions, in.Deleted = reversed(versions), slices.Clone(deleted)
			slices.Reverse(in.Deleted)
			if again := Decide(in); render(again, labels) != render(d, labels) || renderBroken(again, labels) != renderBroken(d, labels) {
				t.Errorf("decision depends on listing order:\n%s%s", render(again, labels), renderBroken(again, labels))
			}
		})
	}
}
