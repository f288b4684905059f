package githubapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
)

// simWorld is the GitHub simulator (ghsim) the clients' tests talk to: the
// organisation acme administered by alice, the users octocat and monalisa,
// and a classic token of each with the scopes pkgwarden asks for. Its
// primary rate limit is GitHub.com's for classic tokens, 5000 an hour. It
// logs every request its server took, so that a test can check what a
// client sent.
type simWorld struct {
	t   *testing.T
	sim *ghsim.Sim
	url string // the API's URL, as PackagesClientOptions.BaseURL takes it
	// tokens holds each user's packages token, for acme.
	tokens map[string]Token

	mu       sync.Mutex
	requests []string // "METHOD RequestURI", in the order the server took them
}

// newSimWorld serves the simulator's REST API. front, when not nil, sits
// in front of it: a test that needs an answer the simulator cannot give
// puts a handler of a few lines there and says why.
func newSimWorld(t *testing.T, front func(next http.Handler) http.Handler) *simWorld {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{AppKey: simtest.AppKey(), RateLimits: ghsim.RateLimits{PrimaryLimit: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w := &simWorld{t: t, sim: sim, tokens: map[string]Token{}}
	var api http.Handler = sim.APIHandler()
	if front != nil {
		api = front(api)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.requests = append(w.requests, r.Method+" "+r.RequestURI)
		w.mu.Unlock()
		api.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	sim.SetURLs(srv.URL+"/", srv.URL)
	w.url = srv.URL + "/"
	for _, u := range []string{"alice", "octocat", "monalisa"} {
		if _, err := sim.AddUser(u); err != nil {
			t.Fatal(err)
		}
		secret, err := sim.AddClassicToken(u, "read:packages", "write:packages", "delete:packages", "repo")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[u] = NewToken("acme", "test", secret)
	}
	if _, err := sim.AddOrg("acme", "alice"); err != nil {
		t.Fatal(err)
	}
	return w
}

// token is alice's, the admin of acme.
func (w *simWorld) token() Token { return w.tokens["alice"] }

func (w *simWorld) requestLog() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.requests...)
}

// newest is the creation time of the newest version addVersions makes:
// that of GitHub's example version (testdata/user-container-versions.json).
var newest = time.Date(2020, 9, 11, 21, 56, 40, 0, time.UTC)

// addVersions gives owner's container package name (created on first use)
// n versions, the i-th of them (1..n) tagged v<i> and created n-i minutes
// before newest, and returns the package's active version ids, newest
// first.
func (w *simWorld) addVersions(owner, name string, n int) []int64 {
	w.t.Helper()
	ms := make([]ghsim.ContainerManifest, 0, n)
	for i := 1; i <= n; i++ {
		ms = append(ms, simManifest(fmt.Sprintf("v%d", i), newest.Add(-time.Duration(n-i)*time.Minute)))
	}
	if _, err := w.sim.AddContainerManifests(owner, name, "", ms); err != nil {
		w.t.Fatal(err)
	}
	return w.active(owner, name)
}

// addVersion adds one version tagged tag, created at, and returns its id.
func (w *simWorld) addVersion(owner, name, tag string, at time.Time) int64 {
	w.t.Helper()
	ds, err := w.sim.AddContainerManifests(owner, name, "", []ghsim.ContainerManifest{simManifest(tag, at)})
	if err != nil {
		w.t.Fatal(err)
	}
	vs, err := w.sim.Versions(owner, "container", name)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == ds[0] {
			return v.ID
		}
	}
	w.t.Fatalf("version %s of %s/%s not found", ds[0], owner, name)
	return 0
}

// active lists the ids of a package's active versions, newest first.
func (w *simWorld) active(owner, name string) []int64 {
	w.t.Helper()
	vs, err := w.sim.Versions(owner, "container", name)
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []int64
	for _, v := range vs {
		if !v.Deleted {
			ids = append(ids, v.ID)
		}
	}
	return ids
}

// simManifest is an image manifest whose digest depends on tag (its blobs
// are never read).
func simManifest(tag string, at time.Time) ghsim.ContainerManifest {
	const mt = "application/vnd.oci.image.manifest.v1+json"
	body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[],"annotations":{"tag":%q}}`, mt, 0, tag)
	return ghsim.ContainerManifest{MediaType: mt, Body: []byte(body), Tags: []string{tag}, CreatedAt: at}
}

// do sends a request to the world with a user's token, to set the scene
// (it is logged like any other), and returns the answer's status and
// headers.
func (w *simWorld) do(method, path, user string) (int, http.Header) {
	w.t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(w.url, "/")+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+w.tokens[user].Secret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// injectedStatuses are the statuses of the 5xx answers the simulator's
// faults gave, as the transport's Observer names them ("GET Bad Gateway").
func (w *simWorld) injectedStatuses(method string) (map[string]bool, int) {
	seen, n := map[string]bool{}, 0
	for status, count := range w.sim.FaultStats().Errors {
		seen[method+" "+http.StatusText(status)] = true
		n += count
	}
	return seen, n
}

// withoutUser makes GET /user unavailable (404) while *off is true, for
// the tests of what a client does when it cannot tell whose token it
// holds: every token of the simulator may read its user, and its faults
// cannot single out /user from /users/.
func withoutUser(off *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if off.Load() && r.Method == http.MethodGet && r.URL.Path == "/user" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
