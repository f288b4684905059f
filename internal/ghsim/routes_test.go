package ghsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRouteStats: each request is counted once under its route and by
// its answer (a dropped connection as other); /_admin/ is not counted; GET /_admin/requests shows the
// same figures and DELETE zeroes them.
func TestRouteStats(t *testing.T) {
	w := newPkWorld(t, Options{})
	listing := w.api.URL + "/orgs/acme/packages/npm/" + orgNPM + "/versions"
	do := func(method, url, etag string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
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
	w.sim.ResetRouteStats()
	_, etag := do(http.MethodGet, listing, "")
	steps := []struct {
		method, url, etag string
		status            int
	}{
		{http.MethodGet, listing, etag, http.StatusNotModified},
		{http.MethodGet, listing + "?state=deleted", "", http.StatusOK},
		{http.MethodGet, w.api.URL + "/orgs/acme/packages/npm/no-such-package/versions", "", http.StatusNotFound},
		{http.MethodGet, w.reg.URL + "/v2/", "", http.StatusUnauthorized},
		{http.MethodGet, w.reg.URL + "/v2/acme/webapp/manifests/latest", "", http.StatusUnauthorized},
		{http.MethodGet, w.api.URL + "/_admin/clock", "", http.StatusOK},
	}
	for _, s := range steps {
		if got, _ := do(s.method, s.url, s.etag); got != s.status {
			t.Fatalf("%s %s: %d, want %d", s.method, s.url, got, s.status)
		}
	}
	// A connection the faults drop answers nothing: counted as other.
	if err := w.sim.SetFaults(Faults{DropRate: 1, Paths: []string{"/orgs/acme/packages/npm/dropped"}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(w.api.URL + "/orgs/acme/packages/npm/dropped"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET of a dropped path answered %d", resp.StatusCode)
	}
	versions := "GET /orgs/{org}/packages/{package_type}/{package_name}/versions"
	want := RouteStats{
		"GET /orgs/{org}/packages/{package_type}/{package_name}": {Other: 1},
		versions:                               {OK: 1, NotModified: 1, Other: 1},
		versions + "?state=deleted":            {OK: 1},
		"GET /v2/":                             {Other: 1},
		"GET /v2/{name}/manifests/{reference}": {Other: 1},
	}
	if got := w.sim.RouteStats(); !maps.Equal(got, want) {
		t.Errorf("RouteStats:\n got %v\nwant %v", got, want)
	}
	for route, registry := range map[string]bool{versions: false, "GET /v2/": true, "GET /token": true} {
		if got := (RouteStats{}).Registry(route); got != registry {
			t.Errorf("Registry(%q) = %t, want %t", route, got, registry)
		}
	}

	resp, err := http.Get(w.api.URL + "/_admin/requests")
	if err != nil {
		t.Fatal(err)
	}
	var got routeStatsAnswer
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	byRoute := RouteStats{}
	for _, r := range got.Routes {
		byRoute[r.Route] = r.RouteCount
	}
	if !maps.Equal(byRoute, want) || !slices.IsSortedFunc(got.Routes, func(a, b routeStatsEntry) int { return strings.Compare(a.Route, b.Route) }) {
		t.Errorf("GET /_admin/requests: %+v", got.Routes)
	}
	req, _ := http.NewRequest(http.MethodDelete, w.api.URL+"/_admin/requests", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /_admin/requests: %v %v", resp, err)
	}
	if st := w.sim.RouteStats(); len(st) != 0 {
		t.Errorf("after DELETE /_admin/requests: %v", st)
	}
}
