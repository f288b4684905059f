package ghsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"
)

// issuesWorld adds people with each role on acme/app to an appWorld.
func issuesWorld(t *testing.T) (*appWorld, map[string]*github.Client) {
	t.Helper()
	w := newAppWorld(t)
	f := w.f
	for _, u := range []string{"wally", "rita", "stranger"} {
		if _, err := f.sim.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.sim.SetCollaborator("acme", "app", "wally", "write"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetCollaborator("acme", "app", "rita", "read"); err != nil {
		t.Fatal(err)
	}
	clients := map[string]*github.Client{}
	for _, u := range []string{"olga", "wally", "rita", "stranger"} {
		tok, err := f.sim.AddClassicToken(u, "repo")
		if err != nil {
			t.Fatal(err)
		}
		clients[u] = f.client(tok)
	}
	clients["bot"], _ = f.installationClient(t, w.orgInst)
	return w, clients
}

// issuesPayload is the part of an issues or issue_comment webhook the
// tests read; go-github's event types carry the rest.
type issuesPayload struct {
	github.IssuesEvent
	Comment      *github.IssueComment `json:"comment"`
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

func decodeHooks(t *testing.T, rs []received) []issuesPayload {
	t.Helper()
	out := make([]issuesPayload, len(rs))
	for i, r := range rs {
		if !r.Valid {
			t.Errorf("delivery %s: signature %q does not verify", r.Delivery, r.Signature)
		}
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestIssueLifecycle(t *testing.T) {
	w, cl := issuesWorld(t)
	f, ctx := w.f, context.Background()
	bot := f.sim.BotLogin()

	// The app opens a report issue with labels nobody created yet.
	is, resp, err := cl["bot"].Issues.Create(ctx, "acme", "app", &github.IssueRequest{
		Title: github.String("Package report: acme/app"), Body: github.String("- [ ] restore v1"),
		Labels: &[]string{"pkgwarden", "Report"},
	})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	if is.GetUser().GetLogin() != bot || is.GetUser().GetType() != "Bot" || is.GetNumber() != 1 || is.GetState() != "open" {
		t.Errorf("issue by %s (%s) #%d %s", is.GetUser().GetLogin(), is.GetUser().GetType(), is.GetNumber(), is.GetState())
	}
	f.waitHooks(t)
	hooks := f.hook.take()
	if got, want := eventActions(t, hooks), []string{"issues/opened", "issues/labeled", "issues/labeled"}; !slices.Equal(got, want) {
		t.Fatalf("webhooks %v, want %v", got, want)
	}
	opened := decodeHooks(t, hooks)
	if n := len(opened[0].GetIssue().Labels); n != 2 {
		t.Errorf("opened payload shows %d labels, want the 2 it was created with", n)
	}
	for _, p := range opened {
		if p.Installation.ID != w.orgInst || p.GetSender().GetLogin() != bot || p.GetRepo().GetFullName() != "Acme/app" || p.GetIssue().GetNumber() != 1 {
			t.Errorf("payload installation %d sender %s repo %s issue %d", p.Installation.ID, p.GetSender().GetLogin(), p.GetRepo().GetFullName(), p.GetIssue().GetNumber())
		}
	}

	t.Run("labels created on the fly", func(t *testing.T) {
		got, _, err := cl["rita"].Issues.Get(ctx, "acme", "app", 1)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range got.Labels {
			names = append(names, l.GetName()+"#"+l.GetColor())
		}
		if want := []string{"pkgwarden#ededed", "Report#ededed"}; !slices.Equal(names, want) {
			t.Errorf("labels %v, want %v", names, want)
		}
	})

	// More issues, by people with different roles.
	create := func(who, title string, labels ...string) *github.Issue {
		t.Helper()
		is, _, err := cl[who].Issues.Create(ctx, "acme", "app", &github.IssueRequest{Title: github.String(title), Labels: &labels})
		if err != nil {
			t.Fatalf("%s creates %q: %v", who, title, err)
		}
		return is
	}
	create("wally", "two", "pkgwarden")
	create("olga", "three", "report", "pkgwarden")
	create("wally", "four")
	byReader := create("rita", "five", "pkgwarden")
	if len(byReader.Labels) != 0 {
		t.Errorf("a reader set labels %v; GitHub drops them", byReader.Labels)
	}

	t.Run("edit the body", func(t *testing.T) {
		f.drain(t)
		up, _, err := cl["bot"].Issues.Edit(ctx, "acme", "app", 1, &github.IssueRequest{Body: github.String("- [x] restore v1")})
		if err != nil || up.GetBody() != "- [x] restore v1" {
			t.Fatalf("edit: %v (body %q)", err, up.GetBody())
		}
		f.waitHooks(t)
		raw := f.hook.take()
		ps := decodeHooks(t, raw)
		if len(ps) != 1 || ps[0].GetAction() != "edited" || ps[0].GetChanges().GetBody().GetFrom() != "- [ ] restore v1" {
			t.Fatalf("webhooks %v, want one edited with changes.body.from", eventActions(t, raw))
		}
		if ps[0].GetIssue().GetBody() != "- [x] restore v1" || ps[0].GetChanges().GetTitle() != nil {
			t.Errorf("edited issue body %q, title change %v", ps[0].GetIssue().GetBody(), ps[0].GetChanges().GetTitle())
		}
	})

	t.Run("close and reopen", func(t *testing.T) {
		f.drain(t)
		closed, _, err := cl["wally"].Issues.Edit(ctx, "acme", "app", 3, &github.IssueRequest{State: github.String("closed"), StateReason: github.String("not_planned")})
		if err != nil || closed.GetState() != "closed" || closed.GetStateReason() != "not_planned" || closed.GetClosedBy().GetLogin() != "wally" || closed.ClosedAt == nil {
			t.Fatalf("close: %v (%s %s by %s)", err, closed.GetState(), closed.GetStateReason(), closed.GetClosedBy().GetLogin())
		}
		if _, _, err := cl["olga"].Issues.Edit(ctx, "acme", "app", 4, &github.IssueRequest{State: github.String("closed")}); err != nil {
			t.Fatal(err)
		}
		re, _, err := cl["olga"].Issues.Edit(ctx, "acme", "app", 4, &github.IssueRequest{State: github.String("open")})
		if err != nil || re.GetStateReason() != "reopened" || re.ClosedAt != nil {
			t.Fatalf("reopen: %v (%s)", err, re.GetStateReason())
		}
		f.waitHooks(t)
		if got, want := eventActions(t, f.hook.take()), []string{"issues/closed", "issues/closed", "issues/reopened"}; !slices.Equal(got, want) {
			t.Errorf("webhooks %v, want %v", got, want)
		}
	})

	t.Run("labels change", func(t *testing.T) {
		f.drain(t)
		if _, _, err := cl["wally"].Issues.Edit(ctx, "acme", "app", 2, &github.IssueRequest{Labels: &[]string{"bug"}}); err != nil {
			t.Fatal(err)
		}
		f.waitHooks(t)
		if got, want := eventActions(t, f.hook.take()), []string{"issues/unlabeled", "issues/labeled"}; !slices.Equal(got, want) {
			t.Errorf("webhooks %v, want %v", got, want)
		}
		if _, _, err := cl["wally"].Issues.Edit(ctx, "acme", "app", 2, &github.IssueRequest{Labels: &[]string{"pkgwarden"}}); err != nil {
			t.Fatal(err)
		}
	})

	lists := map[string]struct {
		opts *github.IssueListByRepoOptions
		want []int
	}{
		"open, newest first":     {&github.IssueListByRepoOptions{}, []int{5, 4, 2, 1}},
		"all":                    {&github.IssueListByRepoOptions{State: "all"}, []int{5, 4, 3, 2, 1}},
		"closed":                 {&github.IssueListByRepoOptions{State: "closed"}, []int{3}},
		"one label":              {&github.IssueListByRepoOptions{State: "all", Labels: []string{"pkgwarden"}}, []int{3, 2, 1}},
		"every label must match": {&github.IssueListByRepoOptions{State: "all", Labels: []string{"pkgwarden", "report"}}, []int{3, 1}},
		"label nobody has":       {&github.IssueListByRepoOptions{Labels: []string{"nope"}}, nil},
		"creator":                {&github.IssueListByRepoOptions{State: "all", Creator: "wally"}, []int{4, 2}},
		"the bot as creator":     {&github.IssueListByRepoOptions{Creator: bot}, []int{1}},
		"oldest first":           {&github.IssueListByRepoOptions{Direction: "asc"}, []int{1, 2, 4, 5}},
	}
	for name, tc := range lists {
		t.Run("list "+name, func(t *testing.T) {
			got, _, err := cl["rita"].Issues.ListByRepo(ctx, "acme", "app", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var nums []int
			for _, is := range got {
				nums = append(nums, is.GetNumber())
			}
			if !slices.Equal(nums, tc.want) {
				t.Errorf("issues %v, want %v", nums, tc.want)
			}
		})
	}

	t.Run("list pages", func(t *testing.T) {
		var seen []int
		opts := &github.IssueListByRepoOptions{State: "all", ListOptions: github.ListOptions{PerPage: 2}}
		for page := 1; ; page++ {
			got, resp, err := cl["bot"].Issues.ListByRepo(ctx, "acme", "app", opts)
			if err != nil {
				t.Fatal(err)
			}
			if page == 1 && (resp.NextPage != 2 || resp.LastPage != 3 || !strings.Contains(resp.Header.Get("Link"), `rel="next"`)) {
				t.Errorf("page 1: next %d last %d Link %q", resp.NextPage, resp.LastPage, resp.Header.Get("Link"))
			}
			for _, is := range got {
				seen = append(seen, is.GetNumber())
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
		if want := []int{5, 4, 3, 2, 1}; !slices.Equal(seen, want) {
			t.Errorf("pages gave %v, want %v", seen, want)
		}
	})

	t.Run("who may edit", func(t *testing.T) {
		tests := map[string]struct {
			who    string
			number int
			want   int
		}{
			"reader, someone else's issue": {"rita", 2, 403},
			"reader, own issue":            {"rita", 5, 200},
			"writer, anyone's issue":       {"wally", 1, 200},
			"admin":                        {"olga", 5, 200},
			"stranger, private repository": {"stranger", 1, 404},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				_, resp, err := cl[tc.who].Issues.Edit(ctx, "acme", "app", tc.number, &github.IssueRequest{Title: github.String("renamed by " + tc.who)})
				if resp == nil || resp.StatusCode != tc.want {
					t.Errorf("edit: %v, want %d", err, tc.want)
				}
			})
		}
	})

	t.Run("comments", func(t *testing.T) {
		f.drain(t)
		cm, resp, err := cl["bot"].Issues.CreateComment(ctx, "acme", "app", 1, &github.IssueComment{Body: github.String("Deleted 3 versions.")})
		if err != nil || resp.StatusCode != http.StatusCreated || cm.GetUser().GetLogin() != bot {
			t.Fatalf("comment: %v by %s", err, cm.GetUser().GetLogin())
		}
		reply, _, err := cl["wally"].Issues.CreateComment(ctx, "acme", "app", 1, &github.IssueComment{Body: github.String("/pkgwarden restore all")})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := cl["wally"].Issues.EditComment(ctx, "acme", "app", reply.GetID(), &github.IssueComment{Body: github.String("/pkgwarden restore 42")}); err != nil {
			t.Fatal(err)
		}
		_, resp, err = cl["rita"].Issues.EditComment(ctx, "acme", "app", cm.GetID(), &github.IssueComment{Body: github.String("mine now")})
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("a reader edits the bot's comment: %v, want 403", err)
		}
		f.waitHooks(t)
		ps := decodeHooks(t, f.hook.take())
		var got []string
		for _, p := range ps {
			got = append(got, p.GetAction()+":"+p.Comment.GetUser().GetLogin()+":"+p.Comment.GetBody())
		}
		want := []string{"created:" + bot + ":Deleted 3 versions.", "created:wally:/pkgwarden restore all", "edited:wally:/pkgwarden restore 42"}
		if !slices.Equal(got, want) {
			t.Fatalf("comment webhooks %v, want %v", got, want)
		}
		if ps[2].GetChanges().GetBody().GetFrom() != "/pkgwarden restore all" || ps[2].GetIssue().GetComments() != 2 || ps[2].Installation.ID != w.orgInst {
			t.Errorf("edited: from %q, issue comments %d, installation %d", ps[2].GetChanges().GetBody().GetFrom(), ps[2].GetIssue().GetComments(), ps[2].Installation.ID)
		}
		list, _, err := cl["rita"].Issues.ListComments(ctx, "acme", "app", 1, nil)
		if err != nil || len(list) != 2 || list[1].GetBody() != "/pkgwarden restore 42" {
			t.Errorf("comments %d: %v", len(list), err)
		}
		stored, err := f.sim.Issues("acme", "app")
		if err != nil || len(stored) != 5 || len(stored[0].Comments) != 2 || stored[0].Body != "- [x] restore v1" {
			t.Errorf("Issues(): %d issues: %v", len(stored), err)
		}
	})

	t.Run("key sets", func(t *testing.T) {
		tok, _ := f.sim.AddClassicToken("olga", "repo")
		var issue map[string]any
		f.rawGET(t, "/repos/acme/app/issues/1", "token "+tok, &issue)
		assertKeys(t, "issue", issue, issueKeys...)
		assertKeys(t, "issue user", issue["user"].(map[string]any), userKeys...)
		assertKeys(t, "issue label", issue["labels"].([]any)[0].(map[string]any), labelKeys...)
		var comments []map[string]any
		f.rawGET(t, "/repos/acme/app/issues/1/comments", "token "+tok, &comments)
		assertKeys(t, "comment", comments[0], commentKeys...)
	})
}

func TestIssueRefusals(t *testing.T) {
	w, cl := issuesWorld(t)
	f, ctx := w.f, context.Background()
	if _, err := f.sim.AddRepo("acme", "quiet", RepoOptions{NoIssues: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.AddRepo("acme", "public", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl["olga"].Issues.Create(ctx, "acme", "app", &github.IssueRequest{Title: github.String("first")}); err != nil {
		t.Fatal(err)
	}
	noScope, _ := f.sim.AddClassicToken("rita", "read:packages")
	publicOnly, _ := f.sim.AddClassicToken("stranger", "public_repo")
	cl["rita without repo"] = f.client(noScope)
	cl["stranger with public_repo"] = f.client(publicOnly)
	cl["anonymous"] = f.client("")
	cl["app"] = f.appClient(t)

	tests := map[string]struct {
		who, repo string
		req       github.IssueRequest
		want      int
	}{
		"issues disabled":                       {"olga", "quiet", github.IssueRequest{Title: github.String("x")}, 410},
		"issues disabled, bot":                  {"bot", "quiet", github.IssueRequest{Title: github.String("x")}, 403},
		"reader's token without repo, private":  {"rita without repo", "app", github.IssueRequest{Title: github.String("x")}, 404},
		"stranger, private repository":          {"stranger", "app", github.IssueRequest{Title: github.String("x")}, 404},
		"stranger, public repository":           {"stranger", "public", github.IssueRequest{Title: github.String("x")}, 201},
		"public_repo scope, public repository":  {"stranger with public_repo", "public", github.IssueRequest{Title: github.String("x")}, 201},
		"public_repo scope, private repository": {"stranger with public_repo", "app", github.IssueRequest{Title: github.String("x")}, 404},
		"anonymous":                             {"anonymous", "public", github.IssueRequest{Title: github.String("x")}, 401},
		"app JWT":                               {"app", "public", github.IssueRequest{Title: github.String("x")}, 403},
		"bot outside its repositories":          {"bot", "other", github.IssueRequest{Title: github.String("x")}, 404},
		"no title":                              {"olga", "app", github.IssueRequest{Body: github.String("x")}, 422},
		"body over 65536 characters":            {"olga", "app", github.IssueRequest{Title: github.String("x"), Body: github.String(strings.Repeat("é", 65537))}, 422},
		"body of 65536 characters":              {"olga", "app", github.IssueRequest{Title: github.String("x"), Body: github.String(strings.Repeat("é", 65536))}, 201},
		"assignee without access":               {"olga", "app", github.IssueRequest{Title: github.String("x"), Assignees: &[]string{"stranger"}}, 422},
		"assignee with access":                  {"olga", "app", github.IssueRequest{Title: github.String("x"), Assignees: &[]string{"wally"}}, 201},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, resp, err := cl[tc.who].Issues.Create(ctx, "acme", tc.repo, &tc.req)
			if resp == nil || resp.StatusCode != tc.want {
				t.Errorf("create: %v, want %d", err, tc.want)
			}
		})
	}

	t.Run("issues disabled elsewhere", func(t *testing.T) {
		_, resp, err := cl["olga"].Issues.ListByRepo(ctx, "acme", "quiet", nil)
		var ge *github.ErrorResponse
		if resp == nil || resp.StatusCode != http.StatusGone || !errors.As(err, &ge) || ge.Message != msgIssuesDisabled {
			t.Errorf("list: %v, want 410 %q", err, msgIssuesDisabled)
		}
		off := false
		if err := f.sim.UpdateRepo("acme", "app", RepoUpdate{HasIssues: &off}); err != nil {
			t.Fatal(err)
		}
		_, resp, _ = cl["olga"].Issues.Get(ctx, "acme", "app", 1)
		if resp == nil || resp.StatusCode != http.StatusGone {
			t.Errorf("get once disabled: %v, want 410", resp)
		}
	})

	t.Run("missing issue", func(t *testing.T) {
		_, resp, _ := cl["olga"].Issues.Get(ctx, "acme", "public", 99)
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("want 404, got %v", resp)
		}
	})
}

// TestIssueNumbersAfterPullRequests: issues and pull requests share one
// number sequence, so an issue is found by its number, not by its place
// among the repository's issues.
func TestIssueNumbersAfterPullRequests(t *testing.T) {
	w, clients := issuesWorld(t)
	f, ctx := w.f, context.Background()
	if err := f.sim.PutFile("acme", "app", "feature", "a.txt", []byte("a\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	pr, err := f.sim.OpenPullRequest("acme", "app", PullRequestOptions{Head: "feature", Title: "feature", User: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int
	for _, title := range []string{"first", "second"} {
		n, err := f.sim.CreateIssue("acme", "app", "olga", title, "")
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, n)
	}
	for i, title := range []string{"first", "second"} {
		is, _, err := clients["olga"].Issues.Get(ctx, "acme", "app", numbers[i])
		if err != nil || is.GetNumber() != numbers[i] || is.GetTitle() != title {
			t.Errorf("issue %d (after pull request %d): %v, number %d title %q", numbers[i], pr, err, is.GetNumber(), is.GetTitle())
		}
	}
	if _, resp, err := clients["olga"].Issues.Get(ctx, "acme", "app", numbers[1]+1); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("issue past the last: %v, want 404", err)
	}
	// The Go API finds it by number too.
	if _, err := f.sim.Comment("acme", "app", numbers[1], "olga", IssueOptions{Body: "on the second"}); err != nil {
		t.Errorf("Comment on issue %d: %v", numbers[1], err)
	}
	cs, _, err := clients["olga"].Issues.ListComments(ctx, "acme", "app", numbers[1], nil)
	if err != nil || len(cs) != 1 || cs[0].GetBody() != "on the second" {
		t.Errorf("comments of issue %d: %v %v", numbers[1], cs, err)
	}
	if _, err := f.sim.Comment("acme", "app", numbers[1]+1, "olga", IssueOptions{Body: "x"}); err == nil {
		t.Error("Comment on an issue past the last: no error")
	}
}

// webEditorTransport marks every request as coming from GitHub's web
// editor (WebEditorHeader).
type webEditorTransport struct{ base http.RoundTripper }

func (t webEditorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(WebEditorHeader, "web")
	return t.base.RoundTrip(r)
}

// TestWebEditorBodies: a body written through the web editor (the
// per-request header on the REST API, IssueOptions.WebEditor in the Go
// API, web_editor on the admin route) is stored, answered and sent in
// the webhook with every line ending "\r\n"; one written by an API client
// is kept as sent, "\r\n" included.
func TestWebEditorBodies(t *testing.T) {
	const body, crlf = "hello\n\n- [x] box\r\nend\n", "hello\r\n\r\n- [x] box\r\nend\r\n"
	tests := map[string]struct {
		// write writes body on issue 1 (a comment, or the issue's own
		// body) and returns what the API answered.
		write func(t *testing.T, w *appWorld, cl map[string]*github.Client) string
		want  string
	}{
		"REST comment, API client": {write: func(t *testing.T, w *appWorld, cl map[string]*github.Client) string {
			c, _, err := cl["wally"].Issues.CreateComment(context.Background(), "acme", "app", 1, &github.IssueComment{Body: github.String(body)})
			if err != nil {
				t.Fatal(err)
			}
			return c.GetBody()
		}, want: body},
		"REST comment, web editor": {write: func(t *testing.T, w *appWorld, cl map[string]*github.Client) string {
			c, _, err := cl["wally-web"].Issues.CreateComment(context.Background(), "acme", "app", 1, &github.IssueComment{Body: github.String(body)})
			if err != nil {
				t.Fatal(err)
			}
			return c.GetBody()
		}, want: crlf},
		"REST issue edit, web editor": {write: func(t *testing.T, w *appWorld, cl map[string]*github.Client) string {
			is, _, err := cl["wally-web"].Issues.Edit(context.Background(), "acme", "app", 1, &github.IssueRequest{Body: github.String(body)})
			if err != nil {
				t.Fatal(err)
			}
			return is.GetBody()
		}, want: crlf},
		"Go API comment, web editor": {write: func(t *testing.T, w *appWorld, cl map[string]*github.Client) string {
			if _, err := w.f.sim.Comment("acme", "app", 1, "wally", IssueOptions{Body: body, WebEditor: true}); err != nil {
				t.Fatal(err)
			}
			return crlf
		}, want: crlf},
		"Go API comment, API client": {write: func(t *testing.T, w *appWorld, cl map[string]*github.Client) string {
			if _, err := w.f.sim.Comment("acme", "app", 1, "wally", IssueOptions{Body: body}); err != nil {
				t.Fatal(err)
			}
			return body
		}, want: body},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, cl := issuesWorld(t)
			f := w.f
			tok, err := f.sim.AddClassicToken("wally", "repo")
			if err != nil {
				t.Fatal(err)
			}
			cl["wally-web"] = f.point(github.NewClient(&http.Client{Transport: webEditorTransport{http.DefaultTransport}}).WithAuthToken(tok))
			if _, err := f.sim.OpenIssue("acme", "app", "wally", IssueOptions{Title: "t", Body: "first"}); err != nil {
				t.Fatal(err)
			}
			f.waitHooks(t)
			f.drain(t)
			if got := tc.write(t, w, cl); got != tc.want {
				t.Errorf("answered body %q, want %q", got, tc.want)
			}
			list, err := f.sim.Issues("acme", "app")
			if err != nil {
				t.Fatal(err)
			}
			stored := list[0].Body
			if n := len(list[0].Comments); n > 0 {
				stored = list[0].Comments[n-1].Body
			}
			if stored != tc.want {
				t.Errorf("stored body %q, want %q", stored, tc.want)
			}
			f.waitHooks(t)
			ps := decodeHooks(t, f.hook.take())
			if len(ps) != 1 {
				t.Fatalf("%d webhooks, want 1", len(ps))
			}
			sent := ps[0].GetIssue().GetBody()
			if ps[0].Comment != nil {
				sent = ps[0].Comment.GetBody()
			}
			if sent != tc.want {
				t.Errorf("webhook body %q, want %q", sent, tc.want)
			}
		})
	}
	t.Run("admin route", func(t *testing.T) {
		w, _ := issuesWorld(t)
		f := w.f
		b, _ := json.Marshal(map[string]any{"author": "wally", "title": "t", "body": body, "web_editor": true})
		if resp := f.raw(t, "POST", "/_admin/repos/acme/app/issues", "", string(b), nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("admin issue: %d", resp.StatusCode)
		}
		b, _ = json.Marshal(map[string]any{"author": "wally", "body": body, "web_editor": true})
		if resp := f.raw(t, "POST", "/_admin/repos/acme/app/issues/1/comments", "", string(b), nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("admin comment: %d", resp.StatusCode)
		}
		list, err := f.sim.Issues("acme", "app")
		if err != nil {
			t.Fatal(err)
		}
		if list[0].Body != crlf || len(list[0].Comments) != 1 || list[0].Comments[0].Body != crlf {
			t.Errorf("admin bodies %q / %+v, want %q", list[0].Body, list[0].Comments, crlf)
		}
	})
}
