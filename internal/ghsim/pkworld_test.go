package ghsim

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
)

// pkWorld is the world the package tests share: an organisation acme
// (admin alice, member bob) and a user carol, each with a container and a
// non-container package, plus an outsider dave.
type pkWorld struct {
	sim    *Sim
	api    *httptest.Server
	reg    *httptest.Server
	tokens map[string]string
	// installation is acme's installation id.
	installation int64
}

// Names of the packages of the world.
const (
	orgContainer  = "team/app" // a name with a slash, escaped as %2F
	orgNPM        = "hello-world-npm"
	userContainer = "hello_docker"
	userGem       = "octo-name"
)

func newPkWorld(t testing.TB, opts Options) *pkWorld {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("new sim: %v", err)
	}
	w := &pkWorld{sim: s, tokens: map[string]string{}}
	w.api = httptest.NewServer(s.APIHandler())
	w.reg = httptest.NewServer(s.RegistryHandler())
	t.Cleanup(func() { w.api.Close(); w.reg.Close(); s.Close() })
	s.SetURLs(w.api.URL, w.reg.URL)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		_, err := s.AddUser(u)
		must(err)
	}
	_, err = s.AddOrg("acme", "alice")
	must(err)
	s.mu.Lock()
	s.st.accounts["acme"].Members["bob"] = true
	s.mu.Unlock()
	_, err = s.AddRepo("acme", "webapp", RepoOptions{})
	must(err)
	_, err = s.AddRepo("carol", "octo-name-repo", RepoOptions{})
	must(err)
	all := []string{"read:packages", "write:packages", "delete:packages", "repo"}
	for name, spec := range map[string]struct {
		user   string
		scopes []string
	}{
		"alice": {"alice", all}, "alice-repo-only": {"alice", []string{"repo"}},
		"alice-read": {"alice", []string{"read:packages"}},
		"bob":        {"bob", all}, "carol": {"carol", all}, "carol-repo-only": {"carol", []string{"repo"}},
		"dave": {"dave", all},
	} {
		tok, err := s.AddClassicToken(spec.user, spec.scopes...)
		must(err)
		w.tokens[name] = tok
	}
	w.installation, err = s.AddInstallation("acme", map[string]string{"packages": "write", "metadata": "read"})
	must(err)
	// Installation tokens are minted by app.go; the tests make one directly.
	s.mu.Lock()
	w.tokens["install"] = "ghs_" + randomHex(18)
	s.st.tokens[w.tokens["install"]] = &token{Kind: tokenInstallation, Value: w.tokens["install"],
		Installation: w.installation, ExpiresAt: s.clock.now().Add(time.Hour)}
	s.mu.Unlock()

	ctx := context.Background()
	src := s.pkWebURL() + "/acme/webapp"
	ap := s.Pusher("alice", w.tokens["alice"])
	cp := s.Pusher("carol", w.tokens["carol"])
	for i, tag := range []string{"v1", "v2"} {
		img, err := DemoImage(src, "org-"+tag)
		must(err)
		_, err = ap.PushImage(ctx, "acme/"+orgContainer, img, tag)
		must(err)
		img, err = DemoImage("", "user-"+tag)
		must(err)
		_, err = cp.PushImage(ctx, "carol/"+userContainer, img, tag)
		must(err)
		_, err = s.Publish("acme", "npm", orgNPM, []string{"1.0.3", "1.0.4"}[i], PublishOptions{Repository: "webapp"})
		must(err)
	}
	for _, v := range []string{"0.1.0", "0.2.0", "0.3.0"} {
		_, err := s.Publish("carol", "rubygems", userGem, v, PublishOptions{Repository: "octo-name-repo",
			Visibility: "public", License: "MIT", Description: "Project for octocats"})
		must(err)
	}
	return w
}

// client is a go-github client for the world's API with token name
// ("" for none).
func (w *pkWorld) client(t *testing.T, name string) *github.Client {
	t.Helper()
	c := github.NewClient(nil)
	if name != "" {
		tok, ok := w.tokens[name]
		if !ok {
			tok = name // a literal (bogus) token
		}
		c = c.WithAuthToken(tok)
	}
	u, err := url.Parse(w.api.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// versionID finds the id of the newest version of a package whose name or
// tags match.
func (w *pkWorld) versionID(t *testing.T, owner, typ, name string) int64 {
	t.Helper()
	vs, err := w.sim.Versions(owner, typ, name)
	if err != nil || len(vs) == 0 {
		t.Fatalf("versions of %s/%s: %v", owner, name, err)
	}
	return vs[0].ID
}
