package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
	"github.com/pkgwarden/pkgwarden/queue"
)

// newScheduler builds the scheduler of the scheduler role, or returns nil
// when the App is not configured: installations and hook deliveries are
// listed with the App's JWT, so there is nothing to sweep without it.
func newScheduler(ctx context.Context, s settings.Settings, q *queue.Queue, holder string, access *planner.Access, logger *slog.Logger) (*sweep.Scheduler, error) {
	if s.AppID == 0 {
		logger.Warn("PKGWARDEN_APP_ID is not set: the scheduler does not sweep (installations are listed as the App)")
		return nil, nil
	}
	if s.SweepInterval < time.Second {
		return nil, fmt.Errorf("PKGWARDEN_SWEEP_INTERVAL must be at least 1s, not %s", s.SweepInterval)
	}
	if s.SchedulerLeaseTTL != 0 && s.SchedulerLeaseTTL < time.Second {
		return nil, fmt.Errorf("PKGWARDEN_SCHEDULER_LEASE_TTL must be at least 1s, not %s", s.SchedulerLeaseTTL)
	}
	// Deleted packages are in no listing: the inventory of packages seen
	// (kept by prune and restore jobs) is how a sweep finds them.
	inv, err := inventory.Open(ctx, q.JS, s.NATSReplicas, nil)
	if err != nil {
		return nil, err
	}
	sched, err := sweep.Open(ctx, q, sweep.Config{
		Holder:   holder,
		LeaseTTL: s.SchedulerLeaseTTL,
		Interval: s.SweepInterval,
		// Package listings spend the owner's token like the workers do:
		// through the process's one Access, paced through the shared KV
		// bucket, so every replica shares one budget.
		Access:    access,
		Inventory: sweep.InventoryPackages{Store: inv},
		// A listing GitHub refuses for the token is the owner's to fix:
		// said in the owner's token-problem issue.
		TokenProblems: report.New(access.App, nil, logger, report.WithBot(botLogin(ctx, s, access.App, logger))),
		Replicas:      s.NATSReplicas,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("scheduler role: campaigning for leadership", "sweep_interval", s.SweepInterval.String(), "lease_ttl", s.SchedulerLeaseTTL.String())
	return sched, nil
}
