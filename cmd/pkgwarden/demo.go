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
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/termtext"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
	"github.com/pkgwarden/pkgwarden/queue"
)

const demoUsage = `Usage: pkgwarden demo [--json | --keep-running] [--show-issues] [--verbose]

Runs the whole loop offline, with no setup: the GitHub simulator seeded with
an organisation (acme) and its messy container image and npm package,
pkgwarden serve wired to it (embedded NATS in a temporary dir, the App, the
organisation's packages token), then pushes a new build and publishes a new
npm pre-release so the simulator's signed webhooks reach serve, waits for
the prune jobs, has the scheduler sweep twice at once (the seeded v0.9.0
release, deleted by hand three days ago, comes back), and then @alice, the
organisation's admin, comments "/pkgwarden restore <id>" on the image's
report issue for the deleted pr-57 build, which comes back, and the bot
answers. Each step is printed as it happens; a recap of what was deleted,
refused, restored and kept, and of the issues written, ends the story.
Everything is thrown away at exit (or at Ctrl-C with --keep-running, which
leaves the issue URLs open on a read-only view of each issue).

With --json, only the result is printed, as one document; a version
deleted by the prune and brought back by the undo is listed under both
"deleted" and "restored", each with its reason: both happened.

Flags:
`

// demoPacing is the default budget (600 points and 100 deletions a
// minute per token) with room for a burst: the demo's token has been
// quiet, so its dozen deletions need not be spread over seven seconds.
// At most 660 points go in any minute, under GitHub's (and the
// simulator's) 900.
var demoPacing = pacing.Config{Burst: 60, MutatingBurst: 12}

// runRecorder is the demo's reporter: it keeps every prune run.
type runRecorder struct {
	mu       sync.Mutex
	runs     []prune.Run
	restores []restore.Run
}

func (r *runRecorder) Report(_ context.Context, run prune.Run) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

// RecordRestore keeps a restore run.
func (r *runRecorder) RecordRestore(_ context.Context, run restore.Run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restores = append(r.restores, run)
}

func (r *runRecorder) restoreSnapshot() []restore.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.restores)
}

func (r *runRecorder) snapshot() []prune.Run {
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
	keep := fs.Bool("keep-running", false, "leave the simulator and serve up after the story, with their URLs and a token, until Ctrl-C")
	showIssues := fs.Bool("show-issues", false, "print the text of the issues written (their markdown, with comments) before the recap")
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
	if *keep && *asJSON {
		return fmt.Errorf("%w: demo: --keep-running and --json do not go together", errUsage)
	}
	if *showIssues && *asJSON {
		return fmt.Errorf("%w: demo: --show-issues and --json do not go together (the issues are in the JSON's \"issues\")", errUsage)
	}
	// The steps go to stdout as they happen; --json prints the result
	// alone.
	progress := stdout
	if *asJSON {
		progress = io.Discard
	}
	return demoRun(ctx, logger, *timeout, progress, func(_ *ghsim.Sim, res demoResult, h demoHeader) error {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("demo: write json: %w", err)
			}
			return nil
		}
		if err := writeDemoText(stdout, res, h, demoText{showIssues: *showIssues, keepRunning: *keep}); err != nil {
			return err
		}
		if *keep {
			return keepRunning(ctx, stdout, h)
		}
		return nil
	})
}

// demoRun runs the demo, telling each step on progress as it happens,
// and calls done with the simulator (still up), the result and what to
// say about the run; tests inspect the simulator there.
func demoRun(ctx context.Context, logger *slog.Logger, timeout time.Duration, progress io.Writer, done func(*ghsim.Sim, demoResult, demoHeader) error) error {
	start := time.Now()
	say := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }
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
	say("pkgwarden demo: a GitHub simulator at %s and pkgwarden serve, on loopback,\nin a temporary directory. Nothing real is touched.\n", apiURL)
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
	say("→ seeding the simulator: organisation acme, its rules, the pkgwarden App installed …")
	demo, err := demoworld.Seed(ctx, sim)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// One more piece of reality: the image is public and its pr-41 build
	// was pulled 6,000 times, so GitHub refuses to delete it; pkgwarden
	// skips it and says so.
	if err := demoPopular(sim, demo); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, p := range []struct{ typ, name, what string }{
		{"container", "webapp", "a signed multi-arch release, untagged and pr-* builds"},
		{"npm", demo.NPMPackage, "releases and pre-releases"},
	} {
		vs, err := sim.Versions(demo.Org, p.typ, p.name)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		listed, gone := 0, 0
		for _, v := range vs {
			switch {
			case v.Purged: // GitHub no longer lists it
			case v.Deleted && !demoBrokenChild(demo, v.Name):
				gone++
				fallthrough
			default:
				listed++
			}
		}
		note := ""
		if gone > 0 {
			note = fmt.Sprintf(", %d deleted by hand", gone)
		}
		say("  %s/%s/%s: %d versions (%s%s)", demo.Org, p.typ, p.name, listed, p.what, note)
		if p.typ == "container" && len(demo.Broken) > 0 {
			say("  %s", demoBrokenLine(demo.Broken))
		}
	}
	say("  rules: %s:.github/pkgwarden.yml; policy and defaults: %s/.github", demo.Repository, demo.Org)
	keyPath := filepath.Join(dir, "app-key.pem")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sim.AppKey())})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("demo: write app key: %w", err)
	}

	// serve, in-process, wired to the simulator.
	say("→ starting pkgwarden serve (embedded NATS JetStream, 2 workers) …")
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
	served, err := startInProcess(ctx, s, serveOptions{
		Logger: logger.With("component", "serve"), Reporter: rec, Restores: rec, Pacing: &demoPacing,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() { _ = served.Stop() }()
	q, addr := served.Queue, served.Addr
	sim.SetWebhookURL("http://" + addr + "/webhooks")

	// A new build and a new pre-release: each sends signed webhooks.
	source := strings.TrimSuffix(apiURL, "/") + "/web/" + demo.Repository
	img, err := ghsim.DemoImage(source, "build-new")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	published := demo.NPMPackage + " 1.2.0-alpha.3"
	say("→ @%s pushes %s:pr-58 and publishes %s …", demo.Admin, demo.Image, published)
	if _, err := sim.Pusher(demo.Admin, demo.Token).PushImage(ctx, demo.Repository, img, "pr-58"); err != nil {
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
	say("  GitHub sent %s webhooks, signed; serve checked them and queued a prune job per package", webhookCounts(sim.Deliveries()))
	want := []string{demo.Org + "/container/webapp", demo.Org + "/npm/" + demo.NPMPackage}
	say("→ pruning %s (list, apply the rules, delete, report) …", strings.Join(want, " and "))
	if err := waitIdle(ctx, q, rec, want); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, d := range sim.Deliveries() {
		if d.StatusCode/100 != 2 {
			return fmt.Errorf("demo: webhook %s %s was answered %q", d.Event, d.GUID, d.Status)
		}
	}
	// Each package's first run: the webhooks may coalesce into one run or
	// two, and a second one may come after the heal its first queued;
	// the first is the same every time.
	pruned := summarize(firstRuns(rec.snapshot()))
	for _, c := range countsOf(pruned) {
		say("  %s: %s", c.Package, c)
	}
	// A sweep, as the scheduler's leader runs it every interval: the
	// v0.9.0 release deleted by hand three days ago comes back.
	say("→ sweeping every package, as the scheduler does each hour (twice, at once) …")
	if err := demoSweep(ctx, s, q, served.Access, rec, logger.With("component", "scheduler")); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sayRestored := func(from int) int {
		all := restoredEntries(rec.restoreSnapshot())
		for _, e := range all[min(from, len(all)):] {
			say("  restored %s of %s: %s", entryName(e), e.Package, oneLineText(e.Reason))
		}
		return len(all)
	}
	told := sayRestored(0)
	res := summarize(rec.snapshot())
	for _, c := range countsOf(res) {
		if before := countsFor(pruned, c.Package); c.Deleted == before.Deleted {
			say("  %s: nothing more to delete (%s)", c.Package, c)
		} else {
			say("  %s: %s", c.Package, c)
		}
	}

	// Undo through a comment: alice, an admin of acme, asks on the
	// image's report for the pr-57 build back.
	undo, err := demoUndo(ctx, sim, q, rec, demo, apiURL, res, say)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sayRestored(told)
	say("  pkgwarden answered @%s on %s#%d", demo.Admin, demo.Repository, undo.Issue)
	res.Restored = restoredEntries(rec.restoreSnapshot())
	res.Issues, err = demoIssues(sim, apiURL, demo.Org, []string{"webapp", rules.OwnerRepo})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	texts, err := demoIssueTexts(sim, demo.Org, []string{"webapp", rules.OwnerRepo})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return done(sim, res, demoHeader{
		api: apiURL, serve: "http://" + addr, org: demo.Org, took: time.Since(start),
		registry: regURL, token: demo.Token, admin: demo.Admin, repo: demo.Repository, undo: undo, issues: texts,
		broken: demo.Broken,
	})
}

// demoBrokenChild says whether digest is a platform another tool deleted
// from one of the seed's broken releases.
func demoBrokenChild(demo demoworld.Info, digest string) bool {
	return slices.ContainsFunc(demo.Broken, func(b demoworld.Broken) bool { return b.Digest == digest })
}

// demoBrokenLine says which releases of the seed another tool broke.
func demoBrokenLine(broken []demoworld.Broken) string {
	var parts []string
	for _, b := range broken {
		state := "deleted, still restorable"
		if b.Gone {
			state = "gone for good"
		}
		parts = append(parts, fmt.Sprintf("%s lacks %s (%s)", b.Tag, b.Platform, state))
	}
	return "broken by another tool: " + strings.Join(parts, ", ")
}

// demoUndoInfo is what the demo's undo comment did.
type demoUndoInfo struct {
	Issue   int       // the report issue commented on
	Comment string    // alice's comment
	Entry   demoEntry // the version asked back
	Answer  string    // the bot's reply
}

// demoUndo posts "/pkgwarden restore <id>" as the organisation's admin
// on the container report for the deleted pr-57 build (an untagged build
// when pr-57 was not deleted), through the REST API so the simulator
// sends the signed issue_comment webhook, and waits for the restore job
// and the bot's answer.
func demoUndo(ctx context.Context, sim *ghsim.Sim, q *queue.Queue, rec *runRecorder, demo demoworld.Info, apiURL string, res demoResult, say func(string, ...any)) (demoUndoInfo, error) {
	var u demoUndoInfo
	pkg := demo.Org + "/container/webapp"
	i := slices.IndexFunc(res.Deleted, func(e demoEntry) bool { return e.Package == pkg && slices.Contains(e.Tags, "pr-57") })
	if i < 0 {
		i = slices.IndexFunc(res.Deleted, func(e demoEntry) bool { return e.Package == pkg })
	}
	if i < 0 {
		return u, errors.New("undo: the prune deleted nothing of the image")
	}
	u.Entry = res.Deleted[i]
	repoName := strings.TrimPrefix(demo.Repository, demo.Org+"/")
	issues, err := sim.Issues(demo.Org, repoName)
	if err != nil {
		return u, fmt.Errorf("undo: %w", err)
	}
	for _, is := range issues {
		if strings.HasPrefix(is.Title, "pkgwarden: container") {
			u.Issue = is.Number
		}
	}
	if u.Issue == 0 {
		return u, errors.New("undo: no report issue for the image")
	}
	before := len(issues[slices.IndexFunc(issues, func(is ghsim.Issue) bool { return is.Number == u.Issue })].Comments)
	u.Comment = fmt.Sprintf("/pkgwarden restore %d", u.Entry.ID)
	say("→ @%s comments %q on %s#%d: restoring %s (as @%s asked) …", demo.Admin, u.Comment, demo.Repository, u.Issue, entryName(u.Entry), demo.Admin)
	body, err := json.Marshal(map[string]string{"body": u.Comment})
	if err != nil {
		return u, err
	}
	url := fmt.Sprintf("%srepos/%s/issues/%d/comments", apiURL, demo.Repository, u.Issue)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return u, fmt.Errorf("undo: comment: %w", err)
	}
	req.Header.Set("Authorization", "token "+demo.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return u, fmt.Errorf("undo: comment on %s#%d: %w", demo.Repository, u.Issue, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return u, fmt.Errorf("undo: comment on %s#%d: %s", demo.Repository, u.Issue, resp.Status)
	}
	if err := sim.WaitDeliveries(ctx); err != nil {
		return u, fmt.Errorf("undo: %w", err)
	}
	// The restore job and the bot's answer: wait for a new comment by
	// the bot after alice's.
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if err := waitIdle(ctx, q, rec, nil); err != nil {
			return u, fmt.Errorf("undo: %w", err)
		}
		issues, err := sim.Issues(demo.Org, repoName)
		if err != nil {
			return u, fmt.Errorf("undo: %w", err)
		}
		for _, is := range issues {
			if is.Number != u.Issue {
				continue
			}
			for _, c := range is.Comments[min(before, len(is.Comments)):] {
				if c.User == sim.BotLogin() {
					u.Answer = c.Body
				}
			}
		}
		if u.Answer != "" {
			return u, nil
		}
		select {
		case <-ctx.Done():
			return u, fmt.Errorf("undo: no answer from the bot on %s#%d: %w", demo.Repository, u.Issue, ctx.Err())
		case <-t.C:
		}
	}
}

// demoIssueTexts returns the issues of the demo's repositories, with
// their text and comments.
func demoIssueTexts(sim *ghsim.Sim, org string, repos []string) ([]demoIssueText, error) {
	var out []demoIssueText
	for _, r := range repos {
		issues, err := sim.Issues(org, r)
		if err != nil {
			return nil, err
		}
		for _, is := range issues {
			out = append(out, demoIssueText{Repository: org + "/" + r, Issue: is})
		}
	}
	return out, nil
}

type demoIssueText struct {
	Repository string
	ghsim.Issue
}

// keepRunning prints where to browse the demo and waits for ctx (Ctrl-C).
func keepRunning(ctx context.Context, w io.Writer, h demoHeader) error {
	api := strings.TrimSuffix(h.api, "/")
	ew := &termtext.ErrWriter{W: w}
	fmt.Fprintf(ew, `
Still running; Ctrl-C stops everything.

  GitHub API (simulated)  %[1]s
  registry                %[2]s
  pkgwarden serve         %[3]s (POST /webhooks, GET /healthz, /readyz, /metrics)
  token of @%-12[4]s  %[5]s
  report issue (HTML)     %[1]s/%[6]s/issues/%[7]d

  export TOKEN=%[5]s
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/repos/%[6]s/issues
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/repos/%[6]s/issues/%[7]d/comments
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/orgs/%[8]s/packages/container/webapp/versions?state=deleted"
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/orgs/%[8]s/packages/container/webapp/versions
  curl -s %[3]s/metrics | grep '^pkgwarden_'
`, api, h.registry, h.serve, h.admin, h.token, h.repo, h.undo.Issue, h.org)
	if ew.Err != nil {
		return fmt.Errorf("demo: write: %w", ew.Err)
	}
	<-ctx.Done()
	return nil
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
func demoPopular(sim *ghsim.Sim, demo demoworld.Info) error {
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

// firstRuns is each package's first run of runs, in their order.
func firstRuns(runs []prune.Run) []prune.Run {
	var out []prune.Run
	seen := map[string]bool{}
	for _, r := range runs {
		if k := strings.ToLower(r.Package.String()); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func hasRuns(runs []prune.Run, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(runs, func(r prune.Run) bool { return strings.EqualFold(r.Package.String(), w) }) {
			return false
		}
	}
	return true
}

// demoSweep opens the scheduler serve's scheduler role would run and has
// it sweep, at once (Scheduler.SweepNow, without leadership or the spread
// over the interval): installations listed as the App, their
// packages with the owner's token and from the inventory, a prune and a
// restore job queued for each. It waits until the queue is idle again.
func demoSweep(ctx context.Context, s settings.Settings, q *queue.Queue, access *planner.Access, rec *runRecorder, logger *slog.Logger) error {
	// Through the running serve's way to GitHub, as its scheduler role's.
	sched, err := newScheduler(ctx, s, q, "demo", access, logger)
	if err != nil {
		return fmt.Errorf("open scheduler: %w", err)
	}
	if sched == nil {
		return errors.New("open scheduler: the App is not configured")
	}
	// Two sweeps, as two intervals would run them. A package's prune and
	// restore jobs of one sweep run in either order (each waits for the
	// other's lease); the second sweep's prune always finds v0.9.0 back,
	// so the report ends the same whichever ran first.
	for i := range 2 {
		n, err := sched.SweepNow(ctx)
		if err != nil {
			return fmt.Errorf("sweep %d: %w", i+1, err)
		}
		logger.InfoContext(ctx, "demo: sweep queued", "sweep", i+1, "jobs", n)
		if err := waitIdle(ctx, q, rec, nil); err != nil {
			return fmt.Errorf("sweep %d: %w", i+1, err)
		}
	}
	return nil
}
