package ghsim

import (
	"net/http"
)

// principalKind says who is calling.
type principalKind int

const (
	principalClassic      principalKind = iota + 1 // a classic personal access token
	principalInstallation                          // an installation access token
	principalApp                                   // the app itself, with its RS256 JWT
)

// principal is an authenticated caller.
type principal struct {
	Kind principalKind
	// Token is set for classic and installation tokens.
	Token *token
	// App is set when an app created from a manifest signed the JWT; nil
	// for the hosted app.
	App *manifestApp
}

// login is the user behind a classic token, "" otherwise.
func (p *principal) login() string {
	if p != nil && p.Kind == principalClassic {
		return p.Token.User
	}
	return ""
}

// authenticate finds who is calling. It must be called with s.mu held.
// It returns (nil, 0, "") for an anonymous request, and a status and
// message when credentials were given but are not valid.
func (s *world) authenticate(r *http.Request) (*principal, int, string) {
	cred := bearer(r)
	if cred == "" {
		return nil, 0, ""
	}
	if t, ok := s.st.tokens[cred]; ok {
		switch t.Kind {
		case tokenClassic:
			return &principal{Kind: principalClassic, Token: t}, 0, ""
		case tokenInstallation:
			if !t.ExpiresAt.IsZero() && !s.clock.now().Before(t.ExpiresAt) {
				return nil, http.StatusUnauthorized, msgBadCreds
			}
			return &principal{Kind: principalInstallation, Token: t}, 0, ""
		}
	}
	if looksLikeJWT(cred) {
		if err := s.verifyAppJWT(cred); err != nil {
			if a := s.manifestAppForJWT(cred); a != nil {
				return &principal{Kind: principalApp, App: a}, 0, ""
			}
			return nil, http.StatusUnauthorized, "A JSON web token could not be decoded"
		}
		return &principal{Kind: principalApp}, 0, ""
	}
	return nil, http.StatusUnauthorized, msgBadCreds
}

func looksLikeJWT(s string) bool {
	dots := 0
	for _, c := range s {
		if c == '.' {
			dots++
		}
	}
	return dots == 2
}
