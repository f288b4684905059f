package handlers

import (
	"bytes"
	"flag"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestServeCommand(t *testing.T) {
	tests := map[string]struct {
		dataDir, githubURL, apiURL, listen string
		want                               string
	}{
		"github.com": {
			dataDir: "./data", githubURL: "https://github.com", apiURL: "https://api.github.com/",
			want: "PKGWARDEN_DATA_DIR=./data pkgwarden serve",
		},
		"github.com, API URL without slash": {
			dataDir: "/srv/pkgwarden", githubURL: "https://github.com/", apiURL: "https://api.github.com",
			want: "PKGWARDEN_DATA_DIR=/srv/pkgwarden pkgwarden serve",
		},
		"enterprise server": {
			dataDir: "./data", githubURL: "https://ghe.example.com", apiURL: "https://ghe.example.com/api/v3/",
			want: "PKGWARDEN_DATA_DIR=./data PKGWARDEN_GITHUB_URL=https://ghe.example.com " +
				"PKGWARDEN_REGISTRY_URL=https://containers.ghe.example.com " +
				"PKGWARDEN_GITHUB_API_URL=https://ghe.example.com/api/v3/ pkgwarden serve",
		},
		"enterprise server, API elsewhere": {
			dataDir: "./data", githubURL: "https://ghe.example.com/", apiURL: "https://api.ghe.example.com",
			want: "PKGWARDEN_DATA_DIR=./data PKGWARDEN_GITHUB_URL=https://ghe.example.com " +
				"PKGWARDEN_REGISTRY_URL=https://containers.ghe.example.com " +
				"PKGWARDEN_GITHUB_API_URL=https://api.ghe.example.com/ pkgwarden serve",
		},
		"local, listening where the hooks go": {
			dataDir: "./data", githubURL: "https://github.com", apiURL: "https://api.github.com/", listen: "127.0.0.1:8081",
			want: "PKGWARDEN_DATA_DIR=./data PKGWARDEN_LISTEN=127.0.0.1:8081 pkgwarden serve",
		},
		"data dir needing quotes": {
			dataDir: "/home/o'neil/my data", githubURL: "https://github.com", apiURL: "https://api.github.com/",
			want: `PKGWARDEN_DATA_DIR='/home/o'\''neil/my data' pkgwarden serve`,
		},
		"data dir with a substitution": {
			dataDir: "$(rm -rf ~)", githubURL: "https://github.com", apiURL: "https://api.github.com/",
			want: `PKGWARDEN_DATA_DIR='$(rm -rf ~)' pkgwarden serve`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ServeCommand(tc.dataDir, tc.githubURL, tc.apiURL, tc.listen); got != tc.want {
				t.Errorf("ServeCommand:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestTokenURL(t *testing.T) {
	tests := map[string]struct{ githubURL, owner, want string }{
		"organisation": {
			githubURL: "https://github.com", owner: "acme",
			want: "https://github.com/settings/tokens/new?scopes=read:packages,write:packages,delete:packages,repo&description=pkgwarden+acme",
		},
		"unknown owner": {
			githubURL: "https://github.com/", owner: "",
			want: "https://github.com/settings/tokens/new?scopes=read:packages,write:packages,delete:packages,repo&description=pkgwarden",
		},
		"enterprise server": {
			githubURL: "https://ghe.example.com", owner: "platform-team",
			want: "https://ghe.example.com/settings/tokens/new?scopes=read:packages,write:packages,delete:packages,repo&description=pkgwarden+platform-team",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := TokenURL(tc.githubURL, tc.owner); got != tc.want {
				t.Errorf("TokenURL:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestRegisterDonePageGolden: the callback's page for an Enterprise
// Server App (the case with the most to say), against
// testdata/register-done-ghes.html; -update rewrites it. The owner and
// name carry markup, which must come out escaped.
func TestRegisterDonePageGolden(t *testing.T) {
	const gh, api, dataDir = "https://ghe.example.com", "https://ghe.example.com/api/v3/", "/srv/pkgwarden"
	reg := Registration{
		AppID: 42, Slug: "pkgwarden-acme", Name: `pkgwarden <script>alert(1)</script>`,
		HTMLURL: gh + "/apps/pkgwarden-acme", InstallURL: gh + "/apps/pkgwarden-acme/installations/new",
		Files: []string{dataDir + "/private-key.pem", dataDir + "/webhook_secret", dataDir + "/app_slug", dataDir + "/app_id"},
		Owner: "acme", TokenURL: TokenURL(gh, "acme"), ServeCommand: ServeCommand(dataDir, gh, api, ""),
	}
	var buf bytes.Buffer
	if err := renderDone(&buf, reg, dataDir); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "register-done-ghes.html")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("page differs from %s (run with -update if intended):\n%s", golden, buf.String())
	}
	if strings.Contains(buf.String(), "<script>") {
		t.Error("the App's name reached the page unescaped")
	}
}

var (
	reServePre = regexp.MustCompile(`(?s)<pre id="serve">(.*?)</pre>`)
	reTokenA   = regexp.MustCompile(`<a id="token" href="([^"]+)"`)
	reScopes   = regexp.MustCompile(`(?s)<ul id="scopes">(.*?)</ul>`)
)

// TestRegisterCallbackNextSteps: after the whole flow against the
// simulator (an Enterprise-like GitHub at its own address), the page
// shows the serve command with the URLs in use and a token link with the
// scopes, and the registration carries the same for the command line.
func TestRegisterCallbackNextSteps(t *testing.T) {
	env := newRegEnv(t, func(c *RegisterConfig) { c.Org = "acme" })
	if _, err := env.sim.AddOrg("acme"); err != nil {
		t.Fatal(err)
	}
	resp, page := get(t, http.DefaultClient, env.createApp(t, "pkgwarden-acme"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, page)
	}
	m := reServePre.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no serve command on the page:\n%s", page)
	}
	serve := html.UnescapeString(m[1])
	for _, want := range []string{
		"PKGWARDEN_DATA_DIR=" + env.dataDir,
		"PKGWARDEN_GITHUB_API_URL=" + env.api.URL + "/",
		"PKGWARDEN_GITHUB_URL=" + env.api.URL,
		" pkgwarden serve",
	} {
		if !strings.Contains(serve, want) {
			t.Errorf("serve command %q lacks %q", serve, want)
		}
	}
	m = reTokenA.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no token link on the page:\n%s", page)
	}
	if got, want := html.UnescapeString(m[1]), env.api.URL+"/settings/tokens/new?scopes=read:packages,write:packages,delete:packages,repo&description=pkgwarden+acme"; got != want {
		t.Errorf("token link\n got %s\nwant %s", got, want)
	}
	m = reScopes.FindStringSubmatch(page)
	if m == nil || !strings.Contains(m[1], "<code>repo</code>: maven and docker.pkg.github.com") {
		t.Errorf("scope list lacks repo with its reason:\n%s", page)
	}
	if len(env.done) != 1 {
		t.Fatalf("OnRegistered called %d times", len(env.done))
	}
	if r := env.done[0]; r.ServeCommand != serve || r.TokenURL != html.UnescapeString(reTokenA.FindStringSubmatch(page)[1]) || r.Owner != "acme" {
		t.Errorf("registration %+v disagrees with the page", r)
	}
}

func TestOwnerLoginShape(t *testing.T) {
	tests := map[string]bool{"acme": true, "a-b": true, "A1": true, "": false, "-a": false, "a-": false,
		"../etc": false, "a b": false, strings.Repeat("a", 40): false}
	for s, want := range tests {
		if got := isLogin(s); got != want {
			t.Errorf("isLogin(%q) = %t, want %t", s, got, want)
		}
	}
}
