package ghsim

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"
)

const testManifest = `{
  "name": "warden-test",
  "url": "https://example.org/warden",
  "description": "test app",
  "hook_attributes": {"url": "https://hooks.example.org/webhooks"},
  "redirect_url": "https://hooks.example.org/register/callback",
  "default_events": ["registry_package", "issues", "push"],
  "default_permissions": {"packages": "read", "issues": "write", "contents": "read", "metadata": "read"}
}`

// noRedirect is a client that hands back redirects instead of following
// them, so the tests see where the simulator sends the browser.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// createFromManifest posts the confirmation form and returns the redirect
// location's code and state.
func createFromManifest(t *testing.T, f *appFixture, path string, form url.Values) (code, state string) {
	t.Helper()
	resp, err := noRedirect().PostForm(f.api.URL+path+"/confirm", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://hooks.example.org/register/callback" {
		t.Fatalf("redirected to %s, want the manifest's redirect_url", got)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestManifestFlow(t *testing.T) {
	f := newAppFixture(t)
	if _, err := f.sim.AddUser("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.AddOrg("acme", "alice"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path      string
		ownerType string
		owner     string
	}{
		"user":         {path: "/settings/apps/new", ownerType: "User", owner: webUserLogin},
		"organization": {path: "/organizations/acme/settings/apps/new", ownerType: "Organization", owner: "acme"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// The form page shows what will be created, with the button.
			resp, err := http.PostForm(f.api.URL+tc.path+"?state=s-"+name, url.Values{"manifest": {testManifest}})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("form: %d %s", resp.StatusCode, page)
			}
			for _, want := range []string{"Create GitHub App</button>", `value="s-` + name + `"`, "https://hooks.example.org/webhooks", "packages: read", `action="` + tc.path + `/confirm"`} {
				if !strings.Contains(string(page), want) {
					t.Errorf("form page lacks %q:\n%s", want, page)
				}
			}

			appName := "warden " + name
			code, state := createFromManifest(t, f, tc.path, url.Values{"manifest": {testManifest}, "state": {"s-" + name}, "name": {appName}})
			if state != "s-"+name || code == "" {
				t.Fatalf("redirect code %q state %q", code, state)
			}

			cfg, _, err := f.client("").Apps.CompleteAppManifest(context.Background(), code)
			if err != nil {
				t.Fatalf("conversion: %v", err)
			}
			if cfg.GetName() != appName || cfg.GetSlug() != "warden-"+name || cfg.GetOwner().GetType() != tc.ownerType || cfg.GetOwner().GetLogin() != tc.owner {
				t.Errorf("app %q slug %q owner %s %q", cfg.GetName(), cfg.GetSlug(), cfg.GetOwner().GetType(), cfg.GetOwner().GetLogin())
			}
			if cfg.GetWebhookSecret() == "" || cfg.GetClientSecret() == "" || cfg.GetClientID() == "" || cfg.GetID() == f.sim.AppID() {
				t.Errorf("conversion lacks secrets or reuses the hosted app's id: %+v", cfg)
			}
			if !strings.HasSuffix(cfg.GetHTMLURL(), "/apps/warden-"+name) {
				t.Errorf("html_url %q", cfg.GetHTMLURL())
			}

			// The key authenticates as the new app, which has no installations.
			tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, cfg.GetID(), []byte(cfg.GetPEM()))
			if err != nil {
				t.Fatalf("pem: %v", err)
			}
			tr.BaseURL = f.api.URL
			ac := f.point(github.NewClient(&http.Client{Transport: tr}))
			app, _, err := ac.Apps.Get(context.Background(), "")
			if err != nil {
				t.Fatalf("GET /app as the new app: %v", err)
			}
			if app.GetID() != cfg.GetID() || app.GetSlug() != cfg.GetSlug() || app.GetPermissions().GetPackages() != "read" || app.GetPermissions().GetIssues() != "write" {
				t.Errorf("GET /app = id %d slug %q perms %+v", app.GetID(), app.GetSlug(), app.GetPermissions())
			}
			ins, _, err := ac.Apps.ListInstallations(context.Background(), nil)
			if err != nil || len(ins) != 0 {
				t.Errorf("installations of the new app: %v %v", len(ins), err)
			}

			// The code works once.
			_, resp2, err := f.client("").Apps.CompleteAppManifest(context.Background(), code)
			if err == nil || resp2 == nil || resp2.StatusCode != http.StatusNotFound {
				t.Errorf("second conversion: %v", err)
			}
		})
	}
	// The hosted app is untouched.
	app, _, err := f.appClient(t).Apps.Get(context.Background(), "")
	if err != nil || app.GetID() != f.sim.AppID() {
		t.Fatalf("hosted app: %v %v", app.GetID(), err)
	}
}

func TestManifestCodeExpires(t *testing.T) {
	f := newAppFixture(t)
	code, _ := createFromManifest(t, f, "/settings/apps/new", url.Values{"manifest": {testManifest}})
	f.sim.Advance(manifestCodeTTL + time.Second)
	_, resp, err := f.client("").Apps.CompleteAppManifest(context.Background(), code)
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("expired code: %v", err)
	}
}

func TestManifestValidation(t *testing.T) {
	f := newAppFixture(t)
	if _, err := f.sim.AddOrg("acme"); err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(testManifest), &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := map[string]struct {
		path     string
		manifest string
		name     string
		status   int
		want     string
	}{
		"no manifest":       {path: "/settings/apps/new", status: 422, want: "manifest is missing"},
		"not json":          {path: "/settings/apps/new", manifest: "{", status: 422, want: "not valid JSON"},
		"no name":           {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { delete(m, "name") }), status: 422, want: "Name can&#39;t be blank"},
		"no hook url":       {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { delete(m, "hook_attributes") }), status: 422, want: "hook_attributes.url"},
		"unknown perm":      {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { m["default_permissions"].(map[string]any)["teleport"] = "read" }), status: 422, want: "&#34;teleport&#34; is unknown"},
		"bad level":         {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { m["default_permissions"].(map[string]any)["metadata"] = "write" }), status: 422, want: "metadata: &#34;write&#34; is not one of read"},
		"unknown event":     {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { m["default_events"] = []string{"teleported"} }), status: 422, want: "&#34;teleported&#34; is unknown"},
		"event needs perm":  {path: "/settings/apps/new", manifest: edit(func(m map[string]any) { m["default_events"] = []string{"pull_request"} }), status: 422, want: "pull_request needs the pull_requests permission"},
		"taken name":        {path: "/settings/apps/new", manifest: testManifest, name: appName, status: 422, want: "already in use"},
		"unknown org":       {path: "/organizations/nobody/settings/apps/new", manifest: testManifest, status: 404, want: "Not Found"},
		"organization form": {path: "/organizations/acme/settings/apps/new", manifest: testManifest, status: 200, want: "Create GitHub App for acme"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := tc.path
			if tc.name != "" {
				path += "/confirm"
			}
			resp, err := http.PostForm(f.api.URL+path, url.Values{"manifest": {tc.manifest}, "name": {tc.name}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("got %d, want %d with %q:\n%s", resp.StatusCode, tc.status, tc.want, body)
			}
		})
	}
	f.sim.mu.Lock()
	defer f.sim.mu.Unlock()
	if n := len(f.sim.st.manifestApps); n != 0 {
		t.Errorf("%d apps created by refused forms", n)
	}
}

// TestManifestKeyPEM checks the pem field parses as the PKCS#1 key GitHub
// sends.
func TestManifestKeyPEM(t *testing.T) {
	f := newAppFixture(t)
	code, _ := createFromManifest(t, f, "/settings/apps/new", url.Values{"manifest": {testManifest}})
	cfg, _, err := f.client("").Apps.CompleteAppManifest(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(cfg.GetPEM()))
	if blk == nil || blk.Type != "RSA PRIVATE KEY" {
		t.Fatalf("pem block %v", blk)
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
		t.Fatal(err)
	}
}
