package ghsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"
)

// pkSeedExample is one endpoint of testdata/seed/examples.json, extracted
// once from the seed document: its success status and response example.
type pkSeedExample struct {
	Status  int `json:"status"`
	Example any `json:"example"`
}

func pkLoadSeedExamples(t *testing.T) map[string]pkSeedExample {
	t.Helper()
	b, err := os.ReadFile("testdata/seed/examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]pkSeedExample
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode examples: %v", err)
	}
	if len(m) != 24 {
		t.Fatalf("examples.json has %d endpoints, want the seed's 24", len(m))
	}
	return m
}

// pkMissingKeys lists the keys of example (recursively) that got lacks. For
// a list, the example element with the fewest keys is the template, since
// the seed's lists do not give every key on every element.
func pkMissingKeys(example, got any, path string) []string {
	switch ex := example.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + " (not an object)"}
		}
		var out []string
		for k, v := range ex {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			if v != nil && gv != nil {
				out = append(out, pkMissingKeys(v, gv, path+"."+k)...)
			}
		}
		sort.Strings(out)
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{path + " (not a list)"}
		}
		if len(ex) == 0 {
			return nil
		}
		tmpl := ex[0]
		for _, e := range ex {
			if m, ok := e.(map[string]any); ok {
				if tm, ok := tmpl.(map[string]any); ok && len(m) < len(tm) {
					tmpl = e
				}
			}
		}
		var out []string
		for i, e := range g {
			out = append(out, pkMissingKeys(tmpl, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	return nil
}

// pkExampleType is the package type an endpoint's example shows.
func pkExampleType(ex any) string {
	if l, ok := ex.([]any); ok && len(l) > 0 {
		ex = l[0]
	}
	m, ok := ex.(map[string]any)
	if !ok {
		return "container"
	}
	if t, ok := m["package_type"].(string); ok {
		return t
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		if t, ok := md["package_type"].(string); ok {
			return t
		}
	}
	return "container"
}

// confScope is one of the three namespaces of the seed.
type confScope struct {
	kind        pkScope
	keyPrefix   string // prefix of the seed's path template
	owner       string // the owner passed to go-github ("" for /user)
	ownerTok    string // a token of the namespace's admin
	readOnlyTok string // read:packages only
	repoOnlyTok string // no packages scope at all
	names       map[string]string
	ownerLogin  string
}

// call runs one endpoint through go-github.
func (sc confScope) call(ctx context.Context, c *github.Client, op, typ, name string, id int64) (*github.Response, error) {
	name = url.PathEscape(name)
	opts := &github.PackageListOptions{PackageType: github.String(typ)}
	if sc.kind == pkOrg {
		o := c.Organizations
		switch op {
		case "list":
			_, r, err := o.ListPackages(ctx, sc.owner, opts)
			return r, err
		case "get":
			_, r, err := o.GetPackage(ctx, sc.owner, typ, name)
			return r, err
		case "delete":
			return o.DeletePackage(ctx, sc.owner, typ, name)
		case "restore":
			return o.RestorePackage(ctx, sc.owner, typ, name)
		case "versions":
			_, r, err := o.PackageGetAllVersions(ctx, sc.owner, typ, name, &github.PackageListOptions{})
			return r, err
		case "version":
			_, r, err := o.PackageGetVersion(ctx, sc.owner, typ, name, id)
			return r, err
		case "delete-version":
			return o.PackageDeleteVersion(ctx, sc.owner, typ, name, id)
		case "restore-version":
			return o.PackageRestoreVersion(ctx, sc.owner, typ, name, id)
		}
	}
	u := c.Users
	switch op {
	case "list":
		_, r, err := u.ListPackages(ctx, sc.owner, opts)
		return r, err
	case "get":
		_, r, err := u.GetPackage(ctx, sc.owner, typ, name)
		return r, err
	case "delete":
		return u.DeletePackage(ctx, sc.owner, typ, name)
	case "restore":
		return u.RestorePackage(ctx, sc.owner, typ, name)
	case "versions":
		_, r, err := u.PackageGetAllVersions(ctx, sc.owner, typ, name, &github.PackageListOptions{})
		return r, err
	case "version":
		_, r, err := u.PackageGetVersion(ctx, sc.owner, typ, name, id)
		return r, err
	case "delete-version":
		return u.PackageDeleteVersion(ctx, sc.owner, typ, name, id)
	case "restore-version":
		return u.PackageRestoreVersion(ctx, sc.owner, typ, name, id)
	}
	panic("unknown op " + op)
}

// rawPath is the API path go-github requested, for the raw key-set read.
func (sc confScope) rawPath(op, typ, name string, id int64) string {
	var base string
	switch sc.kind {
	case pkOrg:
		base = "orgs/" + sc.owner
	case pkUser:
		base = "users/" + sc.owner
	default:
		base = "user"
	}
	p := base + "/packages/" + typ + "/" + url.PathEscape(name)
	switch op {
	case "list":
		return base + "/packages?package_type=" + typ
	case "get":
		return p
	case "versions":
		return p + "/versions"
	case "version":
		return fmt.Sprintf("%s/versions/%d", p, id)
	}
	return ""
}

// confOps are the eight operations in an order that leaves the world as
// it was: deletions are followed by their restores.
var confOps = []struct {
	op, tmpl string
	admin    bool // deletes and restores need an admin
}{
	{"list", "GET %s/packages", false},
	{"get", "GET %s/packages/{package_type}/{package_name}", false},
	{"versions", "GET %s/packages/{package_type}/{package_name}/versions", false},
	{"version", "GET %s/packages/{package_type}/{package_name}/versions/{package_version_id}", false},
	{"delete-version", "DELETE %s/packages/{package_type}/{package_name}/versions/{package_version_id}", true},
	{"restore-version", "POST %s/packages/{package_type}/{package_name}/versions/{package_version_id}/restore", true},
	{"delete", "DELETE %s/packages/{package_type}/{package_name}", true},
	{"restore", "POST %s/packages/{package_type}/{package_name}/restore", true},
}

// TestConformance walks the 24 endpoints of the seed for the organization,
// user and authenticated-user namespaces with go-github: every documented
// status, and the key set of every 200 answer against the seed's example.
func TestConformance(t *testing.T) {
	w := newPkWorld(t, Options{})
	examples := pkLoadSeedExamples(t)
	ctx := context.Background()
	// Read-only tokens for the scope checks of deletes and restores.
	for name, user := range map[string]string{"carol-read": "carol"} {
		tok, err := w.sim.AddClassicToken(user, "read:packages")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[name] = tok
	}
	scopes := map[string]confScope{
		"org": {kind: pkOrg, keyPrefix: "/orgs/{org}", owner: "ACME", ownerLogin: "acme", ownerTok: "alice",
			readOnlyTok: "alice-read", repoOnlyTok: "alice-repo-only",
			names: map[string]string{"container": orgContainer, "npm": orgNPM}},
		"user": {kind: pkUser, keyPrefix: "/users/{username}", owner: "carol", ownerLogin: "carol", ownerTok: "carol",
			readOnlyTok: "carol-read", repoOnlyTok: "carol-repo-only",
			names: map[string]string{"container": userContainer, "rubygems": userGem}},
		"authenticated user": {kind: pkSelf, keyPrefix: "/user", owner: "", ownerLogin: "carol", ownerTok: "carol",
			readOnlyTok: "carol-read", repoOnlyTok: "carol-repo-only",
			names: map[string]string{"container": userContainer, "rubygems": userGem}},
	}
	// An organization package linked to no repository, next to the
	// user's unlinked container (hello_docker): the package endpoints give
	// both the example's keys and a null repository.
	const orgUnlinked = "loose-npm"
	if _, err := w.sim.Publish("acme", "npm", orgUnlinked, "1.0.0", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	unlinked := map[string]struct{ typ, name string }{
		"org":                {"npm", orgUnlinked},
		"user":               {"container", userContainer},
		"authenticated user": {"container", userContainer},
	}
	seen := map[string]bool{}
	for scName, sc := range scopes {
		t.Run(scName, func(t *testing.T) {
			ids := map[string]int64{}
			for typ, name := range sc.names {
				ids[typ] = w.versionID(t, sc.ownerLogin, typ, name)
			}
			for _, op := range confOps {
				key := fmt.Sprintf(op.tmpl, sc.keyPrefix)
				ex, ok := examples[key]
				if !ok {
					t.Fatalf("%s is not a seed endpoint", key)
				}
				seen[key] = true
				typ := pkExampleType(ex.Example)
				name := sc.names[typ]
				id := ids[typ]
				type confCase struct {
					tok    string
					name   string
					status int
				}
				// Error cases first: they must change nothing.
				cases := []struct {
					label string
					confCase
				}{
					{"no token", confCase{"", name, http.StatusUnauthorized}},
					{"bad token", confCase{"ghp_bogus", name, http.StatusUnauthorized}},
					{"token without packages scopes", confCase{sc.repoOnlyTok, name, http.StatusForbidden}},
					{"installation token", confCase{"install", name, http.StatusForbidden}},
				}
				if op.admin {
					cases = append(cases, struct {
						label string
						confCase
					}{"token with read:packages only", confCase{sc.readOnlyTok, name, http.StatusForbidden}})
				}
				if op.op != "list" {
					cases = append(cases, struct {
						label string
						confCase
					}{"missing package", confCase{sc.ownerTok, "does-not-exist", http.StatusNotFound}})
				}
				if op.admin && sc.kind == pkOrg {
					cases = append(cases, struct {
						label string
						confCase
					}{"member who is not an admin", confCase{"bob", name, http.StatusForbidden}})
				}
				if sc.kind == pkUser && typ == "container" && op.op != "list" {
					cases = append(cases, struct {
						label string
						confCase
					}{"private package of another user", confCase{"dave", name, http.StatusNotFound}})
				}
				cases = append(cases, struct {
					label string
					confCase
				}{"ok", confCase{sc.ownerTok, name, ex.Status}})
				for _, tc := range cases {
					t.Run(op.op+"/"+tc.label, func(t *testing.T) {
						resp, err := sc.call(ctx, w.client(t, tc.tok), op.op, typ, tc.name, id)
						if resp == nil {
							t.Fatalf("%s: no response: %v", key, err)
						}
						if resp.StatusCode != tc.status {
							t.Fatalf("%s as %q: status %d, want %d (%v)", key, tc.tok, resp.StatusCode, tc.status, err)
						}
						if resp.StatusCode >= 400 {
							var ge *github.ErrorResponse
							if !errors.As(err, &ge) || ge.Message == "" || ge.DocumentationURL == "" {
								t.Errorf("%s: error is not GitHub-shaped: %v", key, err)
							}
						}
						if resp.Header.Get("X-RateLimit-Remaining") == "" || resp.Header.Get("Retry-After") != "" {
							t.Errorf("%s: rate headers: remaining %q retry-after %q", key,
								resp.Header.Get("X-RateLimit-Remaining"), resp.Header.Get("Retry-After"))
						}
						if tc.status != http.StatusOK {
							return
						}
						c := w.client(t, tc.tok)
						req, err := c.NewRequest(http.MethodGet, sc.rawPath(op.op, typ, tc.name, id), nil)
						if err != nil {
							t.Fatal(err)
						}
						var got any
						if _, err := c.Do(ctx, req, &got); err != nil {
							t.Fatalf("raw %s: %v", key, err)
						}
						if l, ok := got.([]any); ok && len(l) == 0 {
							t.Fatalf("%s: empty list", key)
						}
						if miss := pkMissingKeys(ex.Example, got, "$"); len(miss) > 0 {
							t.Errorf("%s: keys of the seed's example missing: %s", key, strings.Join(miss, ", "))
						}
					})
				}
			}
			t.Run("unlinked package", func(t *testing.T) {
				confCheckUnlinked(ctx, t, w.client(t, sc.ownerTok), sc, examples, unlinked[scName].typ, unlinked[scName].name)
			})
		})
	}
	if len(seen) != 24 {
		t.Errorf("walked %d endpoints, want 24", len(seen))
	}
}

// confCheckUnlinked reads an unlinked package through the list and get
// endpoints of sc: it has every key of the seed's package example that
// shows a repository, and its repository is null.
func confCheckUnlinked(ctx context.Context, t *testing.T, c *github.Client, sc confScope, examples map[string]pkSeedExample, typ, name string) {
	t.Helper()
	// The seed's fullest package example (it has repository).
	tmpl, ok := examples["GET /users/{username}/packages/{package_type}/{package_name}"].Example.(map[string]any)
	if _, has := tmpl["repository"]; !ok || !has {
		t.Fatal("the seed's user package example has no repository key")
	}
	for _, op := range []string{"list", "get"} {
		req, err := c.NewRequest(http.MethodGet, sc.rawPath(op, typ, name, 0), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if _, err := c.Do(ctx, req, &got); err != nil {
			t.Fatalf("%s %s: %v", op, name, err)
		}
		var obj map[string]any
		if l, ok := got.([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok && m["name"] == name {
					obj = m
				}
			}
		} else {
			obj, _ = got.(map[string]any)
		}
		if obj == nil {
			t.Fatalf("%s: package %s not in the answer", sc.rawPath(op, typ, name, 0), name)
		}
		if miss := pkMissingKeys(tmpl, obj, "$"); len(miss) > 0 {
			t.Errorf("%s: unlinked %s lacks keys of the seed's example: %s", sc.rawPath(op, typ, name, 0), name, strings.Join(miss, ", "))
		}
		if r, has := obj["repository"]; has && r != nil {
			t.Errorf("%s: unlinked %s has repository %v, want null", sc.rawPath(op, typ, name, 0), name, r)
		}
	}
	// go-github reads the null as no repository.
	req, err := c.NewRequest(http.MethodGet, sc.rawPath("get", typ, name, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	var p github.Package
	if _, err := c.Do(ctx, req, &p); err != nil {
		t.Fatalf("go-github decodes unlinked %s: %v", name, err)
	}
	if p.GetName() != name || p.Repository != nil {
		t.Errorf("go-github reads unlinked %s as name %q, repository %v", name, p.GetName(), p.Repository)
	}
}
