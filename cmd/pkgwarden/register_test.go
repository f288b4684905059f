package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

func TestEmbeddedManifestIsTopLevel(t *testing.T) {
	top, err := os.ReadFile("../../app-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, embeddedManifest) {
		t.Fatal("cmd/pkgwarden/app-manifest.yml differs from the top-level app-manifest.yml: run `go generate ./cmd/pkgwarden`")
	}
}

func TestLoadManifest(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "mine.yml")
	if err := os.WriteFile(own, []byte("name: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args    []string
		want    string
		wantErr string
	}{
		"named file":         {args: []string{"--manifest", own}, want: "name: mine\n"},
		"named but absent":   {args: []string{"--manifest", filepath.Join(dir, "gone.yml")}, wantErr: "gone.yml"},
		"default but absent": {args: nil, want: string(embeddedManifest)},
	}
	t.Chdir(dir) // no app-manifest.yml here
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			path := fs.String("manifest", defaultManifestPath, "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			got, err := loadManifest(*path, fs, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// lockedBuffer is an io.Writer the command writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// registerRun is `pkgwarden register` running against a simulator.
type registerRun struct {
	sim     *ghsim.Sim
	api     *httptest.Server
	pageURL string
	dataDir string
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	done    chan error
}

var reOpenURL = regexp.MustCompile(`Open (http://\S+)/ in a browser`)

// startRegister serves a simulator and runs the command against it with
// extra flags, returning once the page's URL is printed.
func startRegister(t *testing.T, extra ...string) *registerRun {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim.APIHandler())
	sim.SetURLs(api.URL, "http://registry.invalid")
	t.Cleanup(func() { api.Close(); sim.Close() })
	run := &registerRun{sim: sim, api: api, dataDir: filepath.Join(t.TempDir(), "data"),
		stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--listen", "127.0.0.1:0", "--github-url", api.URL, "--api-url", api.URL,
		"--data-dir", run.dataDir, "--manifest", "../../app-manifest.yml"}, extra...)
	if !slices.Contains(extra, "--public-url") && !slices.Contains(extra, "--webhook-url") {
		args = append(args, "--local")
	}
	go func() { run.done <- runRegister(ctx, args, run.stdout, run.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-run.done:
		case <-time.After(10 * time.Second):
			t.Error("register did not stop")
		}
	})
	printed := testwait.Until(10*time.Second, func() bool {
		if m := reOpenURL.FindStringSubmatch(run.stdout.String()); m != nil {
			run.pageURL = m[1]
			return true
		}
		select {
		case err := <-run.done:
			t.Fatalf("register stopped: %v\n%s", err, run.stderr.String())
		default:
		}
		return false
	})
	if !printed {
		t.Fatalf("register printed no URL:\n%s\n%s", run.stdout.String(), run.stderr.String())
	}
	return run
}

// wait returns the command's result once it stops by itself.
func (r *registerRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("register still running:\n%s", r.stdout.String())
		return nil
	}
}

// checkRegistered asserts the data dir holds a working app of the
// simulator named slug.
func (r *registerRun) checkRegistered(t *testing.T, slug string) {
	t.Helper()
	for name, mode := range map[string]os.FileMode{"app_id": 0o644, "app_slug": 0o644, "private-key.pem": 0o600, "webhook_secret": 0o600} {
		st, err := os.Stat(filepath.Join(r.dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), mode)
		}
	}
	idText, _ := os.ReadFile(filepath.Join(r.dataDir, "app_id"))
	key, _ := os.ReadFile(filepath.Join(r.dataDir, "private-key.pem"))
	id, err := strconv.ParseInt(strings.TrimSpace(string(idText)), 10, 64)
	if err != nil {
		t.Fatalf("app_id %q: %v", idText, err)
	}
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, id, key)
	if err != nil {
		t.Fatalf("written key: %v", err)
	}
	tr.BaseURL = r.api.URL
	c := github.NewClient(&http.Client{Transport: tr})
	c.BaseURL, _ = url.Parse(r.api.URL + "/")
	app, _, err := c.Apps.Get(context.Background(), "")
	if err != nil {
		t.Fatalf("GET /app with the written key: %v", err)
	}
	if app.GetID() != id || app.GetSlug() != slug {
		t.Errorf("GET /app = %d %q, want %d %q", app.GetID(), app.GetSlug(), id, slug)
	}
	if secret, _ := os.ReadFile(filepath.Join(r.dataDir, "webhook_secret")); strings.Contains(r.stdout.String()+r.stderr.String(), strings.TrimSpace(string(secret))) {
		t.Error("the webhook secret was printed")
	}
}

var (
	reFormAction = regexp.MustCompile(`<form id="[a-z]+" method="post" action="([^"]+)"`)
	reFormField  = regexp.MustCompile(`<input type="(?:hidden|text)" (?:id="[a-z]+" )?name="([a-z]+)" value="([^"]*)"`)
)

func pageForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := reFormAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in:\n%s", page)
	}
	v := url.Values{}
	for _, f := range reFormField.FindAllStringSubmatch(page, -1) {
		v.Set(f[1], html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), v
}

// bodyOf reads a response's body, failing t on a request error:
// bodyOf(t)(http.Get(u)).
func bodyOf(t *testing.T) func(*http.Response, error) string {
	return func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
}

// TestRegisterCommandHTTP drives the command as a browser would, over
// plain HTTP: page, GitHub's form, confirmation, redirect to the callback;
// the command then exits by itself.
func TestRegisterCommandHTTP(t *testing.T) {
	run := startRegister(t, "--org", "acme")
	if _, err := run.sim.AddOrg("acme"); err != nil {
		t.Fatal(err)
	}
	page := bodyOf(t)(http.Get(run.pageURL + "/"))
	action, vals := pageForm(t, page)
	if !strings.HasPrefix(action, run.api.URL+"/organizations/acme/settings/apps/new?state=") {
		t.Fatalf("form posts to %q", action)
	}
	confirm := bodyOf(t)(http.PostForm(action, vals))
	action, vals = pageForm(t, confirm)
	vals.Set("name", "pkgwarden-acme") // "pkgwarden" is taken, as on GitHub
	// The client follows the redirect to the command's callback.
	done := bodyOf(t)(http.PostForm(run.api.URL+action, vals))
	if !strings.Contains(done, "Registered GitHub App pkgwarden-acme") {
		t.Fatalf("callback page:\n%s", done)
	}
	if err := run.wait(t); err != nil {
		t.Fatalf("register: %v\n%s", err, run.stderr.String())
	}
	run.checkRegistered(t, "pkgwarden-acme")
	out := run.stdout.String()
	for _, want := range []string{
		"/apps/pkgwarden-acme/installations/new",
		run.api.URL + "/settings/tokens/new?scopes=read:packages,write:packages,delete:packages,repo&description=pkgwarden+acme",
		"PKGWARDEN_GITHUB_API_URL=" + run.api.URL + "/",
		"packages-tokens/acme",
		" pkgwarden serve\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q in its next steps:\n%s", want, out)
		}
	}
}

func TestRegisterCommandRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app_id"), []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := runRegister(context.Background(), []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--manifest", "../../app-manifest.yml"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err %v, want a refusal naming --force", err)
	}
}

// TestRegisterNeedsPublicURL: without --public-url, register refuses to
// start (a usage error naming the flag, --local and the README's relay
// section) unless --local is given; the two flags exclude each other.
func TestRegisterNeedsPublicURL(t *testing.T) {
	tests := map[string]struct {
		args []string
		want []string
	}{
		"neither":            {args: nil, want: []string{"--public-url is required", "--local", relaySection}},
		"both":               {args: []string{"--local", "--public-url", "https://warden.example.net"}, want: []string{"--local excludes --public-url and --webhook-url"}},
		"local and relay":    {args: []string{"--local", "--webhook-url", "https://smee.io/AbC123"}, want: []string{"--local excludes --public-url and --webhook-url"}},
		"relay not absolute": {args: []string{"--webhook-url", "smee.io/AbC123"}, want: []string{"--webhook-url \"smee.io/AbC123\" is not an absolute http(s) URL"}},
		"not absolute":       {args: []string{"--public-url", "warden.example.net"}, want: []string{"is not an absolute http(s) URL"}},
		"not http(s)":        {args: []string{"--public-url", "ftp://warden.example.net"}, want: []string{"is not an absolute http(s) URL"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--manifest", "../../app-manifest.yml"}, tc.args...)
			err := runRegister(context.Background(), args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("register started:\n%s", stdout.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), "absolute") && !errors.Is(err, errUsage) {
				t.Errorf("error %v is not a usage error (exit status 2)", err)
			}
			if strings.Contains(stdout.String(), "Open ") {
				t.Errorf("the page was served:\n%s", stdout.String())
			}
		})
	}
}

// TestRegisterLocalSaysSo: with --local, register starts, and says that
// webhooks will not reach it and where the README tells how to receive
// them; the serve command it prints then listens where the hooks go.
func TestRegisterLocalSaysSo(t *testing.T) {
	run := startRegister(t, "--local")
	out := run.stdout.String()
	addr := strings.TrimPrefix(run.pageURL, "http://")
	for _, want := range []string{
		"Webhooks will go to " + run.pageURL + "/webhooks",
		"--local: GitHub cannot reach " + run.pageURL + ", so no webhook will arrive",
		`README.md, "` + relaySection + `"`,
		"--webhook-url",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	page := bodyOf(t)(http.Get(run.pageURL + "/"))
	_, vals := pageForm(t, page)
	if !strings.Contains(vals.Get("manifest"), `"url":"`+run.pageURL+`/webhooks"`) {
		t.Errorf("the manifest's hook is not the page's own address: %s", vals.Get("manifest"))
	}
	if !strings.Contains(handlers.ServeCommand(run.dataDir, run.api.URL, run.api.URL, addr), "PKGWARDEN_LISTEN="+addr) {
		t.Error("ServeCommand drops the listen address")
	}
}

// TestRegisterRelay: --webhook-url alone (a relay's channel) is the App's
// webhook URL as is, and its pages for a browser point at serve on this
// machine.
func TestRegisterRelay(t *testing.T) {
	const channel = "https://smee.io/AbC123"
	run := startRegister(t, "--webhook-url", channel)
	if out := run.stdout.String(); !strings.Contains(out, "Webhooks will go to "+channel+";") || strings.Contains(out, "--local") {
		t.Errorf("stdout:\n%s", out)
	}
	_, vals := pageForm(t, bodyOf(t)(http.Get(run.pageURL+"/")))
	var m struct {
		Hook     struct{ URL string } `json:"hook_attributes"`
		SetupURL string               `json:"setup_url"`
	}
	if err := json.Unmarshal([]byte(vals.Get("manifest")), &m); err != nil {
		t.Fatal(err)
	}
	if m.Hook.URL != channel || m.SetupURL != "http://localhost:8080/setup" {
		t.Errorf("manifest hook %q, setup %q", m.Hook.URL, m.SetupURL)
	}
}

// TestREADMEHasRelaySection: the section register --local points to
// exists under that name.
func TestREADMEHasRelaySection(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(relaySection) + `$`).Match(b) {
		t.Errorf("README.md has no section %q, which register names", relaySection)
	}
}

func TestDefaultAPIURL(t *testing.T) {
	tests := map[string]struct{ web, want string }{
		"github.com":        {web: "https://github.com", want: "https://api.github.com/"},
		"github.com slash":  {web: "https://github.com/", want: "https://api.github.com/"},
		"enterprise server": {web: "https://ghe.example.com", want: "https://ghe.example.com/api/v3/"},
		"enterprise slash":  {web: "https://ghe.example.com/", want: "https://ghe.example.com/api/v3/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := defaultAPIURL(tc.web); got != tc.want {
				t.Errorf("defaultAPIURL(%q) = %q, want %q", tc.web, got, tc.want)
			}
		})
	}
}

// TestRegisterKeepRunning: with --keep-running the page stays up after a
// registration (here with --force, as the data dir now holds credentials)
// until the context ends.
func TestRegisterKeepRunning(t *testing.T) {
	run := startRegister(t, "--keep-running", "--force")
	for i, name := range []string{"pkgwarden-one", "pkgwarden-two"} {
		page := bodyOf(t)(http.Get(run.pageURL + "/"))
		action, vals := pageForm(t, page)
		confirm := bodyOf(t)(http.PostForm(action, vals))
		action, vals = pageForm(t, confirm)
		vals.Set("name", name)
		if done := bodyOf(t)(http.PostForm(run.api.URL+action, vals)); !strings.Contains(done, "Registered GitHub App "+name) {
			t.Fatalf("registration %d:\n%s", i, done)
		}
		select {
		case err := <-run.done:
			t.Fatalf("register stopped after registration %d: %v", i, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	run.checkRegistered(t, "pkgwarden-two")
}
