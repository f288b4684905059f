package ghsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
)

// pkAdminDo sends one admin request and returns its status and body.
func pkAdminDo(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminPackages(t *testing.T) {
	rcv := &pkHookReceiver{}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	w := newPkWorld(t, Options{})
	w.sim.SetWebhookURL(hooks.URL)
	ctx := context.Background()
	old := w.sim.Now().Add(-10 * 24 * time.Hour).Format(time.RFC3339)

	steps := []struct {
		label, method, path, body string
		status                    int
	}{
		{"publish", "POST", "/_admin/packages/publish", `{"owner":"ACME","package_type":"npm","name":"tool","version":"2.0.0-rc.1","repository":"webapp","prerelease":true,"created_at":"` + old + `"}`, 201},
		{"publish again", "POST", "/_admin/packages/publish", `{"owner":"acme","package_type":"npm","name":"tool","version":"2.0.0"}`, 201},
		{"publish a container", "POST", "/_admin/packages/publish", `{"owner":"acme","package_type":"container","name":"x","version":"1"}`, 422},
		{"unknown field", "POST", "/_admin/packages/publish", `{"owner":"acme","nope":1}`, 400},
		{"downloads and times", "PATCH", "/_admin/packages/acme/npm/tool/versions/2.0.0", `{"downloads":6000,"updated_at":"` + old + `"}`, 204},
		{"visibility", "PATCH", "/_admin/packages/acme/npm/tool", `{"visibility":"public"}`, 204},
		{"escaped name", "PATCH", "/_admin/packages/acme/container/team%2Fapp", `{"visibility":"internal"}`, 204},
		{"unknown package", "PATCH", "/_admin/packages/acme/npm/nope", `{"visibility":"public"}`, 404},
		{"clock", "POST", "/_admin/clock", `{"advance":"48h"}`, 200},
		{"bad clock", "POST", "/_admin/clock", `{"advance":"two days"}`, 422},
		{"stale listing", "PUT", "/_admin/stale-listing", `{"stale_listing":"45s"}`, 200},
		{"negative stale listing", "PUT", "/_admin/stale-listing", `{"stale_listing":"-1s"}`, 422},
	}
	for _, st := range steps {
		if status, body := pkAdminDo(t, w.api.URL, st.method, st.path, st.body); status != st.status {
			t.Fatalf("%s: %d %s, want %d", st.label, status, body, st.status)
		}
	}
	if got := w.sim.StaleListing(); got != 45*time.Second {
		t.Errorf("stale listing %s, want 45s", got)
	}
	if status, body := pkAdminDo(t, w.api.URL, "GET", "/_admin/stale-listing", ""); status != 200 || body != `{"stale_listing":"45s"}`+"\n" {
		t.Errorf("GET /_admin/stale-listing: %d %q", status, body)
	}
	c := w.client(t, "alice")
	p, _, err := c.Organizations.GetPackage(ctx, "acme", "npm", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if p.GetVisibility() != "public" || p.GetVersionCount() != 2 || p.GetRepository().GetFullName() != "acme/webapp" {
		t.Errorf("package: %v", p)
	}
	vs, _, err := c.Organizations.PackageGetAllVersions(ctx, "acme", "npm", "tool", &github.PackageListOptions{})
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions: %v %v", vs, err)
	}
	if vs[0].GetName() != "2.0.0" || w.sim.Now().Sub(vs[1].GetCreatedAt().Time) < 11*24*time.Hour {
		t.Errorf("order or backdating: %s %s / %s %s", vs[0].GetName(), vs[0].GetCreatedAt(), vs[1].GetName(), vs[1].GetCreatedAt())
	}
	// 6000 downloads on a public package: refused.
	r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", "tool", vs[0].GetID())
	if pkStatusOf(t, r, err) != http.StatusForbidden {
		t.Errorf("delete of a version with 6000 downloads: %v", err)
	}
	// Each publish sent one registry_package webhook.
	if err := w.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.reqs) != 2 {
		t.Fatalf("%d webhooks, want 2", len(rcv.reqs))
	}
	var hook struct {
		Action          string `json:"action"`
		RegistryPackage struct {
			Ecosystem      string `json:"ecosystem"`
			PackageVersion struct {
				Version    string `json:"version"`
				Prerelease bool   `json:"prerelease"`
			} `json:"package_version"`
		} `json:"registry_package"`
	}
	if err := json.Unmarshal(rcv.reqs[0].body, &hook); err != nil {
		t.Fatal(err)
	}
	if hook.Action != "published" || hook.RegistryPackage.Ecosystem != "npm" ||
		hook.RegistryPackage.PackageVersion.Version != "2.0.0-rc.1" || !hook.RegistryPackage.PackageVersion.Prerelease {
		t.Errorf("webhook: %+v", hook)
	}
}

func TestVisibilityFilter(t *testing.T) {
	w := newPkWorld(t, Options{})
	ctx := context.Background()
	if _, err := w.sim.Publish("acme", "npm", "open", "1.0.0", PublishOptions{Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		tok, vis string
		want     []string
	}{
		"all":                       {"alice", "", []string{orgNPM, "open"}},
		"public":                    {"alice", "public", []string{"open"}},
		"private":                   {"alice", "private", []string{orgNPM}},
		"outsider sees public only": {"dave", "", []string{"open"}},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			o := &github.PackageListOptions{PackageType: github.String("npm")}
			if tc.vis != "" {
				o.Visibility = github.String(tc.vis)
			}
			pkgs, _, err := w.client(t, tc.tok).Organizations.ListPackages(ctx, "acme", o)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range pkgs {
				names = append(names, p.GetName())
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("packages %v, want %v", names, tc.want)
			}
		})
	}
}
