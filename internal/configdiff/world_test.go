package configdiff_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const day = 24 * time.Hour

// world is the simulator over loopback HTTP with the organisation acme,
// its repositories app, web and .github, and two container packages: app
// (linked to acme/app) and web (linked to acme/web), each holding the
// same four versions, named by what the test calls them.
type world struct {
	t     testing.TB
	sim   *ghsim.Sim
	srv   *httptest.Server
	token string
	base  time.Time
	// names names every version by ID: "app/pr1".
	names map[int64]string
	ids   map[string]int64
	// reads counts the planner's reads of GitHub and the registry.
	reads *reads
}

func newWorld(t testing.TB, files map[string]string) *world {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	w := &world{t: t, sim: sim, names: map[int64]string{}, ids: map[string]int64{}, reads: &reads{list: map[string]int{}}}
	w.srv = simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	w.token = simtest.Org(t, sim, "acme", "alice", "app", "web", ".github")
	w.base = sim.Now()
	pusher := sim.Pusher("alice", w.token)
	for _, pkg := range []string{"app", "web"} {
		p := simtest.Package{Sim: sim, Pusher: pusher, Owner: "acme", Name: pkg}
		src := "https://github.com/acme/" + pkg
		for _, v := range []struct {
			name string
			age  time.Duration
			tags []string
		}{
			{"u1", 30 * day, nil},
			{"pr1", 30 * day, []string{"pr-1"}},
			{"v1", 30 * day, []string{"v1"}},
			{"latest", 2 * day, []string{"latest"}},
		} {
			d := p.Push(t, simtest.Image(t, src, pkg+v.name), w.base.Add(-v.age), v.tags...)
			for _, av := range p.Active() {
				if av.Name == d {
					w.names[av.ID] = pkg + "/" + v.name
					w.ids[pkg+"/"+v.name] = av.ID
				}
			}
		}
	}
	for key, content := range files {
		w.file(key, content)
	}
	return w
}

// file commits content as the pkgwarden.yml of repo, or at path when
// given as "repo:path".
func (w *world) file(repo, content string) {
	w.t.Helper()
	path := rules.Path
	if r, p, ok := strings.Cut(repo, ":"); ok {
		repo, path = r, p
	}
	if err := w.sim.PutFile("acme", repo, "", path, []byte(content), "alice"); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) source() rules.Source {
	w.t.Helper()
	gh, err := githubapi.NewGitHubClient(nil, w.srv.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	return githubapi.NewContentsSource(gh.WithAuthToken(w.token), nil)
}

// planner returns a planner over the world, evaluating at w.base, whose
// reads are counted in w.reads, and the selection of every package.
func (w *world) planner(l *rules.Loader) (*planner.Planner, planner.Selection) {
	w.t.Helper()
	s, err := (&planner.Access{APIURL: w.srv.URL, RegistryURL: w.srv.URL}).SessionWithToken(githubapi.NewToken("acme", "test", w.token))
	if err != nil {
		w.t.Fatal(err)
	}
	if l == nil {
		l = rules.NewLoader(w.source())
	}
	p, err := planner.New(planner.Options{
		Packages: countingPackages{Packages: s.Packages, r: w.reads},
		Graphs:   countingGraphs{Graphs: s.Registry, r: w.reads},
		Loader:   l,
		Now:      func() time.Time { return w.base },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	sel, err := p.Select(context.Background(), "acme", planner.Filter{})
	if err != nil {
		w.t.Fatal(err)
	}
	return p, sel
}

// reads counts listings by "state type/name" and graph reads by
// repository.
type reads struct {
	mu   sync.Mutex
	list map[string]int
}

func (r *reads) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list[key]++
}

func (r *reads) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = map[string]int{}
}

func (r *reads) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.list {
		out[k] = v
	}
	return out
}

type countingPackages struct {
	planner.Packages
	r *reads
}

func (c countingPackages) ListVersions(ctx context.Context, o githubapi.Owner, typ, name string, opts githubapi.ListVersionsOptions) (githubapi.VersionList, error) {
	c.r.add("list " + string(opts.State) + " " + typ + "/" + name)
	return c.Packages.ListVersions(ctx, o, typ, name, opts)
}

type countingGraphs struct {
	planner.Graphs
	r *reads
}

func (c countingGraphs) Graph(ctx context.Context, repository string, digests []string) (map[string]registry.Manifest, map[string]error, error) {
	c.r.add("graph " + repository)
	return c.Graphs.Graph(ctx, repository, digests)
}

func ghsimRef(id int64) ghsim.VersionRef { return ghsim.VersionRef{ID: id} }
