package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
)

// clusterScale is one size of the cluster run.
type clusterScale struct {
	webhooks, packages int
	// secondaryWindow is the simulator's window for its budget of 300
	// points: a minute in the soak, as the issue asks; 5 s in the default
	// run, so that the same counts fit the test command's time (the
	// deletions and report writes alone cost over 3,500 points, twelve
	// minutes at 300 a minute).
	secondaryWindow time.Duration
	// pacingPoints and pacingMutating are serve's budget per minute,
	// under the simulator's.
	pacingPoints, pacingMutating int
	// every is the storm's pace: one delivery per every.
	every time.Duration
	drain time.Duration
}

const clusterRules = `rules:
  - packages: ["pkg-*"]
    type: container
    prune:
      untagged: true
      delete_tags: ["pr-*"]
      exclude_tags: ["latest"]
`

// TestClusterUnderFaults is issue 8's cluster run: three nats-server
// processes in a JetStream cluster (R3 streams and buckets), two serve
// processes with web,worker and one with scheduler,worker, the simulator
// injecting 5% 5xx and latency under a secondary budget of 300 points per
// window; signed webhooks for many packages, 10% of them redelivered,
// spread over both web processes while one NATS node and one serve are
// SIGKILLed and restarted. Afterwards every job is done, nothing is dead
// lettered, no run reported twice, exactly the planned versions are gone
// and every kept tag pulls whole.
//
// The default run sends the issue's 5,000 webhooks for 200 packages with
// time compressed: the simulator allows 300 points per 5 s and the storm
// sends 100 deliveries a second. PKGWARDEN_SOAK=1 runs the same counts in
// real time, under 300 points per minute (about half an hour). -short
// skips it.
func TestClusterUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nats-server and three serve processes; skipped with -short")
	}
	sc := clusterScale{webhooks: 5000, packages: 200, secondaryWindow: 5 * time.Second,
		pacingPoints: 2880, pacingMutating: 480, every: 10 * time.Millisecond, drain: 4 * time.Minute}
	if os.Getenv("PKGWARDEN_SOAK") == "1" {
		sc = clusterScale{webhooks: 5000, packages: 200, secondaryWindow: time.Minute,
			pacingPoints: 240, pacingMutating: 40, every: 20 * time.Millisecond, drain: 60 * time.Minute}
	}
	if v := os.Getenv("PKGWARDEN_CLUSTER_SCALE"); v != "" {
		// WEBHOOKSxPACKAGES, to try a size by hand.
		if _, err := fmt.Sscanf(v, "%dx%d", &sc.webhooks, &sc.packages); err != nil {
			t.Fatalf("PKGWARDEN_CLUSTER_SCALE=%q: want WEBHOOKSxPACKAGES: %v", v, err)
		}
		sc.drain = 2 * time.Minute
	}
	began := time.Now()
	const day = 24 * time.Hour

	// The world, built without faults or limits.
	w := newE2EWorld(t, ghsim.RateLimits{})
	w.file("app", rules.Path, clusterRules)
	pkgs := make([]string, sc.packages)
	want := map[string]map[string]bool{} // package → digests that must stay
	gone := map[string]map[string]bool{} // package → digests that must go
	for i := range pkgs {
		p := fmt.Sprintf("pkg-%03d", i)
		pkgs[i] = p
		push := func(note string, age time.Duration, tags ...string) string {
			img := w.image(p + "-" + note)
			d, err := w.pusher.PushImage(context.Background(), "acme/"+p, img, tags...)
			if err != nil {
				t.Fatal(err)
			}
			vs, _ := w.sim.Versions("acme", "container", p)
			for _, v := range vs {
				if v.Name == d.String() {
					at := w.sim.Now().Add(-age)
					if err := w.sim.SetVersionTimes("acme", "container", p, ghsim.VersionRef{ID: v.ID}, at, at, time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			return d.String()
		}
		want[p] = map[string]bool{push("latest", 1*day, "latest"): true, push("v1", 5*day, "v1"): true}
		gone[p] = map[string]bool{push("pr", 3*day, "pr-7"): true}
		if i%2 == 0 {
			gone[p][push("untagged", 4*day)] = true
		}
	}
	if err := w.sim.WaitDeliveries(context.Background()); err != nil {
		t.Fatal(err)
	}
	// One real registry_package delivery per package, as the simulator
	// signed it: the storm resends these bodies under new delivery ids.
	bodies := map[string]heldDelivery{}
	w.mu.Lock()
	for _, d := range w.held {
		if d.header.Get("X-GitHub-Event") != "registry_package" {
			continue
		}
		var ev struct {
			Package struct {
				Name string `json:"name"`
			} `json:"registry_package"`
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		bodies[ev.Package.Name] = d
	}
	w.held = nil
	w.mu.Unlock()
	for _, p := range pkgs {
		if _, ok := bodies[p]; !ok {
			t.Fatalf("no registry_package webhook for %s", p)
		}
	}
	t.Logf("world: %d packages, %d deletions planned, built in %v", len(pkgs), countAll(gone), time.Since(began).Round(time.Millisecond))

	// The cluster.
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.jsonl")
	killed := map[int]time.Time{} // pid of a SIGKILLed serve → when
	nodes := startNATSCluster(t, buildClusterNATS(t), dir)
	nc, err := nats.Connect(clusterURL(nodes), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	// Faults and the budget from here on.
	if err := w.sim.SetRateLimits(ghsim.RateLimits{SecondaryPoints: 300, SecondaryWindow: sc.secondaryWindow}); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetFaults(ghsim.Faults{ErrorRate: 0.05, Latency: 10 * time.Millisecond, Jitter: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	base := map[string]string{
		"PKGWARDEN_WEBHOOK_SECRET":   w.sim.WebhookSecret(),
		"PKGWARDEN_APP_ID":           strconv.FormatInt(w.sim.AppID(), 10),
		"PKGWARDEN_APP_SLUG":         ghsim.AppSlug,
		"PKGWARDEN_PRIVATE_KEY_PATH": w.keyPath,
		"PKGWARDEN_PACKAGES_TOKENS":  "acme=" + w.token,
		"PKGWARDEN_GITHUB_API_URL":   w.srv.URL + "/",
		"PKGWARDEN_REGISTRY_URL":     w.srv.URL,
		"PKGWARDEN_NATS_URL":         clusterURL(nodes),
		"PKGWARDEN_NATS_REPLICAS":    "3",
		"PKGWARDEN_LEASE_TTL":        "5s",
		"PKGWARDEN_JOB_BACKOFF":      "500ms",
		"PKGWARDEN_JOB_ATTEMPTS":     "10",
		"PKGWARDEN_PACING_POINTS":    strconv.Itoa(sc.pacingPoints),
		"PKGWARDEN_PACING_MUTATING":  strconv.Itoa(sc.pacingMutating),
		// The App's report writes get the same budget (each token has the
		// simulator's 300 points per window).
		"PKGWARDEN_PACING_APP_MUTATING": strconv.Itoa(sc.pacingMutating),
		// The real handlers, each run traced: the test checks from the
		// trace that no two runs for one package ever overlapped.
		"PKGWARDEN_TEST_TRACE": trace,
	}
	envFor := func(name, roles string) map[string]string {
		env := map[string]string{"PKGWARDEN_ROLES": roles, "PKGWARDEN_DATA_DIR": filepath.Join(dir, name)}
		for k, v := range base {
			env[k] = v
		}
		return env
	}
	envA, envB, envC := envFor("a", "web,worker"), envFor("b", "web,worker"), envFor("c", "scheduler,worker")
	// The first serve creates the R3 streams and buckets; it retries
	// until the cluster has a meta leader.
	webA := clusterServe(t, envA)
	var procMu sync.Mutex
	webB := clusterServe(t, envB)
	sched := clusterServe(t, envC)
	var all []*proc
	all = append(all, webA, webB, sched)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		procMu.Lock()
		defer procMu.Unlock()
		for i, p := range all {
			t.Logf("--- serve %d (%s) log (tail) ---\n%s", i, p.addr, tail(p.log(), 6000))
		}
	})
	t.Logf("cluster and serve processes up at %v", time.Since(began).Round(time.Millisecond))
	for _, s := range []string{queue.StreamWebhooks, queue.StreamJobs, queue.StreamDeadLetters, "KV_" + queue.BucketLeases} {
		info, err := streamInfo(js, s)
		if err != nil {
			t.Fatalf("stream %s: %v", s, err)
		}
		if info.Config.Replicas != 3 {
			t.Errorf("stream %s has %d replicas, want 3", s, info.Config.Replicas)
		}
	}

	// The storm.
	webs := func() []*proc {
		procMu.Lock()
		defer procMu.Unlock()
		return []*proc{webA, webB}
	}
	var accepted, duplicates, refused, sent atomic.Int64
	client := &http.Client{Timeout: 30 * time.Second}
	deliver := func(i int, id, pkg string) {
		held := bodies[pkg]
		for attempt := 0; ; attempt++ {
			targets := webs()
			p := targets[(i+attempt)%2]
			req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/webhooks", bytes.NewReader(held.body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = held.header.Clone()
			req.Header.Set("X-GitHub-Delivery", id)
			resp, err := client.Do(req)
			status := 0
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			switch status {
			case http.StatusAccepted:
				accepted.Add(1)
				return
			case http.StatusOK:
				duplicates.Add(1)
				return
			}
			// As GitHub's redelivery would: try again, on the other
			// process, a little later.
			refused.Add(1)
			if attempt > 50 {
				t.Errorf("delivery %s never answered 2xx (last %d, %v)", id, status, err)
				return
			}
			time.Sleep(100 * time.Millisecond) // on purpose: a redelivery comes a little later
		}
	}
	type delivery struct {
		i       int
		id, pkg string
	}
	work := make(chan delivery)
	var senders sync.WaitGroup
	for range 8 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for d := range work {
				deliver(d.i, d.id, d.pkg)
				sent.Add(1)
			}
		}()
	}
	// Kill one NATS node and web B at 40% of the storm, restart them at 60%.
	chaos := make(chan struct{})
	go func() {
		defer close(chaos)
		// In this goroutine no Fatal, and no limit: the senders are
		// bounded by their attempts.
		waitSent := func(n int64) {
			for sent.Load() < n {
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitSent(int64(sc.webhooks) * 4 / 10)
		victim := nodes[1]
		killedAt := time.Now()
		victim.kill()
		procMu.Lock()
		b := webB
		procMu.Unlock()
		killed[b.cmd.Process.Pid] = time.Now()
		b.kill()
		t.Logf("SIGKILLed %s and serve b (web,worker) after %d deliveries", victim, sent.Load())
		waitSent(int64(sc.webhooks) * 6 / 10)
		// Down long enough for the others to notice and elect new leaders.
		time.Sleep(time.Until(killedAt.Add(8 * time.Second)))
		victim.start(t)
		t.Logf("restarted %s after %d deliveries; restarting serve b", victim, sent.Load())
		nb := clusterServe(t, envB)
		procMu.Lock()
		webB = nb
		all = append(all, nb)
		procMu.Unlock()
		t.Logf("serve b ready again after %d deliveries", sent.Load())
	}()
	rng := rand.New(rand.NewPCG(8, 8))
	stormStart := time.Now()
	pace := time.NewTicker(sc.every)
	defer pace.Stop()
	var ids []string
	for i := range sc.webhooks {
		// Originals go round the packages, so each gets its share.
		pkg := pkgs[len(ids)%len(pkgs)]
		id := fmt.Sprintf("cluster-%05d", len(ids))
		// 10% redeliveries: an earlier delivery again, same id and body.
		if i%10 == 9 && len(ids) > 0 {
			id = ids[rng.IntN(len(ids))]
			n, _ := strconv.Atoi(strings.TrimPrefix(id, "cluster-"))
			pkg = pkgs[n%len(pkgs)]
		} else {
			ids = append(ids, id)
		}
		work <- delivery{i: i, id: id, pkg: pkg}
		// Paced, so that the kills and restarts land while webhooks
		// still arrive.
		<-pace.C
	}
	close(work)
	senders.Wait()
	<-chaos
	stormTook := time.Since(stormStart)
	t.Logf("storm of %d deliveries took %v", sc.webhooks, stormTook.Round(time.Millisecond))

	// Drain.
	q := &queue.Queue{NC: nc, JS: js}
	for _, s := range []struct {
		name string
		into *jetstream.Stream
	}{{queue.StreamWebhooks, &q.Webhooks}, {queue.StreamJobs, &q.Jobs}, {queue.StreamDeadLetters, &q.DeadLetters}} {
		st, err := js.Stream(context.Background(), s.name)
		if err != nil {
			t.Fatalf("stream %s: %v", s.name, err)
		}
		*s.into = st
	}
	leases, err := js.KeyValue(context.Background(), queue.BucketLeases)
	if err != nil {
		t.Fatal(err)
	}
	drainStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), sc.drain)
	defer cancel()
	allGone := func() bool {
		for p, g := range gone {
			active := activeDigests(t, w, p)
			for d := range g {
				if active[d] {
					return false
				}
			}
		}
		return true
	}
	var idle bool
	drained := testwait.Until(sc.drain, func() bool {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		idle, err = queueIdle(cctx, q, leases)
		ccancel()
		return err == nil && idle && allGone()
	})
	if !drained {
		var left []string
		for p, g := range gone {
			active := activeDigests(t, w, p)
			for d := range g {
				if active[d] {
					left = append(left, p+"@"+d[:19])
				}
			}
		}
		t.Fatalf("not drained after %v: idle %t (%v), planned deletions not done %v; %s", sc.drain, idle, err, left, queueState(js))
	}
	drainTook := time.Since(drainStart)
	if err := w.sim.SetFaults(ghsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetRateLimits(ghsim.RateLimits{}); err != nil {
		t.Fatal(err)
	}

	// No two runs for one package overlapped, and every run ended (or
	// died with its process).
	tr, problems, err := checkTrace(trace, killed)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	// Nothing dead-lettered.
	if n, err := queue.CountMessages(context.Background(), q.DeadLetters); err != nil || n != 0 {
		t.Errorf("dead-letter stream holds %d messages (%v), want 0", n, err)
	}
	// Exactly the planned versions gone, every kept tag pulls whole.
	for _, p := range pkgs {
		active := activeDigests(t, w, p)
		for d := range want[p] {
			if !active[d] {
				t.Errorf("%s: kept version %s was deleted", p, d)
			}
		}
		for d := range gone[p] {
			if active[d] {
				t.Errorf("%s: planned version %s still there", p, d)
			}
		}
		if len(active) != len(want[p]) {
			t.Errorf("%s: %d versions active, want %d", p, len(active), len(want[p]))
		}
		clusterPullable(t, w, p)
	}
	// No run reported twice; one report issue per package at most.
	issues, err := w.sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`<!-- pkgwarden:run (\S+) -->`)
	titles := map[string]int{}
	runs := 0
	for _, is := range issues {
		titles[is.Title]++
		seen := map[string]bool{}
		for _, c := range is.Comments {
			m := marker.FindStringSubmatch(c.Body)
			if m == nil {
				continue
			}
			runs++
			if seen[m[1]] {
				t.Errorf("%s: run %s reported twice", is.Title, m[1])
			}
			seen[m[1]] = true
		}
	}
	for title, n := range titles {
		if n > 1 {
			t.Errorf("%d issues titled %q, want 1", n, title)
		}
	}

	// Figures.
	var retried, succeeded, busy int
	for _, p := range append(webs(), sched) {
		m := p.get(t, "/metrics")
		retried += metricSum(m, `pkgwarden_jobs_total{result="retry",type="prune"}`)
		succeeded += metricSum(m, `pkgwarden_jobs_total{result="success",type="prune"}`)
		busy += metricSum(m, `pkgwarden_jobs_total{result="busy",type="prune"}`)
	}
	fs := w.sim.FaultStats()
	t.Logf("CLUSTER FIGURES: webhooks sent %d for %d packages; deliveries accepted (202) %d; duplicates recognised (200) %d; "+
		"attempts refused or cut off and resent %d; job runs traced %d (failed and retried %d, cut off by the kill %d, most for one package %d), "+
		"no two runs for one package overlapping; prune jobs on live processes succeeded %d, retried %d, busy %d; "+
		"run comments %d; simulator faults injected %d; storm %v; time to drain %v; whole test %v",
		sc.webhooks, sc.packages, accepted.Load(), duplicates.Load(), refused.Load(), tr.runs, tr.failed, tr.cut, tr.mostForOne,
		succeeded, retried, busy,
		runs, fs.Injected(), stormTook.Round(time.Millisecond), drainTook.Round(time.Millisecond), time.Since(began).Round(time.Second))
	if got, unique := accepted.Load(), int64(len(ids)); got > unique {
		t.Errorf("%d deliveries answered 202, more than the %d unique ids: a duplicate was taken as new", got, unique)
	}
	if accepted.Load()+duplicates.Load() != int64(sc.webhooks) {
		t.Errorf("%d accepted + %d duplicates, want %d deliveries answered 2xx", accepted.Load(), duplicates.Load(), sc.webhooks)
	}
}

// clusterServe starts serve and waits until its workers are up too (the
// HTTP server answers before the worker's buckets are open).
func clusterServe(t *testing.T, env map[string]string) *proc {
	t.Helper()
	p := startServe(t, env)
	testwait.For(t, "serve ready", 60*time.Second, func() bool { return strings.Contains(p.log(), `"msg":"pkgwarden ready"`) })
	return p
}

// queueState describes the streams and their consumers, for a failure.
func queueState(js jetstream.JetStream) string {
	var out []string
	for _, name := range []string{queue.StreamWebhooks, queue.StreamJobs, queue.StreamDeadLetters} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := js.Stream(ctx, name)
		if err != nil {
			cancel()
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		info, err := st.Info(ctx)
		if err != nil {
			cancel()
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		line := fmt.Sprintf("%s: %d msgs, leader %s", name, info.State.Msgs, info.Cluster.Leader)
		for c := range st.ListConsumers(ctx).Info() {
			line += fmt.Sprintf("; consumer %s: pending %d, ack pending %d, redelivered %d, waiting pulls %d, leader %s",
				c.Name, c.NumPending, c.NumAckPending, c.NumRedelivered, c.NumWaiting, c.Cluster.Leader)
		}
		cancel()
		out = append(out, line)
	}
	return strings.Join(out, " | ")
}

func countAll(m map[string]map[string]bool) int {
	n := 0
	for _, s := range m {
		n += len(s)
	}
	return n
}

func streamInfo(js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Info(ctx)
}

func activeDigests(t *testing.T, w *e2e, pkg string) map[string]bool {
	t.Helper()
	vs, err := w.sim.Versions("acme", "container", pkg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range vs {
		if !v.Deleted {
			out[v.Name] = true
		}
	}
	return out
}

// clusterPullable is the safety invariant for one package: every tag of an
// active version pulls, with every manifest it references.
func clusterPullable(t *testing.T, w *e2e, pkg string) {
	t.Helper()
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: w.token})}
	host := strings.TrimPrefix(w.srv.URL, "http://")
	vs, err := w.sim.Versions("acme", "container", pkg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Deleted {
			continue
		}
		for _, tag := range v.Tags {
			ref, err := name.NewTag(host+"/acme/"+pkg+":"+tag, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(ref, opts...)
			if err != nil {
				t.Errorf("%s:%s does not pull: %v", pkg, tag, err)
				continue
			}
			w.pullTree(ref.Context(), desc.Descriptor, pkg+":"+tag, opts)
		}
	}
}

// metricSum is the value of one series in a Prometheus text exposition.
func metricSum(exposition, series string) int {
	for _, l := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return int(f)
			}
		}
	}
	return 0
}

// traceFigures sums up a PKGWARDEN_TEST_TRACE file.
type traceFigures struct {
	runs, failed, cut, mostForOne int
}

// checkTrace reads the runs that every serve process traced and returns a
// problem for every two runs holding the same package that overlapped in
// time (across processes too: they share this machine's clock), and for
// every run of a process that was not killed that never ended. A run cut
// off by a SIGKILL is taken to have lasted until the kill.
func checkTrace(path string, killed map[int]time.Time) (traceFigures, []string, error) {
	var f traceFigures
	var problems []string
	data, err := os.ReadFile(path)
	if err != nil {
		return f, nil, fmt.Errorf("trace: %w", err)
	}
	type key struct {
		pid int
		run int64
	}
	type span struct {
		key
		lease      string
		start, end time.Time
		ended      bool
	}
	spans := map[key]*span{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var l traceLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return f, nil, fmt.Errorf("trace line %d %q: %w", i+1, line, err)
		}
		k := key{l.PID, l.Run}
		sp := spans[k]
		if sp == nil {
			sp = &span{key: k, lease: l.Lease}
			spans[k] = sp
		}
		switch l.Event {
		case "start":
			sp.start = l.At
		case "end":
			sp.end, sp.ended = l.At, true
			if l.Err != "" {
				f.failed++
			}
		}
	}
	byLease := map[string][]*span{}
	for _, sp := range spans {
		if sp.start.IsZero() {
			problems = append(problems, fmt.Sprintf("trace: run %d of pid %d ended without a start", sp.run, sp.pid))
			continue
		}
		if !sp.ended {
			at, ok := killed[sp.pid]
			if !ok {
				problems = append(problems, fmt.Sprintf("trace: run %d of pid %d on %s started at %s and never ended",
					sp.run, sp.pid, sp.lease, sp.start.Format(time.StampMilli)))
				continue
			}
			sp.end = at
			f.cut++
		}
		byLease[sp.lease] = append(byLease[sp.lease], sp)
	}
	f.runs = len(spans)
	for lease, ss := range byLease {
		f.mostForOne = max(f.mostForOne, len(ss))
		sort.Slice(ss, func(i, j int) bool { return ss[i].start.Before(ss[j].start) })
		for i := 1; i < len(ss); i++ {
			prev, cur := ss[i-1], ss[i]
			if cur.start.Before(prev.end) {
				problems = append(problems, fmt.Sprintf("%s: run %d of pid %d (%s–%s) overlaps run %d of pid %d (%s–%s)", lease,
					cur.run, cur.pid, cur.start.Format(time.StampMilli), cur.end.Format(time.StampMilli),
					prev.run, prev.pid, prev.start.Format(time.StampMilli), prev.end.Format(time.StampMilli)))
			}
			if cur.end.Before(prev.end) {
				// Keep the latest end so that a long run is compared with
				// every later one.
				cur.end = prev.end
			}
		}
	}
	sort.Strings(problems)
	return f, problems, nil
}
