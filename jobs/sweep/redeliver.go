package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/queue"
)

// deliveryScanOverlap is how far before the last scan the next one looks
// again: an attempt still pending at the last scan is judged on the next.
const deliveryScanOverlap = 5 * time.Minute

// RedeliveryStats says what one pass over the hook deliveries did.
type RedeliveryStats struct {
	// Listed is how many delivery attempts were read; GUIDs how many
	// distinct deliveries they belong to.
	Listed, GUIDs int
	// Redelivered are the guids sent again by this pass.
	Redelivered []string
	// AlreadyRedelivered are failed guids an earlier pass (of any leader)
	// redelivered: never sent twice.
	AlreadyRedelivered int
}

type redelivery struct {
	GUID       string    `json:"guid"`
	DeliveryID int64     `json:"delivery_id"`
	Event      string    `json:"event"`
	Holder     string    `json:"holder"`
	At         time.Time `json:"at"`
}

// RedeliverFailed lists the App's hook deliveries since the last scan
// (GitHub keeps three days), groups the attempts by guid, and asks GitHub
// to redeliver, once ever, each guid none of whose attempts succeeded:
// its newest failed attempt. A guid with an attempt still pending is left
// for the next scan. It must be called by the leader; it checks the lease
// before each redelivery.
//
// GET /app/hook/deliveries, POST /app/hook/deliveries/{id}/attempts
func (s *Scheduler) RedeliverFailed(ctx context.Context, lastScan time.Time) (RedeliveryStats, error) {
	var stats RedeliveryStats
	now := s.now()
	since := now.Add(-DeliveryRetention)
	if from := lastScan.Add(-deliveryScanOverlap); from.After(since) {
		since = from
	}
	gh := s.cfg.Access.App.AppClient()
	byGUID := map[string][]*github.HookDelivery{}
	var order []string
	opts := &github.ListCursorOptions{PerPage: 100}
	for page := 1; ; page++ {
		ds, resp, err := gh.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			return stats, fmt.Errorf("list hook deliveries, page %d: %w", page, err)
		}
		older := false
		for _, d := range ds {
			// Newest first: the first one before the window ends the scan.
			if d.GetDeliveredAt().Time.Before(since) {
				older = true
				break
			}
			stats.Listed++
			g := d.GetGUID()
			if _, ok := byGUID[g]; !ok {
				order = append(order, g)
			}
			byGUID[g] = append(byGUID[g], d)
		}
		if older || resp.Cursor == "" || len(ds) == 0 {
			break
		}
		opts.Cursor = resp.Cursor
	}
	stats.GUIDs = len(order)
	// Oldest first, so redeliveries reach the router in their original order.
	slices.Reverse(order)
	for _, g := range order {
		attempt := toRedeliver(byGUID[g])
		if attempt == nil {
			continue
		}
		sent, err := s.redeliverOnce(ctx, g, attempt)
		if err != nil {
			return stats, err
		}
		if sent {
			stats.Redelivered = append(stats.Redelivered, g)
		} else {
			stats.AlreadyRedelivered++
		}
	}
	s.log.Info("scheduler: hook deliveries scanned", "since", since, "listed", stats.Listed, "guids", stats.GUIDs,
		"redelivered", len(stats.Redelivered), "already_redelivered", stats.AlreadyRedelivered)
	return stats, nil
}

// toRedeliver returns the attempt to redeliver for one guid's attempts
// (newest first), or nil when one succeeded or one is still pending.
func toRedeliver(attempts []*github.HookDelivery) *github.HookDelivery {
	var newestFailed *github.HookDelivery
	for _, a := range attempts {
		code := a.GetStatusCode()
		switch {
		case code >= 200 && code < 300:
			return nil
		case code == 0 && a.GetStatus() == "pending":
			return nil // not judged yet
		case newestFailed == nil || a.GetDeliveredAt().Time.After(newestFailed.GetDeliveredAt().Time):
			newestFailed = a
		}
	}
	return newestFailed
}

// redeliverOnce claims guid in BucketRedeliveries (create only if absent),
// then asks for the redelivery; false means it was claimed before.
func (s *Scheduler) redeliverOnce(ctx context.Context, guid string, d *github.HookDelivery) (bool, error) {
	if err := s.el.Check(ctx); err != nil {
		return false, err
	}
	key := queue.Key(guid)
	val, _ := json.Marshal(redelivery{GUID: guid, DeliveryID: d.GetID(), Event: d.GetEvent(), Holder: s.cfg.Holder, At: s.now().UTC()})
	rev, err := s.redone.Create(ctx, key, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delivery %s: claim redelivery: %w", guid, err)
	}
	_, _, err = s.cfg.Access.App.AppClient().Apps.RedeliverHookDelivery(ctx, d.GetID())
	var accepted *github.AcceptedError
	if err == nil || errors.As(err, &accepted) {
		s.log.Info("scheduler: webhook redelivered", "delivery", guid, "attempt", d.GetID(), "event", d.GetEvent(), "status_code", d.GetStatusCode())
		return true, nil
	}
	var gerr *github.ErrorResponse
	if errors.As(err, &gerr) {
		// GitHub answered no: nothing was sent, so a later sweep may try.
		if derr := s.redone.Delete(ctx, key, jetstream.LastRevision(rev)); derr != nil {
			s.log.Warn("scheduler: unclaim redelivery", "delivery", guid, "err", derr)
		}
	}
	// Any other failure may have reached GitHub: the claim stays, so the
	// guid is never sent twice, at the cost of perhaps never once.
	return false, fmt.Errorf("delivery %s: redeliver attempt %d: %w", guid, d.GetID(), err)
}
