package githubapi

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// ErrTokenProblem: GitHub's answer says the packages token itself is the
// problem (invalid, lacking a scope, not authorised for SAML SSO), not the
// package or the version asked about. An *APIError with a Token matches
// it; TokenProblemOf gives the details. Such an answer is the owner's to
// fix: asking again about another version cannot help, and it says
// nothing about the version asked about.
var ErrTokenProblem = errors.New("packages token problem")

// TokenProblemKind says what is wrong with a token.
type TokenProblemKind string

// Kinds of token problems, from GitHub's answer.
const (
	// TokenMissing: no token is configured (never from an answer:
	// ErrNoPackagesToken says it first).
	TokenMissing TokenProblemKind = "missing"
	// TokenInvalid: 401, the token is wrong, expired or revoked.
	TokenInvalid TokenProblemKind = "invalid"
	// TokenScope: 403 naming a scope the token lacks (X-Accepted-OAuth-Scopes
	// against X-OAuth-Scopes).
	TokenScope TokenProblemKind = "scope"
	// TokenSSO: 403 with X-GitHub-SSO: the organisation enforces SAML
	// single sign-on and the token is not authorised for it.
	TokenSSO TokenProblemKind = "sso"
)

// TokenProblem is what GitHub's answer says about the token. Its fields
// hold only scope names (from a fixed list) and never the token.
type TokenProblem struct {
	Kind TokenProblemKind
	// Missing are the scopes the request needed and the token lacks
	// (TokenScope), sorted.
	Missing []string
	// Have are the token's scopes as X-OAuth-Scopes listed them, sorted;
	// nil when the answer carried no such header.
	Have []string
}

// TokenProblemOf returns the token problem err carries, if any.
func TokenProblemOf(err error) (TokenProblem, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Token != nil {
		return *apiErr.Token, true
	}
	return TokenProblem{}, false
}

// knownScopes are the classic-token scopes a token problem may name: a
// header is GitHub's, but it is echoed into issues, so only names from
// this list are kept.
var knownScopes = map[string]bool{
	"read:packages": true, "write:packages": true, "delete:packages": true,
	"repo": true, "read:org": true, "admin:org": true,
}

// scopeMessage is GitHub's wording of a missing scope ("You need at least
// read:packages scope to list packages.", "You need the delete:packages
// scope ..."): read only when the headers name none.
var scopeMessage = regexp.MustCompile(`(?i)need (?:at least |the )?([a-z:]+) scope`)

// tokenProblem classifies a 401 or 403 answer to a classic token's
// request. msg is GitHub's message, "" when not read.
func tokenProblem(resp *http.Response, msg string) *TokenProblem {
	if resp == nil {
		return nil
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return &TokenProblem{Kind: TokenInvalid}
	case http.StatusForbidden:
	default:
		return nil
	}
	haveHeader, haveSet := resp.Header.Values("X-OAuth-Scopes"), resp.Header.Get("X-OAuth-Scopes") != ""
	have := ParseScopes(strings.Join(haveHeader, ","))
	if sso := resp.Header.Get("X-GitHub-SSO"); sso != "" && strings.HasPrefix(strings.TrimSpace(strings.ToLower(sso)), "required") {
		return &TokenProblem{Kind: TokenSSO, Have: have}
	}
	if !haveSet && len(haveHeader) == 0 {
		// Not a classic token's answer (or not GitHub's): a plain refusal.
		return nil
	}
	var missing []string
	for _, sc := range ParseScopes(resp.Header.Get("X-Accepted-OAuth-Scopes")) {
		if !HasScope(have, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) == 0 {
		if m := scopeMessage.FindStringSubmatch(msg); m != nil && knownScopes[strings.ToLower(m[1])] && !HasScope(have, strings.ToLower(m[1])) {
			missing = []string{strings.ToLower(m[1])}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return &TokenProblem{Kind: TokenScope, Missing: missing, Have: have}
}

// ParseScopes reads an X-OAuth-Scopes or X-Accepted-OAuth-Scopes value
// ("repo, read:packages") into sorted known scope names; unknown names are
// dropped.
func ParseScopes(header string) []string {
	var out []string
	for _, f := range strings.Split(header, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if knownScopes[f] && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// HasScope says whether a token with scopes have may do what scope
// allows, with GitHub's implications: write:packages includes
// read:packages, admin:org includes read:org.
func HasScope(have []string, scope string) bool {
	switch {
	case slices.Contains(have, scope):
		return true
	case scope == "read:packages":
		return slices.Contains(have, "write:packages")
	case scope == "read:org":
		return slices.Contains(have, "admin:org")
	}
	return false
}

// ScopesFor are the classic-token scopes pkgwarden needs for packages of
// the given types: read:packages to list, delete:packages to prune,
// write:packages to restore, and repo for the registries whose packages
// take their permissions from a repository (maven and docker.pkg.github.com).
// Sorted, as the token form lists them.
func ScopesFor(types ...string) []string {
	out := []string{"delete:packages", "read:packages", "write:packages"}
	if slices.ContainsFunc(types, RepoScoped) {
		out = append(out, "repo")
	}
	slices.Sort(out)
	return out
}

// RepoScoped says whether packages of type take their permissions from a
// repository (GitHub docs, "About permissions for GitHub Packages"), so
// that a classic token needs repo for them too.
func RepoScoped(packageType string) bool { return packageType == "maven" || packageType == "docker" }

// MissingScopes returns the scopes of need the token's scopes have do not
// give, in need's order.
func MissingScopes(have, need []string) []string {
	var out []string
	for _, sc := range need {
		if !HasScope(have, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// TokenFormURL is GitHub's page creating a classic token with scopes
// ticked; webURL is GitHub's web address ("" for https://github.com).
func TokenFormURL(webURL string, scopes []string) string {
	base := strings.TrimRight(webURL, "/")
	if base == "" {
		base = "https://github.com"
	}
	// Scope names are from knownScopes or ScopesFor: nothing to escape.
	return base + "/settings/tokens/new?scopes=" + strings.Join(scopes, ",") + "&description=pkgwarden"
}
