package rules

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// designExample is DESIGN.md's example, every key of the schema.
const designExample = `dry_run: false
report: {labels: [pkgwarden], assignees: []}
rules:                       # first match wins
  - packages: ["*", "!legacy-*"]   # name globs, "!" excludes
    type: container                # npm maven rubygems nuget docker container any
    prune:
      untagged: true
      older_than: 14d              # 30m 12h 7d 2w; measured from created_at
      keep_untagged: 3             # newest N untagged survive
      delete_tags: ["pr-*", "sha-*"]
      keep_tagged: 10              # newest N of the tagged candidates survive
      exclude_tags: ["latest", "v*"]   # never deleted
    restore:
      tags: ["v*", "latest"]       # deleted versions carrying these are restored
      package: true                # a deleted package is restored
      broken: true                 # a kept image's deleted parts are restored (default)
  - packages: ["web-*"]
    type: npm
    prune:
      keep_latest: 20              # npm/maven/nuget/rubygems: newest N versions survive
      prerelease_only: false       # npm/maven/nuget/rubygems: only semver pre-releases go
policy:                      # only in the owner's .github repository
  max_deletions_per_run: 500       # per package per run; the rest waits for the next run
  min_untagged_age: 1h             # floor for every rule (see safety)
  repository_rules: allow          # allow | dry_run | deny
  review_deletions_over: 100       # a change adding more deletions asks for a closer review
`

func TestDecodeDesignExample(t *testing.T) {
	f, err := Decode(Path, []byte(designExample))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if f.dryRun == nil || *f.dryRun {
		t.Errorf("dry_run = %v, want set to false", f.dryRun)
	}
	if f.labels == nil || strings.Join(*f.labels, ",") != "pkgwarden" || f.assignees == nil || len(*f.assignees) != 0 {
		t.Errorf("report = %v %v", f.labels, f.assignees)
	}
	if f.policy == nil || *f.policy.maxDeletions != 500 || *f.policy.minUntaggedAge != time.Hour || *f.policy.repoRules != "allow" || *f.policy.reviewOver != 100 {
		t.Errorf("policy = %+v", f.policy)
	}
	if f.rules == nil || len(*f.rules) != 2 {
		t.Fatalf("rules = %v", f.rules)
	}
	r := (*f.rules)[0]
	if r.Type != TypeContainer || r.Line != 4 || r.Packages.String() != "*, !legacy-*" {
		t.Errorf("rule 0 = type %s line %d packages %s", r.Type, r.Line, r.Packages)
	}
	p := r.Prune
	if p == nil || !p.Untagged || p.OlderThan != 14*24*time.Hour || p.KeepUntagged != 3 || p.KeepTagged != 10 ||
		p.DeleteTags.String() != "pr-*, sha-*" || p.ExcludeTags.String() != "latest, v*" {
		t.Errorf("prune = %+v", p)
	}
	if r.Restore == nil || !r.Restore.Package || !r.Restore.HealsBroken() || !r.Restore.Wants([]string{"x", "v1"}) || r.Restore.Wants([]string{"pr-1"}) {
		t.Errorf("restore = %+v", r.Restore)
	}
	n := (*f.rules)[1]
	if n.Type != TypeNPM || n.Prune.KeepLatest != 20 || n.Prune.PrereleaseOnly {
		t.Errorf("rule 1 = %+v %+v", n, n.Prune)
	}
	for pkg, want := range map[Package]bool{
		{Type: TypeContainer, Name: "app"}:        true,
		{Type: TypeContainer, Name: "Team/App"}:   true,
		{Type: TypeContainer, Name: "legacy-api"}: false,
		{Type: TypeNPM, Name: "app"}:              false,
	} {
		if got := r.Matches(pkg); got != want {
			t.Errorf("rule 0 matches %+v = %v, want %v", pkg, got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in   string
		want time.Duration
		err  string
	}{
		"minutes":    {in: "30m", want: 30 * time.Minute},
		"hours":      {in: "12h", want: 12 * time.Hour},
		"days":       {in: "7d", want: 7 * 24 * time.Hour},
		"weeks":      {in: "2w", want: 14 * 24 * time.Hour},
		"zero":       {in: "0d", want: 0},
		"seconds":    {in: "10s", err: `must be a duration such as 30m, 12h, 7d or 2w, got "10s"`},
		"compound":   {in: "1h30m", err: `must be a duration such as 30m, 12h, 7d or 2w, got "1h30m"`},
		"negative":   {in: "-1d", err: `must be a duration such as 30m, 12h, 7d or 2w, got "-1d"`},
		"no unit":    {in: "14", err: `must be a duration such as 30m, 12h, 7d or 2w, got "14"`},
		"too long":   {in: "521w", err: "must be at most 3640d, got 521w"},
		"huge":       {in: "999999999d", err: "must be at most 3640d, got 999999999d"},
		"empty":      {in: "", err: `must be a duration such as 30m, 12h, 7d or 2w, got ""`},
		"space":      {in: "7 d", err: `must be a duration such as 30m, 12h, 7d or 2w, got "7 d"`},
		"upper case": {in: "7D", err: `must be a duration such as 30m, 12h, 7d or 2w, got "7D"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("ParseDuration(%q) error = %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestDecodeErrors checks every message with its line and column. The
// files live in testdata/bad/*.yml, the messages in the .golden next to
// each; run with -update to rewrite the golden files after a deliberate
// change of wording.
func TestDecodeErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Decode(Path, data)
			if err == nil {
				t.Fatalf("Decode accepted %s: %+v", file, f)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.File != Path || e.Line < 1 || e.Column < 1 {
					t.Errorf("error without position: %#v", e)
				}
			}
			golden := strings.TrimSuffix(file, ".yml") + ".golden"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden: %v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := map[string]string{
		"empty file":           "",
		"comments only":        "# nothing yet\n",
		"empty rules":          "rules: []\n",
		"null rules":           "rules:\n",
		"anchors and aliases":  "rules:\n  - &r {type: npm, prune: {keep_latest: 3}}\n  - *r\n",
		"extends with path":    "_extends: acme/.github:config/pkgwarden.yml\n",
		"extends default path": "_extends: acme/.github\n",
		"only exclusions":      "rules:\n  - packages: [\"!legacy-*\"]\n",
		"flow style":           `{dry_run: true, rules: [{type: any, prune: {older_than: 2w}}]}`,
		"zero keep counts":     "rules:\n  - prune: {keep_untagged: 0, keep_tagged: 0, keep_latest: 0}\n",
		"prerelease on any":    "rules:\n  - type: any\n    prune: {prerelease_only: true, untagged: true}\n",
		"broken image keys":    "rules:\n  - type: container\n    prune: {ghost_images: true, partial_images: false}\n",
		"scoped package names": "rules:\n  - packages: [\"team/*\", \"@acme/web\"]\n",
		"dashboard only":       "report: {dashboard: true, per_package: false}\n",
		"dashboard and issues": "report: {dashboard: true, per_package: true}\n",
	}
	for name, yml := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(Path, []byte(yml)); err != nil {
				t.Fatalf("Decode(%q): %v", yml, err)
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	data := []byte("# " + strings.Repeat("x", MaxFileSize) + "\n")
	_, err := Decode(Path, data)
	want := fmt.Sprintf(".github/pkgwarden.yml:1:1: file is %d bytes, more than the 1048576 allowed", len(data))
	if err == nil || err.Error() != want {
		t.Fatalf("Decode of a huge file: %v, want %s", err, want)
	}
}

func TestDecodeErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := 0; i < 50; i++ {
		b.WriteString("  - {type: nope}\n")
	}
	_, err := Decode(Path, []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxErrors {
		t.Fatalf("got %d errors (%v), want the first %d", len(list), err, maxErrors)
	}
}

// hostileConfigs are files built to hurt a parser or a worker: each must
// be refused, quickly and with a message saying why.
func hostileConfigs() map[string]struct {
	data string
	want string
} {
	laughs := func(top bool) string {
		var b strings.Builder
		prefix := "  - packages: "
		if top {
			prefix = ""
		}
		if !top {
			b.WriteString("rules:\n")
		}
		for i := 0; i < 10; i++ {
			if top {
				prefix = fmt.Sprintf("lol%d: ", i)
			}
			fmt.Fprintf(&b, "%s&l%d [", prefix, i)
			for j := 0; j < 9; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				if i == 0 {
					b.WriteString(`"lol"`)
				} else {
					fmt.Fprintf(&b, "*l%d", i-1)
				}
			}
			b.WriteString("]\n")
		}
		return b.String()
	}
	indented := func(levels int) string {
		var b strings.Builder
		b.WriteString("rules:\n")
		for i := 1; i <= levels; i++ {
			b.WriteString(strings.Repeat(" ", i) + "a:\n")
		}
		return b.String()
	}
	return map[string]struct {
		data string
		want string
	}{
		"negative keep":               {"rules:\n  - prune: {keep_untagged: -1}\n", "rules[0].prune.keep_untagged: must be >= 0, got -1"},
		"absurd keep":                 {"rules:\n  - prune: {keep_latest: 1000000000}\n", "keep_latest: must be <= 100000, got 1000000000"},
		"keep beyond int64":           {"rules:\n  - prune: {keep_latest: 99999999999999999999}\n", "keep_latest: must be an integer"},
		"huge glob list":              {"rules:\n  - packages: [" + strings.Repeat(`"a-*", `, 5000) + "]\n", "rules[0].packages: at most 100 entries, got 5000"},
		"ten megabytes":               {"# " + strings.Repeat("x", 10<<20) + "\n", "more than the 1048576 allowed"},
		"billion laughs in rules":     {laughs(false), "must be a string, got a list"},
		"billion laughs at the top":   {laughs(true), "lol0: unknown key"},
		"laughs through valid rules":  {"rules:\n  - &r {type: npm, packages: [" + strings.Repeat(`"a", `, 100) + "]}\n" + strings.Repeat("  - *r\n", 200), "at most 100 rules, got 201"},
		"deep flow brackets":          {"rules: " + strings.Repeat("[", 500_000) + "\n", "1:39: nested more than 32 levels deep"},
		"deep flow mappings":          {"rules: " + strings.Repeat("{a: ", 200_000) + "\n", "nested more than 32 levels deep"},
		"deep compact sequences":      {"rules:\n" + strings.Repeat("- ", 500_000) + "x\n", "2:65: nested more than 32 levels deep"},
		"deep indentation":            {indented(1000), "33:33: nested more than 32 levels deep"},
		"deep flow in a block":        {"rules:\n  - packages:\n" + strings.Repeat("    [\n", 100), "nested more than 32 levels deep"},
		"wide flow":                   {"rules: [" + strings.Repeat("[], ", 200_000) + "]\n", "more than 10000 YAML items"},
		"many lines":                  {strings.Repeat("dry_run: true\n", 50_000), "10001:1: more than 10000 YAML items"},
		"quotes do not hide brackets": {"rules: [a '" + strings.Repeat("[", 1000) + "'\n", "nested more than 32 levels deep"},
	}
}

func TestDecodeHostile(t *testing.T) {
	for name, tc := range hostileConfigs() {
		t.Run(name, func(t *testing.T) {
			f, err := Decode(Path, []byte(tc.data))
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", f)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || list[0].Line < 1 || list[0].Column < 1 {
				t.Fatalf("error %v is not a positioned ErrorList", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error:\n%.500s\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestShapeAllowsRealConfigs: the pre-parse limits never refuse what
// people write: quoted brackets and commas, comments, flow style.
func TestShapeAllowsRealConfigs(t *testing.T) {
	tests := map[string]string{
		"design example":          designExample,
		"brackets in quotes":      "rules:\n  - packages: [\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\", '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{']\n",
		"escaped quotes":          "rules:\n  - packages: [\"a\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\", 'it''s [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[']\n",
		"brackets in comments":    "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nrules: [] # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n",
		"hundred rules of globs":  "rules:\n" + strings.Repeat("  - {packages: ["+strings.Repeat(`"a-*", `, 50)+"], type: npm}\n", 100),
		"multi-line quoted globs": "rules:\n  - packages: [\"a[\n      b\", \"c\"]\n",
	}
	for name, yml := range tests {
		t.Run(name, func(t *testing.T) {
			if e := checkShape([]byte(yml), maxDepth, maxItems); e != nil {
				t.Fatalf("checkShape refused it: %v", e)
			}
		})
	}
}

// BenchmarkDecodeHostile prints what each hostile file costs to refuse.
func BenchmarkDecodeHostile(b *testing.B) {
	for name, tc := range hostileConfigs() {
		data := []byte(tc.data)
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := Decode(Path, data); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
