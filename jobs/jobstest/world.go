// Package jobstest is the world the job handlers' tests run in (tests
// only): the simulator on loopback with acme (admin alice, her classic
// token, the App installed), a real NATS server, and a prune handler built
// as serve builds it, with hooks between its steps.
package jobstest

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// Day is a day of the simulator's clock.
const Day = 24 * time.Hour

// World is the simulator on loopback with acme (admin alice, her
// classic token, the App installed), repositories app and .github, and a
// real NATS server for the KV stores.
type World struct {
	T            testing.TB
	Sim          *ghsim.Sim
	Server       *httptest.Server
	Token        string
	Installation int64
	Pusher       *ghsim.Pusher
	App          *githubapi.App
	NATS         *queuetest.Server

	// afterFirstListing runs once, after the first version listing of a
	// run answered: between the plan and the deletions.
	AfterFirstListing func()
	Listings          atomic.Int32
	// afterFirstDelete runs once, after the first DELETE of a version
	// answered: between two deletion groups of a run.
	AfterFirstDelete func()
	// cancelAfterDeletes cancels the handler's context after that many
	// DELETE answers (0: never).
	CancelAfterDeletes int32
	Deletes            atomic.Int32
	// LoseDeleteAnswers: that many successful DELETEs have their answer
	// lost (a connection error after GitHub carried them out), which the
	// transport retries and GitHub answers 404.
	LoseDeleteAnswers atomic.Int32
	Cancel            context.CancelFunc

	// Counts of what reached the simulator's REST API.
	Gets, NotModified, Mutating, Limited atomic.Int32
	// kinds counts every REST request, the App's included, by kind
	// (RequestKinds).
	kindsMu sync.Mutex
	kinds   map[string]int
	// pacer, when set, paces the pruners' packages requests.
	Pacer *pacing.Pacer
	// manifestReads counts manifest GETs that reached the registry.
	ManifestReads atomic.Int32
	// unknownManifest (a digest) is answered 404 MANIFEST_UNKNOWN to the
	// pruners' registry reads.
	UnknownManifest atomic.Value

	DelMu             sync.Mutex
	FirstDel, LastDel time.Time

	// useInventory gives the world's pruners an inventory (refusals,
	// marks); now, when set, is their clock.
	UseInventory bool
	Now          func() time.Time

	// Events, set by RouteWebhooks, is the package event count the
	// router keeps and the world's pruners read, as in serve.
	Events *jobs.PackageEvents
}

// RouteWebhooks sends the simulator's webhooks from now on through
// serve's intake and router on the world's NATS: the router counts each
// package event in Events, which the pruners built afterwards read before
// each deletion group. Pushes made before the call sent no webhook.
func (w *World) RouteWebhooks() {
	w.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events, err := jobs.OpenPackageEvents(ctx, w.NATS.Queue.JS, 1)
	if err != nil {
		cancel()
		w.T.Fatal(err)
	}
	w.Events = events
	intake := httptest.NewServer(handlers.NewIntake(w.Sim.WebhookSecret(), w.NATS.Queue, nil, nil))
	router := jobs.NewRouter(w.NATS.Queue, jobs.RouterConfig{Events: events}, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = router.Run(ctx) }()
	w.T.Cleanup(func() {
		w.Sim.SetQuiet(true)
		w.Sim.SetWebhookURL("")
		intake.Close()
		cancel()
		<-done
	})
	w.Sim.SetWebhookURL(intake.URL)
	w.Sim.SetQuiet(false) // simtest.New's worlds start quiet
}

// EventCount is acme/app's package event count now (RouteWebhooks).
func (w *World) EventCount() uint64 {
	w.T.Helper()
	n, err := w.Events.Count(context.Background(), w.Job().Target.Ref())
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

// AwaitEvent runs change, then waits until the router has counted an
// event about acme/app: the webhook the change sent has been routed.
func (w *World) AwaitEvent(change func()) {
	w.T.Helper()
	before := w.EventCount()
	change()
	testwait.For(w.T, "the router to count an event about acme/app", 10*time.Second, func() bool { return w.EventCount() != before })
}

// registryCounter counts manifest reads on their way to the registry.
type registryCounter struct{ w *World }

func (c registryCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
		c.w.ManifestReads.Add(1)
	}
	if d, ok := c.w.UnknownManifest.Load().(string); ok && d != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+d) {
		// The registry lost this manifest: its version is still listed.
		body := `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`
		return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Source is the repository every test image names as its source.
const Source = "https://github.com/acme/app"

// NewWorld starts a world with GitHub's rate limits.
func NewWorld(t testing.TB) *World {
	return NewWorldLimits(t, ghsim.RateLimits{})
}

// NewWorldLimits starts a world whose simulator has these rate limits.
func NewWorldLimits(t testing.TB, limits ghsim.RateLimits) *World {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{RateLimits: limits})
	var err error
	w := &World{T: t, Sim: sim}
	w.Server = simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	w.Token = simtest.Org(t, sim, "acme", "alice", "app", ".github")
	if w.Installation, err = sim.AddInstallation("acme", map[string]string{"metadata": "read", "contents": "read", "issues": "write", "pull_requests": "read", "checks": "write"}); err != nil {
		t.Fatal(err)
	}
	w.Pusher = sim.Pusher("alice", w.Token)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	if w.App, err = githubapi.NewApp(githubapi.AppConfig{AppID: sim.AppID(), PrivateKey: keyPEM, BaseURL: w.Server.URL,
		Transport: githubapi.NewTransport(appCounter{w}, githubapi.RetryPolicy{}, nil)}); err != nil {
		t.Fatal(err)
	}
	w.NATS = queuetest.Start(t, "", queuetest.Config())
	return w
}

// appCounter counts the App's requests by kind on their way to the
// simulator.
type appCounter struct{ w *World }

func (c appCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.w.countKind("App", r, resp.StatusCode)
	}
	return resp, err
}

func (w *World) countKind(who string, r *http.Request, status int) {
	w.kindsMu.Lock()
	defer w.kindsMu.Unlock()
	if w.kinds == nil {
		w.kinds = map[string]int{}
	}
	w.kinds[RequestKind(who, r.Method, r.URL.Path, status)]++
}

// RequestKind names a REST request for RequestKinds: who sent it (the
// packages token, the App), its method, what it is about and its status
// ("packages GET versions page 304").
func RequestKind(who, method, path string, status int) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	what := path
	switch {
	case strings.HasSuffix(path, "/versions"):
		what = "versions page"
	case len(parts) >= 2 && parts[len(parts)-2] == "versions":
		what = "version"
	case len(parts) >= 4 && parts[len(parts)-3] == "packages":
		what = "package"
	case len(parts) == 2 && (parts[0] == "orgs" || parts[0] == "users"):
		what = "owner"
	case strings.HasSuffix(path, "/access_tokens"):
		what = "installation token"
	case len(parts) >= 4 && parts[0] == "repos" && parts[3] == "contents":
		what = "config file"
	}
	return fmt.Sprintf("%s %s %s %d", who, method, what, status)
}

// RequestKinds counts the REST requests that reached the simulator since
// the world started (or ResetCounts), the App's included, by kind.
func (w *World) RequestKinds() map[string]int {
	w.kindsMu.Lock()
	defer w.kindsMu.Unlock()
	return maps.Clone(w.kinds)
}

// RoundTrip is the packages transport of the world's pruners: it runs
// the hooks.
func (w *World) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	w.countKind("packages", r, resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != "":
		w.Limited.Add(1)
	case r.Method == http.MethodGet && resp.StatusCode == http.StatusNotModified:
		w.NotModified.Add(1)
	case r.Method == http.MethodGet:
		w.Gets.Add(1)
	default:
		w.Mutating.Add(1)
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/versions") && w.Listings.Add(1) == 1 && w.AfterFirstListing != nil {
		w.AfterFirstListing()
	}
	if r.Method == http.MethodDelete && resp.StatusCode/100 == 2 {
		w.DelMu.Lock()
		if w.FirstDel.IsZero() {
			w.FirstDel = time.Now()
		}
		w.LastDel = time.Now()
		w.DelMu.Unlock()
		n := w.Deletes.Add(1)
		if w.CancelAfterDeletes > 0 && n >= w.CancelAfterDeletes && w.Cancel != nil {
			w.Cancel()
		}
		if n == 1 && w.AfterFirstDelete != nil {
			w.AfterFirstDelete()
		}
		if w.LoseDeleteAnswers.Add(-1) >= 0 {
			_ = resp.Body.Close()
			return nil, errors.New("jobstest: connection reset after the DELETE was carried out")
		}
	}
	return resp, nil
}

// ResetCounts sets the counts of what reached the simulator back to zero
// (GETs, 304s, mutating requests, manifest reads, listings, kinds).
func (w *World) ResetCounts() {
	for _, c := range []*atomic.Int32{&w.Gets, &w.NotModified, &w.Mutating, &w.ManifestReads, &w.Listings} {
		c.Store(0)
	}
	w.kindsMu.Lock()
	w.kinds = nil
	w.kindsMu.Unlock()
}

// DeleteSpan is the time from the first successful DELETE to the last.
func (w *World) DeleteSpan() time.Duration {
	w.DelMu.Lock()
	defer w.DelMu.Unlock()
	return w.LastDel.Sub(w.FirstDel)
}

// Reports is a prune Reporter that keeps every run, for tests to read.
type Reports struct {
	Mu   sync.Mutex
	Runs []prune.Run
}

// Report implements the prune Reporter.
func (r *Reports) Report(_ context.Context, run prune.Run) error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	r.Runs = append(r.Runs, run)
	return nil
}

// Count is the number of runs reported.
func (r *Reports) Count() int {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	return len(r.Runs)
}

// Last is the last run reported; the test fails if there is none.
func (r *Reports) Last(t testing.TB) prune.Run {
	t.Helper()
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if len(r.Runs) == 0 {
		t.Fatal("no run reported")
	}
	return r.Runs[len(r.Runs)-1]
}

// Pruner builds a prune handler as serve does, on the world's stores,
// with rep as reporter and tokens as PKGWARDEN_PACKAGES_TOKENS.
func (w *World) Pruner(rep prune.Reporter, paused bool, tokens string) *prune.Pruner {
	w.T.Helper()
	toks, err := githubapi.ParsePackagesTokens(tokens, "")
	if err != nil {
		w.T.Fatal(err)
	}
	ctx := context.Background()
	js := w.NATS.Queue.JS
	cache, err := registry.OpenKVCache(ctx, js, "manifests", 1)
	if err != nil {
		w.T.Fatal(err)
	}
	etags, err := githubapi.OpenKVETagStore(ctx, js, "etags", 1, 0)
	if err != nil {
		w.T.Fatal(err)
	}
	runs, err := prune.OpenKVRunStore(ctx, js, 1, 0)
	if err != nil {
		w.T.Fatal(err)
	}
	var inv *inventory.Store
	if w.UseInventory {
		if inv, err = inventory.Open(ctx, js, 1, w.Now); err != nil {
			w.T.Fatal(err)
		}
	}
	var packagesTr http.RoundTripper = w
	if w.Pacer != nil {
		packagesTr = w.Pacer.Wrap(w)
	}
	access := &planner.Access{
		Tokens: toks, App: w.App, APIURL: w.Server.URL, RegistryURL: w.Server.URL,
		PackagesTransport: githubapi.NewTransport(packagesTr, githubapi.RetryPolicy{}, nil),
		RegistryTransport: registryCounter{w},
		Cache:             cache, ETags: etags, Now: w.Now,
	}
	p, err := prune.New(prune.Config{
		Access: access, Runs: runs, Reporter: rep, Paused: paused, Inventory: inv, Events: w.Events,
	})
	if err != nil {
		w.T.Fatal(err)
	}
	return p
}

// File writes repo's .github/pkgwarden.yml as alice.
func (w *World) File(repo, content string) {
	w.T.Helper()
	if err := w.Sim.PutFile("acme", repo, "", ".github/pkgwarden.yml", []byte(content), "alice"); err != nil {
		w.T.Fatal(err)
	}
}

// Image is a small image whose config names note.
func (w *World) Image(note string) v1.Image {
	w.T.Helper()
	return simtest.Image(w.T, Source, note)
}

// Push pushes an image or index to acme/app, tags it, and backdates what
// the push created by age.
func (w *World) Push(x any, age time.Duration, tags ...string) string {
	w.T.Helper()
	return w.AppPkg().Push(w.T, x, w.Sim.Now().Add(-age), tags...)
}

// AppPkg is package acme/app.
func (w *World) AppPkg() simtest.Package {
	return simtest.Package{Sim: w.Sim, Pusher: w.Pusher, Owner: "acme", Name: "app"}
}

// Active lists acme/app's active versions.
func (w *World) Active() []ghsim.PackageVersion { return w.AppPkg().Active() }

// ActiveDigests are the digests of acme/app's active versions, sorted.
func (w *World) ActiveDigests() []string {
	var out []string
	for _, v := range w.Active() {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

// Job is a prune job of acme/app, as a publish webhook queues it.
func (w *World) Job() jobs.Job {
	return jobs.Job{Type: jobs.TypePrune, DeliveryID: "delivery-1", Reason: "registry_package published", QueuedAt: time.Now(),
		Target: webhook.Target{InstallationID: w.Installation, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "app", Repository: "acme/app"}}
}

// Index is an image index of imgs (linux/amd64, arm64, s390x in order).
func Index(imgs ...v1.Image) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		arch := []string{"amd64", "arm64", "s390x"}[i]
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": Source}).(v1.ImageIndex)
}

// PruneRules prunes acme/app's untagged and pr-* versions, never latest.
const PruneRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, delete_tags: ["pr-*"], exclude_tags: ["latest"]}
`

// Seal stands for serve's seal (keyed by its webhook secret).
var Seal = report.NewSeal([]byte("test webhook secret"))

// ReportOptions make a Reporter as serve does: it knows the App's bot and
// seals its boxes.
func ReportOptions(sim *ghsim.Sim) []report.Option {
	return []report.Option{report.WithBot(sim.BotLogin()), report.WithSeal(Seal)}
}
