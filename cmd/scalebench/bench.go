package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkgwarden/pkgwarden/internal/benchproc"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/scaleworld"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
	"github.com/pkgwarden/pkgwarden/queue"
)

// result is what a run measured.
type result struct {
	Spec       scaleworld.Spec
	Seeded     time.Duration // the simulator's start, seeding included
	Started    time.Duration // serve's first start until ready
	Cold, Warm sweepFigures
	StoreBytes int64
	Restart    time.Duration // serve killed, started again, until ready
	// StartHWMKiB is serve's peak RSS before the first sweep.
	StartHWMKiB int64
	Expected    expected
	End         endState
	Cores       int
	Load        string
}

// sweepFigures are one sweep's.
type sweepFigures struct {
	Label    string
	Queued   int
	Took     time.Duration
	HWMKiB   int64
	HWMReset bool
	Routes   ghsim.RouteStats
	// Jobs are serve's pkgwarden_jobs_total during the sweep, by
	// "type/result".
	Jobs        map[string]float64
	DeadLetters uint64
}

func run(ctx context.Context, cfg config, out io.Writer) (result, error) {
	spec := scaleworld.Spec{Packages: cfg.Packages, Versions: cfg.Versions, Seed: cfg.Seed}
	res := result{Spec: spec, Cores: numCPU()}
	if err := spec.Validate(); err != nil {
		return res, err
	}
	tmp, err := os.MkdirTemp("", "scalebench-")
	if err != nil {
		return res, err
	}
	if cfg.Keep {
		fmt.Fprintf(out, "temp dir (kept): %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin, err := benchproc.BuildPkgwarden(cfg.Bin, tmp)
	if err != nil {
		return res, err
	}
	// The expected end state, computed while the simulator seeds.
	expCh := make(chan expected, 1)
	go func() { expCh <- expect(spec) }()

	start := time.Now()
	sim, info, err := startSim(ctx, bin, tmp, spec)
	if err != nil {
		return res, err
	}
	defer sim.stop(syscall.SIGTERM)
	res.Seeded = time.Since(start)
	fmt.Fprintf(out, "simulator: %s, seeded %s (%d versions in %d packages, %d repositories) and ready in %s\n",
		info.APIURL, info.Scale.Spec, info.Scale.Versions, info.Scale.Packages, info.Scale.Repositories, res.Seeded.Round(time.Millisecond))

	addr, err := benchproc.FreePort()
	if err != nil {
		return res, err
	}
	natsAddr, err := benchproc.FreePort()
	if err != nil {
		return res, err
	}
	dataDir := filepath.Join(tmp, "data")
	env := serveEnv(cfg, info, addr, natsAddr, dataDir)
	serve, took, err := startServe(ctx, bin, env, addr, filepath.Join(tmp, "serve.log"))
	if err != nil {
		return res, err
	}
	defer func() { serve.stop(syscall.SIGTERM) }()
	res.Started = took
	res.StartHWMKiB, _ = benchproc.StatusKiB(serve.pid(), "VmHWM")
	fmt.Fprintf(out, "serve: pid %d, ready in %s; pacing %d deletions+restores/min, %d points/min, %d App writes/min; %d workers\n",
		serve.pid(), took.Round(time.Millisecond), cfg.Mutating, cfg.Points, cfg.AppMutating, cfg.Workers)
	if cfg.ServeMemLimit != "" {
		fmt.Fprintf(out, "serve: GOMEMLIMIT=%s\n", cfg.ServeMemLimit)
	}

	sched, q, err := openScheduler(ctx, cfg, info, natsAddr)
	if err != nil {
		return res, err
	}
	defer q.NC.Close()
	res.Expected = <-expCh

	for _, label := range []string{"cold", "warm"} {
		f, err := sweepOnce(ctx, cfg, label, sched, q, serve, info, addr)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(out, "%s sweep: %d jobs queued, drained in %s\n", label, f.Queued, f.Took.Round(time.Millisecond))
		if label == "cold" {
			res.Cold = f
		} else {
			res.Warm = f
		}
	}
	q.NC.Close()

	// The store, then a restart on it: killed as a crash would, started
	// again, until ready.
	if res.StoreBytes, err = dirBytes(dataDir); err != nil {
		return res, err
	}
	serve.stop(syscall.SIGKILL)
	serve, res.Restart, err = startServe(ctx, bin, env, addr, filepath.Join(tmp, "serve-restart.log"))
	if err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	serve.stop(syscall.SIGTERM)

	res.End = checkEnd(ctx, cfg, info, res.Expected)
	res.Load = loadAvg()
	report(out, cfg, res)
	return res, nil
}

// openScheduler connects to serve's NATS server as another replica would
// and opens the scheduler its scheduler role runs (cmd/pkgwarden's
// newScheduler): installations listed as the App, packages with the
// owner's token, both paced through serve's pacing bucket.
func openScheduler(ctx context.Context, cfg config, info simInfo, natsAddr string) (*sweep.Scheduler, *queue.Queue, error) {
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to serve's NATS: %w", err)
	}
	q, err := queue.Setup(ctx, nc, queue.DefaultConfig(), "scalebench")
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	fail := func(err error) (*sweep.Scheduler, *queue.Queue, error) {
		nc.Close()
		return nil, nil, err
	}
	pkv, err := pacing.CreateBucket(ctx, q.JS, 1)
	if err != nil {
		return fail(err)
	}
	pacer, err := pacing.New(pkv, pacing.Config{Points: cfg.Points, Mutating: cfg.Mutating})
	if err != nil {
		return fail(err)
	}
	key, err := os.ReadFile(info.PrivateKeyPath)
	if err != nil {
		return fail(err)
	}
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: info.AppID, PrivateKey: key, BaseURL: info.APIURL,
		Transport: githubapi.NewTransport(pacer.Wrap(nil), githubapi.RetryPolicy{}, nil)})
	if err != nil {
		return fail(err)
	}
	tokens, err := githubapi.ParsePackagesTokens(info.Scale.Org+"="+info.Scale.Token, "")
	if err != nil {
		return fail(err)
	}
	inv, err := inventory.Open(ctx, q.JS, 1, nil)
	if err != nil {
		return fail(err)
	}
	sched, err := sweep.Open(ctx, q, sweep.Config{
		Holder: "scalebench", Interval: time.Hour,
		Access: &planner.Access{App: app, Tokens: tokens, APIURL: info.APIURL, RegistryURL: info.RegistryURL,
			PackagesTransport: githubapi.NewTransport(pacer.Wrap(nil), githubapi.RetryPolicy{}, nil)},
		Inventory: sweep.InventoryPackages{Store: inv}, Replicas: 1, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return fail(err)
	}
	return sched, q, nil
}

// sweepOnce runs one sweep, SweepNow to drained, and collects its
// figures: the simulator's request counters are zeroed before it and
// serve's peak RSS reset.
func sweepOnce(ctx context.Context, cfg config, label string, sched *sweep.Scheduler, q *queue.Queue, serve *proc, info simInfo, addr string) (sweepFigures, error) {
	f := sweepFigures{Label: label}
	if err := simAdmin(http.MethodDelete, info.APIURL+"_admin/requests", nil); err != nil {
		return f, err
	}
	jobsBefore, err := jobCounts(addr)
	if err != nil {
		return f, err
	}
	f.HWMReset = benchproc.ResetPeakRSS(serve.pid())
	start := time.Now()
	if f.Queued, err = sched.SweepNow(ctx); err != nil {
		return f, fmt.Errorf("%s sweep: %w", label, err)
	}
	cons, err := q.JS.Consumer(ctx, queue.StreamJobs, queue.ConsumerWorkers)
	if err != nil {
		return f, err
	}
	var state string
	err = until(ctx, serve, cfg.SweepLimit, label+" sweep drained", func() (bool, error) {
		msgs, err := queue.CountMessages(ctx, q.Jobs)
		if err != nil {
			return false, err
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			return false, err
		}
		state = fmt.Sprintf("%d jobs in the stream, %d pending, %d unacknowledged", msgs, ci.NumPending, ci.NumAckPending)
		return msgs == 0 && ci.NumPending == 0 && ci.NumAckPending == 0, nil
	})
	f.Took = time.Since(start)
	if err != nil {
		return f, fmt.Errorf("%w (%s)", err, state)
	}
	if f.HWMKiB, err = benchproc.StatusKiB(serve.pid(), "VmHWM"); err != nil {
		return f, err
	}
	var answer struct {
		Routes []struct {
			Route string `json:"route"`
			ghsim.RouteCount
		} `json:"routes"`
	}
	if err := simAdmin(http.MethodGet, info.APIURL+"_admin/requests", &answer); err != nil {
		return f, err
	}
	f.Routes = ghsim.RouteStats{}
	for _, r := range answer.Routes {
		f.Routes[r.Route] = r.RouteCount
	}
	jobsAfter, err := jobCounts(addr)
	if err != nil {
		return f, err
	}
	f.Jobs = map[string]float64{}
	for k, v := range jobsAfter {
		if d := v - jobsBefore[k]; d != 0 {
			f.Jobs[k] = d
		}
	}
	if f.DeadLetters, err = queue.CountMessages(ctx, q.DeadLetters); err != nil {
		return f, err
	}
	return f, nil
}

// simAdmin calls one of the simulator's /_admin/ routes and decodes its
// answer into v (unless nil).
func simAdmin(method, url string, v any) error {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// jobCounts reads serve's pkgwarden_jobs_total as "type/result" → count.
func jobCounts(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		labels, ok := strings.CutPrefix(sc.Text(), "pkgwarden_jobs_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(labels, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		var typ, res string
		for _, l := range strings.Split(labels, ",") {
			k, val, _ := strings.Cut(l, "=")
			switch k {
			case "type":
				typ = strings.Trim(val, `"`)
			case "result":
				res = strings.Trim(val, `"`)
			}
		}
		out[typ+"/"+res] += v
	}
	return out, sc.Err()
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
