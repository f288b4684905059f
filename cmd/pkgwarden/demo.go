package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
)

const demoUsage = `Usage: pkgwarden demo [--json] [--verbose]

Runs the whole loop offline, with no setup: the GitHub simulator seeded with
an organisation (acme) and its messy container image and npm package,
pkgwarden serve wired to it (embedded NATS in a temporary dir, the App, the
organisation's packages token), then pushes a new build and publishes a new
npm pre-release so the simulator's signed webhooks reach serve, waits for
the prune jobs, runs a restore pass as a sweep would (the seeded v0.9.0
release, deleted by hand three days ago, comes back), and prints what was
deleted, kept and restored, with reasons, and the issues written. Everything is thrown away at exit.

Flags:
`

// demoEntry is one version in the demo's result, in the shape of
// `plan --json` entries plus the package.
type demoEntry struct {
	Package string   `json:"package"`
	ID      int64    `json:"id"`
	Version string   `json:"version"`
	Tags    []string `json:"tags"`
	Reason  string   `json:"reason"`
}

type demoIssue struct {
	Repository string `json:"repository"`
	Number     int    `json:"number"`
	Title      string `json:"title"`
	URL        string `json:"url"`
}

// demoResult is what `demo --json` prints.
type demoResult struct {
	Deleted  []demoEntry `json:"deleted"`
	Kept     []demoEntry `json:"kept"`
	Restored []demoEntry `json:"restored"`
	Skipped  []demoEntry `json:"skipped"`
	Issues   []demoIssue `json:"issues"`
}

// demoPacing is the default budget (600 points and 100 deletions a
// minute per token) with room for a burst: the demo's token has been
// quiet, so its dozen deletions need not be spread over seven seconds.
// At most 660 points go in any minute, under GitHub's (and the
// simulator's) 900.
var demoPacing = pacing.Config{Burst: 60, MutatingBurst: 12}

// runRecorder is the demo's reporter: it keeps every prune run.
type runRecorder struct {
	mu       sync.Mutex
	runs     []jobs.PruneRun
	restores []jobs.RestoreRun
}

func (r *runRecorder) Report(_ context.Context, run jobs.PruneRun) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

// RecordRestore keeps a restore run.
func (r *runRecorder) RecordRestore(_ context.Context, run jobs.RestoreRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restores = append(r.restores, run)
}

func (r *runRecorder) restoreSnapshot() []jobs.RestoreRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.restores)
}

func (r *runRecorder) snapshot() []jobs.PruneRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.runs)
}

// runDemo is `pkgwarden demo`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), demoUsage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, `print {"deleted","kept","restored","skipped","issues"} as JSON`)
	verbose := fs.Bool("verbose", false, "show serve's and the simulator's logs on stderr")
	timeout := fs.Duration("timeout", time.Minute, "give up when the jobs take longer than this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: demo takes no arguments, got %q", errUsage, fs.Args())
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return demoRun(ctx, logger, *timeout, func(_ *ghsim.Sim, res demoResult, h demoHeader) error {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("demo: write json: %w", err)
			}
			return nil
		}
		return writeDemoText(stdout, res, h)
	})
}

// demoRun runs the demo and calls done with the simulator (still up), the
// result and what to say about the run; tests inspect the simulator there.
func demoRun(ctx context.Context, logger *slog.Logger, timeout time.Duration, done func(*ghsim.Sim, demoResult, demoHeader) error) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "pkgwarden-demo-")
	if err != nil {
		return fmt.Errorf("demo: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	// The simulator, on loopback: REST API and registry on one listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	apiURL := "http://" + ln.Addr().String() + "/"
	regURL := "http://" + ln.Addr().String()
	sim, err := ghsim.New(ghsim.Options{APIURL: apiURL, RegistryURL: regURL, Logger: logger.With("component", "ghsim")})
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo: %w", err)
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/v2/", "/v2", "/token"} {
		mux.Handle(p, sim.RegistryHandler())
	}
	mux.Handle("/", sim.APIHandler())
	simSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(ln) }()
	defer func() {
		sim.Close()
		_ = simSrv.Close()
	}()
	demo, err := sim.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// One more piece of reality: the image is public and its pr-41 build
	// was pulled 6,000 times, so GitHub refuses to delete it; pkgwarden
	// skips it and says so.
	if err := demoPopular(sim, demo); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	keyPath := filepath.Join(dir, "app-key.pem")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sim.AppKey())})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("demo: write app key: %w", err)
	}

	// serve, in-process, wired to the simulator.
	s := settings.Settings{
		AppID: sim.AppID(), AppSlug: ghsim.AppSlug, PrivateKeyPath: keyPath,
		WebhookSecret:  sim.WebhookSecret(),
		PackagesTokens: settings.TokenMap{demo.Org: demo.Token},
		Listen:         "127.0.0.1:0", GitHubAPIURL: apiURL, RegistryURL: regURL, GitHubURL: apiURL,
		NATSReplicas: 1, DataDir: filepath.Join(dir, "data"),
		Roles: []string{settings.RoleWeb, settings.RoleWorker}, Workers: 2,
		SweepInterval: time.Hour, JobAttempts: 3, JobBackoff: time.Second,
		LeaseTTL: 10 * time.Second, DuplicateWindow: 10 * time.Minute,
		HTTPReadHeaderTimeout: 10 * time.Second, HTTPReadTimeout: 2 * time.Minute,
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("demo: settings: %w", err)
	}
	rec := &runRecorder{}
	ready := make(chan string, 1)
	queued := make(chan *queue.Queue, 1)
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() {
		served <- serve(serveCtx, s, serveOptions{
			Logger: logger.With("component", "serve"), Reporter: rec, Restores: rec, Pacing: &demoPacing,
			Ready: func(addr string) { ready <- addr },
			Queue: func(q *queue.Queue) { queued <- q },
		})
	}()
	defer func() {
		stopServe()
		<-served
	}()
	var q *queue.Queue
	var addr string
	for q == nil || addr == "" {
		select {
		case q = <-queued:
		case addr = <-ready:
		case err := <-served:
			served <- err
			return fmt.Errorf("demo: serve stopped: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("demo: serve did not start: %w", ctx.Err())
		}
	}
	sim.SetWebhookURL("http://" + addr + "/webhooks")

	// A new build and a new pre-release: each sends signed webhooks.
	source := strings.TrimSuffix(apiURL, "/") + "/web/" + demo.Repository
	img, err := ghsim.DemoImage(source, "build-new")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	newDigest, err := sim.Pusher(demo.Admin, demo.Token).PushImage(ctx, demo.Repository, img, "pr-58")
	if err != nil {
		return fmt.Errorf("demo: push new build: %w", err)
	}
	if _, err := sim.Publish(demo.Org, "npm", demo.NPMPackage, "1.2.0-alpha.3", ghsim.PublishOptions{
		Repository: demo.Repository, Prerelease: true, License: "MIT", Sender: demo.Admin,
	}); err != nil {
		return fmt.Errorf("demo: publish: %w", err)
	}
	if err := sim.WaitDeliveries(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	want := []string{demo.Org + "/container/webapp", demo.Org + "/npm/" + demo.NPMPackage}
	if err := waitIdle(ctx, q, rec, want); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, d := range sim.Deliveries() {
		if d.StatusCode/100 != 2 {
			return fmt.Errorf("demo: webhook %s %s was answered %q", d.Event, d.GUID, d.Status)
		}
	}
	// A restore pass over the packages, as a sweep queues it: the v0.9.0
	// release deleted by hand three days ago comes back.
	if err := demoRestorePass(ctx, q, rec, demo); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	res := summarize(rec.snapshot())
	res.Restored = restoredEntries(rec.restoreSnapshot())
	res.Issues, err = demoIssues(sim, apiURL, demo.Org, []string{"webapp", rules.OwnerRepo})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return done(sim, res, demoHeader{
		api: apiURL, serve: "http://" + addr, org: demo.Org, pushed: demo.Image + ":pr-58 (" + rules.ShortDigest(newDigest.String()) + ")",
		published: demo.NPMPackage + " 1.2.0-alpha.3", webhooks: webhookCounts(sim.Deliveries()), took: time.Since(start),
	})
}

// webhookCounts says how many deliveries of each event were sent.
func webhookCounts(ds []ghsim.Delivery) string {
	n := map[string]int{}
	for _, d := range ds {
		n[d.Event]++
	}
	events := make([]string, 0, len(n))
	for e := range n {
		events = append(events, e)
	}
	slices.Sort(events)
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = fmt.Sprintf("%d %s", n[e], e)
	}
	return strings.Join(parts, ", ")
}

// demoPopular makes the demo image public and its pr-41 version popular.
func demoPopular(sim *ghsim.Sim, demo ghsim.DemoInfo) error {
	if err := sim.SetPackage(demo.Org, "container", "webapp", "public", time.Time{}, time.Time{}); err != nil {
		return err
	}
	vs, err := sim.Versions(demo.Org, "container", "webapp")
	if err != nil {
		return err
	}
	for _, v := range vs {
		if slices.Contains(v.Tags, "pr-41") {
			return sim.SetDownloads(demo.Org, "container", "webapp", ghsim.VersionRef{ID: v.ID}, 6000)
		}
	}
	return errors.New("the demo seed has no pr-41 version")
}

// waitIdle waits until every package in want had a run and the queue is
// idle: no delivery waiting for the router, no job waiting or running
// (a job leaves the work queue only when acknowledged), no lease held.
func waitIdle(ctx context.Context, q *queue.Queue, rec *runRecorder, want []string) error {
	leases, err := q.JS.KeyValue(ctx, queue.BucketLeases)
	if err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		idle, err := queueIdle(ctx, q, leases)
		if err != nil {
			return err
		}
		if n, err := queue.CountMessages(ctx, q.DeadLetters); err == nil && n > 0 {
			return fmt.Errorf("%d jobs failed their last attempt (run with --verbose to see why)", n)
		}
		if idle && hasRuns(rec.snapshot(), want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jobs not done: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func queueIdle(ctx context.Context, q *queue.Queue, leases jetstream.KeyValue) (bool, error) {
	for _, s := range []jetstream.Stream{q.Webhooks, q.Jobs} {
		n, err := queue.CountMessages(ctx, s)
		if err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
	}
	keys, err := leases.ListKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("list leases: %w", err)
	}
	held := false
	for range keys.Keys() {
		held = true
	}
	return !held, nil
}

func hasRuns(runs []jobs.PruneRun, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(runs, func(r jobs.PruneRun) bool { return strings.EqualFold(r.Package.String(), w) }) {
			return false
		}
	}
	return true
}

// summarize merges the runs: every deletion and refusal of every run, and
// the verdicts of each package's last run on what is still there.
func summarize(runs []jobs.PruneRun) demoResult {
	res := demoResult{Deleted: []demoEntry{}, Kept: []demoEntry{}, Restored: []demoEntry{}, Skipped: []demoEntry{}, Issues: []demoIssue{}}
	gone := map[string]bool{}
	last := map[string]jobs.PruneRun{}
	var order []string
	for _, r := range runs {
		pkg := r.Package.String()
		if _, ok := last[pkg]; !ok {
			order = append(order, pkg)
		}
		last[pkg] = r
		for _, e := range r.Deleted {
			if key := pkg + "#" + strconv.FormatInt(e.ID, 10); !gone[key] {
				gone[key] = true
				res.Deleted = append(res.Deleted, demoEntryOf(pkg, e))
			}
		}
	}
	slices.Sort(order)
	for _, pkg := range order {
		r := last[pkg]
		seen := map[int64]bool{}
		add := func(list *[]demoEntry, e rules.Entry) {
			if seen[e.ID] || gone[pkg+"#"+strconv.FormatInt(e.ID, 10)] {
				return
			}
			seen[e.ID] = true
			*list = append(*list, demoEntryOf(pkg, e))
		}
		for _, e := range r.Skipped {
			add(&res.Skipped, e)
		}
		for _, e := range r.Kept {
			add(&res.Kept, e)
		}
		for _, e := range r.Deferred {
			add(&res.Kept, e)
		}
		// Candidates a run did not act on (dry run, paused) stay.
		if r.Outcome == jobs.OutcomeDryRun || r.Outcome == jobs.OutcomePaused {
			why := "dry run"
			if r.Outcome == jobs.OutcomePaused {
				why = "paused (PKGWARDEN_PAUSED)"
			}
			for _, e := range r.Decision.Delete {
				e.Reason = why + ": would delete, " + e.Reason
				add(&res.Kept, e)
			}
		}
		for _, e := range r.Decision.Keep {
			add(&res.Kept, e)
		}
	}
	return res
}

func demoEntryOf(pkg string, e rules.Entry) demoEntry {
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	return demoEntry{Package: pkg, ID: e.ID, Version: e.Version, Tags: tags, Reason: e.Reason}
}

// demoIssues lists the issues of the demo's repositories.
func demoIssues(sim *ghsim.Sim, apiURL, org string, repos []string) ([]demoIssue, error) {
	out := []demoIssue{}
	for _, r := range repos {
		issues, err := sim.Issues(org, r)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			full := org + "/" + r
			out = append(out, demoIssue{Repository: full, Number: is.Number, Title: is.Title,
				URL: strings.TrimSuffix(apiURL, "/") + "/" + full + "/issues/" + strconv.Itoa(is.Number)})
		}
	}
	return out, nil
}

type demoHeader struct {
	api, serve, org, pushed, published string
	webhooks                           string
	took                               time.Duration
}

func writeDemoText(w io.Writer, res demoResult, h demoHeader) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "pkgwarden demo: GitHub simulator at %s (organisation %s), pkgwarden serve at %s\n", h.api, h.org, h.serve)
	fmt.Fprintf(ew, "Pushed %s and published %s; signed webhooks delivered (%s), prune jobs and a restore pass done.\n", h.pushed, h.published, h.webhooks)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	section := func(title string, list []demoEntry) {
		fmt.Fprintf(tw, "\n%s (%d)\n", title, len(list))
		if len(list) == 0 {
			return
		}
		fmt.Fprintln(tw, "  PACKAGE\tID\tVERSION\tTAGS\tREASON")
		for _, e := range list {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", e.Package, e.ID, rules.ShortDigest(e.Version), displayTags(e.Tags), e.Reason)
		}
	}
	section("Deleted", res.Deleted)
	section("Kept", res.Kept)
	section("Skipped", res.Skipped)
	section("Restored", res.Restored)
	if err := tw.Flush(); err != nil && ew.err == nil {
		ew.err = err
	}
	fmt.Fprintf(ew, "\nIssues written (%d)\n", len(res.Issues))
	for _, is := range res.Issues {
		fmt.Fprintf(ew, "  %s#%d %s\n    %s\n", is.Repository, is.Number, is.Title, is.URL)
	}
	fmt.Fprintf(ew, "\nDone in %s. Nothing outside a temporary directory was touched; it is gone now.\n", h.took.Round(10*time.Millisecond))
	if ew.err != nil {
		return fmt.Errorf("demo: write: %w", ew.err)
	}
	return nil
}

// demoRestorePass queues one restore job per demo package, as the sweep
// does, and waits until the queue is idle again.
func demoRestorePass(ctx context.Context, q *queue.Queue, rec *runRecorder, demo ghsim.DemoInfo) error {
	inst := demo.InstallationID
	for _, p := range []struct{ typ, name string }{{"container", "webapp"}, {"npm", demo.NPMPackage}} {
		job := jobs.Job{Type: jobs.TypeRestore, Reason: "sweep", QueuedAt: time.Now().UTC(), Target: webhook.Target{
			InstallationID: inst, Owner: demo.Org, OwnerType: "Organization", PackageType: p.typ, PackageName: p.name, Repository: demo.Repository,
		}}
		if err := jobs.Publish(ctx, q, job); err != nil {
			return err
		}
	}
	return waitIdle(ctx, q, rec, nil)
}

// restoredEntries lists what the restore runs brought back.
func restoredEntries(runs []jobs.RestoreRun) []demoEntry {
	out := []demoEntry{}
	for _, r := range runs {
		for _, e := range r.Restored {
			tags := e.Tags
			if tags == nil {
				tags = []string{}
			}
			out = append(out, demoEntry{Package: r.Package.String(), ID: e.ID, Version: e.Version, Tags: tags, Reason: e.Reason + " (" + r.Trigger + ")"})
		}
	}
	return out
}
