package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
)

// RouterConfig configures the router.
type RouterConfig struct {
	// OwnBotLogin is the app's bot account ("name[bot]"); events it caused
	// are dropped so pkgwarden never reacts to its own issues and comments,
	// and only issues it wrote are reports. Empty when the App's slug is
	// unknown: then no issue is a report.
	OwnBotLogin string
	// Seal verifies the boxes of reports and restore comments: only those
	// pkgwarden wrote count. The zero Seal verifies none.
	Seal report.Seal
	// RetryDelay is how long a delivery waits after a transient failure.
	RetryDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Inventory is cleared for an installation that is deleted; nil
	// means there is none to clear.
	Inventory *inventory.Store
	// Events, when set, counts every package event per package, so a
	// running prune lists the package again only when something
	// happened to it (PackageEvents).
	Events *PackageEvents
}

// Router consumes the webhooks stream: it drops deliveries already
// processed, and turns the rest into jobs.
type Router struct {
	q   *queue.Queue
	cfg RouterConfig
	log *slog.Logger
}

// NewRouter returns a router reading q's webhooks stream.
func NewRouter(q *queue.Queue, cfg RouterConfig, logger *slog.Logger) *Router {
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Router{q: q, cfg: cfg, log: logger}
}

// Run routes deliveries until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	cons, err := r.q.JS.Consumer(ctx, queue.StreamWebhooks, queue.ConsumerRouter)
	if err != nil {
		return fmt.Errorf("router: consumer %s: %w", queue.ConsumerRouter, err)
	}
	pull(ctx, cons, r.log, "router", func(msg jetstream.Msg) {
		if err := r.Route(context.WithoutCancel(ctx), msg); err != nil {
			r.log.Warn("router: delivery will be retried", "err", err)
			_ = msg.NakWithDelay(r.cfg.RetryDelay)
			return
		}
		if err := msg.Ack(); err != nil {
			r.log.Warn("router: ack failed; the delivery will come again and be dropped as processed", "err", err)
		}
	})
	return nil
}

type processed struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
}

// Route handles one delivery. It returns an error only when trying again
// later may help; a delivery that can never be routed is logged and
// counted as processed.
func (r *Router) Route(ctx context.Context, msg jetstream.Msg) error {
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	event := strings.TrimPrefix(msg.Subject(), queue.WebhooksSubject+".")
	log := r.log.With("delivery", id, "event", event)
	if id == "" {
		log.Error("router: delivery without id dropped")
		return nil
	}
	key := queue.Key(id)
	if _, err := r.q.Deliveries.Get(ctx, key); err == nil {
		log.Info("router: delivery already processed, dropped")
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delivery %s: look up in %s: %w", id, queue.BucketDeliveries, err)
	}
	body, err := r.q.DeliveryBody(ctx, msg)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		log.Error("router: delivery whose stored body is gone (expired) dropped", "err", err)
		return nil
	} else if err != nil {
		return err
	}
	if err := r.route(ctx, log, id, event, body); err != nil {
		return err
	}
	val, _ := json.Marshal(processed{Event: event, At: r.cfg.Now().UTC()})
	if _, err := r.q.Deliveries.Put(ctx, key, val); err != nil {
		// The job is queued; a repeat of this delivery would only
		// coalesce with it. Retrying keeps the record honest.
		return fmt.Errorf("delivery %s: record as processed: %w", id, err)
	}
	if err := r.q.DropBody(ctx, msg); err != nil {
		log.Warn("router: stored body not deleted; its bucket's TTL will", "err", err)
	}
	return nil
}

func (r *Router) route(ctx context.Context, log *slog.Logger, id, event string, body []byte) error {
	env, err := webhook.DecodeEnvelope(body)
	if err != nil {
		log.Error("router: undecodable delivery dropped", "err", err)
		return nil
	}
	log = log.With("installation", env.InstallationID(), "owner", env.Owner(), "repo", env.RepositoryFullName(), "action", env.Action)
	if r.cfg.OwnBotLogin != "" && strings.EqualFold(env.SenderLogin(), r.cfg.OwnBotLogin) {
		log.Debug("router: own event ignored")
		return nil
	}
	switch event {
	case webhook.EventRegistryPackage, webhook.EventPackage:
		ev, err := webhook.DecodePackageEvent(event, body)
		if err != nil {
			log.Error("router: package event dropped", "err", err)
			return nil
		}
		target, targetErr := ev.Target()
		if targetErr == nil && r.cfg.Events != nil {
			// Counted first, whatever the action: a prune deleting this
			// package now lists it again before its next deletion group.
			// A failure retries the delivery: a lost count would leave
			// the re-check to the fallback interval.
			if err := r.cfg.Events.Bump(ctx, target.Ref(), event+" "+ev.Action); err != nil {
				return err
			}
		}
		if !ev.Triggers() {
			log.Debug("router: package action needs no job")
			return nil
		}
		if targetErr != nil {
			log.Error("router: package event dropped", "err", targetErr)
			return nil
		}
		job := Job{Type: TypePrune, Target: target, DeliveryID: id, Reason: event + " " + ev.Action, QueuedAt: r.cfg.Now().UTC()}
		if err := Publish(ctx, r.q, job); err != nil {
			return err
		}
		job.Logger(r.log).Info("router: prune queued", "event", event, "action", ev.Action)
	case webhook.EventPush:
		return r.routePush(ctx, log, id, env, body)
	case webhook.EventPullRequest:
		return r.routePullRequest(ctx, log, id, env, body)
	case webhook.EventIssues, webhook.EventIssueComment:
		return r.routeIssues(ctx, log, id, event, env, body)
	case webhook.EventInstallation, webhook.EventInstallationRepositories:
		return r.routeInstallation(ctx, log, id, event, env, body)
	default:
		log.Info("router: no job for this event")
	}
	return nil
}
