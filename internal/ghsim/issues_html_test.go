package ghsim

import (
	"strings"
	"testing"
)

// TestRenderIssueMarkdown renders issue texts as the issue page does:
// GitHub-flavoured Markdown, <details> and <summary> kept, comments
// hidden, and any other raw HTML shown as text, never as markup.
func TestRenderIssueMarkdown(t *testing.T) {
	web := newIssuesWeb(nil)
	for _, tc := range []struct {
		name, md string
		want     []string // in the HTML
		not      []string // never in the HTML
	}{
		{"task list", "- [ ] `pr-42` 3 days old\n- [x] done\n",
			[]string{`<li><input disabled="" type="checkbox"> <code>pr-42</code> 3 days old</li>`, `<li><input checked="" disabled="" type="checkbox"> done</li>`}, nil},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |\n", []string{"<table>", "<th>a</th>", "<td>2</td>"}, nil},
		{"strikethrough and autolink", "~~old~~ see https://example.com/x\n", []string{"<del>old</del>", `<a href="https://example.com/x">https://example.com/x</a>`}, nil},
		{"details", "<details>\n<summary>Kept (12)</summary>\n\n- **v1.0.0** excluded\n\n</details>\n",
			[]string{"<details>\n<summary>Kept (12)</summary>", "<strong>v1.0.0</strong>", "</details>"}, nil},
		{"details open, any case", "<DETAILS open=\"open\"><Summary>s</Summary></DETAILS>\n", []string{"<details open><summary>s</summary></details>"}, nil},
		{"comments hidden", "<!-- pkgwarden:deleted -->\ntext <!-- inline marker --> more\n<!-- /pkgwarden:deleted -->\n",
			[]string{"<p>text  more</p>"}, []string{"pkgwarden:deleted", "marker", "<!--"}},
		{"unclosed comment hidden", "visible\n\n<!-- never closed\n\nsecret", []string{"visible"}, []string{"secret", "<!--"}},
		{"script block", "<script>alert(1)</script>\n", []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script"}},
		{"inline script", "a <script>alert(1)</script> b\n", []string{"&lt;script&gt;"}, []string{"<script"}},
		{"event handler", "hi <img src=x onerror=alert(1)> there\n", []string{"&lt;img src=x onerror=alert(1)&gt;"}, []string{"<img"}},
		{"handler on an allowed tag", "<details open onclick=\"alert(1)\"><summary onmouseover=alert(2)>s</summary>\n",
			[]string{"&lt;details open onclick=&#34;alert(1)&#34;&gt;"}, []string{`onclick="`, "<summary onmouseover", "<details open onclick"}},
		{"end tag with attributes", "<details><summary>x</summary foo=bar>\n", []string{"&lt;/summary foo=bar&gt;"}, []string{"</summary foo"}},
		{"javascript link", "[x](javascript:alert(1)) <a href=\"javascript:alert(2)\">y</a>\n", []string{"&lt;a href=&#34;javascript:alert(2)&#34;&gt;"}, []string{`href="javascript:`}},
		{"style and iframe", "<style>body{display:none}</style>\n\n<iframe src=\"http://evil\"></iframe>\n", []string{"&lt;style&gt;", "&lt;iframe"}, []string{"<style", "<iframe"}},
		{"stray end tags dropped", "</details></details></div>\n", []string{"&lt;/div&gt;"}, []string{"</details>"}},
		{"unclosed details closed", "<details><summary>more</summary>\n\ntext\n", []string{"<details><summary>more</summary>"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(web.render(tc.md))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("no %q in\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(strings.ToLower(got), strings.ToLower(n)) {
					t.Errorf("%q in\n%s", n, got)
				}
			}
			if open, closed := strings.Count(got, "<details"), strings.Count(got, "</details>"); open != closed {
				t.Errorf("%d <details> and %d </details> in\n%s", open, closed, got)
			}
		})
	}
}
