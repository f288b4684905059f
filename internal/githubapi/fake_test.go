package githubapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub answers the Packages endpoints the way the seed document shows
// GitHub doing it: Link pagination, ETags with 304, escaped package names.
// Versions come from the seed's example, copied with new ids and digests.
type fakeGitHub struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	owners   map[string][2]string        // lower-case login -> {login, type}
	versions map[string][]map[string]any // escaped package path -> versions, newest first
	requests []string                    // "METHOD RequestURI"
	self     string                      // login GET /user answers; "" answers 404
	// intercept, when set, may answer a request first; it returns true if
	// it did.
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, owners: map[string][2]string{}, versions: map[string][]map[string]any{}}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeGitHub) url() string { return f.server.URL + "/" }

// seedVersions gives a package n container versions modelled on the seed's
// example version, newest first.
func (f *fakeGitHub) seedVersions(pkgPath string, n int) {
	var example []map[string]any
	readFixture(f.t, "user-container-versions.json", &example)
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := make([]map[string]any, 0, n)
	for i := n; i >= 1; i-- {
		vs = append(vs, fakeVersion(example[0], int64(i)))
	}
	f.versions[pkgPath] = vs
}

func fakeVersion(example map[string]any, id int64) map[string]any {
	v := map[string]any{}
	for k, val := range example {
		v[k] = val
	}
	sum := sha256.Sum256([]byte(strconv.FormatInt(id, 10)))
	v["id"] = id
	v["name"] = "sha256:" + hex.EncodeToString(sum[:])
	v["metadata"] = map[string]any{"package_type": "container", "container": map[string]any{"tags": []string{"v" + strconv.FormatInt(id, 10)}}}
	return v
}

func (f *fakeGitHub) addNewest(pkgPath string, id int64) {
	var example []map[string]any
	readFixture(f.t, "user-container-versions.json", &example)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[pkgPath] = append([]map[string]any{fakeVersion(example[0], id)}, f.versions[pkgPath]...)
}

// addOldest adds a version that sorts last, as a restored old version does.
func (f *fakeGitHub) addOldest(pkgPath string, id int64) {
	var example []map[string]any
	readFixture(f.t, "user-container-versions.json", &example)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[pkgPath] = append(f.versions[pkgPath], fakeVersion(example[0], id))
}

func (f *fakeGitHub) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.RequestURI)
	n := len(f.requests)
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(w, r, n) {
		return
	}
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4990")
	path := r.URL.EscapedPath()
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && path == "/user":
		f.mu.Lock()
		self := f.self
		f.mu.Unlock()
		if self == "" {
			notFound(w)
			return
		}
		writeJSON(w, map[string]any{"login": self, "id": 2, "type": "User"})
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "users":
		f.mu.Lock()
		o, ok := f.owners[strings.ToLower(segs[1])]
		f.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		// GitHub answers with the login as registered, whatever the case asked.
		writeJSON(w, map[string]any{"login": o[0], "id": 1, "type": o[1]})
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/versions"):
		f.listVersions(w, r, strings.TrimSuffix(path, "/versions"))
	case r.Method == http.MethodGet && len(segs) == 7 && segs[5] == "versions":
		f.withVersion(w, strings.Join(segs[:5], "/"), segs[6], func(v map[string]any) { writeJSON(w, v) })
	case r.Method == http.MethodDelete && len(segs) == 7 && segs[5] == "versions":
		f.withVersion(w, strings.Join(segs[:5], "/"), segs[6], func(v map[string]any) {
			pkg := "/" + strings.Join(segs[:5], "/")
			f.mu.Lock()
			vs := f.versions[pkg]
			for i := range vs {
				if vs[i]["id"] == v["id"] {
					f.versions[pkg] = append(vs[:i:i], vs[i+1:]...)
					break
				}
			}
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/restore"):
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete && len(segs) == 5:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && len(segs) == 5 && segs[2] == "packages":
		var p map[string]any
		readFixture(f.t, "org-package.json", &p)
		name := segs[4]
		p["name"] = name
		writeJSON(w, p)
	case r.Method == http.MethodGet && (path == "/user/packages" || (len(segs) == 3 && segs[2] == "packages")):
		var ps []map[string]any
		readFixture(f.t, "org-packages.json", &ps)
		writeJSON(w, ps)
	default:
		notFound(w)
	}
}

func (f *fakeGitHub) withVersion(w http.ResponseWriter, pkg, id string, fn func(map[string]any)) {
	f.mu.Lock()
	var found map[string]any
	for _, v := range f.versions["/"+pkg] {
		if strconv.FormatInt(v["id"].(int64), 10) == id {
			found = v
		}
	}
	f.mu.Unlock()
	if found == nil {
		notFound(w)
		return
	}
	fn(found)
}

func (f *fakeGitHub) listVersions(w http.ResponseWriter, r *http.Request, pkg string) {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage < 1 {
		perPage = 30
	}
	f.mu.Lock()
	all, ok := f.versions[pkg]
	f.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	lo, hi := min((page-1)*perPage, len(all)), min(page*perPage, len(all))
	body, err := json.Marshal(all[lo:hi])
	if err != nil {
		f.t.Errorf("marshal versions: %v", err)
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	last := max((len(all)+perPage-1)/perPage, 1)
	if page < last {
		link := func(p int, rel string) string {
			qq := r.URL.Query()
			qq.Set("page", strconv.Itoa(p))
			return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, f.server.URL, r.URL.EscapedPath(), qq.Encode(), rel)
		}
		w.Header().Set("Link", link(page+1, "next")+", "+link(last, "last"))
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
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
