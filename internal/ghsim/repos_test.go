package ghsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"
)

func TestBlobSHAIsGits(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin` and the empty blob.
	tests := map[string]struct{ in, want string }{
		"hello": {"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"},
		"empty": {"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := blobSHA([]byte(tc.in)); got != tc.want {
				t.Errorf("blobSHA(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestContents(t *testing.T) {
	w := newAppWorld(t)
	f, ctx := w.f, context.Background()
	config := bytes.Repeat([]byte("rules:\n  - keep: 10 # a long enough line to wrap base64 twice\n"), 4)
	if err := f.sim.PutFile("acme", "app", "", ".github/pkgwarden.yml", config, "olga"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("acme", "app", "dev", "README.md", []byte("hello\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	head, err := f.sim.HeadCommit("acme", "app", "")
	if err != nil || len(head) != 40 {
		t.Fatalf("head %q: %v", head, err)
	}
	tok, err := f.sim.AddClassicToken("olga", "repo")
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := f.installationClient(t, w.orgInst)

	t.Run("base64 round trip", func(t *testing.T) {
		for _, c := range []*github.Client{inst, f.client(tok)} {
			fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fc.GetContent()
			if err != nil {
				t.Fatal(err)
			}
			if got != string(config) || fc.GetSHA() != blobSHA(config) || fc.GetSize() != len(config) {
				t.Errorf("content %q sha %s size %d", got, fc.GetSHA(), fc.GetSize())
			}
		}
	})

	t.Run("download", func(t *testing.T) {
		rc, resp, err := inst.Repositories.DownloadContents(ctx, "acme", "app", ".github/pkgwarden.yml", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v", err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, config) {
			t.Errorf("downloaded %q: %v", got, err)
		}
		// The download URL keeps the repository's access rules.
		if resp := f.rawGET(t, "/_raw/acme/app/main/.github/pkgwarden.yml", "", nil); resp.StatusCode != 404 {
			t.Errorf("anonymous download of a private file: status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("shape as GitHub's", func(t *testing.T) {
		var body map[string]any
		resp := f.rawGET(t, "/repos/acme/app/contents/.github/pkgwarden.yml?ref=main", "token "+tok, &body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		assertKeys(t, "content", body, contentKeys...)
		content := body["content"].(string)
		lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
		if len(lines) < 3 || !strings.HasSuffix(content, "\n") {
			t.Fatalf("content %q: want several lines ending in a newline", content)
		}
		for i, l := range lines {
			if len(l) > 60 || (i < len(lines)-1 && len(l) != 60) {
				t.Errorf("line %d is %d characters, want 60 (shorter only last)", i, len(l))
			}
		}
		if body["type"] != "file" || body["encoding"] != "base64" || body["name"] != "pkgwarden.yml" || body["path"] != ".github/pkgwarden.yml" {
			t.Errorf("type %v encoding %v name %v path %v", body["type"], body["encoding"], body["name"], body["path"])
		}
	})

	gets := map[string]struct {
		path, ref string
		want      int
		dir       []string
	}{
		"by branch":           {"README.md", "dev", 200, nil},
		"by head sha":         {".github/pkgwarden.yml", head, 200, nil},
		"not on that branch":  {"README.md", "main", 404, nil},
		"absent":              {"nope.txt", "", 404, nil},
		"unknown ref":         {"README.md", "feature", 404, nil},
		"root directory":      {"", "dev", 200, []string{".github", "README.md"}},
		"nested directory":    {".github", "", 200, []string{"pkgwarden.yml"}},
		"branch has both":     {"", "refs/heads/dev", 200, []string{".github", "README.md"}},
		"directory not there": {"docs", "", 404, nil},
	}
	for name, tc := range gets {
		t.Run(name, func(t *testing.T) {
			fc, dc, resp, err := inst.Repositories.GetContents(ctx, "acme", "app", tc.path, &github.RepositoryContentGetOptions{Ref: tc.ref})
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("status: %v, want %d", err, tc.want)
			}
			if tc.want != 200 {
				return
			}
			if tc.dir == nil {
				if fc == nil || fc.GetType() != "file" {
					t.Fatalf("want a file, got %v", dc)
				}
				return
			}
			var names []string
			for _, e := range dc {
				names = append(names, e.GetName())
			}
			if !slices.Equal(names, tc.dir) {
				t.Errorf("directory %v, want %v", names, tc.dir)
			}
		})
	}

	t.Run("private repository", func(t *testing.T) {
		noRepo, err := f.sim.AddClassicToken("olga", "read:packages")
		if err != nil {
			t.Fatal(err)
		}
		for auth, want := range map[string]int{"": 404, "token " + noRepo: 404, "token " + tok: 200} {
			if resp := f.rawGET(t, "/repos/acme/app/contents/README.md?ref=dev", auth, nil); resp.StatusCode != want {
				t.Errorf("auth %.10q: status %d, want %d", auth, resp.StatusCode, want)
			}
		}
	})
}

func TestPushWebhook(t *testing.T) {
	w := newAppWorld(t)
	f := w.f
	type push struct {
		github.PushEvent
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
	}
	steps := []struct {
		name                     string
		do                       func() error
		added, modified, removed []string
		created                  bool
	}{
		{"first commit", func() error { return f.sim.PutFile("acme", "app", "", "a.yml", []byte("a: 1\n"), "olga") }, []string{"a.yml"}, nil, nil, true},
		{"modify", func() error { return f.sim.PutFile("acme", "app", "main", "a.yml", []byte("a: 2\n"), "olga") }, nil, []string{"a.yml"}, nil, false},
		{"add", func() error { return f.sim.PutFile("acme", "app", "", "b.yml", []byte("b\n"), "olga") }, []string{"b.yml"}, nil, nil, false},
		{"remove", func() error { return f.sim.DeleteFile("acme", "app", "", "a.yml", "olga") }, nil, nil, []string{"a.yml"}, false},
	}
	before := strings.Repeat("0", 40)
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		f.waitHooks(t)
		got := f.hook.take()
		if len(got) != 1 || got[0].Event != "push" || !got[0].Valid || got[0].Delivery == "" {
			t.Fatalf("%s: deliveries %+v, want one signed push", st.name, got)
		}
		var p push
		if err := json.Unmarshal(got[0].Body, &p); err != nil {
			t.Fatal(err)
		}
		head, _ := f.sim.HeadCommit("acme", "app", "")
		c := p.GetHeadCommit()
		switch {
		case p.GetRef() != "refs/heads/main", p.GetBefore() != before, p.GetAfter() != head, p.GetCreated() != st.created:
			t.Errorf("%s: ref %s before %s after %s created %v; want before %s after %s created %v",
				st.name, p.GetRef(), p.GetBefore(), p.GetAfter(), p.GetCreated(), before, head, st.created)
		case p.Installation.ID != w.orgInst, p.GetSender().GetLogin() != "olga", p.GetRepo().GetFullName() != "Acme/app", p.GetOrganization().GetLogin() != "Acme":
			t.Errorf("%s: installation %d sender %s repo %s org %s", st.name, p.Installation.ID, p.GetSender().GetLogin(), p.GetRepo().GetFullName(), p.GetOrganization().GetLogin())
		case len(p.Commits) != 1 || c.GetID() != head:
			t.Errorf("%s: %d commits, head commit %s", st.name, len(p.Commits), c.GetID())
		case !slices.Equal(c.Added, st.added) || !slices.Equal(c.Modified, st.modified) || !slices.Equal(c.Removed, st.removed):
			t.Errorf("%s: added %v modified %v removed %v", st.name, c.Added, c.Modified, c.Removed)
		}
		before = head
	}

	t.Run("new branch", func(t *testing.T) {
		if err := f.sim.PutFile("acme", "app", "feature", "c.yml", []byte("c\n"), "olga"); err != nil {
			t.Fatal(err)
		}
		f.waitHooks(t)
		got := f.hook.take()
		if len(got) != 1 {
			t.Fatalf("%d deliveries, want 1", len(got))
		}
		var p push
		if err := json.Unmarshal(got[0].Body, &p); err != nil {
			t.Fatal(err)
		}
		head, _ := f.sim.HeadCommit("acme", "app", "feature")
		if p.GetRef() != "refs/heads/feature" || !p.GetCreated() || p.GetBefore() != strings.Repeat("0", 40) || p.GetAfter() != head {
			t.Errorf("ref %s created %v before %s after %s", p.GetRef(), p.GetCreated(), p.GetBefore(), p.GetAfter())
		}
		// The branch starts from the default branch.
		_, dir, _, err := f.client("").Repositories.GetContents(context.Background(), "alice", "dots", "", nil)
		if err == nil || dir != nil {
			t.Errorf("an empty repository listed %v", dir)
		}
		tok, _ := f.sim.AddClassicToken("olga", "repo")
		_, dir, _, err = f.client(tok).Repositories.GetContents(context.Background(), "acme", "app", "", &github.RepositoryContentGetOptions{Ref: "feature"})
		var names []string
		for _, e := range dir {
			names = append(names, e.GetName())
		}
		if err != nil || !slices.Equal(names, []string{"b.yml", "c.yml"}) {
			t.Errorf("feature branch holds %v (%v), want b.yml and c.yml", names, err)
		}
	})

	t.Run("delivery log", func(t *testing.T) {
		log := f.sim.Deliveries()
		if len(log) != len(steps)+1 {
			t.Fatalf("%d deliveries logged, want %d", len(log), len(steps)+1)
		}
		for _, d := range log {
			if d.Event != "push" || d.StatusCode != http.StatusAccepted || d.Status != "OK" || d.GUID == "" {
				t.Errorf("delivery %+v", d)
			}
		}
	})

	t.Run("nothing without an installation or the contents permission", func(t *testing.T) {
		if _, err := f.sim.AddOrg("noperm", "olga"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sim.AddRepo("noperm", "r", RepoOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sim.AddInstallation("noperm", map[string]string{"issues": "write"}); err != nil {
			t.Fatal(err)
		}
		for _, target := range [][2]string{{"acme", "other"}, {"beta", "x"}, {"noperm", "r"}} {
			if err := f.sim.PutFile(target[0], target[1], "", "f", []byte("x"), "olga"); err != nil {
				t.Fatal(err)
			}
		}
		// The same content again commits nothing.
		if err := f.sim.PutFile("acme", "app", "", "b.yml", []byte("b\n"), "olga"); err != nil {
			t.Fatal(err)
		}
		f.waitHooks(t)
		if got := f.hook.take(); len(got) != 0 {
			t.Errorf("%d deliveries, want none: %v", len(got), eventActions(t, got))
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for name, err := range map[string]error{
			"no repo":           f.sim.PutFile("acme", "nope", "", "f", nil, "olga"),
			"pusher not a user": f.sim.PutFile("acme", "app", "", "f", nil, "acme"),
			"empty path":        f.sim.PutFile("acme", "app", "", "/", nil, "olga"),
			"delete absent":     f.sim.DeleteFile("acme", "app", "", "zzz", "olga"),
		} {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

func TestCollaboratorPermission(t *testing.T) {
	f := newAppFixture(t)
	for _, u := range []string{"owner", "maint", "writer", "triager", "reader", "member", "nobody"} {
		if _, err := f.sim.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.AddOrg("acme", "owner"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AddOrgMember("acme", "member", false); err != nil {
		t.Fatal(err)
	}
	for _, r := range []RepoOptions{{Private: true}, {}} {
		name := "secret"
		if !r.Private {
			name = "open"
		}
		if _, err := f.sim.AddRepo("acme", name, r); err != nil {
			t.Fatal(err)
		}
		for u, p := range map[string]string{"maint": "maintain", "writer": "write", "triager": "triage", "reader": "read"} {
			if err := f.sim.SetCollaborator("acme", name, u, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.sim.AddRepo("nobody", "own", RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	asWriter, _ := f.sim.AddClassicToken("writer", "repo")
	asOwner, _ := f.sim.AddClassicToken("nobody", "repo")
	ctx := context.Background()

	tests := map[string]struct {
		repo, user, token string
		permission, role  string
		status            int
	}{
		"org owner":                {"secret", "owner", asWriter, "admin", "admin", 200},
		"maintainer":               {"secret", "maint", asWriter, "write", "maintain", 200},
		"writer":                   {"secret", "writer", asWriter, "write", "write", 200},
		"triager":                  {"secret", "triager", asWriter, "read", "triage", 200},
		"reader":                   {"secret", "reader", asWriter, "read", "read", 200},
		"org member":               {"secret", "member", asWriter, "read", "read", 200},
		"nobody, private":          {"secret", "nobody", asWriter, "none", "none", 200},
		"nobody, public":           {"open", "nobody", asWriter, "read", "read", 200},
		"owner of a user repo":     {"own", "nobody", asOwner, "admin", "admin", 200},
		"not a user":               {"secret", "ghost", asWriter, "", "", 404},
		"an org is not a user":     {"secret", "acme", asWriter, "", "", 404},
		"caller without push":      {"open", "writer", "reader", "", "", 403},
		"caller cannot see it":     {"secret", "writer", "nobody", "", "", 404},
		"anonymous on public repo": {"open", "writer", "", "", "", 401},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tok := tc.token
			if tok == "reader" || tok == "nobody" {
				tok, _ = f.sim.AddClassicToken(tok, "repo")
			}
			owner := "acme"
			if tc.repo == "own" {
				owner = "nobody"
			}
			pl, resp, err := f.client(tok).Repositories.GetPermissionLevel(ctx, owner, tc.repo, tc.user)
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status: %v, want %d", err, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if pl.GetPermission() != tc.permission || pl.GetUser().GetLogin() != tc.user || pl.GetUser().GetRoleName() != tc.role {
				t.Errorf("permission %q role %q user %q; want %q %q %q", pl.GetPermission(), pl.GetUser().GetRoleName(),
					pl.GetUser().GetLogin(), tc.permission, tc.role, tc.user)
			}
			var raw map[string]any
			f.rawGET(t, "/repos/"+owner+"/"+tc.repo+"/collaborators/"+tc.user+"/permission", "token "+tok, &raw)
			assertKeys(t, "permission", raw, "permission", "role_name", "user")
		})
	}

	t.Run("installation token", func(t *testing.T) {
		id, err := f.sim.AddInstallation("acme", map[string]string{"issues": "write"})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := f.installationClient(t, id)
		pl, _, err := c.Repositories.GetPermissionLevel(ctx, "acme", "secret", "writer")
		if err != nil || pl.GetPermission() != "write" {
			t.Errorf("permission %q: %v", pl.GetPermission(), err)
		}
	})

	t.Run("repository object", func(t *testing.T) {
		var raw map[string]any
		if resp := f.rawGET(t, "/repos/acme/secret", "token "+asWriter, &raw); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		assertKeys(t, "repository", raw, repoKeys...)
		assertKeys(t, "repository owner", raw["owner"].(map[string]any), userKeys...)
		perms, _ := raw["permissions"].(map[string]any)
		if perms["push"] != true || perms["admin"] != false || raw["private"] != true || raw["default_branch"] != "main" {
			t.Errorf("permissions %v private %v default_branch %v", perms, raw["private"], raw["default_branch"])
		}
	})
}
