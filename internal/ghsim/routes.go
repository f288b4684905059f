package ghsim

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// RouteCount counts the answers to one route (a method and a path
// pattern) by kind.
type RouteCount struct {
	// OK counts 1xx/2xx/3xx answers but 304; NotModified the 304s (free
	// against GitHub's primary limit); Limited the rate-limit answers
	// (429, or 403 with Retry-After or no remaining requests); Other
	// every other answer (4xx, 5xx, and requests the faults dropped).
	OK          int `json:"ok"`
	NotModified int `json:"not_modified"`
	Limited     int `json:"limited"`
	Other       int `json:"other"`
}

// Total is every request of the route.
func (c RouteCount) Total() int { return c.OK + c.NotModified + c.Limited + c.Other }

// RouteStats are the requests the REST API and the registry answered, by
// route: "GET /orgs/{org}/packages/{package_type}/{package_name}/versions"
// as the API's mux names it (listings of deleted versions get
// "?state=deleted"), "GET /v2/{name}/manifests/{reference}" and the like
// for the registry (whose routes start with /v2 or /token). /_admin/ and
// the web pages are not counted.
type RouteStats map[string]RouteCount

// Registry reports whether route is one of the registry's.
func (RouteStats) Registry(route string) bool {
	_, path, _ := strings.Cut(route, " ")
	return path == "/v2" || strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/token")
}

// routeCounter counts requests by route behind its own lock.
type routeCounter struct {
	mu sync.Mutex
	by map[string]*RouteCount
}

func newRouteCounter() *routeCounter { return &routeCounter{by: map[string]*RouteCount{}} }

// wrap counts every request next answers under the route kind names.
func (c *routeCounter) wrap(kind func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := kind(r)
		sw := &routeWriter{ResponseWriter: w}
		// Counted when the status is written, before any byte of the
		// answer leaves: a client that reads the counters right after its
		// answer finds it counted. Deferred as well, for a request the
		// faults abort (panic) or drop without writing anything.
		sw.written = func() { c.count(route, sw) }
		defer func() {
			if !sw.counted {
				c.count(route, sw)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func (c *routeCounter) count(route string, w *routeWriter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc := c.by[route]
	if rc == nil {
		rc = &RouteCount{}
		c.by[route] = rc
	}
	h := w.Header()
	switch code := w.status(); {
	case code == http.StatusNotModified:
		rc.NotModified++
	case code == http.StatusTooManyRequests,
		code == http.StatusForbidden && (h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0"):
		rc.Limited++
	case code < 400:
		rc.OK++
	default:
		rc.Other++
	}
}

func (c *routeCounter) stats() RouteStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(RouteStats, len(c.by))
	for k, v := range c.by {
		out[k] = *v
	}
	return out
}

func (c *routeCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.by)
}

// routeWriter notes the status written; a handler that writes nothing
// (a request the faults dropped) counts as Other.
type routeWriter struct {
	http.ResponseWriter
	code int
	// written counts the request once its status is known; counted says
	// it did.
	written func()
	counted bool
}

func (w *routeWriter) setStatus(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	if w.written != nil {
		w.counted = true
		w.written()
	}
}

func (w *routeWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *routeWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *routeWriter) status() int {
	if w.code == 0 {
		return 599
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *routeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiRoute names a REST API request by the pattern of the mux's route.
func (s *Sim) apiRoute(r *http.Request) string {
	_, pattern := s.api.Handler(r)
	if pattern == "" {
		pattern = r.Method + " (no route)"
	}
	if r.URL.Query().Get("state") == "deleted" {
		pattern += "?state=deleted"
	}
	return pattern
}

// registryRoute names a registry request by its path with the
// repository name and reference replaced.
func registryRoute(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2" || p == "/v2/":
		return r.Method + " /v2/"
	case strings.HasPrefix(p, "/token"):
		return r.Method + " /token"
	}
	for _, part := range []string{"/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list", "/referrers/"} {
		if i := strings.LastIndex(p, part); i > 0 {
			route := "/v2/{name}" + part
			if !strings.HasSuffix(part, "list") {
				route += "{reference}"
			}
			return r.Method + " " + route
		}
	}
	return r.Method + " /v2/(other)"
}

// RouteStats returns the requests answered by route since the
// simulator started or ResetRouteStats.
func (s *Sim) RouteStats() RouteStats { return s.routes.stats() }

// ResetRouteStats zeroes the route counters.
func (s *Sim) ResetRouteStats() { s.routes.reset() }

// routeStatsAnswer is the body of GET /_admin/requests.
type routeStatsAnswer struct {
	Routes []routeStatsEntry `json:"routes"`
}

type routeStatsEntry struct {
	Route string `json:"route"`
	RouteCount
}

// registerRouteAdmin serves /_admin/requests (documented in doc.go).
func (s *Sim) registerRouteAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_admin/requests", func(w http.ResponseWriter, r *http.Request) {
		st := s.routes.stats()
		keys := make([]string, 0, len(st))
		for k := range st {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := routeStatsAnswer{Routes: make([]routeStatsEntry, 0, len(keys))}
		for _, k := range keys {
			out.Routes = append(out.Routes, routeStatsEntry{Route: k, RouteCount: st[k]})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /_admin/requests", func(w http.ResponseWriter, r *http.Request) {
		s.routes.reset()
		w.WriteHeader(http.StatusNoContent)
	})
}
