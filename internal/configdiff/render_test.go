package configdiff_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/configdiff"
	"github.com/pkgwarden/pkgwarden/internal/report/reporttest"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

const digest = "sha256:6b51d431df5d7f141cbececcf79edf3dd861c3b4069f0b11661a3eefacbba918"

// sample is a diff with every kind of line, and tags written to break
// out of the markdown.
func sample() configdiff.Diff {
	return configdiff.Diff{
		Owner: "acme", File: "acme/.github:.github/pkgwarden.yml", OldName: "committed", NewName: "new.yml",
		Packages: []configdiff.Package{
			{
				Owner: "acme", Type: "container", Name: "app", Repository: "acme/app",
				OldRules: "acme/app:.github/pkgwarden.yml", NewRules: "acme/.github:.github/pkgwarden.yml", Hands: true,
				Delete: []configdiff.Version{
					{ID: 11, Version: digest, Tags: []string{"pr-1"}, Reason: "tag matches delete_tags *", Kind: rules.KindDeleteTags},
					{ID: 12, Version: digest, Tags: []string{"x`</summary></details><!--", "**bold**\n# heading"}, Reason: "tag matches delete_tags *", Kind: rules.KindDeleteTags, Deferred: true},
				},
				Keep:         []configdiff.Version{{ID: 13, Version: digest, Tags: []string{}, Reason: "younger than 40d", Kind: rules.KindYoung}},
				RestoreStart: []configdiff.Version{{ID: 14, Version: digest, Tags: []string{"v1"}, Reason: "restore.tags v* protects v1", Kind: rules.KindRestoreTags}},
				Old:          configdiff.Count{ThisRun: 1}, New: configdiff.Count{ThisRun: 2, Deferred: 1},
			},
			{
				Owner: "acme", Type: "npm", Name: "web", Repository: "acme/web",
				OldRules: "acme/.github:.github/pkgwarden.yml", NewRules: "acme/.github:.github/pkgwarden.yml",
				Delete: []configdiff.Version{}, Keep: []configdiff.Version{},
				RestoreStop: []configdiff.Version{{ID: 21, Version: "1.0.0", Tags: []string{}, Reason: "restore.tags 1.* protects 1.0.0", Kind: rules.KindRestoreTags}},
				Old:         configdiff.Count{ThisRun: 0}, New: configdiff.Count{ThisRun: 0},
				DryRun:  true,
				Notices: []string{"dry run forced by policy.repository_rules: dry_run in acme/.github:.github/pkgwarden.yml"},
			},
		},
		Unchanged: 3,
		Totals: configdiff.Totals{Delete: 2, DeleteDeferred: 1, Keep: 1, RestoreStart: 1, RestoreStop: 1, Hands: 1,
			Old: configdiff.Count{ThisRun: 4}, New: configdiff.Count{ThisRun: 5, Deferred: 1}},
		ReviewOver: 1, Review: true,
		Notices: []string{"maven packages not listed: 403 Forbidden (the token may lack the repo scope)"},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden: %v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after a deliberate change):\n%s", name, got)
	}
}

func TestRender(t *testing.T) {
	none := configdiff.Diff{Owner: "acme", File: "acme/app:.github/pkgwarden.yml", OldName: "committed", NewName: "new.yml",
		Packages: []configdiff.Package{}, Unchanged: 2, ReviewOver: 100}
	broken := none
	broken.Errors = rules.ErrorList{{Repo: "acme/app", File: "new.yml", Line: 1, Column: 11, Field: "_extends", Msg: "acme/.github:nope.yml not found"}}
	for name, d := range map[string]configdiff.Diff{"sample": sample(), "unchanged": none, "extends-missing": broken} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := configdiff.WriteText(&b, d); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", b.String())
			md := configdiff.Markdown(d)
			golden(t, name+".md", md)
			want := map[bool]string{true: "neutral", false: "success"}[d.Review]
			if len(d.Errors) > 0 {
				want = "failure"
			}
			if d.Conclusion() != want {
				t.Errorf("conclusion %s, want %s", d.Conclusion(), want)
			}
			checkMarkdown(t, md)
		})
	}
}

// checkMarkdown parses md as GitHub does: the summary first, under
// GitHub's size, every <details> closed, no comment or tag from a tag
// escaping its line.
func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	reporttest.CheckBody(t, "markdown", md)
	if n := utf8.RuneCountInString(md); n > configdiff.MaxMarkdown {
		t.Errorf("markdown of %d characters, over %d", n, configdiff.MaxMarkdown)
	}
	html, err := reporttest.HTML(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"details", "summary"} {
		open, closed := strings.Count(html, "<"+tag+">"), strings.Count(html, "</"+tag+">")
		if open != closed {
			t.Errorf("%d <%s> for %d </%s> in:\n%s", open, tag, closed, tag, html)
		}
	}
	for _, bad := range []string{"<!--", "<h1", "<strong>bold"} {
		if strings.Contains(html, bad) {
			t.Errorf("rendered markdown holds %q: text from a tag escaped", bad)
		}
	}
}

// TestMarkdownBounded: a change deleting 5,000 versions in 300 packages
// still renders under GitHub's limit, closes what it opens and says what
// it left out.
func TestMarkdownBounded(t *testing.T) {
	d := configdiff.Diff{Owner: "acme", File: "acme/.github:.github/pkgwarden.yml", OldName: "old", NewName: "new", ReviewOver: 100}
	for i := range 300 {
		p := configdiff.Package{Owner: "acme", Type: "container", Name: fmt.Sprintf("pkg-%03d", i), OldRules: "none", NewRules: "none"}
		for j := range 17 {
			p.Delete = append(p.Delete, configdiff.Version{ID: int64(i*100 + j), Version: digest, Tags: []string{fmt.Sprintf("pr-%d", j)}, Reason: "tag matches delete_tags pr-*"})
		}
		p.New.ThisRun = len(p.Delete)
		d.Packages = append(d.Packages, p)
		d.Totals.Delete += len(p.Delete)
	}
	d.Review = true
	md := configdiff.Markdown(d)
	checkMarkdown(t, md)
	t.Logf("markdown of %d characters, %d of %d packages shown", utf8.RuneCountInString(md), strings.Count(md, "<details>"), len(d.Packages))
	if !strings.Contains(md, "more packages not shown") {
		t.Errorf("markdown does not say packages were left out")
	}
}
