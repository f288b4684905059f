package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// deliverRun forwards the last registry_package webhook to serve and waits
// until its prune run is recorded and every job is done: unlike deliver,
// it waits for a new run when the package had runs already.
func (w *e2e) deliverRun() {
	w.t.Helper()
	before := len(w.runs.snapshot())
	w.forwardLast(w.addr)
	testwait.For(w.t, "a new prune run", 30*time.Second, func() bool { return len(w.runs.snapshot()) > before })
	w.waitIdle()
}

// reportIssues are the report issues of package app in acme/app, and how
// many run comments each has.
func (w *e2e) reportIssues() ([]ghsim.Issue, []int) {
	w.t.Helper()
	out := w.issuesTitled("app", func(title string) bool {
		return title == report.Title(rules.Package{Owner: "acme", Type: "container", Name: "app"})
	})
	var comments []int
	for _, is := range out {
		n := 0
		for _, c := range is.Comments {
			if strings.Contains(c.Body, "<!-- pkgwarden:run ") {
				n++
			}
		}
		comments = append(comments, n)
	}
	return out, comments
}

// TestPruneForeignRepositoryFile: acme/other's file names package app
// (linked to acme/app) with rules that would delete its releases. Through
// the push webhook of that file and the registry_package webhook of app,
// only app's own rules apply: its release stays, and only what app's file
// plans is deleted.
func TestPruneForeignRepositoryFile(t *testing.T) {
	w := newE2E(t, nil)
	w.file("app", rules.Path, e2eRules)
	release := w.push(w.image("v1"), 5*cfgDay, "v1")
	old := w.push(w.image("old"), 4*cfgDay)
	w.dropHeld()

	// The foreign file, pushed through its webhook: its config job queues
	// no prune, app not being linked to acme/other.
	seq := w.jobsSeq()
	w.file("other", rules.Path, "rules:\n  - packages: [\"app\"]\n    type: container\n    prune: {untagged: true, delete_tags: [\"v*\"]}\n")
	w.forwardPushes()
	if n := w.idle(seq); n != 1 {
		t.Fatalf("the foreign file's push queued %d jobs, want 1 (its config job, no prune)", n)
	}
	if runs := w.runs.snapshot(); len(runs) != 0 {
		t.Fatalf("the foreign file's push ran %d prunes", len(runs))
	}

	// A publish of app: the prune follows app's file, not other's.
	w.push(w.image("young"), 10*time.Minute)
	if d := w.plan(); len(d.Delete) != 1 || d.Delete[0].Version != old {
		t.Errorf("the plan deletes %+v, want only the old image", d.Delete)
	}
	w.deliverRun()
	active := w.activeSet()
	if !active[release] {
		t.Error("the release v1 was deleted by another repository's rules")
	}
	if active[old] {
		t.Error("the old untagged image, which app's own rules delete, is still there")
	}
	w.pullable()
	runs := w.runs.snapshot()
	if len(runs) != 1 || len(runs[0].Deleted) != 1 || runs[0].Decision.Origin != "acme/app:"+rules.Path {
		t.Fatalf("runs %+v, want one deleting one version by acme/app's file", runs)
	}
	// Nothing of it lands in acme/other: no issue there.
	if list, err := w.sim.Issues("acme", "other"); err != nil || len(list) != 0 {
		t.Errorf("acme/other has issues %+v (%v)", list, err)
	}
}

// TestPruneChildrenBeforeTheirIndex: a multi-arch build pushes its
// platform images minutes before their index. A publish webhook whose
// prune runs while the index is not pushed yet deletes none of the
// children (younger than min_untagged_age), only the old image; once the
// index is pushed, its tag pulls with every platform.
func TestPruneChildrenBeforeTheirIndex(t *testing.T) {
	w := newE2E(t, nil)
	w.file("app", rules.Path, e2eRules)
	old := w.push(w.image("old"), 2*cfgDay)
	amd, arm := w.image("amd64"), w.image("arm64")
	children := []string{w.push(amd, 3*time.Minute), w.push(arm, 2*time.Minute)}

	if d := w.plan(); len(d.Delete) != 1 || d.Delete[0].Version != old {
		t.Errorf("the plan deletes %+v, want only the old image", d.Delete)
	}
	w.deliverRun() // the webhook of the arm64 child: the index is not pushed
	active := w.activeSet()
	for _, c := range children {
		if !active[c] {
			t.Errorf("child %s deleted before its index was pushed", c)
		}
	}
	if active[old] {
		t.Error("the old image was not deleted")
	}

	index := w.push(e2eIndex(amd, arm), time.Minute, "v2")
	w.deliverRun()
	active = w.activeSet()
	for _, c := range append(children, index) {
		if !active[c] {
			t.Errorf("%s deleted after the index was pushed", c)
		}
	}
	w.pullable()
	for _, r := range w.runs.snapshot() {
		for _, e := range r.Deleted {
			if e.Version != old {
				t.Errorf("run %s deleted %s", r.ID, e.Version)
			}
		}
	}
}

// TestReportThroughWebhooks: two publishes of app, each making a version
// deletable, write one report issue with two run comments; a third
// publish with nothing to delete adds no comment and no issue.
func TestReportThroughWebhooks(t *testing.T) {
	w := newE2E(t, nil)
	w.file("app", rules.Path, e2eRules)
	w.push(w.image("v1"), 5*cfgDay, "v1")
	first := w.push(w.image("old-1"), 4*cfgDay)
	w.deliverRun()

	second := w.push(w.image("old-2"), 3*cfgDay)
	w.deliverRun()
	issues, comments := w.reportIssues()
	if len(issues) != 1 || comments[0] != 2 {
		t.Fatalf("after two deleting runs: %d report issues, run comments %v; want 1 issue with 2", len(issues), comments)
	}
	is := issues[0]
	for _, d := range []string{first, second} {
		// The body shows the digest's first 12 hex digits.
		if short := strings.TrimPrefix(rules.ShortDigest(d), "sha256:"); !strings.Contains(is.Body, short) {
			t.Errorf("the body does not list %s as restorable:\n%s", short, is.Body)
		}
	}
	if n := len(report.ParseRestorable(is.Body)); n != 2 {
		t.Errorf("%d restorable entries, want 2:\n%s", n, is.Body)
	}

	// Nothing to delete: a young image.
	w.push(w.image("young"), 5*time.Minute)
	w.deliverRun()
	runs := w.runs.snapshot()
	if last := runs[len(runs)-1]; len(last.Deleted) != 0 {
		t.Fatalf("the third run deleted %+v", last.Deleted)
	}
	issues, comments = w.reportIssues()
	if len(issues) != 1 || issues[0].Number != is.Number || comments[0] != 2 {
		t.Fatalf("after a run with nothing to do: %d report issues, run comments %v; want issue #%d with 2", len(issues), comments, is.Number)
	}
	if issues[0].State != "open" {
		t.Errorf("the report issue is %s", issues[0].State)
	}
}

// TestPruneMissingTokenWithoutDotGithub: an owner whose .github takes no
// issues (as when it has none) and no packages token: the publish
// webhook's prune opens the missing-token issue in the package's
// repository, a second publish finds it again there, and a serve holding
// the token closes it.
func TestPruneMissingTokenWithoutDotGithub(t *testing.T) {
	w := newE2EWorld(t, ghsim.RateLimits{})
	off := false
	if err := w.sim.UpdateRepo("acme", rules.OwnerRepo, ghsim.RepoUpdate{HasIssues: &off}); err != nil {
		t.Fatal(err)
	}
	w.file("app", rules.Path, e2eRules)
	w.startServe(func(s *settings.Settings) { s.PackagesTokens = nil })
	for i, note := range []string{"first", "second"} {
		w.push(w.image(note), cfgDay)
		w.deliverRun()
		if got := w.tokenIssues("app"); len(got) != 1 || got[0].State != "open" {
			t.Fatalf("after publish %d without a token: missing-token issues in acme/app %+v, want one open", i+1, got)
		}
	}

	// The same world, a new serve (own NATS data) holding the token.
	w.q, w.addr = nil, ""
	w.startServe(func(s *settings.Settings) { s.DataDir = filepath.Join(w.dir, "data-with-token") })
	w.push(w.image("third"), cfgDay)
	w.deliverRun()
	got := w.tokenIssues("app")
	if len(got) != 1 || got[0].State != "closed" || len(got[0].Comments) != 1 {
		t.Fatalf("with the token: missing-token issues %+v, want one closed with a comment", got)
	}
}
