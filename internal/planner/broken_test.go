package planner_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// countingPackages is the real packages client, counting the listings of
// deleted versions it is asked for.
type countingPackages struct {
	planner.Packages
	deletedLists atomic.Int64
}

func (c *countingPackages) ListVersions(ctx context.Context, o githubapi.Owner, packageType, name string, opts githubapi.ListVersionsOptions) (githubapi.VersionList, error) {
	if opts.State == githubapi.StateDeleted {
		c.deletedLists.Add(1)
	}
	return c.Packages.ListVersions(ctx, o, packageType, name, opts)
}

// planApp plans package app of acme with the real clients, evaluated at
// w.base, and returns the decision and how many deleted listings it asked.
func planApp(t *testing.T, w *world) (rules.Decision, planner.Clients, int64) {
	t.Helper()
	c := w.clients()
	pk := &countingPackages{Packages: c.Packages}
	p, err := planner.New(planner.Options{Packages: pk, Graphs: c.Registry, Loader: rules.NewLoader(w.source()),
		Now: func() time.Time { return w.sim.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := p.Select(context.Background(), "acme", planner.Filter{Package: "app", Type: "container"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.PlanPackage(context.Background(), sel.Owner, sel.Packages[0])
	if err != nil {
		t.Fatal(err)
	}
	return d, c, pk.deletedLists.Load()
}

// TestPlanBrokenImages: images another client broke through the API are in
// the decision's Broken list, a child deleted within GitHub's 30 days as
// restorable (with its version id), one past the window as gone; the
// deleted listing is asked only when an image misses something, and no
// manifest beyond the active versions' is read for it.
func TestPlanBrokenImages(t *testing.T) {
	w := newWorld(t)
	w.file("app", rules.Path, oneRule(`"app"`, "container", "untagged: true"))
	n := names{}
	platforms := func(prefix string) []plat {
		return []plat{
			{platform: "linux/amd64", img: n.image(t, w, prefix+"-amd64")},
			{platform: "linux/arm64", img: n.image(t, w, prefix+"-arm64")},
		}
	}
	n.add("v1", w.push(index(platforms("v1")...), 2*day, "v1"))
	n.add("v2", w.push(index(platforms("v2")...), 2*day, "v2"))
	n.add("whole", w.push(index(platforms("whole")...), 2*day, "whole"))
	digest := func(name string) string {
		for d, nm := range n {
			if nm == name {
				return d
			}
		}
		t.Fatalf("no digest named %s", name)
		return ""
	}
	// v2's arm64 is deleted and left past GitHub's window: gone.
	w.deleteVersion(digest("v2-arm64"))
	w.sim.Advance(31 * day)
	// v1's arm64 is deleted now: restorable.
	restorable := w.id(digest("v1-arm64"))
	w.deleteVersion(digest("v1-arm64"))

	d, c, lists := planApp(t, w)
	if lists != 1 {
		t.Errorf("%d listings of deleted versions, want 1", lists)
	}
	var got []string
	for _, b := range d.Broken {
		for _, m := range b.Missing {
			line := fmt.Sprintf("%s %s: %s %s %s", b.Name, b.Kind, n[m.Digest], m.What, m.State)
			if m.DeletedID != 0 {
				line += fmt.Sprintf(" id=%v", m.DeletedID == restorable)
			}
			got = append(got, line)
		}
	}
	sort.Strings(got)
	want := []string{
		"v1 partial: v1-arm64 linux/arm64 deleted id=true",
		"v2 partial: v2-arm64 linux/arm64 gone",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("broken:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(d.Delete) != 0 {
		t.Errorf("deletes %v: broken images are reported, not deleted, by default", rows(d.Delete, n))
	}
	// Seven manifests are active (three indexes, six platforms less two);
	// the graph reads each once and nothing more.
	if active := len(w.versions("app")); c.Registry.Reads() != int64(active) {
		t.Errorf("registry reads %d, want one per active version (%d)", c.Registry.Reads(), active)
	}
}

// TestPlanBrokenImagesWhole: a package whose images are whole lists no
// deleted versions.
func TestPlanBrokenImagesWhole(t *testing.T) {
	w := newWorld(t)
	w.file("app", rules.Path, oneRule(`"app"`, "container", "untagged: true"))
	w.push(index(plat{platform: "linux/amd64", img: w.image("a")}), 2*day, "v1")
	d, _, lists := planApp(t, w)
	if lists != 0 {
		t.Errorf("%d listings of deleted versions for a package whose images are whole", lists)
	}
	if len(d.Broken) != 0 {
		t.Errorf("broken %+v in a package whose images are whole", d.Broken)
	}
}

// brokenLines prints a decision's broken images with the names the test
// gave digests, one line per missing manifest.
func brokenLines(d rules.Decision, n names) string {
	name := func(s string) string {
		if nm, ok := n[s]; ok {
			return nm
		}
		for dg, nm := range n {
			s = strings.ReplaceAll(s, rules.ShortDigest(dg), nm)
		}
		return s
	}
	var got []string
	for _, b := range d.Broken {
		for _, m := range b.Missing {
			line := fmt.Sprintf("%s %s: %s %s %s", name(b.Name), b.Kind, name(m.Digest), m.What, m.State)
			if m.Via != "" {
				line += " via " + name(m.Via)
			}
			got = append(got, line)
		}
	}
	sort.Strings(got)
	return strings.Join(got, "\n")
}

// TestPlanBrokenGraphs: the other shapes of a broken image, broken through
// the API on the simulator: a nested index's platform, a referrers
// index's attestation, a signature whose image was deleted (kept while
// young, and reported).
func TestPlanBrokenGraphs(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, w *world, n names)
		want  string
	}{
		"nested index missing a platform": {
			setup: func(t *testing.T, w *world, n names) {
				amd, arm := n.image(t, w, "amd64"), n.image(t, w, "arm64")
				mid := index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil})
				n.add("mid", digestOf(t, mid))
				n.add("top", w.push(index(plat{"", nil, mid}), 2*day, "v2"))
				w.deleteVersion(digestOf(t, arm))
			},
			want: "v2 partial: arm64 linux/arm64 deleted via mid",
		},
		"referrers index missing its attestation": {
			setup: func(t *testing.T, w *world, n names) {
				subject := w.image("v1")
				n.add("v1", w.push(subject, 2*day, "v1"))
				ref := mutate.ConfigMediaType(w.image("sbom"), types.MediaType("application/vnd.in-toto+json"))
				ref = mutate.Subject(ref, describe(t, subject)).(v1.Image)
				att := n.add("att", w.push(ref, 2*day))
				w.deleteVersion(att)
			},
			want: "referrers index of v1 ghost: att attestation deleted",
		},
		"a young signature of a deleted image": {
			setup: func(t *testing.T, w *world, n names) {
				img := n.push(w, "img", 2*day, "v3")
				n.push(w, "other", 2*day, "v4")
				n.push(w, "sig", 10*time.Minute, strings.Replace(img, ":", "-", 1)+".sig")
				w.deleteVersion(img)
			},
			want: "signature of img orphan: img subject deleted",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.file("app", rules.Path, oneRule(`"app"`, "container", "untagged: true"))
			n := names{}
			tc.setup(t, w, n)
			d, _, lists := planApp(t, w)
			if got := brokenLines(d, n); got != tc.want {
				t.Errorf("broken:\n%s\nwant:\n%s", got, tc.want)
			}
			if lists != 1 {
				t.Errorf("%d listings of deleted versions, want 1", lists)
			}
			if len(d.Delete) != 0 {
				t.Errorf("deletes %v", rows(d.Delete, n))
			}
		})
	}
}
