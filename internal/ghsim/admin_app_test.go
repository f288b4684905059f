package ghsim

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-github/v57/github"
)

// TestAppAdminAPI builds a world through /_admin/ alone and checks it
// through the REST API.
func TestAppAdminAPI(t *testing.T) {
	f := newAppFixture(t)
	steps := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/_admin/users", `{"login":"olga"}`, 201},
		{"POST", "/_admin/users", `{"login":"wally"}`, 201},
		{"POST", "/_admin/users", `{"login":"olga"}`, 422},
		{"POST", "/_admin/users", `{"login":"x","extra":1}`, 400},
		{"POST", "/_admin/orgs", `{"login":"acme","admins":["olga"]}`, 201},
		{"POST", "/_admin/orgs", `{"login":"bad","admins":["nobody"]}`, 422},
		{"PUT", "/_admin/orgs/acme/members/wally", `{"role":"member"}`, 204},
		{"PUT", "/_admin/orgs/acme/members/wally", `{"role":"boss"}`, 400},
		{"POST", "/_admin/repos", `{"owner":"acme","name":"app","private":true}`, 201},
		{"POST", "/_admin/repos", `{"owner":"acme","name":"quiet","has_issues":false}`, 201},
		{"POST", "/_admin/repos", `{"owner":"nobody","name":"x"}`, 422},
		{"PUT", "/_admin/repos/acme/app/collaborators/wally", `{"permission":"write"}`, 204},
		{"PUT", "/_admin/repos/acme/app/collaborators/wally", `{"permission":"owner"}`, 422},
		{"POST", "/_admin/installations", `{"account":"acme","permissions":{"contents":"read","issues":"write"},"repositories":["app"]}`, 201},
		{"PUT", "/_admin/repos/acme/app/files/.github/pkgwarden.yml", `{"content":"keep: 3\n","pusher":"olga"}`, 200},
		{"PUT", "/_admin/repos/acme/app/files/logo.bin", `{"content_base64":"` + base64.StdEncoding.EncodeToString([]byte{0, 1, 2}) + `","pusher":"wally"}`, 200},
		{"PUT", "/_admin/repos/acme/app/files/x", `{"content":"a","content_base64":"YQ==","pusher":"olga"}`, 400},
		{"PUT", "/_admin/repos/acme/app/files/x", `{"content":"a","pusher":"acme"}`, 422},
		{"DELETE", "/_admin/repos/acme/app/files/logo.bin?pusher=olga", "", 200},
		{"POST", "/_admin/repos/acme/app/issues", `{"author":"wally","title":"hello","labels":["pkgwarden"]}`, 201},
		{"POST", "/_admin/repos/acme/quiet/issues", `{"author":"wally","title":"hello"}`, 422},
		{"PATCH", "/_admin/repos/acme/quiet", `{"has_issues":true}`, 204},
		{"POST", "/_admin/repos/acme/quiet/issues", `{"author":"wally","title":"now"}`, 201},
	}
	for _, st := range steps {
		if resp := f.raw(t, st.method, st.path, "", st.body, nil); resp.StatusCode != st.want {
			t.Fatalf("%s %s %s: status %d, want %d", st.method, st.path, st.body, resp.StatusCode, st.want)
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	if resp := f.raw(t, "POST", "/_admin/tokens", "", `{"user":"wally","scopes":["repo"]}`, &tok); resp.StatusCode != 201 {
		t.Fatalf("token: status %d", resp.StatusCode)
	}
	ctx := context.Background()
	c := f.client(tok.Token)
	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fc.GetContent(); got != "keep: 3\n" {
		t.Errorf("config %q", got)
	}
	if _, _, resp, _ := c.Repositories.GetContents(ctx, "acme", "app", "logo.bin", nil); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted file: %v, want 404", resp)
	}
	pl, _, err := c.Repositories.GetPermissionLevel(ctx, "acme", "app", "wally")
	if err != nil || pl.GetPermission() != "write" {
		t.Errorf("wally's permission %q: %v", pl.GetPermission(), err)
	}
	iss, _, err := c.Issues.ListByRepo(ctx, "acme", "app", &github.IssueListByRepoOptions{Labels: []string{"pkgwarden"}})
	if err != nil || len(iss) != 1 || iss[0].GetUser().GetLogin() != "wally" {
		t.Errorf("issues %d: %v", len(iss), err)
	}
	var stored []Issue
	if resp := f.rawGET(t, "/_admin/repos/acme/app/issues", "", &stored); resp.StatusCode != 200 || len(stored) != 1 || stored[0].Title != "hello" {
		t.Errorf("admin issues: status %d, %+v", resp.StatusCode, stored)
	}
	f.waitHooks(t)
	// The app installed (the admin API sends installation created), two
	// files written, one deleted, one issue opened and labeled; quiet is
	// not covered by the installation.
	want := []string{"installation/created", "push", "push", "push", "issues/opened", "issues/labeled"}
	if got := eventActions(t, f.hook.take()); !slices.Equal(got, want) {
		t.Errorf("webhooks %v, want %v", got, want)
	}
}
