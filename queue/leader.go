package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/pkgwarden/pkgwarden/internal/clock"
)

// Keys of the election: the lease in the lease bucket, one record per
// term in the state bucket.
const (
	leaderKey    = "leader"
	periodPrefix = "period."
)

// ErrNotLeader means this process does not (or no longer) hold the
// leader's lease and must not act.
var ErrNotLeader = errors.New("not the scheduler leader")

// LeadershipPeriod is one term of one leader, as recorded in the
// elector's state bucket. Times are the holder's clock.
type LeadershipPeriod struct {
	// Term is the lease key's revision when it was taken: unique and
	// increasing across terms.
	Term   uint64    `json:"term"`
	Holder string    `json:"holder"`
	Start  time.Time `json:"start"`
	// LastRefresh is when the last successful refresh was sent; a term
	// that ended in a crash or a lost lease ends here for certain.
	LastRefresh time.Time `json:"last_refresh"`
	// ActUntil is the last instant the holder's leader check could pass
	// after that refresh (LastRefresh plus the TTL less the check's margin).
	ActUntil time.Time `json:"act_until"`
	// End is set when the holder released the lease on shutdown.
	End time.Time `json:"end,omitzero"`
}

// Until is the last instant the holder may have acted as leader: its
// release, or else the end of the validity of its last refresh.
func (p LeadershipPeriod) Until() time.Time {
	if !p.End.IsZero() {
		return p.End
	}
	return p.ActUntil
}

// LeadershipPeriods returns every term recorded in state (an Elector's
// state bucket), oldest first.
func LeadershipPeriods(ctx context.Context, state jetstream.KeyValue) ([]LeadershipPeriod, error) {
	lister, err := state.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list leadership periods: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		if strings.HasPrefix(k, periodPrefix) {
			keys = append(keys, k)
		}
	}
	var out []LeadershipPeriod
	for _, k := range keys {
		e, err := state.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("leadership period %s: %w", k, err)
		}
		var p LeadershipPeriod
		if err := json.Unmarshal(e.Value(), &p); err != nil {
			return nil, fmt.Errorf("leadership period %s: %w", k, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b LeadershipPeriod) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Elector takes part in the election of one leader among every replica
// on the same NATS (the scheduler's: sweep.Scheduler), next to the
// per-package Leases and built the same way.
//
// Leadership is one key in the lease bucket, whose TTL is the lease TTL:
// a replica becomes leader by creating the key (create only if absent),
// keeps it by updating it at the revision it last wrote, every TTL/3, and
// deletes it at that revision on a clean shutdown. A leader that dies
// stops refreshing, the server drops the key TTL after the last refresh,
// and another replica creates it within TTL/3 more.
//
// What this guarantees, honestly: the lease is decided by one authority
// (the NATS KV, a Raft-replicated stream on a cluster), so two replicas
// never both succeed in taking or refreshing it; but a holder learns of a
// loss only when it next looks. Check looks at both its own clock (no
// refresh for TTL minus a margin: it may have been paused, it stops) and
// the lease key's revision. What remains is the time between a Check and
// the action that follows it: a process paused exactly there for longer
// than the TTL acts once more after its successor started. The leader's
// work must bound that overlap and make it harmless (sweep.Scheduler says
// how its own does).
//
// Every term is recorded in the state bucket (LeadershipPeriods): its
// start, taken after the lease was granted, and its end: the release time,
// taken before the lease is deleted, or for a term that ended in a crash
// or a lost lease, the last refresh plus the TTL less the check's margin
// (the last instant its check could pass), which is before the lease
// expired. So recorded terms never overlap on one machine; across
// machines they are as exact as the clocks agree (within a tenth of the
// TTL for a crashed term, closer for a released one).
//
// Its log lines and ErrNotLeader still say "scheduler": the scheduler's is
// the one election pkgwarden runs.
type Elector struct {
	lease  jetstream.KeyValue
	state  jetstream.KeyValue
	holder string
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu sync.Mutex
	// rev is the lease key's revision this holder last wrote (0: not
	// leader); refreshed is when that write was sent.
	rev       uint64
	refreshed time.Time
}

type leaderValue struct {
	Holder string    `json:"holder"`
	Term   uint64    `json:"term,omitempty"`
	At     time.Time `json:"at"`
}

// NewElector returns an elector that campaigns (Run) in lease (a bucket
// whose TTL must be ttl) and records terms in state (a bucket without TTL, which may hold other keys
// than "period.*"); holder names this process in both, now is the clock of
// recorded times and of Check, and log gets the election's events.
func NewElector(lease, state jetstream.KeyValue, holder string, ttl time.Duration, now func() time.Time, log *slog.Logger) *Elector {
	return &Elector{lease: lease, state: state, holder: holder, ttl: ttl, now: now, log: log}
}

// Run campaigns until ctx ends, calling lead each time this process
// becomes leader; lead's context ends when leadership is lost or ctx
// ends, and Run waits for lead to return before releasing the lease.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	for ctx.Err() == nil {
		val, _ := json.Marshal(leaderValue{Holder: e.holder, At: e.now().UTC()})
		rev, err := e.lease.Create(ctx, leaderKey, val)
		switch {
		case err == nil:
			e.lead(ctx, rev, lead)
		case errors.Is(err, jetstream.ErrKeyExists):
			// Someone leads; ask again soon, so a dead leader is
			// replaced within TTL + TTL/3.
		case ctx.Err() == nil:
			e.log.Warn("scheduler: campaign failed", "err", err)
		}
		clock.Sleep(ctx, e.ttl/3)
	}
}

func (e *Elector) lead(ctx context.Context, rev uint64, lead func(ctx context.Context)) {
	// Measured after the lease was granted, so a term never starts
	// before the previous one's lease was gone.
	start := e.now().UTC()
	period := LeadershipPeriod{Term: rev, Holder: e.holder, Start: start, LastRefresh: start, ActUntil: start.Add(e.validity())}
	log := e.log.With("holder", e.holder, "term", rev)
	// The term is on record before Check passes: a leader that dies the
	// moment it could act still leaves its term behind.
	e.record(ctx, period)
	e.mu.Lock()
	e.rev, e.refreshed = rev, start
	e.mu.Unlock()
	log.Info("scheduler: leader elected")

	leadCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lead(leadCtx) }()
	tick := time.NewTicker(e.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			<-done
			e.release(period, log)
			return
		case <-tick.C:
			sent := e.now().UTC()
			val, _ := json.Marshal(leaderValue{Holder: e.holder, Term: period.Term, At: sent})
			// Not cut short by shutdown: a refresh cancelled in flight
			// would look like a lost lease, and the lease would not be
			// released.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.ttl/3)
			e.mu.Lock()
			next, err := e.lease.Update(rctx, leaderKey, val, e.rev)
			cancel()
			if err == nil {
				e.rev, e.refreshed = next, sent
			} else {
				e.rev = 0
			}
			e.mu.Unlock()
			if err != nil {
				stop()
				<-done
				log.Warn("scheduler: leadership lost", "err", err)
				return
			}
			period.LastRefresh, period.ActUntil = sent, sent.Add(e.validity())
			e.record(context.WithoutCancel(ctx), period)
		}
	}
}

// release gives the lease up on a clean shutdown, so another replica
// takes over at once rather than after the TTL.
func (e *Elector) release(period LeadershipPeriod, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.mu.Lock()
	rev := e.rev
	e.rev = 0
	e.mu.Unlock()
	if rev == 0 {
		return
	}
	// End is taken before the delete: the next term starts after it.
	period.End = e.now().UTC()
	if err := e.lease.Delete(ctx, leaderKey, jetstream.LastRevision(rev)); err != nil {
		log.Warn("scheduler: release leadership", "err", err)
		return // not ours any more: End would claim time we did not hold
	}
	e.record(ctx, period)
	log.Info("scheduler: leadership released")
}

func (e *Elector) record(ctx context.Context, p LeadershipPeriod) {
	val, _ := json.Marshal(p)
	if _, err := e.state.Put(ctx, fmt.Sprintf("%s%020d", periodPrefix, p.Term), val); err != nil {
		e.log.Warn("scheduler: record leadership period", "term", p.Term, "err", err)
	}
}

// Check returns nil only while this process holds the lease: the local
// clock says the last refresh is recent enough (a leader paused longer
// than the TTL notices here without asking), and the lease key still has
// the revision this holder wrote.
func (e *Elector) Check(ctx context.Context) error {
	e.mu.Lock()
	rev, refreshed := e.rev, e.refreshed
	e.mu.Unlock()
	if rev == 0 {
		return ErrNotLeader
	}
	if age := e.now().Sub(refreshed); age > e.validity() {
		return fmt.Errorf("%w: last refresh %s ago", ErrNotLeader, age.Round(time.Millisecond))
	}
	entry, err := e.lease.Get(ctx, leaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: lease expired", ErrNotLeader)
	}
	if err != nil {
		return fmt.Errorf("%w: read lease: %w", ErrNotLeader, err)
	}
	if entry.Revision() != rev {
		return fmt.Errorf("%w: lease revision %d, ours %d", ErrNotLeader, entry.Revision(), rev)
	}
	return nil
}

// validity is how long after a refresh was sent the holder still acts: the
// TTL less a tenth, which absorbs the refresh request's delay and clock
// rate differences between processes.
func (e *Elector) validity() time.Duration { return e.ttl - e.ttl/10 }

// Leading reports whether this process believes it leads (no request).
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rev != 0
}
