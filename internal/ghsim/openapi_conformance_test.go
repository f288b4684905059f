package ghsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/golang-jwt/jwt/v4"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
)

// restSpec is GitHub's REST description (testdata/github/rest/openapi.json)
// and a router over its operations, loaded once per test binary.
type restSpec struct {
	doc    *openapi3.T
	router routers.Router
}

var loadRESTSpec = sync.OnceValues(func() (*restSpec, error) {
	doc, err := openapi3.NewLoader().LoadFromFile("testdata/github/rest/openapi.json")
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	// Not doc.Validate: GitHub's document has examples kin-openapi calls
	// invalid ("no value or externalValue"), which the answers do not use.
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &restSpec{doc: doc, router: r}, nil
})

// specOrigin is the server of GitHub's document: requests to the
// simulator are routed as if they had gone there.
const specOrigin = "https://api.github.com"

// call is one request of the conformance walk and the status it must get.
type call struct {
	name         string
	method, path string // path with its query, from the API root
	tok          string // a token's name in conformClient.tokens; else the literal credential ("" none)
	body         any    // JSON, or url.Values for a form
	header       map[string]string
	want         int
	pages        bool   // a listing of more than one page: Link must lead on
	secondary    bool   // a secondary rate-limit answer: Retry-After
	primary      bool   // a spent primary rate limit: X-RateLimit-Remaining 0
	message      string // the error message GitHub gives, when known
}

// conformClient sends the walk's requests over real HTTP and checks every
// answer against the OpenAPI document and the headers GitHub documents.
type conformClient struct {
	spec   *restSpec
	base   string // the simulator's origin, no trailing slash
	hc     *http.Client
	tokens map[string]string
	// classic names the tokens that are classic personal access tokens.
	classic map[string]bool
	found   []ghsim.Finding
	// met records, per operation, the statuses it answered.
	met map[string]map[int]bool
}

// do sends c and returns the answer's body; the status must be c.want.
func (cc *conformClient) do(t *testing.T, c call) []byte {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := c.body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(c.method, cc.base+c.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	cred := c.tok
	if v, ok := cc.tokens[c.tok]; ok {
		cred = v
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := cc.hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", c.name, c.method, c.path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: read: %v", c.name, err)
	}
	if resp.StatusCode != c.want {
		t.Errorf("%s: %s %s: status %d, want %d: %s", c.name, c.method, c.path, resp.StatusCode, c.want, bytes.TrimSpace(body))
	}
	cc.check(req, resp, body, c, cc.classic[c.tok])
	return body
}

// check validates one answer: the route, the status, the body and the
// headers the document declares (kin-openapi), then the headers GitHub
// documents elsewhere (rateHeaderFindings and the checks below).
func (cc *conformClient) check(req *http.Request, resp *http.Response, body []byte, c call, classic bool) {
	rr := req.Clone(context.Background())
	u, _ := url.Parse(specOrigin + req.URL.RequestURI())
	rr.URL, rr.Host, rr.RequestURI = u, u.Host, ""
	route, params, err := cc.spec.router.FindRoute(rr)
	if err != nil {
		// GitHub's {path} of the contents API spans slashes; the router's
		// path parameters do not: route the file as one segment.
		if owner, rest, ok := strings.Cut(strings.TrimPrefix(rr.URL.Path, "/repos/"), "/contents/"); ok && strings.Count(owner, "/") == 1 {
			one := rr.Clone(context.Background())
			one.URL.Path = "/repos/" + owner + "/contents/" + strings.ReplaceAll(rest, "/", "_")
			if route, params, err = cc.spec.router.FindRoute(one); err == nil {
				params["path"] = rest
			}
		}
	}
	if err != nil {
		cc.found = append(cc.found, ghsim.Finding{"rest", req.Method + " " + req.URL.Path, "route", "no operation of the OpenAPI document: " + err.Error()})
		return
	}
	where := req.Method + " " + route.Path
	add := func(at, what string, args ...any) {
		cc.found = append(cc.found, ghsim.Finding{"rest", where, at, fmt.Sprintf(what, args...)})
	}
	status := resp.StatusCode
	if cc.met[where] == nil {
		cc.met[where] = map[int]bool{}
	}
	cc.met[where][status] = true

	doc := route.Operation.Responses.Status(status)
	if doc == nil {
		doc = route.Operation.Responses.Default()
	}
	if doc == nil {
		add(fmt.Sprintf("status %d", status), "status %d not documented for the operation (documented: %s)", status, documented(route.Operation))
	} else if status != http.StatusNotModified { // kin-openapi validates no 304
		opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rr, PathParams: params, Route: route, Options: opts},
			Status:                 status,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                opts,
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			for _, f := range schemaFindings(err) {
				add(f.At, "%s", f.What)
			}
		}
		// Headers the document declares are sent by GitHub: kin-openapi
		// checks their form when present, their presence is checked here
		// (Link only where there is another page, below).
		for name := range doc.Value.Headers {
			if name != "Link" && resp.Header.Get(name) == "" {
				add("header "+name, "missing (declared by the document)")
			}
		}
	}
	for _, f := range headerFindings(req, resp, body, c, classic) {
		add(f.At, "%s", f.What)
	}
}

// documented lists the statuses an operation documents.
func documented(op *openapi3.Operation) string {
	var out []string
	for k := range op.Responses.Map() {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// schemaFindings flattens kin-openapi's errors into places and messages.
func schemaFindings(err error) []ghsim.Finding {
	var out []ghsim.Finding
	// An error under allOf, anyOf or oneOf carries the errors of the
	// schemas it combines as its Origin, at places relative to its own.
	var walk func(error, string)
	walk = func(err error, prefix string) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, prefix)
			}
		case *openapi3.SchemaError:
			at := prefix
			if p := e.JSONPointer(); len(p) > 0 {
				at += "/" + strings.Join(p, "/")
			}
			if e.Origin != nil {
				walk(e.Origin, at)
				return
			}
			out = append(out, ghsim.Finding{At: at, What: e.Reason})
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				out = append(out, ghsim.Finding{At: prefix, What: e.Reason})
				return
			}
			walk(e.Err, prefix)
		default:
			// Keep the message, not the schema kin-openapi prints after it.
			msg, _, _ := strings.Cut(err.Error(), "\nSchema:")
			out = append(out, ghsim.Finding{At: prefix, What: msg})
		}
	}
	walk(err, "")
	return out
}

var (
	// An entity tag, strong or weak (RFC 9110, 8.8.3).
	etagRE = regexp.MustCompile(`^(W/)?"[\x21\x23-\x7e]*"$`)
	// One link of a Link header as GitHub writes them (REST docs, "Using
	// pagination in the REST API": rel next, prev, first, last).
	linkRE = regexp.MustCompile(`^<(https?://[^>]+)>; rel="(next|prev|first|last)"$`)
)

// headerFindings checks the headers GitHub's REST docs describe, which the
// OpenAPI document does not declare:
//
//   - X-RateLimit-Limit, -Remaining, -Used, -Reset (integers, Reset in Unix
//     seconds) and -Resource on every answer ("Rate limits for the REST
//     API", checking the status of your rate limit); Remaining 0 when the
//     primary limit is spent and Retry-After (seconds) on a secondary
//     rate-limit answer (same page, "Exceeding the rate limit").
//   - ETag on every GET answered 200 and no body with a 304 ("Best
//     practices for using the REST API", conditional requests).
//   - Link well formed with absolute URLs, leading to the next page when
//     there is one ("Using pagination in the REST API").
//   - X-OAuth-Scopes on every answer to a classic token ("Scopes for OAuth
//     apps": "X-OAuth-Scopes lists the scopes your token has authorized").
//   - The error message where GitHub's is known (call.message): a package
//     that does not exist is "Package not found." (GitHub's answer, as
//     actions/delete-package-versions#105 and #115 quote it).
func headerFindings(req *http.Request, resp *http.Response, body []byte, c call, classic bool) []ghsim.Finding {
	var out []ghsim.Finding
	add := func(at, what string, args ...any) {
		out = append(out, ghsim.Finding{At: at, What: fmt.Sprintf(what, args...)})
	}
	h := resp.Header
	for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset"} {
		v := h.Get(name)
		if v == "" {
			add("header "+name, "missing")
		} else if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			add("header "+name, "not a non-negative integer: %q", v)
		}
	}
	if h.Get("X-RateLimit-Resource") == "" {
		add("header X-RateLimit-Resource", "missing")
	}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && reset < time.Now().Add(-time.Minute).Unix() {
		add("header X-RateLimit-Reset", "in the past: %d", reset)
	}
	if c.primary && h.Get("X-RateLimit-Remaining") != "0" {
		add("header X-RateLimit-Remaining", "%q on a spent primary limit, want 0", h.Get("X-RateLimit-Remaining"))
	}
	if c.secondary {
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 {
			add("header Retry-After", "not a positive number of seconds on a secondary rate limit: %q", h.Get("Retry-After"))
		}
	}
	if req.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
		if e := h.Get("ETag"); e == "" {
			add("header ETag", "missing on a GET answered 200")
		} else if !etagRE.MatchString(e) {
			add("header ETag", "not an entity tag: %q", e)
		}
	}
	if c.message != "" {
		var e struct{ Message string }
		if err := json.Unmarshal(body, &e); err != nil || e.Message != c.message {
			add("/message", "message %q, GitHub's is %q", e.Message, c.message)
		}
	}
	if resp.StatusCode == http.StatusNotModified && len(body) > 0 {
		add("", "304 with a body of %d bytes", len(body))
	}
	next := false
	if l := h.Get("Link"); l != "" {
		for _, part := range strings.Split(l, ", ") {
			m := linkRE.FindStringSubmatch(part)
			if m == nil {
				add("header Link", "not a link of GitHub's form: %q", part)
				continue
			}
			next = next || m[2] == "next"
		}
	}
	if c.pages && !next {
		add("header Link", "no rel=\"next\" on a listing with another page: %q", h.Get("Link"))
	}
	if classic && resp.StatusCode != http.StatusUnauthorized {
		if _, ok := h["X-Oauth-Scopes"]; !ok {
			add("header X-OAuth-Scopes", "missing on an answer to a classic token (status %d)", resp.StatusCode)
		}
	}
	return out
}

// appJWT is a JWT of the simulator's app, as GitHub wants them (RS256,
// iat 30 s back, exp within 10 minutes, iss the app id).
func appJWT(t *testing.T, sim *ghsim.Sim) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now.Add(-30 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		Issuer:    strconv.FormatInt(sim.AppID(), 10),
	})
	s, err := tok.SignedString(sim.AppKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonField decodes body and returns its top-level field as text.
func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v: %s", field, err, body)
	}
	switch v := m[field].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	t.Fatalf("no %s in %s", field, body)
	return ""
}

// TestOpenAPIConformance drives every REST operation pkgwarden calls or
// the simulator serves (all of testdata/github/rest/openapi.json), with
// success and error answers, over real HTTP against a served simulator,
// and checks each answer against GitHub's OpenAPI document with
// kin-openapi: the status must be documented for the operation, the body
// must match its schema, the headers the document declares must be there
// and well formed; and the headers GitHub documents elsewhere are checked
// by headerFindings. Differences kept on purpose are in
// conformance_deviations_test.go; anything else fails.
func TestOpenAPIConformance(t *testing.T) {
	spec, err := loadRESTSpec()
	if err != nil {
		t.Fatal(err)
	}
	sim := simtest.New(t, ghsim.Options{})
	srv := simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	hooks := newHookRecorder(t, sim.WebhookSecret())
	sim.SetWebhookURL(hooks.url)
	w := newConformWorld(t, sim)
	cc := &conformClient{spec: spec, base: srv.URL, hc: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tokens: w.tokens, classic: w.classic, met: map[string]map[int]bool{}}
	cc.tokens["app"] = appJWT(t, sim)

	for _, c := range w.appCalls(t, cc) {
		cc.do(t, c)
	}
	for _, c := range w.repoCalls() {
		cc.do(t, c)
	}
	w.issueCalls(t, cc)
	w.pullAndCheckCalls(t, cc)
	for _, sc := range []struct{ pre, owner, admin string }{
		{"/orgs/acme", "acme", "alice"}, {"/users/carol", "carol", "carol"}, {"/user", "carol", "carol"},
	} {
		w.packageCalls(t, cc, sc.pre, sc.admin)
	}
	w.rateLimitCalls(t, cc)

	// Every operation of the document answered at least one success and
	// one error.
	for path, item := range spec.doc.Paths.Map() {
		for method := range item.Operations() {
			where := method + " " + path
			var ok, bad bool
			for st := range cc.met[where] {
				ok = ok || st < 300
				bad = bad || st >= 400
			}
			if !ok || !bad {
				t.Errorf("%s: not driven to a success and an error (statuses met: %v)", where, cc.met[where])
			}
		}
	}
	ghsim.CheckDeviations(t, "rest", cc.found)
}

// conformWorld is the world the REST walk runs in: the organisation acme
// (admin alice, member bob) with repositories webapp and quiet (issues
// off), the user carol with her repository lib, an outsider dave, the App
// installed on acme, and packages on both sides.
type conformWorld struct {
	sim     *ghsim.Sim
	tokens  map[string]string
	classic map[string]bool
	inst    int64
	pull    int
}

func newConformWorld(t *testing.T, sim *ghsim.Sim) *conformWorld {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w := &conformWorld{sim: sim, tokens: map[string]string{}, classic: map[string]bool{}}
	w.tokens["alice"] = simtest.Org(t, sim, "acme", "alice", "webapp")
	_, err := sim.AddRepo("acme", "quiet", ghsim.RepoOptions{NoIssues: true})
	must(err)
	for _, u := range []string{"bob", "carol", "dave"} {
		_, err := sim.AddUser(u)
		must(err)
	}
	must(sim.AddOrgMember("acme", "bob", false))
	_, err = sim.AddRepo("carol", "lib", ghsim.RepoOptions{})
	must(err)
	all := []string{"read:packages", "write:packages", "delete:packages", "repo"}
	for name, spec := range map[string]struct {
		user   string
		scopes []string
	}{
		"alice-read": {"alice", []string{"read:packages"}}, "alice-repo": {"alice", []string{"repo"}},
		"bob": {"bob", all}, "carol": {"carol", all}, "carol-read": {"carol", []string{"read:packages"}},
		"carol-repo": {"carol", []string{"repo"}}, "dave": {"dave", all},
	} {
		tok, err := sim.AddClassicToken(spec.user, spec.scopes...)
		must(err)
		w.tokens[name] = tok
	}
	for name := range w.tokens {
		w.classic[name] = true
	}
	w.inst, err = sim.AddInstallation("acme", map[string]string{"packages": "write", "contents": "read",
		"issues": "write", "pull_requests": "read", "checks": "write"})
	must(err)
	must(sim.PutFile("acme", "webapp", "", ".github/pkgwarden.yml", []byte("rules: []\n"), "alice"))
	must(sim.PutFile("acme", "webapp", "", "README.md", []byte("webapp\n"), "alice"))
	must(sim.PutFile("acme", "webapp", "feature", "a.txt", []byte("a\n"), "alice"))
	must(sim.PutFile("acme", "webapp", "feature", "b.txt", []byte("b\n"), "alice"))
	w.pull, err = sim.OpenPullRequest("acme", "webapp", ghsim.PullRequestOptions{Head: "feature", Title: "feature", User: "alice"})
	must(err)

	pk := simtest.Package{Sim: sim, Pusher: sim.Pusher("alice", w.tokens["alice"]), Owner: "acme", Name: "webapp"}
	for _, tag := range []string{"v1", "v2"} {
		pk.Push(t, simtest.Image(t, sim.WebURL()+"/acme/webapp", tag), sim.Now(), tag)
	}
	for _, p := range []struct{ owner, name, repo, ver string }{
		{"acme", "webapp-client", "webapp", "1.0.0"}, {"acme", "webapp-client", "webapp", "1.1.0"},
		{"acme", "other-client", "", "1.0.0"},
		{"carol", "webapp-client", "lib", "1.0.0"}, {"carol", "webapp-client", "lib", "1.1.0"},
		{"carol", "other-client", "", "1.0.0"},
	} {
		_, err := sim.Publish(p.owner, "npm", p.name, p.ver, ghsim.PublishOptions{Repository: p.repo})
		must(err)
	}
	return w
}

// appCalls are the App's own routes: the app, its installations and
// tokens, its webhook deliveries, and the manifest conversion.
func (w *conformWorld) appCalls(t *testing.T, cc *conformClient) []call {
	inst := strconv.FormatInt(w.inst, 10)
	body := cc.do(t, call{name: "installation token", method: "POST", path: "/app/installations/" + inst + "/access_tokens", tok: "app", want: 201})
	cc.tokens["inst"] = jsonField(t, body, "token")
	body = cc.do(t, call{name: "installation token narrowed", method: "POST", path: "/app/installations/" + inst + "/access_tokens", tok: "app",
		body: map[string]any{"permissions": map[string]string{"issues": "read"}}, want: 201})
	cc.tokens["inst-read"] = jsonField(t, body, "token")
	// A delivery to list and send again: the pushes of newConformWorld.
	body = cc.do(t, call{name: "deliveries", method: "GET", path: "/app/hook/deliveries?per_page=1", tok: "app", want: 200, pages: true})
	var ds []struct{ ID int64 }
	if err := json.Unmarshal(body, &ds); err != nil || len(ds) == 0 {
		t.Fatalf("deliveries: %v %s", err, body)
	}
	delivery := strconv.FormatInt(ds[0].ID, 10)
	// A manifest's conversion code: confirm an app created from one.
	form := url.Values{"manifest": {`{"name":"conformance","url":"https://example.org","hook_attributes":{"url":"https://example.org/hooks"},"redirect_url":"https://example.org/done"}`}}
	req, _ := http.NewRequest("POST", cc.base+"/settings/apps/new/confirm", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := cc.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("manifest confirm: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	return []call{
		{name: "app", method: "GET", path: "/app", tok: "app", want: 200},
		{name: "app without a JWT", method: "GET", path: "/app", tok: "alice", want: 401},
		{name: "installations", method: "GET", path: "/app/installations", tok: "app", want: 200},
		{name: "installations without a JWT", method: "GET", path: "/app/installations", want: 401},
		{name: "installation token without a JWT", method: "POST", path: "/app/installations/" + inst + "/access_tokens", want: 401},
		{name: "installation token of no installation", method: "POST", path: "/app/installations/999999/access_tokens", tok: "app", want: 404},
		{name: "installation token asking too much", method: "POST", path: "/app/installations/" + inst + "/access_tokens", tok: "app",
			body: map[string]any{"permissions": map[string]string{"administration": "write"}}, want: 422},
		{name: "org installation", method: "GET", path: "/orgs/acme/installation", tok: "app", want: 200},
		{name: "org installation of no org", method: "GET", path: "/orgs/nobody/installation", tok: "app", want: 404},
		{name: "installation repositories", method: "GET", path: "/installation/repositories", tok: "inst", want: 200},
		{name: "installation repositories paged", method: "GET", path: "/installation/repositories?per_page=1", tok: "inst", want: 200, pages: true},
		{name: "installation repositories with a classic token", method: "GET", path: "/installation/repositories", tok: "alice", want: 403},
		{name: "installation repositories without a token", method: "GET", path: "/installation/repositories", want: 401},
		{name: "deliveries with a bad cursor", method: "GET", path: "/app/hook/deliveries?cursor=x", tok: "app", want: 422},
		{name: "redeliver", method: "POST", path: "/app/hook/deliveries/" + delivery + "/attempts", tok: "app", want: 202},
		{name: "redeliver no delivery", method: "POST", path: "/app/hook/deliveries/999999/attempts", tok: "app", want: 404},
		{name: "manifest conversion", method: "POST", path: "/app-manifests/" + code + "/conversions", want: 201},
		{name: "manifest conversion used twice", method: "POST", path: "/app-manifests/" + code + "/conversions", want: 404},
	}
}

// repoCalls are the repository, contents and account routes.
func (w *conformWorld) repoCalls() []call {
	return []call{
		{name: "repository", method: "GET", path: "/repos/acme/webapp", tok: "inst", want: 200},
		{name: "repository as a person", method: "GET", path: "/repos/acme/webapp", tok: "alice", want: 200},
		{name: "repository that does not exist", method: "GET", path: "/repos/acme/nope", tok: "alice", want: 404},
		{name: "repository with bad credentials", method: "GET", path: "/repos/acme/webapp", tok: "ghp_bogus", want: 401},
		{name: "contents", method: "GET", path: "/repos/acme/webapp/contents/.github/pkgwarden.yml", tok: "inst", want: 200},
		{name: "contents at a ref", method: "GET", path: "/repos/acme/webapp/contents/a.txt?ref=feature", tok: "inst", want: 200},
		{name: "contents of no file", method: "GET", path: "/repos/acme/webapp/contents/nope.yml", tok: "inst", want: 404},
		{name: "contents at no ref", method: "GET", path: "/repos/acme/webapp/contents/README.md?ref=nope", tok: "inst", want: 404},
		{name: "collaborator permission", method: "GET", path: "/repos/acme/webapp/collaborators/bob/permission", tok: "alice", want: 200},
		{name: "collaborator permission of no user", method: "GET", path: "/repos/acme/webapp/collaborators/nobody/permission", tok: "alice", want: 404},
		{name: "collaborator permission without push access", method: "GET", path: "/repos/acme/webapp/collaborators/alice/permission", tok: "bob", want: 403},
		{name: "user", method: "GET", path: "/user", tok: "alice", want: 200},
		{name: "user with an installation token", method: "GET", path: "/user", tok: "inst", want: 403},
		{name: "user without a token", method: "GET", path: "/user", want: 401},
		{name: "account", method: "GET", path: "/users/carol", tok: "alice", want: 200},
		{name: "organisation account", method: "GET", path: "/users/acme", tok: "inst", want: 200},
		{name: "account that does not exist", method: "GET", path: "/users/nobody", tok: "alice", want: 404},
	}
}

// issueCalls open, list, read, edit and comment issues as the App does.
func (w *conformWorld) issueCalls(t *testing.T, cc *conformClient) {
	const base = "/repos/acme/webapp/issues"
	var issue string // the first issue's path
	for i, title := range []string{"pkgwarden: acme/webapp", "second"} {
		body := cc.do(t, call{name: fmt.Sprintf("create issue %d", i), method: "POST", path: base, tok: "inst",
			body: map[string]any{"title": title, "body": "line one\r\nline two", "labels": []string{"pkgwarden"}}, want: 201})
		if i == 0 {
			issue = base + "/" + jsonField(t, body, "number")
		}
	}
	var comment string
	for i := range 2 {
		body := cc.do(t, call{name: fmt.Sprintf("comment %d", i), method: "POST", path: issue + "/comments", tok: "inst",
			body: map[string]string{"body": "/pkgwarden help"}, want: 201})
		comment = jsonField(t, body, "id")
	}
	for _, c := range []call{
		{name: "list issues", method: "GET", path: base + "?per_page=1", tok: "inst", want: 200, pages: true},
		{name: "list issues by label and creator", method: "GET", path: base + "?state=all&labels=pkgwarden&creator=" + url.QueryEscape(ghsim.AppSlug+"[bot]"), tok: "inst", want: 200},
		{name: "list issues of no repository", method: "GET", path: "/repos/acme/nope/issues", tok: "alice", want: 404},
		{name: "list issues with a bad state", method: "GET", path: base + "?state=bogus", tok: "inst", want: 422},
		{name: "create issue without a title", method: "POST", path: base, tok: "inst", body: map[string]string{"body": "x"}, want: 422},
		{name: "create issue with issues off", method: "POST", path: "/repos/acme/quiet/issues", tok: "inst", body: map[string]string{"title": "x"}, want: 410},
		{name: "create issue without issues: write", method: "POST", path: base, tok: "inst-read", body: map[string]string{"title": "x"}, want: 403},
		{name: "get issue", method: "GET", path: issue, tok: "inst", want: 200},
		{name: "get no issue", method: "GET", path: base + "/999", tok: "inst", want: 404},
		{name: "get issue with issues off", method: "GET", path: "/repos/acme/quiet/issues/1", tok: "inst", want: 410},
		{name: "edit issue", method: "PATCH", path: issue, tok: "inst", body: map[string]any{"body": "rewritten", "state": "closed"}, want: 200},
		{name: "edit issue with a bad state", method: "PATCH", path: issue, tok: "inst", body: map[string]string{"state": "bogus"}, want: 422},
		{name: "edit no issue", method: "PATCH", path: base + "/999", tok: "inst", body: map[string]string{"body": "x"}, want: 404},
		{name: "list comments", method: "GET", path: issue + "/comments?per_page=1", tok: "inst", want: 200, pages: true},
		{name: "list comments of no issue", method: "GET", path: base + "/999/comments", tok: "inst", want: 404},
		{name: "comment without a body", method: "POST", path: issue + "/comments", tok: "inst", body: map[string]string{}, want: 422},
		{name: "comment on no issue", method: "POST", path: base + "/999/comments", tok: "inst", body: map[string]string{"body": "x"}, want: 404},
		{name: "edit comment", method: "PATCH", path: base + "/comments/" + comment, tok: "inst", body: map[string]string{"body": "edited"}, want: 200},
		{name: "edit comment without a body", method: "PATCH", path: base + "/comments/" + comment, tok: "inst", body: map[string]string{}, want: 422},
		{name: "edit no comment", method: "PATCH", path: base + "/comments/999999", tok: "inst", body: map[string]string{"body": "x"}, want: 404},
	} {
		cc.do(t, c)
	}
}

// pullAndCheckCalls read the pull request and write the check run as the
// config check does.
func (w *conformWorld) pullAndCheckCalls(t *testing.T, cc *conformClient) {
	pull := fmt.Sprintf("/repos/acme/webapp/pulls/%d", w.pull)
	head, err := w.sim.HeadCommit("acme", "webapp", "feature")
	if err != nil {
		t.Fatal(err)
	}
	body := cc.do(t, call{name: "create check run", method: "POST", path: "/repos/acme/webapp/check-runs", tok: "inst",
		body: map[string]any{"name": "pkgwarden", "head_sha": head, "status": "in_progress"}, want: 201})
	run := "/repos/acme/webapp/check-runs/" + jsonField(t, body, "id")
	ann := func(line int) map[string]any {
		return map[string]any{"path": ".github/pkgwarden.yml", "start_line": line, "end_line": line, "annotation_level": "failure", "message": "bad"}
	}
	for _, c := range []call{
		{name: "pull request", method: "GET", path: pull, tok: "inst", want: 200},
		{name: "no pull request", method: "GET", path: "/repos/acme/webapp/pulls/999", tok: "inst", want: 404},
		{name: "pull request files", method: "GET", path: pull + "/files?per_page=1", tok: "inst", want: 200, pages: true},
		{name: "files of no pull request", method: "GET", path: "/repos/acme/webapp/pulls/999/files", tok: "inst", want: 404},
		{name: "create check run on no commit", method: "POST", path: "/repos/acme/webapp/check-runs", tok: "inst",
			body: map[string]any{"name": "pkgwarden", "head_sha": strings.Repeat("0", 40)}, want: 422},
		{name: "create check run with a classic token", method: "POST", path: "/repos/acme/webapp/check-runs", tok: "alice",
			body: map[string]any{"name": "pkgwarden", "head_sha": head}, want: 403},
		{name: "update check run", method: "PATCH", path: run, tok: "inst", body: map[string]any{"conclusion": "failure",
			"output": map[string]any{"title": "2 errors", "summary": "s", "annotations": []any{ann(1), ann(2)}}}, want: 200},
		{name: "update check run badly", method: "PATCH", path: run, tok: "inst", body: map[string]any{"conclusion": "bogus"}, want: 422},
		{name: "get check run", method: "GET", path: run, tok: "inst", want: 200},
		{name: "get no check run", method: "GET", path: "/repos/acme/webapp/check-runs/999999", tok: "inst", want: 404},
		{name: "annotations", method: "GET", path: run + "/annotations?per_page=1", tok: "inst", want: 200, pages: true},
		{name: "annotations of no check run", method: "GET", path: "/repos/acme/webapp/check-runs/999999/annotations", tok: "inst", want: 404},
		{name: "check runs of a commit", method: "GET", path: "/repos/acme/webapp/commits/" + head + "/check-runs?check_name=pkgwarden", tok: "inst", want: 200},
		{name: "check runs of no commit", method: "GET", path: "/repos/acme/webapp/commits/nope/check-runs", tok: "inst", want: 422},
	} {
		cc.do(t, c)
	}
}

// packageCalls walk the eight Packages operations of one namespace (pre:
// /orgs/acme, /users/carol or /user) as the admin (a classic token):
// errors first, then reads, then deletions each followed by its restore.
func (w *conformWorld) packageCalls(t *testing.T, cc *conformClient, pre, admin string) {
	pkg := pre + "/packages/npm/webapp-client"
	etag := cc.etag(t, pkg, admin)
	vlETag := cc.etag(t, pkg+"/versions", admin)
	body := cc.do(t, call{name: pre + " versions", method: "GET", path: pkg + "/versions?per_page=1", tok: admin, want: 200, pages: true})
	var vs []struct{ ID int64 }
	if err := json.Unmarshal(body, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("versions: %v %s", err, body)
	}
	ver := fmt.Sprintf("%s/versions/%d", pkg, vs[0].ID)
	vetag := cc.etag(t, ver, admin)
	calls := []call{
		{name: "list", method: "GET", path: pre + "/packages?package_type=npm&per_page=1", tok: admin, want: 200, pages: true},
		{name: "list containers", method: "GET", path: pre + "/packages?package_type=container", tok: admin, want: 200},
		{name: "list without a type", method: "GET", path: pre + "/packages", tok: admin, want: 400},
		{name: "list of a bad type", method: "GET", path: pre + "/packages?package_type=bogus", tok: admin, want: 422},
		{name: "list without a token", method: "GET", path: pre + "/packages?package_type=npm", want: 401},
		{name: "list without packages scopes", method: "GET", path: pre + "/packages?package_type=npm", tok: admin + "-repo", want: 403},
		{name: "get", method: "GET", path: pkg, tok: admin, want: 200},
		{name: "get unchanged", method: "GET", path: pkg, tok: admin, header: map[string]string{"If-None-Match": etag}, want: 304},
		{name: "get no package", method: "GET", path: pre + "/packages/npm/nope", tok: admin, want: 404, message: pkgNotFound},
		{name: "get without a token", method: "GET", path: pkg, want: 401},
		{name: "versions unchanged", method: "GET", path: pkg + "/versions", tok: admin, header: map[string]string{"If-None-Match": vlETag}, want: 304},
		{name: "versions of no package", method: "GET", path: pre + "/packages/npm/nope/versions", tok: admin, want: 404, message: pkgNotFound},
		{name: "versions without a token", method: "GET", path: pkg + "/versions", want: 401},
		{name: "versions without packages scopes", method: "GET", path: pkg + "/versions", tok: admin + "-repo", want: 403},
		{name: "deleted versions", method: "GET", path: pkg + "/versions?state=deleted", tok: admin, want: 200},
		{name: "version", method: "GET", path: ver, tok: admin, want: 200},
		{name: "version unchanged", method: "GET", path: ver, tok: admin, header: map[string]string{"If-None-Match": vetag}, want: 304},
		{name: "no version", method: "GET", path: pkg + "/versions/999999", tok: admin, want: 404},
		{name: "delete version read-only", method: "DELETE", path: ver, tok: admin + "-read", want: 403},
		{name: "delete version without a token", method: "DELETE", path: ver, want: 401},
		{name: "delete no version", method: "DELETE", path: pkg + "/versions/999999", tok: admin, want: 404},
		{name: "delete version", method: "DELETE", path: ver, tok: admin, want: 204},
		{name: "restore version read-only", method: "POST", path: ver + "/restore", tok: admin + "-read", want: 403},
		{name: "restore version without a token", method: "POST", path: ver + "/restore", want: 401},
		{name: "restore no version", method: "POST", path: pkg + "/versions/999999/restore", tok: admin, want: 404},
		{name: "restore version", method: "POST", path: ver + "/restore", tok: admin, want: 204},
		{name: "delete package read-only", method: "DELETE", path: pkg, tok: admin + "-read", want: 403},
		{name: "delete package without a token", method: "DELETE", path: pkg, want: 401},
		{name: "delete no package", method: "DELETE", path: pre + "/packages/npm/nope", tok: admin, want: 404, message: pkgNotFound},
		{name: "delete package", method: "DELETE", path: pkg, tok: admin, want: 204},
		{name: "restore package read-only", method: "POST", path: pkg + "/restore", tok: admin + "-read", want: 403},
		{name: "restore package without a token", method: "POST", path: pkg + "/restore", want: 401},
		{name: "restore no package", method: "POST", path: pre + "/packages/npm/nope/restore", tok: admin, want: 404, message: pkgNotFound},
		{name: "restore package", method: "POST", path: pkg + "/restore", tok: admin, want: 204},
	}
	if pre == "/orgs/acme" {
		calls = append(calls,
			call{name: "delete version as a member", method: "DELETE", path: ver, tok: "bob", want: 403},
			call{name: "container versions", method: "GET", path: pre + "/packages/container/webapp/versions", tok: admin, want: 200},
			call{name: "packages with an installation token", method: "GET", path: pre + "/packages?package_type=npm", tok: "inst", want: 403},
		)
	}
	for _, c := range calls {
		c.name = pre + " " + c.name
		cc.do(t, c)
	}
}

// pkgNotFound is GitHub's message for a package that does not exist.
const pkgNotFound = "Package not found."

// etag is the ETag of path's answer to tok, read outside the walk.
func (cc *conformClient) etag(t *testing.T, path, tok string) string {
	t.Helper()
	req, err := http.NewRequest("GET", cc.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cc.tokens[tok])
	resp, err := cc.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("ETag") == "" {
		t.Fatalf("GET %s: no ETag", path)
	}
	return resp.Header.Get("ETag")
}

// rateLimitCalls spend rate limits with fresh tokens: the primary limit,
// then the secondary one answered 403 and then 429 (GitHub sends either).
func (w *conformWorld) rateLimitCalls(t *testing.T, cc *conformClient) {
	for _, rl := range []struct {
		name   string
		limits ghsim.RateLimits
		status int
		c      call
	}{
		{"primary", ghsim.RateLimits{PrimaryLimit: 1}, 403, call{primary: true}},
		{"secondary 403", ghsim.RateLimits{SecondaryPoints: 1}, 403, call{secondary: true}},
		{"secondary 429", ghsim.RateLimits{SecondaryPoints: 1, SecondaryStatus: 429}, 429, call{secondary: true}},
	} {
		if err := w.sim.SetRateLimits(rl.limits); err != nil {
			t.Fatal(err)
		}
		tok, err := w.sim.AddClassicToken("carol", "read:packages")
		if err != nil {
			t.Fatal(err)
		}
		cc.tokens[rl.name] = tok
		cc.classic[rl.name] = true
		for _, path := range []string{"/user", "/users/carol/packages?package_type=npm"} {
			cc.do(t, call{name: rl.name + " first", method: "GET", path: path, tok: rl.name, want: 200})
			c := rl.c
			c.name, c.method, c.path, c.tok, c.want = rl.name+" spent", "GET", path, rl.name, rl.status
			cc.do(t, c)
			w.sim.ResetRequestStats()
		}
	}
	if err := w.sim.SetRateLimits(ghsim.RateLimits{}); err != nil {
		t.Fatal(err)
	}
}
