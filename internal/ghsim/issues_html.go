package ghsim

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// issuesWeb is the part that serves the simulated github.com's issue
// page: at an issue's html_url (<origin>/{owner}/{repo}/issues/{number}),
// a read-only HTML view of its title, state, body and comments, the
// markdown rendered as GitHub-flavoured Markdown (goldmark with its GFM
// extensions: tables, task-list boxes, strikethrough, autolinks). It is
// there so that the issue links pkgwarden and the demo print open in a
// browser; it is not GitHub's page and checks nothing of its look.
//
// Issue text is written by anyone who can comment, so raw HTML in it is
// not trusted: goldmark runs without WithUnsafe, and htmlFilter renders
// each piece of raw HTML as escaped text, except <details> (with only
// its open attribute), <summary>, their end tags and comments, which
// GitHub also renders or hides and which pkgwarden's reports use. So a
// <script> or an onerror= attribute shows as text and never runs; the
// Content-Security-Policy header is a second lock on the same door.
type issuesWeb struct {
	*world
	md goldmark.Markdown
}

func newIssuesWeb(w *world) *issuesWeb {
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(htmlFilter{}, 100))),
	)
	return &issuesWeb{world: w, md: md}
}

// register serves the issue page. The simulator routes a request here
// only when no REST API route matches it (see Sim.APIHandler): on
// github.com a login cannot be "repos" or "orgs" either.
func (s *issuesWeb) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{owner}/{repo}/issues/{number}", s.handleIssuePage)
}

// issuePage is what the page shows, copied out under the lock.
type issuePage struct {
	Repo, Title, State, User, Created string
	Number                            int
	Labels                            []string
	Body                              template.HTML
	Comments                          []commentPage
}

type commentPage struct {
	ID            int64
	User, Created string
	Body          template.HTML
}

func (s *issuesWeb) handleIssuePage(w http.ResponseWriter, r *http.Request) {
	page, status := s.page(r)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	if status != http.StatusOK {
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html>\n<title>%d</title>\n<p>%d %s</p>\n", status, status, html.EscapeString(http.StatusText(status)))
		return
	}
	var b bytes.Buffer
	if err := issueTemplate.Execute(&b, page); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b.Bytes())
}

// page reads the issue as the REST API's GET of the issue would (same
// visibility: a private repository needs a token that may read it) and
// renders its texts outside the lock.
func (s *issuesWeb) page(r *http.Request) (issuePage, int) {
	s.mu.Lock()
	rec := &statusOnly{header: http.Header{}}
	c, is, ok := (&issuesAPI{s.world}).issueRequest(rec, r, false)
	if !ok {
		s.mu.Unlock()
		return issuePage{}, rec.code
	}
	p := issuePage{
		Repo: c.rp.fullName(), Number: is.Number, Title: is.Title, State: is.State, User: is.User,
		Created: is.CreatedAt.UTC().Format(time.DateTime + " UTC"), Labels: append([]string(nil), is.Labels...),
	}
	body := is.Body
	comments := make([]struct {
		id         int64
		user, body string
		at         time.Time
	}, len(is.Comments))
	for i, cm := range is.Comments {
		comments[i].id, comments[i].user, comments[i].body, comments[i].at = cm.ID, cm.User, cm.Body, cm.CreatedAt
	}
	s.mu.Unlock()

	p.Body = s.render(body)
	for _, cm := range comments {
		p.Comments = append(p.Comments, commentPage{ID: cm.id, User: cm.user, Created: cm.at.UTC().Format(time.DateTime + " UTC"), Body: s.render(cm.body)})
	}
	return p, http.StatusOK
}

// render turns markdown into HTML safe to put in the page.
func (s *issuesWeb) render(text string) template.HTML {
	var b bytes.Buffer
	if err := s.md.Convert([]byte(text), &b); err != nil {
		return template.HTML("<pre>" + html.EscapeString(text) + "</pre>")
	}
	return template.HTML(balanceDetails(b.String()))
}

// statusOnly keeps the status an API check answered, for the page to
// answer in HTML instead of JSON.
type statusOnly struct {
	header http.Header
	code   int
}

func (w *statusOnly) Header() http.Header         { return w.header }
func (w *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusOnly) WriteHeader(code int)        { w.code = code }

// htmlFilter renders goldmark's raw HTML nodes (HTML blocks and inline
// tags) through safeHTML instead of omitting them.
type htmlFilter struct{}

func (htmlFilter) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*ast.HTMLBlock)
		var raw bytes.Buffer
		if entering {
			for i := range n.Lines().Len() {
				line := n.Lines().At(i)
				raw.Write(line.Value(source))
			}
		} else if n.HasClosure() {
			raw.Write(n.ClosureLine.Value(source))
		}
		_, _ = w.WriteString(safeHTML(raw.String()))
		return ast.WalkContinue, nil
	})
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkSkipChildren, nil
		}
		n := node.(*ast.RawHTML)
		var raw bytes.Buffer
		for i := range n.Segments.Len() {
			seg := n.Segments.At(i)
			raw.Write(seg.Value(source))
		}
		_, _ = w.WriteString(safeHTML(raw.String()))
		return ast.WalkSkipChildren, nil
	})
}

// htmlPiece finds the comments (an unclosed one runs to the end) and the
// tags of raw HTML.
var htmlPiece = regexp.MustCompile(`(?s)<!--.*?-->|<!--.*\z|</?[A-Za-z][^<>]*>`)

// allowedTag matches the tags kept as tags: details (open allowed),
// summary, and their end tags.
var allowedTag = regexp.MustCompile(`(?i)^<(/?)(details|summary)(\s+open(=""|="open")?)?\s*>$`)

// safeHTML escapes raw HTML but for comments, dropped, and the tags
// allowedTag matches, written in a canonical form with no attribute but
// open.
func safeHTML(raw string) string {
	var b strings.Builder
	last := 0
	for _, m := range htmlPiece.FindAllStringIndex(raw, -1) {
		b.WriteString(html.EscapeString(raw[last:m[0]]))
		last = m[1]
		piece := raw[m[0]:m[1]]
		if strings.HasPrefix(piece, "<!--") {
			continue
		}
		t := allowedTag.FindStringSubmatch(piece)
		if t == nil {
			b.WriteString(html.EscapeString(piece))
			continue
		}
		b.WriteString("<" + t[1] + strings.ToLower(t[2]))
		if t[1] == "" && t[3] != "" && strings.EqualFold(t[2], "details") {
			b.WriteString(" open")
		}
		b.WriteString(">")
	}
	b.WriteString(html.EscapeString(raw[last:]))
	return b.String()
}

// detailsTag matches the details tags safeHTML writes; any other "<" in
// the rendered text was escaped.
var detailsTag = regexp.MustCompile(`<details(?: open)?>|</details>`)

// balanceDetails drops end tags of details never opened and closes those
// left open, so one text's markup cannot fold the rest of the page.
func balanceDetails(s string) string {
	depth := 0
	out := detailsTag.ReplaceAllStringFunc(s, func(t string) string {
		if t == "</details>" {
			if depth == 0 {
				return ""
			}
			depth--
			return t
		}
		depth++
		return t
	})
	return out + strings.Repeat("</details>", depth)
}

var issueTemplate = template.Must(template.New("issue").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}} · Issue #{{.Number}} · {{.Repo}}</title>
<style>
body{font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#1f2328}
h1{font-weight:400;margin:0}h1 .num{color:#59636e}
.state{display:inline-block;border-radius:2em;padding:.2em .8em;color:#fff;font-weight:600;margin-right:.5em}
.open{background:#1f883d}.closed{background:#8250df}
.label{border:1px solid #d1d9e0;border-radius:2em;padding:0 .6em;margin-left:.3em;font-size:12px}
.meta{color:#59636e;margin:.5em 0 1.5em}
.box{border:1px solid #d1d9e0;border-radius:6px;margin:1em 0}
.box>header{background:#f6f8fa;border-bottom:1px solid #d1d9e0;padding:.5em 1em;color:#59636e}
.box>header b{color:#1f2328}
.md{padding:.5em 1em}
.md table{border-collapse:collapse}.md td,.md th{border:1px solid #d1d9e0;padding:.3em .8em}
.md code{background:#eff1f3;border-radius:4px;padding:.1em .3em}
.md pre{background:#f6f8fa;padding:1em;overflow:auto}
.md ul:has(input){list-style:none;padding-left:1.2em}
.md details{margin:.5em 0}.md summary{cursor:pointer}
.note{color:#59636e;font-size:12px}
</style>
</head>
<body>
<h1>{{.Title}} <span class="num">#{{.Number}}</span></h1>
<div class="meta"><span class="state {{.State}}">{{.State}}</span><b>{{.User}}</b> opened this issue on {{.Created}} in {{.Repo}}{{range .Labels}}<span class="label">{{.}}</span>{{end}}</div>
<article class="box" id="issue-{{.Number}}"><header><b>{{.User}}</b> wrote on {{.Created}}</header><div class="md">
{{.Body}}</div></article>
{{range .Comments}}<article class="box comment" id="issuecomment-{{.ID}}"><header><b>{{.User}}</b> commented on {{.Created}}</header><div class="md">
{{.Body}}</div></article>
{{end}}<p class="note">Read-only view of the GitHub simulator (ghsim); boxes cannot be ticked here: use the REST API.</p>
</body>
</html>
`))
