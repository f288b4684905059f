package ghsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v57/github"
)

func signJWT(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAppJWT(t *testing.T) {
	f := newAppFixture(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, id := f.sim.AppKey(), f.sim.AppID()
	now := time.Now().Unix()
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iat": now - 30, "exp": now + 60, "iss": id}).
		SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	classic := func() string {
		if _, err := f.sim.AddUser("octo"); err != nil {
			t.Fatal(err)
		}
		tok, err := f.sim.AddClassicToken("octo", "repo")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	tests := map[string]struct {
		auth string
		want int
	}{
		"iss as a number":       {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": id}), 200},
		"iss as a string":       {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": strconv.FormatInt(id, 10)}), 200},
		"iss as the client id":  {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": appClientID(id)}), 200},
		"iat within clock skew": {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now + 50, "exp": now + 300, "iss": id}), 200},
		"expired":               {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 1200, "exp": now - 600, "iss": id}), 401},
		"lives over 10 minutes": {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 600, "iss": id}), 401},
		"issued in the future":  {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now + 120, "exp": now + 300, "iss": id}), 401},
		"fractional iat":        {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": float64(now) - 0.5, "exp": now + 300, "iss": id}), 401},
		"another app":           {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 300, "iss": id + 1}), 401},
		"no iss":                {"Bearer " + signJWT(t, key, jwt.MapClaims{"iat": now - 60, "exp": now + 300}), 401},
		"wrong key":             {"Bearer " + signJWT(t, other, jwt.MapClaims{"iat": now - 60, "exp": now + 300, "iss": id}), 401},
		"HS256":                 {"Bearer " + hs, 401},
		"missing":               {"", 401},
		"a classic token":       {"token " + classic, 401},
		"garbage shaped as JWT": {"Bearer a.b.c", 401},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var body map[string]any
			resp := f.rawGET(t, "/app", tc.auth, &body)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET /app: status %d, want %d (%v)", resp.StatusCode, tc.want, body)
			}
			if tc.want == 200 {
				assertKeys(t, "app", body, appKeys...)
			} else {
				assertKeys(t, "error", body, "message", "documentation_url")
			}
		})
	}

	t.Run("ghinstallation apps transport", func(t *testing.T) {
		app, _, err := f.appClient(t).Apps.Get(context.Background(), "")
		if err != nil {
			t.Fatalf("get app: %v", err)
		}
		if app.GetID() != id || app.GetSlug() != AppSlug {
			t.Errorf("app = %d %q, want %d %q", app.GetID(), app.GetSlug(), id, AppSlug)
		}
	})
}

// appWorld is an org with two private repositories, the app installed on
// one of them, a user with the app on their account, and an org without
// the app.
type appWorld struct {
	f            *appFixture
	orgInst      int64
	userInst     int64
	owner, alice string
}

func newAppWorld(t *testing.T) *appWorld {
	t.Helper()
	f := newAppFixture(t)
	w := &appWorld{f: f, owner: "olga", alice: "alice"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.sim.AddUser("olga")
	must(err)
	_, err = f.sim.AddUser("alice")
	must(err)
	_, err = f.sim.AddOrg("Acme", "olga")
	must(err)
	_, err = f.sim.AddOrg("beta", "olga")
	must(err)
	for _, r := range []string{"app", "other"} {
		_, err = f.sim.AddRepo("acme", r, RepoOptions{Private: true})
		must(err)
	}
	_, err = f.sim.AddRepo("beta", "x", RepoOptions{Private: true})
	must(err)
	_, err = f.sim.AddRepo("alice", "dots", RepoOptions{})
	must(err)
	w.orgInst, err = f.sim.AddInstallation("acme", map[string]string{"contents": "read", "issues": "write", "packages": "read"}, "app")
	must(err)
	w.userInst, err = f.sim.AddInstallation("alice", map[string]string{"contents": "read"})
	must(err)
	return w
}

func TestInstallations(t *testing.T) {
	w := newAppWorld(t)
	f := w.f
	ctx := context.Background()
	app := f.appClient(t)

	list, resp, err := app.Apps.ListInstallations(ctx, &github.ListOptions{PerPage: 1})
	if err != nil {
		t.Fatalf("list installations: %v", err)
	}
	if len(list) != 1 || list[0].GetID() != w.orgInst || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Errorf("page 1 of installations = %d items (first %d), next %d last %d; want 1 (%d), 2, 2",
			len(list), list[0].GetID(), resp.NextPage, resp.LastPage, w.orgInst)
	}

	finds := map[string]struct {
		find func() (*github.Installation, *github.Response, error)
		want int64 // 0: 404
	}{
		"org": {func() (*github.Installation, *github.Response, error) {
			return app.Apps.FindOrganizationInstallation(ctx, "ACME")
		}, w.orgInst},
		"org without the app": {func() (*github.Installation, *github.Response, error) {
			return app.Apps.FindOrganizationInstallation(ctx, "beta")
		}, 0},
		"user as org": {func() (*github.Installation, *github.Response, error) {
			return app.Apps.FindOrganizationInstallation(ctx, "alice")
		}, 0},
	}
	for name, tc := range finds {
		t.Run(name, func(t *testing.T) {
			in, resp, err := tc.find()
			if tc.want == 0 {
				if resp == nil || resp.StatusCode != http.StatusNotFound {
					t.Fatalf("want 404, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.GetID() != tc.want || in.GetAppID() != f.sim.AppID() {
				t.Errorf("installation %d of app %d, want %d of %d", in.GetID(), in.GetAppID(), tc.want, f.sim.AppID())
			}
		})
	}

	t.Run("key sets", func(t *testing.T) {
		jwtAuth := "Bearer " + signJWT(t, f.sim.AppKey(), jwt.MapClaims{"iat": time.Now().Unix() - 30, "exp": time.Now().Unix() + 300, "iss": f.sim.AppID()})
		var in map[string]any
		if resp := f.rawGET(t, "/orgs/acme/installation", jwtAuth, &in); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		assertKeys(t, "installation", in, installationKeys...)
		assertKeys(t, "installation account", in["account"].(map[string]any), userKeys...)
		if in["repository_selection"] != "selected" || in["target_type"] != "Organization" {
			t.Errorf("selection %v target %v", in["repository_selection"], in["target_type"])
		}
		var tok map[string]any
		resp := f.raw(t, http.MethodPost, "/app/installations/"+strconv.FormatInt(w.orgInst, 10)+"/access_tokens", jwtAuth, "", &tok)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("access token: status %d", resp.StatusCode)
		}
		assertKeys(t, "access token", tok, "token", "expires_at", "permissions", "repository_selection")
		// Installation endpoints refuse anything but the app's JWT.
		if resp := f.rawGET(t, "/app/installations", "token "+tok["token"].(string), nil); resp.StatusCode != 401 {
			t.Errorf("installation token on /app/installations: status %d, want 401", resp.StatusCode)
		}
	})
}

func TestInstallationToken(t *testing.T) {
	w := newAppWorld(t)
	f := w.f
	ctx := context.Background()
	app := f.appClient(t)

	tok, _, err := app.Apps.CreateInstallationToken(ctx, w.orgInst, nil)
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	if !strings.HasPrefix(tok.GetToken(), "ghs_") {
		t.Errorf("token %q does not look like an installation token", tok.GetToken()[:4])
	}
	if d := tok.GetExpiresAt().Sub(f.sim.Now()); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %v, want an hour", d)
	}
	if tok.GetPermissions().GetIssues() != "write" || tok.GetPermissions().GetMetadata() != "read" {
		t.Errorf("permissions %+v", tok.GetPermissions())
	}

	inst, _ := f.installationClient(t, w.orgInst)
	c := f.client(tok.GetToken())
	repos := map[string]struct {
		owner, repo string
		want        int
	}{
		"covered":                 {"acme", "app", 200},
		"covered, other spelling": {"ACME", "App", 200},
		"not selected":            {"acme", "other", 404},
		"another org":             {"beta", "x", 404},
		"public elsewhere":        {"alice", "dots", 200},
	}
	for name, tc := range repos {
		t.Run(name, func(t *testing.T) {
			for _, cl := range []*github.Client{inst, c} {
				_, resp, err := cl.Repositories.Get(ctx, tc.owner, tc.repo)
				if resp == nil || resp.StatusCode != tc.want {
					t.Fatalf("get %s/%s: %v, want %d", tc.owner, tc.repo, err, tc.want)
				}
			}
		})
	}

	t.Run("installation repositories", func(t *testing.T) {
		lr, _, err := inst.Apps.ListRepos(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lr.GetTotalCount() != 1 || lr.Repositories[0].GetFullName() != "Acme/app" {
			t.Errorf("repositories %d, first %q", lr.GetTotalCount(), lr.Repositories[0].GetFullName())
		}
	})

	t.Run("narrowed", func(t *testing.T) {
		narrow, _, err := app.Apps.CreateInstallationToken(ctx, w.orgInst, &github.InstallationTokenOptions{
			Repositories: []string{"app"},
			Permissions:  &github.InstallationPermissions{Issues: github.String("read")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if narrow.GetPermissions().GetIssues() != "read" || narrow.GetPermissions().GetContents() != "" || len(narrow.Repositories) != 1 {
			t.Errorf("narrowed token: permissions %+v, %d repositories", narrow.GetPermissions(), len(narrow.Repositories))
		}
		_, resp, err := f.client(narrow.GetToken()).Issues.Create(ctx, "acme", "app", &github.IssueRequest{Title: github.String("x")})
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("issue with issues: read: %v, want 403", err)
		}
		_, _, resp, err = f.client(narrow.GetToken()).Repositories.GetContents(ctx, "acme", "app", "README.md", nil)
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("contents without contents permission: %v, want 403", err)
		}
	})

	refusals := map[string]*github.InstallationTokenOptions{
		"more permission than granted": {Permissions: &github.InstallationPermissions{Contents: github.String("write")}},
		"a permission not granted":     {Permissions: &github.InstallationPermissions{Administration: github.String("read")}},
		"a repository not selected":    {Repositories: []string{"other"}},
		"a repository id elsewhere":    {RepositoryIDs: []int64{123456}},
	}
	for name, opts := range refusals {
		t.Run(name, func(t *testing.T) {
			_, resp, err := app.Apps.CreateInstallationToken(ctx, w.orgInst, opts)
			if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("want 422, got %v", err)
			}
		})
	}

	t.Run("expires with the simulated clock", func(t *testing.T) {
		f.sim.Advance(time.Hour)
		_, resp, err := c.Repositories.Get(ctx, "acme", "app")
		var ge *github.ErrorResponse
		if resp == nil || resp.StatusCode != http.StatusUnauthorized || !errors.As(err, &ge) || ge.Message != msgBadCreds {
			t.Fatalf("expired token: %v, want 401 %q", err, msgBadCreds)
		}
	})
}
