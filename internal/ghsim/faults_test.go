package ghsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
)

// faultOutcome is what a client saw of one request: a status, or "conn"
// when the connection closed without an answer.
func faultOutcome(t *testing.T, c *http.Client, method, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "conn"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		var e struct{ Message, DocumentationURL string }
		if err := json.Unmarshal(body, &e); err != nil || e.Message == "" || !strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%d answer is not GitHub's JSON error: %q", resp.StatusCode, body)
		}
	}
	return fmt.Sprint(resp.StatusCode)
}

// freshClient opens a connection per request, so that net/http never
// replays a GET whose connection was dropped (it does so on reused
// connections) and every drop reaches the test.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func TestFaultRates(t *testing.T) {
	const n = 1000
	f := Faults{ErrorRate: 0.2, DropRate: 0.1, LostRate: 0.1, Latency: time.Millisecond, Jitter: time.Millisecond, Seed: 42}
	w := newPkWorld(t, Options{RateLimits: RateLimits{PrimaryLimit: -1, SecondaryPoints: -1, MaxConcurrent: -1}})
	if err := w.sim.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	c := freshClient()
	seen := map[string]int{}
	var first []string
	for i := 0; i < n; i++ {
		o := faultOutcome(t, c, http.MethodGet, w.api.URL+"/users/carol/packages/rubygems/octo-name", w.tokens["carol"])
		seen[o]++
		if i < 100 {
			first = append(first, o)
		}
	}
	st := w.sim.FaultStats()
	if st.Seen != n {
		t.Errorf("stats saw %d requests, want %d", st.Seen, n)
	}
	// The client sees exactly what the injector counted.
	if got, want := seen["conn"], st.Dropped+st.Lost; got != want {
		t.Errorf("client saw %d closed connections, injector counted %d", got, want)
	}
	for _, code := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		if got := seen[fmt.Sprint(code)]; got != st.Errors[code] || got == 0 {
			t.Errorf("client saw %d answers %d, injector counted %d", got, code, st.Errors[code])
		}
	}
	// Within 5 standard deviations of the binomial: never flaky, and a
	// fixed seed makes it the same run every time anyway.
	for _, r := range []struct {
		name string
		got  int
		rate float64
	}{
		{"errors", st.Errors[500] + st.Errors[502] + st.Errors[503], f.ErrorRate},
		{"drops", st.Dropped, f.DropRate},
		{"lost", st.Lost, f.LostRate},
		{"clean", seen["200"], 1 - f.ErrorRate - f.DropRate - f.LostRate},
	} {
		if got := float64(r.got) / n; got < r.rate-0.06 || got > r.rate+0.06 {
			t.Errorf("%s: %d of %d (%.3f), want about %.2f", r.name, r.got, n, got, r.rate)
		}
	}
	if st.Delayed != n || st.Delay < n*f.Latency || st.Delay > n*(f.Latency+f.Jitter) {
		t.Errorf("delayed %d requests by %s in all, want %d within [%s, %s]", st.Delayed, st.Delay, n, n*f.Latency, n*(f.Latency+f.Jitter))
	}

	// The same seed replays the same faults for the same requests.
	if err := w.sim.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	for i, want := range first {
		if got := faultOutcome(t, c, http.MethodGet, w.api.URL+"/users/carol/packages/rubygems/octo-name", w.tokens["carol"]); got != want {
			t.Fatalf("replay with seed %d: request %d got %s, first run %s", f.Seed, i, got, want)
		}
	}
}

func TestFaultScope(t *testing.T) {
	w := newPkWorld(t, Options{})
	tests := map[string]struct {
		faults    Faults
		method    string
		path      string
		registry  bool
		wantFault bool
	}{
		"all faults a GET":               {faults: Faults{ErrorRate: 1}, method: "GET", path: "/users/carol", wantFault: true},
		"mutating spares a GET":          {faults: Faults{ErrorRate: 1, MutatingOnly: true}, method: "GET", path: "/users/carol"},
		"mutating faults a DELETE":       {faults: Faults{ErrorRate: 1, MutatingOnly: true}, method: "DELETE", path: "/users/carol/packages/rubygems/nothing", wantFault: true},
		"path prefix faults inside":      {faults: Faults{ErrorRate: 1, Paths: []string{"/users/"}}, method: "GET", path: "/users/carol", wantFault: true},
		"path prefix spares outside":     {faults: Faults{ErrorRate: 1, Paths: []string{"/orgs/"}}, method: "GET", path: "/users/carol"},
		"admin is never faulted":         {faults: Faults{ErrorRate: 1}, method: "GET", path: "/_admin/clock"},
		"registry spared by default":     {faults: Faults{ErrorRate: 1}, method: "GET", path: "/v2/", registry: true},
		"registry faulted when asked to": {faults: Faults{ErrorRate: 1, Registry: true}, method: "GET", path: "/v2/", registry: true, wantFault: true},
	}
	c := freshClient()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := w.sim.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			base := w.api.URL
			if tc.registry {
				base = w.reg.URL
			}
			got := faultOutcome(t, c, tc.method, base+tc.path, w.tokens["carol"])
			faulted := strings.HasPrefix(got, "50")
			if faulted != tc.wantFault {
				t.Fatalf("%s %s answered %s; want faulted %v", tc.method, tc.path, got, tc.wantFault)
			}
		})
	}
}

// TestFaultsNeverCorruptState: a request refused with a 5xx or dropped
// before handling changed nothing; one whose answer was lost was applied,
// so its retry meets 404, which pkgwarden must read as done.
func TestFaultsNeverCorruptState(t *testing.T) {
	tests := map[string]struct {
		faults      Faults
		wantOutcome string
		wantApplied bool
	}{
		"5xx before handling":  {faults: Faults{ErrorRate: 1, MutatingOnly: true}, wantOutcome: "5xx"},
		"dropped before":       {faults: Faults{DropRate: 1, MutatingOnly: true}, wantOutcome: "conn"},
		"applied, answer lost": {faults: Faults{LostRate: 1, MutatingOnly: true}, wantOutcome: "conn", wantApplied: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newPkWorld(t, Options{})
			id := w.versionID(t, "carol", "rubygems", userGem)
			if err := w.sim.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			url := fmt.Sprintf("%s/users/carol/packages/rubygems/%s/versions/%d", w.api.URL, userGem, id)
			c := freshClient()
			got := faultOutcome(t, c, http.MethodDelete, url, w.tokens["carol"])
			if strings.HasPrefix(got, "50") {
				got = "5xx"
			}
			if got != tc.wantOutcome {
				t.Fatalf("DELETE under %s: %s, want %s", tc.faults, got, tc.wantOutcome)
			}
			vs, err := w.sim.Versions("carol", "rubygems", userGem)
			if err != nil {
				t.Fatal(err)
			}
			applied := false
			for _, v := range vs {
				if v.ID == id {
					applied = v.Deleted
				}
			}
			if applied != tc.wantApplied {
				t.Fatalf("version %d deleted = %v, want %v", id, applied, tc.wantApplied)
			}
			// The retry, with faults off, meets the state left behind.
			if err := w.sim.SetFaults(Faults{}); err != nil {
				t.Fatal(err)
			}
			want := "204"
			if tc.wantApplied {
				want = "404"
			}
			if got := faultOutcome(t, c, http.MethodDelete, url, w.tokens["carol"]); got != want {
				t.Fatalf("retried DELETE: %s, want %s", got, want)
			}
		})
	}
}

// countingObserver counts the attempts githubapi's Transport made.
type countingObserver struct {
	mu    sync.Mutex
	codes map[int]int
}

func (o *countingObserver) ObserveRequest(method string, code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code]++
}
func (o *countingObserver) ObserveRateRemaining(int) {}

// TestRetryingTransportThroughFaults lists a package of 250 versions (3
// pages) with pkgwarden's real client and retrying Transport while a fifth
// of the requests fail with a 5xx and more are dropped.
func TestRetryingTransportThroughFaults(t *testing.T) {
	w := newPkWorld(t, Options{})
	w.sim.SetQuiet(true)
	const versions = 250
	for i := 0; i < versions; i++ {
		if _, err := w.sim.Publish("carol", "npm", "busy", fmt.Sprintf("1.0.%d", i), PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.sim.SetFaults(Faults{ErrorRate: 0.2, DropRate: 0.1, LostRate: 0.05, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	obs := &countingObserver{codes: map[int]int{}}
	tr := githubapi.NewTransport(&http.Transport{}, githubapi.RetryPolicy{MaxAttempts: 12, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, obs)
	pc, err := githubapi.NewPackagesClient(githubapi.NewToken("carol", "test", w.tokens["carol"]),
		githubapi.PackagesClientOptions{BaseURL: w.api.URL + "/", Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	owner, err := pc.ResolveOwner(ctx, "carol")
	if err != nil {
		t.Fatalf("resolve owner through faults: %v", err)
	}
	// Ten listings, so that every kind of fault meets the client.
	for round := 0; round < 10; round++ {
		list, err := pc.ListVersions(ctx, owner, "npm", "busy", githubapi.ListVersionsOptions{})
		if err != nil {
			t.Fatalf("listing %d through faults: %v", round, err)
		}
		ids := map[int64]bool{}
		for _, v := range list.Versions {
			ids[v.ID] = true
		}
		if len(list.Versions) != versions || len(ids) != versions || list.Pages != 3 {
			t.Fatalf("listing %d: %d versions (%d distinct) in %d pages, want %d in 3", round, len(list.Versions), len(ids), list.Pages, versions)
		}
	}
	st := w.sim.FaultStats()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	retried := 0
	for code, n := range obs.codes {
		if code != http.StatusOK {
			retried += n
		}
	}
	if st.Injected() == 0 || retried == 0 {
		t.Fatalf("no fault met the client (injected %d, attempts %v): the test proves nothing", st.Injected(), obs.codes)
	}
	t.Logf("faults injected %d of %d requests; client attempts by status %v", st.Injected(), st.Seen, obs.codes)
}

func TestFaultsAdmin(t *testing.T) {
	s, err := New(Options{Faults: Faults{ErrorRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(s.APIHandler())
	t.Cleanup(func() { api.Close(); s.Close() })

	// Admin routes stay reachable while everything else fails.
	code, body := pkAdminDo(t, api.URL, "GET", "/_admin/faults", "")
	if code != 200 || !strings.Contains(body, `"error_rate":1`) {
		t.Fatalf("GET faults: %d %s", code, body)
	}
	if got := faultOutcome(t, freshClient(), "GET", api.URL+"/users/nobody", ""); !strings.HasPrefix(got, "50") {
		t.Fatalf("with error rate 1: %s", got)
	}
	tests := map[string]struct {
		body     string
		wantCode int
		want     string
	}{
		"set":           {body: `{"error_rate":0.05,"latency":"20ms","jitter":"5ms","scope":"mutating","paths":["/orgs/"],"seed":3}`, wantCode: 200, want: `"latency":"20ms"`},
		"bad scope":     {body: `{"scope":"reads"}`, wantCode: 422, want: "want all or mutating"},
		"bad latency":   {body: `{"latency":"later"}`, wantCode: 422, want: "latency"},
		"too much":      {body: `{"error_rate":0.7,"drop_rate":0.7}`, wantCode: 422, want: "add up to"},
		"unknown field": {body: `{"chaos":true}`, wantCode: 400},
		"off":           {body: `{}`, wantCode: 200, want: `"error_rate":0`},
	}
	for _, name := range []string{"set", "bad scope", "bad latency", "too much", "unknown field", "off"} {
		tc := tests[name]
		t.Run(name, func(t *testing.T) {
			code, body := pkAdminDo(t, api.URL, "PUT", "/_admin/faults", tc.body)
			if code != tc.wantCode || !strings.Contains(body, tc.want) {
				t.Fatalf("PUT %s: %d %s; want %d with %q", tc.body, code, body, tc.wantCode, tc.want)
			}
		})
	}
	if got := s.Faults(); got.Active() {
		t.Fatalf("faults after PUT {}: %s", got)
	}
	code, body = pkAdminDo(t, api.URL, "GET", "/_admin/faults", "")
	if code != 200 || !strings.Contains(body, `"injected":1`) {
		t.Fatalf("GET faults after one injected error: %d %s", code, body)
	}
	if code, _ := pkAdminDo(t, api.URL, "DELETE", "/_admin/faults/stats", ""); code != 204 {
		t.Fatalf("DELETE stats: %d", code)
	}
	if st := s.FaultStats(); st.Injected() != 0 || st.Seen != 0 {
		t.Fatalf("stats after reset: %+v", st)
	}
}
