// Package reporttest checks issue bodies pkgwarden writes as GitHub shows
// them: each body is parsed with goldmark and its GitHub-flavoured Markdown
// extensions (task lists, tables, strikethrough, autolinks) and its
// structure is checked, so that a golden file that reads well as text but
// renders badly (a box that is not a box, a summary that is not the first
// thing read) fails its test. The package report's tests use it; the
// dashboard's and the owner issues' tests can too.
package reporttest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// MaxBodyChars is GitHub's limit on an issue or comment body, in
// characters.
const MaxBodyChars = 65536

// markdown parses and renders as GitHub does, near enough: GFM, and raw
// HTML kept (GitHub keeps <details>, <summary> and comments).
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// HTML renders body as GitHub-flavoured Markdown.
func HTML(body string) (string, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(body), &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// versionMarker is the hidden marker that names a listed version: a
// restore box, a restored version, a refusal, a version a dry run would
// delete.
var versionMarker = regexp.MustCompile(`<!-- pkgwarden:(restore|restored|refused|would) (\d+)[ -]`)

// brokenMarker names a broken image (an active version) in the "Broken
// images" section. A broken image is kept, so it is never also listed as
// refused or would-delete; it may have been restored (a restored index
// can miss children), and "Kept" lists reasons, not versions.
var brokenMarker = regexp.MustCompile(`<!-- pkgwarden:broken (\d+) -->`)

// Check parses body as GitHub-flavoured Markdown and returns what is wrong
// with its structure, nil when nothing is:
//
//   - the body is under MaxBodyChars characters;
//   - the first block shown (hidden comments aside) is the summary: one
//     paragraph of one line;
//   - every restore box (a `<!-- pkgwarden:restore N ... -->` marker) is
//     in a task-list item, and comes before the first <details> block
//     that is not itself a fold of restore boxes;
//   - no version (the id of a restore, restored, refused or would-delete
//     marker) is listed twice;
//   - every broken image (a `<!-- pkgwarden:broken N -->` marker) is
//     listed once, on a list item of one line, and is not also refused
//     or would-delete.
func Check(body string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if n := utf8.RuneCountInString(body); n >= MaxBodyChars {
		fail("body of %d characters, GitHub takes fewer than %d", n, MaxBodyChars)
	}
	src := []byte(body)
	doc := markdown.Parser().Parse(text.NewReader(src))

	// The summary comes first.
	first := doc.FirstChild()
	for first != nil && isComment(first, src) {
		first = first.NextSibling()
	}
	switch {
	case first == nil:
		fail("nothing shown: the body has no summary line")
	case first.Kind() != ast.KindParagraph:
		fail("first block shown is a %s (%q), not the summary line", first.Kind(), firstLine(blockText(first, src)))
	case first.Lines().Len() != 1:
		fail("summary is %d lines, not one: %q", first.Lines().Len(), blockText(first, src))
	}

	// Restore boxes: task-list items, before any other <details>.
	otherDetails := false // a <details> without boxes has closed
	inDetails, detailsBoxes := false, false
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if n.Kind() == ast.KindHTMLBlock {
			s := blockText(n, src)
			if strings.Contains(s, "<details") {
				inDetails, detailsBoxes = true, false
			}
			if strings.Contains(s, "</details>") {
				if inDetails && !detailsBoxes {
					otherDetails = true
				}
				inDetails = false
			}
		}
		_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering || c.Kind() != ast.KindRawHTML {
				return ast.WalkContinue, nil
			}
			raw := string(c.(*ast.RawHTML).Segments.Value(src))
			if !strings.HasPrefix(raw, "<!-- pkgwarden:restore ") {
				return ast.WalkContinue, nil
			}
			if !isTaskItem(c) {
				fail("restore marker %q is not in a task-list item", raw)
			}
			if otherDetails {
				fail("restore box %q comes after a <details> block", raw)
			}
			if inDetails {
				detailsBoxes = true
			}
			return ast.WalkContinue, nil
		})
	}

	// Each version once.
	seen := map[string]string{}
	for _, m := range versionMarker.FindAllStringSubmatch(body, -1) {
		if where, ok := seen[m[2]]; ok {
			fail("version %s listed twice: as %s and as %s", m[2], where, m[1])
			continue
		}
		seen[m[2]] = m[1]
	}
	broken := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		for _, m := range brokenMarker.FindAllStringSubmatch(line, -1) {
			if broken[m[1]] {
				fail("broken image %s listed twice", m[1])
			}
			broken[m[1]] = true
			if !strings.HasPrefix(line, "- ") || !strings.HasSuffix(line, m[0]) {
				fail("broken image %s is not one list item on one line: %q", m[1], line)
			}
			if where := seen[m[1]]; where == "refused" || where == "would" {
				fail("broken image %s is also listed as %s", m[1], where)
			}
		}
	}
	if _, err := HTML(body); err != nil {
		fail("render: %v", err)
	}
	return errors.Join(errs...)
}

// CheckBody fails t with every problem Check finds in body, named name.
func CheckBody(t testing.TB, name, body string) {
	t.Helper()
	if err := Check(body); err != nil {
		t.Errorf("%s as GitHub renders it:\n%v", name, err)
	}
}

// isTaskItem reports whether n sits in a list item that starts with a
// task-list checkbox.
func isTaskItem(n ast.Node) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if p.Kind() != ast.KindListItem {
			continue
		}
		block := p.FirstChild()
		if block == nil {
			return false
		}
		box := block.FirstChild()
		return box != nil && box.Kind() == east.KindTaskCheckBox
	}
	return false
}

// isComment reports whether n is a block made only of HTML comments.
func isComment(n ast.Node, src []byte) bool {
	if n.Kind() != ast.KindHTMLBlock {
		return false
	}
	s := strings.TrimSpace(blockText(n, src))
	return strings.HasPrefix(s, "<!--") && strings.HasSuffix(s, "-->")
}

// blockText is the source text of a block.
func blockText(n ast.Node, src []byte) string {
	var b strings.Builder
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		b.Write(seg.Value(src))
	}
	if h, ok := n.(*ast.HTMLBlock); ok && h.HasClosure() {
		b.Write(h.ClosureLine.Value(src))
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
