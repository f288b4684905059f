package ghsim

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// world is the state every part of the simulator shares, and what the
// parts share of its rules (authentication, access checks, the JSON views
// and webhooks more than one part sends). All of it is in memory behind
// one mutex: the simulator favours being obviously correct over being
// fast. Its exported methods are Sim's Go API (promoted through Sim's
// embedding): tests and the demo seed build the world with them, and the
// admin part serves the same operations over HTTP.
type world struct {
	opts   Options
	log    *slog.Logger
	client *http.Client

	mu    sync.Mutex
	clock clock
	st    *state
	// pk is the package side's own state (registry.go), guarded by mu.
	pk packageSide

	// outbox feeds the webhook sender; pendingN counts deliveries not yet
	// attempted (guarded by mu).
	outbox   chan outgoing
	pendingN int
}

// SetURLs tells the simulator where it is served, once listeners are bound.
func (s *world) SetURLs(apiURL, registryURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	s.opts.APIURL = apiURL
	s.opts.RegistryURL = strings.TrimSuffix(registryURL, "/")
}

// SetWebhookURL points the app's webhooks at url.
func (s *world) SetWebhookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.WebhookURL = url
}

// AppID is the simulated app's id.
func (s *world) AppID() int64 { return s.opts.AppID }

// AppKey is the simulated app's private key.
func (s *world) AppKey() *rsa.PrivateKey { return s.opts.AppKey }

// WebhookSecret is the secret the simulator signs webhooks with.
func (s *world) WebhookSecret() string { return s.opts.WebhookSecret }

// Now is the simulated time: wall time moved by the admin clock offset.
func (s *world) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.now()
}

// Advance moves the simulated clock forward (or back, with d < 0). It moves
// ages and the 30-day restore window; rate-limit windows follow wall time.
func (s *world) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.offset += d
}

type clock struct{ offset time.Duration }

func (c clock) now() time.Time { return time.Now().Add(c.offset).UTC().Truncate(time.Second) }

// These methods build the simulated world from Go (tests, the demo seed).
// The admin API exposes the same operations over HTTP.

// AddUser creates a user account and returns its id. Adding an existing
// login is an error.
func (s *world) AddUser(login string) (int64, error) {
	return s.addAccount(login, "User", nil)
}

// AddOrg creates an organization whose owners (admins) are the given users,
// which must exist already.
func (s *world) AddOrg(login string, admins ...string) (int64, error) {
	return s.addAccount(login, "Organization", admins)
}

func (s *world) addAccount(login, typ string, admins []string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login == "" || strings.ContainsAny(login, "/ ") {
		return 0, fmt.Errorf("ghsim: invalid login %q", login)
	}
	if _, ok := s.st.accounts[lower(login)]; ok {
		return 0, fmt.Errorf("ghsim: account %q exists", login)
	}
	a := &account{ID: s.st.id(), Login: login, Type: typ, Admins: map[string]bool{}, Members: map[string]bool{}}
	for _, u := range admins {
		ua, ok := s.st.accounts[lower(u)]
		if !ok || ua.Type != "User" {
			return 0, fmt.Errorf("ghsim: admin %q of %s is not a user", u, login)
		}
		a.Admins[lower(u)] = true
		a.Members[lower(u)] = true
	}
	s.st.accounts[lower(login)] = a
	return a.ID, nil
}

// RepoOptions describe a new repository.
type RepoOptions struct {
	Private bool
	// NoIssues turns issues off (has_issues: false).
	NoIssues bool
	// DefaultBranch defaults to "main".
	DefaultBranch string
}

// AddRepo creates owner/name. The owner must exist.
func (s *world) AddRepo(owner, name string, o RepoOptions) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(owner)]
	if !ok {
		return 0, fmt.Errorf("ghsim: add repo %s/%s: no account %q", owner, name, owner)
	}
	full := lower(a.Login + "/" + name)
	if _, ok := s.st.repos[full]; ok {
		return 0, fmt.Errorf("ghsim: repo %s/%s exists", owner, name)
	}
	if o.DefaultBranch == "" {
		o.DefaultBranch = "main"
	}
	r := &repo{
		ID: s.st.id(), Owner: a.Login, Name: name, Private: o.Private, HasIssues: !o.NoIssues,
		DefaultBranch: o.DefaultBranch,
		Files:         map[string]map[string][]byte{o.DefaultBranch: {}},
		Collaborators: map[string]string{},
		Labels:        map[string]*label{},
		CreatedAt:     s.clock.now(),
	}
	s.st.repos[full] = r
	return r.ID, nil
}

// SetCollaborator gives user the permission ("admin", "maintain", "write",
// "triage", "read", or "" to remove) on owner/name.
func (s *world) SetCollaborator(owner, name, user, permission string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return fmt.Errorf("ghsim: no repo %s/%s", owner, name)
	}
	if _, ok := s.st.accounts[lower(user)]; !ok {
		return fmt.Errorf("ghsim: no user %q", user)
	}
	switch permission {
	case "":
		delete(r.Collaborators, lower(user))
	case "admin", "maintain", "write", "triage", "read":
		r.Collaborators[lower(user)] = permission
	default:
		return fmt.Errorf("ghsim: unknown permission %q", permission)
	}
	return nil
}

// AddClassicToken makes a classic personal access token for user with the
// given scopes and returns it. Tokens look like GitHub's ("ghp_…").
func (s *world) AddClassicToken(user string, scopes ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(user)]
	if !ok || a.Type != "User" {
		return "", fmt.Errorf("ghsim: token for %q: not a user", user)
	}
	t := &token{Kind: tokenClassic, Value: "ghp_" + randomHex(18), User: lower(user), Scopes: map[string]bool{}}
	for _, sc := range scopes {
		t.Scopes[sc] = true
	}
	s.st.tokens[t.Value] = t
	return t.Value, nil
}

// SetTokenScopes gives an existing classic token exactly scopes, as a
// person editing the token on GitHub's settings page does: the same token
// string, other scopes.
func (s *world) SetTokenScopes(tok string, scopes ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.tokens[tok]
	if !ok || t.Kind != tokenClassic {
		return fmt.Errorf("ghsim: set scopes: no such classic token")
	}
	t.Scopes = map[string]bool{}
	for _, sc := range scopes {
		t.Scopes[sc] = true
	}
	return nil
}

// EnforceSAML makes org enforce SAML single sign-on (on or off): from then
// on, its package endpoints refuse a classic token not authorised for it
// (AuthorizeSSO) with 403 and X-GitHub-SSO.
func (s *world) EnforceSAML(org string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(org)]
	if !ok || a.Type != "Organization" {
		return fmt.Errorf("ghsim: enforce SAML on %q: not an organization", org)
	}
	a.SAMLEnforced = on
	return nil
}

// AuthorizeSSO authorises a classic token for org's SAML single sign-on,
// as its user does on the token's "Configure SSO" page.
func (s *world) AuthorizeSSO(tok, org string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.tokens[tok]
	if !ok || t.Kind != tokenClassic {
		return fmt.Errorf("ghsim: authorize SSO: no such classic token")
	}
	if t.SSOAuthorized == nil {
		t.SSOAuthorized = map[string]bool{}
	}
	t.SSOAuthorized[lower(org)] = true
	return nil
}

// AddInstallation installs the app on account with the given permissions
// (e.g. {"packages": "read", "issues": "write"}); repos empty means all
// repositories. It returns the installation id.
func (s *world) AddInstallation(account string, permissions map[string]string, repos ...string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(account)]
	if !ok {
		return 0, fmt.Errorf("ghsim: install on %q: no such account", account)
	}
	in := &installation{ID: s.st.id(), Account: lower(a.Login), AllRepos: len(repos) == 0,
		Repos: map[string]bool{}, Permissions: map[string]string{}, CreatedAt: s.clock.now()}
	for k, v := range permissions {
		in.Permissions[k] = v
	}
	for _, r := range repos {
		full := lower(r)
		if !strings.Contains(full, "/") {
			full = lower(a.Login + "/" + r)
		}
		if _, ok := s.st.repos[full]; !ok {
			return 0, fmt.Errorf("ghsim: install on %s: no repo %q", account, r)
		}
		in.Repos[full] = true
	}
	s.st.installations[in.ID] = in
	return in.ID, nil
}

// installationFor returns the installation covering account, or nil.
// Called with s.mu held.
func (s *world) installationFor(account string) *installation {
	ids := make([]int64, 0, len(s.st.installations))
	for id := range s.st.installations {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if in := s.st.installations[id]; in.Account == lower(account) {
			return in
		}
	}
	return nil
}
