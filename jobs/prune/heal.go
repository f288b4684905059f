package prune

import (
	"context"
	"log/slog"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// queueHeal queues a restore job for the package of a prune run that
// acted on its rules (pruned, or found nothing to do) and saw a broken
// image, once the run is reported: the restore job heals the package's
// broken images (restore.broken, jobs/restore/heal.go) under the
// package's lease, so it runs after this prune released it and never
// beside another heal. It is a whole restore job, as the sweep's: one
// already waiting for the package is replaced by it (jobs.Publish), and
// nothing that one would have done is lost. A paused or dry run queues
// nothing; a failure to queue is logged, not retried: the sweep heals too.
func (p *Pruner) queueHeal(ctx context.Context, log *slog.Logger, job jobs.Job, run Run, broken bool) {
	if p.cfg.HealQueue == nil || p.cfg.Paused || !broken || !run.Package.IsContainer() {
		return
	}
	if run.Outcome != OutcomePruned && run.Outcome != OutcomeNothingToDo {
		return
	}
	heal := jobs.Job{Type: jobs.TypeRestore, Target: job.Target, Reason: "after prune", QueuedAt: time.Now()}
	if err := jobs.Publish(ctx, p.cfg.HealQueue, heal); err != nil {
		log.WarnContext(ctx, "prune: restore job to heal broken images not queued; the sweep's will heal", "err", err)
	}
}

// mayBeBroken reports whether a version the run keeps is an index naming
// a manifest the listing does not hold active (deleted, or gone): a broken
// image, seen in what the plan read anyway. A deleted signature or
// attestation tagged after its subject is named by no manifest: the
// sweep's restore job finds those.
func mayBeBroken(in rules.Input, d rules.Decision) bool {
	active := make(map[string]bool, len(in.Versions))
	for _, v := range in.Versions {
		active[v.Name] = true
	}
	for _, e := range d.Delete {
		active[e.Version] = false
	}
	for _, v := range in.Versions {
		if !active[v.Name] {
			continue
		}
		for _, c := range in.Graph.Manifests[v.Name].Children {
			if !active[c.Digest] {
				return true
			}
		}
	}
	return false
}
