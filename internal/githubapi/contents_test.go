package githubapi_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func TestContentsSource(t *testing.T) {
	sim := simtest.New(t, ghsim.Options{})
	srv := httptest.NewServer(sim.APIHandler())
	defer srv.Close()
	sim.SetURLs(srv.URL+"/", srv.URL)
	must := mustFor(t)
	acmeRepos(t, sim, map[string]ghsim.RepoOptions{"app": {DefaultBranch: "trunk"}, "secret": {Private: true}, "empty": {}})
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
		for _, cached := range []bool{false, true} {
			name := label
			src := source(tc.token)
			reads := 1
			if cached {
				// A cached source reads twice: the second answer comes
				// through the store (a 304, a remembered 404) and must be
				// the first's.
				name, src, reads = label+", cached", src.Cached(githubapi.NewMemoryETagStore(), 1, 0, nil), 2
			}
			t.Run(name, func(t *testing.T) {
				for range reads {
					checkContents(t, src, tc.repo, tc.path, tc.want, tc.notFound, tc.errHas)
				}
			})
		}
	}
}

// checkContents reads repo's path through src and checks the answer: want,
// not found, or an error saying errHas.
func checkContents(t *testing.T, src *githubapi.ContentsSource, repo, path, want string, notFound bool, errHas string) {
	t.Helper()
	got, err := src.File(context.Background(), "acme", repo, path)
	switch {
	case notFound:
		if !errors.Is(err, rules.ErrNotFound) || !errors.Is(err, githubapi.ErrNotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	case errHas != "":
		if err == nil || !strings.Contains(err.Error(), errHas) || errors.Is(err, rules.ErrNotFound) {
			t.Fatalf("err = %v, want one containing %q and not 'not found'", err, errHas)
		}
		if !strings.Contains(err.Error(), "acme/"+repo) {
			t.Errorf("err %q does not name the repository", err)
		}
	default:
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("content = %q, want %q", got, want)
		}
	}
}

// TestContentsSourceCached: a cached source asks for a file it read with
// If-None-Match (a 304, free against the primary limit) and sees a change
// at once; a file GitHub answered 404 for is not asked for again until
// DefaultAbsentFor has passed, or a Fresh source (the config job's, after
// a push) found it, which the cached source then sees too.
func TestContentsSourceCached(t *testing.T) {
	sim := simtest.New(t, ghsim.Options{})
	srv := httptest.NewServer(sim.APIHandler())
	defer srv.Close()
	sim.SetURLs(srv.URL+"/", srv.URL)
	must := mustFor(t)
	acmeRepos(t, sim, map[string]ghsim.RepoOptions{"app": {}})
	must(sim.PutFile("acme", "app", "", rules.Path, []byte("dry_run: true\n"), "alice"))
	token, err := sim.AddClassicToken("alice", "read:packages", "repo")
	must(err)
	gh, err := githubapi.NewGitHubClient(nil, srv.URL)
	must(err)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	store := githubapi.NewMemoryETagStore()
	src := githubapi.NewContentsSource(gh.WithAuthToken(token), func() time.Time { return now }).Cached(store, 7, 0, nil)

	// read reads path and returns the content ("" when not found) and
	// the requests it cost: answered 200 or 404, answered 304.
	read := func(s *githubapi.ContentsSource, path string) (content string, counted, notModified int) {
		t.Helper()
		sim.ResetRequestStats()
		b, err := s.File(context.Background(), "acme", "app", path)
		if err != nil && !errors.Is(err, rules.ErrNotFound) {
			t.Fatal(err)
		}
		for _, st := range sim.RequestStats() {
			counted += st.Requests[http.MethodGet] - st.NotModified
			notModified += st.NotModified
		}
		return string(b), counted, notModified
	}
	const other = ".github/other.yml"
	steps := []struct {
		name                string
		do                  func()
		src                 *githubapi.ContentsSource
		path                string
		want                string
		counted, notChanged int
	}{
		{name: "first read", path: rules.Path, want: "dry_run: true\n", counted: 1},
		{name: "unchanged: 304", path: rules.Path, want: "dry_run: true\n", notChanged: 1},
		{name: "changed: 200", do: func() { must(sim.PutFile("acme", "app", "", rules.Path, []byte("dry_run: false\n"), "alice")) },
			path: rules.Path, want: "dry_run: false\n", counted: 1},
		{name: "missing: 404", path: other, counted: 1},
		{name: "missing, remembered", path: other},
		{name: "added, still remembered missing", do: func() { must(sim.PutFile("acme", "app", "", other, []byte("x: 1\n"), "alice")) }, path: other},
		{name: "fresh source asks", src: src.Fresh(), path: other, want: "x: 1\n", counted: 1},
		{name: "found by the fresh source", path: other, want: "x: 1\n", notChanged: 1},
		{name: "removed: 404", do: func() { must(sim.DeleteFile("acme", "app", "", other, "alice")) }, path: other, counted: 1},
		{name: "remembered missing", path: other},
		{name: "asked again after DefaultAbsentFor", do: func() { now = now.Add(githubapi.DefaultAbsentFor) }, path: other, counted: 1},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		s := src
		if st.src != nil {
			s = st.src
		}
		got, counted, notChanged := read(s, st.path)
		if got != st.want || counted != st.counted || notChanged != st.notChanged {
			t.Errorf("%s: read %q with %d requests counted and %d answered 304, want %q, %d and %d",
				st.name, got, counted, notChanged, st.want, st.counted, st.notChanged)
		}
	}
}

// unreadableWorld is the simulator with acme/app holding, besides its
// rules, a directory (.github/base), a file over 1 MiB (big.yml) and a
// file that is not UTF-8 (latin1.yml), and acme/other whose rules path is
// a directory. In front of it, a handler answers what the simulator
// cannot hold, as GitHub does: files over 1 MB left out ("none"
// encoding), a symlink, a submodule, a blob too large for the API (403
// too_large), a 502 and a rate limit. It returns the server's URL and a
// token reading both repositories.
func unreadableWorld(t *testing.T) (string, string) {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	canned := map[string]func(http.ResponseWriter){
		"none.yml": func(w http.ResponseWriter) {
			writeCanned(w, http.StatusOK, `{"type":"file","encoding":"none","content":"","size":2411725,"name":"none.yml","path":"none.yml"}`)
		},
		"none-1mb.yml": func(w http.ResponseWriter) {
			writeCanned(w, http.StatusOK, `{"type":"file","encoding":"none","content":"","size":1040000,"name":"none-1mb.yml","path":"none-1mb.yml"}`)
		},
		"link.yml": func(w http.ResponseWriter) {
			writeCanned(w, http.StatusOK, `{"type":"symlink","target":"/etc/passwd","size":11,"name":"link.yml","path":"link.yml"}`)
		},
		"sub": func(w http.ResponseWriter) {
			writeCanned(w, http.StatusOK, `{"type":"submodule","submodule_git_url":"git://example.com/x.git","size":0,"name":"sub","path":"sub"}`)
		},
		"blob.yml": func(w http.ResponseWriter) {
			w.Header().Set("X-RateLimit-Remaining", "4999")
			writeCanned(w, http.StatusForbidden, `{"message":"This API returns blobs up to 1 MB in size. The requested blob is too large to fetch via the API, but you can use the Git Data API to request blobs up to 100 MB in size.","errors":[{"resource":"Blob","field":"data","code":"too_large"}],"documentation_url":"https://docs.github.com/rest/repos/contents#get-repository-content"}`)
		},
		"flaky.yml": func(w http.ResponseWriter) {
			writeCanned(w, http.StatusBadGateway, `{"message":"Server Error"}`)
		},
		"limited.yml": func(w http.ResponseWriter) {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			writeCanned(w, http.StatusForbidden, `{"message":"API rate limit exceeded"}`)
		},
	}
	api := sim.APIHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, "/repos/acme/app/contents/"); ok {
			if answer, ok := canned[p]; ok {
				answer(w)
				return
			}
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sim.SetURLs(srv.URL+"/", srv.URL)

	must := mustFor(t)
	acmeRepos(t, sim, map[string]ghsim.RepoOptions{"app": {}, "other": {}})
	must(sim.PutFile("acme", "app", "", rules.Path, []byte("dry_run: true\n"), "alice"))
	must(sim.PutFile("acme", "app", "", ".github/base/x.yml", []byte("dry_run: true\n"), "alice"))
	must(sim.PutFile("acme", "app", "", "big.yml", bigFile(2411725), "alice"))
	must(sim.PutFile("acme", "app", "", "latin1.yml", []byte("report: {labels: [\"caf\xe9\"]}\n"), "alice"))
	must(sim.PutFile("acme", "other", "", rules.Path+"/x.yml", []byte("dry_run: true\n"), "alice"))
	token, err := sim.AddClassicToken("alice", "read:packages", "repo")
	must(err)
	return srv.URL, token
}

func writeCanned(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// unreadableSource is a source of its own (go-github remembers a rate
// limit per client), without retries (the 502 answers once).
func unreadableSource(t *testing.T, apiURL, token string) *githubapi.ContentsSource {
	t.Helper()
	gh, err := githubapi.NewGitHubClient(&http.Client{}, apiURL)
	if err != nil {
		t.Fatal(err)
	}
	return githubapi.NewContentsSource(gh.WithAuthToken(token), nil)
}

// bigFile is a valid YAML file of size bytes: one long comment.
func bigFile(size int) []byte {
	return []byte("# " + strings.Repeat("x", size-3) + "\n")
}

// TestContentsSourceUnreadable: a path GitHub will never give as a file's
// content is an error matching rules.ErrUnreadable with the reason (the
// loader reports it as a configuration error); a 5xx or a rate limit is
// not: it stays transient.
func TestContentsSourceUnreadable(t *testing.T) {
	apiURL, token := unreadableWorld(t)
	tests := map[string]struct {
		repo, path string
		// reason is what an unreadable path's error must say.
		reason string
		// transientHas is what a transient error must say; it must not
		// match rules.ErrUnreadable.
		transientHas string
	}{
		"directory":                         {repo: "app", path: ".github/base", reason: "is a directory, not a file"},
		"rules path is a directory":         {repo: "other", path: rules.Path, reason: "is a directory, not a file"},
		"file over 1 MiB served":            {repo: "app", path: "big.yml", reason: "is 2.3 MiB (2411725 bytes), over the 1 MiB limit"},
		"file over 1 MiB left out by none":  {repo: "app", path: "none.yml", reason: "is 2.3 MiB (2411725 bytes), over the 1 MiB limit"},
		"file under 1 MiB left out by none": {repo: "app", path: "none-1mb.yml", reason: "is 1040000 bytes, too large for GitHub's contents API to serve"},
		"blob too large for the API":        {repo: "app", path: "blob.yml", reason: "over the 1 MiB limit"},
		"symlink":                           {repo: "app", path: "link.yml", reason: "is a symlink, not a file"},
		"submodule":                         {repo: "app", path: "sub", reason: "is a submodule, not a file"},
		"server error stays transient":      {repo: "app", path: "flaky.yml", transientHas: "502"},
		"rate limit stays transient":        {repo: "app", path: "limited.yml", transientHas: "rate limit"},
	}
	for label, tc := range tests {
		for _, cached := range []bool{false, true} {
			name := label
			if cached {
				name += ", cached"
			}
			t.Run(name, func(t *testing.T) {
				src := unreadableSource(t, apiURL, token)
				if cached {
					src = src.Cached(githubapi.NewMemoryETagStore(), 1, 0, nil)
				}
				checkUnreadable(t, src, tc.repo, tc.path, tc.reason, tc.transientHas)
			})
		}
	}
}

// checkUnreadable reads repo's path through src and checks that the
// error says reason (unreadable) or transientHas (transient).
func checkUnreadable(t *testing.T, src *githubapi.ContentsSource, repo, path, reason, transientHas string) {
	t.Helper()
	_, err := src.File(context.Background(), "acme", repo, path)
	if err == nil || errors.Is(err, rules.ErrNotFound) {
		t.Fatalf("err = %v, want an error other than not found", err)
	}
	if !strings.Contains(err.Error(), "acme/"+repo+":"+path) {
		t.Errorf("err %q does not name the file", err)
	}
	if transientHas != "" {
		if errors.Is(err, rules.ErrUnreadable) || !strings.Contains(err.Error(), transientHas) {
			t.Errorf("err = %v, want a transient error containing %q, not rules.ErrUnreadable", err, transientHas)
		}
		return
	}
	if !errors.Is(err, rules.ErrUnreadable) || !strings.Contains(err.Error(), reason) {
		t.Errorf("err = %v, want rules.ErrUnreadable saying %q", err, reason)
	}
}

// TestContentsSourceUnreadableConfig: through a rules.Loader, an unreadable
// file named by _extends, or standing at the rules path, is a
// configuration error (an ErrorList naming the file), not a failure to
// retry.
func TestContentsSourceUnreadableConfig(t *testing.T) {
	apiURL, token := unreadableWorld(t)
	tests := map[string]struct {
		extends string // acme/app's _extends; "" reads acme/other's rules
		want    string
	}{
		"_extends names a directory":   {extends: "acme/app:.github/base", want: "acme/app: .github/pkgwarden.yml:1:11: _extends: acme/app:.github/base is a directory, not a file"},
		"_extends names a big file":    {extends: "acme/app:big.yml", want: "acme/app: .github/pkgwarden.yml:1:11: _extends: acme/app:big.yml is 2.3 MiB (2411725 bytes), over the 1 MiB limit"},
		"_extends names a left-out":    {extends: "acme/app:none.yml", want: "acme/app: .github/pkgwarden.yml:1:11: _extends: acme/app:none.yml is 2.3 MiB (2411725 bytes), over the 1 MiB limit"},
		"_extends names a symlink":     {extends: "acme/app:link.yml", want: "acme/app: .github/pkgwarden.yml:1:11: _extends: acme/app:link.yml is a symlink, not a file"},
		"_extends names a latin1 file": {extends: "acme/app:latin1.yml", want: "acme/app: .github/pkgwarden.yml:1:11: _extends: acme/app:latin1.yml is not valid UTF-8"},
		"rules path is a directory":    {want: "acme/other: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is a directory, not a file"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			l := rules.NewLoader(unreadableSource(t, apiURL, token))
			pkg := rules.Package{Owner: "acme", Type: rules.TypeContainer, Name: "app", Repository: "other"}
			if tc.extends != "" {
				if err := l.Override("acme", "app", rules.Path, []byte("_extends: "+tc.extends+"\n")); err != nil {
					t.Fatal(err)
				}
				pkg.Repository = "app"
			}
			_, err := l.Load(context.Background(), pkg)
			var list rules.ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("Load error = %v, want a configuration error (an ErrorList of one)", err)
			}
			if got := list[0].Error(); got != tc.want {
				t.Errorf("error = %s\nwant %s", got, tc.want)
			}
		})
	}
}

// mustFor is a check that fails t on an error.
func mustFor(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// acmeRepos adds alice, the organisation acme she administers, and its
// repositories.
func acmeRepos(t *testing.T, sim *ghsim.Sim, repos map[string]ghsim.RepoOptions) {
	t.Helper()
	must := mustFor(t)
	_, err := sim.AddUser("alice")
	must(err)
	_, err = sim.AddOrg("acme", "alice")
	must(err)
	for _, name := range slices.Sorted(maps.Keys(repos)) {
		_, err = sim.AddRepo("acme", name, repos[name])
		must(err)
	}
}
