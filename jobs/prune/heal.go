package prune

import (
	"context"
	"log/slog"
	"time"

	"github.com/pkgwarden/pkgwarden/jobs"
)

// queueHeal queues a restore job for the package of a prune run that
// acted on its rules (pruned, or found nothing to do), once the run is
// reported: the restore job heals the package's broken images
// (restore.broken, jobs/restore/heal.go) under the package's lease, so it
// runs after this prune released it and never beside another heal. A
// restore job already waiting for the package (the sweep's) is replaced
// by this one (jobs.Publish). A paused or dry run queues nothing; a
// failure to queue is logged, not retried: the next sweep heals as well.
func (p *Pruner) queueHeal(ctx context.Context, log *slog.Logger, job jobs.Job, run Run) {
	if p.cfg.HealQueue == nil || p.cfg.Paused || !run.Package.IsContainer() {
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
