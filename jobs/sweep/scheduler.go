// Package sweep is pkgwarden's scheduler: one leader among the replicas
// (campaigning through queue.Elector) sweeps every installation's packages
// on an interval, queueing a prune and a restore job for each on the jobs
// runtime, and asks GitHub to redeliver the webhooks the intake missed.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
)

// DefaultLeaseTTL is how long a dead leader keeps the lease.
const DefaultLeaseTTL = 15 * time.Second

// Buckets and keys of the scheduler.
const (
	// BucketScheduler holds the leader lease (queue.Elector); its TTL is
	// the lease TTL, so the key of a leader that died disappears by
	// itself.
	BucketScheduler = "scheduler"
	// BucketSchedulerState holds what must outlive a leader: the sweep's
	// progress and the record of every leadership period. No TTL.
	BucketSchedulerState = "scheduler_state"
	// BucketRedeliveries remembers the delivery guids the sweep asked
	// GitHub to redeliver, so none is redelivered twice.
	BucketRedeliveries = "redeliveries"

	sweepStateKey = "sweep"
)

// DeliveryRetention is how long GitHub keeps hook deliveries; older ones
// cannot be redelivered and are ignored.
const DeliveryRetention = 72 * time.Hour

// PackageInventory lists the packages pkgwarden has seen for an
// installation, deleted ones included: GitHub's package listings show
// only active packages, so a deleted package is found only here. The
// restore work (internal/inventory) provides it: InventoryPackages.
type PackageInventory interface {
	PackagesSeen(ctx context.Context, installationID int64) ([]webhook.Target, error)
}

// InventoryPackages is the PackageInventory of an inventory store: every
// package it saw for the installation, as a sweep target.
type InventoryPackages struct{ Store *inventory.Store }

// PackagesSeen implements PackageInventory.
func (p InventoryPackages) PackagesSeen(ctx context.Context, installationID int64) ([]webhook.Target, error) {
	pkgs, err := p.Store.Packages(ctx, installationID, "")
	if err != nil {
		return nil, fmt.Errorf("inventory of installation %d: %w", installationID, err)
	}
	out := make([]webhook.Target, 0, len(pkgs))
	for _, pk := range pkgs {
		out = append(out, webhook.Target{InstallationID: installationID, Owner: pk.Owner,
			PackageType: pk.Type, PackageName: pk.Name, Repository: pk.Repository})
	}
	return out, nil
}

// Config configures the scheduler.
type Config struct {
	// Holder names this process in the lease and the leadership record.
	Holder string
	// LeaseTTL is how long the lease outlives a dead leader (default
	// DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Interval is the time between sweep starts (required); each sweep
	// spreads its jobs over it.
	Interval time.Duration
	// Access is the way to GitHub (required): its App lists installations
	// and hook deliveries with its JWT; the owners' packages tokens list
	// packages (an owner without one is skipped: its prune job reports
	// that); its clock is the clock of recorded times and ages.
	Access *planner.Access
	// Inventory, when set, adds the packages seen before, deleted ones
	// included, to the restore jobs of each sweep.
	Inventory PackageInventory
	// TokenProblems, when set, is told when GitHub does not accept an
	// owner's packages token for a listing (*report.Reporter: the owner's
	// token-problem issue).
	TokenProblems TokenProblems
	// Replicas of the scheduler's buckets (1 or 3).
	Replicas int
	Logger   *slog.Logger
}

// TokenProblems tells an owner what GitHub said about its packages token.
type TokenProblems interface {
	TokenProblem(ctx context.Context, installation int64, owner, repo string, p report.TokenProblem) (report.Result, error)
}

var _ TokenProblems = (*report.Reporter)(nil)

// Scheduler elects a leader among the replicas and, while leading, sweeps
// every installation each interval and redelivers failed webhooks
// (DESIGN.md, "Flow" step 5).
//
// The election is a queue.Elector: its lease is a key in the
// BucketScheduler KV bucket, whose TTL is the lease TTL, and every term is
// recorded in BucketSchedulerState (queue.LeadershipPeriods); its doc says
// what the lease guarantees. Before every batch of work (one package's
// jobs, one redelivery) the leader checks it still leads (Elector.Check).
// What remains is the time between that check and the publish that
// follows it: a process paused exactly there for longer than the TTL acts
// once more after its successor started. The overlap is bounded by one
// batch, and its effects are harmless by construction: a job queued twice
// coalesces into one pending message per package and job type, and jobs
// of one package never run concurrently (the per-package lease); a
// redelivery is claimed in BucketRedeliveries with a create-if-absent
// write before it is sent, so no guid is redelivered twice whoever leads.
// Sweep progress is written at the revision read, so a stale leader's
// progress write fails instead of clobbering.
type Scheduler struct {
	q      *queue.Queue
	cfg    Config
	now    func() time.Time // the Access's clock
	log    *slog.Logger
	state  jetstream.KeyValue
	redone jetstream.KeyValue
	el     *queue.Elector
}

// Open creates the scheduler's buckets (idempotently) and returns
// the scheduler; Run starts it.
func Open(ctx context.Context, q *queue.Queue, cfg Config) (*Scheduler, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("scheduler: sweep interval %s must be positive", cfg.Interval)
	}
	if cfg.Access == nil || cfg.Access.App == nil {
		return nil, errors.New("scheduler: the GitHub App is required (installations are listed with its JWT)")
	}
	if err := cfg.Access.Check(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL < 300*time.Millisecond {
		return nil, fmt.Errorf("scheduler: lease TTL %s is too short", cfg.LeaseTTL)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lease, err := q.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketScheduler,
		Description: "the scheduler leader's lease; expires TTL after its last refresh",
		TTL:         cfg.LeaseTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketScheduler, err)
	}
	state, err := q.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketSchedulerState,
		Description: "sweep progress and leadership periods",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketSchedulerState, err)
	}
	redone, err := q.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketRedeliveries,
		Description: "webhook delivery guids the sweep redelivered",
		// Longer than GitHub keeps deliveries: a guid can never be seen
		// again once its entry expires.
		TTL:      2 * DeliveryRetention,
		Storage:  jetstream.FileStorage,
		Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketRedeliveries, err)
	}
	log := cfg.Logger.With("component", "scheduler")
	return &Scheduler{
		q: q, cfg: cfg, now: cfg.Access.Clock(), log: log, state: state, redone: redone,
		el: queue.NewElector(lease, state, cfg.Holder, cfg.LeaseTTL, cfg.Access.Clock(), log),
	}, nil
}

// Elector returns the scheduler's part in the leader election.
func (s *Scheduler) Elector() *queue.Elector { return s.el }

// State returns the bucket holding sweep progress and leadership periods.
func (s *Scheduler) State() jetstream.KeyValue { return s.state }

// Run campaigns for leadership and sweeps while leading, until ctx ends;
// the lease is released on the way out.
func (s *Scheduler) Run(ctx context.Context) {
	s.el.Run(ctx, s.lead)
}

// lead sweeps each interval until leadership ends.
func (s *Scheduler) lead(ctx context.Context) {
	for ctx.Err() == nil {
		st, rev, err := s.loadState(ctx)
		if err != nil {
			s.log.Warn("scheduler: read sweep state", "err", err)
			clock.Sleep(ctx, s.retryDelay())
			continue
		}
		if st.Started.IsZero() || !st.InProgress {
			if due := st.Started.Add(s.cfg.Interval); !st.Started.IsZero() && s.now().Before(due) {
				clock.Sleep(ctx, due.Sub(s.now()))
				continue
			}
			st = State{
				InProgress: true, Started: s.now().UTC(), DeliveriesScanned: st.DeliveriesScanned,
				LastCompleted: st.LastCompleted, LastStarted: st.LastStarted, LastQueued: st.LastQueued,
			}
			if rev, err = s.saveState(ctx, st, rev); err != nil {
				s.log.Warn("scheduler: start sweep", "err", err)
				clock.Sleep(ctx, s.retryDelay())
				continue
			}
		}
		if err := s.sweep(ctx, &st, &rev); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("scheduler: sweep failed; it continues where it stopped", "started", st.Started, "err", err)
				clock.Sleep(ctx, s.retryDelay())
			}
			continue
		}
	}
}

// retryDelay is the pause after a failed sweep step.
func (s *Scheduler) retryDelay() time.Duration {
	return min(s.cfg.Interval/10+time.Second/10, time.Minute)
}
