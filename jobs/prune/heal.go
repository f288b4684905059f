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

// healable reports whether the plan found a kept image missing a part
// healing can bring back (Decision.Broken: deleted, still listed, under
// restore.broken). A deleted signature or attestation tagged after its
// subject is named by no manifest: the sweep's restore job finds those.
func healable(d rules.Decision) bool {
	for _, b := range d.Broken {
		if !b.Heals {
			continue
		}
		for _, m := range b.Missing {
			if m.State == rules.ChildDeleted {
				return true
			}
		}
	}
	return false
}
