package report_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/report/reporttest"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// world is the simulator served over real HTTP with the app installed on
// the organisation acme (owner olga, member mia), and a Reporter whose
// clock the test moves.
type world struct {
	sim  *ghsim.Sim
	srv  *httptest.Server
	inst int64
	rep  *report.Reporter
	app  *githubapi.App

	mu  sync.Mutex
	now time.Time
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func newWorld(t *testing.T) *world { t.Helper(); return newWorldWithout(t) }

// newWorldWithout is newWorld without the repositories named in skip
// (e.g. an owner with no .github repository).
func newWorldWithout(t *testing.T, skip ...string) *world {
	t.Helper()
	// GitHub's secondary limits (900 points a minute) are off: some tests
	// write hundreds of comments to set the scene. Pacing is tested in
	// internal/pacing.
	off, err := ratelimit.Parse("off")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := ghsim.New(ghsim.Options{RateLimits: off})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.APIHandler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	sim.SetURLs(srv.URL, "http://registry.invalid")
	must(t, func() error { _, err := sim.AddUser("olga"); return err }())
	must(t, func() error { _, err := sim.AddUser("mia"); return err }())
	must(t, func() error { _, err := sim.AddOrg("acme", "olga"); return err }())
	must(t, sim.AddOrgMember("acme", "mia", false))
	for _, r := range []struct {
		name string
		o    ghsim.RepoOptions
	}{{"webapp", ghsim.RepoOptions{}}, {".github", ghsim.RepoOptions{}}, {"quiet", ghsim.RepoOptions{NoIssues: true}}} {
		if slices.Contains(skip, r.name) {
			continue
		}
		if _, err := sim.AddRepo("acme", r.name, r.o); err != nil {
			t.Fatal(err)
		}
	}
	inst, err := sim.AddInstallation("acme", map[string]string{"contents": "read", "issues": "write"})
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sim.AppKey())})
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: sim.AppID(), PrivateKey: key, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{sim: sim, srv: srv, inst: inst, app: app, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	w.rep = report.New(app, w.clock, nil, report.WithBot(sim.BotLogin()), report.WithSeal(report.NewSeal([]byte("test secret"))))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// issues returns the issues of acme/repo.
func (w *world) issues(t *testing.T, repo string) []ghsim.Issue {
	t.Helper()
	is, err := w.sim.Issues("acme", repo)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// only returns the single issue of acme/repo, failing on duplicates.
func (w *world) only(t *testing.T, repo string) ghsim.Issue {
	t.Helper()
	is := w.issues(t, repo)
	if len(is) != 1 {
		t.Fatalf("acme/%s has %d issues, want exactly 1: %+v", repo, len(is), titles(is))
	}
	return is[0]
}

// reportRun reports run id, which deleted n versions ("old") of webapp.
func (w *world) reportRun(t *testing.T, id string, n int) {
	t.Helper()
	_, err := w.rep.Report(context.Background(), w.runOf(id, entries(0, n, "old"), nil))
	must(t, err)
}

// reported is reportRun, then the single issue of acme/webapp.
func (w *world) reported(t *testing.T, id string, n int) ghsim.Issue {
	t.Helper()
	w.reportRun(t, id, n)
	return w.only(t, "webapp")
}

// comments counts the comments on the single issue of acme/webapp that
// contain s.
func (w *world) comments(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range w.only(t, "webapp").Comments {
		if strings.Contains(c.Body, s) {
			n++
		}
	}
	return n
}

func titles(is []ghsim.Issue) []string {
	var out []string
	for _, i := range is {
		out = append(out, fmt.Sprintf("#%d %s (%s)", i.Number, i.Title, i.State))
	}
	return out
}

// chatter adds n comments by olga to acme/webapp#num.
func (w *world) chatter(t *testing.T, num, n int) {
	t.Helper()
	gh := w.userClient(t, "olga")
	for i := 0; i < n; i++ {
		_, _, err := gh.Issues.CreateComment(context.Background(), "acme", "webapp", num, &github.IssueComment{Body: github.String(fmt.Sprintf("chatter %d", i))})
		must(t, err)
	}
}

// userClient acts as a person with a classic token (to tick boxes, close
// issues by hand).
func (w *world) userClient(t *testing.T, login string) *github.Client {
	t.Helper()
	tok, err := w.sim.AddClassicToken(login, "repo")
	if err != nil {
		t.Fatal(err)
	}
	gh, err := githubapi.NewGitHubClient(&http.Client{Transport: bearer{tok: tok}}, w.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return gh
}

type bearer struct {
	tok string
	// webEditor sends as GitHub's web editor does (ghsim.WebEditorHeader).
	webEditor bool
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "token "+b.tok)
	if b.webEditor {
		r.Header.Set(ghsim.WebEditorHeader, "web")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// webEditorClient is userClient writing through GitHub's web editor:
// bodies come back with "\r\n" line endings.
func (w *world) webEditorClient(t *testing.T, login string) *github.Client {
	t.Helper()
	tok, err := w.sim.AddClassicToken(login, "repo")
	if err != nil {
		t.Fatal(err)
	}
	gh, err := githubapi.NewGitHubClient(&http.Client{Transport: bearer{tok: tok, webEditor: true}}, w.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return gh
}

var webapp = rules.Package{Owner: "acme", Type: "container", Name: "webapp", Repository: "webapp"}

func digest(n int) string { return fmt.Sprintf("sha256:%064x", n) }

func entries(from, n int, reason string, tags ...string) []rules.Entry {
	var out []rules.Entry
	for i := from; i < from+n; i++ {
		out = append(out, rules.Entry{ID: int64(1000 + i), Version: digest(i), Tags: tags, Reason: reason})
	}
	return out
}

// runOf builds a real (not dry) run that deleted del and kept keep.
func (w *world) runOf(id string, del, keep []rules.Entry) report.Run {
	return report.Run{
		ID: id, Installation: w.inst, Package: webapp,
		Report: rules.Report{Labels: []string{"pkgwarden", "cleanup"}, Assignees: []string{"mia"}},
		Decision: rules.Decision{
			Package: webapp, Origin: "acme/webapp:.github/pkgwarden.yml", Rule: 0,
			Delete: del, Keep: keep,
		},
		Deleted: del,
	}
}

func TestReportAcrossRuns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	keep := entries(100, 3, "newest 3 untagged")

	res, err := w.rep.Report(ctx, w.runOf("run-1", entries(0, 2, "untagged, older than 14d"), keep))
	must(t, err)
	if !res.Created || !res.Commented {
		t.Fatalf("first run: %+v, want created and commented", res)
	}
	if res.Issue.Repository != "acme/webapp" || res.Issue.Title != "pkgwarden: container acme/webapp" || res.Issue.URL == "" {
		t.Fatalf("issue %+v", res.Issue)
	}
	is := w.only(t, "webapp")
	if is.User != w.sim.BotLogin() {
		t.Errorf("author %q, want the bot", is.User)
	}
	if strings.Join(is.Labels, ",") != "pkgwarden,cleanup" || strings.Join(is.Assignees, ",") != "mia" {
		t.Errorf("labels %v assignees %v", is.Labels, is.Assignees)
	}
	if got := report.ParseRestorable(is.Body); len(got) != 2 {
		t.Fatalf("restorable after run 1: %+v", got)
	}

	// A second run deleting more: same issue, body rewritten, one more comment.
	w.advance(time.Hour)
	res, err = w.rep.Report(ctx, w.runOf("run-2", entries(2, 3, "untagged, older than 14d"), keep))
	must(t, err)
	if res.Created || !res.Updated || !res.Commented || res.Issue.Number != is.Number {
		t.Fatalf("second run: %+v", res)
	}
	is = w.only(t, "webapp")
	if len(is.Comments) != 2 {
		t.Fatalf("%d comments after two runs, want 2", len(is.Comments))
	}
	got := report.ParseRestorable(is.Body)
	if len(got) != 5 || got[0].ID != 1004 || got[4].ID != 1000 {
		t.Fatalf("restorable after run 2, want 5 newest first: %+v", got)
	}
	// The body shows the digest shortened; the id is what restores.
	if !got[0].DeletedAt.Equal(w.clock()) || got[0].Version != digest(4)[:len("sha256:")+12]+"…" {
		t.Errorf("newest entry %+v", got[0])
	}

	// The same run redelivered: nothing new.
	res, err = w.rep.Report(ctx, w.runOf("run-2", entries(2, 3, "untagged, older than 14d"), keep))
	must(t, err)
	if res.Created || res.Updated || res.Commented {
		t.Fatalf("redelivered run 2: %+v, want nothing written", res)
	}
	// A run that changed nothing: no comment, body untouched.
	before := w.only(t, "webapp")
	res, err = w.rep.Report(ctx, w.runOf("run-3", nil, keep))
	must(t, err)
	if res.Updated || res.Commented {
		t.Fatalf("idle run: %+v, want nothing written", res)
	}
	after := w.only(t, "webapp")
	if len(after.Comments) != 2 || after.Body != before.Body || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("idle run changed the issue: %d comments", len(after.Comments))
	}
}

// A job killed after commenting but before acknowledging runs again with
// the same run id: it must find its comment among the last ones, even when
// the issue has more than one page of comments.
func TestSameRunIDOneComment(t *testing.T) {
	tests := map[string]struct{ otherComments int }{
		"fresh issue":        {0},
		"three pages before": {250},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			num := w.reported(t, "run-0", 1).Number
			w.chatter(t, num, tc.otherComments)
			run := w.runOf("job-42", entries(1, 2, "old"), nil)
			first, err := w.rep.Report(ctx, run)
			must(t, err)
			// The redelivered job: its body write and comment are both done.
			second, err := w.rep.Report(ctx, run)
			must(t, err)
			if !first.Commented || second.Commented {
				t.Fatalf("first %+v second %+v", first, second)
			}
			if n := w.comments(t, "job-42"); n != 1 {
				t.Fatalf("%d comments for job-42, want 1", n)
			}
		})
	}
}

func TestLongBodyStaysUnderLimit(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// 600 deletions, more than the default max_deletions_per_run (500),
	// all listed: folded, none dropped.
	res, err := w.rep.Report(ctx, w.runOf("600", entries(20000, 600, "untagged, older than 14d", "pr-1234", "sha-abcdef0"), nil))
	must(t, err)
	is := w.only(t, "webapp")
	if n := utf8.RuneCountInString(is.Body); n >= report.MaxBodyChars {
		t.Fatalf("body has %d characters", n)
	}
	if l := report.ParseRestorable(is.Body); len(l) != 600 || !strings.Contains(is.Body, "<details><summary>580 older deletions</summary>") || strings.Contains(is.Body, "no longer listed") {
		t.Fatalf("%d of 600 entries listed, body folded %t, dropped some %t", len(l), strings.Contains(is.Body, "<details>"), strings.Contains(is.Body, "no longer listed"))
	}
	// Two more runs of 300: the 1,200 entries do not fit; the newest stay.
	for i := range 2 {
		w.advance(time.Hour)
		_, err = w.rep.Report(ctx, w.runOf(fmt.Sprint("300-", i), entries(21000+300*i, 300, "untagged, older than 14d", "pr-1234", "sha-abcdef0"), nil))
		must(t, err)
	}
	if l := report.ParseRestorable(w.only(t, "webapp").Body); len(l) < 600 || l[0].ID != 22599 {
		t.Fatalf("%d entries listed after 1,200 deletions, newest %d", len(l), l[0].ID)
	}

	w = newWorld(t)
	del := entries(0, 5000, "untagged, older than 14d", "pr-1", "sha-abcdef")
	res, err = w.rep.Report(ctx, w.runOf("big", del, entries(6000, 2000, "tagged")))
	must(t, err)
	if !res.Created || !res.Commented {
		t.Fatalf("%+v", res)
	}
	is = w.only(t, "webapp")
	if n := utf8.RuneCountInString(is.Body); n >= report.MaxBodyChars {
		t.Fatalf("body has %d characters", n)
	}
	if n := utf8.RuneCountInString(is.Comments[0].Body); n >= report.MaxBodyChars {
		t.Fatalf("comment has %d characters", n)
	}
	if !strings.Contains(is.Body, "<details>") || !strings.Contains(is.Body, "no longer listed") {
		t.Error("long body is neither folded nor says it dropped entries")
	}
	listed := report.ParseRestorable(is.Body)
	if len(listed) < 600 || len(listed) >= 5000 {
		t.Fatalf("%d entries listed, want at least 600", len(listed))
	}
	// Another big run keeps it under the limit, newest entries first.
	w.advance(time.Hour)
	_, err = w.rep.Report(ctx, w.runOf("big-2", entries(10000, 5000, "untagged"), nil))
	must(t, err)
	is = w.only(t, "webapp")
	if n := utf8.RuneCountInString(is.Body); n >= report.MaxBodyChars {
		t.Fatalf("second body has %d characters", n)
	}
	if l := report.ParseRestorable(is.Body); l[0].ID < 10000 {
		t.Fatalf("newest listed entry %d is from the first run", l[0].ID)
	}
}

// TestRestoreWindowAndTicks: a box ticked by hand stays ticked through
// rewrites; restored versions leave the list (a run's Restored, or
// MarkRestored), and the rest 30 days after their deletion. The person
// ticks through the API ("\n") or through GitHub's web editor, which sends
// the whole body back with "\r\n" line endings: pkgwarden reads both
// alike, and what it writes back is its own format, "\n" only, with no
// line or blank line added or lost.
func TestRestoreWindowAndTicks(t *testing.T) {
	bodies := map[bool][]string{}
	for _, webEditor := range []bool{false, true} {
		t.Run(map[bool]string{false: "LF", true: "web editor (CRLF)"}[webEditor], func(t *testing.T) {
			bodies[webEditor] = testRestoreWindowAndTicks(t, webEditor)
		})
	}
	if lf, crlf := bodies[false], bodies[true]; !slices.Equal(lf, crlf) {
		for i := range min(len(lf), len(crlf)) {
			if lf[i] != crlf[i] {
				t.Errorf("step %d: after an edit in the web editor pkgwarden wrote\n%q\nwhere after the same edit through the API it wrote\n%q", i, crlf[i], lf[i])
			}
		}
	}
}

// testRestoreWindowAndTicks returns the bodies pkgwarden wrote, step by
// step, with the simulator's URL taken out.
func testRestoreWindowAndTicks(t *testing.T, webEditor bool) []string {
	w := newWorld(t)
	ctx := context.Background()
	is := w.reported(t, "r1", 3)
	var bodies []string
	// written is the body pkgwarden last wrote, which is in its own
	// format: "\n" only.
	written := func(step string) string {
		t.Helper()
		body := w.only(t, "webapp").Body
		if strings.Contains(body, "\r") {
			t.Errorf("%s: the body pkgwarden wrote has a \\r: %q", step, body)
		}
		bodies = append(bodies, strings.ReplaceAll(body, w.srv.URL, "URL"))
		return body
	}

	// Someone ticks the newest box by hand; the next rewrite keeps it ticked.
	ticked := strings.Replace(is.Body, "- [ ] ", "- [x] ", 1)
	gh := w.userClient(t, "olga")
	if webEditor {
		gh = w.webEditorClient(t, "olga")
	}
	edited, _, err := gh.Issues.Edit(ctx, "acme", "webapp", is.Number, &github.IssueRequest{Body: github.String(ticked)})
	must(t, err)
	if got := strings.Contains(edited.GetBody(), "\r\n"); got != webEditor {
		t.Fatalf("the edited body has CRLF: %t, want %t", got, webEditor)
	}
	if got := report.NewlyTicked(is.Body, edited.GetBody()); len(got) != 1 || got[0] != 1002 {
		t.Fatalf("newly ticked %v, want [1002]", got)
	}
	w.advance(10 * 24 * time.Hour)
	_, err = w.rep.Report(ctx, w.runOf("r2", entries(5, 1, "old"), nil))
	must(t, err)
	body := written("run r2")
	if got := report.Ticked(body); len(got) != 1 || got[0] != 1002 {
		t.Fatalf("ticked after rewrite %v, want [1002]", got)
	}
	// Restored versions leave; then 30 days after their deletion the others do.
	run := w.runOf("r3", nil, nil)
	run.Restored = []int64{1002}
	_, err = w.rep.Report(ctx, run)
	must(t, err)
	if got := ids(report.ParseRestorable(written("run r3"))); got != "1005,1001,1000" {
		t.Fatalf("after restore: %s", got)
	}
	// The web editor again, then a restore job's MarkRestored.
	_, _, err = gh.Issues.Edit(ctx, "acme", "webapp", is.Number, &github.IssueRequest{Body: github.String(w.only(t, "webapp").Body)})
	must(t, err)
	_, err = w.rep.MarkRestored(ctx, w.inst, webapp, nil, []int64{1001})
	must(t, err)
	if got := ids(report.ParseRestorable(written("MarkRestored"))); got != "1005,1000" {
		t.Fatalf("after MarkRestored: %s", got)
	}
	w.advance(20 * 24 * time.Hour)
	res, err := w.rep.Report(ctx, w.runOf("r4", nil, nil))
	must(t, err)
	if got := ids(report.ParseRestorable(written("run r4"))); got != "1005" || !res.Updated || res.Commented {
		t.Fatalf("after 30 days: %s, %+v", got, res)
	}
	return bodies
}

func ids(l []report.Restorable) string {
	var s []string
	for _, e := range l {
		s = append(s, fmt.Sprint(e.ID))
	}
	return strings.Join(s, ",")
}

func TestClosedIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := w.rep.Report(ctx, w.runOf("r1", entries(0, 1, "old"), nil))
	must(t, err)
	_, _, err = w.userClient(t, "olga").Issues.Edit(ctx, "acme", "webapp", res.Issue.Number, &github.IssueRequest{State: github.String("closed")})
	must(t, err)
	// Nothing changed: it stays closed.
	res, err = w.rep.Report(ctx, w.runOf("r2", nil, nil))
	must(t, err)
	if res.Reopened || w.only(t, "webapp").State != "closed" {
		t.Fatalf("idle run reopened: %+v", res)
	}
	// Something deleted: the same issue is reopened, its list kept.
	res, err = w.rep.Report(ctx, w.runOf("r3", entries(1, 1, "old"), nil))
	must(t, err)
	is := w.only(t, "webapp")
	if !res.Reopened || is.State != "open" || len(report.ParseRestorable(is.Body)) != 2 {
		t.Fatalf("after a deleting run: %+v, state %s", res, is.State)
	}
}

func TestWhereReportsGo(t *testing.T) {
	tests := map[string]struct {
		repository string
		wantRepo   string
	}{
		"linked":          {"webapp", "webapp"},
		"full name":       {"acme/webapp", "webapp"},
		"unlinked":        {"", ".github"},
		"issues disabled": {"quiet", ".github"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			run := w.runOf("r1", entries(0, 1, "old"), nil)
			run.Package.Repository = tc.repository
			res, err := w.rep.Report(ctx, run)
			must(t, err)
			if res.Issue.Repository != "acme/"+tc.wantRepo {
				t.Fatalf("issue in %s, want acme/%s", res.Issue.Repository, tc.wantRepo)
			}
			is := w.only(t, tc.wantRepo)
			if is.Title != "pkgwarden: container acme/webapp" || len(is.Comments) != 1 {
				t.Fatalf("issue %q with %d comments", is.Title, len(is.Comments))
			}
			// Found again there: no duplicate.
			_, err = w.rep.Report(ctx, run)
			must(t, err)
			w.only(t, tc.wantRepo)
		})
	}
}

func TestNowhere(t *testing.T) {
	w := newWorld(t)
	off := false
	must(t, w.sim.UpdateRepo("acme", ".github", ghsim.RepoUpdate{HasIssues: &off}))
	run := w.runOf("r1", entries(0, 1, "old"), nil)
	run.Package.Repository = "quiet"
	_, err := w.rep.Report(context.Background(), run)
	if err == nil || !strings.Contains(err.Error(), "acme/quiet") || !errors.Is(err, report.ErrNowhere) {
		t.Fatalf("err %v, want ErrNowhere naming both repositories", err)
	}
}

func TestInvalidConfigIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	errs := rules.ErrorList{
		{Repo: "acme/webapp", File: ".github/pkgwarden.yml", Line: 3, Column: 5, Field: "rules[0].prune.keep_untagged", Msg: "must be a number"},
		{Repo: "acme/webapp", File: ".github/pkgwarden.yml", Line: 7, Column: 3, Field: "rules[0].colour", Msg: "unknown key"},
	}
	res, err := w.rep.InvalidConfig(ctx, w.inst, "acme", "webapp", errs)
	must(t, err)
	if !res.Created {
		t.Fatalf("%+v", res)
	}
	res, err = w.rep.InvalidConfig(ctx, w.inst, "acme", "webapp", errs)
	must(t, err)
	if res.Created || res.Updated {
		t.Fatalf("same errors again: %+v", res)
	}
	is := w.only(t, "webapp")
	for _, want := range []string{"`acme/webapp:.github/pkgwarden.yml` line 3, column 5](https://github.com/acme/webapp/blob/HEAD/.github/pkgwarden.yml#L3): `rules[0].prune.keep_untagged`: must be a number", "line 7, column 3"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, is.Body)
		}
	}
	if is.Title != report.ConfigTitle || strings.Join(is.Labels, ",") != "pkgwarden" {
		t.Errorf("title %q labels %v", is.Title, is.Labels)
	}
	res, err = w.rep.InvalidConfig(ctx, w.inst, "acme", "webapp", errs[1:])
	must(t, err)
	if !res.Updated || strings.Contains(w.only(t, "webapp").Body, "line 3") {
		t.Fatalf("fewer errors: %+v", res)
	}

	res, err = w.rep.ConfigFixed(ctx, w.inst, "acme", "webapp", "Fixed by 0123abc.")
	must(t, err)
	is = w.only(t, "webapp")
	if !res.Closed || is.State != "closed" || len(is.Comments) != 1 || !strings.Contains(is.Comments[0].Body, "Fixed by 0123abc.") {
		t.Fatalf("after the fix: %+v, state %s, comments %d", res, is.State, len(is.Comments))
	}
	res, err = w.rep.ConfigFixed(ctx, w.inst, "acme", "webapp", "again")
	must(t, err)
	if res.Closed || len(w.only(t, "webapp").Comments) != 1 {
		t.Fatalf("second fix: %+v", res)
	}
	// Broken again: the same issue comes back.
	res, err = w.rep.InvalidConfig(ctx, w.inst, "acme", "webapp", errs)
	must(t, err)
	if !res.Reopened || w.only(t, "webapp").State != "open" {
		t.Fatalf("broken again: %+v", res)
	}
}

func TestInvalidConfigIssuesDisabled(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	errs := rules.ErrorList{{File: ".github/pkgwarden.yml", Line: 1, Column: 1, Msg: "syntax error"}}
	res, err := w.rep.InvalidConfig(ctx, w.inst, "acme", "quiet", errs)
	must(t, err)
	is := w.only(t, ".github")
	if res.Issue.Repository != "acme/.github" || is.Title != report.ConfigTitle+" in acme/quiet" {
		t.Fatalf("%+v, title %q", res, is.Title)
	}
	res, err = w.rep.ConfigFixed(ctx, w.inst, "acme", "quiet", "")
	must(t, err)
	if !res.Closed || w.only(t, ".github").State != "closed" {
		t.Fatalf("%+v", res)
	}
	// The owner's own file: its issue is the plain title in .github.
	res, err = w.rep.InvalidConfig(ctx, w.inst, "acme", "", errs)
	must(t, err)
	if !res.Created || res.Issue.Repository != "acme/.github" || res.Issue.Title != report.ConfigTitle {
		t.Fatalf("owner's file: %+v", res)
	}
}

func TestMissingTokenIssue(t *testing.T) {
	tests := map[string]struct {
		skip     []string // repositories the owner does not have
		repo     string   // the repository of the package that triggered the job
		wantRepo string   // where the issue goes
	}{
		"in .github":                      {repo: "webapp", wantRepo: ".github"},
		"unlinked package":                {repo: "", wantRepo: ".github"},
		"no .github: package's repo":      {skip: []string{".github"}, repo: "webapp", wantRepo: "webapp"},
		"no .github: full name":           {skip: []string{".github"}, repo: "acme/webapp", wantRepo: "webapp"},
		"no .github, repo without issues": {skip: []string{".github"}, repo: "quiet"},
		"no .github, unlinked package":    {skip: []string{".github"}, repo: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorldWithout(t, tc.skip...)
			ctx := context.Background()
			tok, err := w.sim.AddClassicToken("olga", "read:packages")
			must(t, err)
			if tc.wantRepo == "" {
				_, err := w.rep.MissingToken(ctx, w.inst, "acme", tc.repo)
				if !errors.Is(err, report.ErrNowhere) {
					t.Fatalf("err %v, want ErrNowhere", err)
				}
				res, err := w.rep.TokenConfigured(ctx, w.inst, "acme")
				if err != nil || res.Closed {
					t.Fatalf("nothing to close: %+v, %v", res, err)
				}
				return
			}
			if tc.wantRepo != "webapp" {
				// Another open issue where the token issue is not: the
				// search for it must not stop at it.
				w.reportRun(t, "r1", 1)
			}
			for i := 0; i < 2; i++ {
				res, err := w.rep.MissingToken(ctx, w.inst, "acme", tc.repo)
				must(t, err)
				if res.Created != (i == 0) || res.Updated || res.Issue.Repository != "acme/"+tc.wantRepo {
					t.Fatalf("call %d: %+v", i, res)
				}
			}
			find := func() ghsim.Issue {
				t.Helper()
				var found []ghsim.Issue
				for _, is := range w.issues(t, tc.wantRepo) {
					if is.Title == report.TokenTitle("acme") {
						found = append(found, is)
					}
				}
				if len(found) != 1 {
					t.Fatalf("%d token issues in acme/%s, want 1: %v", len(found), tc.wantRepo, titles(found))
				}
				return found[0]
			}
			is := find()
			for _, want := range []string{"PKGWARDEN_PACKAGES_TOKENS=acme=<token>", "`read:packages`", "`write:packages`", "`delete:packages`", "`repo`"} {
				if !strings.Contains(is.Body, want) {
					t.Errorf("body lacks %q", want)
				}
			}
			for _, secret := range []string{tok, "ghp_", "ghs_"} {
				if strings.Contains(is.Body, secret) {
					t.Errorf("body contains a token (%q)", secret[:4])
				}
			}
			// Knowing only the owner, it is found and closed wherever it is.
			res, err := w.rep.TokenConfigured(ctx, w.inst, "acme")
			must(t, err)
			if is := find(); !res.Closed || is.State != "closed" || len(is.Comments) != 1 || res.Issue.Repository != "acme/"+tc.wantRepo {
				t.Fatalf("%+v, issue %s with %d comments", res, is.State, len(is.Comments))
			}
			res, err = w.rep.TokenConfigured(ctx, w.inst, "acme")
			must(t, err)
			if res.Closed || len(find().Comments) != 1 {
				t.Fatalf("closed twice: %+v", res)
			}
			// The token gone again: the same issue is reopened, not a new one.
			res, err = w.rep.MissingToken(ctx, w.inst, "acme", tc.repo)
			must(t, err)
			if !res.Reopened || find().State != "open" {
				t.Fatalf("missing again: %+v", res)
			}
		})
	}
}

func TestPreviewRuns(t *testing.T) {
	tests := map[string]struct {
		dryRun, paused bool
		want           string
	}{
		"dry run": {dryRun: true, want: "**Dry run**: nothing is deleted"},
		"paused":  {paused: true, want: "PKGWARDEN_PAUSED"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			run := w.runOf("p1", entries(0, 2, "old"), nil)
			run.Deleted = nil
			run.Package = rules.Package{} // taken from the decision
			run.Decision.DryRun, run.Paused = tc.dryRun, tc.paused
			res, err := w.rep.Report(ctx, run)
			must(t, err)
			is := w.only(t, "webapp")
			if !res.Commented || !strings.Contains(is.Body, tc.want) || len(report.ParseRestorable(is.Body)) != 0 {
				t.Fatalf("%+v\n%s", res, is.Body)
			}
			// The same preview again from another run: nothing new to say.
			run.ID = "p2"
			res, err = w.rep.Report(ctx, run)
			must(t, err)
			if res.Commented || res.Updated {
				t.Fatalf("same preview: %+v", res)
			}
		})
	}
}

func TestMarkRestored(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before := w.reported(t, "r1", 3).Body
	res, err := w.rep.MarkRestored(ctx, w.inst, webapp, []string{"pkgwarden", "cleanup"}, []int64{1001})
	must(t, err)
	after := w.only(t, "webapp")
	if !res.Updated || ids(report.ParseRestorable(after.Body)) != "1002,1000" || len(after.Comments) != 1 {
		t.Fatalf("%+v: %s", res, ids(report.ParseRestorable(after.Body)))
	}
	// The head stays but for the summary line's counts.
	lines := func(body string) []string {
		return strings.SplitN(body[:strings.Index(body, "### Restorable")], "\n", 3)
	}
	b, a := lines(before), lines(after.Body)
	if b[0] != a[0] || b[2] != a[2] || !report.IsReport(after.Body) {
		t.Error("the head of the body changed")
	}
	if !strings.HasPrefix(a[1], "Deleted 3 · 2 restorable · restored 1 · kept 0 — ") {
		t.Errorf("summary after the restore: %q", a[1])
	}
	res, err = w.rep.MarkRestored(ctx, w.inst, webapp, []string{"pkgwarden"}, []int64{1001})
	must(t, err)
	if res.Updated {
		t.Fatalf("second call rewrote: %+v", res)
	}
}

// An assignee GitHub refuses (not a member) does not stop the report.
func TestRefusedAssignee(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.sim.AddUser("stranger")
	must(t, err)
	run := w.runOf("r1", entries(0, 1, "old"), nil)
	run.Report.Assignees = []string{"stranger"}
	res, err := w.rep.Report(ctx, run)
	must(t, err)
	is := w.only(t, "webapp")
	if !res.Created || len(is.Assignees) != 0 || len(is.Comments) != 1 {
		t.Fatalf("%+v, assignees %v", res, is.Assignees)
	}
	// Later runs do not fail on it either, nor count it as an update.
	for _, id := range []string{"r2", "r3"} {
		idle := w.runOf(id, nil, nil)
		idle.Report.Assignees = []string{"stranger"}
		if res, err = w.rep.Report(ctx, idle); err != nil {
			t.Fatal(err)
		}
	}
	must(t, err)
	if res.Updated {
		t.Fatalf("idle run with a refused assignee: %+v", res)
	}
}

// The restore work finds newly ticked boxes from the issues "edited"
// webhook GitHub sends when someone ticks one: changes.body.from against
// issue.body.
func TestTickWebhook(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	type edited struct {
		Action  string `json:"action"`
		Changes struct {
			Body struct {
				From string `json:"from"`
			} `json:"body"`
		} `json:"changes"`
		Issue struct {
			Body string `json:"body"`
		} `json:"issue"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	var mu sync.Mutex
	var got []edited
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var e edited
		if r.Header.Get("X-GitHub-Event") == "issues" && json.NewDecoder(r.Body).Decode(&e) == nil && e.Action == "edited" {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}
		rw.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	w.sim.SetWebhookURL(hook.URL)

	is := w.reported(t, "r1", 3)
	lines := strings.Split(is.Body, "\n")
	for i, l := range lines {
		if strings.Contains(l, "pkgwarden:restore 1001 ") {
			lines[i] = strings.Replace(l, "- [ ]", "- [x]", 1)
		}
	}
	_, _, err := w.userClient(t, "olga").Issues.Edit(ctx, "acme", "webapp", is.Number, &github.IssueRequest{Body: github.String(strings.Join(lines, "\n"))})
	must(t, err)
	must(t, w.sim.WaitDeliveries(ctx))

	mu.Lock()
	defer mu.Unlock()
	var ticks []int64
	for _, e := range got {
		if e.Sender.Login == "olga" {
			ticks = append(ticks, report.NewlyTicked(e.Changes.Body.From, e.Issue.Body)...)
		}
	}
	if fmt.Sprint(ticks) != "[1001]" {
		t.Fatalf("ticks from the webhook: %v (%d edited hooks)", ticks, len(got))
	}
}

// Note opens the report when there is none, drops restored ids from the
// list, and comments once per marker.
func TestNote(t *testing.T) {
	tests := map[string]struct {
		existing  bool
		wantIDs   string
		wantCount int // comments after two identical calls
	}{
		"no issue yet":   {existing: false, wantIDs: "", wantCount: 1},
		"existing issue": {existing: true, wantIDs: "1002,1000", wantCount: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if tc.existing {
				w.reportRun(t, "r1", 3)
			}
			for i := 0; i < 2; i++ {
				res, err := w.rep.Note(ctx, w.inst, webapp, nil, nil, "<!-- restore-run x -->", "<!-- restore-run x -->\nrestored 1001", []int64{1001})
				must(t, err)
				if i == 0 && (res.Created == tc.existing || !res.Commented) {
					t.Fatalf("first call: %+v", res)
				}
				if i == 1 && (res.Commented || res.Updated || res.Created) {
					t.Fatalf("second call changed something: %+v", res)
				}
			}
			is := w.only(t, "webapp")
			reporttest.CheckBody(t, name, is.Body)
			if !report.IsReport(is.Body) || ids(report.ParseRestorable(is.Body)) != tc.wantIDs || len(is.Comments) != tc.wantCount {
				t.Fatalf("body ids %q, %d comments: %s", ids(report.ParseRestorable(is.Body)), len(is.Comments), is.Body)
			}
			if last := is.Comments[len(is.Comments)-1].Body; !strings.Contains(last, "restored 1001") {
				t.Errorf("last comment %q", last)
			}
		})
	}
}

// TestAnswerOnce: a retried job answers once, even when the issue has
// more than a page of comments before the answer.
func TestAnswerOnce(t *testing.T) {
	for _, others := range []int{0, 150} {
		t.Run(fmt.Sprint(others, " comments before"), func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			num := w.reported(t, "run-0", 1).Number
			w.chatter(t, num, others)
			parts := []report.AnswerPart{{Line: "/pkgwarden help", Outcomes: []report.Outcome{report.Help{Repository: "acme/webapp"}}}}
			first, err := w.rep.Answer(ctx, w.inst, "acme/webapp", num, "mia", "delivery-7", parts)
			must(t, err)
			second, err := w.rep.Answer(ctx, w.inst, "acme/webapp", num, "mia", "delivery-7", parts)
			must(t, err)
			if !first.Commented || second.Commented {
				t.Fatalf("first %+v second %+v", first, second)
			}
			if n := w.comments(t, "pkgwarden:answer delivery-7 "); n != 1 {
				t.Errorf("%d answers, want 1", n)
			}
		})
	}
}

// A dry run's issue says so in its title; when the file turns dry_run off
// the same issue carries on, retitled, and back again.
func TestDryRunTitleSameIssue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	run := func(id string, dry bool, del []rules.Entry) report.Result {
		t.Helper()
		r := w.runOf(id, del, entries(100, 1, "newest"))
		r.Decision.DryRun = dry
		if dry {
			r.Decision.Delete, r.Deleted = entries(0, 2, "old"), nil
		}
		res, err := w.rep.Report(ctx, r)
		must(t, err)
		return res
	}
	steps := []struct {
		name  string
		dry   bool
		del   []rules.Entry
		title string
	}{
		{"dry run", true, nil, report.DryRunTitle(webapp)},
		{"dry_run turned off", false, entries(0, 2, "old"), report.Title(webapp)},
		{"dry_run turned on again", true, nil, report.DryRunTitle(webapp)},
	}
	number := 0
	for i, st := range steps {
		w.advance(time.Hour)
		res := run(fmt.Sprint("d", i), st.dry, st.del)
		is := w.only(t, "webapp") // one issue, whatever its title
		if is.Title != st.title || res.Issue.Title != st.title {
			t.Fatalf("%s: title %q (result %q), want %q", st.name, is.Title, res.Issue.Title, st.title)
		}
		if number == 0 {
			number = is.Number
		}
		if is.Number != number {
			t.Fatalf("%s: issue #%d, want #%d", st.name, is.Number, number)
		}
		if p, ok := report.ParseTitle(is.Title); !ok || p.Name != "webapp" {
			t.Fatalf("%s: title %q not read back: %+v", st.name, is.Title, p)
		}
	}
}

// GitHub refusing the same version on every run is told once: the first
// run comments, the next ones (the refusal unchanged) add nothing.
func TestSameRefusalOneComment(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	popular := rules.Entry{ID: 1041, Version: digest(41), Tags: []string{"pr-41"}, Reason: "GitHub refused the deletion: Publicly visible package versions with more than 5000 downloads cannot be deleted."}
	askAgain := w.clock().Add(25 * time.Hour) // a day after the first refusal
	var firstWrite time.Time
	for i := range 3 {
		w.advance(time.Hour)
		r := w.runOf(fmt.Sprint("refused-", i), nil, entries(100, 2, "newest"))
		r.Decision.Delete, r.Skipped = []rules.Entry{popular}, []rules.Entry{popular}
		r.AskAgain = map[int64]time.Time{popular.ID: askAgain}
		if i > 0 {
			// Later plans hold it, as the prune job does.
			held := popular
			held.Kind, held.Reason = rules.KindHeld, "GitHub refused to delete it"
			r.Decision.Delete, r.Decision.Keep = nil, append([]rules.Entry{held}, r.Decision.Keep...)
		}
		_, err := w.rep.Report(ctx, r)
		must(t, err)
		if i == 0 {
			firstWrite = w.only(t, "webapp").UpdatedAt
		}
	}
	is := w.only(t, "webapp")
	if len(is.Comments) != 1 || !is.UpdatedAt.Equal(firstWrite) {
		t.Fatalf("%d comments after three runs refused the same version, want 1; body rewritten %t", len(is.Comments), !is.UpdatedAt.Equal(firstWrite))
	}
	if n := strings.Count(is.Body, "pr-41"); n != 1 {
		t.Errorf("pr-41 shown %d times in the body, want once:\n%s", n, is.Body)
	}
	if !strings.HasPrefix(strings.SplitN(is.Body, "\n", 3)[1], "Refused 1 · kept 2 — ") {
		t.Errorf("summary %q", strings.SplitN(is.Body, "\n", 3)[1])
	}
}
