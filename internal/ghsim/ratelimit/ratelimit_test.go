package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		spec    string
		want    Limits
		wantErr string
	}{
		"empty":      {spec: "", want: Limits{}},
		"default":    {spec: "default", want: Limits{}},
		"off":        {spec: "off", want: Limits{PrimaryLimit: -1, SecondaryPoints: -1, MaxConcurrent: -1}},
		"all keys":   {spec: "primary=100/10s,secondary=60/2s,secondary-status=429,concurrency=3,latency=5ms", want: Limits{PrimaryLimit: 100, PrimaryWindow: 10 * time.Second, SecondaryPoints: 60, SecondaryWindow: 2 * time.Second, SecondaryStatus: 429, MaxConcurrent: 3, Latency: 5 * time.Millisecond}},
		"no window":  {spec: "secondary=60", want: Limits{SecondaryPoints: 60}},
		"one off":    {spec: "secondary=off", want: Limits{SecondaryPoints: -1}},
		"bad key":    {spec: "tertiary=1", wantErr: "unknown key"},
		"bad status": {spec: "secondary-status=500", wantErr: "want 403 or 429"},
		"zero":       {spec: "primary=0", wantErr: "must be positive"},
		"no value":   {spec: "primary", wantErr: "not key=value"},
		"bad window": {spec: "primary=5/soon", wantErr: "invalid duration"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			// String gives a spec that parses to the same limits, defaults applied.
			again, err := Parse(got.String())
			if err != nil {
				t.Fatalf("String %q: %v", got.String(), err)
			}
			if again.withDefaults() != got.withDefaults() {
				t.Errorf("round trip %q: %+v, want %+v", got.String(), again, got)
			}
		})
	}
}

// TestWrap: the middleware on its own, callers named by a header.
func TestWrap(t *testing.T) {
	rl := New(Limits{PrimaryLimit: 2, SecondaryPoints: -1}, func(r *http.Request) string {
		if c := r.Header.Get("X-Caller"); c != "" {
			return c
		}
		return Anonymous
	})
	srv := httptest.NewServer(rl.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()
	get := func(caller string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("X-Caller", caller)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, want := range []string{"1", "0"} {
		if resp := get("a"); resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-RateLimit-Remaining") != want {
			t.Fatalf("request %d: %d remaining %q", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	if resp := get("a"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("spent: %d", resp.StatusCode)
	}
	if resp := get("b"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("another caller: %d", resp.StatusCode)
	}
	st := rl.Stats()
	if st["a"].PrimaryLimited != 1 || st["a"].Requests[http.MethodGet] != 3 || st["b"].Requests[http.MethodGet] != 1 {
		t.Fatalf("stats %+v", st)
	}
	rl.Reset()
	if len(rl.Stats()) != 0 {
		t.Fatalf("after Reset: %+v", rl.Stats())
	}
	if err := rl.Set(Limits{SecondaryStatus: 500}); err == nil {
		t.Fatal("status 500 accepted")
	}
}
