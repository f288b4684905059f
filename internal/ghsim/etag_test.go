package ghsim

import (
	"net/http"
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
