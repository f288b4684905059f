package ghsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// rlDo sends one request with a token and returns the response, its body
// read.
func rlDo(t *testing.T, method, url, token, etag string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func rlHeaderInt(t *testing.T, resp *http.Response, name string) int {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get(name))
	if err != nil {
		t.Fatalf("%s %q: %v", name, resp.Header.Get(name), err)
	}
	return n
}

func TestPrimaryRateLimit(t *testing.T) {
	w := newPkWorld(t, Options{RateLimits: RateLimits{PrimaryLimit: 3, PrimaryWindow: time.Second}})
	url := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM
	for i := 1; i <= 3; i++ {
		resp, _ := rlDo(t, http.MethodGet, url, w.tokens["alice"], "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if got := rlHeaderInt(t, resp, "X-RateLimit-Remaining"); got != 3-i {
			t.Errorf("request %d: remaining %d, want %d", i, got, 3-i)
		}
		if got := rlHeaderInt(t, resp, "X-RateLimit-Used"); got != i {
			t.Errorf("request %d: used %d, want %d", i, got, i)
		}
		if got := resp.Header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("limit %q", got)
		}
		if got := resp.Header.Get("X-RateLimit-Resource"); got != "core" {
			t.Errorf("resource %q", got)
		}
	}
	resp, body := rlDo(t, http.MethodGet, url, w.tokens["alice"], "")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("spent: %d remaining %q retry-after %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"), resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "API rate limit exceeded for") {
		t.Errorf("spent body %s", body)
	}
	reset := time.Unix(int64(rlHeaderInt(t, resp, "X-RateLimit-Reset")), 0)
	if d := time.Until(reset); d > 2*time.Second {
		t.Fatalf("reset %s away, window is 1s", d)
	}
	// Another token has its own window.
	if resp, _ := rlDo(t, http.MethodGet, url, w.tokens["bob"], ""); resp.StatusCode != http.StatusOK {
		t.Errorf("bob: %d", resp.StatusCode)
	}
	time.Sleep(time.Until(reset)) // on purpose: the window ends by the clock
	if resp, _ := rlDo(t, http.MethodGet, url, w.tokens["alice"], ""); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("after reset: %d remaining %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	st := w.sim.RequestStats()[w.tokens["alice"]]
	if st.PrimaryLimited != 1 || st.SecondaryLimited != 0 || st.Requests[http.MethodGet] != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestNotModifiedIsFree(t *testing.T) {
	w := newPkWorld(t, Options{RateLimits: RateLimits{PrimaryLimit: 2}})
	url := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM + "/versions"
	tok := w.tokens["alice"]
	resp, _ := rlDo(t, http.MethodGet, url, tok, "")
	etag := resp.Header.Get("ETag")
	for i := range 3 {
		resp, _ := rlDo(t, http.MethodGet, url, tok, etag)
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("X-RateLimit-Remaining") != "1" {
			t.Fatalf("conditional %d: %d remaining %q", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	if resp, _ := rlDo(t, http.MethodGet, url, tok, ""); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("second full read: %d remaining %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	if resp, _ := rlDo(t, http.MethodGet, url, tok, etag); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("spent, conditional: %d", resp.StatusCode)
	}
	if st := w.sim.RequestStats()[tok]; st.NotModified != 3 || st.PrimaryLimited != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	tests := map[string]struct {
		status int
		// mutating requests first (5 points each), then GETs until limited.
		mutating, gets int
	}{
		"403 after GETs":           {status: http.StatusForbidden, gets: 12},
		"429 after GETs":           {status: http.StatusTooManyRequests, gets: 12},
		"DELETE costs five points": {status: http.StatusForbidden, mutating: 2, gets: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newPkWorld(t, Options{RateLimits: RateLimits{SecondaryPoints: 12, SecondaryWindow: 2 * time.Second, SecondaryStatus: tc.status}})
			tok := w.tokens["alice"]
			for i := range tc.mutating {
				// A version that does not exist: 404, and 5 points all the same.
				resp, _ := rlDo(t, http.MethodDelete, w.api.URL+"/orgs/acme/packages/npm/"+orgNPM+"/versions/999999", tok, "")
				if resp.StatusCode != http.StatusNotFound {
					t.Fatalf("delete %d: %d", i, resp.StatusCode)
				}
			}
			url := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM
			for i := range tc.gets {
				if resp, _ := rlDo(t, http.MethodGet, url, tok, ""); resp.StatusCode != http.StatusOK {
					t.Fatalf("get %d: %d", i, resp.StatusCode)
				}
			}
			resp, body := rlDo(t, http.MethodGet, url, tok, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("over the points: %d, want %d", resp.StatusCode, tc.status)
			}
			ra := rlHeaderInt(t, resp, "Retry-After")
			if ra < 1 || ra > 2 {
				t.Errorf("Retry-After %d, want 1..2", ra)
			}
			if rem := rlHeaderInt(t, resp, "X-RateLimit-Remaining"); rem <= 0 {
				t.Errorf("secondary limit with primary remaining %d", rem)
			}
			if !strings.Contains(body, "You have exceeded a secondary rate limit") {
				t.Errorf("body %s", body)
			}
			if resp, _ := rlDo(t, http.MethodGet, url, w.tokens["bob"], ""); resp.StatusCode != http.StatusOK {
				t.Errorf("bob has his own points: %d", resp.StatusCode)
			}
			time.Sleep(time.Duration(ra) * time.Second) // on purpose: obey Retry-After, as a client must
			if resp, _ := rlDo(t, http.MethodGet, url, tok, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("after Retry-After: %d", resp.StatusCode)
			}
			st := w.sim.RequestStats()[tok]
			if st.SecondaryLimited != 1 || st.Requests[http.MethodDelete] != tc.mutating {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestConcurrencyCap(t *testing.T) {
	w := newPkWorld(t, Options{RateLimits: RateLimits{MaxConcurrent: 2, Latency: 400 * time.Millisecond}})
	tok := w.tokens["alice"]
	url := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
			if resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") == "" {
				t.Errorf("concurrency refusal without Retry-After")
			}
		}()
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusForbidden:
			limited++
		}
	}
	st := w.sim.RequestStats()[tok]
	if ok < 2 || ok+limited != 5 || st.MaxInFlight != 2 || st.SecondaryLimited != limited {
		t.Errorf("codes %v, stats %+v", codes, st)
	}
}

func TestRateLimitsAdmin(t *testing.T) {
	w := newPkWorld(t, Options{})
	admin := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, w.api.URL+path, bytes.NewBufferString(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if resp.StatusCode == http.StatusNoContent {
			return nil
		}
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := admin(http.MethodGet, "/_admin/ratelimits", "")
	lim := got["limits"].(map[string]any)
	if lim["secondary_points"] != 900.0 || lim["secondary_window"] != "1m0s" || lim["max_concurrent"] != 100.0 || lim["secondary_status"] != 403.0 {
		t.Errorf("default limits %v", lim)
	}
	admin(http.MethodPut, "/_admin/ratelimits", `{"secondary_points": 2, "secondary_window": "10s", "secondary_status": 429}`)
	url := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM
	codes := []int{}
	for range 3 {
		resp, _ := rlDo(t, http.MethodGet, url, w.tokens["alice"], "")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("codes %v", codes)
	}
	got = admin(http.MethodGet, "/_admin/ratelimits", "")
	callers := got["callers"].([]any)
	if len(callers) != 1 || got["limited"] != 1.0 {
		t.Fatalf("stats %v", got)
	}
	c := callers[0].(map[string]any)
	if c["secondary_limited"] != 1.0 || c["requests"].(map[string]any)["GET"] != 3.0 {
		t.Errorf("caller %v", c)
	}
	admin(http.MethodDelete, "/_admin/ratelimits/stats", "")
	if got := admin(http.MethodGet, "/_admin/ratelimits", ""); len(got["callers"].([]any)) != 0 {
		t.Errorf("after reset: %v", got)
	}
	if resp, _ := rlDo(t, http.MethodGet, url, w.tokens["alice"], ""); resp.StatusCode != 200 {
		t.Errorf("after reset: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, w.api.URL+"/_admin/ratelimits", strings.NewReader(`{"secondary_status": 500}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad status accepted: %d", resp.StatusCode)
	}
}

// TestRateLimitCallers: classic and installation tokens each have their
// own counters, the app's JWTs share one, callers without credentials
// another; admin routes are not counted and carry no rate headers.
func TestRateLimitCallers(t *testing.T) {
	w := newPkWorld(t, Options{})
	tr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, w.sim.AppID(), keyPEM(w.sim))
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = w.api.URL
	app := &http.Client{Transport: tr}
	for range 2 {
		resp, err := app.Get(w.api.URL + "/app")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") == "" {
			t.Fatalf("GET /app as the app: %d", resp.StatusCode)
		}
	}
	rlDo(t, http.MethodGet, w.api.URL+"/orgs/acme/packages/npm/"+orgNPM, w.tokens["alice"], "")
	rlDo(t, http.MethodGet, w.api.URL+"/orgs/acme/packages/npm/"+orgNPM, w.tokens["install"], "")
	rlDo(t, http.MethodGet, w.api.URL+"/orgs/acme/packages/npm/"+orgNPM, w.tokens["install"], "")
	rlDo(t, http.MethodGet, w.api.URL+"/users/carol", "", "")
	resp, _ := rlDo(t, http.MethodGet, w.api.URL+"/_admin/clock", "", "")
	if resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("admin answer with rate headers")
	}
	got := map[string]int{}
	for k, s := range w.sim.RequestStats() {
		got[k] = s.Requests[http.MethodGet]
	}
	want := map[string]int{"app": 2, w.tokens["alice"]: 1, w.tokens["install"]: 2, "anonymous": 1}
	if len(got) != len(want) {
		t.Errorf("callers %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("caller %.12s…: %d GETs, want %d", k, got[k], n)
		}
	}
}
