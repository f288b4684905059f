package ghsim

import (
	"net/http"
	"sort"
	"strings"
)

// Accounts over REST: who a login is (user or organization), and who a
// classic token belongs to, which clients ask before choosing between the
// /orgs/ and /users/ package endpoints.

func (s *reposAPI) registerUserRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /user", s.handleAuthenticatedUser)
	mux.HandleFunc("GET /users/{username}", s.handleGetAccount)
}

// setScopesHeader writes X-OAuth-Scopes for a classic token, as GitHub
// does on its responses.
func setScopesHeader(w http.ResponseWriter, p *principal) {
	if p == nil || p.Kind != principalClassic {
		return
	}
	scopes := make([]string, 0, len(p.Token.Scopes))
	for sc := range p.Token.Scopes {
		scopes = append(scopes, sc)
	}
	sort.Strings(scopes)
	w.Header().Set("X-OAuth-Scopes", strings.Join(scopes, ", "))
}

// authenticateRequest authenticates r, answering 401 itself when
// credentials were given but are not valid, and sets X-OAuth-Scopes as
// GitHub does for a classic token. p is nil for an anonymous caller.
// Called with s.mu held.
func (s *world) authenticateRequest(w http.ResponseWriter, r *http.Request) (p *principal, ok bool) {
	p, status, msg := s.authenticate(r)
	if status != 0 {
		writeError(w, status, msg)
		return nil, false
	}
	setScopesHeader(w, p)
	return p, true
}

// requirePrincipal authenticates r for an endpoint only callers of kind
// may use: it answers 401 for bad credentials or none, and 403 with
// forbidden (GitHub's message differs per endpoint) for another kind.
// Called with s.mu held.
func (s *world) requirePrincipal(w http.ResponseWriter, r *http.Request, kind principalKind, forbidden string) (*principal, bool) {
	p, status, msg := s.authenticate(r)
	switch {
	case status != 0:
		writeError(w, status, msg)
		return nil, false
	case p == nil:
		writeError(w, http.StatusUnauthorized, msgRequiresAuth)
		return nil, false
	case p.Kind != kind:
		setScopesHeader(w, p)
		writeError(w, http.StatusForbidden, forbidden)
		return nil, false
	}
	setScopesHeader(w, p)
	return p, true
}

// accountDetails is the full user or organization object.
func (s *reposAPI) accountDetails(a *account) map[string]any {
	v := s.simpleUser(a.Login)
	public := 0
	for _, rp := range s.st.repos {
		if lower(rp.Owner) == lower(a.Login) && !rp.Private {
			public++
		}
	}
	for k, val := range map[string]any{
		"name": nil, "company": nil, "blog": "", "location": nil, "email": nil, "bio": nil,
		"twitter_username": nil, "public_repos": public, "public_gists": 0, "followers": 0,
		"following": 0, "created_at": appCreatedAt(), "updated_at": appCreatedAt(),
	} {
		v[k] = val
	}
	// GitHub's public-user object has hireable for organizations too
	// (GET /users/{org}: "hireable": null).
	v["hireable"] = nil
	return v
}

func (s *reposAPI) handleAuthenticatedUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.requirePrincipal(w, r, principalClassic, msgNotAccessibleByIntegration)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.accountDetails(s.st.accounts[p.Token.User]))
}

func (s *reposAPI) handleGetAccount(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authenticateRequest(w, r); !ok {
		return
	}
	login := r.PathValue("username")
	if lower(login) == lower(s.BotLogin()) {
		writeJSON(w, http.StatusOK, s.simpleUser(login))
		return
	}
	a, ok := s.st.accounts[lower(login)]
	if !ok {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.accountDetails(a))
}
