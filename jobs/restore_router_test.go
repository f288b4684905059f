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
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// reportBody is a report body listing versions 11 and 12, 12 ticked when
// tick12.
func reportBody(tick12 bool) string {
	box := " "
	if tick12 {
		box = "x"
	}
	return "<!-- pkgwarden:report -->\n## pkgwarden report\n\n### Restorable deletions\n\n" +
		"- [ ] restore <!-- pkgwarden:restore 11 2026-11-20T00:00:00Z sha256%3Aaa pr-1 --> pr-1 id 11\n" +
		"- [" + box + "] restore <!-- pkgwarden:restore 12 2026-11-20T00:00:00Z sha256%3Abb pr-2 --> pr-2 id 12\n"
}

func issuesEvent(action, sender, title, body, from, comment string) []byte {
	ev := map[string]any{
		"action":       action,
		"installation": map[string]any{"id": 7},
		"organization": map[string]any{"login": "acme"},
		"repository":   map[string]any{"full_name": "acme/app", "name": "app", "owner": map[string]any{"login": "acme"}},
		"sender":       map[string]any{"login": sender},
		"issue":        map[string]any{"number": 3, "title": title, "body": body},
	}
	if from != "" {
		ev["changes"] = map[string]any{"body": map[string]any{"from": from}}
	}
	if comment != "" {
		ev["comment"] = map[string]any{"id": 99, "body": comment}
	}
	b, _ := json.Marshal(ev)
	return b
}

const title = "pkgwarden: container acme/app"

// TestRouteIssues: report edits and commands become undo jobs, one per
// delivery even for one package; everything else is ignored.
func TestRouteIssues(t *testing.T) {
	restoreComment := "<!-- pkgwarden:restore-run x -->\n- id 5 `v1`: r\n  - [ ] this deletion was intentional <!-- pkgwarden:intentional 5 -->\n"
	type delivery struct{ event, body string }
	tests := map[string]struct {
		in   []delivery
		want []string // kind:ids:all:via per job, any order
	}{
		"box ticked": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title, reportBody(true), reportBody(false), ""))}},
			want: []string{"restore:[12]:false:checkbox"}},
		"own edit removing a line": {in: []delivery{{"issues", string(issuesEvent("edited", "bob", title, strings.Split(reportBody(true), "- [x]")[0], reportBody(true), ""))}}},
		"own bot":                  {in: []delivery{{"issues", string(issuesEvent("edited", "pkgwarden[bot]", title, reportBody(true), reportBody(false), ""))}}},
		"not a report":             {in: []delivery{{"issues", string(issuesEvent("edited", "bob", "bug", reportBody(true), reportBody(false), ""))}}},
		"restore all": {in: []delivery{{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "thanks\n/pkgwarden restore all\n"))}},
			want: []string{"restore:[]:true:comment"}},
		"forget": {in: []delivery{{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "/pkgwarden forget 12"))}},
			want: []string{"forget:[12]:false:comment"}},
		"forget the package": {in: []delivery{{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "/pkgwarden forget package"))}},
			want: []string{"forget:[]:false:comment:package"}},
		"restore package is no command": {in: []delivery{{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "/pkgwarden restore package"))}}},
		"chatter":                       {in: []delivery{{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "what does /pkgwarden do?"))}}},
		"intentional ticked": {in: []delivery{{"issue_comment", string(issuesEvent("edited", "bob", title, reportBody(false), restoreComment, strings.Replace(restoreComment, "[ ]", "[x]", 1)))}},
			want: []string{"forget:[5]:false:intentional checkbox"}},
		"two requests, one package": {in: []delivery{
			{"issue_comment", string(issuesEvent("created", "bob", title, reportBody(false), "", "/pkgwarden restore 11"))},
			{"issue_comment", string(issuesEvent("created", "carol", title, reportBody(false), "", "/pkgwarden restore 12"))},
		}, want: []string{"restore:[11]:false:comment", "restore:[12]:false:comment"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := queuetest.Start(t, "", queuetest.Config())
			q := srv.Queue
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i, d := range tc.in {
				if _, err := q.PublishDelivery(ctx, d.event, fmt.Sprintf("d-%d", i), []byte(d.body)); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				jobs.NewRouter(q, jobs.RouterConfig{OwnBotLogin: "pkgwarden[bot]"}, slog.New(slog.DiscardHandler)).Run(ctx)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				n, err := queue.CountMessages(ctx, q.Webhooks)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("router did not consume the deliveries")
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			<-done
			got := queuedUndos(t, q)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("jobs = %q, want %q", got, tc.want)
			}
		})
	}
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
		ids := job.Undo.IDs
		if ids == nil {
			ids = []int64{}
		}
		line := fmt.Sprintf("%s:%v:%t:%s", job.Undo.Kind, ids, job.Undo.All, job.Undo.Via)
		if job.Undo.Package {
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
		if err := inv.SeePackage(ctx, inst, inventory.Package{Owner: "acme", Type: "container", Name: "app"}); err != nil {
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		pkgs, err := inv.Packages(ctx, 7, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("installation 7's inventory not cleared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if pkgs, err := inv.Packages(context.Background(), 8, ""); err != nil || len(pkgs) != 1 {
		t.Errorf("installation 8's inventory = %v, want its package", pkgs)
	}
}
