package prune_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// dashboardRules is an owner file keeping a dashboard: untagged versions
// older than 5 days go.
const dashboardRules = `report: {dashboard: true%s}
rules:
  - packages: ["*"]
    type: container
    prune: {untagged: true, older_than: 5d}
`

// dashboardWorld is a jobstest world whose prune and dashboard jobs run in
// a real worker pool, reporting to real issues in the simulator.
type dashboardWorld struct {
	*jobstest.World
	dashboards *prune.Dashboards
	metrics    *prometheus.Registry
}

// newDashboardWorld starts the world; wrap, when set, wraps the
// transport of the reporter's installation clients.
func newDashboardWorld(t *testing.T, ownerFile string, wrap func(http.RoundTripper) http.RoundTripper) *dashboardWorld {
	t.Helper()
	w := &dashboardWorld{World: jobstest.NewWorld(t), metrics: prometheus.NewRegistry()}
	w.File(".github", ownerFile)
	ctx := context.Background()
	q := w.NATS.Queue
	inv, err := inventory.Open(ctx, q.JS, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clients report.Clients = w.App
	if wrap != nil {
		clients = report.ClientsFunc(func(id int64) *github.Client {
			c := w.App.InstallationClient(id)
			wrapped := github.NewClient(&http.Client{Transport: wrap(c.Client().Transport)})
			wrapped.BaseURL = c.BaseURL
			return wrapped
		})
	}
	issues := report.New(clients, w.Sim.Now, nil, jobstest.ReportOptions(w.Sim)...)
	w.dashboards = &prune.Dashboards{Inventory: inv, Queue: q, Now: w.Sim.Now}
	rep := prune.IssueReporter{Issues: issues, Dashboards: w.dashboards}
	reg := jobs.NewRegistry()
	reg.Register(jobs.TypePrune, w.Pruner(rep, false, "acme="+w.Token))
	reg.Register(jobs.TypeDashboard, prune.DashboardHandler{Inventory: inv, Issues: issues})
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		jobs.NewPool(q, reg, jobs.PoolConfig{Workers: 2, BusyDelay: 20 * time.Millisecond}, jobs.NewMetrics(w.metrics, q), slog.New(slog.DiscardHandler)).Run(pctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// attempts counts the dashboard job attempts that ended with result.
func (w *dashboardWorld) attempts(t *testing.T, result string) float64 {
	t.Helper()
	fams, err := w.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "pkgwarden_jobs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["type"] == jobs.TypeDashboard && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// pkg is the container package name of acme, linked to acme/app.
func (w *dashboardWorld) pkg(name string) simtest.Package {
	return simtest.Package{Sim: w.Sim, Pusher: w.Pusher, Owner: "acme", Name: name}
}

// prune queues a prune job of acme's package name.
func (w *dashboardWorld) prune(t *testing.T, name, delivery string) {
	t.Helper()
	job := w.Job()
	job.Target.PackageName, job.DeliveryID = name, delivery
	if err := jobs.Publish(context.Background(), w.NATS.Queue, job); err != nil {
		t.Fatal(err)
	}
}

// dashboard waits for the dashboard issue to satisfy ok, and returns it.
func (w *dashboardWorld) dashboard(t *testing.T, what string, ok func(body string) bool) ghsim.Issue {
	t.Helper()
	var got ghsim.Issue
	testwait.For(t, what, 20*time.Second, func() bool {
		for _, is := range w.issues(t, ".github") {
			if is.Title == report.DashboardTitle("acme") && ok(is.Body) {
				got = is
				return true
			}
		}
		return false
	})
	return got
}

func (w *dashboardWorld) issues(t *testing.T, repo string) []ghsim.Issue {
	t.Helper()
	is, err := w.Sim.Issues("acme", repo)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// idle waits until every queued job has run.
func (w *dashboardWorld) idle(t *testing.T) {
	t.Helper()
	testwait.For(t, "the queue to be idle", 20*time.Second, func() bool { return queuetest.ConsumersIdle(t, w.NATS.Queue.JS) })
}

// row is the dashboard's table row of package name ("" when absent).
func row(body, name string) string {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "| `container "+name+"` |") {
			return l
		}
	}
	return ""
}

// TestDashboardRewrittenInPlace: with report.dashboard a prune run writes
// the dashboard in the owner's .github, a line linking to the package's
// report; the next run rewrites the same issue, and never comments.
func TestDashboardRewrittenInPlace(t *testing.T) {
	w := newDashboardWorld(t, fmt.Sprintf(dashboardRules, ""), nil)
	app := w.pkg("app")
	app.Push(t, w.Image("old"), w.Sim.Now().Add(-10*jobstest.Day))
	app.Push(t, w.Image("due"), w.Sim.Now().Add(-3*jobstest.Day))      // older than 5d within 7 days
	app.Push(t, w.Image("later"), w.Sim.Now().Add(-1*time.Hour), "v1") // tagged: never a candidate

	w.prune(t, "app", "d1")
	first := w.dashboard(t, "the dashboard with app's deletion", func(b string) bool { return row(b, "app") != "" })
	reports := w.issues(t, "app")
	if len(reports) != 1 {
		t.Fatalf("acme/app has %d issues, want the report of app", len(reports))
	}
	r := row(first.Body, "app")
	for _, want := range []string{fmt.Sprintf("/acme/app/issues/%d)", reports[0].Number), "| 1 | 1 | · | 1 (sha256:"} {
		if !strings.Contains(r, want) {
			t.Errorf("row %q lacks %q", r, want)
		}
	}
	if first.User != w.Sim.BotLogin() {
		t.Errorf("dashboard written by %s", first.User)
	}

	app.Push(t, w.Image("old2"), w.Sim.Now().Add(-20*jobstest.Day))
	w.prune(t, "app", "d2")
	second := w.dashboard(t, "the dashboard with two deletions", func(b string) bool { return strings.Contains(row(b, "app"), "| 2 | 2 |") })
	w.idle(t)
	var dashboards int
	for _, is := range w.issues(t, ".github") {
		if is.Title == report.DashboardTitle("acme") {
			dashboards++
			if len(is.Comments) != 0 {
				t.Errorf("the dashboard has %d comments", len(is.Comments))
			}
		}
	}
	if dashboards != 1 || second.Number != first.Number {
		t.Errorf("%d dashboards, #%d then #%d: want one rewritten in place", dashboards, first.Number, second.Number)
	}
}

// TestDashboardOnly: report.per_package: false opens no package issue,
// and the dashboard counts what is restorable.
func TestDashboardOnly(t *testing.T) {
	w := newDashboardWorld(t, fmt.Sprintf(dashboardRules, ", per_package: false"), nil)
	w.pkg("app").Push(t, w.Image("old"), w.Sim.Now().Add(-10*jobstest.Day))
	w.pkg("app").Push(t, w.Image("v1"), w.Sim.Now().Add(-time.Hour), "v1") // GitHub never deletes the last version
	w.prune(t, "app", "d1")
	d := w.dashboard(t, "the dashboard", func(b string) bool { return row(b, "app") != "" })
	w.idle(t)
	if is := w.issues(t, "app"); len(is) != 0 {
		t.Errorf("per_package: false, yet acme/app has issues: %+v", is)
	}
	if r := row(d.Body, "app"); !strings.Contains(r, "| 1 | 1 |") || strings.Contains(r, "](") {
		t.Errorf("row %q: want 1 deleted, 1 restorable, no report link", r)
	}
}

// TestDashboardConcurrentRuns: several packages of one owner finishing
// at once on two workers all appear: no rewrite loses another's row.
func TestDashboardConcurrentRuns(t *testing.T) {
	w := newDashboardWorld(t, fmt.Sprintf(dashboardRules, ""), nil)
	names := []string{"api", "web", "worker", "cli"}
	for _, n := range names {
		w.pkg(n).Push(t, w.Image(n+"-old"), w.Sim.Now().Add(-10*jobstest.Day))
		w.pkg(n).Push(t, w.Image(n+"-v1"), w.Sim.Now().Add(-time.Hour), "v1")
	}
	for i, n := range names {
		w.prune(t, n, fmt.Sprintf("d%d", i))
	}
	w.dashboard(t, "every package on the dashboard", func(b string) bool {
		for _, n := range names {
			if !strings.Contains(row(b, n), "| 1 | 1 |") {
				return false
			}
		}
		return true
	})
}

// TestNoDashboardUnlessAsked: without report.dashboard no dashboard job is
// queued and no dashboard issue written.
func TestNoDashboardUnlessAsked(t *testing.T) {
	w := newDashboardWorld(t, strings.Replace(fmt.Sprintf(dashboardRules, ""), "report: {dashboard: true}\n", "", 1), nil)
	w.pkg("app").Push(t, w.Image("old"), w.Sim.Now().Add(-10*jobstest.Day))
	w.prune(t, "app", "d1")
	testwait.For(t, "the report of app", 20*time.Second, func() bool { return len(w.issues(t, "app")) == 1 })
	w.idle(t)
	for _, is := range w.issues(t, ".github") {
		t.Errorf("issue in .github without a dashboard asked: %q", is.Title)
	}
}

// blockFirstWrite holds the first issue edit in the owner's .github until
// release is closed, and says when it is held.
type blockFirstWrite struct {
	base    http.RoundTripper
	once    *sync.Once
	held    chan struct{}
	release chan struct{}
}

func (b blockFirstWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/repos/acme/.github/issues/") {
		first := false
		b.once.Do(func() { first = true })
		if first {
			close(b.held)
			<-b.release
		}
	}
	return b.base.RoundTrip(r)
}

// TestDashboardWritersNeverOverlap: a run that finishes while the
// dashboard is being rewritten from older rows queues a job that waits
// for the lease (busy), then writes last, with both rows: the stale
// rewrite cannot land after it. Without one lease per owner the second
// job would write at once and the held, older body would overwrite it.
func TestDashboardWritersNeverOverlap(t *testing.T) {
	held, release, once := make(chan struct{}), make(chan struct{}), &sync.Once{}
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) }) // never leave the write held
	w := newDashboardWorld(t, fmt.Sprintf(dashboardRules, ""), func(base http.RoundTripper) http.RoundTripper {
		return blockFirstWrite{base: base, once: once, held: held, release: release}
	})
	for _, n := range []string{"cli", "api", "web"} {
		w.pkg(n).Push(t, w.Image(n+"-old"), w.Sim.Now().Add(-10*jobstest.Day))
		w.pkg(n).Push(t, w.Image(n+"-v1"), w.Sim.Now().Add(-time.Hour), "v1")
	}
	w.prune(t, "cli", "d0") // opens the dashboard
	w.dashboard(t, "the dashboard with cli", func(b string) bool { return row(b, "cli") != "" })
	w.prune(t, "api", "d1")
	select {
	case <-held: // a dashboard job has read cli's and api's rows and writes
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for the first dashboard write")
	}
	w.prune(t, "web", "d2")
	// Either the second job waits for the lease (busy), or, were the
	// writers not kept apart, it writes both rows while the first is held.
	busy := testwait.Until(10*time.Second, func() bool { return w.attempts(t, jobs.ResultBusy) > 0 })
	released.Do(func() { close(release) })
	w.idle(t)
	last := w.dashboard(t, "the dashboard", func(string) bool { return true })
	if !busy {
		t.Errorf("the second dashboard job never waited for the first")
	}
	if n := len(w.issues(t, ".github")); n != 1 {
		t.Errorf("%d issues in .github, want the one dashboard", n)
	}
	if row(last.Body, "cli") == "" || row(last.Body, "api") == "" || row(last.Body, "web") == "" {
		t.Errorf("a row was lost: the older rewrite landed last:\n%s", last.Body)
	}
}

// TestDashboardShowsInvalidFile: a package whose repository file is
// invalid is on its owner's dashboard with the error.
func TestDashboardShowsInvalidFile(t *testing.T) {
	w := newDashboardWorld(t, fmt.Sprintf(dashboardRules, ""), nil)
	w.File("app", "rules:\n  - prune: {untaged: true}\n")
	w.pkg("app").Push(t, w.Image("old"), w.Sim.Now().Add(-10*jobstest.Day))
	w.prune(t, "app", "d1")
	d := w.dashboard(t, "the dashboard with app's error", func(b string) bool { return row(b, "app") != "" })
	if r := row(d.Body, "app"); !strings.Contains(r, "invalid acme/app:.github/pkgwarden.yml, line 2: ") || !strings.Contains(d.Body, "### Needs a look (1)") {
		t.Errorf("row %q does not say the file is invalid:\n%s", r, d.Body)
	}
}
