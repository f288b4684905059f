package report_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// TestInvalidConfigPushLifecycle: a push's report links to the pushed
// commit and names the pusher; a prune finding the same errors leaves that
// body alone; a valid push rewrites the open issue and leaves it open;
// ConfigFixed closes it; ConfigValid with nothing open changes nothing.
func TestInvalidConfigPushLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	errs := rules.ErrorList{{Repo: "acme/webapp", File: rules.Path, Line: 4, Column: 7, Field: "rules[0].prune.older_then", Msg: "unknown key; did you mean `older_than`?"}}
	sha := strings.Repeat("ab", 20)
	push := report.ConfigPush{Repo: "acme/webapp", Commit: sha, Pusher: "alice", RepoURL: "https://github.com/acme/webapp"}

	res, err := w.rep.InvalidConfigAt(ctx, w.inst, "acme", "webapp", errs, push)
	must(t, err)
	body := w.only(t, "webapp").Body
	for _, want := range []string{"/blob/" + sha + "/.github/pkgwarden.yml#L4", "by @alice", "did you mean `older_than`?"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	res, err = w.rep.InvalidConfig(ctx, w.inst, "acme", "webapp", errs)
	must(t, err)
	if res.Updated || res.Issue.Number == 0 || w.only(t, "webapp").Body != body {
		t.Errorf("a prune with the same errors rewrote the push's body: %+v", res)
	}

	res, err = w.rep.ConfigValid(ctx, w.inst, "acme", "webapp", push)
	must(t, err)
	is := w.only(t, "webapp")
	if !res.Updated || is.State != "open" || !strings.Contains(is.Body, "valid again") || len(is.Comments) != 0 {
		t.Fatalf("valid push: %+v, state %s, body %q, %d comments", res, is.State, is.Body, len(is.Comments))
	}
	res, err = w.rep.ConfigValid(ctx, w.inst, "acme", "webapp", push)
	must(t, err)
	if res.Updated {
		t.Errorf("valid push again rewrote the issue: %+v", res)
	}
	res, err = w.rep.ConfigFixed(ctx, w.inst, "acme", "webapp", "A prune under it succeeded.")
	must(t, err)
	if !res.Closed || w.only(t, "webapp").State != "closed" {
		t.Fatalf("fixed: %+v", res)
	}
	res, err = w.rep.ConfigValid(ctx, w.inst, "acme", "webapp", push)
	must(t, err)
	if res.Issue.Number != 0 || res.Updated || w.only(t, "webapp").State != "closed" {
		t.Errorf("valid push with the issue closed: %+v", res)
	}
}
