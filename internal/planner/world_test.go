package planner_test

import (
	"context"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// world is a simulator served over loopback HTTP (REST API and registry on
// one listener, as `pkgwarden sim` serves them) with the organisation acme,
// its admin alice and her classic token, and the repositories app, other
// and .github.
type world struct {
	t      testing.TB
	sim    *ghsim.Sim
	srv    *httptest.Server
	token  string
	pusher *ghsim.Pusher
	// base is the moment plans are evaluated at unless a test moves it.
	base time.Time
	// faults makes chosen manifests unreadable.
	faults simtest.ManifestFaults
}

const source = "https://github.com/acme/app"

func newWorld(t testing.TB) *world {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	w := &world{t: t, sim: sim}
	w.srv = simtest.Serve(t, sim, w.faults.Wrap(sim.RegistryHandler()), sim.APIHandler())
	w.token = simtest.Org(t, sim, "acme", "alice", "app", "other", ".github")
	w.pusher = sim.Pusher("alice", w.token)
	w.base = sim.Now()
	return w
}

func (w *world) must(_ any, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) failManifest(digest string) {
	w.faults.Fail(digest)
}

// file commits a file on a repository's default branch.
func (w *world) file(repo, path, content string) {
	w.t.Helper()
	if err := w.sim.PutFile("acme", repo, "", path, []byte(content), "alice"); err != nil {
		w.t.Fatal(err)
	}
}

// image is a small image of package app whose content depends on note.
func (w *world) image(note string) v1.Image {
	w.t.Helper()
	return simtest.Image(w.t, source, note)
}

// plat is one platform child of an index.
type plat struct {
	platform string // os/arch[/variant]; empty for a child without one
	img      v1.Image
	idx      v1.ImageIndex
}

func index(children ...plat) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for _, c := range children {
		var desc v1.Descriptor
		if c.platform != "" {
			parts := strings.Split(c.platform, "/")
			p := v1.Platform{OS: parts[0], Architecture: parts[1]}
			if len(parts) > 2 {
				p.Variant = parts[2]
			}
			desc.Platform = &p
		}
		if c.idx != nil {
			adds = append(adds, mutate.IndexAddendum{Add: c.idx, Descriptor: desc})
		} else {
			adds = append(adds, mutate.IndexAddendum{Add: c.img, Descriptor: desc})
		}
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": source}).(v1.ImageIndex)
}

// push pushes an image or an index to package app (of acme, or pkgName),
// tags it and backdates it (and what it pushed with it) by age. It returns
// the digest.
func (w *world) push(x any, age time.Duration, tags ...string) string {
	return w.pushTo("app", x, age, tags...)
}

func (w *world) pushTo(pkgName string, x any, age time.Duration, tags ...string) string {
	w.t.Helper()
	return w.pkg(pkgName).Push(w.t, x, w.base.Add(-age), tags...)
}

// pkg is package pkgName of acme.
func (w *world) pkg(pkgName string) simtest.Package {
	return simtest.Package{Sim: w.sim, Pusher: w.pusher, Owner: "acme", Name: pkgName}
}

// versions is the active versions of package pkgName of acme.
func (w *world) versions(pkgName string) []ghsim.PackageVersion {
	return w.pkg(pkgName).Active()
}

// id is the version id of an active digest of package app.
func (w *world) id(digest string) int64 {
	w.t.Helper()
	for _, v := range w.versions("app") {
		if v.Name == digest {
			return v.ID
		}
	}
	w.t.Fatalf("no active version %s", digest)
	return 0
}

// deleteVersion deletes a version through the REST API, as a user would.
func (w *world) deleteVersion(digest string) {
	w.t.Helper()
	c := w.clients()
	o, err := c.Packages.ResolveOwner(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := c.Packages.DeleteVersion(context.Background(), o, "container", "app", w.id(digest)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) clients() planner.Clients {
	w.t.Helper()
	s, err := (&planner.Access{APIURL: w.srv.URL, RegistryURL: w.srv.URL}).SessionWithToken(githubapi.NewToken("acme", "test", w.token))
	if err != nil {
		w.t.Fatal(err)
	}
	return s.Clients
}

func (w *world) source() rules.Source {
	w.t.Helper()
	gh, err := githubapi.NewGitHubClient(nil, w.srv.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	return githubapi.NewContentsSource(gh.WithAuthToken(w.token), nil)
}

// planner returns a planner evaluating at w.base+later, with loader l (a
// fresh one when nil).
func (w *world) planner(l *rules.Loader, later time.Duration) *planner.Planner {
	w.t.Helper()
	if l == nil {
		l = rules.NewLoader(w.source())
	}
	c := w.clients()
	p, err := planner.New(planner.Options{
		Packages: c.Packages, Graphs: c.Registry, Loader: l,
		Now: func() time.Time { return w.base.Add(later) },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// row is one line of a plan as tests write it: a version by its name in
// the test (or its digest), its tags and the reason.
type row struct {
	name   string
	tags   string // comma-separated, sorted
	reason string
}

// rows turns entries into rows, naming digests by names (digest → name).
func rows(entries []rules.Entry, names map[string]string) []row {
	out := []row{}
	for _, e := range entries {
		n := names[e.Version]
		if n == "" {
			n = e.Version
		}
		out = append(out, row{name: n, tags: strings.Join(e.Tags, ","), reason: e.Reason})
	}
	return out
}

func sortRows(r []row) []row {
	out := append([]row(nil), r...)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
