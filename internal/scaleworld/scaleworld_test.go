package scaleworld

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		err  bool
	}{
		{in: "1000x1000", want: Spec{Packages: 1000, Versions: 1000, Seed: DefaultSeed}},
		{in: "20x200:7", want: Spec{Packages: 20, Versions: 200, Seed: 7}},
		{in: "20", err: true},
		{in: "0x200", err: true},
		{in: "20x10", err: true},
		{in: "20x200:-1", err: true},
		{in: "20x200000000", err: true},
	}
	for _, tc := range tests {
		got, err := ParseSpec(tc.in)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v, error %t", tc.in, got, err, tc.want, tc.err)
		}
	}
	if spec, ok, err := ParseSeedName("scale:3x60:2"); !ok || err != nil || SeedName(spec) != "scale:3x60:2" {
		t.Errorf("ParseSeedName round trip: %+v %t %v", spec, ok, err)
	}
	if _, ok, _ := ParseSeedName("demo"); ok {
		t.Error(`ParseSeedName("demo") is a scale world`)
	}
}

// TestPackage: every package has exactly the versions asked for, each
// digest once, platforms before their index, no age within a day of
// older_than, about a tenth deleted, the broken releases where the doc
// says, and the same versions when built again.
func TestPackage(t *testing.T) {
	for _, spec := range []Spec{{20, 200, 1}, {11, 1000, 3}, {6, MinVersions, 9}} {
		for i := range spec.Packages {
			p := spec.Package(i)
			if len(p.Versions) != spec.Versions {
				t.Fatalf("%v package %d: %d versions", spec, i, len(p.Versions))
			}
			seen := map[string]bool{}
			tags := map[string]bool{}
			for _, v := range p.Versions {
				if seen[v.Digest] {
					t.Fatalf("%v %s: digest %s twice", spec, p.Name, v.Digest)
				}
				for _, c := range v.Children {
					if !seen[c] {
						t.Fatalf("%v %s: index %s before its child %s", spec, p.Name, v.Digest, c)
					}
				}
				seen[v.Digest] = true
				for _, tag := range v.Tags {
					if tags[tag] {
						t.Fatalf("%v %s: tag %s twice", spec, p.Name, tag)
					}
					tags[tag] = true
				}
				if v.Age > OlderThan-day && v.Age < OlderThan+day {
					t.Fatalf("%v %s: %s is %s old, within a day of older_than", spec, p.Name, v.Digest, v.Age)
				}
				if v.Fate == Deleted && v.Age < OlderThan {
					t.Fatalf("%v %s: %s deleted at %s old", spec, p.Name, v.Digest, v.Age)
				}
			}
			n := p.Count()
			if d := n[Deleted]; d < spec.Versions/12 || d > spec.Versions/8 {
				t.Errorf("%v %s: %d deleted of %d, want about a tenth", spec, p.Name, d, spec.Versions)
			}
			if want := b2i(i%10 == 0); n[Restored] != want {
				t.Errorf("%v %s: %d restored, want %d", spec, p.Name, n[Restored], want)
			}
			if want := b2i(i%10 == 5); n[Gone] != want {
				t.Errorf("%v %s: %d gone, want %d", spec, p.Name, n[Gone], want)
			}
			if !tags["latest"] || !tags["v1.0.0"] || !tags["pr-100"] {
				t.Errorf("%v %s: tags %v", spec, p.Name, tags)
			}
			again := spec.Package(i)
			if !slices.EqualFunc(p.Versions, again.Versions, func(a, b Version) bool { return a.Digest == b.Digest && a.Age == b.Age && a.Fate == b.Fate }) {
				t.Fatalf("%v %s: not the same when built again", spec, p.Name)
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSeed: the simulator holds every version as Package says before
// the sweep: kept and deleted ones active, restorable ones deleted, gone
// ones nowhere, each backdated.
func TestSeed(t *testing.T) {
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	spec := Spec{Packages: 11, Versions: 60, Seed: 5}
	start := time.Now()
	info, err := Seed(context.Background(), sim, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info.Versions != spec.Packages*spec.Versions || info.Token == "" || info.Repositories != 1 {
		t.Fatalf("info %+v", info)
	}
	// The seed backdates from the simulated clock at its start: within
	// the seeding's time of now.
	now, slack := sim.Now(), time.Since(start)+2*time.Second
	for i := range spec.Packages {
		p := spec.Package(i)
		vs, err := sim.Versions(Org, "container", p.Name)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]ghsim.PackageVersion{}
		for _, v := range vs {
			got[v.Name] = v
		}
		for _, v := range p.Versions {
			g, ok := got[v.Digest]
			switch {
			case !ok:
				t.Fatalf("%s: %s (%s) not in the simulator", p.Name, v.Digest, v.Fate)
			case g.Purged != (v.Fate == Gone), g.Deleted != (v.Fate == Gone || v.Fate == Restored):
				t.Errorf("%s: %s (%s): deleted %t purged %t", p.Name, v.Digest, v.Fate, g.Deleted, g.Purged)
			case (now.Sub(g.CreatedAt) - v.Age).Abs() > slack:
				t.Errorf("%s: %s created %s ago, want %s", p.Name, v.Digest, now.Sub(g.CreatedAt), v.Age)
			}
		}
		if len(got) != len(p.Versions) {
			t.Errorf("%s: %d versions in the simulator, want %d", p.Name, len(got), len(p.Versions))
		}
	}
}
