package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue"
)

// e2e is the simulator with the organisation acme (admin alice, her
// classic token, the App installed), repositories app, other and .github,
// and pkgwarden serve running in-process against it. The simulator's
// webhooks go to a gate that holds them until the test forwards them to
// serve, signatures untouched, so serve sees a scenario only once it is
// fully set up (pushes backdated).
type e2e struct {
	t      *testing.T
	sim    *ghsim.Sim
	srv    *httptest.Server
	token  string
	pusher *ghsim.Pusher
	addr   string
	q      *queue.Queue
	runs   *runRecorder
	// dir holds the app key and serve's data dir.
	dir, keyPath string
	// pacing is serve's pacing budget (demoPacing when nil).
	pacing *pacing.Config
	// limited counts rate-limit answers of the REST API.
	limited atomic.Int32
	// apiInFlight counts REST API requests the simulator is serving.
	apiInFlight atomic.Int32
	// afterAPI, when set, is called with each REST API request once the
	// simulator has answered it, before the answer goes back.
	afterAPI atomic.Pointer[func(r *http.Request, status int)]

	mu   sync.Mutex
	held []heldDelivery
	// failReads makes chosen manifests unreadable.
	failReads simtest.ManifestFaults
}

type heldDelivery struct {
	header http.Header
	body   []byte
}

const e2eSource = "https://github.com/acme/app"

func newE2E(t *testing.T, configure func(*settings.Settings)) *e2e {
	t.Helper()
	w := newE2EWorld(t, ghsim.RateLimits{})
	w.startServe(configure)
	return w
}

// newE2EWorld is the simulator and its world, without serve.
func newE2EWorld(t *testing.T, limits ghsim.RateLimits) *e2e {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{AppKey: simtest.AppKey(), RateLimits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w := &e2e{t: t, sim: sim, runs: &runRecorder{}}
	w.srv = simtest.Serve(t, sim, w.failReads.Wrap(sim.RegistryHandler()), w.countLimits(sim.APIHandler()))
	gate := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.held = append(w.held, heldDelivery{header: r.Header.Clone(), body: body})
		w.mu.Unlock()
		rw.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(gate.Close)
	sim.SetWebhookURL(gate.URL)

	w.token = simtest.Org(t, sim, "acme", "alice", "app", "other", ".github")
	if _, err := sim.AddInstallation("acme", map[string]string{"metadata": "read", "contents": "read", "issues": "write", "pull_requests": "read", "checks": "write"}); err != nil {
		t.Fatal(err)
	}
	w.pusher = sim.Pusher("alice", w.token)
	w.dir = t.TempDir()
	w.keyPath = filepath.Join(w.dir, "app-key.pem")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	if err := os.WriteFile(w.keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// files commits each file of files: keyed "repo" (its .github/pkgwarden.yml)
// or "repo:path".
func (w *e2e) files(files map[string]string) {
	w.t.Helper()
	for where, content := range files {
		repo, path, ok := strings.Cut(where, ":")
		if !ok {
			path = rules.Path
		}
		w.file(repo, path, content)
	}
}

// startServe runs serve in-process against the simulator.
func (w *e2e) startServe(configure func(*settings.Settings)) {
	t, sim, dir := w.t, w.sim, w.dir
	t.Helper()
	s := settings.Settings{
		AppID: sim.AppID(), AppSlug: ghsim.AppSlug, PrivateKeyPath: w.keyPath, WebhookSecret: sim.WebhookSecret(),
		PackagesTokens: settings.TokenMap{"acme": w.token},
		Listen:         "127.0.0.1:0", GitHubAPIURL: w.srv.URL + "/", RegistryURL: w.srv.URL,
		NATSReplicas: 1, DataDir: filepath.Join(dir, "data"), Roles: []string{settings.RoleWeb, settings.RoleWorker},
		Workers: 2, SweepInterval: time.Hour, JobAttempts: 3, JobBackoff: 200 * time.Millisecond,
		LeaseTTL: 5 * time.Second, DuplicateWindow: time.Minute,
		HTTPReadHeaderTimeout: 10 * time.Second, HTTPReadTimeout: 2 * time.Minute,
	}
	if configure != nil {
		configure(&s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	pc := &demoPacing
	if w.pacing != nil {
		pc = w.pacing
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	served, err := startInProcess(ctx, s, serveOptions{Logger: logger, Reporter: w.runs, Pacing: pc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = served.Stop() })
	w.q, w.addr = served.Queue, served.Addr
}

// countLimits counts the REST API's requests in flight and its rate-limit
// answers: 429, or 403 with Retry-After or X-RateLimit-Remaining: 0.
func (w *e2e) countLimits(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.apiInFlight.Add(1)
		defer w.apiInFlight.Add(-1)
		rec := &statusRecorder{ResponseWriter: rw}
		h.ServeHTTP(rec, r)
		if f := w.afterAPI.Load(); f != nil {
			(*f)(r, rec.status)
		}
		hd := rw.Header()
		if rec.status == http.StatusTooManyRequests || rec.status == http.StatusForbidden && (hd.Get("Retry-After") != "" || hd.Get("X-RateLimit-Remaining") == "0") {
			w.limited.Add(1)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (w *e2e) file(repo, path, content string) {
	w.t.Helper()
	if err := w.sim.PutFile("acme", repo, "", path, []byte(content), "alice"); err != nil {
		w.t.Fatal(err)
	}
}

func (w *e2e) image(note string) v1.Image {
	w.t.Helper()
	return simtest.Image(w.t, e2eSource, note)
}

func (w *e2e) digest(x interface{ Digest() (v1.Hash, error) }) string {
	w.t.Helper()
	d, err := x.Digest()
	if err != nil {
		w.t.Fatal(err)
	}
	return d.String()
}

// push pushes an image or index to package app, tags it and backdates
// what the push created by age. Its webhooks are held at the gate.
func (w *e2e) push(x any, age time.Duration, tags ...string) string {
	w.t.Helper()
	return w.appPkg().Push(w.t, x, w.sim.Now().Add(-age), tags...)
}

// appPkg is package acme/app.
func (w *e2e) appPkg() simtest.Package {
	return simtest.Package{Sim: w.sim, Pusher: w.pusher, Owner: "acme", Name: "app"}
}

func (w *e2e) active() []ghsim.PackageVersion { return w.appPkg().Active() }

func (w *e2e) activeSet() map[string]bool { return w.appPkg().ActiveSet() }

// deleteVersion deletes a version through the REST API, as a user would.
func (w *e2e) deleteVersion(digest string) {
	w.t.Helper()
	for _, v := range w.active() {
		if v.Name == digest {
			if err := w.sim.DeleteVersion("acme", "container", "app", ghsim.VersionRef{ID: v.ID}, 0); err != nil {
				w.t.Fatal(err)
			}
			return
		}
	}
	w.t.Fatalf("no active version %s", digest)
}

// plan is what the rules decide now for package app, by the planner.
func (w *e2e) plan() rules.Decision {
	w.t.Helper()
	c, err := (&planner.Access{APIURL: w.srv.URL, RegistryURL: w.srv.URL}).SessionWithToken(githubapi.NewToken("acme", "test", w.token))
	if err != nil {
		w.t.Fatal(err)
	}
	gh, err := githubapi.NewGitHubClient(nil, w.srv.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := planner.New(planner.Options{Packages: c.Packages, Graphs: c.Registry,
		Loader: rules.NewLoader(githubapi.NewContentsSource(gh.WithAuthToken(w.token), nil))})
	if err != nil {
		w.t.Fatal(err)
	}
	plan, err := p.PlanOwner(context.Background(), "acme", planner.Filter{Type: "container", Package: "app"})
	if err != nil {
		w.t.Fatal(err)
	}
	return plan.Packages[0]
}

// deliver forwards the last registry_package webhook to serve, signed as
// the simulator signed it, and waits until the job is done. (Forwarding
// every push's webhook would only add runs that wait for the first one's
// lease and find nothing more to do.)
func (w *e2e) deliver() {
	w.t.Helper()
	w.forwardLast(w.addr)
	w.waitIdle()
}

// forwardLast sends the last registry_package webhook held at the gate
// to the serve at addr, and drops the others.
func (w *e2e) forwardLast(addr string) {
	w.t.Helper()
	if err := w.sim.WaitDeliveries(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	held := w.held
	w.held = nil
	w.mu.Unlock()
	var last *heldDelivery
	for i := range held {
		if held[i].header.Get("X-GitHub-Event") == "registry_package" {
			last = &held[i]
		}
	}
	if last == nil {
		w.t.Fatal("no registry_package webhook to deliver")
	}
	for _, d := range []heldDelivery{*last} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks", bytes.NewReader(d.body))
		if err != nil {
			w.t.Fatal(err)
		}
		req.Header = d.header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			w.t.Fatalf("delivery %s answered %d", d.header.Get("X-GitHub-Delivery"), resp.StatusCode)
		}
	}
}

func (w *e2e) waitIdle() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitIdle(ctx, w.q, w.runs, []string{"acme/container/app"}); err != nil {
		w.t.Fatal(err)
	}
}

// pullable checks the safety invariant: every tag of an active version
// still pulls, with every manifest it references (index children, nested
// indexes) and the referrers hanging off its referrer tags.
func (w *e2e) pullable() {
	w.t.Helper()
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: w.token})}
	host := strings.TrimPrefix(w.srv.URL, "http://")
	for _, v := range w.active() {
		for _, tag := range v.Tags {
			ref, err := name.NewTag(host+"/acme/app:"+tag, name.Insecure)
			if err != nil {
				w.t.Fatal(err)
			}
			desc, err := remote.Get(ref, opts...)
			if err != nil {
				w.t.Errorf("tag %s does not pull: %v", tag, err)
				continue
			}
			w.pullTree(ref.Context(), desc.Descriptor, tag, opts)
		}
	}
}

func (w *e2e) pullTree(repo name.Repository, d v1.Descriptor, from string, opts []remote.Option) {
	w.t.Helper()
	ref := repo.Digest(d.Digest.String())
	if d.MediaType.IsIndex() {
		idx, err := remote.Index(ref, opts...)
		if err != nil {
			w.t.Errorf("index %s (from %s) does not pull: %v", d.Digest, from, err)
			return
		}
		im, err := idx.IndexManifest()
		if err != nil {
			w.t.Errorf("index %s (from %s): %v", d.Digest, from, err)
			return
		}
		for _, c := range im.Manifests {
			w.pullTree(repo, c, from, opts)
		}
		return
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		w.t.Errorf("image %s (from %s) does not pull: %v", d.Digest, from, err)
		return
	}
	if _, err := img.RawManifest(); err != nil {
		w.t.Errorf("image %s (from %s): %v", d.Digest, from, err)
	}
}

func e2eIndex(children ...any) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	archs := []string{"amd64", "arm64", "s390x"}
	for i, c := range children {
		desc := v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: archs[i]}}
		switch c := c.(type) {
		case v1.Image:
			adds = append(adds, mutate.IndexAddendum{Add: c, Descriptor: desc})
		case v1.ImageIndex:
			adds = append(adds, mutate.IndexAddendum{Add: c, Descriptor: v1.Descriptor{}})
		}
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": e2eSource}).(v1.ImageIndex)
}

const e2eRules = `rules:
  - packages: ["app"]
    type: container
    prune:
      untagged: true
      delete_tags: ["pr-*"]
      exclude_tags: ["latest"]
`

// TestPruneScenariosEndToEnd runs the planner's scenarios through signed
// webhooks into serve: afterwards exactly the planned digests are gone
// (none for a dry run or an untouched package) and every kept tag still
// pulls whole.
func TestPruneScenariosEndToEnd(t *testing.T) {
	const day = 24 * time.Hour
	tests := map[string]struct {
		files map[string]string // repo[:path] → content
		setup func(w *e2e)
		// deletes is how many versions the plan must delete (so that a
		// scenario cannot pass by deleting nothing).
		deletes int
		// acts is false when the plan is only reported (dry run,
		// untouched, invalid file).
		noAct bool
	}{
		"single-arch untagged": {files: map[string]string{"app": e2eRules}, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("old"), 2*day)
			w.push(w.image("young"), 30*time.Minute)
		}},
		"multi-arch untagged": {files: map[string]string{"app": e2eRules}, deletes: 3, setup: func(w *e2e) {
			w.push(w.image("v1"), 5*day, "v1") // GitHub never deletes a package's last version
			w.push(e2eIndex(w.image("amd64"), w.image("arm64")), 3*day)
		}},
		"tagged release keeps its platforms": {files: map[string]string{"app": e2eRules}, deletes: 1, setup: func(w *e2e) {
			w.push(e2eIndex(w.image("amd64"), w.image("arm64")), 30*day, "v1.0.0")
			w.push(w.image("old"), 2*day)
		}},
		"tagged with delete_tags": {files: map[string]string{"app": e2eRules}, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("pr-1"), 5*day, "pr-1")
			w.push(w.image("pr-2"), 4*day, "pr-2", "latest")
			w.push(w.image("pr-3"), 3*day, "pr-3", "dev")
			w.push(w.image("pr-4"), 20*time.Minute, "pr-4")
		}},
		"keep-N tagged and untagged": {files: map[string]string{"app": `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, keep_untagged: 2, delete_tags: ["pr-*"], keep_tagged: 2}
`}, deletes: 4, setup: func(w *e2e) {
			for i := 1; i <= 4; i++ {
				w.push(w.image(fmt.Sprintf("pr-%d", i)), time.Duration(10-i)*day, fmt.Sprintf("pr-%d", i))
				w.push(w.image(fmt.Sprintf("u%d", i)), time.Duration(10-i)*day-time.Hour)
			}
		}},
		"older_than": {files: map[string]string{"app": `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, older_than: 2d}
`}, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("1d"), 1*day)
			w.push(w.image("3d"), 3*day)
		}},
		"child shared by two indexes": {files: map[string]string{"app": e2eRules}, deletes: 2, setup: func(w *e2e) {
			shared := w.image("shared")
			w.push(e2eIndex(shared), 5*day, "v1")
			w.push(e2eIndex(shared, w.image("own")), 4*day)
		}},
		"nested index": {files: map[string]string{"app": e2eRules}, deletes: 3, setup: func(w *e2e) {
			w.push(e2eIndex(e2eIndex(w.image("amd64"), w.image("arm64"))), 5*day, "v2")
			w.push(e2eIndex(e2eIndex(w.image("old-amd64"))), 6*day)
		}},
		"cosign signature and attestation tags": {files: map[string]string{"app": e2eRules}, deletes: 3, setup: func(w *e2e) {
			rel := w.push(w.image("v1"), 5*day, "v1")
			tag := strings.Replace(rel, ":", "-", 1)
			w.push(w.image("sig"), 5*day, tag+".sig")
			w.push(w.image("att"), 5*day, tag+".att")
			old := w.push(w.image("old"), 4*day)
			w.push(w.image("old-sig"), 4*day, strings.Replace(old, ":", "-", 1)+".sig")
			w.push(w.image("orphan-sig"), 4*day, "sha256-"+strings.Repeat("ab", 32)+".sig")
		}},
		"OCI 1.1 referrers": {files: map[string]string{"app": e2eRules}, deletes: 3, setup: func(w *e2e) {
			for _, n := range []string{"v1", "old"} {
				subject := w.image(n)
				var tags []string
				age := 4 * day
				if n == "v1" {
					tags, age = []string{"v1"}, 5*day
				}
				w.push(subject, age, tags...)
				ref := mutate.ConfigMediaType(w.image(n+"-sbom"), types.MediaType("application/vnd.in-toto+json"))
				sd, _ := subject.Digest()
				sz, _ := subject.Size()
				mt, _ := subject.MediaType()
				w.push(mutate.Subject(ref, v1.Descriptor{MediaType: mt, Size: sz, Digest: sd}).(v1.Image), age)
			}
		}},
		"ghost and partial indexes": {files: map[string]string{"app": e2eRules}, deletes: 3, setup: func(w *e2e) {
			w.push(w.image("v1"), 5*day, "v1")
			gamd, garm := w.image("ghost-amd64"), w.image("ghost-arm64")
			w.push(e2eIndex(gamd, garm), 5*day, "pr-7")
			w.deleteVersion(w.digest(gamd))
			w.deleteVersion(w.digest(garm))
			pamd, parm := w.image("partial-amd64"), w.image("partial-arm64")
			w.push(e2eIndex(pamd, parm), 4*day)
			w.deleteVersion(w.digest(parm))
		}},
		"index pushed after its children": {files: map[string]string{"app": e2eRules}, deletes: 1, setup: func(w *e2e) {
			amd, arm := w.image("amd64"), w.image("arm64")
			w.push(amd, 3*time.Minute)
			w.push(arm, 2*time.Minute)
			w.push(e2eIndex(amd, arm), time.Minute)
			w.push(w.image("old"), 2*day)
		}},
		"manifest read fails": {files: map[string]string{"app": e2eRules}, noAct: true, deletes: 0, setup: func(w *e2e) {
			w.push(w.image("v1"), 5*day, "v1")
			bad := w.push(w.image("old"), 4*day)
			w.failReads.Fail(bad)
		}},
		"org defaults": {files: map[string]string{".github": `rules:
  - packages: ["*"]
    type: any
    prune: {untagged: true, older_than: 3d}
`}, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("old"), 4*day)
			w.push(w.image("new"), 2*day)
		}},
		"_extends with dry_run": {files: map[string]string{
			".github:.github/base.yml": "rules:\n  - packages: [\"app\"]\n    type: container\n    prune: {delete_tags: [\"pr-*\"]}\n",
			"app":                      "_extends: acme/.github:.github/base.yml\ndry_run: true\n",
		}, noAct: true, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("pr-1"), 4*day, "pr-1")
			w.push(w.image("old"), 4*day)
		}},
		"policy.repository_rules: deny": {files: map[string]string{
			".github": "rules:\n  - packages: [\"*\"]\n    prune: {untagged: false, delete_tags: [\"pr-*\"]}\npolicy: {repository_rules: deny}\n",
			"app":     e2eRules,
		}, deletes: 1, setup: func(w *e2e) {
			w.push(w.image("old"), 4*day)
			w.push(w.image("pr-1"), 4*day, "pr-1")
		}},
		"invalid file": {files: map[string]string{"app": "rules:\n  - packages: [\"app\"]\n    prune: {untaged: true}\n"}, noAct: true, setup: func(w *e2e) {
			w.push(w.image("old"), 4*day)
		}},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newE2E(t, nil)
			w.files(tc.files)
			tc.setup(w)
			before := w.activeSet()
			d := w.plan()
			if len(d.Delete) != tc.deletes {
				t.Fatalf("the plan deletes %d versions, the scenario expects %d: %+v", len(d.Delete), tc.deletes, d.Delete)
			}
			want := map[string]bool{}
			for v := range before {
				want[v] = true
			}
			if !tc.noAct {
				for _, e := range d.Delete {
					delete(want, e.Version)
				}
			}
			w.deliver()
			after := w.activeSet()
			for v := range before {
				if want[v] != after[v] {
					t.Errorf("%s: active %t, want %t", v, after[v], want[v])
				}
			}
			w.pullable()
			for _, r := range w.runs.snapshot() {
				if len(r.Skipped) > 0 || len(r.Kept) > 0 {
					t.Errorf("run %s skipped %v, kept by re-check %v", r.ID, r.Skipped, r.Kept)
				}
			}
		})
	}
}

// TestPrunePausedDeletesNothing: PKGWARDEN_PAUSED plans and reports, and
// deletes nothing.
func TestPrunePausedDeletesNothing(t *testing.T) {
	w := newE2E(t, func(s *settings.Settings) { s.Paused = true })
	w.file("app", rules.Path, e2eRules)
	old := w.push(w.image("old"), 3*24*time.Hour)
	if d := w.plan(); len(d.Delete) != 1 {
		t.Fatalf("plan deletes %v, want the old image", d.Delete)
	}
	w.deliver()
	if !w.activeSet()[old] {
		t.Error("the old image was deleted while paused")
	}
	runs := w.runs.snapshot()
	if len(runs) == 0 || !slices.ContainsFunc(runs, func(r prune.Run) bool { return r.Outcome == prune.OutcomePaused && r.Paused }) {
		t.Errorf("runs = %+v, want a paused one", runs)
	}
}

// TestPruneSurvivesKill9: a serve subprocess is killed with SIGKILL between
// two deletions (the simulator answers slowly), a second one on the same
// data dir takes the job over when the lease expires: afterwards exactly
// the planned versions are gone, every kept tag pulls, and the report
// issue has one comment for the run.
func TestPruneSurvivesKill9(t *testing.T) {
	const day = 24 * time.Hour
	w := newE2EWorld(t, ghsim.RateLimits{Latency: 150 * time.Millisecond})
	w.file("app", rules.Path, e2eRules)
	w.push(w.image("v1"), 5*day, "v1")
	for i := range 6 {
		w.push(w.image(fmt.Sprintf("old-%d", i)), time.Duration(2+i)*day)
	}
	before := w.activeSet()
	d := w.plan()
	if len(d.Delete) != 6 {
		t.Fatalf("plan deletes %d versions, want 6", len(d.Delete))
	}
	want := map[string]bool{}
	for v := range before {
		want[v] = true
	}
	for _, e := range d.Delete {
		delete(want, e.Version)
	}
	gone := func() int {
		n, active := 0, w.activeSet()
		for v := range before {
			if !active[v] {
				n++
			}
		}
		return n
	}
	env := map[string]string{
		"PKGWARDEN_WEBHOOK_SECRET":   w.sim.WebhookSecret(),
		"PKGWARDEN_APP_ID":           strconv.FormatInt(w.sim.AppID(), 10),
		"PKGWARDEN_APP_SLUG":         ghsim.AppSlug,
		"PKGWARDEN_PRIVATE_KEY_PATH": w.keyPath,
		"PKGWARDEN_PACKAGES_TOKENS":  "acme=" + w.token,
		"PKGWARDEN_GITHUB_API_URL":   w.srv.URL + "/",
		"PKGWARDEN_REGISTRY_URL":     w.srv.URL,
		"PKGWARDEN_DATA_DIR":         filepath.Join(w.dir, "data"),
		"PKGWARDEN_JOB_BACKOFF":      "200ms",
		"PKGWARDEN_PACING_MUTATING":  "300",
	}
	first := startServe(t, env)
	w.forwardLast(first.addr)
	testwait.For(t, "two deletions", 30*time.Second, func() bool { return gone() >= 2 })
	first.kill()
	// A request in flight at the kill ends (done or dropped) on the
	// simulator's side within its latency; nothing else calls it now.
	testwait.For(t, "the simulator to end the requests in flight at the kill", 10*time.Second, func() bool {
		return w.apiInFlight.Load() == 0
	})
	killedAt := gone()
	if killedAt >= len(d.Delete) {
		t.Fatalf("the run finished (%d deletions) before the kill; slow the simulator down", killedAt)
	}
	second := startServe(t, env)
	testwait.For(t, "the job to finish on the second process", 60*time.Second, func() bool {
		return strings.Contains(second.get(t, "/metrics"), `pkgwarden_jobs_total{result="success",type="prune"} 1`)
	})
	after := w.activeSet()
	for v := range before {
		if want[v] != after[v] {
			t.Errorf("%s: active %t, want %t", v, after[v], want[v])
		}
	}
	if m := second.get(t, "/metrics"); !strings.Contains(m, fmt.Sprintf("pkgwarden_versions_deleted_total %d", len(d.Delete)-killedAt)) {
		t.Errorf("pkgwarden_versions_deleted_total is not the second process's %d deletions:\n%s", len(d.Delete)-killedAt, grepLines(m, "pkgwarden_versions_deleted_total"))
	}
	w.pullable()
	issues, err := w.sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	var reports, comments int
	for _, is := range issues {
		if is.Title != "pkgwarden: container acme/app" {
			continue
		}
		reports++
		for _, c := range is.Comments {
			if !strings.Contains(c.Body, "<!-- pkgwarden:run ") {
				continue
			}
			comments++
			// The one comment tells the whole run, both processes' part.
			for _, e := range d.Delete {
				if short := strings.TrimPrefix(rules.ShortDigest(e.Version), "sha256:"); !strings.Contains(c.Body, short) {
					t.Errorf("the run's comment does not name %s:\n%s", short, c.Body)
				}
			}
		}
	}
	if reports != 1 || comments != 1 {
		t.Errorf("%d report issues with %d run comments, want 1 and 1:\n%+v", reports, comments, issues)
	}
}

// TestPruneUnderTightSecondaryLimit: the simulator allows a token 30
// points per 2 s (6 deletions); serve's pacing budget for the token is
// under it, so a run of 8 deletions finishes without one rate-limit
// answer, the deletions spread over several windows.
func TestPruneUnderTightSecondaryLimit(t *testing.T) {
	const day = 24 * time.Hour
	w := newE2EWorld(t, ghsim.RateLimits{SecondaryPoints: 30, SecondaryWindow: 2 * time.Second})
	w.pacing = &pacing.Config{Window: 2 * time.Second, Points: 24, Mutating: 4, Burst: 5}
	w.file("app", rules.Path, e2eRules)
	w.push(w.image("v1"), 5*day, "v1")
	for i := range 8 {
		w.push(w.image(fmt.Sprintf("old-%d", i)), time.Duration(2+i)*day)
	}
	d := w.plan()
	if len(d.Delete) != 8 {
		t.Fatalf("plan deletes %d, want 8", len(d.Delete))
	}
	w.limited.Store(0) // the test's own setup may have been limited
	// The setup's own requests are not paced: start serve with fresh
	// windows, so the run alone answers for what it spends.
	w.sim.ResetRequestStats()
	start := time.Now()
	w.startServe(nil)
	w.deliver()
	took := time.Since(start)
	active := w.activeSet()
	for _, e := range d.Delete {
		if active[e.Version] {
			t.Errorf("%s not deleted", e.Version)
		}
	}
	if n := w.limited.Load(); n != 0 {
		t.Errorf("%d rate-limit answers, want 0", n)
	}
	t.Logf("8 deletions under 4 mutating requests per 2 s took %s", took.Round(10*time.Millisecond))
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReportWritesArePaced: the App's requests (configuration file, report
// issue and comment) go through the pacer too, per installation token, so
// a report burst stays under GitHub's secondary limit instead of being
// answered 403 and failing the job.
func TestReportWritesArePaced(t *testing.T) {
	const day = 24 * time.Hour
	// 12 points per 2 s for every token: the report alone (files, issue
	// search, issue, comment) costs more at once. The pacer sends at most
	// Points+Burst in any window: 12 too. (With 10+5 the test passed only
	// while the prune between the App's file reads and its report took
	// long enough: a re-check listing more, before issue 17.)
	w := newE2EWorld(t, ghsim.RateLimits{SecondaryPoints: 12, SecondaryWindow: 2 * time.Second})
	w.pacing = &pacing.Config{Window: 2 * time.Second, Points: 7, Mutating: 2, Burst: 5}
	w.file("app", rules.Path, e2eRules)
	w.push(w.image("v1"), 5*day, "v1")
	old := w.push(w.image("old"), 3*day)
	w.limited.Store(0) // the test's own setup may have been limited
	w.sim.ResetRequestStats()
	w.startServe(nil)
	w.deliver()
	if w.activeSet()[old] {
		t.Errorf("the old untagged version was not deleted")
	}
	issues, err := w.sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 1 || len(issues[0].Comments) != 1 {
		t.Errorf("%d report issues (%+v), want 1 with one run comment", len(issues), issues)
	}
	if n := w.limited.Load(); n != 0 {
		t.Errorf("%d rate-limit answers, want 0", n)
	}
}
