package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// githubExamples holds GitHub's example payloads (octokit/webhooks),
// vendored with the simulator's descriptions of GitHub.
var githubExamples = filepath.Join("..", "internal", "ghsim", "testdata", "github", "webhooks", "examples")

// exampleOutcomes is what each of GitHub's example payloads becomes once
// adapted to the simulated world (adaptExample): the job the router
// queues ("type installation/owner/type/name" of its target), or
// "none: " and the router's (or the intake's) reason. Every file of the
// examples folder must be named here. {inst} is the installation's id.
var exampleOutcomes = map[string]string{
	// installation
	"installation/created.payload.json":                  "none: router: installation event needs no job",
	"installation/created.with-requester.payload.json":   "none: router: installation event needs no job",
	"installation/deleted.payload.json":                  "none: router: installation deleted; no inventory to clear",
	"installation/new_permissions_accepted.payload.json": "none: router: installation event needs no job",
	"installation/suspend.payload.json":                  "none: router: installation event needs no job",
	"installation/unsuspend.payload.json":                "none: router: installation event needs no job",
	// installation_repositories
	"installation_repositories/added.payload.json":   "none: router: installation event needs no job",
	"installation_repositories/removed.payload.json": "none: router: installation event needs no job",
	// issue_comment: none is on a report pkgwarden wrote.
	"issue_comment/created.1.payload.json":                 "none: router: not a report",
	"issue_comment/created.payload.json":                   "none: router: not a report",
	"issue_comment/created.with-installation.payload.json": "none: router: not a report",
	"issue_comment/created.with-organization.payload.json": "none: router: not a report",
	"issue_comment/deleted.payload.json":                   "none: router: not a report",
	"issue_comment/deleted.with-organization.payload.json": "none: router: not a report",
	"issue_comment/edited.payload.json":                    "none: router: not a report",
	"issue_comment/edited.with-organization.payload.json":  "none: router: not a report",
	// issues: as issue_comment; the (de)milestoned ones are pull requests.
	"issues/assigned.payload.json":                       "none: router: not a report",
	"issues/assigned.with-installation.payload.json":     "none: router: not a report",
	"issues/assigned.with-organization.payload.json":     "none: router: not a report",
	"issues/deleted.payload.json":                        "none: router: not a report",
	"issues/demilestoned.payload.json":                   "none: router: a pull request, not a report",
	"issues/demilestoned.with-organization.payload.json": "none: router: a pull request, not a report",
	"issues/edited.payload.json":                         "none: router: not a report",
	"issues/edited.with-organization.payload.json":       "none: router: not a report",
	"issues/labeled.payload.json":                        "none: router: not a report",
	"issues/labeled.with-organization.payload.json":      "none: router: not a report",
	"issues/locked.payload.json":                         "none: router: not a report",
	"issues/locked.with-organization.payload.json":       "none: router: not a report",
	"issues/milestoned.payload.json":                     "none: router: a pull request, not a report",
	"issues/milestoned.with-organization.payload.json":   "none: router: a pull request, not a report",
	"issues/opened.payload.json":                         "none: router: not a report",
	"issues/opened.with-empty-body.payload.json":         "none: router: not a report",
	"issues/opened.with-organization.payload.json":       "none: router: not a report",
	"issues/opened.with-transfer.payload.json":           "none: router: not a report",
	"issues/pinned.payload.json":                         "none: router: not a report",
	"issues/reopened.payload.json":                       "none: router: not a report",
	"issues/transferred.payload.json":                    "none: router: not a report",
	"issues/unassigned.payload.json":                     "none: router: not a report",
	"issues/unassigned.with-organization.payload.json":   "none: router: not a report",
	"issues/unlabeled.payload.json":                      "none: router: not a report",
	"issues/unlabeled.with-organization.payload.json":    "none: router: not a report",
	"issues/unlocked.payload.json":                       "none: router: not a report",
	"issues/unlocked.with-organization.payload.json":     "none: router: not a report",
	"issues/unpinned.payload.json":                       "none: router: not a report",
	// package: GitHub's docker example says package_type "npm" (and
	// ecosystem "docker"); the package type is package_type.
	"package/published.docker.payload.json": "prune {inst}/acme/npm/webapp",
	"package/published.npm.payload.json":    "prune {inst}/acme/npm/webapp",
	// ping: answered by the intake, never queued.
	"ping/payload.json":                   "none: intake answered 200",
	"ping/with-app_id.payload.json":       "none: intake answered 200",
	"ping/with-organization.payload.json": "none: intake answered 200",
	// pull_request: opened, reopened and synchronize queue the check, which
	// reads the changed files itself; other actions change nothing it checks.
	"pull_request/assigned.payload.json":                             "none: router: pull_request action needs no check",
	"pull_request/assigned.with-organization.payload.json":           "none: router: pull_request action needs no check",
	"pull_request/closed.payload.json":                               "none: router: pull_request action needs no check",
	"pull_request/closed.with-organization.payload.json":             "none: router: pull_request action needs no check",
	"pull_request/converted_to_draft.payload.json":                   "none: router: pull_request action needs no check",
	"pull_request/converted_to_draft.with-installation.payload.json": "none: router: pull_request action needs no check",
	"pull_request/converted_to_draft.with-organization.payload.json": "none: router: pull_request action needs no check",
	"pull_request/labeled.payload.json":                              "none: router: pull_request action needs no check",
	"pull_request/labeled.with-organization.payload.json":            "none: router: pull_request action needs no check",
	"pull_request/locked.payload.json":                               "none: router: pull_request action needs no check",
	"pull_request/locked.with-organization.payload.json":             "none: router: pull_request action needs no check",
	"pull_request/opened.payload.json":                               "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/opened.with-null-body.json":                        "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/opened.with-organization.payload.json":             "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/ready_for_review.payload.json":                     "none: router: pull_request action needs no check",
	"pull_request/ready_for_review.with-installation.payload.json":   "none: router: pull_request action needs no check",
	"pull_request/ready_for_review.with-organization.payload.json":   "none: router: pull_request action needs no check",
	"pull_request/reopened.payload.json":                             "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/reopened.with-organization.payload.json":           "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/review_request_removed.payload.json":               "none: router: pull_request action needs no check",
	"pull_request/review_requested.payload.json":                     "none: router: pull_request action needs no check",
	"pull_request/synchronize.payload.json":                          "config_check {inst}/acme/pull_request/Hello-World#2",
	"pull_request/unassigned.payload.json":                           "none: router: pull_request action needs no check",
	"pull_request/unassigned.with-organization.payload.json":         "none: router: pull_request action needs no check",
	"pull_request/unlabeled.payload.json":                            "none: router: pull_request action needs no check",
	"pull_request/unlabeled.with-organization.payload.json":          "none: router: pull_request action needs no check",
	"pull_request/unlocked.payload.json":                             "none: router: pull_request action needs no check",
	"pull_request/unlocked.with-organization.payload.json":           "none: router: pull_request action needs no check",
	// push: tag pushes and pushes that leave .github/pkgwarden.yml alone.
	"push/1.payload.json":                          "none: router: push not to the default branch, no job",
	"push/payload.json":                            "none: router: push not to the default branch, no job",
	"push/with-installation.payload.json":          "none: router: push not to the default branch, no job",
	"push/with-new-branch.payload.json":            "none: router: push leaves the configuration alone, no job",
	"push/with-no-username-committer.payload.json": "none: router: push leaves the configuration alone, no job",
	"push/with-organization.payload.json":          "none: router: push not to the default branch, no job",
	// registry_package: as package.
	"registry_package/published.docker.payload.json": "prune {inst}/acme/npm/webapp",
}

// captured is one log record of the router or the intake, with its
// delivery.
type captured struct{ delivery, msg, err string }

// logCapture is a slog handler that keeps every record with the
// delivery it concerns.
type logCapture struct {
	mu    *sync.Mutex
	recs  *[]captured
	attrs []slog.Attr
}

func newLogCapture() logCapture { return logCapture{mu: &sync.Mutex{}, recs: &[]captured{}} }

func (h logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (h logCapture) Handle(_ context.Context, r slog.Record) error {
	c := captured{msg: r.Message}
	take := func(a slog.Attr) bool {
		switch a.Key {
		case "delivery":
			c.delivery = a.Value.String()
		case "err":
			c.err = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		take(a)
	}
	r.Attrs(take)
	h.mu.Lock()
	*h.recs = append(*h.recs, c)
	h.mu.Unlock()
	return nil
}

func (h logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clone(h.attrs), as...)
	return h
}

func (h logCapture) WithGroup(string) slog.Handler { return h }

// last is the last record about delivery.
func (h logCapture) last(delivery string) (captured, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(*h.recs) - 1; i >= 0; i-- {
		if (*h.recs)[i].delivery == delivery {
			return (*h.recs)[i], true
		}
	}
	return captured{}, false
}

// exampleWorld is where the examples are pointed: the simulator's
// organization acme with the App installed, and a package of its.
type exampleWorld struct {
	installation int64
	owner, pkg   string
}

// adaptExample points one of GitHub's examples into the simulated world,
// changing only the installation id, the owner and the package's name:
// the installation's id (an installation object added where the example,
// a repository hook's delivery, has none: the App's deliveries always
// carry one); the owner, renamed everywhere it appears as a login or as
// the owner part of a full_name (the example's repository owner, its
// organization, its package's owner, its installation's account); the
// package object's name.
func adaptExample(w exampleWorld, event string, m map[string]any) {
	in, ok := m["installation"].(map[string]any)
	if !ok {
		in = map[string]any{}
		m["installation"] = in
	}
	in["id"] = w.installation
	owners := map[string]bool{}
	login := func(v any, path ...string) {
		o, _ := v.(map[string]any)
		for _, k := range path {
			o, _ = o[k].(map[string]any)
		}
		if l, ok := o["login"].(string); ok && l != "" {
			owners[l] = true
		}
	}
	login(m, "repository", "owner")
	login(m, "organization")
	login(m, "installation", "account")
	if event == "registry_package" || event == "package" {
		login(m, event, "owner")
		if p, ok := m[event].(map[string]any); ok {
			p["name"] = w.pkg
		}
	}
	renameOwners(m, owners, w.owner)
}

// renameOwners renames, under v, every login in owners to owner, and the
// owner part of every full_name.
func renameOwners(v any, owners map[string]bool, owner string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			s, isString := e.(string)
			switch {
			case isString && k == "login" && owners[s]:
				x[k] = owner
			case isString && k == "full_name":
				if o, name, ok := strings.Cut(s, "/"); ok && owners[o] {
					x[k] = owner + "/" + name
				}
			default:
				renameOwners(e, owners, owner)
			}
		}
	case []any:
		for _, e := range x {
			renameOwners(e, owners, owner)
		}
	}
}

// TestGitHubExamplesRoute feeds every example payload GitHub publishes
// for the events pkgwarden receives through the real intake (HTTP, both
// signatures as GitHub sends them) and the router on an embedded NATS, one
// at a time, and checks what each became against exampleOutcomes.
func TestGitHubExamplesRoute(t *testing.T) {
	ctx := context.Background()
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if _, err := sim.AddUser("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddOrg("acme", "alice"); err != nil {
		t.Fatal(err)
	}
	inst, err := sim.AddInstallation("acme", map[string]string{"packages": "read", "issues": "write", "contents": "read"})
	if err != nil {
		t.Fatal(err)
	}
	w := exampleWorld{installation: inst, owner: "acme", pkg: "webapp"}

	srv := queuetest.Start(t, "", queuetest.Config())
	logs := newLogCapture()
	logger := slog.New(logs)
	secret := sim.WebhookSecret()
	intake := httptest.NewServer(handlers.NewIntake(secret, srv.Queue, handlers.NewIntakeMetrics(prometheus.NewRegistry()), logger))
	t.Cleanup(intake.Close)
	rctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go NewRouter(srv.Queue, RouterConfig{OwnBotLogin: ghsim.AppSlug + "[bot]"}, logger).Run(rctx)

	var files []string
	err = filepath.WalkDir(githubExamples, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			rel, _ := filepath.Rel(githubExamples, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 80 {
		t.Fatalf("%d example files under %s: the vendored examples are missing", len(files), githubExamples)
	}
	got := map[string]string{}
	for i, file := range files {
		event, _, _ := strings.Cut(file, "/")
		b, err := os.ReadFile(filepath.Join(githubExamples, file))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		adaptExample(w, event, m)
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		id := "example-" + strconv.Itoa(i)
		req, err := http.NewRequest(http.MethodPost, intake.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature", ghsim.SignSHA1(secret, body))
		req.Header.Set("X-Hub-Signature-256", handlers.SignatureHeader([]byte(secret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			got[file] = fmt.Sprintf("none: intake answered %d", resp.StatusCode)
			continue
		}
		// The router records every delivery it is done with, a job
		// queued or not: the positive signal to read the outcome.
		testwait.For(t, file+" routed", 10*time.Second, func() bool {
			_, err := srv.Queue.Deliveries.Get(ctx, queue.Key(id))
			return err == nil
		})
		got[file] = exampleOutcome(t, srv.Queue, logs, id, inst)
	}
	for _, file := range files {
		want, ok := exampleOutcomes[file]
		if !ok {
			t.Errorf("%s: not in exampleOutcomes; it became %q", file, got[file])
			continue
		}
		if got[file] != want {
			t.Errorf("%s: became %q, want %q", file, got[file], want)
		}
	}
	for file := range exampleOutcomes {
		if !slices.Contains(files, file) {
			t.Errorf("exampleOutcomes names %s, which is no longer among the examples", file)
		}
	}
}

// exampleOutcome is what delivery id became: the jobs it queued, else the
// router's last word on it. The jobs stream is emptied after, so that the
// next example's job does not coalesce with this one's.
func exampleOutcome(t *testing.T, q *queue.Queue, logs logCapture, id string, inst int64) string {
	t.Helper()
	ctx := context.Background()
	info, err := q.Jobs.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for subject := range info.State.Subjects {
		m, err := q.Jobs.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			t.Fatalf("job on %s: %v", subject, err)
		}
		var j Job
		if err := json.Unmarshal(m.Data, &j); err != nil {
			t.Fatalf("job of %s: %v", id, err)
		}
		if j.DeliveryID == id {
			jobs = append(jobs, j.Type+" "+strings.Replace(j.Target.String(), strconv.FormatInt(inst, 10), "{inst}", 1))
		}
	}
	if err := q.Jobs.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if len(jobs) > 0 {
		sort.Strings(jobs)
		return strings.Join(jobs, ", ")
	}
	c, ok := logs.last(id)
	if !ok {
		return "none: nothing logged"
	}
	out := "none: " + c.msg
	if c.err != "" {
		out += " (" + c.err + ")"
	}
	return out
}
