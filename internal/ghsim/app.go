package ghsim

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// AppSlug is the slug of the one GitHub App the simulator hosts. Its bot
// user, the author of everything an installation token does, is
// AppSlug + "[bot]".
const AppSlug = "pkgwarden"

// appName is the app's display name; appOwnerLogin the account that
// registered it (not an account of the simulated world, as on GitHub the
// app's owner need not be where it is installed).
const (
	appName       = "pkgwarden"
	appOwnerLogin = "ghsim"
	appOwnerID    = 9_000_001
	botUserID     = 9_000_002
)

// JWT limits of GitHub ("Generating a JSON Web Token (JWT) for a GitHub App"):
// exp at most 10 minutes after iat, and 60 s of tolerated clock drift.
const (
	jwtMaxLifetime = 10 * time.Minute
	jwtClockSkew   = 60 * time.Second
	// installationTokenTTL is the lifetime of an installation access token.
	installationTokenTTL = time.Hour
)

// appCreatedAt is when the simulated app was registered: a fixed date,
// before anything in a simulated world.
func appCreatedAt() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// appEvents are the webhook events the simulated app subscribes to.
func appEvents() []string {
	return []string{"issue_comment", "issues", "pull_request", "push", "registry_package"}
}

// BotLogin is the login of the app's bot user ("pkgwarden[bot]"), the
// sender of webhooks for what installation tokens do.
func (s *world) BotLogin() string { return AppSlug + "[bot]" }

// appAPI is the part that serves the GitHub App over the shared world:
// its authentication (/app, installations, installation access tokens),
// its webhook deliveries (app_hooks.go) and apps made from manifests
// (manifest.go).
type appAPI struct{ *world }

// register serves the app's routes.
func (s *appAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /app", s.appOnly(s.handleGetApp))
	mux.HandleFunc("GET /app/installations", s.appOnly(s.handleListInstallations))
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.appOnly(s.handleCreateAccessToken))
	mux.HandleFunc("GET /orgs/{org}/installation", s.appOnly(s.handleFindOrgInstallation))
	mux.HandleFunc("GET /installation/repositories", s.handleInstallationRepos)
	s.registerHookDeliveryRoutes(mux)
	s.registerManifestRoutes(mux)
}

// verifyAppJWT checks an RS256 app JWT against the app's key and GitHub's
// claim rules. Times are checked against wall time, not the simulated
// clock: clients sign with their own clock, and moving the simulated clock
// (to age packages) must not lock the app out.
func (s *world) verifyAppJWT(raw string) error {
	return verifyJWT(raw, &s.opts.AppKey.PublicKey, s.opts.AppID, time.Now())
}

func verifyJWT(raw string, pub *rsa.PublicKey, appID int64, now time.Time) error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	if _, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
		return fmt.Errorf("app jwt: %w", err)
	}
	iat, err := intClaim(claims, "iat")
	if err != nil {
		return err
	}
	exp, err := intClaim(claims, "exp")
	if err != nil {
		return err
	}
	switch iss := claims["iss"].(type) {
	case json.Number:
		if n, err := iss.Int64(); err != nil || n != appID {
			return fmt.Errorf("app jwt: iss %s is not app %d", iss, appID)
		}
	case string:
		// GitHub takes the app id or, since 2024, the client id.
		if iss != strconv.FormatInt(appID, 10) && iss != appClientID(appID) {
			return fmt.Errorf("app jwt: iss %q is not app %d", iss, appID)
		}
	default:
		return errors.New("app jwt: missing iss")
	}
	issued, expires := time.Unix(iat, 0), time.Unix(exp, 0)
	switch {
	case !expires.After(issued):
		return errors.New("app jwt: exp is not after iat")
	case expires.Sub(issued) > jwtMaxLifetime:
		return errors.New("app jwt: 'Expiration time' claim ('exp') is too far in the future")
	case issued.After(now.Add(jwtClockSkew)):
		return errors.New("app jwt: 'Issued at' claim ('iat') must be in the past")
	case !expires.After(now.Add(-jwtClockSkew)):
		return errors.New("app jwt: 'Expiration time' claim ('exp') is in the past")
	}
	return nil
}

// appClientID is the app's client id, shaped like GitHub's.
func appClientID(appID int64) string { return fmt.Sprintf("Iv1.%016x", appID) }

// intClaim reads a NumericDate claim; GitHub refuses fractional ones.
func intClaim(c jwt.MapClaims, name string) (int64, error) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, fmt.Errorf("app jwt: missing %s", name)
	}
	v, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("app jwt: %s %s is not an integer", name, n)
	}
	return v, nil
}

// appOnly runs h with s.mu held when the caller authenticated with the
// app's JWT, and answers 401 otherwise.
func (s *appAPI) appOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, status, msg := s.authenticate(r)
		switch {
		case status != 0:
			writeError(w, status, msg)
			return
		case p == nil, p.Kind != principalApp:
			writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
			return
		case p.App != nil:
			s.serveManifestApp(w, r, p.App)
			return
		}
		h(w, r)
	}
}

func (s *appAPI) handleGetApp(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.appView())
}

// appView is the app object; its permissions are the widest any
// installation holds, since on GitHub installations accept the app's.
func (s *world) appView() map[string]any {
	perms := map[string]string{"metadata": "read"}
	for _, in := range s.st.installations {
		for k, v := range in.Permissions {
			if installPermRank(v) > installPermRank(perms[k]) {
				perms[k] = v
			}
		}
	}
	created := appCreatedAt()
	return map[string]any{
		"id":                  s.opts.AppID,
		"slug":                AppSlug,
		"node_id":             appNodeID("A_", s.opts.AppID),
		"client_id":           appClientID(s.opts.AppID),
		"owner":               s.orgObject(appOwnerLogin, appOwnerID),
		"name":                appName,
		"description":         "Keeps GitHub Packages tidy and safe (simulated).",
		"external_url":        "https://github.com/pkgwarden/pkgwarden",
		"html_url":            s.appHTMLURL("apps/" + AppSlug),
		"created_at":          created,
		"updated_at":          created,
		"permissions":         perms,
		"events":              appEvents(),
		"installations_count": len(s.st.installations),
	}
}

func (s *appAPI) handleListInstallations(w http.ResponseWriter, r *http.Request) {
	ids := make([]int64, 0, len(s.st.installations))
	for id := range s.st.installations {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	page := appPage(s.world, w, r, ids, func(id int64) map[string]any { return s.installationView(s.st.installations[id]) })
	writeJSON(w, http.StatusOK, page)
}

func (s *appAPI) installationByPath(r *http.Request) *installation {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil
	}
	return s.st.installations[id]
}

// handleFindOrgInstallation serves GET /orgs/{org}/installation.
func (s *appAPI) handleFindOrgInstallation(w http.ResponseWriter, r *http.Request) {
	a, ok := s.st.accounts[lower(r.PathValue("org"))]
	if !ok || a.Type != "Organization" {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	in := s.installationFor(a.Login)
	if in == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.installationView(in))
}

// repoInstallation returns the installation covering rp, or nil.
// Called with s.mu held.
func (s *world) repoInstallation(rp *repo) *installation {
	in := s.installationFor(rp.Owner)
	if in == nil || !in.covers(rp) {
		return nil
	}
	return in
}

func (in *installation) covers(rp *repo) bool {
	return lower(rp.Owner) == in.Account && (in.AllRepos || in.Repos[lower(rp.fullName())])
}

func (in *installation) selection() string {
	if in.AllRepos {
		return "all"
	}
	return "selected"
}

// installationPermissions are in's permissions as GitHub shows them:
// metadata read is implied by every installation.
func installationPermissions(in *installation) map[string]string {
	out := map[string]string{"metadata": "read"}
	for k, v := range in.Permissions {
		out[k] = v
	}
	return out
}

func (s *appAPI) installationView(in *installation) map[string]any {
	a := s.st.accounts[in.Account]
	base := s.opts.APIURL
	id := strconv.FormatInt(in.ID, 10)
	htmlPath := "settings/installations/" + id
	if a.Type == "Organization" {
		htmlPath = "organizations/" + a.Login + "/settings/installations/" + id
	}
	return map[string]any{
		"id":                        in.ID,
		"account":                   s.simpleUser(a.Login),
		"repository_selection":      in.selection(),
		"access_tokens_url":         base + "app/installations/" + id + "/access_tokens",
		"repositories_url":          base + "installation/repositories",
		"html_url":                  s.appHTMLURL(htmlPath),
		"app_id":                    s.opts.AppID,
		"app_slug":                  AppSlug,
		"target_id":                 a.ID,
		"target_type":               a.Type,
		"permissions":               installationPermissions(in),
		"events":                    appEvents(),
		"created_at":                in.CreatedAt,
		"updated_at":                in.CreatedAt,
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_by":              nil,
		"suspended_at":              nil,
	}
}

// accessTokenRequest is the optional body of POST .../access_tokens.
type accessTokenRequest struct {
	Repositories  []string          `json:"repositories"`
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

func (s *appAPI) handleCreateAccessToken(w http.ResponseWriter, r *http.Request) {
	in := s.installationByPath(r)
	if in == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	var req accessTokenRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	t := &token{
		Kind:         tokenInstallation,
		Value:        "ghs_" + randomHex(18),
		Installation: in.ID,
		ExpiresAt:    s.clock.now().Add(installationTokenTTL),
	}
	granted := installationPermissions(in)
	if len(req.Permissions) > 0 {
		t.Permissions = map[string]string{"metadata": "read"}
		for k, v := range req.Permissions {
			if installPermRank(v) == 0 || installPermRank(v) > installPermRank(granted[k]) {
				writeError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
				return
			}
			t.Permissions[k] = v
		}
	}
	var narrowed []*repo
	if len(req.Repositories) > 0 || len(req.RepositoryIDs) > 0 {
		// Repositories are asked for by name and by id alike; nil stands
		// for one that does not exist.
		asked := make([]*repo, 0, len(req.Repositories)+len(req.RepositoryIDs))
		for _, name := range req.Repositories {
			asked = append(asked, s.st.repos[lower(in.Account+"/"+name)])
		}
		for _, id := range req.RepositoryIDs {
			asked = append(asked, s.repoByID(id))
		}
		t.Repos = map[string]bool{}
		for _, rp := range asked {
			if rp == nil || !in.covers(rp) {
				writeError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.")
				return
			}
			if !t.Repos[lower(rp.fullName())] {
				narrowed = append(narrowed, rp)
			}
			t.Repos[lower(rp.fullName())] = true
		}
	}
	s.st.tokens[t.Value] = t
	perms := granted
	if t.Permissions != nil {
		perms = t.Permissions
	}
	out := map[string]any{
		"token":                t.Value,
		"expires_at":           t.ExpiresAt,
		"permissions":          perms,
		"repository_selection": in.selection(),
	}
	if t.Repos != nil {
		out["repository_selection"] = "selected"
		views := make([]map[string]any, 0, len(narrowed))
		for _, rp := range narrowed {
			views = append(views, s.fullRepository(rp, nil))
		}
		out["repositories"] = views
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *appAPI) repoByID(id int64) *repo {
	for _, rp := range s.st.repos {
		if rp.ID == id {
			return rp
		}
	}
	return nil
}

// handleInstallationRepos serves GET /installation/repositories: the
// repositories an installation token may use.
func (s *appAPI) handleInstallationRepos(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.requirePrincipal(w, r, principalInstallation,
		"You must authenticate with an installation access token in order to list repositories for an installation.")
	if !ok {
		return
	}
	var list []*repo
	for _, rp := range s.st.repos {
		if s.tokenCovers(p.Token, rp) {
			list = append(list, rp)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	views := appPage(s.world, w, r, list, func(rp *repo) map[string]any { return s.fullRepository(rp, nil) })
	in := s.st.installations[p.Token.Installation]
	sel := in.selection()
	if p.Token.Repos != nil {
		sel = "selected"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"total_count":          len(list),
		"repository_selection": sel,
		"repositories":         views,
	})
}

// tokenCovers tells whether installation token t may use rp.
func (s *world) tokenCovers(t *token, rp *repo) bool {
	in := s.st.installations[t.Installation]
	if in == nil || !in.covers(rp) {
		return false
	}
	return t.Repos == nil || t.Repos[lower(rp.fullName())]
}

// tokenPermission is the level ("", read, write, admin) installation
// token t holds for permission name.
func (s *world) tokenPermission(t *token, name string) string {
	if t.Permissions != nil {
		return t.Permissions[name]
	}
	in := s.st.installations[t.Installation]
	if in == nil {
		return ""
	}
	return installationPermissions(in)[name]
}

func installPermRank(level string) int {
	switch level {
	case "read":
		return 1
	case "write":
		return 2
	case "admin":
		return 3
	}
	return 0
}

// appNodeID makes a GraphQL-style node id; clients treat it as opaque.
func appNodeID(prefix string, id int64) string {
	return prefix + strings.ToUpper(strconv.FormatInt(id, 36))
}
