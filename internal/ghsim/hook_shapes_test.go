package ghsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// examplesDir holds GitHub's example payloads (octokit/webhooks).
var examplesDir = filepath.Join("testdata", "github", "webhooks", "examples")

// hookDelivery is a delivery as a receiver saw it.
type hookDelivery struct {
	path   string // "/app", "/repo", "/org": whose hook
	header http.Header
	body   []byte
}

type hookRecorder struct {
	mu   sync.Mutex
	seen []hookDelivery
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.seen = append(h.seen, hookDelivery{r.URL.Path, r.Header.Clone(), b})
	h.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// hookWorld is a world where the app, the repository acme/webapp and the
// organization acme each have a webhook at their own path of one
// receiver, signed with their own secret, and every event the simulator
// sends has happened once: the app installed, a container pushed (new
// version), a tag moved onto it, an npm version published, the
// installation's repositories narrowed and widened, the app uninstalled.
type hookWorld struct {
	sim                  *Sim
	rec                  *hookRecorder
	appSecret            string
	repoID, orgID        int64
	repoHookID, orgHook  int64
	installation         int64
	imageDigest, imgNote string
}

func newHookWorld(t *testing.T) *hookWorld {
	t.Helper()
	w := &hookWorld{rec: &hookRecorder{}, appSecret: "app-secret", imgNote: "shapes"}
	srv := httptest.NewServer(w.rec)
	t.Cleanup(srv.Close)
	s, err := New(Options{WebhookSecret: w.appSecret})
	if err != nil {
		t.Fatal(err)
	}
	w.sim = s
	api := httptest.NewServer(s.APIHandler())
	reg := httptest.NewServer(s.RegistryHandler())
	t.Cleanup(func() { api.Close(); reg.Close(); s.Close() })
	s.SetURLs(api.URL, reg.URL)
	s.SetWebhookURL(srv.URL + "/app")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.AddUser("Alice")
	must(err)
	w.orgID, err = s.AddOrg("Acme", "Alice")
	must(err)
	w.repoID, err = s.AddRepo("Acme", "webapp", RepoOptions{})
	must(err)
	_, err = s.AddRepo("Acme", "other", RepoOptions{})
	must(err)
	w.repoHookID, err = s.AddRepoHook("acme", "webapp", srv.URL+"/repo", "repo-secret", "*")
	must(err)
	w.orgHook, err = s.AddOrgHook("acme", srv.URL+"/org", "org-secret", "package", "registry_package")
	must(err)
	w.installation, err = s.Install("acme", map[string]string{"packages": "read", "metadata": "read"})
	must(err)
	tok, err := s.AddClassicToken("alice", "read:packages", "write:packages", "repo")
	must(err)
	img, err := DemoImage(s.WebURL()+"/Acme/webapp", w.imgNote)
	must(err)
	p := s.Pusher("alice", tok)
	d, err := p.PushImage(context.Background(), "acme/app", img)
	must(err)
	w.imageDigest = d.String()
	_, err = p.PushImage(context.Background(), "acme/app", img, "v1") // the tag moves onto it: updated
	must(err)
	_, err = s.Publish("acme", "npm", "client", "1.0.0", PublishOptions{Repository: "webapp", Sender: "alice"})
	must(err)
	must(s.SetInstallationRepositories(w.installation, "webapp")) // removed: other
	must(s.SetInstallationRepositories(w.installation))           // added: other
	must(s.RemoveInstallation(w.installation))
	must(s.WaitDeliveries(context.Background()))
	return w
}

// deliveries returns what the receiver got, in order.
func (w *hookWorld) deliveries() []hookDelivery {
	w.rec.mu.Lock()
	defer w.rec.mu.Unlock()
	return slices.Clone(w.rec.seen)
}

// exampleFor names GitHub's example for a delivery: the event/action's
// own, else the event's published one (octokit/webhooks has no example of
// "updated"), and for a registry_package of npm the package event's npm
// example (it has only a docker one), read with its package key renamed.
func exampleFor(event, action, ecosystem string) (file, key string) {
	switch event {
	case "registry_package", "package":
		if ecosystem == "npm" {
			return "package/published.npm.payload.json", "package"
		}
		return event + "/published.docker.payload.json", event
	}
	return event + "/" + action + ".payload.json", ""
}

func readExample(t *testing.T, file, key, as string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if key != "" && key != as {
		m[as] = m[key]
		delete(m, key)
	}
	for _, path := range hookDataMaps {
		parts := strings.Split(strings.TrimPrefix(path, "."), ".")
		if o := dig(m, parts[:len(parts)-1]...); o != nil {
			if _, ok := o[parts[len(parts)-1]]; ok {
				o[parts[len(parts)-1]] = map[string]any{}
			}
		}
	}
	return m
}

// dig returns the object at path under m, or nil.
func dig(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiffs lists where got differs from example in shape: a key of the
// example missing, or present with another JSON type, recursively. A null
// in the example says nothing of the type (GitHub's nullable fields); a
// null in got where the example has a value is a difference. A list's
// elements are compared with the example's element with the fewest keys.
func shapeDiffs(example, got any, path string) []string {
	et, gt := jsonType(example), jsonType(got)
	switch {
	case et == "null":
		return nil
	case et != gt:
		return []string{fmt.Sprintf("%s is %s, GitHub's is %s", path, gt, et)}
	}
	var out []string
	switch ex := example.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, v := range ex {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k+" missing")
				continue
			}
			out = append(out, shapeDiffs(v, gv, path+"."+k)...)
		}
	case []any:
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
		for i, e := range got.([]any) {
			out = append(out, shapeDiffs(tmpl, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	sort.Strings(out)
	return out
}

// TestShapeDiffs: the comparison finds a missing key, a wrong type and a
// null where GitHub sends a value, at any depth, and accepts anything
// where GitHub's example has null.
func TestShapeDiffs(t *testing.T) {
	ex := map[string]any{"a": "x", "n": nil, "o": map[string]any{"b": 1.0, "l": []any{map[string]any{"c": true}}}}
	tests := []struct {
		name string
		got  string
		want []string
	}{
		{"same", `{"a":"y","n":{"any":1},"o":{"b":2,"l":[{"c":false}]},"extra":1}`, nil},
		{"missing", `{"n":null,"o":{"b":2,"l":[]}}`, []string{".a missing"}},
		{"type", `{"a":1,"n":null,"o":{"b":"2","l":[{"c":"no"}]}}`, []string{".a is number, GitHub's is string", ".o.b is string, GitHub's is number", ".o.l[0].c is string, GitHub's is boolean"}},
		{"null", `{"a":null,"n":null,"o":null}`, []string{".a is null, GitHub's is string", ".o is null, GitHub's is object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got any
			if err := json.Unmarshal([]byte(tc.got), &got); err != nil {
				t.Fatal(err)
			}
			if d := shapeDiffs(ex, got, ""); !slices.Equal(d, tc.want) {
				t.Errorf("shapeDiffs = %q, want %q", d, tc.want)
			}
		})
	}
}

// TestWebhookShapes compares every delivery the simulator sends, for
// each event/action and hook, with GitHub's example of that event: every
// key of the example present with the same JSON type, but for
// hookShapeDeviations.
func TestWebhookShapes(t *testing.T) {
	w := newHookWorld(t)
	ds := w.deliveries()
	// What the scenario sends, to whom: the test fails if one is missing,
	// so it cannot pass by comparing nothing.
	want := []string{
		"/app installation/created",
		"/app registry_package/published container", "/repo registry_package/published container", "/org registry_package/published container",
		"/repo package/published container", "/org package/published container",
		"/app registry_package/updated container", "/repo registry_package/updated container", "/org registry_package/updated container",
		"/repo package/updated container", "/org package/updated container",
		"/app registry_package/published npm", "/repo registry_package/published npm", "/org registry_package/published npm",
		"/repo package/published npm", "/org package/published npm",
		"/app installation_repositories/removed", "/app installation_repositories/added",
		"/app installation/deleted",
	}
	var got []string
	matched := map[string]bool{}
	for _, d := range ds {
		event := d.header.Get("X-GitHub-Event")
		var p map[string]any
		if err := json.Unmarshal(d.body, &p); err != nil {
			t.Fatalf("%s %s: %v", d.path, event, err)
		}
		action, _ := p["action"].(string)
		eco := ""
		if pk, ok := p[event].(map[string]any); ok {
			eco, _ = pk["package_type"].(string)
			eco = strings.ToLower(eco)
		}
		name := d.path + " " + event + "/" + action
		if eco != "" {
			name += " " + eco
		}
		got = append(got, name)
		file, key := exampleFor(event, action, eco)
		diffs := shapeDiffs(readExample(t, file, key, event), p, "")
		for _, diff := range diffs {
			path, _, _ := strings.Cut(diff, " ")
			if hookNullable[path] && strings.Contains(diff, " is null, ") {
				continue
			}
			if id := event + "/" + action + " " + path; hookShapeDeviations[id] != "" {
				matched[id] = true
				continue
			}
			t.Errorf("%s against %s: %s", name, file, diff)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for id := range hookShapeDeviations {
		if !matched[id] {
			t.Errorf("deviation %q is listed but no longer happens: take it off the list", id)
		}
	}
}

// TestWebhookHeaders: every delivery carries GitHub's headers, naming its
// hook and target, signed with its hook's secret in both signatures.
func TestWebhookHeaders(t *testing.T) {
	w := newHookWorld(t)
	targets := map[string]struct {
		typ            string
		targetID, hook int64
		secret         string
	}{
		"/app":  {"integration", w.sim.AppID(), appHookID, w.appSecret},
		"/repo": {"repository", w.repoID, w.repoHookID, "repo-secret"},
		"/org":  {"organization", w.orgID, w.orgHook, "org-secret"},
	}
	ua := regexp.MustCompile(`^GitHub-Hookshot/[0-9a-f]+$`)
	guids := map[string]bool{}
	ds := w.deliveries()
	if len(ds) == 0 {
		t.Fatal("no deliveries")
	}
	for _, d := range ds {
		tg, ok := targets[d.path]
		if !ok {
			t.Fatalf("delivery to %s", d.path)
		}
		h := d.header
		name := d.path + " " + h.Get("X-GitHub-Event")
		mac1 := hmac.New(sha1.New, []byte(tg.secret))
		mac1.Write(d.body)
		mac256 := hmac.New(sha256.New, []byte(tg.secret))
		mac256.Write(d.body)
		for header, want := range map[string]string{
			"X-GitHub-Hook-ID":                       strconv.FormatInt(tg.hook, 10),
			"X-GitHub-Hook-Installation-Target-ID":   strconv.FormatInt(tg.targetID, 10),
			"X-GitHub-Hook-Installation-Target-Type": tg.typ,
			"X-Hub-Signature":                        "sha1=" + hex.EncodeToString(mac1.Sum(nil)),
			"X-Hub-Signature-256":                    "sha256=" + hex.EncodeToString(mac256.Sum(nil)),
			"Content-Type":                           "application/json",
		} {
			if got := h.Get(header); got != want {
				t.Errorf("%s: %s = %q, want %q", name, header, got, want)
			}
		}
		if !ua.MatchString(h.Get("User-Agent")) {
			t.Errorf("%s: User-Agent %q", name, h.Get("User-Agent"))
		}
		if g := h.Get("X-GitHub-Delivery"); g == "" || guids[g] {
			t.Errorf("%s: delivery guid %q empty or repeated", name, g)
		} else {
			guids[g] = true
		}
	}
	// The app's delivery log (GET /app/hook/deliveries) lists only the
	// app's deliveries: the hooks' are theirs.
	n := 0
	for _, d := range w.sim.Deliveries() {
		if d.Hook.TargetType == "integration" {
			n++
		}
	}
	if n != 7 {
		t.Errorf("%d deliveries to the app, want 7", n)
	}
}

// TestWebhookContainerMetadata: a container's registry_package carries
// the image config's labels and the manifest's size, config and layers,
// the owner as spelled, namespace owner/repo, and package_url with the
// tag (empty for a push by digest, as GitHub sends it).
func TestWebhookContainerMetadata(t *testing.T) {
	w := newHookWorld(t)
	var pubs []map[string]any
	for _, d := range w.deliveries() {
		if d.path == "/app" && d.header.Get("X-GitHub-Event") == "registry_package" {
			var p map[string]any
			if err := json.Unmarshal(d.body, &p); err != nil {
				t.Fatal(err)
			}
			pubs = append(pubs, p)
		}
	}
	if len(pubs) != 3 {
		t.Fatalf("%d registry_package deliveries to the app, want 3", len(pubs))
	}
	get := func(m any, path ...string) any {
		for _, k := range path {
			o, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = o[k]
		}
		return m
	}
	host := strings.TrimPrefix(w.sim.opts.RegistryURL, "http://")
	tests := []struct {
		payload map[string]any
		path    []string
		want    any
	}{
		{pubs[0], []string{"action"}, "published"},
		{pubs[0], []string{"registry_package", "namespace"}, "Acme/webapp"},
		{pubs[0], []string{"registry_package", "owner", "login"}, "Acme"},
		{pubs[0], []string{"registry_package", "package_version", "package_url"}, host + "/Acme/app:"},
		{pubs[0], []string{"registry_package", "package_version", "installation_command"}, "docker pull " + host + "/Acme/app:"},
		{pubs[0], []string{"registry_package", "package_version", "container_metadata", "labels", "source"}, w.sim.WebURL() + "/Acme/webapp"},
		{pubs[0], []string{"registry_package", "package_version", "container_metadata", "labels", "all_labels", "org.opencontainers.image.title"}, w.imgNote},
		{pubs[0], []string{"registry_package", "package_version", "container_metadata", "manifest", "digest"}, w.imageDigest},
		{pubs[0], []string{"registry_package", "package_version", "container_metadata", "manifest", "uri"}, "repositories/Acme/app/manifests/" + w.imageDigest},
		{pubs[0], []string{"registry_package", "package_version", "container_metadata", "manifest", "config", "media_type"}, "application/vnd.oci.image.config.v1+json"},
		{pubs[0], []string{"registry_package", "registry", "name"}, "GitHub CONTAINER registry"},
		{pubs[1], []string{"action"}, "updated"},
		{pubs[1], []string{"registry_package", "package_version", "container_metadata", "tag", "name"}, "v1"},
		{pubs[1], []string{"registry_package", "package_version", "package_url"}, host + "/Acme/app:v1"},
		{pubs[1], []string{"registry_package", "package_version", "container_metadata", "labels", "source"}, w.sim.WebURL() + "/Acme/webapp"},
		{pubs[2], []string{"registry_package", "package_type"}, "npm"},
		{pubs[2], []string{"registry_package", "registry", "url"}, "https://npm.pkg.github.com/@Acme"},
	}
	for _, tc := range tests {
		if got := get(tc.payload, tc.path...); got != tc.want {
			t.Errorf("%s = %v, want %v", strings.Join(tc.path, "."), got, tc.want)
		}
	}
	// The manifest's size is its bytes, and each layer has digest and size.
	m := get(pubs[0], "registry_package", "package_version", "container_metadata", "manifest").(map[string]any)
	layers, _ := m["layers"].([]any)
	if size, _ := m["size"].(float64); size <= 0 || len(layers) != 1 || get(layers[0], "digest") == "" || get(layers[0], "size").(float64) <= 0 {
		t.Errorf("manifest %v", m)
	}
}
