package ghsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v57/github"
)

// pkStatusOf is the HTTP status of a go-github call.
func pkStatusOf(t *testing.T, resp *github.Response, err error) int {
	t.Helper()
	if resp == nil {
		t.Fatalf("no response: %v", err)
	}
	return resp.StatusCode
}

func TestPackageRules(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	tests := map[string]struct {
		// run performs the steps and returns the status of the last call
		// and its error message.
		run     func(t *testing.T, w *pkWorld) (int, error)
		status  int
		message string
	}{
		"last version cannot be deleted": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				vs, err := w.sim.Versions("acme", "npm", orgNPM)
				if err != nil {
					t.Fatal(err)
				}
				if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, vs[0].ID); pkStatusOf(t, r, err) != 204 {
					t.Fatalf("first delete: %v", err)
				}
				r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, vs[1].ID)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusBadRequest, message: "You cannot delete the last version of a package",
		},
		"public version over 5000 downloads": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				id := w.versionID(t, "carol", "rubygems", userGem)
				if err := w.sim.SetDownloads("carol", "rubygems", userGem, VersionRef{ID: id}, 5001); err != nil {
					t.Fatal(err)
				}
				r, err := w.client(t, "carol").Users.PackageDeleteVersion(ctx, "", "rubygems", userGem, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "more than 5000 downloads",
		},
		"public package with a version over 5000 downloads": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				if err := w.sim.SetDownloads("carol", "rubygems", userGem, VersionRef{Name: "0.1.0"}, 7000); err != nil {
					t.Fatal(err)
				}
				r, err := w.client(t, "carol").Users.DeletePackage(ctx, "carol", "rubygems", userGem)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "more than 5000 downloads",
		},
		"exactly 5000 downloads is deletable": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				id := w.versionID(t, "carol", "rubygems", userGem)
				if err := w.sim.SetDownloads("carol", "rubygems", userGem, VersionRef{ID: id}, 5000); err != nil {
					t.Fatal(err)
				}
				r, err := w.client(t, "carol").Users.PackageDeleteVersion(ctx, "", "rubygems", userGem, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNoContent,
		},
		"private version over 5000 downloads is deletable": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				id := w.versionID(t, "acme", "npm", orgNPM)
				if err := w.sim.SetDownloads("acme", "npm", orgNPM, VersionRef{ID: id}, 9000); err != nil {
					t.Fatal(err)
				}
				r, err := w.client(t, "alice").Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNoContent,
		},
		"version restore after 30 days": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				id := w.versionID(t, "acme", "npm", orgNPM)
				if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, id); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				w.sim.Advance(30*day + time.Hour)
				r, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "npm", orgNPM, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"version restore within 30 days": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				id := w.versionID(t, "acme", "npm", orgNPM)
				if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, id); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				w.sim.Advance(29 * day)
				r, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "npm", orgNPM, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNoContent,
		},
		"package restore after 30 days": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				if r, err := c.Organizations.DeletePackage(ctx, "acme", "npm", orgNPM); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				w.sim.Advance(31 * day)
				r, err := c.Organizations.RestorePackage(ctx, "acme", "npm", orgNPM)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"package restore while the namespace is reused": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				if r, err := c.Organizations.DeletePackage(ctx, "acme", "npm", orgNPM); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				if _, err := w.sim.Publish("acme", "npm", orgNPM, "2.0.0", PublishOptions{}); err != nil {
					t.Fatal(err)
				}
				r, err := c.Organizations.RestorePackage(ctx, "acme", "npm", orgNPM)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "Delete the new package first",
		},
		"version restore after its digest was pushed again": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				vs, err := w.sim.Versions("acme", "container", orgContainer)
				if err != nil {
					t.Fatal(err)
				}
				old := vs[0]                         // v2, the newest
				name := url.PathEscape(orgContainer) // go-github does not escape the slash
				if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", name, old.ID); pkStatusOf(t, r, err) != 204 {
					t.Fatalf("delete: %v", err)
				}
				// The same image (same digest) pushed again: a new version.
				img, err := DemoImage(w.sim.pkWebURL()+"/acme/webapp", "org-v2")
				if err != nil {
					t.Fatal(err)
				}
				d, err := w.sim.Pusher("alice", w.tokens["alice"]).PushImage(ctx, "acme/"+orgContainer, img, "v2")
				if err != nil {
					t.Fatal(err)
				}
				if d.String() != old.Name {
					t.Fatalf("pushed %s again, want the deleted version's digest %s", d, old.Name)
				}
				if now := w.versionID(t, "acme", "container", orgContainer); now == old.ID {
					t.Fatalf("the push brought back version %d instead of creating a new one", now)
				}
				r, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "container", name, old.ID)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "created since this one was deleted",
		},
		"deleted package is gone from get": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				if r, err := c.Organizations.DeletePackage(ctx, "acme", "npm", orgNPM); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				_, r, err := c.Organizations.GetPackage(ctx, "acme", "npm", orgNPM)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"member reads a private org package": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "bob").Organizations.GetPackage(ctx, "acme", "npm", orgNPM)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusOK,
		},
		"outsider cannot see a private org package": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "dave").Organizations.GetPackage(ctx, "acme", "npm", orgNPM)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"outsider cannot delete a public package": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				r, err := w.client(t, "dave").Users.DeletePackage(ctx, "carol", "rubygems", userGem)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden,
		},
		"docker needs the repo scope": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				tok, err := w.sim.AddClassicToken("alice", "read:packages")
				if err != nil {
					t.Fatal(err)
				}
				w.tokens["alice-read-2"] = tok
				_, r, err := w.client(t, "alice-read-2").Organizations.ListPackages(ctx, "acme",
					&github.PackageListOptions{PackageType: github.String("docker")})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "repo scope",
		},
		"delete without delete:packages, in GitHub's words": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				tok, err := w.sim.AddClassicToken("alice", "read:packages")
				if err != nil {
					t.Fatal(err)
				}
				w.tokens["alice-read-3"] = tok
				r, err := w.client(t, "alice-read-3").Organizations.DeletePackage(ctx, "acme", "npm", orgNPM)
				if got := r.Header.Get("X-OAuth-Scopes"); got != "read:packages" {
					t.Errorf("X-OAuth-Scopes = %q, want read:packages", got)
				}
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "You need at least delete:packages scope to delete a package.",
		},
		"SAML SSO enforced, token not authorised": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				if err := w.sim.EnforceSAML("acme", true); err != nil {
					t.Fatal(err)
				}
				_, r, err := w.client(t, "alice").Organizations.GetPackage(ctx, "acme", "npm", orgNPM)
				if sso := r.Header.Get("X-GitHub-SSO"); !strings.HasPrefix(sso, "required; url=") {
					t.Errorf("X-GitHub-SSO = %q, want required; url=...", sso)
				}
				if err := w.sim.AuthorizeSSO(w.tokens["alice"], "acme"); err != nil {
					t.Fatal(err)
				}
				if _, r, err := w.client(t, "alice").Organizations.GetPackage(ctx, "acme", "npm", orgNPM); pkStatusOf(t, r, err) != http.StatusOK {
					t.Errorf("once authorised: %v", err)
				}
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusForbidden, message: "SAML enforcement",
		},
		"container does not need the repo scope": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				tok, err := w.sim.AddClassicToken("alice", "read:packages")
				if err != nil {
					t.Fatal(err)
				}
				w.tokens["alice-read-2"] = tok
				_, r, err := w.client(t, "alice-read-2").Organizations.ListPackages(ctx, "acme",
					&github.PackageListOptions{PackageType: github.String("container")})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusOK,
		},
		"list without package_type": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "alice").Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusBadRequest, message: "package_type",
		},
		"list with an unknown package_type": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "alice").Organizations.ListPackages(ctx, "acme",
					&github.PackageListOptions{PackageType: github.String("pypi")})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusUnprocessableEntity, message: "package_type",
		},
		"list versions with an unknown state": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "alice").Organizations.PackageGetAllVersions(ctx, "acme", "npm", orgNPM,
					&github.PackageListOptions{State: github.String("gone")})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusUnprocessableEntity, message: "state",
		},
		"missing version": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "alice").Organizations.PackageGetVersion(ctx, "acme", "npm", orgNPM, 999999)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"deleting a deleted version": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				c := w.client(t, "alice")
				id := w.versionID(t, "acme", "npm", orgNPM)
				if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, id); pkStatusOf(t, r, err) != 204 {
					t.Fatal(err)
				}
				r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "npm", orgNPM, id)
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound, message: "Package not found.",
		},
		"unknown organization": {
			run: func(t *testing.T, w *pkWorld) (int, error) {
				_, r, err := w.client(t, "alice").Organizations.ListPackages(ctx, "nope",
					&github.PackageListOptions{PackageType: github.String("npm")})
				return pkStatusOf(t, r, err), err
			},
			status: http.StatusNotFound,
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			w := newPkWorld(t, Options{})
			status, err := tc.run(t, w)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, err)
			}
			if tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)) {
				t.Errorf("error %v, want it to say %q", err, tc.message)
			}
			if status == http.StatusForbidden {
				var ge *github.ErrorResponse
				if errors.As(err, &ge) && (ge.Response.Header.Get("Retry-After") != "" || ge.Response.Header.Get("X-RateLimit-Remaining") == "0") {
					t.Errorf("a refusal must not look like a rate limit: %v", ge.Response.Header)
				}
			}
		})
	}
}

// TestDeletedTags checks that deleted versions keep their tags in
// state=deleted listings and that a restore gives back only the tags no
// other version holds now, in the API and in the registry.
func TestDeletedTags(t *testing.T) {
	w := newPkWorld(t, Options{})
	ctx := context.Background()
	alice := w.auth("alice")
	p := w.sim.Pusher("alice", w.tokens["alice"])
	a, _ := DemoImage("", "a")
	b, _ := DemoImage("", "b")
	ad, err := p.PushImage(ctx, "acme/"+orgContainer, a, "stable", "moving")
	if err != nil {
		t.Fatal(err)
	}
	var aID int64
	vs, _ := w.sim.Versions("acme", "container", orgContainer)
	for _, v := range vs {
		if v.Name == ad.String() {
			aID = v.ID
		}
	}
	c := w.client(t, "alice")
	if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", pkURLEscape(orgContainer), aID); pkStatusOf(t, r, err) != 204 {
		t.Fatal(err)
	}
	if got := w.apiVersions(t, "alice", "acme", orgContainer, "deleted")[ad.String()]; strings.Join(got, ",") != "moving,stable" {
		t.Errorf("state=deleted tags %v, want [moving stable]", got)
	}
	if _, ok := w.apiVersions(t, "alice", "acme", orgContainer, "active")[ad.String()]; ok {
		t.Errorf("deleted version listed as active")
	}
	bd, err := p.PushImage(ctx, "acme/"+orgContainer, b, "moving")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "container", pkURLEscape(orgContainer), aID); pkStatusOf(t, r, err) != 204 {
		t.Fatal(err)
	}
	active := w.apiVersions(t, "alice", "acme", orgContainer, "active")
	if got := active[ad.String()]; strings.Join(got, ",") != "stable" {
		t.Errorf("restored tags %v, want [stable]", got)
	}
	if got := active[bd.String()]; strings.Join(got, ",") != "moving" {
		t.Errorf("tags of the version that took moving: %v", got)
	}
	for tag, want := range map[string]string{"stable": ad.String(), "moving": bd.String()} {
		desc, err := remote.Head(w.regRef(t, "acme/"+orgContainer+":"+tag), alice)
		if err != nil || desc.Digest.String() != want {
			t.Errorf("registry %s → %v %v, want %s", tag, desc, err, want)
		}
	}
	tags, err := remote.List(w.regRef(t, "acme/"+orgContainer).Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(tags)
	if strings.Join(tags, ",") != "moving,stable,v1,v2" {
		t.Errorf("tags/list %v", tags)
	}
}

func TestPagination(t *testing.T) {
	w := newPkWorld(t, Options{})
	for _, v := range []string{"0.4.0", "0.5.0"} {
		if _, err := w.sim.Publish("carol", "rubygems", userGem, v, PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		query string
		n     int
		rels  []string
	}{
		"default page":           {"", 5, nil},
		"first of three":         {"per_page=2", 2, []string{"next", "last"}},
		"middle":                 {"per_page=2&page=2", 2, []string{"prev", "next", "last", "first"}},
		"last":                   {"per_page=2&page=3", 1, []string{"prev", "first"}},
		"past the end":           {"per_page=2&page=9", 0, []string{"prev", "first"}},
		"per_page capped at 100": {"per_page=1000", 5, nil},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, w.api.URL+"/users/carol/packages/rubygems/"+userGem+"/versions?"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+w.tokens["carol"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := strings.Count(string(body), `"package_html_url"`); got != tc.n {
				t.Errorf("%d versions, want %d", got, tc.n)
			}
			link := resp.Header.Get("Link")
			var rels []string
			for _, part := range strings.Split(link, ",") {
				if _, rel, ok := strings.Cut(part, `rel="`); ok {
					rels = append(rels, strings.TrimSuffix(strings.TrimSpace(rel), `"`))
				}
			}
			if strings.Join(rels, ",") != strings.Join(tc.rels, ",") {
				t.Errorf("Link rels %v, want %v (%s)", rels, tc.rels, link)
			}
			if link != "" && !strings.HasPrefix(link, "<"+w.api.URL+"/users/carol/packages/rubygems/") {
				t.Errorf("Link %s does not point at the API", link)
			}
		})
	}
}

func TestInstallationTokensSwitch(t *testing.T) {
	w := newPkWorld(t, Options{AllowInstallationTokensOnPackages: true})
	ctx := context.Background()
	pkgs, r, err := w.client(t, "install").Organizations.ListPackages(ctx, "acme",
		&github.PackageListOptions{PackageType: github.String("container")})
	if pkStatusOf(t, r, err) != 200 || len(pkgs) != 1 {
		t.Fatalf("list with the switch on: %d packages, %v", len(pkgs), err)
	}
	if _, err := remote.Get(w.regRef(t, "acme/"+orgContainer+":v1"), w.auth("install")); err != nil {
		t.Errorf("pull with the switch on: %v", err)
	}
}

func TestMissingKeys(t *testing.T) {
	tests := map[string]struct {
		example, got string
		want         string
	}{
		"equal":          {`{"a":1,"b":{"c":2}}`, `{"a":1,"b":{"c":2}}`, ""},
		"extra is fine":  {`{"a":1}`, `{"a":1,"z":0}`, ""},
		"missing nested": {`{"a":1,"b":{"c":2}}`, `{"a":1,"b":{}}`, "$.b.c"},
		"list template":  {`[{"a":1,"d":2},{"a":1}]`, `[{"a":1},{"d":1}]`, "$[1].a"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var ex, got any
			if err := pkUnmarshalString(tc.example, &ex); err != nil {
				t.Fatal(err)
			}
			if err := pkUnmarshalString(tc.got, &got); err != nil {
				t.Fatal(err)
			}
			if m := strings.Join(pkMissingKeys(ex, got, "$"), ","); m != tc.want {
				t.Errorf("missing %q, want %q", m, tc.want)
			}
		})
	}
}

func pkUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestPaginationDefaultsAndLists checks GitHub's default page size of 30
// and the cap of 100 on a package with more versions than that, and that
// the three list-packages endpoints page with Link headers too: following
// rel="next" from the first page visits every item once.
func TestPaginationDefaultsAndLists(t *testing.T) {
	w := newPkWorld(t, Options{})
	const many = "many-versions"
	for i := range 102 {
		if _, err := w.sim.Publish("carol", "rubygems", many, fmt.Sprintf("1.0.%d", i), PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 32 {
		if _, err := w.sim.Publish("acme", "npm", fmt.Sprintf("npm-%02d", i), "1.0.0", PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.sim.Publish("carol", "rubygems", fmt.Sprintf("gem-%02d", i), "1.0.0", PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// get returns the ids of one page and its Link relations.
	get := func(t *testing.T, u, tok string) ([]float64, map[string]string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+w.tokens[tok])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var items []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&items); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, %v", u, resp.StatusCode, err)
		}
		ids := make([]float64, 0, len(items))
		for _, it := range items {
			ids = append(ids, it["id"].(float64))
		}
		rels := map[string]string{}
		for _, part := range strings.Split(resp.Header.Get("Link"), ",") {
			target, rel, ok := strings.Cut(part, `; rel="`)
			if ok {
				rels[strings.TrimSuffix(rel, `"`)] = strings.Trim(strings.TrimSpace(target), "<>")
			}
		}
		return ids, rels
	}
	tests := map[string]struct {
		path, tok    string
		wantFirst    int // items on the first page
		wantPerPage  string
		wantTotal    int
		wantLastPage string
	}{
		"versions, default per_page":       {"/users/carol/packages/rubygems/" + many + "/versions", "carol", 30, "30", 102, "4"},
		"versions, per_page capped at 100": {"/users/carol/packages/rubygems/" + many + "/versions?per_page=1000", "carol", 100, "100", 102, "2"},
		"organization packages":            {"/orgs/acme/packages?package_type=npm", "alice", 30, "30", 33, "2"},
		"user packages":                    {"/users/carol/packages?package_type=rubygems", "carol", 30, "30", 34, "2"},
		"authenticated user packages":      {"/user/packages?package_type=rubygems", "carol", 30, "30", 34, "2"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			ids, rels := get(t, w.api.URL+tc.path, tc.tok)
			if len(ids) != tc.wantFirst {
				t.Errorf("first page has %d items, want %d", len(ids), tc.wantFirst)
			}
			if len(rels) != 2 || rels["next"] == "" || rels["last"] == "" {
				t.Fatalf("first page Link relations %v, want next and last", rels)
			}
			last, err := url.Parse(rels["last"])
			if err != nil {
				t.Fatal(err)
			}
			want, _ := url.Parse(w.api.URL + tc.path)
			if last.Path != want.Path || last.Query().Get("page") != tc.wantLastPage || last.Query().Get("per_page") != tc.wantPerPage ||
				last.Query().Get("package_type") != want.Query().Get("package_type") {
				t.Errorf("rel=last %s, want %s with page=%s, per_page=%s and the same package_type", rels["last"], want.Path, tc.wantLastPage, tc.wantPerPage)
			}
			seen := map[float64]bool{}
			for _, id := range ids {
				seen[id] = true
			}
			for pages := 1; rels["next"] != ""; pages++ {
				if pages > 10 {
					t.Fatal("rel=next never ends")
				}
				ids, rels = get(t, rels["next"], tc.tok)
				for _, id := range ids {
					if seen[id] {
						t.Errorf("id %v on two pages", id)
					}
					seen[id] = true
				}
				if rels["prev"] == "" || rels["first"] == "" {
					t.Errorf("page %d Link relations %v, want prev and first", pages+1, rels)
				}
			}
			if len(seen) != tc.wantTotal {
				t.Errorf("following rel=next visited %d items, want %d", len(seen), tc.wantTotal)
			}
		})
	}
}

// TestStaleListing: with Options.StaleListing, a deleted version stays in
// the active listing (with its tags) and out of the deleted one for that
// long; deleting it again meanwhile answers 404 "Package not found.";
// afterwards the listings tell the truth. Without it, listings are
// consistent at once.
func TestStaleListing(t *testing.T) {
	ctx := context.Background()
	for _, stale := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprint(stale), func(t *testing.T) {
			w := newPkWorld(t, Options{StaleListing: stale})
			c := w.client(t, "alice")
			name := url.PathEscape(orgContainer)
			vs, err := w.sim.Versions("acme", "container", orgContainer)
			if err != nil {
				t.Fatal(err)
			}
			v2 := vs[0]
			listed := func(state string) []string {
				t.Helper()
				list, r, err := c.Organizations.PackageGetAllVersions(ctx, "acme", "container", name, &github.PackageListOptions{State: github.String(state)})
				if pkStatusOf(t, r, err) != http.StatusOK {
					t.Fatal(err)
				}
				var out []string
				for _, v := range list {
					out = append(out, fmt.Sprintf("%d%v", v.GetID(), v.GetMetadata().GetContainer().Tags))
				}
				return out
			}
			if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", name, v2.ID); pkStatusOf(t, r, err) != http.StatusNoContent {
				t.Fatalf("delete: %v", err)
			}
			shown := fmt.Sprintf("%d[v2]", v2.ID)
			active, deleted := listed("active"), listed("deleted")
			if got := slices.Contains(active, shown); got != (stale > 0) {
				t.Errorf("active listing %q holds %s: %t, want %t", active, shown, got, stale > 0)
			}
			if got := slices.Contains(deleted, shown); got != (stale == 0) {
				t.Errorf("deleted listing %q holds %s: %t, want %t", deleted, shown, got, stale == 0)
			}
			r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", name, v2.ID)
			if pkStatusOf(t, r, err) != http.StatusNotFound || !strings.Contains(err.Error(), "Package not found.") {
				t.Errorf("deleting it again: %v, want 404 Package not found.", err)
			}
			if now, _ := w.sim.Versions("acme", "container", orgContainer); !now[0].Deleted {
				t.Errorf("version %d is not deleted in the world", v2.ID)
			}
			w.sim.Advance(stale + time.Second)
			if active, deleted := listed("active"), listed("deleted"); slices.Contains(active, shown) || !slices.Contains(deleted, shown) {
				t.Errorf("after the while: active %q, deleted %q; want %s deleted only", active, deleted, shown)
			}
		})
	}
}
