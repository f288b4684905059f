package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// TestGoldenOwnerIssues: the bodies of the owner's issues, one golden file
// per token problem kind and one for the dead letters. Each is also
// checked to say the fix, to keep GitHub's text on one line, and never to
// hold a token.
func TestGoldenOwnerIssues(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	tests := map[string]struct {
		body string
		want []string
	}{
		"token_scope.body.md": {
			body: renderTokenProblemBody("acme", "", TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope,
				Missing: []string{"delete:packages"}, Have: []string{"read:packages", "write:packages"}}, Types: []string{"container"}, Deleting: true}),
			want: []string{"lacks the `delete:packages` scope", "https://github.com/settings/tokens/new?scopes=delete:packages,read:packages,write:packages&description=pkgwarden", "deletes nothing"},
		},
		"token_scope_repo.body.md": {
			body: renderTokenProblemBody("acme", "", TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenScope,
				Missing: []string{"repo"}, Have: []string{}}, Types: []string{"docker"}}),
			want: []string{"lacks the `repo` scope", "scopes=delete:packages,read:packages,repo,write:packages", "as GitHub lists them: none"},
		},
		"token_invalid.body.md": {
			body: renderTokenProblemBody("acme", "", TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenInvalid}, Types: []string{"npm"}, Deleting: true}),
			want: []string{"401 Bad credentials", "PKGWARDEN_PACKAGES_TOKENS=acme=<token>"},
		},
		"token_sso.body.md": {
			body: renderTokenProblemBody("acme", "", TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: githubapi.TokenSSO}, Types: []string{"container"}, Deleting: true}),
			want: []string{"SAML single sign-on", "**Configure SSO**"},
		},
		"dead_letters.body.md": {
			body: renderDeadLettersBody("acme", []DeadLetter{
				{Job: "prune", Package: pkgref.Ref{Owner: "acme", Type: "container", Name: "webapp", Repository: "acme/webapp"}, Attempts: 5, At: at,
					Error: "prune container acme/webapp: list versions: GET /orgs/acme/packages/container/webapp/versions: 502 Bad Gateway\n<!-- evil --> `@everyone` " + strings.Repeat("x", 400)},
				{Job: "restore", Request: true, Package: pkgref.Ref{Owner: "acme", Type: "npm", Name: "webapp-client"}, Attempts: 5, At: at.Add(-time.Hour), Error: "restore: context deadline exceeded"},
				{Job: "config", Package: pkgref.Ref{Owner: "acme", Type: "repository", Name: "webapp", Repository: "acme/webapp"}, Attempts: 5, At: at.Add(-2 * time.Hour), Error: "read .github/pkgwarden.yml: 500"},
			}, 14),
			want: []string{"**14 jobs of `acme` failed every attempt**", "The 3 most recent", "next sweep", "same `/pkgwarden` command", "next push", "nats stream view dead_letters"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			golden(t, name, tc.body)
			for _, w := range tc.want {
				if !strings.Contains(tc.body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, bad := range []string{"ghp_", "ghs_", "<!-- evil -->", "\n<!-- evil"} {
				if strings.Contains(tc.body, bad) {
					t.Errorf("body holds %q", bad)
				}
			}
			for _, line := range strings.Split(tc.body, "\n") {
				if strings.Contains(line, "xxxxxxxxxx") && len([]rune(line)) > 600 {
					t.Errorf("an error line is not bounded: %d runes", len([]rune(line)))
				}
			}
			if strings.Count(tc.body, "<!-- pkgwarden:") != 1 || !strings.HasPrefix(tc.body, "<!-- pkgwarden:") {
				t.Errorf("the body must open with its one hidden marker")
			}
			checkOwnerHTML(t, tc.body)
		})
	}
}

// checkOwnerHTML renders body as GitHub does (GitHub-flavoured Markdown,
// with goldmark) and checks its structure: the hidden marker is the only
// HTML comment, the first paragraph is the bold statement of the problem,
// and an error's text stays escaped in its code span.
func checkOwnerHTML(t *testing.T, body string) {
	t.Helper()
	var out bytes.Buffer
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	if err := md.Convert([]byte(body), &out); err != nil {
		t.Fatalf("goldmark: %v", err)
	}
	html := out.String()
	// Without WithUnsafe, goldmark drops raw HTML: the marker is gone and
	// the rest begins with the statement.
	if !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(html, "<!-- raw HTML omitted -->")), "<p><strong>") {
		t.Errorf("the first block is not the bold statement:\n%s", html)
	}
	if n := strings.Count(html, "raw HTML omitted"); n != 1 {
		t.Errorf("%d raw HTML blocks, want the marker only:\n%s", n, html)
	}
	if strings.Contains(html, "evil") && !strings.Contains(html, "&lt;!-- evil") {
		t.Errorf("an error's HTML left its code span:\n%s", html)
	}
}

// TestTokenProblemLinksToItsGitHub: on GitHub Enterprise Server the
// token issue's links (the token form, the tokens page) go to that
// server, not to github.com.
func TestTokenProblemLinksToItsGitHub(t *testing.T) {
	for _, kind := range []githubapi.TokenProblemKind{githubapi.TokenScope, githubapi.TokenSSO, githubapi.TokenInvalid} {
		body := renderTokenProblemBody("acme", "https://ghe.example.com", TokenProblem{TokenProblem: githubapi.TokenProblem{Kind: kind, Missing: []string{"delete:packages"}}, Types: []string{"npm"}})
		if strings.Contains(body, "github.com/") || !strings.Contains(body, "https://ghe.example.com/settings/tokens") {
			t.Errorf("%s: links not to the Enterprise server:\n%s", kind, body)
		}
	}
}
