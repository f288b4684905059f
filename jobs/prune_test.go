package jobs_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
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

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

const day = 24 * time.Hour

// appKey is the App key of every simulator of the test binary.
var appKey = simtest.AppKey

// pruneWorld is the simulator on loopback with acme (admin alice, her
// classic token, the App installed), repositories app and .github, and a
// real NATS server for the KV stores.
type pruneWorld struct {
	t            testing.TB
	sim          *ghsim.Sim
	srv          *httptest.Server
	token        string
	installation int64
	pusher       *ghsim.Pusher
	app          *githubapi.App
	nats         *queuetest.Server

	// afterFirstListing runs once, after the first version listing of a
	// run answered: between the plan and the deletions.
	afterFirstListing func()
	listings          atomic.Int32
	// afterFirstDelete runs once, after the first DELETE of a version
	// answered: between two deletion groups of a run.
	afterFirstDelete func()
	// cancelAfterDeletes cancels the handler's context after that many
	// DELETE answers (0: never).
	cancelAfterDeletes int32
	deletes            atomic.Int32
	cancel             context.CancelFunc

	// Counts of what reached the simulator's REST API.
	gets, notModified, mutating, limited atomic.Int32
	// pacer, when set, paces the pruners' packages requests.
	pacer *pacing.Pacer
	// manifestReads counts manifest GETs that reached the registry.
	manifestReads atomic.Int32
	// unknownManifest (a digest) is answered 404 MANIFEST_UNKNOWN to the
	// pruners' registry reads.
	unknownManifest atomic.Value

	delMu             sync.Mutex
	firstDel, lastDel time.Time

	// useInventory gives the world's pruners an inventory (refusals,
	// marks); now, when set, is their clock.
	useInventory bool
	now          func() time.Time
}

// registryCounter counts manifest reads on their way to the registry.
type registryCounter struct{ w *pruneWorld }

func (c registryCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
		c.w.manifestReads.Add(1)
	}
	if d, ok := c.w.unknownManifest.Load().(string); ok && d != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+d) {
		// The registry lost this manifest: its version is still listed.
		body := `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`
		return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

const source = "https://github.com/acme/app"

func newPruneWorld(t testing.TB) *pruneWorld {
	return newPruneWorldLimits(t, ghsim.RateLimits{})
}

func newPruneWorldLimits(t testing.TB, limits ghsim.RateLimits) *pruneWorld {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{AppKey: appKey(), RateLimits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.SetQuiet(true)
	w := &pruneWorld{t: t, sim: sim}
	w.srv = simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	w.token = simtest.Org(t, sim, "acme", "alice", "app", ".github")
	if w.installation, err = sim.AddInstallation("acme", map[string]string{"metadata": "read", "contents": "read", "issues": "write"}); err != nil {
		t.Fatal(err)
	}
	w.pusher = sim.Pusher("alice", w.token)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey())})
	if w.app, err = githubapi.NewApp(githubapi.AppConfig{AppID: sim.AppID(), PrivateKey: keyPEM, BaseURL: w.srv.URL}); err != nil {
		t.Fatal(err)
	}
	w.nats = queuetest.Start(t, "", queuetest.Config())
	return w
}

// RoundTrip is the packages transport of the world's pruners: it runs
// the hooks.
func (w *pruneWorld) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != "":
		w.limited.Add(1)
	case r.Method == http.MethodGet && resp.StatusCode == http.StatusNotModified:
		w.notModified.Add(1)
	case r.Method == http.MethodGet:
		w.gets.Add(1)
	default:
		w.mutating.Add(1)
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/versions") && w.listings.Add(1) == 1 && w.afterFirstListing != nil {
		w.afterFirstListing()
	}
	if r.Method == http.MethodDelete && resp.StatusCode/100 == 2 {
		w.delMu.Lock()
		if w.firstDel.IsZero() {
			w.firstDel = time.Now()
		}
		w.lastDel = time.Now()
		w.delMu.Unlock()
		n := w.deletes.Add(1)
		if w.cancelAfterDeletes > 0 && n >= w.cancelAfterDeletes && w.cancel != nil {
			w.cancel()
		}
		if n == 1 && w.afterFirstDelete != nil {
			w.afterFirstDelete()
		}
	}
	return resp, nil
}

type reports struct {
	mu   sync.Mutex
	runs []jobs.PruneRun
}

func (r *reports) Report(_ context.Context, run jobs.PruneRun) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

func (r *reports) last(t *testing.T) jobs.PruneRun {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.runs) == 0 {
		t.Fatal("no run reported")
	}
	return r.runs[len(r.runs)-1]
}

func (w *pruneWorld) pruner(rep jobs.Reporter, paused bool, tokens string) *jobs.Pruner {
	w.t.Helper()
	toks, err := githubapi.ParsePackagesTokens(tokens, "")
	if err != nil {
		w.t.Fatal(err)
	}
	ctx := context.Background()
	js := w.nats.Queue.JS
	cache, err := registry.OpenKVCache(ctx, js, "manifests", 1)
	if err != nil {
		w.t.Fatal(err)
	}
	etags, err := githubapi.OpenKVETagStore(ctx, js, "etags", 1, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	runs, err := jobs.OpenKVRunStore(ctx, js, 1, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	var inv *inventory.Store
	if w.useInventory {
		if inv, err = inventory.Open(ctx, js, 1, w.now); err != nil {
			w.t.Fatal(err)
		}
	}
	var packagesTr http.RoundTripper = w
	if w.pacer != nil {
		packagesTr = w.pacer.Wrap(w)
	}
	access := &planner.Access{
		Tokens: toks, App: w.app, APIURL: w.srv.URL, RegistryURL: w.srv.URL,
		PackagesTransport: githubapi.NewTransport(packagesTr, githubapi.RetryPolicy{}, nil),
		RegistryTransport: registryCounter{w},
		Cache:             cache, ETags: etags, Now: w.now,
	}
	p, err := jobs.NewPruner(jobs.PruneConfig{
		Access: access, Runs: runs, Reporter: rep, Paused: paused, Inventory: inv,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *pruneWorld) file(repo, content string) {
	w.t.Helper()
	if err := w.sim.PutFile("acme", repo, "", ".github/pkgwarden.yml", []byte(content), "alice"); err != nil {
		w.t.Fatal(err)
	}
}

func (w *pruneWorld) image(note string) v1.Image {
	w.t.Helper()
	return simtest.Image(w.t, source, note)
}

// push pushes an image or index to acme/app, tags it, and backdates what
// the push created by age.
func (w *pruneWorld) push(x any, age time.Duration, tags ...string) string {
	w.t.Helper()
	return w.appPkg().Push(w.t, x, w.sim.Now().Add(-age), tags...)
}

// appPkg is package acme/app.
func (w *pruneWorld) appPkg() simtest.Package {
	return simtest.Package{Sim: w.sim, Pusher: w.pusher, Owner: "acme", Name: "app"}
}

func (w *pruneWorld) active() []ghsim.PackageVersion { return w.appPkg().Active() }

func (w *pruneWorld) activeDigests() []string {
	var out []string
	for _, v := range w.active() {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

func (w *pruneWorld) job() jobs.Job {
	return jobs.Job{Type: jobs.TypePrune, DeliveryID: "delivery-1", Reason: "registry_package published", QueuedAt: time.Now(),
		Target: webhook.Target{InstallationID: w.installation, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "app", Repository: "acme/app"}}
}

func index(imgs ...v1.Image) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		arch := []string{"amd64", "arm64", "s390x"}[i]
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": source}).(v1.ImageIndex)
}

const pruneRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, delete_tags: ["pr-*"], exclude_tags: ["latest"]}
`

func TestPruneOutcomes(t *testing.T) {
	tests := map[string]struct {
		file   string
		paused bool
		tokens string
		want   jobs.Outcome
		// deletes says whether the old untagged image goes.
		deletes bool
	}{
		"pruned":         {file: pruneRules, tokens: "acme=TOKEN", want: jobs.OutcomePruned, deletes: true},
		"dry_run":        {file: "dry_run: true\n" + pruneRules, tokens: "acme=TOKEN", want: jobs.OutcomeDryRun},
		"paused":         {file: pruneRules, paused: true, tokens: "acme=TOKEN", want: jobs.OutcomePaused},
		"no token":       {file: pruneRules, tokens: "other=TOKEN", want: jobs.OutcomeNoToken},
		"invalid config": {file: "rules:\n  - packages: [\"app\"]\n    prune: {untaged: true}\n", tokens: "acme=TOKEN", want: jobs.OutcomeInvalidConfig},
		"no file":        {tokens: "acme=TOKEN", want: jobs.OutcomeNothingToDo},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newPruneWorld(t)
			if tc.file != "" {
				w.file("app", tc.file)
			}
			old := w.push(w.image("old"), 3*day)
			w.push(w.image("v1"), 3*day, "v1")
			rep := &reports{}
			tokens := strings.ReplaceAll(tc.tokens, "TOKEN", w.token)
			if err := w.pruner(rep, tc.paused, tokens).Handle(context.Background(), w.job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.last(t)
			if run.Outcome != tc.want {
				t.Errorf("outcome = %s, want %s", run.Outcome, tc.want)
			}
			gone := !slices.Contains(w.activeDigests(), old)
			if gone != tc.deletes {
				t.Errorf("old image deleted = %t, want %t", gone, tc.deletes)
			}
			if got := len(run.Deleted) > 0; got != tc.deletes {
				t.Errorf("run.Deleted = %v, want deletions %t", run.Deleted, tc.deletes)
			}
			switch tc.want {
			case jobs.OutcomeDryRun, jobs.OutcomePaused:
				if len(run.Decision.Delete) != 1 || run.Decision.Delete[0].Version != old {
					t.Errorf("preview = %v, want the old image", run.Decision.Delete)
				}
				if run.Paused != tc.paused || run.DryRun == tc.paused {
					t.Errorf("paused %t dry run %t", run.Paused, run.DryRun)
				}
			case jobs.OutcomeNoToken:
				if !strings.Contains(run.Problem, "PKGWARDEN_PACKAGES_TOKENS=acme=") || strings.Contains(run.Problem, w.token) {
					t.Errorf("problem = %q", run.Problem)
				}
			case jobs.OutcomeInvalidConfig:
				if len(run.ConfigErrors) == 0 || run.ConfigErrors[0].Line != 3 || run.ConfigErrors[0].Repo != "acme/app" {
					t.Errorf("config errors = %v", run.ConfigErrors)
				}
			}
		})
	}
}

// TestPruneRefusedIsSkipped: GitHub refuses to delete a public version
// with more than 5,000 downloads; the run skips and reports it, deletes
// the rest, and succeeds (no retry).
func TestPruneRefusedIsSkipped(t *testing.T) {
	w := newPruneWorld(t)
	w.file("app", pruneRules)
	popular := w.push(w.image("popular"), 5*day)
	other := w.push(w.image("other"), 4*day)
	w.push(w.image("v1"), 3*day, "v1")
	if err := w.sim.SetPackage("acme", "container", "app", "public", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetDownloads("acme", "container", "app", ghsim.VersionRef{Name: popular}, 5001); err != nil {
		t.Fatal(err)
	}
	rep := &reports{}
	if err := w.pruner(rep, false, "acme="+w.token).Handle(context.Background(), w.job()); err != nil {
		t.Fatalf("handle: %v (a refusal must not fail the job)", err)
	}
	run := rep.last(t)
	if len(run.Skipped) != 1 || run.Skipped[0].Version != popular || !strings.Contains(run.Skipped[0].Reason, "5000 downloads") {
		t.Errorf("skipped = %+v, want the popular version with GitHub's reason", run.Skipped)
	}
	if len(run.Deleted) != 1 || run.Deleted[0].Version != other {
		t.Errorf("deleted = %+v, want the other version", run.Deleted)
	}
	if !slices.Contains(w.activeDigests(), popular) || slices.Contains(w.activeDigests(), other) {
		t.Errorf("active = %v", w.activeDigests())
	}
	deletes := w.deletes.Load()
	if deletes != 1 {
		t.Errorf("%d successful DELETEs, want 1", deletes)
	}
}

// TestPruneRecheck: what changes between the plan and the deletions
// saves a candidate: a new tag on it, or a new index referencing it.
func TestPruneRecheck(t *testing.T) {
	tests := map[string]struct {
		change func(w *pruneWorld, candidate v1.Image)
		reason string
	}{
		"tagged since the plan": {
			change: func(w *pruneWorld, c v1.Image) {
				if _, err := w.pusher.PushImage(context.Background(), "acme/app", c, "keep-me"); err != nil {
					w.t.Error(err)
				}
			},
			reason: "re-check: now tagged keep-me",
		},
		"referenced by a new index": {
			change: func(w *pruneWorld, c v1.Image) {
				if _, err := w.pusher.PushIndex(context.Background(), "acme/app", index(c, w.image("new-arm64")), "v2"); err != nil {
					w.t.Error(err)
				}
			},
			reason: "re-check: now referenced by new index sha256:",
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newPruneWorld(t)
			w.file("app", pruneRules)
			candidate := w.image("candidate")
			cd := w.push(candidate, 3*day)
			other := w.push(w.image("other"), 3*day)
			w.afterFirstListing = func() { tc.change(w, candidate) }
			rep := &reports{}
			if err := w.pruner(rep, false, "acme="+w.token).Handle(context.Background(), w.job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.last(t)
			if len(run.Kept) != 1 || run.Kept[0].Version != cd || !strings.HasPrefix(run.Kept[0].Reason, tc.reason) {
				t.Errorf("kept = %+v, want the candidate with %q", run.Kept, tc.reason)
			}
			active := w.activeDigests()
			if !slices.Contains(active, cd) || slices.Contains(active, other) {
				t.Errorf("candidate active %t, other active %t", slices.Contains(active, cd), slices.Contains(active, other))
			}
		})
	}
}

// TestPruneInterruptedRunFinishes: a worker stopped between two deletions
// (its context cancelled after the index went), the job run again: the
// index's children, which the fresh plan alone would keep (untagged
// versions are not pruned here), go too, and the run reports all three.
func TestPruneInterruptedRunFinishes(t *testing.T) {
	w := newPruneWorld(t)
	w.file("app", `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: false, delete_tags: ["pr-*"]}
`)
	amd, arm := w.image("amd64"), w.image("arm64")
	idx := w.push(index(amd, arm), 3*day, "pr-7")
	keep := w.push(w.image("untagged"), 3*day)
	w.push(w.image("v1"), 3*day, "v1")
	rep := &reports{}
	p := w.pruner(rep, false, "acme="+w.token)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.cancelAfterDeletes = cancel, 1
	err := p.Handle(ctx, w.job())
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: err = %v, want cancelled", err)
	}
	if n := w.deletes.Load(); n != 1 {
		t.Fatalf("first attempt deleted %d versions, want 1", n)
	}
	w.cancelAfterDeletes = 0
	// A newer job for the package (which replaced the first in the queue)
	// finishes the first run, under its id.
	second := w.job()
	second.DeliveryID = "delivery-2"
	if err := p.Handle(context.Background(), second); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	want := []string{keep}
	for _, v := range w.active() {
		if len(v.Tags) > 0 {
			want = append(want, v.Name)
		}
	}
	slices.Sort(want)
	if got := w.activeDigests(); !slices.Equal(got, want) {
		t.Errorf("active = %v, want %v (the untagged image and the tagged v1)", got, want)
	}
	run := rep.last(t)
	var deleted []string
	for _, e := range run.Deleted {
		deleted = append(deleted, e.Version)
	}
	amdD, _ := amd.Digest()
	armD, _ := arm.Digest()
	wantDeleted := []string{idx, amdD.String(), armD.String()}
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("run deleted %v, want %v in that order", deleted, wantDeleted)
	}
	if run.ID != "delivery-1" {
		t.Errorf("run id = %q, want the interrupted run's", run.ID)
	}
	// Reported, the run is over: the next job is a run of its own.
	third := w.job()
	third.DeliveryID = "delivery-3"
	if err := p.Handle(context.Background(), third); err != nil {
		t.Fatal(err)
	}
	if run := rep.last(t); run.ID != "delivery-3" || run.Outcome != jobs.OutcomeNothingToDo || len(run.Deleted) != 0 {
		t.Errorf("next run: id %q outcome %s deleted %v", run.ID, run.Outcome, run.Deleted)
	}
}

// TestPruneLastVersionIsSkipped: GitHub answers 400 to deleting the last
// version of a package; the run skips and reports it instead of failing
// the job again and again.
func TestPruneLastVersionIsSkipped(t *testing.T) {
	w := newPruneWorld(t)
	w.file("app", pruneRules)
	only := w.push(w.image("only"), 5*day)
	rep := &reports{}
	if err := w.pruner(rep, false, "acme="+w.token).Handle(context.Background(), w.job()); err != nil {
		t.Fatalf("handle: %v (a refusal must not fail the job)", err)
	}
	run := rep.last(t)
	if len(run.Skipped) != 1 || run.Skipped[0].Version != only || !strings.Contains(run.Skipped[0].Reason, "last version") {
		t.Errorf("skipped = %+v, want the only version with GitHub's reason", run.Skipped)
	}
	if len(run.Deleted) != 0 || !slices.Contains(w.activeDigests(), only) {
		t.Errorf("deleted = %v, active = %v", run.Deleted, w.activeDigests())
	}
}

// TestPruneRefusalRemembered: a version GitHub refused to delete is
// remembered, so the next runs keep it without asking and without letting
// it fill max_deletions_per_run; the memory expires, and a refused last
// version is asked again once the package gained a version.
func TestPruneRefusalRemembered(t *testing.T) {
	t.Run("downloads", func(t *testing.T) {
		w := newPruneWorld(t)
		w.useInventory = true
		var clock atomic.Int64 // hours ahead of real time
		w.now = func() time.Time { return time.Now().Add(time.Duration(clock.Load()) * time.Hour) }
		w.file("app", pruneRules)
		w.file(".github", "policy:\n  max_deletions_per_run: 1\n")
		popular := w.push(w.image("popular"), 5*day)
		other := w.push(w.image("other"), 4*day)
		w.push(w.image("v1"), 3*day, "v1")
		if err := w.sim.SetPackage("acme", "container", "app", "public", time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := w.sim.SetDownloads("acme", "container", "app", ghsim.VersionRef{Name: popular}, 5001); err != nil {
			t.Fatal(err)
		}
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		handle := func(delivery string) jobs.PruneRun {
			t.Helper()
			job := w.job()
			job.DeliveryID = delivery
			if err := p.Handle(context.Background(), job); err != nil {
				t.Fatalf("%s: %v", delivery, err)
			}
			return rep.last(t)
		}

		first := handle("delivery-1")
		if len(first.Skipped) != 1 || first.Skipped[0].Version != popular || len(first.Deleted) != 0 {
			t.Fatalf("first run: skipped %+v, deleted %+v, want the popular version refused and nothing deleted", first.Skipped, first.Deleted)
		}
		second := handle("delivery-2")
		if len(second.Deleted) != 1 || second.Deleted[0].Version != other {
			t.Errorf("second run deleted %+v, want the other version", second.Deleted)
		}
		// Still reported as skipped, in the words of the refused run, so an
		// unchanged report adds no comment; the DELETE count below shows it
		// was not asked again.
		if len(second.Skipped) != 1 || second.Skipped[0].Version != popular || second.Skipped[0].Reason != first.Skipped[0].Reason {
			t.Errorf("second run skipped %+v, want the popular version as the first run reported it", second.Skipped)
		}
		var kept string
		for _, e := range second.Decision.Keep {
			if e.Version == popular {
				kept = e.Reason
			}
		}
		if !strings.HasPrefix(kept, "GitHub refused to delete it on ") || !strings.Contains(kept, "5000 downloads") {
			t.Errorf("second plan keeps the popular version with %q, want the refusal with GitHub's message", kept)
		}
		if got := w.mutating.Load(); got != 2 {
			t.Errorf("%d DELETE requests after two runs, want 2 (one refused, one deleted)", got)
		}
		if active := w.activeDigests(); !slices.Contains(active, popular) || slices.Contains(active, other) {
			t.Errorf("active = %v", active)
		}

		clock.Store(25) // past RefusalMemory: the situation may have changed
		third := handle("delivery-3")
		if len(third.Skipped) != 1 || third.Skipped[0].Version != popular {
			t.Errorf("third run (a day later) skipped %+v, want the popular version asked again", third.Skipped)
		}
		if got := w.mutating.Load(); got != 3 {
			t.Errorf("%d DELETE requests after three runs, want 3", got)
		}
	})
	t.Run("last version", func(t *testing.T) {
		w := newPruneWorld(t)
		w.useInventory = true
		w.file("app", pruneRules)
		only := w.push(w.image("only"), 5*day)
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		for i, delivery := range []string{"delivery-1", "delivery-2"} {
			job := w.job()
			job.DeliveryID = delivery
			if err := p.Handle(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			if got := w.mutating.Load(); got != 1 {
				t.Fatalf("after run %d: %d DELETE requests, want 1 (the last version asked once)", i+1, got)
			}
		}
		w.push(w.image("fresh"), time.Minute) // too young to be a candidate
		job := w.job()
		job.DeliveryID = "delivery-3"
		if err := p.Handle(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		if run := rep.last(t); len(run.Deleted) != 1 || run.Deleted[0].Version != only {
			t.Errorf("after a push, deleted %+v, want the once-last version", run.Deleted)
		}
	})
}

// TestPruneNeverSplitsGroup: an index goes with all of its children in
// one run or not at all, under max_deletions_per_run, whether the plan or
// the job's own count (earlier attempts, their unfinished group) meets the
// cap. With untagged versions not pruned, a child left behind would stay
// for good.
func TestPruneNeverSplitsGroup(t *testing.T) {
	const tagRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: false, delete_tags: ["pr-*"]}
`
	t.Run("a group larger than the cap", func(t *testing.T) {
		t.Parallel()
		w := newPruneWorld(t)
		w.file("app", tagRules)
		w.file(".github", "policy:\n  max_deletions_per_run: 2\n")
		w.push(index(w.image("amd64"), w.image("arm64"), w.image("s390x")), 3*day, "pr-7")
		before := w.activeDigests()
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		for _, attempt := range []string{"first delivery", "redelivery"} {
			if err := p.Handle(context.Background(), w.job()); err != nil {
				t.Fatalf("%s: %v", attempt, err)
			}
			run := rep.last(t)
			if len(run.Deleted) != 0 || len(run.Decision.Delete) != 0 {
				t.Errorf("%s: deleted %v, planned %v, want nothing", attempt, run.Deleted, run.Decision.Delete)
			}
			for _, e := range run.Decision.Keep {
				if !strings.Contains(e.Reason, "exceed max_deletions_per_run 2: raise the cap") {
					t.Errorf("%s: %s kept with %q, want the cap named", attempt, e.Version, e.Reason)
				}
			}
		}
		if got := w.activeDigests(); !slices.Equal(got, before) {
			t.Errorf("active = %v, want all of %v", got, before)
		}
	})
	t.Run("an interrupted run and its redelivery", func(t *testing.T) {
		t.Parallel()
		w := newPruneWorld(t)
		w.file("app", tagRules)
		w.file(".github", "policy:\n  max_deletions_per_run: 3\n")
		a := w.image("a-amd64")
		idxA := w.push(index(a), 4*day, "pr-7")
		b := w.image("b-amd64")
		idxB := w.push(index(b), 3*day, "pr-8")
		rep := &reports{}
		p := w.pruner(rep, false, "acme="+w.token)
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel, w.cancelAfterDeletes = cancel, 1
		if err := p.Handle(ctx, w.job()); !errors.Is(err, context.Canceled) {
			t.Fatalf("first attempt: err = %v, want cancelled after deleting pr-7's index", err)
		}
		w.cancelAfterDeletes = 0
		// Redelivered: one deleted, pr-7's child left over (1 + 1), and
		// pr-8's group of 2 planned afresh would make 4 > 3.
		if err := p.Handle(context.Background(), w.job()); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
		run := rep.last(t)
		aD, _ := a.Digest()
		bD, _ := b.Digest()
		var deleted, deferred []string
		for _, e := range run.Deleted {
			deleted = append(deleted, e.Version)
		}
		for _, e := range run.Deferred {
			deferred = append(deferred, e.Version)
		}
		if want := []string{idxA, aD.String()}; !slices.Equal(deleted, want) {
			t.Errorf("run deleted %v, want %v", deleted, want)
		}
		if want := []string{idxB, bD.String()}; !slices.Equal(deferred, want) {
			t.Errorf("run deferred %v, want pr-8's whole group %v", deferred, want)
		}
		if got := w.deletes.Load(); got != 2 {
			t.Errorf("%d versions deleted, want 2", got)
		}
		want := []string{idxB, bD.String()}
		slices.Sort(want)
		if got := w.activeDigests(); !slices.Equal(got, want) {
			t.Errorf("active = %v, want pr-8 and its child %v", got, want)
		}
	})
}

// TestPruneRecheckBetweenGroups: what is pushed after the run's first
// deletion, well within RecheckEvery of the last full re-check, still
// saves a candidate of a later group: a new index listing it as a child,
// or a new signature hanging off it by tag.
func TestPruneRecheckBetweenGroups(t *testing.T) {
	tests := map[string]struct {
		change func(w *pruneWorld, candidate v1.Image)
		reason string
	}{
		"referenced by a new index": {
			change: func(w *pruneWorld, c v1.Image) {
				if _, err := w.pusher.PushIndex(context.Background(), "acme/app", index(c, w.image("new-arm64")), "v2"); err != nil {
					w.t.Error(err)
				}
			},
			reason: "re-check: now referenced by new index sha256:",
		},
		"signed by a new signature": {
			change: func(w *pruneWorld, c v1.Image) {
				d, err := c.Digest()
				if err != nil {
					w.t.Error(err)
					return
				}
				if _, err := w.pusher.PushImage(context.Background(), "acme/app", w.image("signature"), "sha256-"+d.Hex+".sig"); err != nil {
					w.t.Error(err)
				}
			},
			reason: "re-check: now referenced by new sig sha256:",
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newPruneWorld(t)
			w.file("app", pruneRules)
			first := w.push(w.image("first"), 4*day) // the oldest: deleted first
			candidate := w.image("candidate")
			cd := w.push(candidate, 3*day)
			w.afterFirstDelete = func() { tc.change(w, candidate) }
			rep := &reports{}
			if err := w.pruner(rep, false, "acme="+w.token).Handle(context.Background(), w.job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.last(t)
			if len(run.Deleted) != 1 || run.Deleted[0].Version != first {
				t.Errorf("deleted = %+v, want only the first version", run.Deleted)
			}
			if len(run.Kept) != 1 || run.Kept[0].Version != cd || !strings.HasPrefix(run.Kept[0].Reason, tc.reason) {
				t.Errorf("kept = %+v, want the candidate with %q", run.Kept, tc.reason)
			}
			if !slices.Contains(w.activeDigests(), cd) {
				t.Error("the candidate was deleted after something new referenced it")
			}
		})
	}
}

// TestPruneRecheckUnknownManifest: a version pushed during the run whose
// manifest the registry answers 404 for is listed and active, so what it
// references is unknown: the run deletes nothing more and says why.
func TestPruneRecheckUnknownManifest(t *testing.T) {
	w := newPruneWorld(t)
	w.file("app", pruneRules)
	first := w.push(w.image("first"), 4*day)
	second := w.push(w.image("second"), 3*day)
	w.afterFirstDelete = func() {
		d, err := w.pusher.PushImage(context.Background(), "acme/app", w.image("lost"), "v3")
		if err != nil {
			w.t.Error(err)
			return
		}
		w.unknownManifest.Store(d.String())
	}
	rep := &reports{}
	if err := w.pruner(rep, false, "acme="+w.token).Handle(context.Background(), w.job()); err != nil {
		t.Fatalf("handle: %v", err)
	}
	run := rep.last(t)
	if len(run.Deleted) != 1 || run.Deleted[0].Version != first {
		t.Errorf("deleted = %+v, want only the first version", run.Deleted)
	}
	if len(run.Kept) != 1 || run.Kept[0].Version != second || !strings.Contains(run.Kept[0].Reason, "is unknown to the registry") ||
		!strings.Contains(run.Kept[0].Reason, "nothing more is deleted this run") {
		t.Errorf("kept = %+v, want the second version with the unreadable manifest named", run.Kept)
	}
	if !slices.Contains(w.activeDigests(), second) {
		t.Error("the second version was deleted past an unreadable listed version")
	}
}
