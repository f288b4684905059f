package ghsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// The app-manifest flow ("Registering a GitHub App from a manifest"): a web
// form takes a manifest, a person confirms, GitHub redirects to the
// manifest's redirect_url with a one-time code, and the code is exchanged at
// POST /app-manifests/{code}/conversions for the new app's id, key and
// secrets. Apps created this way are additional apps beside the one the
// simulator hosts (Options.AppID): their JWTs authenticate GET /app, and
// they have no installations.

// manifestCodeTTL is how long a conversion code lives (GitHub: "You must
// complete this step within one hour").
const manifestCodeTTL = time.Hour

// webUserLogin is the person signed in to the simulated web UI. The
// simulator has no web sign-in, so apps created for "a user" belong to this
// account, outside the world like the hosted app's owner.
const (
	webUserLogin = "ghsim-web"
	webUserID    = 9_000_003
)

// manifestApp is an app created from a manifest. Guarded by world.mu.
type manifestApp struct {
	ID            int64
	Slug          string
	Name          string
	Description   string
	ExternalURL   string
	HookURL       string
	Owner         map[string]any // account object, fixed at creation
	Key           *rsa.PrivateKey
	WebhookSecret string
	ClientSecret  string
	Permissions   map[string]string
	Events        []string
	CreatedAt     time.Time
}

// manifestCode is a conversion code: single use, one hour on the simulated
// clock.
type manifestCode struct {
	App       *manifestApp
	ExpiresAt time.Time
	Used      bool
}

// appManifest is the manifest JSON of GitHub's docs; unknown keys are
// ignored, as GitHub ignores them.
type appManifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	HookAttributes struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL           string            `json:"redirect_url"`
	CallbackURLs          []string          `json:"callback_urls"`
	SetupURL              string            `json:"setup_url"`
	Public                bool              `json:"public"`
	DefaultEvents         []string          `json:"default_events"`
	DefaultPermissions    map[string]string `json:"default_permissions"`
	RequestOAuthOnInstall bool              `json:"request_oauth_on_install"`
	SetupOnUpdate         bool              `json:"setup_on_update"`
}

// manifestPermissions are the permission names an app may ask for, with the
// levels each takes (GitHub docs, "Choosing permissions for a GitHub App";
// the subset a package bot could plausibly name, plus the common ones).
var manifestPermissions = map[string][]string{
	"actions": {"read", "write"}, "administration": {"read", "write"},
	"checks": {"read", "write"}, "contents": {"read", "write"},
	"deployments": {"read", "write"}, "environments": {"read", "write"},
	"issues": {"read", "write"}, "metadata": {"read"},
	"packages": {"read", "write"}, "pages": {"read", "write"},
	"pull_requests": {"read", "write"}, "repository_hooks": {"read", "write"},
	"repository_projects": {"read", "write", "admin"}, "secrets": {"read", "write"},
	"security_events": {"read", "write"}, "single_file": {"read", "write"},
	"statuses": {"read", "write"}, "vulnerability_alerts": {"read", "write"},
	"workflows": {"write"}, "members": {"read", "write"},
	"organization_administration": {"read", "write"}, "organization_hooks": {"read", "write"},
	"organization_packages": {"read", "write"}, "organization_plan": {"read"},
	"organization_projects": {"read", "write", "admin"}, "organization_secrets": {"read", "write"},
	"email_addresses": {"read", "write"},
}

// manifestEvents are the events an app may subscribe to, each with the
// permission that must be granted for it ("" when metadata suffices);
// GitHub refuses an event whose permission the manifest does not ask for.
var manifestEvents = map[string]string{
	"check_run": "checks", "check_suite": "checks", "create": "contents", "delete": "contents",
	"deployment": "deployments", "deployment_status": "deployments", "issue_comment": "issues",
	"issues": "issues", "label": "metadata", "member": "members", "membership": "members",
	"organization": "members", "package": "packages", "public": "metadata",
	"pull_request": "pull_requests", "push": "contents", "registry_package": "packages",
	"release": "contents", "repository": "metadata", "star": "metadata", "status": "statuses",
	"workflow_job": "actions", "workflow_run": "actions",
}

// registerManifestRoutes serves the creation form (web) and the conversion
// endpoint (REST).
func (s *appAPI) registerManifestRoutes(mux *http.ServeMux) {
	for _, p := range []string{"/settings/apps/new", "/organizations/{org}/settings/apps/new"} {
		mux.HandleFunc("GET "+p, s.handleManifestForm)
		mux.HandleFunc("POST "+p, s.handleManifestForm)
		mux.HandleFunc("POST "+p+"/confirm", s.handleManifestConfirm)
	}
	mux.HandleFunc("POST /app-manifests/{code}/conversions", s.handleManifestConversion)
}

// parseManifest decodes and validates a manifest the way GitHub's form
// does; name is the name the person confirmed (it overrides the
// manifest's). The errors are the messages shown on the page.
func parseManifest(raw, name string) (appManifest, []string) {
	var m appManifest
	if strings.TrimSpace(raw) == "" {
		return m, []string{"The manifest is missing: post it in the form field \"manifest\"."}
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return m, []string{"The manifest is not valid JSON: " + err.Error()}
	}
	if name != "" {
		m.Name = strings.TrimSpace(name)
	}
	var errs []string
	if strings.TrimSpace(m.Name) == "" {
		errs = append(errs, "Name can't be blank")
	}
	if !absoluteURL(m.URL) {
		errs = append(errs, "Homepage URL (url) must be an absolute http(s) URL")
	}
	if !absoluteURL(m.HookAttributes.URL) {
		errs = append(errs, "Webhook URL (hook_attributes.url) must be an absolute http(s) URL")
	}
	for _, u := range append([]string{m.RedirectURL, m.SetupURL}, m.CallbackURLs...) {
		if u != "" && !absoluteURL(u) {
			errs = append(errs, fmt.Sprintf("%q is not an absolute http(s) URL", u))
		}
	}
	for _, k := range sortedKeys(m.DefaultPermissions) {
		levels, ok := manifestPermissions[k]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("Default permission %q is unknown", k))
		case !slices.Contains(levels, m.DefaultPermissions[k]):
			errs = append(errs, fmt.Sprintf("Default permission %s: %q is not one of %s", k, m.DefaultPermissions[k], strings.Join(levels, ", ")))
		}
	}
	for _, e := range m.DefaultEvents {
		perm, ok := manifestEvents[e]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("Default event %q is unknown", e))
		case perm != "metadata" && m.DefaultPermissions[perm] == "":
			errs = append(errs, fmt.Sprintf("Default events unsupported: %s needs the %s permission", e, perm))
		}
	}
	return m, errs
}

func absoluteURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// appSlugOf makes a slug from an app name as GitHub does: lower case,
// runs of other characters become one dash.
func appSlugOf(name string) string {
	return strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// manifestPage is the data of the confirmation page.
type manifestPage struct {
	Action   string
	Owner    string
	Manifest string
	State    string
	Name     string
	HookURL  string
	Perms    []string
	Events   []string
	Errors   []string
}

var manifestTmpl = template.Must(template.New("new").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Create GitHub App</title></head>
<body>
<h1>Create GitHub App for {{.Owner}}</h1>
{{if .Errors}}<ul id="errors">{{range .Errors}}<li>{{.}}</li>{{end}}</ul>{{end}}
<form id="create" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<input type="hidden" name="state" value="{{.State}}">
<p><label>GitHub App name <input type="text" id="name" name="name" value="{{.Name}}"></label></p>
<p>Webhook URL: <code>{{.HookURL}}</code></p>
<p>Permissions:{{range .Perms}} <code>{{.}}</code>{{else}} none beyond metadata{{end}}</p>
<p>Events:{{range .Events}} <code>{{.}}</code>{{else}} none{{end}}</p>
<button type="submit" id="submit">Create GitHub App</button>
</form>
</body></html>
`))

// webOwner is the account a web route creates the app for: the
// organization of the path (which must exist), else the signed-in person.
// Called with s.mu held.
func (s *appAPI) webOwner(r *http.Request) (map[string]any, string, bool) {
	org := r.PathValue("org")
	if org == "" {
		return s.accountObject(webUserLogin, webUserID, "User"), webUserLogin, true
	}
	a, ok := s.st.accounts[lower(org)]
	if !ok || a.Type != "Organization" {
		return nil, "", false
	}
	return s.accountObject(a.Login, a.ID, a.Type), a.Login, true
}

// handleManifestForm shows the confirmation page for a manifest given as
// the form field (POST, GitHub's way) or query parameter "manifest".
func (s *appAPI) handleManifestForm(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	_, owner, ok := s.webOwner(r)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw := r.Form.Get("manifest")
	m, errs := parseManifest(raw, "")
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.renderManifestPage(w, status, r, owner, raw, m, errs)
}

func (s *appAPI) renderManifestPage(w http.ResponseWriter, status int, r *http.Request, owner, raw string, m appManifest, errs []string) {
	page := manifestPage{
		Action:   strings.TrimSuffix(r.URL.Path, "/confirm") + "/confirm",
		Owner:    owner,
		Manifest: raw,
		State:    r.Form.Get("state"),
		Name:     m.Name,
		HookURL:  m.HookAttributes.URL,
		Events:   m.DefaultEvents,
		Errors:   errs,
	}
	for _, k := range sortedKeys(m.DefaultPermissions) {
		page.Perms = append(page.Perms, k+": "+m.DefaultPermissions[k])
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = manifestTmpl.Execute(w, page)
}

// handleManifestConfirm creates the app when the person clicks "Create
// GitHub App", then redirects to the manifest's redirect_url with the
// conversion code and the state it was given.
func (s *appAPI) handleManifestConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	raw := r.PostForm.Get("manifest")
	m, errs := parseManifest(raw, r.PostForm.Get("name"))
	s.mu.Lock()
	ownerObj, owner, ok := s.webOwner(r)
	if !ok {
		s.mu.Unlock()
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	slug := appSlugOf(m.Name)
	if len(errs) == 0 && s.appSlugTaken(slug) {
		// App names are global on GitHub; the hosted app holds its slug.
		errs = append(errs, fmt.Sprintf("Name %q is already in use", m.Name))
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		s.renderManifestPage(w, http.StatusUnprocessableEntity, r, owner, raw, m, errs)
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.mu.Unlock()
		http.Error(w, "generate key: "+err.Error(), http.StatusInternalServerError)
		return
	}
	now := s.clock.now()
	app := &manifestApp{
		ID:            s.st.id(),
		Slug:          slug,
		Name:          m.Name,
		Description:   m.Description,
		ExternalURL:   m.URL,
		HookURL:       m.HookAttributes.URL,
		Owner:         ownerObj,
		Key:           key,
		WebhookSecret: randomHex(20),
		ClientSecret:  randomHex(20),
		Permissions:   map[string]string{"metadata": "read"},
		// Never nil: GitHub answers "events": [] for an app without any.
		Events:    append([]string{}, m.DefaultEvents...),
		CreatedAt: now,
	}
	for k, v := range m.DefaultPermissions {
		app.Permissions[k] = v
	}
	code := randomHex(20)
	if s.st.manifestApps == nil {
		s.st.manifestApps = map[int64]*manifestApp{}
		s.st.manifestCodes = map[string]*manifestCode{}
	}
	s.st.manifestApps[app.ID] = app
	s.st.manifestCodes[code] = &manifestCode{App: app, ExpiresAt: now.Add(manifestCodeTTL)}
	s.mu.Unlock()

	if m.RedirectURL == "" {
		// GitHub shows the new app's settings; the code is then useless
		// to anyone but a person reading the page.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "Created GitHub App %s (id %d). The manifest has no redirect_url; conversion code: %s\n", app.Name, app.ID, code)
		return
	}
	u, _ := url.Parse(m.RedirectURL) // validated by parseManifest
	q := u.Query()
	q.Set("code", code)
	if st := r.PostForm.Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// appSlugTaken tells whether an app (hosted or created) has slug. Called
// with s.mu held.
func (s *appAPI) appSlugTaken(slug string) bool {
	if slug == AppSlug {
		return true
	}
	for _, a := range s.st.manifestApps {
		if a.Slug == slug {
			return true
		}
	}
	return false
}

// handleManifestConversion serves POST /app-manifests/{code}/conversions:
// no authentication, the code works once and for an hour.
func (s *appAPI) handleManifestConversion(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.manifestCodes[r.PathValue("code")]
	if !ok || c.Used || !s.clock.now().Before(c.ExpiresAt) {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	c.Used = true
	a := c.App
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a.Key)})
	out := s.manifestAppView(a)
	out["client_secret"] = a.ClientSecret
	out["webhook_secret"] = a.WebhookSecret
	out["pem"] = string(keyPEM)
	writeJSON(w, http.StatusCreated, out)
}

// manifestAppView is a created app's object, as GET /app shows it.
// Called with s.mu held.
func (s *appAPI) manifestAppView(a *manifestApp) map[string]any {
	return map[string]any{
		"id":                  a.ID,
		"slug":                a.Slug,
		"node_id":             appNodeID("A_", a.ID),
		"client_id":           appClientID(a.ID),
		"owner":               a.Owner,
		"name":                a.Name,
		"description":         a.Description,
		"external_url":        a.ExternalURL,
		"html_url":            s.appHTMLURL("apps/" + a.Slug),
		"created_at":          a.CreatedAt,
		"updated_at":          a.CreatedAt,
		"permissions":         a.Permissions,
		"events":              a.Events,
		"installations_count": 0,
	}
}

// manifestAppForJWT finds the created app whose key signed raw, by the iss
// claim, and checks the JWT as verifyJWT does. Called with s.mu held.
func (s *world) manifestAppForJWT(raw string) *manifestApp {
	if len(s.st.manifestApps) == 0 {
		return nil
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser(jwt.WithJSONNumber()).ParseUnverified(raw, claims); err != nil {
		return nil
	}
	var a *manifestApp
	switch iss := claims["iss"].(type) {
	case json.Number:
		if n, err := iss.Int64(); err == nil {
			a = s.st.manifestApps[n]
		}
	case string:
		if n, err := strconv.ParseInt(iss, 10, 64); err == nil {
			a = s.st.manifestApps[n]
		}
		for _, c := range s.st.manifestApps {
			if appClientID(c.ID) == iss {
				a = c
			}
		}
	}
	if a == nil || verifyJWT(raw, &a.Key.PublicKey, a.ID, time.Now()) != nil {
		return nil
	}
	return a
}

// serveManifestApp answers a created app's JWT on the app routes: GET /app
// shows the app; it has no installations and no deliveries.
func (s *appAPI) serveManifestApp(w http.ResponseWriter, r *http.Request, a *manifestApp) {
	switch r.Pattern {
	case "GET /app":
		writeJSON(w, http.StatusOK, s.manifestAppView(a))
	case "GET /app/installations", "GET /app/hook/deliveries":
		writeJSON(w, http.StatusOK, []any{})
	default:
		writeError(w, http.StatusNotFound, msgNotFound)
	}
}
