package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/goccy/go-yaml"
	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// regEnv is the simulator and a register server over real HTTP.
type regEnv struct {
	sim     *ghsim.Sim
	api     *httptest.Server
	reg     *Register
	srv     *httptest.Server
	dataDir string
	done    []Registration
	logs    *bytes.Buffer
}

const testPublicURL = "https://warden.example.net"

// newRegEnv serves the simulator and the register pages; edit changes the
// config before the pages are built.
func newRegEnv(t *testing.T, edit func(*RegisterConfig)) *regEnv {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim.APIHandler())
	sim.SetURLs(api.URL, "http://registry.invalid")
	t.Cleanup(func() { api.Close(); sim.Close() })
	manifest, err := os.ReadFile("../app-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	env := &regEnv{sim: sim, api: api, dataDir: filepath.Join(t.TempDir(), "data"), logs: &bytes.Buffer{}}
	cfg := RegisterConfig{
		Manifest:     manifest,
		PublicURL:    testPublicURL,
		GitHubURL:    api.URL,
		APIURL:       api.URL + "/",
		Converter:    apiClient(t, api.URL).Apps,
		DataDir:      env.dataDir,
		Logger:       slog.New(slog.NewTextHandler(env.logs, nil)),
		OnRegistered: func(r Registration) { env.done = append(env.done, r) },
	}
	if edit != nil {
		edit(&cfg)
	}
	env.reg, err = NewRegister(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(env.reg)
	t.Cleanup(env.srv.Close)
	return env
}

func apiClient(t *testing.T, apiURL string) *github.Client {
	t.Helper()
	c := github.NewClient(nil)
	u, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

var (
	reAction = regexp.MustCompile(`<form id="[a-z]+" method="post" action="([^"]+)"`)
	reHidden = regexp.MustCompile(`<input type="(?:hidden|text)" (?:id="[a-z]+" )?name="([a-z]+)" value="([^"]*)"`)
)

// form reads the first form of an HTML page: its action and fields.
func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := reAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	vals := url.Values{}
	for _, f := range reHidden.FindAllStringSubmatch(page, -1) {
		vals.Set(f[1], html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), vals
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// createApp goes through the pages as a browser would, up to GitHub's
// redirect, and returns the callback URL with code and state.
func (e *regEnv) createApp(t *testing.T, appName string) string {
	t.Helper()
	_, page := get(t, http.DefaultClient, e.srv.URL+"/")
	action, vals := form(t, page)
	resp, err := http.PostForm(action, vals)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sim form: %d %s", resp.StatusCode, b)
	}
	action, vals = form(t, string(b))
	vals.Set("name", appName)
	resp, err = noFollow().PostForm(e.api.URL+action, vals)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sim confirm: %d %s", resp.StatusCode, b)
	}
	return resp.Header.Get("Location")
}

func TestRegisterPageRewritesManifest(t *testing.T) {
	tests := map[string]struct {
		org        string
		public     string
		wantAction string
		wantHook   string
	}{
		"user":                  {public: testPublicURL, wantAction: "/settings/apps/new?state=", wantHook: testPublicURL + "/webhooks"},
		"organisation":          {org: "acme corp", public: testPublicURL + "/", wantAction: "/organizations/acme%20corp/settings/apps/new?state=", wantHook: testPublicURL + "/webhooks"},
		"public url by default": {wantAction: "/settings/apps/new?state=", wantHook: "SRV/webhooks"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newRegEnv(t, func(c *RegisterConfig) { c.Org = tc.org; c.PublicURL = tc.public })
			_, page := get(t, http.DefaultClient, env.srv.URL+"/")
			action, vals := form(t, page)
			if want := env.api.URL + tc.wantAction; !strings.HasPrefix(action, want) || len(action) < len(want)+32 {
				t.Errorf("action %q, want %q and a state", action, want)
			}
			var m struct {
				Name           string            `json:"name"`
				Hook           map[string]any    `json:"hook_attributes"`
				RedirectURL    string            `json:"redirect_url"`
				SetupURL       string            `json:"setup_url"`
				CallbackURLs   []string          `json:"callback_urls"`
				DefaultEvents  []string          `json:"default_events"`
				DefaultPerms   map[string]string `json:"default_permissions"`
				ExternalURL    string            `json:"url"`
				RequestOAuthOn bool              `json:"request_oauth_on_install"`
			}
			if err := json.Unmarshal([]byte(vals.Get("manifest")), &m); err != nil {
				t.Fatalf("manifest field: %v: %q", err, vals.Get("manifest"))
			}
			public := strings.TrimSuffix(tc.public, "/")
			if public == "" {
				public = env.srv.URL
			}
			if got, want := m.Hook["url"], strings.Replace(tc.wantHook, "SRV", env.srv.URL, 1); got != want {
				t.Errorf("hook url %v, want %s", got, want)
			}
			if m.RedirectURL != env.srv.URL+RegisterCallbackPath {
				t.Errorf("redirect_url %q, want the register server's callback", m.RedirectURL)
			}
			if m.SetupURL != public+"/setup" || len(m.CallbackURLs) != 1 || m.CallbackURLs[0] != public+"/setup" {
				t.Errorf("setup_url %q callback_urls %q", m.SetupURL, m.CallbackURLs)
			}
			// The events and permissions are app-manifest.yml's, untouched.
			var src struct {
				Events []string          `yaml:"default_events"`
				Perms  map[string]string `yaml:"default_permissions"`
			}
			raw, err := os.ReadFile("../app-manifest.yml")
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(raw, &src); err != nil {
				t.Fatal(err)
			}
			if m.Name != "pkgwarden" || m.ExternalURL != "https://github.com/pkgwarden/pkgwarden" || !maps.Equal(m.DefaultPerms, src.Perms) || !slices.Equal(m.DefaultEvents, src.Events) || len(src.Events) == 0 {
				t.Errorf("manifest changed beyond its URLs: %+v", m)
			}
			if strings.Contains(vals.Get("manifest"), ManifestPlaceholder) {
				t.Errorf("placeholder left in %s", vals.Get("manifest"))
			}
		})
	}
}

func TestRegisterFlowWritesCredentials(t *testing.T) {
	env := newRegEnv(t, nil)
	cb := env.createApp(t, "pkgwarden-acme")
	resp, page := get(t, http.DefaultClient, cb)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Registered GitHub App pkgwarden-acme") {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, page)
	}
	if len(env.done) != 1 {
		t.Fatalf("OnRegistered called %d times", len(env.done))
	}
	reg := env.done[0]
	wantInstall := env.api.URL + "/apps/pkgwarden-acme/installations/new"
	if reg.InstallURL != wantInstall || !strings.Contains(page, wantInstall) || !strings.Contains(page, "pkgwarden serve") {
		t.Errorf("next steps: install %q, page:\n%s", reg.InstallURL, page)
	}

	files := map[string]os.FileMode{"app_id": 0o644, "app_slug": 0o644, "private-key.pem": 0o600, "webhook_secret": 0o600}
	contents := map[string]string{}
	for name, mode := range files {
		p := filepath.Join(env.dataDir, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), mode)
		}
		b, _ := os.ReadFile(p)
		contents[name] = string(b)
	}
	if id, err := strconv.ParseInt(strings.TrimSpace(contents["app_id"]), 10, 64); err != nil || id != reg.AppID || id == env.sim.AppID() {
		t.Errorf("app_id %q (registration %d, hosted app %d)", contents["app_id"], reg.AppID, env.sim.AppID())
	}
	if strings.TrimSpace(contents["app_slug"]) != "pkgwarden-acme" {
		t.Errorf("app_slug %q", contents["app_slug"])
	}
	secret := strings.TrimSpace(contents["webhook_secret"])
	if len(secret) < 20 || strings.Contains(page, secret) {
		t.Errorf("webhook secret %d chars, shown on the page: %t", len(secret), strings.Contains(page, secret))
	}
	if strings.Contains(page, "PRIVATE KEY") {
		t.Error("the page shows the key")
	}
	leftovers, _ := filepath.Glob(filepath.Join(env.dataDir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}

	// The key is the new app's: a JWT signed with it is the app on GET /app.
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, reg.AppID, []byte(contents["private-key.pem"]))
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	tr.BaseURL = env.api.URL
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL = apiClient(t, env.api.URL).BaseURL
	app, _, err := c.Apps.Get(context.Background(), "")
	if err != nil {
		t.Fatalf("GET /app with the written key: %v", err)
	}
	if app.GetID() != reg.AppID || app.GetSlug() != "pkgwarden-acme" {
		t.Errorf("GET /app = %d %q", app.GetID(), app.GetSlug())
	}
}

func TestRegisterCallbackRefusals(t *testing.T) {
	tests := map[string]struct {
		setup      func(t *testing.T, env *regEnv) string // returns the callback URL
		force      bool
		deadAPI    bool
		wantStatus int
		wantText   string
		// keep lists files that must hold their old content afterwards.
		keep map[string]string
	}{
		"wrong state": {
			setup: func(t *testing.T, env *regEnv) string {
				return withQuery(t, env.createApp(t, "pkgwarden-csrf"), func(q url.Values) url.Values {
					q.Set("state", "forged")
					return q
				})
			},
			wantStatus: http.StatusForbidden, wantText: "CSRF",
		},
		"no state": {
			setup: func(t *testing.T, env *regEnv) string {
				return withQuery(t, env.createApp(t, "pkgwarden-nostate"), func(q url.Values) url.Values {
					return url.Values{"code": {q.Get("code")}}
				})
			},
			wantStatus: http.StatusForbidden, wantText: "CSRF",
		},
		"reused code": {
			setup: func(t *testing.T, env *regEnv) string {
				cb := env.createApp(t, "pkgwarden-reuse")
				code, _ := url.Parse(cb)
				if _, _, err := apiClient(t, env.api.URL).Apps.CompleteAppManifest(context.Background(), code.Query().Get("code")); err != nil {
					t.Fatal(err)
				}
				return cb
			},
			wantStatus: http.StatusBadRequest, wantText: "already used or has expired",
		},
		"existing credentials": {
			setup: func(t *testing.T, env *regEnv) string {
				cb := env.createApp(t, "pkgwarden-exists")
				if err := os.MkdirAll(env.dataDir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(env.dataDir, "app_id"), []byte("42\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return cb
			},
			wantStatus: http.StatusConflict, wantText: "already holds credentials",
			keep: map[string]string{"app_id": "42\n"},
		},
		"unreachable API": {
			setup:      func(t *testing.T, env *regEnv) string { return env.createApp(t, "pkgwarden-down") },
			deadAPI:    true,
			wantStatus: http.StatusBadGateway, wantText: "Cannot reach the GitHub API",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dead := httptest.NewServer(http.NotFoundHandler())
			deadURL := dead.URL
			dead.Close()
			env := newRegEnv(t, func(c *RegisterConfig) {
				c.Force = tc.force
				if tc.deadAPI {
					c.Converter = apiClient(t, deadURL).Apps
					c.APIURL = deadURL
				}
			})
			cb := tc.setup(t, env)
			resp, page := get(t, http.DefaultClient, cb)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(page, tc.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", resp.StatusCode, tc.wantStatus, tc.wantText, page)
			}
			u, _ := url.Parse(cb)
			if code := u.Query().Get("code"); strings.Contains(page, code) || strings.Contains(env.logs.String(), code) {
				t.Errorf("the code is shown or logged:\n%s\n%s", page, env.logs.String())
			}
			if len(env.done) != 0 {
				t.Errorf("OnRegistered called: %+v", env.done)
			}
			entries, _ := os.ReadDir(env.dataDir)
			if len(entries) != len(tc.keep) {
				t.Errorf("data dir holds %d entries, want %d", len(entries), len(tc.keep))
			}
			for name, want := range tc.keep {
				if b, _ := os.ReadFile(filepath.Join(env.dataDir, name)); string(b) != want {
					t.Errorf("%s = %q, want %q untouched", name, b, want)
				}
			}
		})
	}
}

// TestRegisterCodeSurvivesRefusal: refusing to overwrite happens before
// the exchange, so reloading the callback after moving the files saves the
// App, as the refusal page says.
func TestRegisterCodeSurvivesRefusal(t *testing.T) {
	env := newRegEnv(t, nil)
	cb := env.createApp(t, "pkgwarden-later")
	if err := os.MkdirAll(env.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(env.dataDir, "webhook_secret")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, page := get(t, http.DefaultClient, cb); resp.StatusCode != http.StatusConflict {
		t.Fatalf("first callback: %d\n%s", resp.StatusCode, page)
	}
	if err := os.Remove(old); err != nil {
		t.Fatal(err)
	}
	if resp, page := get(t, http.DefaultClient, cb); resp.StatusCode != http.StatusOK || len(env.done) != 1 {
		t.Fatalf("reload after moving the files: %d\n%s", resp.StatusCode, page)
	}
}

// TestRegisterForceReplaces checks --force: existing credentials are
// replaced, and the page warns before GitHub is involved.
func TestRegisterForceReplaces(t *testing.T) {
	env := newRegEnv(t, func(c *RegisterConfig) { c.Force = true })
	if err := os.MkdirAll(env.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.dataDir, "app_id"), []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, page := get(t, http.DefaultClient, env.srv.URL+"/")
	if !strings.Contains(page, "will be replaced") {
		t.Errorf("no warning on the page:\n%s", page)
	}
	resp, page := get(t, http.DefaultClient, env.createApp(t, "pkgwarden-forced"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, page)
	}
	b, _ := os.ReadFile(filepath.Join(env.dataDir, "app_id"))
	if strings.TrimSpace(string(b)) != strconv.FormatInt(env.done[0].AppID, 10) {
		t.Errorf("app_id %q after --force, want %d", b, env.done[0].AppID)
	}
}

// TestRegisterIndexRefusesExisting: without --force the page refuses up
// front, so no App is created on GitHub that could not be saved.
func TestRegisterIndexRefusesExisting(t *testing.T) {
	env := newRegEnv(t, nil)
	if err := os.MkdirAll(env.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.dataDir, "private-key.pem"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, page := get(t, http.DefaultClient, env.srv.URL+"/")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "--force") || strings.Contains(page, "<form") {
		t.Errorf("index with credentials: %d\n%s", resp.StatusCode, page)
	}
}

// withQuery returns rawURL with its query replaced by what edit makes of it.
func withQuery(t *testing.T, rawURL string, edit func(url.Values) url.Values) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = edit(u.Query()).Encode()
	return u.String()
}

func TestManifestJSONErrors(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want string
	}{
		"not yaml":     {yaml: "name: [", want: "app manifest"},
		"empty":        {yaml: "", want: "empty"},
		"no name":      {yaml: "hook_attributes: {url: https://x.example/webhooks}", want: "name is missing"},
		"no hook url":  {yaml: "name: x", want: "hook_attributes.url is missing"},
		"no hook attr": {yaml: "name: x\nhook_attributes: {active: true}", want: "hook_attributes.url is missing"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ManifestJSON([]byte(tc.yaml), "https://a.example", "https://a.example/cb")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}
