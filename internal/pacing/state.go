package pacing

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// state is the one KV value per token that every replica reads and writes
// with optimistic concurrency. Times are Unix nanoseconds of wall time:
// replicas share them, so they cannot be monotonic readings.
type state struct {
	// TAT is the GCRA "theoretical arrival time" of the points budget: the
	// budget is spent up to TAT, and a request may start once TAT plus its
	// cost lies within Burst points of now.
	TAT int64 `json:"tat,omitempty"`
	// MutTAT is the same for the mutating-requests budget.
	MutTAT int64 `json:"mtat,omitempty"`
	// PauseUntil stops every request of the token until then: a
	// Retry-After, or the primary reset once the remaining requests ran low.
	PauseUntil int64  `json:"pause,omitempty"`
	PauseWhy   string `json:"why,omitempty"`
	// Holders are the mutating requests in flight, each with the time its
	// lease expires should its holder die without releasing it.
	Holders []holder `json:"holders,omitempty"`
}

type holder struct {
	ID    string `json:"id"`
	Until int64  `json:"until"`
}

func decodeState(b []byte) (state, error) {
	var st state
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("decode pacing state: %w", err)
	}
	return st, nil
}

func (st state) encode() []byte {
	b, _ := json.Marshal(st) // plain fields: cannot fail
	return b
}

// isMutating is GitHub's split for secondary-limit points: GET, HEAD and
// OPTIONS are reads, everything else writes.
func isMutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, "":
		return false
	}
	return true
}

// Points is what a request of method costs against GitHub's secondary
// limit ("Calculating points for the secondary rate limit"): 1 for GET,
// HEAD and OPTIONS, 5 for POST, PATCH, PUT and DELETE.
func Points(method string) int {
	if isMutating(method) {
		return 5
	}
	return 1
}

// blocker says why a request must wait.
type blocker int

const (
	blockNone   blocker = iota
	blockPause          // a shared pause (Retry-After or primary reset)
	blockBudget         // the points or mutating budget
	blockSlot           // every mutating slot is held
)

func (b blocker) String() string {
	return [...]string{"none", "pause", "budget", "slot"}[b]
}

// decision is what admit decided: either wait (nothing to write), or the
// state to write to take the request's share.
type decision struct {
	wait    time.Duration
	blocked blocker
	next    state
}

// admit decides whether a request of cost points (mutating or not) may
// start at now under cfg, and if so returns the state that records it,
// with id holding a mutating slot. It is pure: the caller writes next
// with the revision it read, and starts over on a conflict.
func (cfg Config) admit(st state, now time.Time, cost int, mutating bool, id string) decision {
	n := now.UnixNano()
	// Leases of holders that died expire here, by whoever comes next.
	live := st.Holders[:0:0]
	for _, h := range st.Holders {
		if h.Until > n {
			live = append(live, h)
		}
	}
	st.Holders = live
	if st.PauseUntil > n {
		return decision{wait: time.Duration(st.PauseUntil - n), blocked: blockPause}
	}
	st.PauseUntil, st.PauseWhy = 0, ""

	// GCRA: each point moves TAT by the emission interval; the request
	// conforms when the new TAT is at most Burst points ahead of now.
	var wait time.Duration
	t := cfg.pointInterval()
	newTAT := max(st.TAT, n) + int64(cost)*int64(t)
	if start := newTAT - int64(cfg.Burst)*int64(t); start > n {
		wait = time.Duration(start - n)
	}
	var newMut int64
	if mutating {
		mt := cfg.mutatingInterval()
		newMut = max(st.MutTAT, n) + int64(mt)
		if start := newMut - int64(cfg.MutatingBurst)*int64(mt); start > n {
			wait = max(wait, time.Duration(start-n))
		}
	}
	if wait > 0 {
		return decision{wait: wait, blocked: blockBudget}
	}
	if mutating {
		if len(st.Holders) >= cfg.MaxMutatingInFlight {
			// Poll for a release, but never past the first lease expiry.
			wait := cfg.PollInterval
			for _, h := range st.Holders {
				wait = min(wait, time.Duration(h.Until-n))
			}
			return decision{wait: max(wait, time.Millisecond), blocked: blockSlot}
		}
		st.MutTAT = newMut
		st.Holders = append(st.Holders, holder{ID: id, Until: n + int64(cfg.LeaseTTL)})
	}
	st.TAT = newTAT
	return decision{next: st}
}

// pause returns st with every request held until until. After a
// secondary limit the points budget also restarts empty at until, so
// requests resume at the steady rate rather than in a burst.
func (cfg Config) pause(st state, until time.Time, why string, secondary bool) (state, bool) {
	u := until.UnixNano()
	changed := false
	if u > st.PauseUntil {
		st.PauseUntil, st.PauseWhy = u, why
		changed = true
	}
	if secondary {
		if tat := u + int64(cfg.Burst)*int64(cfg.pointInterval()); tat > st.TAT {
			st.TAT = tat
			changed = true
		}
		if u > st.MutTAT {
			st.MutTAT = u
			changed = true
		}
	}
	return st, changed
}

// release returns st without the holder id, and whether it was there.
func release(st state, id string) (state, bool) {
	for i, h := range st.Holders {
		if h.ID == id {
			st.Holders = append(st.Holders[:i:i], st.Holders[i+1:]...)
			return st, true
		}
	}
	return st, false
}
