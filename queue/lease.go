package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrBusy means another holder has the lease.
var ErrBusy = errors.New("lease is held by another worker")

// ErrLost means the lease expired or was taken while held: the holder must
// stop, another may already be working on the same package.
var ErrLost = errors.New("lease lost")

// Leases hands out exclusive, expiring leases on names, shared by every
// process on the same NATS. Each lease is one KV key whose revision proves
// ownership: create only if absent, refresh only at the revision we wrote,
// delete only at that revision. The bucket's TTL removes the key of a
// holder that died, so a crash blocks a package for at most the TTL.
type Leases struct {
	kv     jetstream.KeyValue
	ttl    time.Duration
	holder string
}

// NewLeases uses kv (whose TTL must be ttl); holder names this process in
// lease values, for people reading the bucket.
func NewLeases(kv jetstream.KeyValue, ttl time.Duration, holder string) *Leases {
	return &Leases{kv: kv, ttl: ttl, holder: holder}
}

// TTL is how long a lease lives without refresh.
func (l *Leases) TTL() time.Duration { return l.ttl }

// Lease is a held lease.
type Lease struct {
	l    *Leases
	name string
	key  string
	rev  uint64
}

type leaseValue struct {
	Holder string    `json:"holder"`
	Name   string    `json:"name"`
	Since  time.Time `json:"since"`
}

// TryAcquire takes the lease on name, or returns ErrBusy.
func (l *Leases) TryAcquire(ctx context.Context, name string) (*Lease, error) {
	key := Key(name)
	val, _ := json.Marshal(leaseValue{Holder: l.holder, Name: name, Since: time.Now().UTC()})
	rev, err := l.kv.Create(ctx, key, val)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("%w: %s", ErrBusy, name)
	}
	if err != nil {
		return nil, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return &Lease{l: l, name: name, key: key, rev: rev}, nil
}

// Refresh extends the lease by the TTL.
func (le *Lease) Refresh(ctx context.Context) error {
	val, _ := json.Marshal(leaseValue{Holder: le.l.holder, Name: le.name, Since: time.Now().UTC()})
	rev, err := le.l.kv.Update(ctx, le.key, val, le.rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.As(err, &apiErr) {
			return fmt.Errorf("%w: %s: %w", ErrLost, le.name, err)
		}
		return fmt.Errorf("refresh lease %s: %w", le.name, err)
	}
	le.rev = rev
	return nil
}

// Release gives the lease up, unless it was already lost.
func (le *Lease) Release(ctx context.Context) error {
	err := le.l.kv.Delete(ctx, le.key, jetstream.LastRevision(le.rev))
	if err != nil {
		return fmt.Errorf("release lease %s: %w", le.name, err)
	}
	return nil
}
