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

// prWorld is acme/app (public) with rules on main, the App installed on
// acme with what a config check needs, and alice, who forks it.
type prWorld struct {
	f    *appFixture
	inst *github.Client
	main string // head of main
}

func newPRWorld(t *testing.T) *prWorld {
	t.Helper()
	f := newAppFixture(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"olga", "alice"} {
		_, err := f.sim.AddUser(u)
		must(err)
	}
	_, err := f.sim.AddOrg("acme", "olga")
	must(err)
	_, err = f.sim.AddRepo("acme", "app", RepoOptions{})
	must(err)
	must(f.sim.PutFile("acme", "app", "", ".github/pkgwarden.yml", []byte("rules:\n  - keep: 10\n"), "olga"))
	must(f.sim.PutFile("acme", "app", "", "README.md", []byte("app\n"), "olga"))
	id, err := f.sim.AddInstallation("acme", map[string]string{"contents": "read", "pull_requests": "read", "checks": "write"})
	must(err)
	inst, _ := f.installationClient(t, id)
	head, err := f.sim.HeadCommit("acme", "app", "")
	must(err)
	f.drain(t)
	return &prWorld{f: f, inst: inst, main: head}
}

func TestContentsAtRef(t *testing.T) {
	w := newPRWorld(t)
	f, ctx := w.f, context.Background()
	if err := f.sim.PutFile("acme", "app", "feature", ".github/pkgwarden.yml", []byte("rules: [v2]\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	first, _ := f.sim.HeadCommit("acme", "app", "feature")
	if err := f.sim.PutFile("acme", "app", "feature", ".github/pkgwarden.yml", []byte("rules: [v3]\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ref, want string
		status    int
	}{
		"no ref is the default branch": {ref: "", want: "rules:\n  - keep: 10\n"},
		"default branch by name":       {ref: "main", want: "rules:\n  - keep: 10\n"},
		"other branch":                 {ref: "feature", want: "rules: [v3]\n"},
		"refs/heads/":                  {ref: "refs/heads/feature", want: "rules: [v3]\n"},
		"an older commit of a branch":  {ref: first, want: "rules: [v2]\n"},
		"the default branch's head":    {ref: w.main, want: "rules:\n  - keep: 10\n"},
		"unknown ref":                  {ref: "nope", status: http.StatusNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fc, _, resp, err := w.inst.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", &github.RepositoryContentGetOptions{Ref: tc.ref})
			if tc.status != 0 {
				if resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("status %v, want %d (err %v)", resp, tc.status, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := fc.GetContent()
			if got != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
		})
	}
}

// prHook is the part of a pull_request webhook a receiver reads.
type prHook struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	Before      string `json:"before"`
	After       string `json:"after"`
	PullRequest struct {
		Number int `json:"number"`
		Head   struct {
			Ref  string `json:"ref"`
			SHA  string `json:"sha"`
			Repo struct {
				FullName string `json:"full_name"`
				Fork     bool   `json:"fork"`
				Owner    struct {
					Login string `json:"login"`
				} `json:"owner"`
			} `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref  string `json:"ref"`
			SHA  string `json:"sha"`
			Repo struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// onePRHook waits for the deliveries under way and returns the one
// pull_request webhook among them, checking its signature.
func onePRHook(t *testing.T, f *appFixture) prHook {
	t.Helper()
	f.waitHooks(t)
	got := f.hook.take()
	if len(got) != 1 || got[0].Event != "pull_request" || !got[0].Valid {
		t.Fatalf("deliveries %v (valid %v), want one signed pull_request", eventActions(t, got), len(got) == 1 && got[0].Valid)
	}
	var h prHook
	if err := json.Unmarshal(got[0].Body, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPullRequestFromFork(t *testing.T) {
	w := newPRWorld(t)
	f, ctx := w.f, context.Background()
	if _, err := f.sim.AddFork("acme", "app", "alice"); err != nil {
		t.Fatal(err)
	}
	hostile := "rules:\n  - delete_tags: [\"*\"]\n"
	if err := f.sim.PutFile("alice", "app", "rules", ".github/pkgwarden.yml", []byte(hostile), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("alice", "app", "rules", "docs/a.md", []byte("a\n"), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.DeleteFile("alice", "app", "rules", "README.md", "alice"); err != nil {
		t.Fatal(err)
	}
	forkHead, _ := f.sim.HeadCommit("alice", "app", "rules")
	n, err := f.sim.OpenPullRequest("acme", "app", PullRequestOptions{Head: "alice:rules", Title: "keep less"})
	if err != nil {
		t.Fatal(err)
	}

	h := onePRHook(t, f)
	if h.Action != "opened" || h.Number != n || h.PullRequest.Number != n ||
		h.PullRequest.Head.SHA != forkHead || h.PullRequest.Head.Ref != "rules" ||
		h.PullRequest.Head.Repo.FullName != "alice/app" || !h.PullRequest.Head.Repo.Fork || h.PullRequest.Head.Repo.Owner.Login != "alice" ||
		h.PullRequest.Base.Ref != "main" || h.PullRequest.Base.SHA != w.main || h.PullRequest.Base.Repo.FullName != "acme/app" ||
		h.Repository.FullName != "acme/app" || h.Installation.ID == 0 || h.Sender.Login != "alice" {
		t.Errorf("opened webhook %+v", h)
	}

	pr, _, err := w.inst.PullRequests.Get(ctx, "acme", "app", n)
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetHead().GetSHA() != forkHead || pr.GetHead().GetRepo().GetFullName() != "alice/app" || pr.GetBase().GetRef() != "main" ||
		pr.GetChangedFiles() != 3 || pr.GetCommits() != 3 || pr.GetState() != "open" {
		t.Errorf("pull request: head %s %s, base %s, %d files, %d commits, %s",
			pr.GetHead().GetSHA(), pr.GetHead().GetRepo().GetFullName(), pr.GetBase().GetRef(), pr.GetChangedFiles(), pr.GetCommits(), pr.GetState())
	}

	// The files, one per page, follow the Link header to the end.
	var files []string
	opt := &github.ListOptions{PerPage: 1}
	for {
		page, resp, err := w.inst.PullRequests.ListFiles(ctx, "acme", "app", n, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, cf := range page {
			files = append(files, cf.GetFilename()+" "+cf.GetStatus())
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	want := []string{".github/pkgwarden.yml modified", "README.md removed", "docs/a.md added"}
	if !slices.Equal(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}

	// The App is not installed on the fork: it reads the head commit
	// through the base repository, as GitHub lets it.
	for _, ref := range []string{forkHead, "refs/pull/1/head"} {
		fc, _, _, err := w.inst.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", &github.RepositoryContentGetOptions{Ref: ref})
		if err != nil {
			t.Fatalf("at %s: %v", ref, err)
		}
		if got, _ := fc.GetContent(); got != hostile {
			t.Errorf("at %s: %q, want the fork's file", ref, got)
		}
	}
	// The base branch is not touched by the fork.
	fc, _, _, err := w.inst.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fc.GetContent(); got != "rules:\n  - keep: 10\n" {
		t.Errorf("main: %q", got)
	}

	// A push to the head branch: a new head sha and "synchronize".
	if err := f.sim.PutFile("alice", "app", "rules", ".github/pkgwarden.yml", []byte("rules: []\n"), "alice"); err != nil {
		t.Fatal(err)
	}
	newHead, _ := f.sim.HeadCommit("alice", "app", "rules")
	h = onePRHook(t, f)
	if h.Action != "synchronize" || h.Before != forkHead || h.After != newHead || h.PullRequest.Head.SHA != newHead || newHead == forkHead {
		t.Errorf("synchronize webhook: action %s before %s after %s head %s; want %s → %s", h.Action, h.Before, h.After, h.PullRequest.Head.SHA, forkHead, newHead)
	}
	pr, _, err = w.inst.PullRequests.Get(ctx, "acme", "app", n)
	if err != nil || pr.GetHead().GetSHA() != newHead {
		t.Errorf("head after push %s (%v), want %s", pr.GetHead().GetSHA(), err, newHead)
	}
}

func TestPullRequestSameRepo(t *testing.T) {
	w := newPRWorld(t)
	f, ctx := w.f, context.Background()
	if _, err := f.sim.CreateIssue("acme", "app", "olga", "an issue first", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("acme", "app", "tighten", ".github/pkgwarden.yml", []byte("rules: []\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	f.drain(t) // the push
	n, err := f.sim.OpenPullRequest("acme", "app", PullRequestOptions{Head: "tighten", User: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("number %d, want 2: issues and pull requests share numbers", n)
	}
	if h := onePRHook(t, f); h.Action != "opened" || h.PullRequest.Head.Repo.FullName != "acme/app" || h.PullRequest.Head.Repo.Fork {
		t.Errorf("opened %+v", h)
	}
	if err := f.sim.SetPullRequestState("acme", "app", n, "closed", "olga"); err != nil {
		t.Fatal(err)
	}
	if h := onePRHook(t, f); h.Action != "closed" {
		t.Errorf("action %s, want closed", h.Action)
	}
	if err := f.sim.SetPullRequestState("acme", "app", n, "open", "olga"); err != nil {
		t.Fatal(err)
	}
	if h := onePRHook(t, f); h.Action != "reopened" || h.Sender.Login != "olga" {
		t.Errorf("action %s by %s, want reopened by olga", h.Action, h.Sender.Login)
	}
	files, _, err := w.inst.PullRequests.ListFiles(ctx, "acme", "app", n, nil)
	if err != nil || len(files) != 1 || files[0].GetFilename() != ".github/pkgwarden.yml" || files[0].GetStatus() != "modified" ||
		files[0].GetAdditions() != 1 || files[0].GetDeletions() != 2 {
		t.Errorf("files %v: %v", files, err)
	}
	_, resp, err := w.inst.PullRequests.Get(ctx, "acme", "app", 99)
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown pull request: %v", err)
	}
}

func TestOpenPullRequestRefusals(t *testing.T) {
	w := newPRWorld(t)
	f := w.f
	if _, err := f.sim.AddRepo("alice", "other", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("alice", "other", "x", "a", []byte("a"), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("acme", "app", "same", "README.md", []byte("app\n"), "olga"); err != nil {
		t.Fatal(err) // same content: no commit, the branch is not made
	}
	tests := map[string]PullRequestOptions{
		"no such branch":            {Head: "nope"},
		"head is base":              {Head: "main"},
		"not a fork":                {Head: "alice:x"},
		"no such base":              {Head: "main", Base: "nope"},
		"no commits between":        {Head: "same"},
		"opened by an organization": {Head: "main", User: "acme"},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := f.sim.OpenPullRequest("acme", "app", o); err == nil {
				t.Errorf("OpenPullRequest(%+v) succeeded", o)
			}
		})
	}
	f.waitHooks(t)
	for _, d := range f.hook.take() {
		if d.Event == "pull_request" {
			t.Errorf("a refused pull request sent a webhook")
		}
	}
}

func TestPullRequestAdmin(t *testing.T) {
	w := newPRWorld(t)
	f := w.f
	steps := []struct {
		method, path, body string
		status             int
		want               string // in the answer
	}{
		{"POST", "/_admin/repos/acme/app/forks", `{"owner":"alice"}`, http.StatusCreated, `"full_name":"alice/app"`},
		{"PUT", "/_admin/repos/alice/app/files/.github/pkgwarden.yml", `{"branch":"rules","content":"rules: []\n","pusher":"alice"}`, http.StatusOK, `"commit"`},
		{"POST", "/_admin/repos/acme/app/pulls", `{"head":"alice:rules","title":"t"}`, http.StatusCreated, `"number":1`},
		{"POST", "/_admin/repos/acme/app/pulls", `{"head":"alice:nope"}`, http.StatusUnprocessableEntity, `no branch`},
		{"PATCH", "/_admin/repos/acme/app/pulls/1", `{"state":"closed"}`, http.StatusNoContent, ``},
		{"PATCH", "/_admin/repos/acme/app/pulls/1", `{"state":"merged"}`, http.StatusUnprocessableEntity, `want open or closed`},
	}
	for _, st := range steps {
		var body json.RawMessage
		resp := f.raw(t, st.method, st.path, "", st.body, &body)
		if resp.StatusCode != st.status || !strings.Contains(string(body), st.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", st.method, st.path, resp.StatusCode, body, st.status, st.want)
		}
	}
	f.waitHooks(t)
	if got := eventActions(t, f.hook.take()); !slices.Equal(got, []string{"pull_request/opened", "pull_request/closed"}) {
		t.Errorf("webhooks %v", got)
	}
}

// GitHub sends pull_request only to an App that may read pull requests.
func TestPullRequestWebhookNeedsPermission(t *testing.T) {
	f := newAppFixture(t)
	for _, step := range []func() error{
		func() error { _, err := f.sim.AddUser("olga"); return err },
		func() error { _, err := f.sim.AddRepo("olga", "app", RepoOptions{}); return err },
		func() error {
			_, err := f.sim.AddInstallation("olga", map[string]string{"contents": "read", "checks": "write"})
			return err
		},
		func() error { return f.sim.PutFile("olga", "app", "b", "a", []byte("a\n"), "olga") },
		func() error {
			_, err := f.sim.OpenPullRequest("olga", "app", PullRequestOptions{Head: "b"})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	f.waitHooks(t)
	if got := eventActions(t, f.hook.take()); !slices.Equal(got, []string{"push"}) {
		t.Errorf("webhooks %v, want the push only", got)
	}
}

// Files seeded without a commit (SeedFile, as the demo does) are the base
// of a pull request whose branch started from them: only what the branch
// changed is listed.
func TestPullRequestOnSeededFiles(t *testing.T) {
	f := newAppFixture(t)
	ctx := context.Background()
	if _, err := f.sim.AddUser("olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.AddRepo("olga", "app", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{".github/pkgwarden.yml": "rules: []\n", "README.md": "app\n"} {
		if err := f.sim.SeedFile("olga", "app", p, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.sim.PutFile("olga", "app", "docs", "README.md", []byte("app\nmore\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	n, err := f.sim.OpenPullRequest("olga", "app", PullRequestOptions{Head: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := f.client("").PullRequests.ListFiles(ctx, "olga", "app", n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cf := range files {
		got = append(got, cf.GetFilename()+" "+cf.GetStatus())
	}
	if !slices.Equal(got, []string{"README.md modified"}) {
		t.Errorf("files %q, want README.md modified only", got)
	}
}
