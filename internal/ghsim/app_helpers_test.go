package ghsim

import (
	"context"
	"crypto/hmac"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"
)

// appFixture is a simulator served over real HTTP with a webhook receiver
// that checks every signature with the secret.
type appFixture struct {
	sim  *Sim
	api  *httptest.Server
	hook *hookReceiver
}

func newAppFixture(t *testing.T) *appFixture {
	t.Helper()
	sim, err := New(Options{})
	if err != nil {
		t.Fatalf("new sim: %v", err)
	}
	api := httptest.NewServer(sim.APIHandler())
	hook := &hookReceiver{secret: sim.WebhookSecret()}
	hooks := httptest.NewServer(hook)
	sim.SetURLs(api.URL, "http://registry.invalid")
	sim.SetWebhookURL(hooks.URL)
	t.Cleanup(func() {
		sim.Close()
		hooks.Close()
		api.Close()
	})
	return &appFixture{sim: sim, api: api, hook: hook}
}

// client is a go-github client on the simulator with token (none when "").
func (f *appFixture) client(token string) *github.Client {
	c := github.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	return f.point(c)
}

func (f *appFixture) point(c *github.Client) *github.Client {
	u, _ := url.Parse(f.api.URL + "/")
	c.BaseURL = u
	return c
}

// appClient authenticates as the app with ghinstallation's JWT transport.
func (f *appFixture) appClient(t *testing.T) *github.Client {
	t.Helper()
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, f.sim.AppID(), keyPEM(f.sim))
	if err != nil {
		t.Fatalf("apps transport: %v", err)
	}
	tr.BaseURL = f.api.URL
	return f.point(github.NewClient(&http.Client{Transport: tr}))
}

// installationClient authenticates as installation id with ghinstallation.
func (f *appFixture) installationClient(t *testing.T, id int64) (*github.Client, *ghinstallation.Transport) {
	t.Helper()
	tr, err := ghinstallation.New(http.DefaultTransport, f.sim.AppID(), id, keyPEM(f.sim))
	if err != nil {
		t.Fatalf("installation transport: %v", err)
	}
	tr.BaseURL = f.api.URL
	return f.point(github.NewClient(&http.Client{Transport: tr})), tr
}

func keyPEM(s *Sim) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.AppKey())})
}

// rawGET fetches path with an Authorization header value (none when "")
// and decodes the JSON answer into v.
func (f *appFixture) rawGET(t *testing.T, path, auth string, v any) *http.Response {
	t.Helper()
	return f.raw(t, http.MethodGet, path, auth, "", v)
}

func (f *appFixture) raw(t *testing.T, method, path, auth, body string, v any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.api.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && len(b) > 0 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp
}

// waitHooks waits until the simulator attempted every delivery.
func (f *appFixture) waitHooks(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.sim.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
}

// drain waits for the deliveries under way and forgets them.
func (f *appFixture) drain(t *testing.T) {
	t.Helper()
	f.waitHooks(t)
	f.hook.take()
}

// received is one webhook delivery as the receiver saw it.
type received struct {
	Event, Delivery, Signature string
	Valid                      bool // signature verified with the secret
	Body                       []byte
}

type hookReceiver struct {
	secret string
	mu     sync.Mutex
	got    []received
	// failing answers 500 to the next deliveries while above 0.
	failing int
}

func (h *hookReceiver) failNext(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = n
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("X-Hub-Signature-256")
	want := Sign(h.secret, body)
	h.mu.Lock()
	h.got = append(h.got, received{
		Event: r.Header.Get("X-GitHub-Event"), Delivery: r.Header.Get("X-GitHub-Delivery"),
		Signature: sig, Valid: hmac.Equal([]byte(sig), []byte(want)), Body: body,
	})
	status := http.StatusAccepted
	if h.failing > 0 {
		h.failing--
		status = http.StatusInternalServerError
	}
	h.mu.Unlock()
	w.WriteHeader(status)
}

// take returns and forgets the deliveries received so far.
func (h *hookReceiver) take() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

// eventActions lists "event/action" of deliveries, in order.
func eventActions(t *testing.T, rs []received) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		var p struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("webhook %s: %v", r.Event, err)
		}
		if p.Action == "" {
			out = append(out, r.Event)
		} else {
			out = append(out, r.Event+"/"+p.Action)
		}
	}
	return out
}

// missingKeys are the keys of want absent from the JSON object obj.
func missingKeys(obj map[string]any, want ...string) []string {
	var out []string
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func assertKeys(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	if m := missingKeys(obj, want...); len(m) > 0 {
		t.Errorf("%s lacks keys %v (has %v)", what, m, keysOf(obj))
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Key sets of the examples in GitHub's REST docs.
var (
	userKeys = []string{"login", "id", "node_id", "avatar_url", "gravatar_id", "url", "html_url",
		"followers_url", "following_url", "gists_url", "starred_url", "subscriptions_url",
		"organizations_url", "repos_url", "events_url", "received_events_url", "type", "site_admin"}
	repoKeys = []string{"id", "node_id", "name", "full_name", "owner", "private", "html_url",
		"description", "fork", "url", "archive_url", "branches_url", "collaborators_url", "comments_url",
		"commits_url", "contents_url", "events_url", "hooks_url", "issue_comment_url", "issues_url",
		"labels_url", "pulls_url", "git_url", "clone_url", "homepage", "language", "forks_count",
		"stargazers_count", "watchers_count", "size", "default_branch", "open_issues_count",
		"is_template", "topics", "has_issues", "has_projects", "has_wiki", "has_pages",
		"has_downloads", "has_discussions", "archived", "disabled", "visibility", "pushed_at",
		"created_at", "updated_at", "allow_forking", "license", "forks", "open_issues", "watchers"}
	installationKeys = []string{"id", "account", "access_tokens_url", "repositories_url", "html_url",
		"app_id", "target_id", "target_type", "permissions", "events", "single_file_name",
		"has_multiple_single_files", "single_file_paths", "repository_selection", "created_at",
		"updated_at", "app_slug", "suspended_at", "suspended_by"}
	appKeys = []string{"id", "slug", "node_id", "owner", "name", "description", "external_url",
		"html_url", "created_at", "updated_at", "permissions", "events"}
	issueKeys = []string{"id", "node_id", "url", "repository_url", "labels_url", "comments_url",
		"events_url", "html_url", "number", "state", "title", "body", "user", "labels", "assignee",
		"assignees", "milestone", "locked", "active_lock_reason", "comments", "closed_at",
		"created_at", "updated_at", "closed_by", "author_association", "state_reason"}
	commentKeys = []string{"id", "node_id", "url", "html_url", "body", "user", "created_at",
		"updated_at", "issue_url", "author_association"}
	labelKeys   = []string{"id", "node_id", "url", "name", "description", "color", "default"}
	contentKeys = []string{"type", "encoding", "size", "name", "path", "content", "sha", "url",
		"git_url", "html_url", "download_url", "_links"}
)
