package faults

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		spec    string
		want    Config
		wantErr string
	}{
		"empty":     {spec: "", want: Config{}},
		"off":       {spec: "off", want: Config{}},
		"fractions": {spec: "error=0.05,drop=0.01,lost=0.02", want: Config{ErrorRate: 0.05, DropRate: 0.01, LostRate: 0.02}},
		"percent":   {spec: "error=5%", want: Config{ErrorRate: 0.05}},
		"everything": {
			spec: "error=0.1,latency=20ms,jitter=5ms,seed=42,scope=mutating,path=/orgs/,path=/users/,registry",
			want: Config{ErrorRate: 0.1, Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 42,
				MutatingOnly: true, Paths: []string{"/orgs/", "/users/"}, Registry: true},
		},
		"registry false":  {spec: "drop=0.5,registry=false", want: Config{DropRate: 0.5}},
		"unknown key":     {spec: "chaos=1", wantErr: "unknown key"},
		"rate above one":  {spec: "error=1.5", wantErr: "between 0 and 1"},
		"negative rate":   {spec: "drop=-0.1", wantErr: "between 0 and 1"},
		"sum above one":   {spec: "error=0.6,drop=0.6", wantErr: "add up to"},
		"bad duration":    {spec: "latency=soon", wantErr: "latency"},
		"negative jitter": {spec: "jitter=-1s", wantErr: "negative"},
		"bad scope":       {spec: "scope=some", wantErr: "want all or mutating"},
		"relative path":   {spec: "error=1,path=orgs", wantErr: "must start with /"},
		"no value":        {spec: "error", wantErr: "not key=value"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want error containing %q", tc.spec, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.spec, err)
			}
			if got.String() != tc.want.String() {
				t.Fatalf("Parse(%q) = %s, want %s", tc.spec, got, tc.want)
			}
			// String renders what ParseFaults reads back.
			again, err := Parse(got.String())
			if err != nil || again.String() != got.String() {
				t.Fatalf("round trip of %s: %s, %v", got, again, err)
			}
		})
	}
}

// TestWrap: the middleware on its own, around a handler that counts.
func TestWrap(t *testing.T) {
	var handled atomic.Int32
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	in := New(Config{ErrorRate: 1})
	api := httptest.NewServer(in.Wrap(next))
	defer api.Close()
	reg := httptest.NewServer(in.WrapRegistry(next))
	defer reg.Close()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	resp, err := c.Get(api.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 500 || !strings.Contains(string(body), `"message"`) || handled.Load() != 0 {
		t.Fatalf("error rate 1: %d %s, handled %d", resp.StatusCode, body, handled.Load())
	}
	if resp, err := c.Get(reg.URL + "/v2/"); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("registry without Config.Registry: %v %v", resp, err)
	}
	if err := in.Set(Config{LostRate: 1, MutatingOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(api.URL+"/x", "", nil); err == nil {
		t.Fatal("lost answer: got one")
	}
	if handled.Load() != 2 {
		t.Fatalf("handled %d, want 2 (registry GET, lost POST)", handled.Load())
	}
	if st := in.Stats(); st.Seen != 2 || st.Lost != 1 || st.Injected() != 2 {
		t.Fatalf("stats %+v", st)
	}
	if err := in.Set(Config{ErrorRate: 2}); err == nil {
		t.Fatal("rate 2 accepted")
	}
}
