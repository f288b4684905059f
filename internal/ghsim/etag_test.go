package ghsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestConditionalRequests(t *testing.T) {
	w := newPkWorld(t, Options{})
	get := func(etag string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, w.api.URL+"/orgs/acme/packages/npm/"+orgNPM+"/versions", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+w.tokens["alice"])
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	status, etag := get("")
	if status != http.StatusOK || etag == "" {
		t.Fatalf("first read: %d etag %q", status, etag)
	}
	if status, _ := get(etag); status != http.StatusNotModified {
		t.Errorf("unchanged with If-None-Match: %d, want 304", status)
	}
	if _, err := w.sim.Publish("acme", "npm", orgNPM, "1.0.5", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if status, etag2 := get(etag); status != http.StatusOK || etag2 == etag {
		t.Errorf("after a publish: %d etag %q (was %q)", status, etag2, etag)
	}
}

// TestConditionalReposAndIssues: the contents and issues GETs carry an
// ETag, answer 304 to If-None-Match naming it while nothing changed (not
// counted against the primary limit), and 200 with another ETag once the
// file or the issue changed.
func TestConditionalReposAndIssues(t *testing.T) {
	w := newPkWorld(t, Options{})
	if err := w.sim.SeedFile("acme", "webapp", ".github/pkgwarden.yml", "rules: []\n"); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body, etag string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, w.api.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+w.tokens["alice"])
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotModified && len(b) != 0 {
			t.Errorf("%s %s: 304 with a body of %d bytes", method, path, len(b))
		}
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	if status, _ := do(http.MethodPost, "/repos/acme/webapp/issues", `{"title":"t","body":"one"}`, ""); status != http.StatusCreated {
		t.Fatalf("create issue: %d", status)
	}
	for _, tc := range []struct {
		name   string
		path   string
		change func()
	}{
		{"file", "/repos/acme/webapp/contents/.github/pkgwarden.yml", func() {
			if err := w.sim.SeedFile("acme", "webapp", ".github/pkgwarden.yml", "rules: [] # changed\n"); err != nil {
				t.Fatal(err)
			}
		}},
		{"issue", "/repos/acme/webapp/issues/1", func() {
			if status, _ := do(http.MethodPatch, "/repos/acme/webapp/issues/1", `{"body":"two"}`, ""); status != http.StatusOK {
				t.Fatalf("edit issue: %d", status)
			}
		}},
		{"issue listing", "/repos/acme/webapp/issues?state=all", func() {
			if status, _ := do(http.MethodPatch, "/repos/acme/webapp/issues/1", `{"body":"three"}`, ""); status != http.StatusOK {
				t.Fatalf("edit issue: %d", status)
			}
		}},
		{"comments", "/repos/acme/webapp/issues/1/comments", func() {
			if status, _ := do(http.MethodPost, "/repos/acme/webapp/issues/1/comments", `{"body":"hi"}`, ""); status != http.StatusCreated {
				t.Fatalf("comment: %d", status)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, etag := do(http.MethodGet, tc.path, "", "")
			if status != http.StatusOK || etag == "" {
				t.Fatalf("first read: %d etag %q", status, etag)
			}
			w.sim.ResetRequestStats()
			if status, _ := do(http.MethodGet, tc.path, "", etag); status != http.StatusNotModified {
				t.Errorf("unchanged with If-None-Match: %d, want 304", status)
			}
			for caller, st := range w.sim.RequestStats() {
				if st.NotModified != 1 || st.Requests[http.MethodGet] != 1 {
					t.Errorf("%s after the 304: %+v, want one request, answered 304", caller, st)
				}
			}
			tc.change()
			if status, etag2 := do(http.MethodGet, tc.path, "", etag); status != http.StatusOK || etag2 == etag || etag2 == "" {
				t.Errorf("after a change: %d etag %q (was %q)", status, etag2, etag)
			}
		})
	}
}
