package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

var routedApp = rules.Package{Owner: "acme", Type: "container", Name: "app"}

// reportBody is a report body of acme's container app listing versions 11
// and 12 with pkgwarden's sealed boxes, 12 ticked when tick12.
func reportBody(tick12 bool) string {
	box := " "
	if tick12 {
		box = "x"
	}
	return "<!-- pkgwarden:report container acme/app -->\n## pkgwarden report\n\n### Restorable deletions\n\n" +
		"**Deleted 2026-11-20 00:00 UTC** <!-- pkgwarden:batch 2026-11-20T00:00:00Z -->\n\n" +
		"- [ ] `sha256:aa` (pr-1) id 11 <!-- pkgwarden:restore 11 " + jobstest.Seal.Sign(report.BoxRestore, routedApp, 11) + " -->\n" +
		"- [" + box + "] `sha256:bb` (pr-2) id 12 <!-- pkgwarden:restore 12 " + jobstest.Seal.Sign(report.BoxRestore, routedApp, 12) + " -->\n"
}

// issueEvent is an issues or issue_comment payload as GitHub sends it.
type issueEvent struct {
	action, sender, title, body, from, comment string
	// author wrote the issue (pkgwarden's bot unless set), commenter the
	// comment (sender unless set); repo is its repository in acme unless
	// set ("owner/name").
	author, commenter, repo string
}

func (e issueEvent) payload() []byte {
	author, commenter, repo := e.author, e.commenter, e.repo
	if author == "" {
		author = "pkgwarden[bot]"
	}
	if commenter == "" {
		commenter = e.sender
	}
	if repo == "" {
		repo = "acme/app"
	}
	owner, name, _ := strings.Cut(repo, "/")
	ev := map[string]any{
		"action":       e.action,
		"installation": map[string]any{"id": 7},
		"organization": map[string]any{"login": owner},
		"repository":   map[string]any{"full_name": repo, "name": name, "owner": map[string]any{"login": owner}},
		"sender":       map[string]any{"login": e.sender},
		"issue":        map[string]any{"number": 3, "title": e.title, "body": e.body, "user": map[string]any{"login": author}},
	}
	if e.from != "" {
		ev["changes"] = map[string]any{"body": map[string]any{"from": e.from}}
	}
	if e.comment != "" {
		ev["comment"] = map[string]any{"id": 99, "body": e.comment, "user": map[string]any{"login": commenter}}
	}
	b, _ := json.Marshal(ev)
	return b
}

func issuesEvent(action, sender, title, body, from, comment string) []byte {
	return issueEvent{action: action, sender: sender, title: title, body: body, from: from, comment: comment}.payload()
}

const title = "pkgwarden: container acme/app"

// delivery is a webhook delivery: its event and payload.
type delivery struct{ event, body string }

// TestRouteIssues: report edits and commands become undo jobs, one per
// delivery even for one package; everything else is ignored, above all
// what is not pkgwarden's report and boxes pkgwarden did not write.
func TestRouteIssues(t *testing.T) {
	intentional := func(tick string) string {
		return "<!-- pkgwarden:restore-run x -->\n- id 5 `v1`: r\n  - [" + tick + "] this deletion was intentional <!-- pkgwarden:intentional 5 " + jobstest.Seal.Sign(report.BoxIntentional, routedApp, 5) + " -->\n"
	}
	restoreComment := intentional(" ")
	comment := func(sender, text string) delivery {
		return delivery{"issue_comment", string(issuesEvent("created", sender, title, reportBody(false), "", text))}
	}
	tests := map[string]struct {
		in   []delivery
		want []string // kind:ids:all:via per job, any order
	}{
		"box ticked": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title, reportBody(true), reportBody(false), ""))}},
			want: []string{"restore:[12]:false:checkbox"}},
		"box ticked, CRLF body": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title, strings.ReplaceAll(reportBody(true), "\n", "\r\n"), reportBody(false), ""))}},
			want: []string{"restore:[12]:false:checkbox"}},
		"own edit removing a line": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title, strings.Split(reportBody(true), "- [x]")[0], reportBody(true), ""))}}},
		"own bot":                  {in: []delivery{{"issues", string(issuesEvent("edited", "pkgwarden[bot]", title, reportBody(true), reportBody(false), ""))}}},
		"not a report":             {in: []delivery{{"issues", string(issuesEvent("edited", "bob", "bug", reportBody(true), reportBody(false), ""))}}},
		"box added by hand, ticked": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title,
			reportBody(false)+"- [x] mine <!-- pkgwarden:restore 77 -->\n", reportBody(false), ""))}}},
		"look-alike by a person": {in: []delivery{{"issues", string(issueEvent{action: "edited", sender: "mallory", author: "mallory", title: title,
			body: reportBody(true), from: reportBody(false)}.payload())}}},
		"look-alike comment by a person": {in: []delivery{{"issue_comment", string(issueEvent{action: "created", sender: "mallory", author: "mallory", title: title,
			body: reportBody(false), comment: "/pkgwarden forget 12"}.payload())}}},
		"bot's report of acme in evil's repository": {in: []delivery{{"issue_comment", string(issueEvent{action: "created", sender: "mallory", repo: "evil/x", title: title,
			body: reportBody(false), comment: "/pkgwarden forget package"}.payload())}}},
		"restore all": {in: []delivery{comment("bob", "thanks\n/pkgwarden restore all\n")},
			want: []string{"restore:[]:true:comment"}},
		"restore, CRLF": {in: []delivery{comment("bob", "/pkgwarden restore 42\r\nthanks")},
			want: []string{"restore:[42]:false:comment"}},
		"forget": {in: []delivery{comment("bob", "/pkgwarden forget 12")},
			want: []string{"forget:[12]:false:comment"}},
		"forget the package": {in: []delivery{comment("bob", "/pkgwarden forget package")},
			want: []string{"forget:[]:false:comment:package"}},
		"restore package is answered": {in: []delivery{comment("bob", "/pkgwarden restore package")},
			want: []string{":[]:false:comment"}},
		"a typo is answered": {in: []delivery{comment("bob", "/pkgwarden restor 120")},
			want: []string{":[]:false:comment"}},
		"help": {in: []delivery{comment("bob", "/pkgwarden help")},
			want: []string{"help:[]:false:comment"}},
		"chatter":             {in: []delivery{comment("bob", "what does /pkgwarden do?")}},
		"in a code block":     {in: []delivery{comment("bob", "try this:\n\n```\n/pkgwarden forget 12\n```\n")}},
		"in a quote":          {in: []delivery{comment("bob", "> /pkgwarden forget 12\n\nwhy did you do that?")}},
		"in an indented code": {in: []delivery{comment("bob", "like so:\n\n    /pkgwarden forget 12\n")}},
		"intentional ticked": {in: []delivery{{"issue_comment", string(issueEvent{action: "edited", sender: "bob", commenter: "pkgwarden[bot]", title: title,
			body: reportBody(false), from: restoreComment, comment: intentional("x")}.payload())}},
			want: []string{"forget:[5]:false:intentional checkbox"}},
		"intentional ticked in a person's comment": {in: []delivery{{"issue_comment", string(issueEvent{action: "edited", sender: "bob", title: title,
			body: reportBody(false), from: restoreComment, comment: intentional("x")}.payload())}}},
		"two requests, one package": {in: []delivery{comment("bob", "/pkgwarden restore 11"), comment("carol", "/pkgwarden restore 12")},
			want: []string{"restore:[11]:false:comment", "restore:[12]:false:comment"}},
	}
	for name, tc := range tests {
		for _, webEditor := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: " (web editor, CRLF)"}[webEditor], func(t *testing.T) {
				// Each case has a NATS server of its own and mostly waits.
				t.Parallel()
				routeIssuesCase(t, tc.in, tc.want, webEditor)
			})
		}
	}
}

// routeIssuesCase routes deliveries and checks the undo jobs queued
// (kind:ids:all:via each). With webEditor, what people wrote in them (the
// issue's body, the comment) comes as GitHub's web editor sends it, every
// line ending "\r\n"; changes.body.from stays as it was written.
func routeIssuesCase(t *testing.T, in []delivery, want []string, webEditor bool) {
	srv := queuetest.Start(t, "", queuetest.Config())
	q := srv.Queue
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, d := range in {
		body := []byte(d.body)
		if webEditor {
			body = webEditorPayload(t, body)
		}
		if _, err := q.PublishDelivery(ctx, d.event, fmt.Sprintf("d-%d", i), body); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		jobs.NewRouter(q, jobs.RouterConfig{OwnBotLogin: "pkgwarden[bot]", Seal: jobstest.Seal}, slog.New(slog.DiscardHandler)).Run(ctx)
	}()
	testwait.For(t, "the router to consume the deliveries", 10*time.Second, func() bool {
		n, err := queue.CountMessages(ctx, q.Webhooks)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	cancel()
	<-done
	got := queuedUndos(t, q)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("jobs = %q, want %q", got, want)
	}
}

// webEditorPayload is payload with the issue's and the comment's body
// ending every line with "\r\n", as GitHub stores what its web editor
// sends.
func webEditorPayload(t *testing.T, payload []byte) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	crlf := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	}
	for _, k := range []string{"issue", "comment"} {
		if o, ok := ev[k].(map[string]any); ok {
			if b, ok := o["body"].(string); ok {
				o["body"] = crlf(b)
			}
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func queuedUndos(t *testing.T, q *queue.Queue) []string {
	t.Helper()
	ctx := context.Background()
	n, err := queue.CountMessages(ctx, q.Jobs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if n == 0 {
		return out
	}
	info, err := q.Jobs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The jobs stream is a work queue: read its messages by sequence.
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := q.Jobs.GetMsg(ctx, seq)
		if err != nil {
			continue // a gap: a replaced (coalesced) job
		}
		var job jobs.Job
		if err := json.Unmarshal(msg.Data, &job); err != nil {
			t.Fatal(err)
		}
		if job.Type != jobs.TypeRestore || job.Undo == nil || job.Target.String() != "7/acme/container/app" || job.Target.Repository != "acme/app" {
			t.Errorf("job %+v", job)
			continue
		}
		kind, ids, all, pkg := job.Undo.Kind, job.Undo.IDs, job.Undo.All, job.Undo.Package
		for _, c := range job.Undo.Commands {
			kind, ids, all, pkg = c.Kind, c.IDs, c.All, c.Package
		}
		if ids == nil {
			ids = []int64{}
		}
		line := fmt.Sprintf("%s:%v:%t:%s", kind, ids, all, job.Undo.Via)
		if pkg {
			line += ":package"
		}
		out = append(out, line)
	}
	return out
}

// TestRouteInstallationDeleted: uninstalling clears the installation's
// inventory, and only its.
func TestRouteInstallationDeleted(t *testing.T) {
	srv := queuetest.Start(t, "", queuetest.Config())
	q := srv.Queue
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv, err := inventory.Open(ctx, q.JS, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []int64{7, 8} {
		if err := inv.SeePackage(ctx, inst, inventory.Package{Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: "app"}}); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(map[string]any{"action": "deleted", "installation": map[string]any{"id": 7}, "sender": map[string]any{"login": "alice"}})
	if _, err := q.PublishDelivery(ctx, "installation", "d-uninstall", body); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		jobs.NewRouter(q, jobs.RouterConfig{Inventory: inv}, slog.New(slog.DiscardHandler)).Run(ctx)
	}()
	testwait.For(t, "installation 7's inventory to be cleared", 10*time.Second, func() bool {
		pkgs, err := inv.Packages(ctx, 7, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(pkgs) == 0
	})
	cancel()
	<-done
	if pkgs, err := inv.Packages(context.Background(), 8, ""); err != nil || len(pkgs) != 1 {
		t.Errorf("installation 8's inventory = %v, want its package", pkgs)
	}
}
