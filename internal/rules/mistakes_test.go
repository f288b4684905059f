package rules

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestConfigMistakes: the mistakes people make in a file, each with the
// whole message it gets (file, line, column, field, words).
func TestConfigMistakes(t *testing.T) {
	tests := map[string]struct {
		yml  string
		want string
	}{
		"typo in a prune key": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n      older_then: 14d\n",
			want: ".github/pkgwarden.yml:4:7: rules[0].prune.older_then: unknown key; did you mean `older_than`?",
		},
		"letters swapped": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n      untagegd: true\n",
			want: ".github/pkgwarden.yml:4:7: rules[0].prune.untagegd: unknown key; did you mean `untagged`?",
		},
		"dashes for underscores": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n      keep-latest: 3\n",
			want: ".github/pkgwarden.yml:4:7: rules[0].prune.keep-latest: unknown key; did you mean `keep_latest`?",
		},
		"capitals": {
			yml:  "Dry_Run: true\n",
			want: ".github/pkgwarden.yml:1:1: Dry_Run: unknown key; did you mean `dry_run`?",
		},
		"key cut short": {
			yml:  "policy:\n  max_deletions: 10\n",
			want: ".github/pkgwarden.yml:2:3: policy.max_deletions: unknown key; did you mean `max_deletions_per_run`?",
		},
		"singular": {
			yml:  "rule:\n  - packages: [app]\n",
			want: ".github/pkgwarden.yml:1:1: rule: unknown key; did you mean `rules`?",
		},
		"nothing close": {
			yml:  "rules:\n  - packages: [app]\n    schedule: daily\n",
			want: ".github/pkgwarden.yml:3:5: rules[0].schedule: unknown key (known: packages, type, prune, restore)",
		},
		"short key, two edits off, no guess": {
			yml:  "rules:\n  - packages: [app]\n    tpe2: npm\n",
			want: ".github/pkgwarden.yml:3:5: rules[0].tpe2: unknown key (known: packages, type, prune, restore)",
		},
		"prune key one level too far left": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n    untagged: true\n",
			want: ".github/pkgwarden.yml:4:5: rules[0].untagged: unknown key here; `untagged` belongs under `prune:` (indent it below that key)",
		},
		"policy key at the top": {
			yml:  "min_untagged_age: 1h\n",
			want: ".github/pkgwarden.yml:1:1: min_untagged_age: unknown key here; `min_untagged_age` belongs under `policy:` (indent it below that key)",
		},
		"tab at the top": {
			yml:  "dry_run: true\n\trules: []\n",
			want: ".github/pkgwarden.yml:2:1: indented with a tab; YAML needs spaces",
		},
		"tab after spaces": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n    \tuntagged: true\n",
			want: ".github/pkgwarden.yml:4:5: indented with a tab; YAML needs spaces",
		},
		"indented under a value": {
			yml:  "rules:\n  - packages: [app]\n    type: container\n     prune:\n      untagged: true\n",
			want: ".github/pkgwarden.yml:4:6: indented more than line 3 (\"type: container\"), which already has a value: only the lines under a key ending in \":\" go further right; line it up with the line above",
		},
		"top key indented": {
			yml:  "dry_run: true\n  rules: []\n",
			want: ".github/pkgwarden.yml:2:3: indented more than line 1 (\"dry_run: true\"), which already has a value: only the lines under a key ending in \":\" go further right; line it up with the line above",
		},
		"between two levels": {
			yml:  "rules:\n  - packages: [app]\n    prune:\n      untagged: true\n     older_than: 7d\n",
			want: ".github/pkgwarden.yml:5:6: this line is indented differently from the lines around it: 5 spaces, where the blocks above it use 6, 4, 2 or 0; line it up with the keys it belongs with",
		},
		"one space short in a rule": {
			yml:  "rules:\n  - packages: [app]\n   type: container\n",
			want: ".github/pkgwarden.yml:3:4: this line is indented differently from the lines around it: 3 spaces, where the blocks above it use 4, 2 or 0; line it up with the keys it belongs with",
		},
		"key under the dashes": {
			yml:  "rules:\n  - packages: [app]\n  type: npm\n",
			want: ".github/pkgwarden.yml:3:3: this line is lined up with the dashes of the list above it (2 spaces): a key of a list entry goes further right, under the first key after its \"- \"",
		},
		"other syntax errors keep the parser's words": {
			yml:  "rules:\n  - packages: [app]\n    prune: {untagged: true\n",
			want: ".github/pkgwarden.yml:3:12: invalid YAML: could not find flow mapping end token '}'",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(Path, []byte(tc.yml))
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Decode(%q) = %v, want an ErrorList", tc.yml, err)
			}
			if got := list.Error(); got != tc.want {
				t.Errorf("Decode(%q):\n got %s\nwant %s", tc.yml, got, tc.want)
			}
		})
	}
}

// TestLayoutQuietOnValidFiles: the layout check never speaks of a file
// the parser reads, whatever style it is written in.
func TestLayoutQuietOnValidFiles(t *testing.T) {
	tests := map[string]string{
		"design example":        designExample,
		"compact list":          "rules:\n- packages: [app]\n  prune:\n    untagged: true\ndry_run: false\n",
		"nested lists":          "rules:\n  - packages:\n      - app\n      - web\n    type: container\n",
		"lone dash":             "rules:\n  -\n    packages: [app]\n",
		"multi-line flow":       "rules:\n  - packages: [\"a\",\n   \"b\"]\n    type: npm\n",
		"block scalar":          "rules:\n  - packages: [app]\n    type: |\n        npm\n      x\n",
		"comments anywhere":     "# top\nrules:   # the rules\n      # odd comment\n  - packages: [app] # c\n",
		"quoted key with colon": "\"dry_run\": true\n'rules': []\n",
		"empty value":           "report:\nrules:\n",
	}
	for name, yml := range tests {
		t.Run(name, func(t *testing.T) {
			if e := explainLayout([]byte(yml)); e != nil {
				t.Errorf("explainLayout(%q) = %v", yml, e)
			}
		})
	}
}

// TestPolicyMisplacedWithOtherErrors: a policy block in a repository's
// file is reported in the same pass as the file's other errors, in file
// order, by Load and by Override (plan --config) alike; alone, it is the
// only error.
func TestPolicyMisplacedWithOtherErrors(t *testing.T) {
	const misplaced = "acme/app: .github/pkgwarden.yml:5:1: policy: only allowed in the owner's acme/.github repository"
	tests := map[string]struct {
		file string
		want []string
	}{
		"with a typo before it": {
			file: "rules:\n  - packages: [app]\n    prune:\n      older_then: 14d\npolicy:\n  max_deletions_per_run: 5\n",
			want: []string{
				"acme/app: .github/pkgwarden.yml:4:7: rules[0].prune.older_then: unknown key; did you mean `older_than`?",
				misplaced,
			},
		},
		"with errors on both sides": {
			file: "dry_run: yes\nrules:\n  - packages: [app]\n    type: pip\npolicy:\n  max_deletions_per_run: 0\n",
			want: []string{
				"acme/app: .github/pkgwarden.yml:1:10: dry_run: must be true or false, got string \"yes\"",
				"acme/app: .github/pkgwarden.yml:4:11: rules[0].type: must be one of npm, maven, rubygems, nuget, docker, container, any, got \"pip\"",
				misplaced,
				"acme/app: .github/pkgwarden.yml:6:26: policy.max_deletions_per_run: must be >= 1, got 0",
			},
		},
		"alone": {
			file: "rules:\n  - packages: [app]\n    type: container\n\npolicy:\n  max_deletions_per_run: 5\n",
			want: []string{misplaced},
		},
	}
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLoader(&memSource{files: map[string]string{appFile: tc.file}})
			_, err := l.Load(context.Background(), app)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load = %v, want an ErrorList", err)
			}
			if got, want := list.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("Load errors:\n%s\nwant:\n%s", got, want)
			}
			err = NewLoader(&memSource{}).Override("acme", "app", Path, []byte(tc.file))
			if !errors.As(err, &list) || len(list) != len(tc.want) || list[len(tc.want)-1].Field == "" {
				t.Errorf("Override errors = %v, want the same %d", err, len(tc.want))
			}
		})
	}
}
