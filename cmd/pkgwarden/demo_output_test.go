package main

import (
	"bytes"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestDemoCounts checks the demo's counts against the vocabulary the
// issues and --json share: each listed version in one list (a version
// GitHub refused is refused, not also kept, even when the rules hold
// it), a deletion brought back is restored and no longer restorable,
// and the line leaves out zeros but kept.
func TestDemoCounts(t *testing.T) {
	pkg := rules.Package{Owner: "acme", Type: rules.TypeContainer, Name: "app", Repository: "acme/app"}
	e := func(id int64, kind rules.Kind, tags ...string) rules.Entry {
		return rules.Entry{ID: id, Version: "sha256:" + string(rune('a'+id)), Tags: tags, Kind: kind, Reason: string(kind)}
	}
	first := prune.Run{Package: pkg,
		Decision: rules.Decision{Keep: []rules.Entry{e(5, rules.KindExcluded, "v1"), e(6, rules.KindYoung)}},
		Deleted:  []rules.Entry{e(1, rules.KindUntagged), e(2, rules.KindDeleteTags, "pr-2")},
		Skipped:  []rules.Entry{e(3, rules.KindDeleteTags, "pr-3")},
	}
	// A later run holds the refused version: the rules keep it for
	// GitHub's refusal, which makes it refused, not kept.
	later := prune.Run{Package: pkg,
		Decision: rules.Decision{Keep: []rules.Entry{e(3, rules.KindHeld, "pr-3"), e(5, rules.KindExcluded, "v1"), e(6, rules.KindYoung)}},
	}
	dry := prune.Run{Package: pkg, Outcome: prune.OutcomeDryRun,
		Decision: rules.Decision{DryRun: true, Delete: []rules.Entry{e(1, rules.KindUntagged)}, Keep: []rules.Entry{e(5, rules.KindExcluded, "v1")}},
	}
	for _, tc := range []struct {
		name     string
		runs     []prune.Run
		restored []int64
		want     string
	}{
		{"one run", []prune.Run{first}, nil, "deleted 2 · 2 restorable · refused 1 · kept 2"},
		{"refused once, not kept", []prune.Run{first, later}, nil, "deleted 2 · 2 restorable · refused 1 · kept 2"},
		{"restored", []prune.Run{first, later}, []int64{2}, "deleted 2 · 1 restorable · restored 1 · refused 1 · kept 2"},
		{"dry run", []prune.Run{dry}, nil, "would delete 1 · kept 1"},
		{"nothing", []prune.Run{{Package: pkg}}, nil, "kept 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := summarize(tc.runs)
			for _, id := range tc.restored {
				res.Restored = append(res.Restored, demoEntry{Package: pkg.String(), ID: id})
			}
			got := countsFor(res, pkg.String())
			if got.String() != tc.want {
				t.Errorf("counts %q, want %q", got, tc.want)
			}
			// Every listed version is in one list.
			seen := map[int64]string{}
			for name, list := range map[string][]demoEntry{"deleted": res.Deleted, "kept": res.Kept, "refused": res.Skipped} {
				for _, e := range list {
					if other, ok := seen[e.ID]; ok {
						t.Errorf("version %d listed as %s and %s", e.ID, other, name)
					}
					seen[e.ID] = name
				}
			}
		})
	}
}

// TestDemoTextFromGitHub checks that text written on GitHub reaches the
// terminal on one line where the demo echoes it, and never with control
// characters (an escape sequence in a comment would drive the terminal).
func TestDemoTextFromGitHub(t *testing.T) {
	for _, tc := range []struct{ in, line, block string }{
		{"plain", "plain", "  plain\n"},
		{"two\nlines", "two lines", "  two\n  lines\n"},
		{"red \x1b[31malert\x1b[0m\r bell\a", "red [31malert[0m bell", "  red [31malert[0m bell\n"},
		{"c1 \u009b31m", "c1 31m", "  c1 31m\n"},
		{"<!-- marker -->\nshown", "<!-- marker --> shown", "  shown\n"},
	} {
		if got := oneLineText(tc.in); got != tc.line {
			t.Errorf("oneLineText(%q) = %q, want %q", tc.in, got, tc.line)
		}
		var b bytes.Buffer
		writeIndented(&b, tc.in, 2)
		if b.String() != tc.block {
			t.Errorf("writeIndented(%q) = %q, want %q", tc.in, b.String(), tc.block)
		}
	}
}
