package ghsim_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
)

// delivery is one webhook as a receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

// hookRecorder is a real HTTP receiver of the simulator's webhooks that
// keeps every delivery it gets.
type hookRecorder struct {
	url    string
	secret string
	mu     sync.Mutex
	got    []delivery
}

func newHookRecorder(t *testing.T, secret string) *hookRecorder {
	t.Helper()
	h := &hookRecorder{secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, delivery{header: r.Header.Clone(), body: b})
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/webhooks"
	return h
}

// deliveries is a copy of what arrived so far.
func (h *hookRecorder) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

// hookSchemas are GitHub's webhook schemas (testdata/github/webhooks),
// compiled per definition on first use.
type hookSchemas struct {
	defs map[string]any
	c    *jsonschema.Compiler
	mu   sync.Mutex
	done map[string]*jsonschema.Schema
}

const hookSchemaURL = "https://ghsim.test/webhooks/schema.json"

var loadHookSchemas = sync.OnceValues(func() (*hookSchemas, error) {
	f, err := os.Open("testdata/github/webhooks/schema.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("decode the webhook schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat() // date-time, uri, email: draft-07 leaves them to the validator
	// The library's uri-template splits the URL at "/" before it looks for
	// braces, so it refuses GitHub's "{/privacy}" (RFC 6570's path
	// segment expansion): check the template's expressions instead.
	c.RegisterFormat(&jsonschema.Format{Name: "uri-template", Validate: validURITemplate})
	if err := c.AddResource(hookSchemaURL, doc); err != nil {
		return nil, err
	}
	defs, _ := doc.(map[string]any)["definitions"].(map[string]any)
	return &hookSchemas{defs: defs, c: c, done: map[string]*jsonschema.Schema{}}, nil
})

// uriTemplateExpr is one RFC 6570 expression: an optional operator and
// comma-separated variables, each with an optional prefix or explode
// modifier.
var uriTemplateExpr = regexp.MustCompile(`^[+#./;?&]?([A-Za-z0-9_.%]+(:[1-9][0-9]{0,3}|\*)?)(,[A-Za-z0-9_.%]+(:[1-9][0-9]{0,3}|\*)?)*$`)

// validURITemplate checks an RFC 6570 URI template: balanced, unnested
// braces around valid expressions.
func validURITemplate(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			return nil
		}
		if s[open] == '}' {
			return fmt.Errorf("unopened }")
		}
		end := strings.IndexAny(s[open+1:], "{}")
		if end < 0 || s[open+1+end] == '{' {
			return fmt.Errorf("unclosed {")
		}
		if !uriTemplateExpr.MatchString(s[open+1 : open+1+end]) {
			return fmt.Errorf("not an RFC 6570 expression: {%s}", s[open+1:open+1+end])
		}
		s = s[open+2+end:]
	}
	return nil
}

// schemaFor is the definition of event with action: "<event>$<action>",
// or "<event>$event" for an event without actions. An empty name means the
// schema has none.
func (h *hookSchemas) schemaFor(event, action string) (string, *jsonschema.Schema, error) {
	name := event + "$" + action
	if action == "" {
		name = event + "$event"
	}
	if _, ok := h.defs[name]; !ok {
		return "", nil, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.done[name]; ok {
		return name, s, nil
	}
	// The JSON pointer of the definition: "$" needs no escaping, but
	// the fragment is a URI part.
	s, err := h.c.Compile(hookSchemaURL + "#/definitions/" + strings.ReplaceAll(name, "$", "%24"))
	if err != nil {
		return "", nil, fmt.Errorf("compile %s: %w", name, err)
	}
	h.done[name] = s
	return name, s, nil
}

var english = message.NewPrinter(language.English)

// validate checks payload against the definition of event and action and
// returns what differs, at JSON pointers into the payload.
func (h *hookSchemas) validate(event, action string, payload []byte) ([]ghsim.Finding, error) {
	name, s, err := h.schemaFor(event, action)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return []ghsim.Finding{{At: "", What: fmt.Sprintf("no schema for event %q action %q in webhooks/schema.json", event, action)}}, nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return []ghsim.Finding{{At: "", What: "not JSON: " + err.Error()}}, nil
	}
	err = s.Validate(v)
	if err == nil {
		return nil, nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil, fmt.Errorf("validate against %s: %w", name, err)
	}
	return leafFindings(ve), nil
}

// leafFindings flattens a validation error to its leaves. Under oneOf and
// anyOf, a branch that failed only on the type of the value itself (the
// null branch of a "object or null", say) says nothing about the value and
// is dropped; the other branches' leaves are kept.
func leafFindings(ve *jsonschema.ValidationError) []ghsim.Finding {
	if len(ve.Causes) == 0 {
		// One finding per property, at the property: the library lists
		// them in map order.
		at := pointer(ve.InstanceLocation)
		switch k := ve.ErrorKind.(type) {
		case *kind.Required:
			var out []ghsim.Finding
			for _, p := range k.Missing {
				out = append(out, ghsim.Finding{At: at + "/" + p, What: "missing (required)"})
			}
			return out
		case *kind.AdditionalProperties:
			var out []ghsim.Finding
			for _, p := range k.Properties {
				out = append(out, ghsim.Finding{At: at + "/" + p, What: "not in the schema (additionalProperties: false)"})
			}
			return out
		}
		return []ghsim.Finding{{At: at, What: ve.ErrorKind.LocalizedString(english)}}
	}
	switch ve.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		var out []ghsim.Finding
		for _, c := range ve.Causes {
			if wrongType(c, len(ve.InstanceLocation)) {
				continue
			}
			out = append(out, leafFindings(c)...)
		}
		if len(out) > 0 {
			return out
		}
		return []ghsim.Finding{{At: pointer(ve.InstanceLocation), What: ve.ErrorKind.LocalizedString(english)}}
	}
	var out []ghsim.Finding
	for _, c := range ve.Causes {
		out = append(out, leafFindings(c)...)
	}
	return out
}

// wrongType says whether a branch's failure is a type mismatch of the
// value at depth itself.
func wrongType(ve *jsonschema.ValidationError, depth int) bool {
	if len(ve.Causes) == 0 {
		_, ok := ve.ErrorKind.(*kind.Type)
		return ok && len(ve.InstanceLocation) == depth
	}
	for _, c := range ve.Causes {
		if !wrongType(c, depth) {
			return false
		}
	}
	return true
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	esc := make([]string, len(loc))
	for i, s := range loc {
		esc[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	}
	return "/" + strings.Join(esc, "/")
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// deliveryHeaderFindings checks the headers GitHub sends with every
// delivery (GitHub docs, "Webhook events and payloads", delivery headers;
// "Validating webhook deliveries"), for an App's webhook: the event and
// a GUID, the hook's id, the App as the installation target (its id, type
// "integration"), both signatures and Hookshot's user agent.
func deliveryHeaderFindings(h http.Header, body []byte, secret string, appID int64) []ghsim.Finding {
	var out []ghsim.Finding
	add := func(name, what string, args ...any) {
		out = append(out, ghsim.Finding{At: "header " + name, What: fmt.Sprintf(what, args...)})
	}
	if h.Get("X-GitHub-Event") == "" {
		add("X-GitHub-Event", "missing")
	}
	if d := h.Get("X-GitHub-Delivery"); !uuidRE.MatchString(d) {
		add("X-GitHub-Delivery", "not a GUID: %q", d)
	}
	if v := h.Get("X-GitHub-Hook-ID"); v == "" {
		add("X-GitHub-Hook-ID", "missing")
	} else if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		add("X-GitHub-Hook-ID", "not an id: %q", v)
	}
	// The target is the App (its id) for the App's webhook, the repository
	// or organization (an id) for a repository's or organization's hook.
	target := h.Get("X-GitHub-Hook-Installation-Target-Type")
	switch v := h.Get("X-GitHub-Hook-Installation-Target-ID"); {
	case v == "":
		add("X-GitHub-Hook-Installation-Target-ID", "missing")
	case target == "integration" && v != strconv.FormatInt(appID, 10):
		add("X-GitHub-Hook-Installation-Target-ID", "%q, want the App's id %d", v, appID)
	default:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			add("X-GitHub-Hook-Installation-Target-ID", "not an id: %q", v)
		}
	}
	if target != "integration" && target != "repository" && target != "organization" {
		add("X-GitHub-Hook-Installation-Target-Type", "%q, want integration, repository or organization", target)
	}
	if v := h.Get("X-Hub-Signature-256"); v != ghsim.Sign(secret, body) {
		add("X-Hub-Signature-256", "not the HMAC-SHA256 of the body: %q", v)
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	if v, want := h.Get("X-Hub-Signature"), "sha1="+hex.EncodeToString(m.Sum(nil)); v == "" {
		add("X-Hub-Signature", "missing")
	} else if v != want {
		add("X-Hub-Signature", "not the HMAC-SHA1 of the body: %q", v)
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "GitHub-Hookshot/") {
		add("User-Agent", "%q, want GitHub-Hookshot/…", ua)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		add("Content-Type", "%q, want application/json", ct)
	}
	return out
}

// packageExampleFindings checks what the schema leaves optional but
// GitHub's example of a container's registry_package published
// (webhooks/examples/registry_package/published.docker.payload.json)
// shows, and issue 16 names: every key of its registry block, of the
// version's package_url and installation_command, of the image's labels
// and of its manifest (uri, size, config, layers) is there; and the
// namespace is "owner/repository" (the example's "Codertocat/hello-world";
// pkgwarden must not take it for the owner).
func packageExampleFindings(t *testing.T, event string, body []byte) []ghsim.Finding {
	if event != "registry_package" {
		return nil
	}
	var p, ex map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/github/webhooks/examples/registry_package/published.docker.payload.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	rp, _ := p["registry_package"].(map[string]any)
	var out []ghsim.Finding
	if ns, _ := rp["namespace"].(string); p["repository"] != nil && !strings.Contains(ns, "/") {
		out = append(out, ghsim.Finding{At: "/registry_package/namespace", What: fmt.Sprintf("%q is not owner/repository, as GitHub's is", ns)})
	}
	roots := []string{"/registry_package/registry", "/registry_package/package_version/package_url",
		"/registry_package/package_version/installation_command"}
	if rp["package_type"] == "CONTAINER" {
		roots = append(roots, "/registry_package/package_version/container_metadata/labels",
			"/registry_package/package_version/container_metadata/manifest")
	}
	for _, root := range roots {
		out = append(out, missingKeys(lookup(ex, root), lookup(p, root), root)...)
	}
	return out
}

// lookup is the value at a JSON pointer of plain segments, nil if none.
func lookup(v any, ptr string) any {
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

// missingKeys lists, as findings, where got lacks a key example has (lists:
// against their first element), or lacks the value itself.
func missingKeys(example, got any, at string) []ghsim.Finding {
	if got == nil && example != nil {
		return []ghsim.Finding{{At: at, What: "missing (GitHub's example has it)"}}
	}
	var out []ghsim.Finding
	switch ex := example.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range ex {
			if strings.HasSuffix(at, "/labels") && k == "all_labels" {
				// Its keys are the image's labels: data, not shape.
				if _, ok := g[k].(map[string]any); !ok {
					out = append(out, ghsim.Finding{At: at + "/" + k, What: "missing (GitHub's example has it)"})
				}
				continue
			}
			out = append(out, missingKeys(v, g[k], at+"/"+k)...)
		}
	case []any:
		if g, _ := got.([]any); len(ex) > 0 && len(g) > 0 {
			out = append(out, missingKeys(ex[0], g[0], at+"/0")...)
		}
	}
	return out
}

// TestWebhookConformance drives the simulator to send every webhook it can
// (packages published by push and by a registry client, a tag moved,
// issues and comments by people and by the App, pushes, pull requests
// from a branch and from a fork), receives them at a real HTTP receiver,
// and validates each against GitHub's webhook schema chosen by its
// X-GitHub-Event header and action, and its headers against GitHub's.
// Whatever the simulator sends is validated: an event or action the schema
// lacks fails, so events added later are checked without touching this
// test. Kept deviations are in conformance_deviations_test.go.
func TestWebhookConformance(t *testing.T) {
	schemas, err := loadHookSchemas()
	if err != nil {
		t.Fatal(err)
	}
	sim := simtest.New(t, ghsim.Options{})
	sim.SetQuiet(false)
	srv := simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	hooks := newHookRecorder(t, sim.WebhookSecret())
	sim.SetWebhookURL(hooks.url)
	driveWebhooks(t, sim, srv.URL, hooks.url)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	sent := sim.Deliveries()
	got := hooks.deliveries()
	if len(got) != len(sent) {
		t.Fatalf("the receiver got %d deliveries, the simulator sent %d", len(got), len(sent))
	}

	var found []ghsim.Finding
	kinds := map[string]int{}
	for _, d := range got {
		event := d.header.Get("X-GitHub-Event")
		var p struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(d.body, &p); err != nil {
			t.Fatalf("%s delivery is not JSON: %v", event, err)
		}
		where := event
		if p.Action != "" {
			where += "." + p.Action
		}
		kinds[where]++
		fs, err := schemas.validate(event, p.Action, d.body)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, deliveryHeaderFindings(d.header, d.body, sim.WebhookSecret(), sim.AppID())...)
		fs = append(fs, packageExampleFindings(t, event, d.body)...)
		for _, f := range fs {
			found = append(found, ghsim.Finding{"webhook", where, f.At, f.What})
		}
	}
	t.Logf("validated %d deliveries: %v", len(got), kinds)
	// What the simulator sends today; more is welcome, less is a loss.
	for _, want := range []string{"registry_package.published", "issues.opened", "issues.labeled", "issues.assigned",
		"issues.edited", "issues.closed", "issues.reopened", "issues.unlabeled", "issue_comment.created",
		"issue_comment.edited", "push", "pull_request.opened", "pull_request.synchronize", "pull_request.closed",
		"pull_request.reopened", "registry_package.updated", "package.published", "package.updated", "installation.created",
		"installation.deleted", "installation_repositories.added", "installation_repositories.removed"} {
		if kinds[want] == 0 {
			t.Errorf("the simulator sent no %s webhook", want)
		}
	}
	ghsim.CheckDeviations(t, "webhook", found)
}

// driveWebhooks makes the simulator send every webhook it can: the App is
// installed on the organisation acme (admin alice, member bob) and on
// the user carol, who forks acme/webapp.
func driveWebhooks(t *testing.T, sim *ghsim.Sim, api, hookURL string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alice := simtest.Org(t, sim, "acme", "alice", "webapp")
	for _, u := range []string{"bob", "carol"} {
		_, err := sim.AddUser(u)
		must(err)
	}
	must(sim.AddOrgMember("acme", "bob", false))
	bob, err := sim.AddClassicToken("bob", "repo")
	must(err)
	for _, r := range []string{"lib", "tools"} {
		_, err = sim.AddRepo("carol", r, ghsim.RepoOptions{})
		must(err)
	}
	perms := map[string]string{"packages": "read", "contents": "read", "issues": "write", "pull_requests": "read"}
	_, err = sim.AddInstallation("acme", perms)
	must(err)
	// carol installs the App (installation created), narrows it to one
	// repository and widens it again (installation_repositories removed,
	// added); dave installs and uninstalls it (installation deleted).

	carolInst, err := sim.Install("carol", perms)
	must(err)
	must(sim.SetInstallationRepositories(carolInst, "lib"))
	must(sim.SetInstallationRepositories(carolInst))
	_, err = sim.AddUser("dave")
	must(err)
	daveInst, err := sim.Install("dave", perms)
	must(err)
	must(sim.RemoveInstallation(daveInst))
	// A repository's hook and an organization's, on the same receiver and
	// secret: GitHub sends them package events besides registry_package.
	_, err = sim.AddRepoHook("acme", "webapp", hookURL, sim.WebhookSecret(), "package", "registry_package")
	must(err)
	_, err = sim.AddOrgHook("acme", hookURL, sim.WebhookSecret(), "package", "registry_package")
	must(err)

	// Packages: a container pushed with a tag, the tag moved onto a new
	// image, a push by digest only; npm releases and a pre-release, of an
	// organisation and of a user.
	pk := simtest.Package{Sim: sim, Pusher: sim.Pusher("alice", alice), Owner: "acme", Name: "webapp"}
	src := sim.WebURL() + "/acme/webapp"
	pk.Push(t, simtest.Image(t, src, "one"), sim.Now(), "latest")
	pk.Push(t, simtest.Image(t, src, "two"), sim.Now(), "latest")
	pk.Push(t, simtest.Image(t, src, "three"), sim.Now())
	_, err = sim.Publish("acme", "npm", "webapp-client", "1.0.0", ghsim.PublishOptions{Repository: "webapp", Sender: "alice"})
	must(err)
	_, err = sim.Publish("acme", "npm", "webapp-client", "1.1.0-rc.1", ghsim.PublishOptions{Repository: "webapp", Prerelease: true})
	must(err)
	_, err = sim.Publish("carol", "npm", "lib", "0.1.0", ghsim.PublishOptions{Repository: "lib", Visibility: "public"})
	must(err)

	// Pushes, a branch and pull requests: from a branch and from a fork.
	must(sim.PutFile("acme", "webapp", "", ".github/pkgwarden.yml", []byte("rules: []\n"), "alice"))
	must(sim.PutFile("acme", "webapp", "feature", "a.txt", []byte("a\n"), "alice"))
	pr, err := sim.OpenPullRequest("acme", "webapp", ghsim.PullRequestOptions{Head: "feature", Title: "feature", Body: "one\r\ntwo", User: "alice"})
	must(err)
	must(sim.PutFile("acme", "webapp", "feature", "b.txt", []byte("b\n"), "alice"))
	must(sim.SetPullRequestState("acme", "webapp", pr, "closed", "alice"))
	must(sim.SetPullRequestState("acme", "webapp", pr, "open", "alice"))
	_, err = sim.AddFork("acme", "webapp", "carol")
	must(err)
	must(sim.PutFile("carol", "webapp", "fix", "c.txt", []byte("c\n"), "carol"))
	_, err = sim.OpenPullRequest("acme", "webapp", ghsim.PullRequestOptions{Head: "carol:fix", Title: "fix", User: "carol"})
	must(err)
	must(sim.DeleteFile("acme", "webapp", "", ".github/pkgwarden.yml", "alice"))

	// Issues and comments, by a person (bob) and by an admin (alice), with
	// the \r\n GitHub's web editor sends.
	n, err := sim.CreateIssue("acme", "webapp", "bob", "it broke", "steps:\r\n1. push", "bug")
	must(err)
	issue := fmt.Sprintf("/repos/acme/webapp/issues/%d", n)
	restCall(t, api, "PATCH", issue, alice, map[string]any{"title": "it broke again", "body": "steps:\r\n2. push",
		"labels": []string{"triage"}, "assignees": []string{"alice"}}, 200)
	restCall(t, api, "PATCH", issue, alice, map[string]any{"state": "closed"}, 200)
	restCall(t, api, "PATCH", issue, alice, map[string]any{"state": "open"}, 200)
	var c struct{ ID int64 }
	must(json.Unmarshal(restCall(t, api, "POST", issue+"/comments", bob, map[string]any{"body": "/pkgwarden restore 1\r\n"}, 201), &c))
	restCall(t, api, "PATCH", fmt.Sprintf("/repos/acme/webapp/issues/comments/%d", c.ID), bob, map[string]any{"body": "/pkgwarden help"}, 200)
}

// restCall sends one REST request to the simulator and returns the body;
// the status must be want.
func restCall(t *testing.T, api, method, path, tok string, body any, want int) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, api+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, out)
	}
	return out
}

// TestWebhookExamples validates GitHub's own example payloads
// (testdata/github/webhooks/examples/<event>/) against GitHub's schema:
// the check of the validator's wiring. Examples GitHub's own schema
// refuses are allowed in conformance_deviations_test.go (kind "example").
func TestWebhookExamples(t *testing.T) {
	schemas, err := loadHookSchemas()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/github/webhooks/examples/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example payloads: %v", err)
	}
	var found []ghsim.Finding
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		event := filepath.Base(filepath.Dir(f))
		var p struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fs, err := schemas.validate(event, p.Action, b)
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(f, "testdata/github/webhooks/examples/")
		for _, x := range fs {
			found = append(found, ghsim.Finding{"example", rel, x.At, x.What})
		}
	}
	t.Logf("validated %d example payloads", len(files))
	ghsim.CheckDeviations(t, "example", found)
}
