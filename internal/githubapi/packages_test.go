package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
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

// newTestClient is a client of the world with alice's token.
func newTestClient(t *testing.T, w *simWorld, etags ETagStore, obs Observer) *PackagesClient {
	t.Helper()
	return newClientAt(t, w.url, w.token(), etags, obs)
}

func newClientAt(t *testing.T, url string, tok Token, etags ETagStore, obs Observer) *PackagesClient {
	t.Helper()
	c, err := NewPackagesClient(tok, PackagesClientOptions{
		BaseURL:   url,
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
	w := newSimWorld(t, nil)
	ids := w.addVersions("acme", "app", 250)
	c := newTestClient(t, w, nil, nil)

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
		if want := ids[i]; v.ID != want {
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
	if reqs := w.requestLog(); !slices.Equal(reqs, wantReqs) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(wantReqs, "\n"))
	}
}

func TestListVersionsETags(t *testing.T) {
	w := newSimWorld(t, nil)
	w.addVersions("acme", "app", 150)
	etags := NewMemoryETagStore()
	obs := &countingObserver{}
	c := newTestClient(t, w, etags, obs)
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

	added := w.addVersion("acme", "app", "v151", newest.Add(time.Minute))
	third, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil {
		t.Fatalf("third listing: %v", err)
	}
	if third.NotModified || len(third.Versions) != 151 || third.Versions[0].ID != added {
		t.Errorf("third listing: not modified %t, %d versions, newest %d; want false, 151, %d",
			third.NotModified, len(third.Versions), third.Versions[0].ID, added)
	}
}

// With an ETag store, GetPackage asks conditionally: an unchanged package
// is a 304 served from the store, a changed one (a version added) a 200.
func TestGetPackageETags(t *testing.T) {
	w := newSimWorld(t, nil)
	w.addVersions("acme", "app", 3)
	obs := &countingObserver{}
	c := newTestClient(t, w, NewMemoryETagStore(), obs)
	ctx := context.Background()
	var got []int64
	for i := range 3 {
		if i == 2 {
			w.addVersion("acme", "app", "v4", newest.Add(time.Minute))
		}
		p, err := c.GetPackage(ctx, acme, "container", "app")
		if err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
		if p.Name != "app" || p.ID == 0 {
			t.Errorf("read %d: package %+v", i+1, p)
		}
		got = append(got, p.VersionCount)
	}
	if want := []int64{3, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("version counts %v, want %v", got, want)
	}
	reqs, _ := obs.snapshot()
	if want := []string{"GET OK", "GET Not Modified", "GET OK"}; !slices.Equal(reqs, want) {
		t.Errorf("observed %v, want %v", reqs, want)
	}
}

// An ETag covers a page's body, not its Link: when the last stored page is
// full and answers 304, a version added beyond it (a restored old version
// sorts last) is still found, by asking for the next page too.
func TestListVersionsETagsFindAPageAddedBeyondTheLast(t *testing.T) {
	w := newSimWorld(t, nil)
	w.addVersions("acme", "app", 200)
	c := newTestClient(t, w, NewMemoryETagStore(), nil)
	ctx := context.Background()
	if first, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{}); err != nil || len(first.Versions) != 200 {
		t.Fatalf("first listing: %d versions, %v; want 200", len(first.Versions), err)
	}
	// Older than every other version, it sorts last.
	old := w.addVersion("acme", "app", "old", newest.Add(-24*time.Hour))
	second, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Versions) != 201 || second.Versions[200].ID != old || second.NotModified {
		t.Errorf("second listing: %d versions (not modified %t), want 201 ending with the added %d", len(second.Versions), second.NotModified, old)
	}
	// Unchanged since: the two stored pages and the third, all 304.
	third, err := c.ListVersions(ctx, acme, "container", "app", ListVersionsOptions{})
	if err != nil || len(third.Versions) != 201 || !third.NotModified || third.Pages != 3 {
		t.Errorf("third listing: %d versions in %d pages, not modified %t, %v; want 201 in 3, true", len(third.Versions), third.Pages, third.NotModified, err)
	}
}

// A listing ending on a full page asks for the next, empty, page at once
// when pages are stored: the listing after it, unchanged, is then 304s
// only, where it would otherwise pay a first read of that page. Without a
// store nothing is asked beyond the last page.
func TestListVersionsETagsStoreThePageAfterAFullLast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		etags  ETagStore
		first  []string
		second []string
	}{
		{"stored", NewMemoryETagStore(), []string{"GET OK", "GET OK", "GET OK"}, []string{"GET Not Modified", "GET Not Modified", "GET Not Modified"}},
		{"not stored", nil, []string{"GET OK", "GET OK"}, []string{"GET OK", "GET OK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newSimWorld(t, nil)
			w.addVersions("acme", "app", 200)
			obs := &countingObserver{}
			c := newTestClient(t, w, tc.etags, obs)
			for i, want := range [][]string{tc.first, tc.second} {
				before, _ := obs.snapshot()
				l, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{})
				if err != nil || len(l.Versions) != 200 {
					t.Fatalf("listing %d: %d versions, %v", i+1, len(l.Versions), err)
				}
				if reqs, _ := obs.snapshot(); !slices.Equal(reqs[len(before):], want) {
					t.Errorf("listing %d: observed %v, want %v", i+1, reqs[len(before):], want)
				}
			}
		})
	}
}

func TestPackageNamesAreEscaped(t *testing.T) {
	w := newSimWorld(t, nil)
	ids := w.addVersions("acme", "team/app", 3)
	// octocat's own team/app, deleted, for the user package's restore.
	w.addVersions("octocat", "team/app", 1)
	if code, _ := w.do(http.MethodDelete, "/user/packages/container/team%2Fapp", "octocat"); code != http.StatusNoContent {
		t.Fatalf("deleting octocat's package: %d", code)
	}
	c := newTestClient(t, w, nil, nil)
	uc := newClientAt(t, w.url, w.tokens["octocat"], nil, nil)
	ctx := context.Background()
	// In order: each call finds the package as the ones before left it.
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{
			name: "list versions",
			call: func() error {
				_, err := c.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{State: StateDeleted})
				return err
			},
			want: "GET /orgs/acme/packages/container/team%2Fapp/versions?page=1&per_page=100&state=deleted",
		},
		{
			name: "get package",
			call: func() error { _, err := c.GetPackage(ctx, acme, "container", "team/app"); return err },
			want: "GET /orgs/acme/packages/container/team%2Fapp",
		},
		{
			name: "get version",
			call: func() error { _, err := c.GetVersion(ctx, acme, "container", "team/app", ids[1]); return err },
			want: fmt.Sprintf("GET /orgs/acme/packages/container/team%%2Fapp/versions/%d", ids[1]),
		},
		{
			name: "delete version",
			call: func() error { return c.DeleteVersion(ctx, acme, "container", "team/app", ids[2]) },
			want: fmt.Sprintf("DELETE /orgs/acme/packages/container/team%%2Fapp/versions/%d", ids[2]),
		},
		{
			name: "restore version",
			call: func() error { return c.RestoreVersion(ctx, acme, "container", "team/app", ids[2]) },
			want: fmt.Sprintf("POST /orgs/acme/packages/container/team%%2Fapp/versions/%d/restore", ids[2]),
		},
		{
			name: "delete package",
			call: func() error { return c.DeletePackage(ctx, acme, "container", "team/app") },
			want: "DELETE /orgs/acme/packages/container/team%2Fapp",
		},
		{
			name: "restore package",
			call: func() error { return c.RestorePackage(ctx, acme, "container", "team/app") },
			want: "POST /orgs/acme/packages/container/team%2Fapp/restore",
		},
		{
			name: "user package",
			call: func() error {
				return uc.RestorePackage(ctx, Owner{Login: "octocat", Kind: OwnerUser}, "container", "team/app")
			},
			want: "POST /users/octocat/packages/container/team%2Fapp/restore",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.requestLog())
			if err := tc.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := w.requestLog()[before:]
			if len(reqs) != 1 || reqs[0] != tc.want {
				t.Errorf("requests %q, want [%q]", reqs, tc.want)
			}
		})
	}
}

func TestFixturesConvert(t *testing.T) {
	w := newSimWorld(t, nil)
	if _, err := w.sim.AddOrg("github", "alice"); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, w, nil, nil)
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

	// The listing is GitHub's own example (testdata/org-packages.json): the
	// simulator answers with ids, URLs and times of its own, so a handler
	// of its own serves the document.
	example, err := os.ReadFile("testdata/org-packages.json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		listed = append(listed, r.Method+" "+r.RequestURI)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(example)
	}))
	defer fixture.Close()
	pkgs, err := newClientAt(t, fixture.URL+"/", w.token(), nil, nil).ListPackages(ctx, org, "container", "private")
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
	if reqs := listed; reqs[len(reqs)-1] != "GET /orgs/github/packages?package_type=container&page=1&per_page=100&visibility=private" {
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
		faults ghsim.Faults
		// want is what the observer sees; "5xx" stands for an answer the
		// faults gave (500, 502 or 503, drawn at random).
		want []string
	}{
		"two 5xx answers": {
			faults: ghsim.Faults{ErrorRate: 1},
			want:   []string{"5xx", "5xx", "GET OK"},
		},
		"two dropped connections": {
			faults: ghsim.Faults{DropRate: 1},
			want:   []string{"GET ", "GET ", "GET OK"}, // code 0: no response
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newSimWorld(t, nil)
			w.addVersions("acme", "app", 2)
			if err := w.sim.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			obs := &countingObserver{}
			tr := NewTransport(nil, RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, obs)
			sleeps := 0
			tr.Sleep = func(ctx context.Context, d time.Duration) error {
				// The faults stop after two failed attempts.
				if sleeps++; sleeps == 2 {
					return w.sim.SetFaults(ghsim.Faults{})
				}
				return nil
			}
			c, err := NewPackagesClient(w.token(), PackagesClientOptions{BaseURL: w.url, Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{})
			if err != nil {
				t.Fatalf("ListVersions after two failures: %v", err)
			}
			if len(got.Versions) != 2 {
				t.Errorf("got %d versions, want 2", len(got.Versions))
			}
			reqs, remaining := obs.snapshot()
			injected, _ := w.injectedStatuses(http.MethodGet)
			if len(reqs) != len(tc.want) {
				t.Errorf("observed %q, want %q", reqs, tc.want)
			} else {
				for i, want := range tc.want {
					if reqs[i] != want && !(want == "5xx" && injected[reqs[i]]) {
						t.Errorf("observed %q, want %q", reqs, tc.want)
						break
					}
				}
			}
			// The simulator counted the one request it answered.
			if remaining != 4999 {
				t.Errorf("rate remaining %d, want 4999", remaining)
			}
		})
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	w := newSimWorld(t, nil)
	if err := w.sim.SetFaults(ghsim.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	obs := &countingObserver{}
	c := newTestClient(t, w, nil, obs)
	_, err := c.GetVersion(context.Background(), acme, "container", "app", 1)
	var apiErr *APIError
	reqs, _ := obs.snapshot()
	injected, _ := w.injectedStatuses(http.MethodGet)
	if !errors.As(err, &apiErr) || len(reqs) == 0 || reqs[len(reqs)-1] != "GET "+http.StatusText(apiErr.StatusCode) || !injected[reqs[len(reqs)-1]] {
		t.Fatalf("error %v after answers %q, want an APIError with the last 5xx", err, reqs)
	}
	if n := len(w.requestLog()); n != 4 {
		t.Errorf("%d requests, want 4 (default MaxAttempts)", n)
	}
}

func TestDeleteRetriedAfterLostAnswerMeets404(t *testing.T) {
	w := newSimWorld(t, nil)
	ids := w.addVersions("acme", "app", 2)
	// The first DELETE is carried out but its answer is lost: the
	// simulator closes the connection after handling it.
	if err := w.sim.SetFaults(ghsim.Faults{LostRate: 1}); err != nil {
		t.Fatal(err)
	}
	tr := NewTransport(nil, RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, nil)
	tr.Sleep = func(context.Context, time.Duration) error { return w.sim.SetFaults(ghsim.Faults{}) }
	c, err := NewPackagesClient(w.token(), PackagesClientOptions{BaseURL: w.url, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVersion(context.Background(), acme, "container", "app", ids[0]); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrRefused) {
		t.Fatalf("DeleteVersion: %v, want ErrNotFound (404 after retry: gone, not refused)", err)
	}
	reqs := w.requestLog()
	if len(reqs) != 2 || w.sim.FaultStats().Lost != 1 { // the lost one, the retry
		t.Fatalf("requests %v, %d lost", reqs, w.sim.FaultStats().Lost)
	}
	if err := c.DeleteVersion(context.Background(), acme, "container", "app", 99999); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteVersion of a missing version: %v, want ErrNotFound", err)
	}
}

// GitHub refuses a deletion with 403 (more than 5,000 downloads) or 400
// (the last version of a package); neither is retried, both match
// ErrRefused and carry GitHub's message.
func TestRefusalIsNotRetried(t *testing.T) {
	tests := []struct {
		status int
		// refuse sets the scene in which the simulator refuses to delete
		// version id, the only one of acme's app.
		refuse func(t *testing.T, w *simWorld, id int64)
		// front answers instead of the simulator, which never refuses a
		// deletion with 422 (GitHub's status for a failed validation).
		front http.HandlerFunc
		want  string
	}{
		{status: http.StatusForbidden, refuse: func(t *testing.T, w *simWorld, id int64) {
			if err := w.sim.SetPackage("acme", "container", "app", "public", time.Time{}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if err := w.sim.SetDownloads("acme", "container", "app", ghsim.VersionRef{ID: id}, 6000); err != nil {
				t.Fatal(err)
			}
		}, want: "more than 5000 downloads"},
		{status: http.StatusBadRequest, want: "last version of a package"},
		{status: http.StatusUnprocessableEntity, front: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Remaining", "4999")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"message":"You cannot delete the last tagged version of a package."}`))
		}, want: "last tagged version"},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			var front func(http.Handler) http.Handler
			if tc.front != nil {
				front = func(http.Handler) http.Handler { return tc.front }
			}
			w := newSimWorld(t, front)
			id := w.addVersions("acme", "app", 1)[0]
			if tc.refuse != nil {
				tc.refuse(t, w, id)
			}
			c := newTestClient(t, w, nil, nil)
			err := c.DeleteVersion(context.Background(), acme, "container", "app", id)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v, want ErrRefused", err)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
				t.Errorf("error %v, want status %d", err, tc.status)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) {
				t.Errorf("a refusal classified as a rate limit: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not carry GitHub's message", err)
			}
			if n := len(w.requestLog()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestRateLimitThroughClient(t *testing.T) {
	w := newSimWorld(t, nil)
	// One point every 30 seconds, answered 429 beyond: a request spends
	// it, and the client's meets the limit.
	if err := w.sim.SetRateLimits(ghsim.RateLimits{PrimaryLimit: 5000, SecondaryPoints: 1, SecondaryWindow: 30 * time.Second, SecondaryStatus: http.StatusTooManyRequests}); err != nil {
		t.Fatal(err)
	}
	w.do(http.MethodGet, "/orgs/acme/packages/container/app/versions", "alice")
	before := len(w.requestLog())
	c := newTestClient(t, w, nil, nil)
	_, err := c.ListVersions(context.Background(), acme, "container", "app", ListVersionsOptions{})
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Wait != 30*time.Second || !rl.Secondary {
		t.Fatalf("error %v, want a secondary *RateLimitError waiting 30s", err)
	}
	if n := len(w.requestLog()) - before; n != 1 {
		t.Errorf("%d requests, want 1 (rate limits are not retried by the transport)", n)
	}
}

func TestRetryHonoursContext(t *testing.T) {
	w := newSimWorld(t, nil)
	if err := w.sim.SetFaults(ghsim.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
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
	c, err := NewPackagesClient(w.token(), PackagesClientOptions{BaseURL: w.url, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetVersion(ctx, acme, "container", "app", 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestUnknownOwnerKind(t *testing.T) {
	w := newSimWorld(t, nil)
	c := newTestClient(t, w, nil, nil)
	err := c.DeleteVersion(context.Background(), Owner{Login: "acme"}, "container", "app", 1)
	if err == nil || len(w.requestLog()) != 0 {
		t.Errorf("error %v with %d requests; want an error before any request", err, len(w.requestLog()))
	}
}

func TestPostIsNotRetried(t *testing.T) {
	w := newSimWorld(t, nil)
	if err := w.sim.SetFaults(ghsim.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, w, nil, nil)
	err := c.RestoreVersion(context.Background(), acme, "container", "app", 1)
	var apiErr *APIError
	injected, n := w.injectedStatuses(http.MethodPost)
	if !errors.As(err, &apiErr) || n != 1 || !injected["POST "+http.StatusText(apiErr.StatusCode)] {
		t.Fatalf("error %v, want an APIError with the 5xx answered (%v)", err, injected)
	}
	if n := len(w.requestLog()); n != 1 {
		t.Errorf("%d requests, want 1: a restore is a POST and is not retried blindly", n)
	}
}

func TestPrimaryRateLimitThenFailFast(t *testing.T) {
	w := newSimWorld(t, nil)
	// One request an hour: a request spends it, and the client's meets the
	// limit until the window resets.
	if err := w.sim.SetRateLimits(ghsim.RateLimits{PrimaryLimit: 1}); err != nil {
		t.Fatal(err)
	}
	_, h := w.do(http.MethodGet, "/orgs/acme/packages/container/app/versions", "alice")
	secs, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("X-RateLimit-Reset %q: %v", h.Get("X-RateLimit-Reset"), err)
	}
	reset := time.Unix(secs, 0)
	before := len(w.requestLog())
	now := reset.Add(-90 * time.Second)
	c, err := NewPackagesClient(w.token(), PackagesClientOptions{
		BaseURL:   w.url,
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
	if n := len(w.requestLog()) - before; n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRateIsRemembered(t *testing.T) {
	w := newSimWorld(t, nil)
	ids := w.addVersions("acme", "app", 1)
	c := newTestClient(t, w, nil, nil)
	if c.Rate().Known {
		t.Fatalf("rate known before any request")
	}
	if _, err := c.GetVersion(context.Background(), acme, "container", "app", ids[0]); err != nil {
		t.Fatal(err)
	}
	// The simulator counted the one request.
	if r := c.Rate(); !r.Known || r.Limit != 5000 || r.Remaining != 4999 {
		t.Errorf("Rate() = %+v, want 4999 of 5000", r)
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
	var noUser atomic.Bool
	w := newSimWorld(t, withoutUser(&noUser))
	// octocat's team/app, deleted, to restore.
	w.addVersions("octocat", "team/app", 1)
	if code, _ := w.do(http.MethodDelete, "/user/packages/container/team%2Fapp", "octocat"); code != http.StatusNoContent {
		t.Fatalf("deleting octocat's package: %d", code)
	}
	// The token is octocat's.
	c := newClientAt(t, w.url, w.tokens["octocat"], nil, nil)
	ctx := context.Background()
	tests := map[string]struct {
		login string
		self  bool
		want  string
		// wantErr is GitHub's answer: 404 for another user's package, which
		// no token but its owner's may restore. What counts is the path.
		wantErr error
	}{
		"the token's own user uses /user":     {login: "octocat", self: true, want: "POST /user/packages/container/team%2Fapp/restore"},
		"another user uses /users/{username}": {login: "monalisa", self: false, want: "POST /users/monalisa/packages/container/team%2Fapp/restore", wantErr: ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := c.ResolveOwner(ctx, tc.login)
			if err != nil || o.Kind != OwnerUser || o.Self != tc.self {
				t.Fatalf("ResolveOwner(%s) = %+v, %v; want a user, self %t", tc.login, o, err, tc.self)
			}
			before := len(w.requestLog())
			if err := c.RestorePackage(ctx, o, "container", "team/app"); !errors.Is(err, tc.wantErr) {
				t.Fatalf("RestorePackage: %v, want %v", err, tc.wantErr)
			}
			if reqs := w.requestLog()[before:]; len(reqs) != 1 || reqs[0] != tc.want {
				t.Errorf("requests %q, want [%q]", reqs, tc.want)
			}
		})
	}
	if n := strings.Count(strings.Join(w.requestLog(), "\n"), "GET /user\n"); n != 1 {
		t.Errorf("GET /user asked %d times, want once per client", n)
	}
	t.Run("GET /user unavailable is not fatal", func(t *testing.T) {
		noUser.Store(true)
		defer noUser.Store(false)
		c := newClientAt(t, w.url, w.tokens["octocat"], nil, nil)
		o, err := c.ResolveOwner(ctx, "octocat")
		if err != nil || o.Self {
			t.Errorf("ResolveOwner = %+v, %v; want a user that is not self", o, err)
		}
	})
	t.Run("list packages of self", func(t *testing.T) {
		before := len(w.requestLog())
		if _, err := c.ListPackages(ctx, Owner{Login: "octocat", Kind: OwnerUser, Self: true}, "container", ""); err != nil {
			t.Fatal(err)
		}
		want := "GET /user/packages?package_type=container&page=1&per_page=100"
		if reqs := w.requestLog()[before:]; len(reqs) != 1 || reqs[0] != want {
			t.Errorf("requests %q, want [%q]", reqs, want)
		}
	})
}

// ListVersionsPage reads one page, conditionally on the caller's ETag and
// without the client's store.
func TestListVersionsPage(t *testing.T) {
	w := newSimWorld(t, nil)
	w.addVersions("acme", "app", 150)
	c := newTestClient(t, w, nil, nil)
	ctx := context.Background()
	first, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, "")
	if err != nil || len(first.Versions) != 100 || first.Next != 2 || first.ETag == "" || first.NotModified {
		t.Fatalf("first page = %d versions, next %d, etag %q, not modified %t, %v", len(first.Versions), first.Next, first.ETag, first.NotModified, err)
	}
	again, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, first.ETag)
	if err != nil || !again.NotModified || len(again.Versions) != 0 {
		t.Errorf("unchanged page asked with its ETag = %+v, %v; want not modified", again, err)
	}
	added := w.addVersion("acme", "app", "v151", newest.Add(time.Minute))
	changed, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 1, first.ETag)
	if err != nil || changed.NotModified || changed.Versions[0].ID != added || changed.ETag == first.ETag {
		t.Errorf("changed page = not modified %t, newest %v, etag %q, %v; want the new version %d", changed.NotModified, changed.Versions, changed.ETag, err, added)
	}
	last, err := c.ListVersionsPage(ctx, acme, "container", "app", "", 2, "")
	if err != nil || len(last.Versions) != 51 || last.Next != 0 {
		t.Errorf("last page = %d versions, next %d, %v; want 51, 0", len(last.Versions), last.Next, err)
	}
	if _, err := c.ListVersionsPage(ctx, acme, "container", "nothing", "", 1, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v, want ErrNotFound", err)
	}
}

func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read fixture %s: %v", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode fixture %s: %v", name, err)
	}
}
