package configdiff_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/configdiff"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const (
	untaggedOnly = `rules:
  - type: container
    prune:
      untagged: true
`
	allTags = `rules:
  - type: container
    prune:
      untagged: true
      delete_tags: ["*"]
      exclude_tags: ["latest"]
`
	prTags = `rules:
  - type: container
    prune:
      untagged: true
      delete_tags: ["pr-*"]
`
)

// summary is what a diff does, per changed package, in the names of the
// world: "+del" what the new file deletes beyond the old, "-del" the
// reverse, "+res"/"-res" restores starting and stopping.
func summary(w *world, d configdiff.Diff) []string {
	out := []string{}
	named := func(vs []configdiff.Version) string {
		var n []string
		for _, v := range vs {
			name := w.names[v.ID]
			if name == "" {
				name = fmt.Sprint(v.ID)
			}
			if v.Deferred {
				name += "(later)"
			}
			n = append(n, name)
		}
		slices.Sort(n)
		return "[" + strings.Join(n, " ") + "]"
	}
	for _, p := range d.Packages {
		s := fmt.Sprintf("%s +del%s -del%s", p.Name, named(p.Delete), named(p.Keep))
		if len(p.RestoreStart)+len(p.RestoreStop) > 0 {
			s += fmt.Sprintf(" +res%s -res%s", named(p.RestoreStart), named(p.RestoreStop))
		}
		if p.Hands {
			s += " hands " + p.OldRules + " → " + p.NewRules
		}
		if p.Old != p.New && len(p.Delete)+len(p.Keep) == 0 {
			s += fmt.Sprintf(" count %d+%d → %d+%d", p.Old.ThisRun, p.Old.Deferred, p.New.ThisRun, p.New.Deferred)
		}
		out = append(out, s)
	}
	return out
}

func TestCompare(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string // committed, by repository
		// deleteVersions deletes versions (world names) before planning.
		deleteVersions []string
		change         configdiff.Change
		want           []string
		review         bool
		reviewOver     int
		errors         []string
		unchanged      int
	}{
		"delete_tags * adds the tagged versions but the excluded one": {
			files:  map[string]string{"app": untaggedOnly},
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte(allTags)}},
			want:   []string{"app +del[app/pr1 app/v1] -del[]"},
			// web is not governed on either side.
			unchanged: 1, reviewOver: 100,
		},
		"narrowing delete_tags keeps what the old file deleted": {
			files:     map[string]string{"app": allTags},
			change:    configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte(prTags)}},
			want:      []string{"app +del[] -del[app/v1]"},
			unchanged: 1, reviewOver: 100,
		},
		"--against: both sides given, the committed file unused": {
			files: map[string]string{"app": "rules: []\n"},
			change: configdiff.Change{Repo: "app",
				Old: configdiff.File{Name: "old.yml", Data: []byte(prTags)},
				New: configdiff.File{Name: "new.yml", Data: []byte(allTags)}},
			want:      []string{"app +del[app/v1] -del[]"},
			unchanged: 1, reviewOver: 100,
		},
		"the owner's policy reaches every repository's packages": {
			files: map[string]string{"app": allTags, "web": prTags, ".github": "rules: []\n"},
			change: configdiff.Change{Repo: ".github", New: configdiff.File{Name: "owner.yml",
				Data: []byte("rules: []\npolicy:\n  min_untagged_age: 40d\n")}},
			want: []string{
				"app +del[] -del[app/pr1 app/u1 app/v1]",
				"web +del[] -del[web/pr1 web/u1]",
			},
			reviewOver: 100,
		},
		"the owner's cap defers deletions without changing which": {
			files: map[string]string{"app": allTags, "web": prTags},
			change: configdiff.Change{Repo: ".github", New: configdiff.File{Name: "owner.yml",
				Data: []byte("policy:\n  max_deletions_per_run: 1\n")}},
			want: []string{
				"app +del[] -del[] count 3+0 → 1+2",
				"web +del[] -del[] count 2+0 → 1+1",
			},
			reviewOver: 100,
		},
		"repository_rules deny hands both repositories to the owner's rules": {
			files: map[string]string{"app": untaggedOnly, "web": untaggedOnly, ".github": prTags},
			change: configdiff.Change{Repo: ".github", New: configdiff.File{Name: "owner.yml",
				Data: []byte(prTags + "policy:\n  repository_rules: deny\n")}},
			want: []string{
				"app +del[app/pr1] -del[] hands acme/app:.github/pkgwarden.yml → acme/.github:.github/pkgwarden.yml",
				"web +del[web/pr1] -del[] hands acme/web:.github/pkgwarden.yml → acme/.github:.github/pkgwarden.yml",
			},
			reviewOver: 100,
		},
		"a repository file removed hands its package to the owner's rules": {
			files:  map[string]string{"app": untaggedOnly, ".github": allTags},
			change: configdiff.Change{Repo: "app", New: configdiff.File{Absent: true}},
			want: []string{
				"app +del[app/pr1 app/v1] -del[] hands acme/app:.github/pkgwarden.yml → acme/.github:.github/pkgwarden.yml",
			},
			unchanged: 1, reviewOver: 100,
		},
		"a repository file added takes its package from no rules": {
			change:    configdiff.Change{Repo: "web", Old: configdiff.File{Absent: true}, New: configdiff.File{Name: "new.yml", Data: []byte(prTags)}},
			want:      []string{"web +del[web/pr1 web/u1] -del[] hands none → acme/web:.github/pkgwarden.yml"},
			unchanged: 1, reviewOver: 100,
		},
		"over the threshold of the old policy": {
			files:  map[string]string{".github": "rules: []\npolicy:\n  review_deletions_over: 3\n"},
			change: configdiff.Change{Repo: ".github", New: configdiff.File{Name: "owner.yml", Data: []byte(prTags + "policy:\n  review_deletions_over: 1000\n")}},
			want: []string{
				"app +del[app/pr1 app/u1] -del[]",
				"web +del[web/pr1 web/u1] -del[]",
			},
			// The new file raises its own bar in vain: 4 > 3.
			review: true, reviewOver: 3,
		},
		"at the threshold is within it": {
			files:  map[string]string{".github": "policy:\n  review_deletions_over: 2\n"},
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte(prTags)}},
			// The owner's file, a policy alone, governed app before.
			want:      []string{"app +del[app/pr1 app/u1] -del[] hands acme/.github:.github/pkgwarden.yml → acme/app:.github/pkgwarden.yml"},
			unchanged: 1, reviewOver: 2,
		},
		"a base file others _extends reaches the packages of the files extending it": {
			files: map[string]string{"app": "_extends: acme/.github:shared/base.yml\n", ".github:shared/base.yml": prTags},
			change: configdiff.Change{Repo: ".github", Path: "shared/base.yml",
				New: configdiff.File{Name: "base.yml", Data: []byte(allTags)}},
			want:      []string{"app +del[app/v1] -del[]"},
			unchanged: 1, reviewOver: 100,
		},
		"an _extends to a file that does not exist leaves the package untouched, and says why": {
			files: map[string]string{"app": prTags},
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml",
				Data: []byte("_extends: acme/.github:nope.yml\n")}},
			want:      []string{"app +del[] -del[app/pr1 app/u1]"},
			errors:    []string{"acme/app: new.yml:1:11: _extends: acme/.github:nope.yml not found"},
			unchanged: 1, reviewOver: 100,
		},
		"restore.tags added starts restores of deleted versions": {
			files:          map[string]string{"app": prTags},
			deleteVersions: []string{"app/v1"},
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml",
				Data: []byte(prTags + "    restore:\n      tags: [\"v*\"]\n")}},
			want:      []string{"app +del[] -del[] +res[app/v1] -res[]"},
			unchanged: 1, reviewOver: 100,
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, tc.files)
			for _, v := range tc.deleteVersions {
				pkg, _, _ := strings.Cut(v, "/")
				if err := w.sim.DeleteVersion("acme", "container", pkg, ghsimRef(w.ids[v]), day); err != nil {
					t.Fatal(err)
				}
			}
			p, sel := w.planner(nil)
			d, err := configdiff.Compare(context.Background(), p, w.source(), sel, tc.change)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(w, d); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diff:\n got %q\nwant %q", got, tc.want)
			}
			var errs []string
			for _, e := range d.Errors {
				errs = append(errs, e.Error())
			}
			if !reflect.DeepEqual(errs, tc.errors) {
				t.Errorf("errors %q, want %q", errs, tc.errors)
			}
			if d.Review != tc.review || d.ReviewOver != tc.reviewOver || d.Unchanged != tc.unchanged {
				t.Errorf("review %v over %d, unchanged %d; want %v over %d, unchanged %d", d.Review, d.ReviewOver, d.Unchanged, tc.review, tc.reviewOver, tc.unchanged)
			}
		})
	}
}

// TestCompareIsPlanConfigMinusPlan: the deletions the diff adds are
// exactly those `plan --config NEW` lists beyond plan's with the
// committed file, and GitHub is read once per package for both sides.
func TestCompareIsPlanConfigMinusPlan(t *testing.T) {
	w := newWorld(t, map[string]string{"app": untaggedOnly, ".github": prTags})
	ctx := context.Background()
	deletes := func(l *rules.Loader) map[int64]bool {
		p, sel := w.planner(l)
		plan, err := p.PlanSelection(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for _, d := range plan.Packages {
			for _, e := range d.Delete {
				out[e.ID] = true
			}
		}
		return out
	}
	before := deletes(nil)
	l := rules.NewLoader(w.source())
	if err := l.Override("acme", "app", "new.yml", []byte(allTags)); err != nil {
		t.Fatal(err)
	}
	after := deletes(l)
	var want []int64
	for id := range after {
		if !before[id] {
			want = append(want, id)
		}
	}
	slices.Sort(want)

	w.reads.reset()
	p, sel := w.planner(nil)
	d, err := configdiff.Compare(ctx, p, w.source(), sel, configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte(allTags)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, pkg := range d.Packages {
		for _, v := range pkg.Delete {
			got = append(got, v.ID)
		}
	}
	slices.Sort(got)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("diff adds %v, plan --config adds %v", got, want)
	}
	wantReads := map[string]int{
		"list active container/app": 1, "graph acme/app": 1,
		"list active container/web": 1, "graph acme/web": 1,
	}
	if got := w.reads.snapshot(); !reflect.DeepEqual(got, wantReads) {
		t.Errorf("reads %v, want each package once: %v", got, wantReads)
	}
}

// TestCompareInvalid: a side that does not decode is an InvalidError
// naming its file, line and column, and which side it is.
func TestCompareInvalid(t *testing.T) {
	w := newWorld(t, nil)
	p, sel := w.planner(nil)
	for name, tc := range map[string]struct {
		change configdiff.Change
		side   string
		want   string
	}{
		"new": {
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte("rules:\n  - prune:\n      older_then: 3d\n")}},
			side:   "new",
			want:   "new.yml:3:7: rules[0].prune.older_then: unknown key; did you mean `older_than`?",
		},
		"old": {
			change: configdiff.Change{Repo: "app", Old: configdiff.File{Name: "old.yml", Data: []byte("dry_run: maybe\n")}, New: configdiff.File{Name: "new.yml", Data: []byte(prTags)}},
			side:   "old",
			want:   "old.yml:1:10: dry_run: must be true or false, got string \"maybe\"",
		},
		"base file": {
			change: configdiff.Change{Repo: ".github", Path: "shared/base.yml", New: configdiff.File{Name: "base.yml", Data: []byte("rules: {oops: 1}\n")}},
			side:   "new",
			want:   "base.yml:1:8: rules: must be a list of rules, got a mapping",
		},
		"policy in a repository file": {
			change: configdiff.Change{Repo: "app", New: configdiff.File{Name: "new.yml", Data: []byte("policy:\n  review_deletions_over: 1\n")}},
			side:   "new",
			want:   "new.yml:1:1: policy: only allowed in the owner's acme/.github repository",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := configdiff.Compare(context.Background(), p, w.source(), sel, tc.change)
			var inv *configdiff.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want an InvalidError", err)
			}
			if inv.Side != tc.side || err.Error() != tc.want {
				t.Errorf("side %s: %v\nwant side %s: %s", inv.Side, err, tc.side, tc.want)
			}
		})
	}
}
