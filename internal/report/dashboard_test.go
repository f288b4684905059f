package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func dashPkg(typ, name string) rules.Package {
	return rules.Package{Owner: "acme", Type: typ, Name: name}
}

func issueOf(n int) Issue {
	return Issue{Repository: "acme/app", Number: n, URL: fmt.Sprintf("https://github.com/acme/app/issues/%d", n)}
}

// threeRows: a package deleting with a refusal, an npm package in dry
// run, a quiet one; the refusal's text carries what could break a table.
func threeRows() []DashboardRow {
	return []DashboardRow{
		{Package: dashPkg("container", "webapp"), LastRun: at.Add(-time.Hour), Outcome: "pruned", Issue: issueOf(3),
			Deletions:  []Deletion{{At: at.Add(-time.Hour), N: 4}, {At: at.Add(-3 * 24 * time.Hour), N: 3}, {At: at.Add(-20 * 24 * time.Hour), N: 9}},
			Restorable: 5, Refused: 1, Next: 4, NextShown: []string{"pr-44", "pr-45", "sha256:0123456789ab…", "pr-46"}},
		{Package: dashPkg("npm", "webapp-client"), LastRun: at.Add(-2 * time.Hour), Outcome: "dry_run", Issue: issueOf(4), WouldDelete: 2},
		{Package: dashPkg("container", "tools"), LastRun: at.Add(-25 * time.Hour), Outcome: "untouched",
			Error: "manifest `sha256:abc` | of version 7 unreadable\n-->", Issue: issueOf(5)},
		{Package: dashPkg("maven", "com.acme.lib"), LastRun: at.Add(-30 * time.Minute), Outcome: "nothing_to_do"},
	}
}

// manyRows is an owner of n packages: one in ten refused, three in ten
// deleting, the rest quiet.
func manyRows(n int) []DashboardRow {
	rows := make([]DashboardRow, 0, n)
	for i := range n {
		r := DashboardRow{Package: dashPkg("container", fmt.Sprintf("service-%03d", i)), LastRun: at.Add(-time.Duration(i) * time.Minute),
			Outcome: "nothing_to_do", Issue: issueOf(100 + i)}
		switch i % 10 {
		case 0:
			r.Refused, r.Restorable = 1+i%3, 2
		case 1, 2, 3:
			r.Outcome, r.Deletions, r.Restorable, r.Next = "pruned", []Deletion{{At: at.Add(-time.Hour), N: i % 7}}, i%7, i%4
			r.NextShown = []string{"pr-1", "pr-2", "pr-3"}[:min(r.Next, 3)]
		}
		rows = append(rows, r)
	}
	return rows
}

func TestDashboardGolden(t *testing.T) {
	tests := []struct {
		name string
		rows []DashboardRow
	}{
		{"dashboard_3.body.md", threeRows()},
		{"dashboard_500.body.md", manyRows(500)},
		{"dashboard_per_package_off.body.md", []DashboardRow{{Package: dashPkg("container", "app"), LastRun: at, Outcome: "pruned",
			Deletions: []Deletion{{At: at, N: 2}}, Restorable: 2}}},
		{"dashboard_empty.body.md", nil},
		{"dashboard_storage.body.md", storageRows()},
		// A package with broken images needs a look, with or without an
		// error of its own.
		{"dashboard_broken.body.md", []DashboardRow{
			{Package: dashPkg("container", "app"), LastRun: at, Outcome: "nothing_to_do", Issue: issueOf(6), Broken: 2},
			{Package: dashPkg("container", "tools"), LastRun: at, Outcome: "untouched", Issue: issueOf(7), Error: "manifest unreadable", Broken: 1},
			{Package: dashPkg("container", "quiet"), LastRun: at, Outcome: "nothing_to_do", Issue: issueOf(8)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := RenderDashboard("acme", tc.rows, at)
			golden(t, tc.name, body)
			checkDashboard(t, body, tc.rows)
		})
	}
}

// TestDashboardOverflow: so many packages with something to show that not
// all fit: the body stays under the limit and the counts still add up.
func TestDashboardOverflow(t *testing.T) {
	for _, n := range []int{600, 2000, 5000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			rows := manyRows(n)
			for i := range rows {
				rows[i].Error = strings.Repeat("a very long reason | with pipes ", 10)
			}
			body := RenderDashboard("acme", rows, at)
			if !strings.Contains(body, "…and **") {
				t.Fatalf("%d packages: nothing aggregated", n)
			}
			checkDashboard(t, body, rows)
		})
	}
}

var (
	summaryPackages = regexp.MustCompile(`^\*\*(\d+) packages?\*\*`)
	aggregated      = regexp.MustCompile(`…and \*\*(\d+) packages?\*\*`)
)

// checkDashboard renders body with goldmark's GFM as GitHub does and
// checks its structure: under GitHub's limit, the hidden marker first and
// the counts line next, each package on one table row at most once, the
// packages not listed counted in "…and" lines that add up to the total,
// every link the package's report issue, <details> balanced.
func checkDashboard(t *testing.T, body string, rows []DashboardRow) {
	t.Helper()
	if n := utf8.RuneCountInString(body); n >= MaxBodyChars {
		t.Fatalf("body is %d characters, GitHub takes at most %d", n, MaxBodyChars)
	}
	src := []byte(body)
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(src))

	first := doc.FirstChild()
	if first == nil || first.Kind() != ast.KindHTMLBlock || !strings.HasPrefix(string(first.Lines().Value(src)), dashboardMarkerPrefix+"acme -->") {
		t.Fatalf("first block is not the dashboard's marker")
	}
	second := first.NextSibling()
	if second == nil || second.Kind() != ast.KindParagraph {
		t.Fatalf("second block is %v, want the counts paragraph", second)
	}
	m := summaryPackages.FindStringSubmatch(string(second.Lines().Value(src)))
	if m == nil {
		t.Fatalf("counts paragraph %q does not start with the number of packages", second.Lines().Value(src))
	}
	if total, _ := strconv.Atoi(m[1]); total != len(rows) {
		t.Errorf("counts line says %d packages, there are %d", total, len(rows))
	}

	urls := map[string]string{}
	for _, r := range rows {
		urls[r.Package.Type+" "+r.Package.Name] = r.Issue.URL
	}
	listed := map[string]int{}
	aggregatedPackages := 0
	opened, closed := 0, 0
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindHTMLBlock:
			s := string(n.Lines().Value(src))
			opened += strings.Count(s, "<details>")
			closed += strings.Count(s, "</details>")
		case ast.KindParagraph:
			if m := aggregated.FindStringSubmatch(string(n.Lines().Value(src))); m != nil {
				k, _ := strconv.Atoi(m[1])
				aggregatedPackages += k
			}
		case east.KindTableRow:
			name := cellText(n.FirstChild(), src)
			listed[name]++
			want, known := urls[name]
			if !known {
				t.Errorf("table row of unknown package %q", name)
			}
			_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
				if l, ok := c.(*ast.Link); ok && entering && string(l.Destination) != want {
					t.Errorf("row %q links to %s, want its report %s", name, l.Destination, want)
				}
				return ast.WalkContinue, nil
			})
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range listed {
		if n > 1 {
			t.Errorf("package %q is on %d rows", name, n)
		}
	}
	if len(listed)+aggregatedPackages != len(rows) {
		t.Errorf("%d packages listed + %d counted in \"…and\" lines, want %d", len(listed), aggregatedPackages, len(rows))
	}
	if opened != closed || opened > 1 {
		t.Errorf("<details> opened %d times, closed %d", opened, closed)
	}
}

// cellText is the text of a table cell (a code span's content).
func cellText(c ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(c, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := n.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(src))
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

func TestDashboardCellsStayInTheirCell(t *testing.T) {
	rows := threeRows()
	body := RenderDashboard("acme", rows, at)
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, "tools") && strings.Count(line, " | ") != 6 {
			t.Errorf("the row of tools has not 7 cells: %s", line)
		}
	}
	if strings.Contains(body, "manifest `") || strings.Count(body, "-->") != 1 {
		t.Errorf("a text someone wrote escaped its cell or closed the marker:\n%s", body)
	}
}

// BenchmarkRenderDashboard renders the dashboard of 500 packages, as the
// dashboard job does after every run of one of them.
func BenchmarkRenderDashboard(b *testing.B) {
	rows := manyRows(500)
	for b.Loop() {
		_ = RenderDashboard("acme", rows, at)
	}
}
