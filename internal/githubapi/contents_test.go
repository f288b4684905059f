package githubapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func TestContentsSource(t *testing.T) {
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim.APIHandler())
	defer srv.Close()
	sim.SetURLs(srv.URL+"/", srv.URL)
	sim.SetQuiet(true)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = sim.AddUser("alice")
	must(err)
	_, err = sim.AddOrg("acme", "alice")
	must(err)
	_, err = sim.AddRepo("acme", "app", ghsim.RepoOptions{DefaultBranch: "trunk"})
	must(err)
	_, err = sim.AddRepo("acme", "secret", ghsim.RepoOptions{Private: true})
	must(err)
	_, err = sim.AddRepo("acme", "empty", ghsim.RepoOptions{})
	must(err)
	must(sim.PutFile("acme", "app", "", rules.Path, []byte("dry_run: true\n"), "alice"))
	must(sim.PutFile("acme", "app", "feature", "other.yml", []byte("x: 1\n"), "alice"))
	must(sim.PutFile("acme", "secret", "", rules.Path, []byte("dry_run: false\n"), "alice"))

	withRepo, err := sim.AddClassicToken("alice", "read:packages", "repo")
	must(err)
	noRepo, err := sim.AddClassicToken("alice", "read:packages")
	must(err)

	source := func(token string) *githubapi.ContentsSource {
		gh, err := githubapi.NewGitHubClient(nil, srv.URL)
		must(err)
		return githubapi.NewContentsSource(gh.WithAuthToken(token), nil)
	}
	tests := map[string]struct {
		token, repo, path string
		want              string
		notFound          bool
		errHas            string
	}{
		"default branch file":           {token: withRepo, repo: "app", path: rules.Path, want: "dry_run: true\n"},
		"file on another branch only":   {token: withRepo, repo: "app", path: "other.yml", notFound: true},
		"missing file":                  {token: withRepo, repo: "app", path: ".github/nope.yml", notFound: true},
		"missing repository":            {token: withRepo, repo: "nope", path: rules.Path, notFound: true},
		"empty repository":              {token: withRepo, repo: "empty", path: rules.Path, notFound: true},
		"private repository with repo":  {token: withRepo, repo: "secret", path: rules.Path, want: "dry_run: false\n"},
		"private repository, no scope":  {token: noRepo, repo: "secret", path: rules.Path, notFound: true},
		"directory":                     {token: withRepo, repo: "app", path: ".github", errHas: "directory"},
		"unknown token is unauthorized": {token: "ghp_nobody", repo: "app", path: rules.Path, errHas: "401"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			got, err := source(tc.token).File(context.Background(), "acme", tc.repo, tc.path)
			switch {
			case tc.notFound:
				if !errors.Is(err, rules.ErrNotFound) || !errors.Is(err, githubapi.ErrNotFound) {
					t.Fatalf("err = %v, want not found", err)
				}
			case tc.errHas != "":
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || errors.Is(err, rules.ErrNotFound) {
					t.Fatalf("err = %v, want one containing %q and not 'not found'", err, tc.errHas)
				}
				if !strings.Contains(err.Error(), "acme/"+tc.repo) {
					t.Errorf("err %q does not name the repository", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Errorf("content = %q, want %q", got, tc.want)
				}
			}
		})
	}
}
