package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// TestDemoJSON runs `pkgwarden demo --json` through the dispatcher and
// checks the document's shape.
func TestDemoJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"broken", "deleted", "issues", "kept", "restored", "skipped"}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	for _, list := range []string{"deleted", "kept", "restored", "skipped"} {
		var entries []map[string]json.RawMessage
		if err := json.Unmarshal(doc[list], &entries); err != nil {
			t.Fatalf("%s: %v", list, err)
		}
		for _, e := range entries {
			var ek []string
			for k := range e {
				ek = append(ek, k)
			}
			slices.Sort(ek)
			if want := []string{"id", "package", "reason", "tags", "version"}; !slices.Equal(ek, want) {
				t.Errorf("%s entry keys = %v, want %v", list, ek, want)
			}
		}
	}
	var res demoResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) == 0 || len(res.Kept) == 0 {
		t.Errorf("deleted %d, kept %d: the demo should show both", len(res.Deleted), len(res.Kept))
	}
	if len(res.Skipped) != 1 || !slices.Equal(res.Skipped[0].Tags, []string{"pr-41"}) || !strings.Contains(res.Skipped[0].Reason, "5000 downloads") {
		t.Errorf("skipped = %+v, want pr-41, refused by GitHub for its downloads", res.Skipped)
	}
	for _, e := range append(slices.Clone(res.Deleted), res.Kept...) {
		if strings.Contains(e.Package, "/container/") && !strings.HasPrefix(e.Version, "sha256:") {
			t.Errorf("container version %q is not a digest", e.Version)
		}
		if e.Reason == "" {
			t.Errorf("%s %d has no reason", e.Package, e.ID)
		}
	}
	// The undo: pr-57 is under deleted (the prune) and under restored
	// (alice's comment), each with its reason.
	if !slices.ContainsFunc(res.Deleted, func(e demoEntry) bool { return slices.Equal(e.Tags, []string{"pr-57"}) }) ||
		!slices.ContainsFunc(res.Restored, func(e demoEntry) bool {
			return slices.Equal(e.Tags, []string{"pr-57"}) && strings.Contains(e.Reason, "asked by @alice")
		}) {
		t.Errorf("pr-57 should be listed as deleted and as restored by alice's comment:\ndeleted %+v\nrestored %+v", res.Deleted, res.Restored)
	}
	if len(res.Issues) == 0 {
		t.Error("no issue written")
	}
	for _, is := range res.Issues {
		if is.Repository == "" || is.Number == 0 || !strings.HasPrefix(is.Title, "pkgwarden") || !strings.HasPrefix(is.URL, "http://127.0.0.1:") {
			t.Errorf("issue %+v", is)
		}
	}
}

// checkCoversEveryVersion checks the demo's result against the
// simulator afterwards: deleted and kept are disjoint, together they are
// every version the two packages had, the deleted ones are deleted and
// the kept ones are not; and the text output names both.
//
// The story's text (progress, the lines the steps printed, then the
// recap) is compared with testdata/demo.golden.txt.
func checkCoversEveryVersion(t *testing.T, sim *ghsim.Sim, res demoResult, h demoHeader, progress string) {
	status := map[string]map[int64]bool{} // package → id → deleted
	// The platforms other tools deleted from the seed's broken releases
	// (demoworld.Broken): the one still in GitHub's window is healed
	// (restore.broken) and then kept like any other; the other is gone
	// for good, in neither list.
	broken := map[string]demoworld.Broken{}
	for _, b := range h.broken {
		broken[b.Digest] = b
	}
	if len(broken) != 2 {
		t.Errorf("broken releases %+v, want nightly and v0.8.0", h.broken)
	}
	for _, p := range []struct{ typ, name string }{{"container", "webapp"}, {"npm", "webapp-client"}} {
		vs, err := sim.Versions("acme", p.typ, p.name)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]bool{}
		for _, v := range vs {
			if b, ok := broken[v.Name]; ok && p.typ == "container" {
				if b.Gone {
					if !v.Deleted || !v.Purged {
						t.Errorf("%s's %s (%d): deleted %t, purged %t; want gone for good", b.Tag, b.Platform, v.ID, v.Deleted, v.Purged)
					}
					continue
				}
				if v.Deleted {
					t.Errorf("%s's %s (%d) still deleted: not healed", b.Tag, b.Platform, v.ID)
				}
				if !slices.ContainsFunc(res.Restored, func(e demoEntry) bool { return e.ID == v.ID && strings.Contains(e.Reason, "restore.broken") }) {
					t.Errorf("restored = %+v, want %s's %s (%d) healed", res.Restored, b.Tag, b.Platform, v.ID)
				}
			}
			if slices.Contains(v.Tags, "v0.9.0") {
				// Deleted by the seed days ago, restored by the
				// restore job after the prune (or by the sweep), kept by
				// the sweep's prune (so counted below).
				if v.Deleted {
					t.Errorf("v0.9.0 (%d) still deleted after the restore pass", v.ID)
				}
				if !slices.ContainsFunc(res.Restored, func(e demoEntry) bool {
					return e.ID == v.ID && slices.Equal(e.Tags, []string{"v0.9.0"}) && e.Package == "acme/container/webapp" && (strings.Contains(e.Reason, "(sweep)") || strings.Contains(e.Reason, "(after prune)"))
				}) {
					t.Errorf("restored = %+v, want v0.9.0 (%d) restored by restore.tags", res.Restored, v.ID)
				}
			}
			m[v.ID] = v.Deleted
		}
		status["acme/"+p.typ+"/"+p.name] = m
	}
	// The undo: pr-57, deleted by the prune, brought back by alice's
	// comment, is listed under both deleted and restored.
	undone := h.undo.Entry
	if !slices.Equal(undone.Tags, []string{"pr-57"}) || h.undo.Comment != "/pkgwarden restore "+strconv.FormatInt(undone.ID, 10) {
		t.Errorf("undo = %+v, want a restore comment for pr-57", h.undo)
	}
	if !slices.ContainsFunc(res.Deleted, func(e demoEntry) bool { return e.ID == undone.ID }) {
		t.Errorf("pr-57 (%d) not listed as deleted", undone.ID)
	}
	if !slices.ContainsFunc(res.Restored, func(e demoEntry) bool {
		return e.ID == undone.ID && strings.Contains(e.Reason, "asked by @alice")
	}) {
		t.Errorf("restored = %+v, want pr-57 (%d) restored by alice's comment", res.Restored, undone.ID)
	}
	if deleted, ok := status["acme/container/webapp"][undone.ID]; !ok || deleted {
		t.Errorf("pr-57 (%d) in the simulator: known %t, deleted %t; want restored", undone.ID, ok, deleted)
	}
	status["acme/container/webapp"][undone.ID] = true // counted as the prune left it
	if !strings.Contains(h.undo.Answer, "@alice asked: restored pr-57 (id ") || strings.Contains(h.undo.Answer, "intentional") {
		t.Errorf("bot's answer = %q", h.undo.Answer)
	}
	seen := map[string]bool{}
	for _, group := range []struct {
		entries []demoEntry
		deleted bool
	}{{res.Deleted, true}, {res.Kept, false}, {res.Skipped, false}} {
		for _, e := range group.entries {
			key := e.Package + "#" + e.Version
			if seen[key] {
				t.Errorf("%s listed twice", key)
			}
			seen[key] = true
			deleted, ok := status[e.Package][e.ID]
			if !ok {
				t.Errorf("%s %d is no version of the demo", e.Package, e.ID)
				continue
			}
			if deleted != group.deleted {
				t.Errorf("%s %d (%s): deleted %t in the simulator, listed as deleted %t", e.Package, e.ID, e.Version, deleted, group.deleted)
			}
			delete(status[e.Package], e.ID)
		}
	}
	// The image past healing is told, once, with what it misses.
	if len(res.Broken) != 1 || res.Broken[0].Name != "v0.8.0" || !slices.Equal(res.Broken[0].Missing, []string{"linux/arm/v7 gone"}) {
		t.Errorf("broken = %+v, want v0.8.0 missing linux/arm/v7 (gone)", res.Broken)
	}
	if len(res.Restored) != 3 {
		t.Errorf("restored = %+v, want v0.9.0, nightly's healed platform and pr-57", res.Restored)
	}
	issues, err := sim.Issues("acme", "webapp")
	if err != nil {
		t.Fatal(err)
	}
	noted := false
	for _, is := range issues {
		for _, c := range is.Comments {
			if c.User == sim.BotLogin() && strings.Contains(c.Body, "Restored automatically") && strings.Contains(c.Body, "this deletion was intentional") && strings.Contains(c.Body, "v0.9.0") {
				noted = true
			}
		}
	}
	if !noted {
		t.Error("no comment of the bot on the webapp report tells the restore of v0.9.0 with a box")
	}
	for pkg, left := range status {
		for id := range left {
			t.Errorf("%s version %d is neither deleted nor kept in the result", pkg, id)
		}
	}
	// The terminal's counts are the result's, per package, in the
	// shared vocabulary: each version in one list, refused not kept.
	byPkg := map[string]demoCounts{}
	for _, c := range countsOf(res) {
		byPkg[c.Package] = c
	}
	if c := byPkg["acme/container/webapp"]; c.Deleted != 7 || c.Restorable != 6 || c.Restored != 3 || c.Refused != 1 || c.Kept != 19 {
		t.Errorf("container counts %+v (%s), want deleted 7 · 6 restorable · restored 3 · refused 1 · kept 19", c, c)
	}
	if c := byPkg["acme/npm/webapp-client"]; c.Deleted != 3 || c.Restorable != 3 || c.Kept != 5 || c.Refused != 0 {
		t.Errorf("npm counts %+v (%s), want deleted 3 · 3 restorable · kept 5", c, c)
	}
	var text bytes.Buffer
	text.WriteString(progress)
	if err := writeDemoText(&text, res, h, demoText{}); err != nil {
		t.Fatal(err)
	}
	got := normalizeDemo(text.String())
	golden := filepath.Join("testdata", "demo.golden.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("story differs from %s (digests, ids of runs, times and ports normalised; -update rewrites it):\n%s", golden, lineDiff(string(want), got))
	}
}

// demoVolatile are the parts of the story that change from run to run:
// digests (the image's source label holds the simulator's port), run and
// answer ids, times, ports, tokens and the duration.
var demoVolatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`sha256[:-][0-9a-f]{12,64}(…)?`), "DIGEST"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "UUID"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?Z| UTC)?)?`), "TIME"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`ghp_[0-9a-f]+`), "TOKEN"},
	{regexp.MustCompile(`Done in [0-9.]+m?s`), "Done in DURATION"},
}

func normalizeDemo(s string) string {
	for _, v := range demoVolatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// lineDiff lists the lines of got that differ from want, by number.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, w, g)
		}
	}
	return b.String()
}

// TestDemoKeepRunning runs `demo --keep-running`, follows the printed
// curl lines (the report issue's comments, with the printed token) while
// it waits, then stops it as Ctrl-C would.
func TestDemoKeepRunning(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, []string{"--keep-running"}, &stdout, &stderr) }()
	printed := testwait.Until(time.Minute, func() bool {
		if strings.Contains(stdout.String(), "Ctrl-C stops everything") {
			return true
		}
		select {
		case err := <-done:
			t.Fatalf("demo returned before waiting: %v\n%s", err, stderr.String())
		default:
		}
		return false
	})
	if !printed {
		t.Fatalf("no URLs printed:\n%s", stdout.String())
	}
	out := stdout.String()
	token := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(out)
	comments := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/repos/acme/webapp/issues/\d+/comments)`).FindStringSubmatch(out)
	if token == nil || comments == nil {
		t.Fatalf("no token or comments URL in:\n%s", out)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, comments[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", comments[1], err)
	}
	type comment struct {
		Body string `json:"body"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	var list []comment
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", comments[1], resp.Status, err)
	}
	if !slices.ContainsFunc(list, func(c comment) bool {
		return c.User.Login == "alice" && strings.HasPrefix(c.Body, "/pkgwarden restore ")
	}) {
		t.Errorf("alice's restore comment is not on the printed issue: %+v", list)
	}
	checkIssuePages(t, out, token[1])
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after Ctrl-C")
	}
}

// checkIssuePages opens the issue URLs the recap printed as a browser
// would (no token) and finds each issue rendered as HTML: its title, its
// restore boxes as task-list checkboxes, a <details> for each in its
// markdown (read through the API with the token), and no markup that
// was not allowed.
func checkIssuePages(t *testing.T, out, token string) {
	t.Helper()
	urls := regexp.MustCompile(`(?m)^\s+(http://127\.0\.0\.1:\d+/(acme/[^/\s]+)/issues/(\d+))$`).FindAllStringSubmatch(out, -1)
	if len(urls) == 0 {
		t.Fatalf("no issue URL in:\n%s", out)
	}
	get := func(url, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	boxes := 0
	for _, u := range urls {
		resp, page := get(u[1], "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %s %s", u[1], resp.Status, resp.Header.Get("Content-Type"))
			continue
		}
		api := strings.Replace(u[1], "/"+u[2]+"/", "/repos/"+u[2]+"/", 1)
		_, raw := get(api, token)
		var is struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		}
		if err := json.Unmarshal([]byte(raw), &is); err != nil || is.Title == "" {
			t.Fatalf("GET %s: %v\n%s", api, err, raw)
		}
		if !strings.Contains(page, html.EscapeString(is.Title)) {
			t.Errorf("%s: no title %q in the page", u[1], is.Title)
		}
		if n := strings.Count(is.Body, "- [ ]"); n > 0 {
			boxes += n
			if got := strings.Count(page, `<input disabled="" type="checkbox">`); got < n {
				t.Errorf("%s: %d unticked boxes in the markdown, %d checkboxes in the page", u[1], n, got)
			}
		}
		if n := strings.Count(is.Body, "<details>"); strings.Count(page, "<details>") < n {
			t.Errorf("%s: %d <details> in the markdown, fewer in the page", u[1], n)
		}
		if strings.Contains(page, "<script") {
			t.Errorf("%s: a script in the page", u[1])
		}
	}
	if boxes == 0 {
		t.Error("no restore box in any issue the demo wrote")
	}
}

// recordHandler keeps the messages and attributes of the records logged
// through it.
type recordHandler struct {
	attrs []slog.Attr
	mu    *sync.Mutex
	recs  *[]map[string]any
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, m)
	return nil
}

func (h recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(slices.Clone(h.attrs), as...)
	return h
}

func (h recordHandler) WithGroup(string) slog.Handler { return h }

// TestDemoRun runs the whole demo once, with every component's logs
// captured (as records and as JSON at debug level), and checks it:
//   - covers every version: see checkCoversEveryVersion;
//   - sweep is scheduled: the restore of v0.9.0 comes from real sweeps of
//     the scheduler (installations and packages listed by it, a prune and
//     a restore job queued for each of the two packages), not from jobs
//     built by hand;
//   - logs no secrets: see checkLogsNoSecrets.
//
// One run serves the three: the demo takes seconds under the race
// detector.
func TestDemoRun(t *testing.T) {
	var mu sync.Mutex
	var recs []map[string]any
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewMultiHandler(recordHandler{mu: &mu, recs: &recs},
		slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var secrets []demoSecret
	progress := &lockedBuffer{}
	err := demoRun(context.Background(), logger, time.Minute, progress, func(sim *ghsim.Sim, res demoResult, h demoHeader) error {
		t.Run("covers every version", func(t *testing.T) { checkCoversEveryVersion(t, sim, res, h, progress.String()) })
		// The restore job a prune queues for a broken image (issue 14)
		// runs restore.tags too: it, or the sweep, brings v0.9.0 back.
		t.Run("restore.tags restored v0.9.0", func(t *testing.T) {
			if !slices.ContainsFunc(res.Restored, func(e demoEntry) bool {
				return slices.Equal(e.Tags, []string{"v0.9.0"}) && (strings.Contains(e.Reason, "(sweep)") || strings.Contains(e.Reason, "(after prune)"))
			}) {
				t.Errorf("restored = %+v, want v0.9.0 restored by the sweep or after the prune", res.Restored)
			}
		})
		secrets = demoSecrets(t, sim, h)
		return nil
	})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	t.Run("sweep is scheduled", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		var queued []any
		for _, r := range recs {
			if r["msg"] == "demo: sweep queued" && r["component"] == "scheduler" {
				queued = append(queued, r["jobs"])
			}
		}
		// Two sweeps; two packages, a prune and a restore job each.
		if !slices.Equal(queued, []any{int64(4), int64(4)}) {
			t.Errorf("sweeps queued by the scheduler: %v jobs, want two sweeps of 4", queued)
		}
	})
	t.Run("logs no secrets", func(t *testing.T) { checkLogsNoSecrets(t, logs.String(), secrets) })
}
