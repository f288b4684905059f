package jobs

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
)

// Buckets and keys of the scheduler.
const (
	// BucketScheduler holds the leader lease; its TTL is the lease TTL,
	// so the key of a leader that died disappears by itself.
	BucketScheduler = "scheduler"
	// BucketSchedulerState holds what must outlive a leader: the sweep's
	// progress and the record of every leadership period. No TTL.
	BucketSchedulerState = "scheduler_state"
	// BucketRedeliveries remembers the delivery guids the sweep asked
	// GitHub to redeliver, so none is redelivered twice.
	BucketRedeliveries = "redeliveries"

	leaderKey     = "leader"
	periodPrefix  = "period."
	sweepStateKey = "sweep"
)

// ErrNotLeader means this process does not (or no longer) hold the
// scheduler's lease and must not act.
var ErrNotLeader = errors.New("not the scheduler leader")

// LeadershipPeriod is one term of one leader, as recorded in
// BucketSchedulerState. Times are the holder's clock.
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

// LeadershipPeriods returns every recorded term, oldest first.
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

// Elector takes part in the election of the one scheduler leader among
// every replica on the same NATS. See the package doc of scheduler.go for
// what the lease guarantees.
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

func newElector(lease, state jetstream.KeyValue, holder string, ttl time.Duration, now func() time.Time, log *slog.Logger) *Elector {
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
		sleep(ctx, e.ttl/3)
	}
}

func (e *Elector) lead(ctx context.Context, rev uint64, lead func(ctx context.Context)) {
	// Measured after the lease was granted, so a term never starts
	// before the previous one's lease was gone.
	start := e.now().UTC()
	period := LeadershipPeriod{Term: rev, Holder: e.holder, Start: start, LastRefresh: start, ActUntil: start.Add(e.validity())}
	e.mu.Lock()
	e.rev, e.refreshed = rev, start
	e.mu.Unlock()
	log := e.log.With("holder", e.holder, "term", rev)
	e.record(ctx, period)
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
