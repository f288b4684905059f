package githubapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTokenProblemFromHeaders: which answers say the token is the problem,
// read from status and headers (the message only when the headers name no
// missing scope), and which are refusals of the thing asked about.
func TestTokenProblemFromHeaders(t *testing.T) {
	tests := map[string]struct {
		status  int
		headers map[string]string
		msg     string
		want    *TokenProblem // nil: no token problem
		refused bool
	}{
		"401": {status: 401, want: &TokenProblem{Kind: TokenInvalid}},
		"403 missing delete scope by headers": {status: 403,
			headers: map[string]string{"X-OAuth-Scopes": "read:packages, repo", "X-Accepted-OAuth-Scopes": "read:packages, delete:packages"},
			msg:     "You need at least delete:packages scope to delete a package version.",
			want:    &TokenProblem{Kind: TokenScope, Missing: []string{"delete:packages"}, Have: []string{"read:packages", "repo"}}, refused: true},
		"403 write implies read": {status: 403,
			headers: map[string]string{"X-OAuth-Scopes": "write:packages", "X-Accepted-OAuth-Scopes": "read:packages, repo"},
			want:    &TokenProblem{Kind: TokenScope, Missing: []string{"repo"}, Have: []string{"write:packages"}}, refused: true},
		"403 missing scope by message only": {status: 403,
			headers: map[string]string{"X-OAuth-Scopes": ""},
			msg:     "You need at least read:packages scope to list packages.",
			want:    &TokenProblem{Kind: TokenScope, Missing: []string{"read:packages"}}, refused: true},
		"403 SAML SSO": {status: 403,
			headers: map[string]string{"X-GitHub-SSO": "required; url=https://github.com/orgs/acme/sso?authorization_request=x", "X-OAuth-Scopes": "read:packages"},
			msg:     "Resource protected by organization SAML enforcement.",
			want:    &TokenProblem{Kind: TokenSSO, Have: []string{"read:packages"}}, refused: true},
		"403 SSO partial results is no problem": {status: 403,
			headers: map[string]string{"X-GitHub-SSO": "partial-results; organizations=21955855", "X-OAuth-Scopes": "read:packages"},
			msg:     "Publicly visible package versions with more than 5000 downloads cannot be deleted.", refused: true},
		"403 refusal with every scope": {status: 403,
			headers: map[string]string{"X-OAuth-Scopes": "read:packages, delete:packages", "X-Accepted-OAuth-Scopes": "read:packages, delete:packages"},
			msg:     "Publicly visible package versions with more than 5000 downloads cannot be deleted.", refused: true},
		"403 without scope headers is a refusal": {status: 403,
			msg: "You need at least delete:packages scope to delete a package version.", refused: true},
		"403 unknown scope named is dropped": {status: 403,
			headers: map[string]string{"X-OAuth-Scopes": "read:packages", "X-Accepted-OAuth-Scopes": "evil`scope, read:packages"},
			refused: true},
		"404": {status: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}
			for k, v := range tc.headers {
				resp.Header.Set(k, v)
			}
			err := ClassifyResponse(resp, time.Now())
			if apiErr := (*APIError)(nil); errors.As(err, &apiErr) {
				apiErr.Token = tokenProblem(resp, tc.msg) // as classify does with GitHub's message
			}
			got, ok := TokenProblemOf(err)
			if (tc.want != nil) != ok || errors.Is(err, ErrTokenProblem) != ok {
				t.Fatalf("TokenProblemOf = %+v, %t; errors.Is ErrTokenProblem %t; want %+v", got, ok, errors.Is(err, ErrTokenProblem), tc.want)
			}
			if ok && (got.Kind != tc.want.Kind || !slices.Equal(got.Missing, tc.want.Missing) || !slices.Equal(got.Have, tc.want.Have)) {
				t.Errorf("TokenProblemOf = %+v, want %+v", got, *tc.want)
			}
			if errors.Is(err, ErrRefused) != tc.refused {
				t.Errorf("errors.Is ErrRefused = %t, want %t", !tc.refused, tc.refused)
			}
		})
	}
}

// TestTokenProblemThroughSimulator: the simulator answers a token lacking
// delete:packages, one not authorised for SAML SSO, and a revoked one as
// GitHub does, and the client turns each answer into its token problem,
// remembering the scopes X-OAuth-Scopes listed.
func TestTokenProblemThroughSimulator(t *testing.T) {
	w := newSimWorld(t, nil)
	id := w.addVersions("acme", "app", 2)[0]
	ctx := context.Background()
	c := newTestClient(t, w, nil, nil)
	if _, known := c.Scopes(); known {
		t.Fatal("scopes known before any answer")
	}
	if err := w.sim.SetTokenScopes(w.token().Secret(), "read:packages", "repo"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{State: StateActive}); err != nil {
		t.Fatalf("listing with read:packages: %v", err)
	}
	if have, known := c.Scopes(); !known || !slices.Equal(have, []string{"read:packages", "repo"}) {
		t.Errorf("Scopes() = %v, %t; want [read:packages repo]", have, known)
	}
	if missing := MissingScopes([]string{"read:packages", "repo"}, ScopesFor("container")); !slices.Equal(missing, []string{"delete:packages", "write:packages"}) {
		t.Errorf("MissingScopes = %v", missing)
	}

	err := c.DeleteVersion(ctx, acme, "container", "app", id)
	tp, ok := TokenProblemOf(err)
	if !ok || tp.Kind != TokenScope || !slices.Equal(tp.Missing, []string{"delete:packages"}) {
		t.Fatalf("delete without delete:packages: %v (%+v), want a scope problem naming delete:packages", err, tp)
	}
	if !strings.Contains(err.Error(), "You need at least delete:packages scope") {
		t.Errorf("error %q does not carry GitHub's message", err)
	}

	if err := w.sim.SetTokenScopes(w.token().Secret(), "read:packages", "write:packages", "delete:packages"); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.EnforceSAML("acme", true); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteVersion(ctx, acme, "container", "app", id)
	if tp, ok := TokenProblemOf(err); !ok || tp.Kind != TokenSSO {
		t.Fatalf("delete with a token not authorised for SSO: %v, want an SSO problem", err)
	}
	if err := w.sim.AuthorizeSSO(w.token().Secret(), "acme"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVersion(ctx, acme, "container", "app", id); err != nil {
		t.Fatalf("delete once authorised: %v", err)
	}

	bad := newClientAt(t, w.url, NewToken("acme", "test", "ghp_revoked"), nil, nil)
	_, err = bad.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{State: StateActive})
	if tp, ok := TokenProblemOf(err); !ok || tp.Kind != TokenInvalid || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("listing with an unknown token: %v, want an invalid-token problem", err)
	}
}

func TestTokenFormURL(t *testing.T) {
	got := TokenFormURL("", ScopesFor("npm", "docker"))
	want := "https://github.com/settings/tokens/new?scopes=delete:packages,read:packages,repo,write:packages&description=pkgwarden"
	if got != want {
		t.Errorf("TokenFormURL = %s\nwant %s", got, want)
	}
}
