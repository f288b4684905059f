package githubapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testToken = NewToken("acme", "test", "ghp_testsecret")

// countingObserver records what the transport reports.
type countingObserver struct {
	mu        sync.Mutex
	requests  []string
	remaining int
}

func (o *countingObserver) ObserveRequest(method string, code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, method+" "+http.StatusText(code))
}

func (o *countingObserver) ObserveRateRemaining(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.remaining = n
}

func (o *countingObserver) snapshot() ([]string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.requests...), o.remaining
}

func newTestClient(t *testing.T, f *fakeGitHub, etags ETagStore, obs Observer) *PackagesClient {
	t.Helper()
	c, err := NewPackagesClient(testToken, PackagesClientOptions{
		BaseURL:   f.url(),
		Transport: NewTransport(nil, RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, obs),
		ETags:     etags,
	})
	if err != nil {
		t.Fatalf("NewPackagesClient: %v", err)
	}
	return c
}

var acme = Owner{Login: "acme", Kind: OwnerOrganization}

func TestListVersionsFollowsEveryPage(t *testing.T) {
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/app", 250)
	c := newTestClient(t, f, nil, nil)

	var progress []ListProgress
	got, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{
		Progress: func(p ListProgress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatalf("ListVersions: %v", err)
	}
	if len(got.Versions) != 250 || got.Pages != 3 || got.NotModified {
		t.Fatalf("got %d versions in %d pages (not modified %t), want 250 in 3", len(got.Versions), got.Pages, got.NotModified)
	}
	for i, v := range got.Versions {
		if want := int64(250 - i); v.ID != want {
			t.Fatalf("version %d has id %d, want %d (newest first, no page skipped or repeated)", i, v.ID, want)
		}
	}
	first := got.Versions[0]
	if !strings.HasPrefix(first.Name, "sha256:") || !slices.Equal(first.Tags, []string{"v250"}) {
		t.Errorf("first version = %+v, want a digest name and tag v250", first)
	}
	if want := time.Date(2020, 9, 11, 21, 56, 40, 0, time.UTC); !first.CreatedAt.Equal(want) {
		t.Errorf("created at %v, want %v", first.CreatedAt, want)
	}
	wantProgress := []ListProgress{{Pages: 1, Versions: 100}, {Pages: 2, Versions: 200}, {Pages: 3, Versions: 250}}
	if !slices.Equal(progress, wantProgress) {
		t.Errorf("progress = %+v, want %+v", progress, wantProgress)
	}
	wantReqs := []string{
		"GET /orgs/acme/packages/container/app/versions?page=1&per_page=100&state=active",
		"GET /orgs/acme/packages/container/app/versions?page=2&per_page=100&state=active",
		"GET /orgs/acme/packages/container/app/versions?page=3&per_page=100&state=active",
	}
	if reqs := f.requestLog(); !slices.Equal(reqs, wantReqs) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(wantReqs, "\n"))
	}
}

func TestListVersionsETags(t *testing.T) {
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/app", 150)
	etags := NewMemoryETagStore()
	obs := &countingObserver{}
	c := newTestClient(t, f, etags, obs)
	ctx := context.Background()

	first, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil {
		t.Fatalf("first listing: %v", err)
	}
	if first.NotModified || etags.Len() != 2 {
		t.Fatalf("first listing: not modified %t, %d stored pages; want false, 2", first.NotModified, etags.Len())
	}

	var last ListProgress
	second, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{Progress: func(p ListProgress) { last = p }})
	if err != nil {
		t.Fatalf("second listing: %v", err)
	}
	if !second.NotModified || last.NotModified != 2 {
		t.Errorf("second listing: not modified %t, %d pages 304; want true, 2", second.NotModified, last.NotModified)
	}
	if !slices.EqualFunc(first.Versions, second.Versions, func(a, b Version) bool { return a.ID == b.ID && a.Name == b.Name }) {
		t.Errorf("second listing rebuilt from stored pages differs from the first")
	}
	reqs, _ := obs.snapshot()
	if want := []string{"GET OK", "GET OK", "GET Not Modified", "GET Not Modified"}; !slices.Equal(reqs, want) {
		t.Errorf("observed %v, want %v", reqs, want)
	}

	f.addNewest("/orgs/acme/packages/container/app", 151)
	third, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil {
		t.Fatalf("third listing: %v", err)
	}
	if third.NotModified || len(third.Versions) != 151 || third.Versions[0].ID != 151 {
		t.Errorf("third listing: not modified %t, %d versions, newest %d; want false, 151, 151",
			third.NotModified, len(third.Versions), third.Versions[0].ID)
	}
}

// An ETag covers a page's body, not its Link: when the last stored page is
// full and answers 304, a version added beyond it (a restored old version
// sorts last) is still found, by asking for the next page too.
func TestListVersionsETagsFindAPageAddedBeyondTheLast(t *testing.T) {
	f := newFakeGitHub(t)
	const pkg = "/orgs/acme/packages/container/app"
	f.seedVersions(pkg, 200)
	c := newTestClient(t, f, NewMemoryETagStore(), nil)
	ctx := context.Background()
	if first, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{}); err != nil || len(first.Versions) != 200 {
		t.Fatalf("first listing: %d versions, %v; want 200", len(first.Versions), err)
	}
	f.addOldest(pkg, 1000)
	second, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Versions) != 201 || second.Versions[200].ID != 1000 || second.NotModified {
		t.Errorf("second listing: %d versions (not modified %t), want 201 ending with the added 1000", len(second.Versions), second.NotModified)
	}
	// Unchanged since: the two stored pages and the third, all 304.
	third, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil || len(third.Versions) != 201 || !third.NotModified || third.Pages != 3 {
		t.Errorf("third listing: %d versions in %d pages, not modified %t, %v; want 201 in 3, true", len(third.Versions), third.Pages, third.NotModified, err)
	}
}

func TestPackageNamesAreEscaped(t *testing.T) {
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/team%2Fapp", 3)
	c := newTestClient(t, f, nil, nil)
	ctx := context.Background()
	tests := map[string]struct {
		call func() error
		want string
	}{
		"list versions": {
			call: func() error {
				_, err := c.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{State: StateDeleted})
				return err
			},
			want: "GET /orgs/acme/packages/container/team%2Fapp/versions?page=1&per_page=100&state=deleted",
		},
		"get package": {
			call: func() error { _, err := c.GetPackage(ctx, acme, "container", "team/app"); return err },
			want: "GET /orgs/acme/packages/container/team%2Fapp",
		},
		"get version": {
			call: func() error { _, err := c.GetVersion(ctx, acme, "container", "team/app", 2); return err },
			want: "GET /orgs/acme/packages/container/team%2Fapp/versions/2",
		},
		"delete version": {
			call: func() error { return c.DeleteVersion(ctx, acme, "container", "team/app", 1) },
			want: "DELETE /orgs/acme/packages/container/team%2Fapp/versions/1",
		},
		"restore version": {
			call: func() error { return c.RestoreVersion(ctx, acme, "container", "team/app", 1) },
			want: "POST /orgs/acme/packages/container/team%2Fapp/versions/1/restore",
		},
		"delete package": {
			call: func() error { return c.DeletePackage(ctx, acme, "container", "team/app") },
			want: "DELETE /orgs/acme/packages/container/team%2Fapp",
		},
		"restore package": {
			call: func() error { return c.RestorePackage(ctx, acme, "container", "team/app") },
			want: "POST /orgs/acme/packages/container/team%2Fapp/restore",
		},
		"user package": {
			call: func() error {
				return c.RestorePackage(ctx, Owner{Login: "octocat", Kind: OwnerUser}, "container", "team/app")
			},
			want: "POST /users/octocat/packages/container/team%2Fapp/restore",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := len(f.requestLog())
			if err := tc.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requestLog()[before:]
			if len(reqs) != 1 || reqs[0] != tc.want {
				t.Errorf("requests %q, want [%q]", reqs, tc.want)
			}
		})
	}
}

func TestFixturesConvert(t *testing.T) {
	f := newFakeGitHub(t)
	f.owners["github"] = [2]string{"github", "Organization"}
	f.owners["octocat"] = [2]string{"octocat", "User"}
	c := newTestClient(t, f, nil, nil)
	ctx := context.Background()

	org, err := c.ResolveOwner(ctx, "GitHub")
	if err != nil || org != (Owner{Login: "github", Kind: OwnerOrganization}) {
		t.Fatalf("ResolveOwner(GitHub) = %+v, %v; want an organization", org, err)
	}
	user, err := c.ResolveOwner(ctx, "octocat")
	if err != nil || user.Kind != OwnerUser {
		t.Fatalf("ResolveOwner(octocat) = %+v, %v; want a user", user, err)
	}
	if _, err := c.ResolveOwner(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveOwner(nobody) error %v, want ErrNotFound", err)
	}

	pkgs, err := c.ListPackages(ctx, org, "container", "private")
	if err != nil {
		t.Fatalf("ListPackages: %v", err)
	}
	want := []Package{
		{ID: 197, Name: "hello_docker", Type: "container", Visibility: "private", VersionCount: 1, Owner: "github",
			Repository: "github/hello-docker", HTMLURL: "https://github.com/orgs/github/packages/container/package/hello_docker",
			CreatedAt: time.Date(2020, 5, 19, 22, 19, 11, 0, time.UTC), UpdatedAt: time.Date(2020, 5, 19, 22, 19, 11, 0, time.UTC)},
		{ID: 198, Name: "goodbye_docker", Type: "container", Visibility: "private", VersionCount: 2, Owner: "github",
			HTMLURL:   "https://github.com/orgs/github/packages/container/package/goodbye_docker",
			CreatedAt: time.Date(2020, 5, 20, 22, 19, 11, 0, time.UTC), UpdatedAt: time.Date(2020, 5, 20, 22, 19, 11, 0, time.UTC)},
	}
	if !slices.EqualFunc(pkgs, want, func(a, b Package) bool {
		return a.ID == b.ID && a.Name == b.Name && a.Type == b.Type && a.Visibility == b.Visibility &&
			a.VersionCount == b.VersionCount && a.Owner == b.Owner && a.Repository == b.Repository &&
			a.HTMLURL == b.HTMLURL && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
	}) {
		t.Errorf("ListPackages =\n%+v\nwant\n%+v", pkgs, want)
	}
	if reqs := f.requestLog(); reqs[len(reqs)-1] != "GET /orgs/github/packages?package_type=container&page=1&per_page=100&visibility=private" {
		t.Errorf("list packages request %q", reqs[len(reqs)-1])
	}

	var wire wireVersion
	readFixture(t, "org-container-version.json", &wire)
	v := wire.version()
	if v.ID != 836 || v.Name != "sha256:b3d3e366b55f9a54599220198b3db5da8f53592acbbb7dc7e4e9878762fc5344" ||
		!slices.Equal(v.Tags, []string{"latest"}) || !v.DeletedAt.IsZero() ||
		v.HTMLURL != "https://github.com/orgs/github/packages/container/hello_docker/836" {
		t.Errorf("converted version = %+v", v)
	}
	var deleted []wireVersion
	readFixture(t, "user-container-versions.json", &deleted)
	if got := deleted[1].version(); got.Tags != nil {
		t.Errorf("untagged version has tags %#v, want nil", got.Tags)
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	tests := map[string]struct {
		fail func(w http.ResponseWriter)
		want []string
	}{
		"two 502s": {
			fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			want: []string{"GET Bad Gateway", "GET Bad Gateway", "GET OK"},
		},
		"two dropped connections": {
			fail: func(w http.ResponseWriter) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			},
			want: []string{"GET ", "GET ", "GET OK"}, // code 0: no response
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFakeGitHub(t)
			f.seedVersions("/orgs/acme/packages/container/app", 2)
			f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n <= 2 {
					tc.fail(w)
					return true
				}
				return false
			}
			obs := &countingObserver{}
			c := newTestClient(t, f, nil, obs)
			got, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{})
			if err != nil {
				t.Fatalf("ListVersions after two failures: %v", err)
			}
			if len(got.Versions) != 2 {
				t.Errorf("got %d versions, want 2", len(got.Versions))
			}
			reqs, remaining := obs.snapshot()
			if !slices.Equal(reqs, tc.want) {
				t.Errorf("observed %q, want %q", reqs, tc.want)
			}
			if remaining != 4990 {
				t.Errorf("rate remaining %d, want 4990", remaining)
			}
		})
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFakeGitHub(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	c := newTestClient(t, f, nil, nil)
	_, err := c.GetVersion(context.Background(), acme, "container", "app", 1)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("error %v, want an APIError with 503", err)
	}
	if n := len(f.requestLog()); n != 4 {
		t.Errorf("%d requests, want 4 (default MaxAttempts)", n)
	}
}

func TestDeleteRetriedAfterLostAnswerMeets404(t *testing.T) {
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/app", 2)
	// The first DELETE is carried out but its answer is lost in a 502.
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			f.serve(discardWriter{}, r)
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	c := newTestClient(t, f, nil, nil)
	if err := c.DeleteVersion(context.Background(), acme, "container", "app", 2); err != nil {
		t.Fatalf("DeleteVersion: %v, want nil (404 after retry means done)", err)
	}
	reqs := f.requestLog()
	if len(reqs) != 3 { // the lost one, its replay inside the handler, the retry
		t.Fatalf("requests %v", reqs)
	}
	if err := c.DeleteVersion(context.Background(), acme, "container", "app", 99); err != nil {
		t.Errorf("DeleteVersion of a missing version: %v, want nil", err)
	}
}

// discardWriter is a ResponseWriter that throws the answer away, to play
// a request whose answer is lost.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// GitHub refuses a deletion with 403 (more than 5,000 downloads) or 400
// (the last version of a package); neither is retried, both match
// ErrRefused and carry GitHub's message.
func TestRefusalIsNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusBadRequest, http.StatusUnprocessableEntity} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFakeGitHub(t)
			f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("X-RateLimit-Remaining", "4999")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"message":"You cannot delete the last tagged version of a package."}`))
				return true
			}
			c := newTestClient(t, f, nil, nil)
			err := c.DeleteVersion(context.Background(), acme, "container", "app", 1)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v, want ErrRefused", err)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) {
				t.Errorf("a refusal classified as a rate limit: %v", err)
			}
			if !strings.Contains(err.Error(), "last tagged version") {
				t.Errorf("error %q does not carry GitHub's message", err)
			}
			if n := len(f.requestLog()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestRateLimitThroughClient(t *testing.T) {
	f := newFakeGitHub(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("X-RateLimit-Remaining", "100")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	c := newTestClient(t, f, nil, nil)
	_, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{})
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Wait != 30*time.Second || !rl.Secondary {
		t.Fatalf("error %v, want a secondary *RateLimitError waiting 30s", err)
	}
	if n := len(f.requestLog()); n != 1 {
		t.Errorf("%d requests, want 1 (rate limits are not retried by the transport)", n)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	f := newFakeGitHub(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := NewTransport(nil, RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour}, nil)
	tr.Sleep = func(ctx context.Context, d time.Duration) error {
		if d < 30*time.Minute {
			t.Errorf("backoff %v, want within [30m, 1h] for an hour base delay", d)
		}
		cancel() // the job is cancelled while waiting
		<-ctx.Done()
		return ctx.Err()
	}
	c, err := NewPackagesClient(testToken, PackagesClientOptions{BaseURL: f.url(), Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetVersion(ctx, acme, "container", "app", 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestUnknownOwnerKind(t *testing.T) {
	f := newFakeGitHub(t)
	c := newTestClient(t, f, nil, nil)
	err := c.DeleteVersion(context.Background(), Owner{Login: "acme"}, "container", "app", 1)
	if err == nil || len(f.requestLog()) != 0 {
		t.Errorf("error %v with %d requests; want an error before any request", err, len(f.requestLog()))
	}
}

func TestPostIsNotRetried(t *testing.T) {
	f := newFakeGitHub(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	}
	c := newTestClient(t, f, nil, nil)
	err := c.RestoreVersion(context.Background(), acme, "container", "app", 1)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
		t.Fatalf("error %v, want an APIError with 502", err)
	}
	if n := len(f.requestLog()); n != 1 {
		t.Errorf("%d requests, want 1: a restore is a POST and is not retried blindly", n)
	}
}

func TestPrimaryRateLimitThenFailFast(t *testing.T) {
	f := newFakeGitHub(t)
	reset := time.Now().Add(2 * time.Minute).Truncate(time.Second)
	f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
		return true
	}
	now := reset.Add(-90 * time.Second)
	c, err := NewPackagesClient(testToken, PackagesClientOptions{
		BaseURL:   f.url(),
		Transport: NewTransport(nil, RetryPolicy{BaseDelay: time.Millisecond}, nil),
		Now:       func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		err := c.DeleteVersion(context.Background(), acme, "container", "app", 1)
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.Wait != 90*time.Second || rl.Secondary || !rl.Reset.Equal(reset) {
			t.Fatalf("call %d: error %v, want a primary RateLimitError waiting 90s until %v", i, err, reset)
		}
		if errors.Is(err, ErrRefused) {
			t.Errorf("call %d: a rate limit matched ErrRefused", i)
		}
	}
	// go-github remembers the exhausted limit: the second call never left.
	if n := len(f.requestLog()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRateIsRemembered(t *testing.T) {
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/app", 1)
	c := newTestClient(t, f, nil, nil)
	if c.Rate().Known {
		t.Fatalf("rate known before any request")
	}
	if _, err := c.GetVersion(context.Background(), acme, "container", "app", 1); err != nil {
		t.Fatal(err)
	}
	if r := c.Rate(); !r.Known || r.Limit != 5000 || r.Remaining != 4990 {
		t.Errorf("Rate() = %+v, want 4990 of 5000", r)
	}
}

func TestNewPackagesClientNeedsAToken(t *testing.T) {
	if _, err := NewPackagesClient(Token{}, PackagesClientOptions{}); !errors.Is(err, ErrNoPackagesToken) {
		t.Errorf("error %v, want ErrNoPackagesToken", err)
	}
	if _, err := NewPackagesClient(testToken, PackagesClientOptions{BaseURL: "not a url"}); err == nil {
		t.Errorf("a relative API URL was accepted")
	}
}

func TestUserOwners(t *testing.T) {
	f := newFakeGitHub(t)
	f.owners["octocat"] = [2]string{"octocat", "User"}
	f.owners["monalisa"] = [2]string{"monalisa", "User"}
	f.self = "OctoCat"
	c := newTestClient(t, f, nil, nil)
	ctx := context.Background()
	tests := map[string]struct {
		login string
		self  bool
		want  string
	}{
		"the token's own user uses /user":     {login: "octocat", self: true, want: "POST /user/packages/container/team%2Fapp/restore"},
		"another user uses /users/{username}": {login: "monalisa", self: false, want: "POST /users/monalisa/packages/container/team%2Fapp/restore"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := c.ResolveOwner(ctx, tc.login)
			if err != nil || o.Kind != OwnerUser || o.Self != tc.self {
				t.Fatalf("ResolveOwner(%s) = %+v, %v; want a user, self %t", tc.login, o, err, tc.self)
			}
			before := len(f.requestLog())
			if err := c.RestorePackage(ctx, o, "container", "team/app"); err != nil {
				t.Fatal(err)
			}
			if reqs := f.requestLog()[before:]; len(reqs) != 1 || reqs[0] != tc.want {
				t.Errorf("requests %q, want [%q]", reqs, tc.want)
			}
		})
	}
	if n := strings.Count(strings.Join(f.requestLog(), "\n"), "GET /user\n"); n != 1 {
		t.Errorf("GET /user asked %d times, want once per client", n)
	}
	t.Run("GET /user unavailable is not fatal", func(t *testing.T) {
		f.mu.Lock()
		f.self = ""
		f.mu.Unlock()
		c := newTestClient(t, f, nil, nil)
		o, err := c.ResolveOwner(ctx, "octocat")
		if err != nil || o.Self {
			t.Errorf("ResolveOwner = %+v, %v; want a user that is not self", o, err)
		}
	})
	t.Run("list packages of self", func(t *testing.T) {
		before := len(f.requestLog())
		if _, err := c.ListPackages(ctx, Owner{Login: "octocat", Kind: OwnerUser, Self: true}, "container", ""); err != nil {
			t.Fatal(err)
		}
		want := "GET /user/packages?package_type=container&page=1&per_page=100"
		if reqs := f.requestLog()[before:]; len(reqs) != 1 || reqs[0] != want {
			t.Errorf("requests %q, want [%q]", reqs, want)
		}
	})
}

// ListVersionsPage reads one page, conditionally on the caller's ETag and
// without the client's store.
func TestListVersionsPage(t *testing.T) {
	f := newFakeGitHub(t)
	const pkg = "/orgs/acme/packages/container/app"
	f.seedVersions(pkg, 150)
	c := newTestClient(t, f, nil, nil)
	ctx := context.Background()
	first, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, "")
	if err != nil || len(first.Versions) != 100 || first.Next != 2 || first.ETag == "" || first.NotModified {
		t.Fatalf("first page = %d versions, next %d, etag %q, not modified %t, %v", len(first.Versions), first.Next, first.ETag, first.NotModified, err)
	}
	again, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, first.ETag)
	if err != nil || !again.NotModified || len(again.Versions) != 0 {
		t.Errorf("unchanged page asked with its ETag = %+v, %v; want not modified", again, err)
	}
	f.addNewest(pkg, 151)
	changed, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, first.ETag)
	if err != nil || changed.NotModified || changed.Versions[0].ID != 151 || changed.ETag == first.ETag {
		t.Errorf("changed page = not modified %t, newest %v, etag %q, %v; want the new version 151", changed.NotModified, changed.Versions, changed.ETag, err)
	}
	last, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 2, "")
	if err != nil || len(last.Versions) != 51 || last.Next != 0 {
		t.Errorf("last page = %d versions, next %d, %v; want 51, 0", len(last.Versions), last.Next, err)
	}
	if _, err := c.ListVersionsPage(ctx, acme, "container", "nothing", "", 1, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v, want ErrNotFound", err)
	}
}
