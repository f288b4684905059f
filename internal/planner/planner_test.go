package planner_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

// appRules is the file of acme/app most scenarios use.
const appRules = `rules:
  - packages: ["app"]
    type: container
    prune:
      untagged: true
      delete_tags: ["pr-*"]
      exclude_tags: ["latest"]
`

// expect is what a scenario must plan for package app.
type expect struct {
	// del is in deletion order; keep in any order.
	del, keep []row
	// untouched is a prefix of Decision.Untouched ("" for a package that
	// may be pruned).
	untouched string
	// notice is a notice the decision must carry.
	notice string
	origin string
	dryRun bool
}

// names maps digests to the names scenarios give them.
type names map[string]string

func (n names) add(name, digest string) string { n[digest] = name; return digest }

// push pushes an image made and named name, age old with tags, and
// gives its digest that name.
func (n names) push(w *world, name string, age time.Duration, tags ...string) string {
	return n.add(name, w.push(w.image(name), age, tags...))
}

// image makes an image named name, not pushed, and gives its digest that
// name.
func (n names) image(t *testing.T, w *world, name string) v1.Image {
	t.Helper()
	img := w.image(name)
	n.add(name, digestOf(t, img))
	return img
}

func short(d string) string { return rules.ShortDigest(d) }

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// oneRule is a pkgwarden.yml of one rule: for packages (the items of a
// YAML list), of type typ (no type line when ""), pruning as prune (the
// items of a YAML flow map).
func oneRule(packages, typ, prune string) string {
	s := "rules:\n  - packages: [" + packages + "]\n"
	if typ != "" {
		s += "    type: " + typ + "\n"
	}
	return s + "    prune: {" + prune + "}\n"
}

func TestScenarios(t *testing.T) {
	// older_than: a rule and versions a day and three days old, planned
	// now and a week later.
	olderThan2d := map[string]string{"app": oneRule(`"app"`, "container", "untagged: true, older_than: 2d")}
	pushDays := func(w *world, n names) {
		n.push(w, "1d", 1*day)
		n.push(w, "3d", 3*day)
	}
	tests := map[string]struct {
		// files maps repo:path (repo alone: its pkgwarden.yml) to content;
		// nil is acme/app's appRules, what most scenarios use.
		files map[string]string
		// loader, when set, prepares the run's loader (an override).
		loader func(l *rules.Loader) error
		later  time.Duration
		setup  func(t *testing.T, w *world, n names) expect
	}{
		"single-arch untagged": {
			setup: func(t *testing.T, w *world, n names) expect {
				old := n.push(w, "old", 2*day)
				n.push(w, "young", 30*time.Minute)
				_ = old
				return expect{
					del:  []row{{"old", "", "untagged"}},
					keep: []row{{"young", "", "younger than 1h"}},
				}
			},
		},
		"multi-arch untagged": {
			setup: func(t *testing.T, w *world, n names) expect {
				amd, arm := n.image(t, w, "amd64"), n.image(t, w, "arm64")
				idx := n.add("index", w.push(index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil}), 3*day))
				return expect{del: []row{
					{"index", "", "untagged"},
					{"amd64", "", "child linux/amd64 of index " + short(idx) + ", goes with it"},
					{"arm64", "", "child linux/arm64 of index " + short(idx) + ", goes with it"},
				}}
			},
		},
		"tagged release keeps its platforms": {
			setup: func(t *testing.T, w *world, n names) expect {
				amd, arm := n.image(t, w, "amd64"), n.image(t, w, "arm64")
				n.add("v1", w.push(index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil}), 30*day, "v1.0.0"))
				return expect{keep: []row{
					{"v1", "v1.0.0", "tag v1.0.0 matches no delete_tags"},
					{"amd64", "", "child linux/amd64 of index v1.0.0"},
					{"arm64", "", "child linux/arm64 of index v1.0.0"},
				}}
			},
		},
		"tagged with delete_tags": {
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "pr-1", 5*day, "pr-1")
				n.push(w, "pr-2", 4*day, "pr-2", "latest")
				n.push(w, "pr-3", 3*day, "pr-3", "dev")
				n.push(w, "pr-4", 20*time.Minute, "pr-4")
				return expect{
					del: []row{{"pr-1", "pr-1", "matches delete_tags pr-*"}},
					keep: []row{
						{"pr-2", "latest,pr-2", "excluded by tag latest"},
						{"pr-3", "dev,pr-3", "tag dev matches no delete_tags"},
						{"pr-4", "pr-4", "younger than 1h"},
					},
				}
			},
		},
		"keep-N tagged and untagged": {
			files: map[string]string{"app": oneRule(`"app"`, "container", `untagged: true, keep_untagged: 2, delete_tags: ["pr-*"], keep_tagged: 2`)},
			setup: func(t *testing.T, w *world, n names) expect {
				for i := 1; i <= 4; i++ {
					n.push(w, fmt.Sprintf("pr-%d", i), time.Duration(10-i)*day, fmt.Sprintf("pr-%d", i))
					n.push(w, fmt.Sprintf("u%d", i), time.Duration(10-i)*day-hour)
				}
				return expect{
					del: []row{
						{"pr-1", "pr-1", "matches delete_tags pr-*"},
						{"u1", "", "untagged"},
						{"pr-2", "pr-2", "matches delete_tags pr-*"},
						{"u2", "", "untagged"},
					},
					keep: []row{
						{"pr-3", "pr-3", "newest 2 tagged candidates"},
						{"pr-4", "pr-4", "newest 2 tagged candidates"},
						{"u3", "", "newest 2 untagged"},
						{"u4", "", "newest 2 untagged"},
					},
				}
			},
		},
		"older_than": {
			files: olderThan2d,
			setup: func(t *testing.T, w *world, n names) expect {
				pushDays(w, n)
				return expect{
					del:  []row{{"3d", "", "untagged, older than 2d"}},
					keep: []row{{"1d", "", "younger than 2d"}},
				}
			},
		},
		"older_than, a week later": {
			files: olderThan2d,
			later: 7 * day,
			setup: func(t *testing.T, w *world, n names) expect {
				pushDays(w, n)
				return expect{del: []row{
					{"3d", "", "untagged, older than 2d"},
					{"1d", "", "untagged, older than 2d"},
				}}
			},
		},
		"child shared by two indexes": {
			setup: func(t *testing.T, w *world, n names) expect {
				shared, own := n.image(t, w, "shared"), n.image(t, w, "own")
				n.add("v1", w.push(index(plat{"linux/amd64", shared, nil}), 5*day, "v1"))
				old := n.add("old", w.push(index(plat{"linux/amd64", shared, nil}, plat{"linux/arm64", own, nil}), 4*day))
				return expect{
					del: []row{
						{"old", "", "untagged"},
						{"own", "", "child linux/arm64 of index " + short(old) + ", goes with it"},
					},
					keep: []row{
						{"v1", "v1", "tag v1 matches no delete_tags"},
						{"shared", "", "child linux/amd64 of index v1"},
					},
				}
			},
		},
		"nested index": {
			setup: func(t *testing.T, w *world, n names) expect {
				amd, arm := n.image(t, w, "amd64"), n.image(t, w, "arm64")
				mid := index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil})
				midD := n.add("mid", digestOf(t, mid))
				n.add("top", w.push(index(plat{"", nil, mid}), 5*day, "v2"))
				// An old untagged nested index goes whole, top down.
				oamd := n.image(t, w, "old-amd64")
				omid := index(plat{"linux/amd64", oamd, nil})
				omidD := n.add("old-mid", digestOf(t, omid))
				otop := n.add("old-top", w.push(index(plat{"", nil, omid}), 6*day))
				return expect{
					del: []row{
						{"old-top", "", "untagged"},
						{"old-mid", "", "child of index " + short(otop) + ", goes with it"},
						{"old-amd64", "", "child linux/amd64 of index " + short(omidD) + ", goes with it"},
					},
					keep: []row{
						{"top", "v2", "tag v2 matches no delete_tags"},
						{"mid", "", "child of index v2"},
						{"amd64", "", "child linux/amd64 of index " + short(midD)},
						{"arm64", "", "child linux/arm64 of index " + short(midD)},
					},
				}
			},
		},
		"cosign signature and attestation tags": {
			setup: func(t *testing.T, w *world, n names) expect {
				rel := n.push(w, "v1", 5*day, "v1")
				tag := strings.Replace(rel, ":", "-", 1)
				n.push(w, "sig", 5*day, tag+".sig")
				n.push(w, "att", 5*day, tag+".att")
				old := n.push(w, "old", 4*day)
				otag := strings.Replace(old, ":", "-", 1)
				n.push(w, "old-sig", 4*day, otag+".sig")
				// A signature whose image is gone goes too.
				n.push(w, "orphan-sig", 4*day, "sha256-"+strings.Repeat("ab", 32)+".sig")
				return expect{
					del: []row{
						// Same age: the older group is the one pushed first.
						{"old", "", "untagged"},
						{"old-sig", otag + ".sig", "signature of " + short(old) + ", goes with it"},
						{"orphan-sig", "sha256-" + strings.Repeat("ab", 32) + ".sig", "signature of sha256:abababababab, which is gone"},
					},
					keep: []row{
						{"v1", "v1", "tag v1 matches no delete_tags"},
						{"sig", tag + ".sig", "signature of v1"},
						{"att", tag + ".att", "attestation of v1"},
					},
				}
			},
		},
		"OCI 1.1 referrer without a tag of its own": {
			setup: func(t *testing.T, w *world, n names) expect {
				subject := w.image("v1")
				rel := n.add("v1", w.push(subject, 5*day, "v1"))
				ref := mutate.ConfigMediaType(w.image("sbom"), types.MediaType("application/vnd.in-toto+json"))
				ref = mutate.Subject(ref, describe(t, subject)).(v1.Image)
				n.add("referrer", w.push(ref, 5*day))
				// The client fell back to the tag schema: an index tagged
				// sha256-<hex> lists the referrer.
				tag := strings.Replace(rel, ":", "-", 1)
				for _, v := range w.versions("app") {
					if len(v.Tags) == 1 && v.Tags[0] == tag {
						n.add("referrers", v.Name)
					}
				}
				return expect{keep: []row{
					{"v1", "v1", "tag v1 matches no delete_tags"},
					{"referrer", "", "attestation of v1"},
					{"referrers", tag, "referrers index of v1"},
				}}
			},
		},
		"ghost and partial indexes": {
			setup: func(t *testing.T, w *world, n names) expect {
				gamd, garm := w.image("ghost-amd64"), w.image("ghost-arm64")
				n.add("ghost", w.push(index(plat{"linux/amd64", gamd, nil}, plat{"linux/arm64", garm, nil}), 5*day, "pr-7"))
				w.deleteVersion(digestOf(t, gamd))
				w.deleteVersion(digestOf(t, garm))
				pamd, parm := w.image("partial-amd64"), w.image("partial-arm64")
				n.add("partial-amd64", digestOf(t, pamd))
				partial := n.add("partial", w.push(index(plat{"linux/amd64", pamd, nil}, plat{"linux/arm64", parm, nil}), 4*day))
				w.deleteVersion(digestOf(t, parm))
				return expect{del: []row{
					{"ghost", "pr-7", "matches delete_tags pr-*"},
					{"partial", "", "untagged"},
					{"partial-amd64", "", "child linux/amd64 of index " + short(partial) + ", goes with it"},
				}}
			},
		},
		"children pushed minutes before their index": {
			setup: func(t *testing.T, w *world, n names) expect {
				// buildx pushes the platforms, then the index: a plan in
				// between sees untagged, unreferenced manifests.
				n.push(w, "amd64", 3*time.Minute)
				n.push(w, "arm64", 2*time.Minute)
				return expect{keep: []row{
					{"amd64", "", "younger than 1h"},
					{"arm64", "", "younger than 1h"},
				}}
			},
		},
		"index pushed after its children": {
			setup: func(t *testing.T, w *world, n names) expect {
				amd, arm := w.image("amd64"), w.image("arm64")
				n.add("amd64", w.push(amd, 3*time.Minute))
				n.add("arm64", w.push(arm, 2*time.Minute))
				idx := n.add("index", w.push(index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil}), time.Minute))
				return expect{keep: []row{
					{"index", "", "younger than 1h"},
					{"amd64", "", "child linux/amd64 of index " + short(idx)},
					{"arm64", "", "child linux/arm64 of index " + short(idx)},
				}}
			},
		},
		"manifest read fails": {
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "v1", 5*day, "v1")
				bad := n.push(w, "old", 4*day)
				w.failManifest(bad)
				return expect{
					untouched: fmt.Sprintf("manifest %s of version %d could not be read: ", bad, w.id(bad)),
					keep:      []row{{"v1", "v1", "untouched"}, {"old", "", "untouched"}},
				}
			},
		},
		"org defaults": {
			files: map[string]string{".github": oneRule(`"*"`, "any", "untagged: true, older_than: 3d")},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "old", 4*day)
				n.push(w, "new", 2*day)
				return expect{
					origin: "acme/.github:.github/pkgwarden.yml",
					del:    []row{{"old", "", "untagged, older than 3d"}},
					keep:   []row{{"new", "", "younger than 3d"}},
				}
			},
		},
		"_extends": {
			files: map[string]string{
				".github:.github/base.yml": oneRule(`"app"`, "container", `delete_tags: ["pr-*"]`),
				"app":                      "_extends: acme/.github:.github/base.yml\ndry_run: true\n",
			},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "pr-1", 4*day, "pr-1")
				n.push(w, "old", 4*day)
				return expect{
					origin: "acme/app:.github/pkgwarden.yml",
					dryRun: true,
					del:    []row{{"pr-1", "pr-1", "matches delete_tags pr-*"}},
					keep:   []row{{"old", "", "untagged, and prune.untagged is off"}},
				}
			},
		},
		"another repository's file names this package": {
			files: map[string]string{}, // none
			loader: func(l *rules.Loader) error {
				return l.Override("acme", "other", "try.yml", []byte(oneRule(`"app"`, "container", "untagged: true")))
			},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "old", 4*day)
				return expect{
					notice: "try.yml rule 1 names package app, which is linked to acme/app, not acme/other: ignored for it",
					keep:   []row{{"old", "", "no pkgwarden.yml governs this package"}},
				}
			},
		},
		"another owner's files name this package": {
			files: map[string]string{}, // none
			setup: func(t *testing.T, w *world, n names) expect {
				// globex holds a policy-free owner file and a repository
				// named like acme's, both readable with the token the
				// planner uses, both naming app by every spelling.
				w.must(w.sim.AddOrg("globex", "alice"))
				hostile := []byte(oneRule(`"*", "app", "acme/app"`, "", `untagged: true, delete_tags: ["*"]`))
				for _, repo := range []string{".github", "app"} {
					w.must(w.sim.AddRepo("globex", repo, ghsim.RepoOptions{}))
					if err := w.sim.PutFile("globex", repo, "main", rules.Path, hostile, "alice"); err != nil {
						t.Fatal(err)
					}
				}
				n.push(w, "old", 4*day)
				n.push(w, "pr-1", 4*day, "pr-1")
				return expect{keep: []row{
					{"old", "", "no pkgwarden.yml governs this package"},
					{"pr-1", "pr-1", "no pkgwarden.yml governs this package"},
				}}
			},
		},
		"another owner's trial file names this package": {
			loader: func(l *rules.Loader) error {
				return l.Override("globex", "app", "try.yml", []byte(oneRule(`"*"`, "", `untagged: true, delete_tags: ["*"]`)))
			},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "v1", 4*day, "v1")
				n.push(w, "young", 30*time.Minute)
				// acme/app's own rules decide, with no word of globex.
				return expect{
					origin: "acme/app:.github/pkgwarden.yml",
					keep: []row{
						{"v1", "v1", "tag v1 matches no delete_tags"},
						{"young", "", "younger than 1h"},
					},
				}
			},
		},
		"policy.repository_rules: deny": {
			files: map[string]string{
				".github": `rules:
  - packages: ["*"]
    prune: {untagged: false}
policy: {repository_rules: deny}
`,
				"app": appRules,
			},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "old", 4*day)
				return expect{
					origin: "acme/.github:.github/pkgwarden.yml",
					notice: "acme/app:.github/pkgwarden.yml ignored: policy.repository_rules is deny in acme/.github:.github/pkgwarden.yml",
					keep:   []row{{"old", "", "untagged, and prune.untagged is off"}},
				}
			},
		},
		"invalid file": {
			files: map[string]string{"app": "rules:\n  - packages: [\"app\"]\n    prune: {untaged: true}\n"},
			setup: func(t *testing.T, w *world, n names) expect {
				n.push(w, "old", 4*day)
				return expect{
					untouched: "invalid configuration: rules for acme/container/app: ",
					keep:      []row{{"old", "", "untouched"}},
				}
			},
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			files := tc.files
			if files == nil {
				files = map[string]string{"app": appRules}
			}
			for where, content := range files {
				repo, path, ok := strings.Cut(where, ":")
				if !ok {
					path = rules.Path
				}
				w.file(repo, path, content)
			}
			n := names{}
			want := tc.setup(t, w, n)
			l := rules.NewLoader(w.source())
			if tc.loader != nil {
				if err := tc.loader(l); err != nil {
					t.Fatal(err)
				}
			}
			plan, err := w.planner(l, tc.later).PlanOwner(context.Background(), "acme", planner.Filter{Package: "app"})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Packages) != 1 {
				t.Fatalf("planned %d packages, want 1", len(plan.Packages))
			}
			d := plan.Packages[0]
			if got := rows(d.Delete, n); !reflect.DeepEqual(got, nonNil(want.del)) {
				t.Errorf("delete:\n got %v\nwant %v", got, want.del)
			}
			if got := sortRows(rows(d.Keep, n)); !reflect.DeepEqual(got, sortRows(nonNil(want.keep))) {
				t.Errorf("keep:\n got %v\nwant %v", got, sortRows(want.keep))
			}
			if !strings.HasPrefix(d.Untouched, want.untouched) || (want.untouched == "") != (d.Untouched == "") {
				t.Errorf("untouched = %q, want prefix %q", d.Untouched, want.untouched)
			}
			if want.notice != "" && !contains(d.Notices, want.notice) {
				t.Errorf("notices = %q, want %q among them", d.Notices, want.notice)
			}
			if want.origin != "" && d.Origin != want.origin {
				t.Errorf("origin = %q, want %q", d.Origin, want.origin)
			}
			if d.DryRun != want.dryRun {
				t.Errorf("dry run = %t, want %t", d.DryRun, want.dryRun)
			}
		})
	}
}

func nonNil(r []row) []row {
	if r == nil {
		return []row{}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(t *testing.T, img v1.Image) v1.Descriptor {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	sz, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Size: sz, Digest: d}
}

// TestPlanOwner plans every package of an owner: types in order, filters,
// and npm versions next to containers.
func TestPlanOwner(t *testing.T) {
	w := newWorld(t)
	w.file(".github", rules.Path, `rules:
  - packages: ["*"]
    type: npm
    prune: {keep_latest: 1, prerelease_only: true}
  - packages: ["*"]
    type: container
    prune: {untagged: true}
`)
	w.push(w.image("app-old"), 2*day)
	w.pushTo("tool", w.image("tool-old"), 2*day)
	for i, v := range []string{"1.0.0", "1.1.0-rc.1", "1.1.0"} {
		if _, err := w.sim.Publish("acme", "npm", "client", v, ghsim.PublishOptions{
			Repository: "acme/other", CreatedAt: w.base.Add(-time.Duration(10-i) * day),
		}); err != nil {
			t.Fatal(err)
		}
	}
	var stages []planner.Stage
	var last planner.Progress
	c := w.clients()
	p, err := planner.New(planner.Options{Packages: c.Packages, Graphs: c.Registry, Loader: rules.NewLoader(w.source()),
		Now: func() time.Time { return w.base }, Progress: func(pr planner.Progress) {
			if len(stages) == 0 || stages[len(stages)-1] != pr.Stage {
				stages = append(stages, pr.Stage)
			}
			last = pr
		}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		filter planner.Filter
		want   []string // owner/type/name: deletions
	}{
		"everything":        {planner.Filter{}, []string{"acme/container/app: 1", "acme/container/tool: 1", "acme/npm/client: 1"}},
		"one type":          {planner.Filter{Type: "npm"}, []string{"acme/npm/client: 1"}},
		"one repository":    {planner.Filter{Repository: "acme/other"}, []string{"acme/npm/client: 1"}},
		"one package":       {planner.Filter{Package: "TOOL"}, []string{"acme/container/tool: 1"}},
		"package with type": {planner.Filter{Package: "app", Type: "container"}, []string{"acme/container/app: 1"}},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			plan, err := p.PlanOwner(context.Background(), "acme", tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range plan.Packages {
				got = append(got, fmt.Sprintf("%s: %d", d.Package, len(d.Delete)))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan = %v, want %v", got, tc.want)
			}
			if tot := plan.Totals(); tot.Packages != len(tc.want) || tot.Delete != len(tc.want) {
				t.Errorf("totals = %+v", tot)
			}
		})
	}
	stages = nil
	if _, err := p.PlanOwner(context.Background(), "acme", planner.Filter{Package: "app", Type: "container"}); err != nil {
		t.Fatal(err)
	}
	wantStages := []planner.Stage{planner.StageListPackages, planner.StageListVersions, planner.StageReadGraph, planner.StageDecided}
	if !reflect.DeepEqual(stages, wantStages) {
		t.Errorf("stages = %v, want %v", stages, wantStages)
	}
	if last.Stage != planner.StageDecided || last.Done != last.Total || last.Total == 0 {
		t.Errorf("last progress = %+v", last)
	}

	for label, tc := range map[string]struct {
		filter planner.Filter
		err    error
		has    string
	}{
		"unknown package":        {planner.Filter{Package: "nope"}, githubapi.ErrNotFound, `package "nope"`},
		"unknown package, typed": {planner.Filter{Package: "nope", Type: "npm"}, githubapi.ErrNotFound, "nope"},
		"unknown type":           {planner.Filter{Type: "pypi"}, nil, `unknown package type "pypi"`},
	} {
		t.Run(label, func(t *testing.T) {
			_, err := p.PlanOwner(context.Background(), "acme", tc.filter)
			if err == nil || !strings.Contains(err.Error(), tc.has) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("err = %v, want %v containing %q", err, tc.err, tc.has)
			}
		})
	}
}

// TestPlanPackage is the prune job's entry point: one package, given.
func TestPlanPackage(t *testing.T) {
	w := newWorld(t)
	w.file("app", rules.Path, appRules)
	old := w.push(w.image("old"), 2*day)
	c := w.clients()
	sel, err := w.planner(nil, 0).Select(context.Background(), "acme", planner.Filter{Package: "app", Type: "container"})
	if err != nil {
		t.Fatal(err)
	}
	for label, tc := range map[string]struct {
		graphs    planner.Graphs
		delete    int
		untouched string
	}{
		"with the registry": {graphs: c.Registry, delete: 1},
		"without":           {graphs: nil, untouched: "manifest " + old + " of version"},
	} {
		t.Run(label, func(t *testing.T) {
			p, err := planner.New(planner.Options{Packages: c.Packages, Graphs: tc.graphs, Loader: rules.NewLoader(w.source()),
				Now: func() time.Time { return w.base }})
			if err != nil {
				t.Fatal(err)
			}
			d, err := p.PlanPackage(context.Background(), sel.Owner, sel.Packages[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Delete) != tc.delete || !strings.HasPrefix(d.Untouched, tc.untouched) || (tc.untouched == "") != (d.Untouched == "") {
				t.Errorf("decision: delete %v, untouched %q", d.Delete, d.Untouched)
			}
		})
	}
	if _, err := planner.New(planner.Options{Loader: rules.NewLoader(w.source())}); err == nil {
		t.Error("New without a packages client: no error")
	}
}

// TestPlanPackageHolds: the versions Options.Holds names are kept by the
// one decision, with the hold's reason; Holds is given the package and its
// listed versions, and its error fails the plan.
func TestPlanPackageHolds(t *testing.T) {
	w := newWorld(t)
	w.file("app", rules.Path, appRules)
	old := w.push(w.image("old"), 3*day)
	older := w.push(w.image("older"), 4*day)
	c := w.clients()
	sel, err := w.planner(nil, 0).Select(context.Background(), "acme", planner.Filter{Package: "app", Type: "container"})
	if err != nil {
		t.Fatal(err)
	}
	var asked []rules.Version
	var askedPkg rules.Package
	holdErr := errors.New("inventory down")
	plan := func(fail bool) (rules.Decision, error) {
		p, err := planner.New(planner.Options{Packages: c.Packages, Graphs: c.Registry, Loader: rules.NewLoader(w.source()),
			Now: func() time.Time { return w.base },
			Holds: func(_ context.Context, pkg rules.Package, versions []rules.Version) (map[int64]string, error) {
				askedPkg, asked = pkg, versions
				if fail {
					return nil, holdErr
				}
				return map[int64]string{w.id(older): "held for the test"}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		return p.PlanPackage(context.Background(), sel.Owner, sel.Packages[0])
	}
	d, err := plan(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Delete) != 1 || d.Delete[0].Version != old {
		t.Errorf("delete %v, want only %s", d.Delete, old)
	}
	var held *rules.Entry
	for i, e := range d.Keep {
		if e.Version == older {
			held = &d.Keep[i]
		}
	}
	if held == nil || held.Kind != rules.KindHeld || held.Reason != "held for the test" {
		t.Errorf("keep %+v, want %s held for the test", d.Keep, older)
	}
	if askedPkg.Name != "app" || len(asked) != 2 {
		t.Errorf("Holds asked for %+v with %d versions, want app with 2", askedPkg, len(asked))
	}
	if _, err := plan(true); !errors.Is(err, holdErr) {
		t.Errorf("err = %v, want the error of Holds", err)
	}
}

func TestNewClientsNeedsTheOwnersToken(t *testing.T) {
	tokens, err := githubapi.ParsePackagesTokens("acme=ghp_a", "")
	if err != nil {
		t.Fatal(err)
	}
	a := &planner.Access{Tokens: tokens}
	if _, err := a.Session("acme"); err != nil {
		t.Errorf("acme: %v", err)
	}
	_, err = a.Session("other")
	if !errors.Is(err, githubapi.ErrNoPackagesToken) || !strings.Contains(err.Error(), "other") {
		t.Errorf("other: err = %v, want ErrNoPackagesToken naming the owner", err)
	}
}

func TestRegistryRepository(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"acme", "app"}:      "acme/app",
		{"Acme", "Team/App"}: "acme/team/app",
	} {
		if got := planner.RegistryRepository(in[0], in[1]); got != want {
			t.Errorf("RegistryRepository(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
