// Command scalebench measures pkgwarden at the scale of a large
// organisation, from outside: `pkgwarden sim` in a process of its own,
// seeded in bulk with --seed scale:PACKAGESxVERSIONS:SEED (package
// internal/scaleworld: per package signed multi-arch releases, pr-N
// builds, thousands of untagged builds, a few broken releases, and
// repository rules that delete about a tenth of the versions), and
// `pkgwarden serve` in another with its embedded NATS server (roles web
// and worker). scalebench itself takes the scheduler role, as another
// replica would, and runs one cold sweep and then one warm one
// (Scheduler.SweepNow: a prune and a restore job for every package, at
// once); a sweep ends when serve's jobs stream is drained (empty, nothing
// pending or unacknowledged).
//
//	go run ./cmd/scalebench -packages 1000 -versions 1000
//
// It reports serve's peak RSS (VmHWM of its process, reset before each
// sweep), the wall time of each sweep, the requests the simulator
// answered by kind (GET /_admin/requests) and how many count against
// GitHub's primary limit (REST API answers but 304s; the registry is not
// counted), the cold sweep's lower bound next to them, deletions a minute
// against the pacing budget, the NATS store's size on disk and the time
// serve takes to be ready again after a kill. It then checks the end
// state: in every package exactly the versions the rules delete are gone
// (and the broken release's restorable platform is back), and every kept
// tag of the first -pull-sample packages pulls, with every platform of
// an index (but the one gone for good). It prints a table and a last
// line with the figures, and exits 1 when the end state is wrong.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Packages, "packages", cfg.Packages, "container packages in the organisation")
	flag.IntVar(&cfg.Versions, "versions", cfg.Versions, "versions per package")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the world")
	flag.StringVar(&cfg.Bin, "pkgwarden", "", "pkgwarden binary (default: go build ./cmd/pkgwarden into a temp dir)")
	flag.IntVar(&cfg.Mutating, "mutating", cfg.Mutating, "pacing budget: deletions and restores a minute (PKGWARDEN_PACING_MUTATING)")
	flag.IntVar(&cfg.Points, "points", cfg.Points, "pacing budget: request points a minute, a read 1, a delete 5 (PKGWARDEN_PACING_POINTS)")
	flag.IntVar(&cfg.AppMutating, "app-mutating", cfg.AppMutating, "pacing budget: report issues and comments a minute (PKGWARDEN_PACING_APP_MUTATING)")
	flag.IntVar(&cfg.Workers, "workers", cfg.Workers, "serve's concurrent jobs (PKGWARDEN_WORKERS)")
	flag.IntVar(&cfg.PullSample, "pull-sample", cfg.PullSample, "pull every kept tag of the first N packages (0: all)")
	flag.DurationVar(&cfg.SweepLimit, "sweep-limit", cfg.SweepLimit, "longest wait for one sweep to drain")
	flag.StringVar(&cfg.ServeMemLimit, "serve-memlimit", "", "GOMEMLIMIT given to serve only, as a deployment sets it (e.g. 200MiB; empty: Go's default, a heap up to twice the live one)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the temp dir (logs, NATS store) and print its path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
	if !res.End.OK() {
		fmt.Fprintln(os.Stderr, "scalebench: the end state is wrong (see above)")
		os.Exit(1)
	}
}

// config is a run's size and budgets.
type config struct {
	Packages, Versions int
	Seed               uint64
	Bin                string
	// Pacing budgets per minute given to serve.
	Mutating, Points, AppMutating int
	Workers                       int
	PullSample                    int
	SweepLimit                    time.Duration
	// ServeMemLimit is serve's GOMEMLIMIT ("": unset).
	ServeMemLimit string
	Keep          bool
}

func defaultConfig() config {
	return config{
		Packages: 1000, Versions: 1000, Seed: 1,
		// Deletions at 30,000 a minute (BenchmarkSweep's budget), so that
		// a full-size cold sweep's ~100,000 deletions take about 3.5
		// minutes if the pacing is what bounds it; points far above the
		// reads (listings; the registry is not paced) and 5 per delete.
		Mutating: 30_000, Points: 1_000_000, AppMutating: 30_000,
		Workers: 4, PullSample: 100, SweepLimit: 2 * time.Hour,
	}
}
