package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
)

// forwardPushes sends every push webhook held at the gate to serve, signed
// as the simulator signed it, drops the other held deliveries, and waits
// until serve's router has processed each push.
func (w *e2e) forwardPushes() {
	w.t.Helper()
	if ids := w.forwardHeld(w.t, "push"); len(ids) == 0 {
		w.t.Fatal("no push webhook to deliver")
	}
}

// forwardHeld sends the webhooks held at the gate of the given events (all
// when none is given) to serve, in order, drops the others, and waits for
// the router to record each as processed, which it does after queueing its
// job. It returns their delivery ids.
func (w *e2e) forwardHeld(t *testing.T, events ...string) []string {
	t.Helper()
	ctx := context.Background()
	if err := w.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	held := w.held
	w.held = nil
	w.mu.Unlock()
	var ids []string
	for _, d := range held {
		if len(events) > 0 && !slices.Contains(events, d.header.Get("X-GitHub-Event")) {
			continue
		}
		req, err := http.NewRequest(http.MethodPost, "http://"+w.addr+"/webhooks", bytes.NewReader(d.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = d.header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s delivery answered %d", d.header.Get("X-GitHub-Event"), resp.StatusCode)
		}
		ids = append(ids, d.header.Get("X-GitHub-Delivery"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		testwait.For(t, "delivery "+id+" to be routed", time.Until(deadline), func() bool {
			_, err := w.q.Deliveries.Get(ctx, queue.Key(id))
			if err != nil && err != jetstream.ErrKeyNotFound && !strings.Contains(err.Error(), "not found") {
				t.Fatal(err)
			}
			return err == nil
		})
	}
	return ids
}

// jobsSeq is the last sequence of the jobs stream: every job ever queued.
func (w *e2e) jobsSeq() uint64 {
	w.t.Helper()
	info, err := w.q.Jobs.Info(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return info.State.LastSeq
}

// idle waits until no job waits or runs and the packages in want had a
// run. It returns how many jobs were queued since since (a jobs sequence).
func (w *e2e) idle(since uint64, want ...string) uint64 {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitIdle(ctx, w.q, w.runs, want); err != nil {
		w.t.Fatal(err)
	}
	return w.jobsSeq() - since
}

// issuesTitled are the issues of acme/repo whose title match accepts.
func (w *e2e) issuesTitled(repo string, match func(title string) bool) []ghsim.Issue {
	w.t.Helper()
	list, err := w.sim.Issues("acme", repo)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []ghsim.Issue
	for _, is := range list {
		if match(is.Title) {
			out = append(out, is)
		}
	}
	return out
}

// configIssues are the invalid-config issues of acme/repo.
func (w *e2e) configIssues(repo string) []ghsim.Issue {
	w.t.Helper()
	return w.issuesTitled(repo, func(title string) bool { return strings.HasPrefix(title, report.ConfigTitle) })
}

// dropHeld forgets the webhooks held at the gate (the registry_package
// ones of the set-up pushes: these tests are about pushes).
func (w *e2e) dropHeld() {
	w.t.Helper()
	if err := w.sim.WaitDeliveries(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.held = nil
	w.mu.Unlock()
}

const cfgDay = 24 * time.Hour

// TestConfigPushEndToEnd: pushes of .github/pkgwarden.yml through signed
// webhooks into serve. An invalid file opens one issue at once (no publish
// needed) quoting file, line, column and message; a second invalid push
// updates that issue; the fixing push closes it with a comment and prunes
// the repository's package under the new rules.
func TestConfigPushEndToEnd(t *testing.T) {
	w := newE2E(t, nil)
	old := w.push(w.image("old"), 4*cfgDay)
	release := w.push(w.image("v1"), 5*cfgDay, "v1")
	w.dropHeld()

	invalid := []string{
		"rules:\n  - packages: [\"app\"]\n    prune: {untaged: true}\n",
		"rules:\n  - packages: [\"app\"]\n    type: container\n    prune:\n      untagged: true\n      older_than: 3 weeks\n",
	}
	for i, content := range invalid {
		seq := w.jobsSeq()
		w.file("app", rules.Path, content)
		w.forwardPushes()
		if n := w.idle(seq); n != 1 {
			t.Fatalf("invalid push %d queued %d jobs, want 1 (the config job, no prune)", i+1, n)
		}
		issues := w.configIssues("app")
		if len(issues) != 1 {
			t.Fatalf("after invalid push %d: %d invalid-config issues, want 1: %+v", i+1, len(issues), issues)
		}
		is := issues[0]
		if is.State != "open" {
			t.Errorf("after invalid push %d: issue #%d is %s", i+1, is.Number, is.State)
		}
		_, err := rules.Decode(rules.Path, []byte(content))
		var errs rules.ErrorList
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("test file %d is not invalid: %v", i+1, err)
		}
		for _, e := range errs {
			for _, want := range []string{"acme/app:" + rules.Path, fmt.Sprintf("line %d, column %d", e.Line, e.Column), e.Msg} {
				if !strings.Contains(is.Body, want) {
					t.Errorf("after invalid push %d: issue body lacks %q:\n%s", i+1, want, is.Body)
				}
			}
		}
		if i > 0 && strings.Contains(is.Body, "untaged") {
			t.Errorf("the issue still quotes the first push's error:\n%s", is.Body)
		}
		if runs := w.runs.snapshot(); len(runs) != 0 {
			t.Errorf("an invalid push ran %d prunes", len(runs))
		}
	}
	first := w.configIssues("app")[0].Number

	seq := w.jobsSeq()
	w.file("app", rules.Path, e2eRules)
	w.forwardPushes()
	if n := w.idle(seq, "acme/container/app"); n != 2 {
		t.Fatalf("fixing push queued %d jobs, want 2 (config, then the prune of app)", n)
	}
	issues := w.configIssues("app")
	if len(issues) != 1 || issues[0].Number != first || issues[0].State != "closed" {
		t.Fatalf("after the fix: want issue #%d closed, got %+v", first, issues)
	}
	cs := issues[0].Comments
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "valid again") {
		t.Errorf("the closed issue's comments: %+v", cs)
	}
	active := w.activeSet()
	if active[old] || !active[release] {
		t.Errorf("after the fix: old active %t (want false), v1 active %t (want true)", active[old], active[release])
	}
	runs := w.runs.snapshot()
	if len(runs) != 1 || !strings.Contains(runs[0].Reason, "configuration changed") || len(runs[0].Deleted) != 1 {
		t.Errorf("after the fix, want one prune run deleting one version, got %+v", runs)
	}
	w.pullable()
}

// TestConfigPushRouting: which pushes queue a config job, and what it
// leads to.
func TestConfigPushRouting(t *testing.T) {
	w := newE2E(t, nil)
	old := w.push(w.image("old"), 4*cfgDay)
	w.push(w.image("v1"), 5*cfgDay, "v1")
	if _, err := w.sim.AddRepo("acme", "removed", ghsim.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	w.file("removed", rules.Path, e2eRules)
	w.dropHeld()

	tests := map[string]struct {
		repo, branch, path string
		remove             bool
		content            string
		// jobs is how many jobs the push leads to: the config job, and a
		// prune per package the file governs.
		jobs uint64
		// pruned: the package app is pruned after the push.
		pruned bool
	}{
		"file elsewhere on the default branch":    {repo: "app", path: "README.md", content: "hello", jobs: 0},
		"config on another branch":                {repo: "app", branch: "dev", path: rules.Path, content: e2eRules, jobs: 0},
		"config of a repository without packages": {repo: "other", path: rules.Path, content: e2eRules, jobs: 1},
		"config removed":                          {repo: "removed", path: rules.Path, remove: true, jobs: 1},
		"owner's defaults":                        {repo: ".github", path: rules.Path, content: strings.Replace(e2eRules, "packages: [\"app\"]", "packages: [\"*\"]", 1), jobs: 2, pruned: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w.t = t
			before, seq := len(w.runs.snapshot()), w.jobsSeq()
			var err error
			if tc.remove {
				err = w.sim.DeleteFile("acme", tc.repo, tc.branch, tc.path, "alice")
			} else {
				err = w.sim.PutFile("acme", tc.repo, tc.branch, tc.path, []byte(tc.content+"\n# "+name+"\n"), "alice")
			}
			if err != nil {
				t.Fatal(err)
			}
			w.forwardPushes()
			var want []string
			if tc.pruned {
				want = append(want, "acme/container/app")
			}
			if n := w.idle(seq, want...); n != tc.jobs {
				t.Errorf("%d jobs queued, want %d", n, tc.jobs)
			}
			if tc.pruned {
				if w.activeSet()[old] {
					t.Error("the owner's new defaults did not prune app")
				}
			} else {
				if runs := w.runs.snapshot(); len(runs) != before {
					t.Errorf("%d prunes ran, want none", len(runs)-before)
				}
			}
			if got := w.configIssues(tc.repo); len(got) != 0 {
				t.Errorf("a valid push opened %+v", got)
			}
		})
	}
}
