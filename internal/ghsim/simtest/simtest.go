// Package simtest holds the harness pieces that the end-to-end test worlds
// built on the GitHub simulator (ghsim) share: the App key, pushing an
// image or index into a package and backdating what the push created, and
// listing a package's active versions, serving a simulator with an
// organisation on loopback, and manifests that cannot be read. It is for tests only; production
// code must not import it.
package simtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// AppKey is the App's private key shared by every simulator of a test
// binary: generating a 2048-bit RSA key per test would dominate run time.
var AppKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// New is a quiet simulator (no log lines) with opts, closed when the test
// ends. A zero opts.AppKey is AppKey's.
func New(t testing.TB, opts ghsim.Options) *ghsim.Sim {
	t.Helper()
	if opts.AppKey == nil {
		opts.AppKey = AppKey()
	}
	sim, err := ghsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.SetQuiet(true)
	return sim
}

// Serve serves the simulator's registry (reg) and REST API (api) on one
// loopback listener, as `pkgwarden sim` does, and points the simulator's
// URLs at it. reg and api are the simulator's handlers, possibly wrapped
// by the test (fault injection, counting). The server closes at cleanup.
func Serve(t testing.TB, sim *ghsim.Sim, reg, api http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, p := range []string{"/v2/", "/v2", "/token"} {
		mux.Handle(p, reg)
	}
	mux.Handle("/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sim.SetURLs(srv.URL+"/", srv.URL)
	return srv
}

// Org adds the user admin, the organisation owner administered by admin
// and its repositories, and returns a classic token of admin with the
// scopes to push, read and delete packages and read repositories.
func Org(t testing.TB, sim *ghsim.Sim, owner, admin string, repos ...string) string {
	t.Helper()
	if _, err := sim.AddUser(admin); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddOrg(owner, admin); err != nil {
		t.Fatal(err)
	}
	for _, r := range repos {
		if _, err := sim.AddRepo(owner, r, ghsim.RepoOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := sim.AddClassicToken(admin, "read:packages", "write:packages", "delete:packages", "repo")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Image is a small image whose content depends on note, labelled with
// the repository source (so the simulator links its package there).
func Image(t testing.TB, source, note string) v1.Image {
	t.Helper()
	img, err := ghsim.DemoImage(source, note)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Package is one container package of the simulator, pushed to by Pusher.
type Package struct {
	Sim    *ghsim.Sim
	Pusher *ghsim.Pusher
	Owner  string
	Name   string
}

// Push pushes an image or an index (x) to the package, tags it and sets
// the creation and update times of what the push created (the manifest,
// and any children or referrers that were new) to at. Worlds pass at
// explicitly because they differ in what "now" is (the simulator's clock
// or a fixed base). It returns the pushed digest.
func (p Package) Push(t testing.TB, x any, at time.Time, tags ...string) string {
	t.Helper()
	before := p.ActiveSet()
	ctx := context.Background()
	repo := p.Owner + "/" + p.Name
	var d v1.Hash
	var err error
	switch x := x.(type) {
	case v1.Image:
		d, err = p.Pusher.PushImage(ctx, repo, x, tags...)
	case v1.ImageIndex:
		d, err = p.Pusher.PushIndex(ctx, repo, x, tags...)
	default:
		t.Fatalf("push %T", x)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Active() {
		if before[v.Name] && v.Name != d.String() {
			continue
		}
		if err := p.Sim.SetVersionTimes(p.Owner, "container", p.Name, ghsim.VersionRef{ID: v.ID}, at, at, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return d.String()
}

// Active is the package's versions that are not deleted; none when the
// package does not exist (yet).
func (p Package) Active() []ghsim.PackageVersion {
	vs, err := p.Sim.Versions(p.Owner, "container", p.Name)
	if err != nil {
		return nil
	}
	var out []ghsim.PackageVersion
	for _, v := range vs {
		if !v.Deleted {
			out = append(out, v)
		}
	}
	return out
}

// ActiveSet is the names (digests) of the package's active versions.
func (p Package) ActiveSet() map[string]bool {
	out := map[string]bool{}
	for _, v := range p.Active() {
		out[v.Name] = true
	}
	return out
}

// ManifestFaults makes the registry answer 403 DENIED to every request for
// the manifest of a chosen digest: a manifest that cannot be read. The zero
// value fails nothing; it is safe for concurrent use.
type ManifestFaults struct {
	mu  sync.Mutex
	bad map[string]bool
}

// Fail makes the manifest of digest unreadable from now on.
func (f *ManifestFaults) Fail(digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bad == nil {
		f.bad = map[string]bool{}
	}
	f.bad[digest] = true
}

// Wrap returns the registry handler h with the faults injected.
func (f *ManifestFaults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if i := strings.Index(r.URL.Path, "/manifests/"); i >= 0 {
			f.mu.Lock()
			bad := f.bad[r.URL.Path[i+len("/manifests/"):]]
			f.mu.Unlock()
			if bad {
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusForbidden)
				_, _ = rw.Write([]byte(`{"errors":[{"code":"DENIED","message":"injected failure"}]}`))
				return
			}
		}
		h.ServeHTTP(rw, r)
	})
}
