package ghsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
)

// TestIssuePage opens issues and comments through the REST API of a
// served simulator, then fetches each issue's html_url as a browser
// would (no token): the page shows title, state, body and comments,
// with task-list boxes, tables and <details> rendered and hostile HTML
// shown as text. A private repository's page needs a token that may
// read it, as the API does; the API's own routes are not shadowed.
func TestIssuePage(t *testing.T) {
	sim := simtest.New(t, ghsim.Options{})
	srv := simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	tok := simtest.Org(t, sim, "acme", "alice", "web")
	if _, err := sim.AddRepo("acme", "secret", ghsim.RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	call := func(method, url, token string, body any) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, url, r)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	open := func(repo, title, body string, comments ...string) string {
		t.Helper()
		resp, b := call(http.MethodPost, srv.URL+"/repos/acme/"+repo+"/issues", tok, map[string]string{"title": title, "body": body})
		var is struct {
			HTMLURL     string `json:"html_url"`
			CommentsURL string `json:"comments_url"`
		}
		if err := json.Unmarshal(b, &is); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("open issue: %s %s", resp.Status, b)
		}
		for _, c := range comments {
			if resp, b := call(http.MethodPost, is.CommentsURL, tok, map[string]string{"body": c}); resp.StatusCode != http.StatusCreated {
				t.Fatalf("comment: %s %s", resp.Status, b)
			}
		}
		return is.HTMLURL
	}
	report := open("web", `pkgwarden: container acme/web <b>bold</b>`,
		"Deleted 2 · kept 1\n\n- [ ] `pr-42` 3 days old\n- [x] `pr-41`\n\n| tag | age |\n|---|---|\n| v1 | 2d |\n\n"+
			"<details>\n<summary>Kept (1)</summary>\n\n- v1.0.0\n\n</details>\n<!-- pkgwarden:marker -->\n",
		"/pkgwarden restore 42 <script>alert(document.cookie)</script>",
		`<img src=x onerror="alert(1)"> [click](javascript:alert(2))`)
	if !strings.HasPrefix(report, srv.URL+"/acme/web/issues/") {
		t.Fatalf("html_url %q is not on the simulator's origin", report)
	}
	private := open("secret", "private issue", "hidden text")

	for _, tc := range []struct {
		name, url, token string
		status           int
		want, not        []string
	}{
		{"report", report, "", http.StatusOK, []string{
			"<title>pkgwarden: container acme/web &lt;b&gt;bold&lt;/b&gt; · Issue #1 · acme/web</title>",
			`<span class="state open">open</span>`, "<b>alice</b>",
			`<input disabled="" type="checkbox"> <code>pr-42</code> 3 days old`, `<input checked="" disabled="" type="checkbox">`,
			"<table>", "<td>2d</td>", "<details>\n<summary>Kept (1)</summary>", "</details>",
			"&lt;script&gt;alert(document.cookie)&lt;/script&gt;", "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;",
		}, []string{"<script", "<img", `href="javascript:`, "pkgwarden:marker", "<b>bold"}},
		{"private, anonymous", private, "", http.StatusNotFound, nil, []string{"hidden text"}},
		{"private, with a token", private, tok, http.StatusOK, []string{"hidden text"}, nil},
		{"no such issue", srv.URL + "/acme/web/issues/9", "", http.StatusNotFound, nil, nil},
		{"no such repository", srv.URL + "/acme/nope/issues/1", "", http.StatusNotFound, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := call(http.MethodGet, tc.url, tc.token, nil)
			page := string(b)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %s, want %d\n%s", tc.url, resp.Status, tc.status, page)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("no %q in the page:\n%s", w, page)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(strings.ToLower(page), strings.ToLower(n)) {
					t.Errorf("%q in the page:\n%s", n, page)
				}
			}
		})
	}
	// The REST API still answers its own routes, in JSON.
	resp, b := call(http.MethodGet, srv.URL+"/repos/acme/web/issues/1", tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !json.Valid(b) {
		t.Errorf("API GET of the issue: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}
