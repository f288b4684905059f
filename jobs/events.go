package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/queue"
)

// BucketPackageEvents is the KV bucket of PackageEvents.
const BucketPackageEvents = "package_events"

// PackageEvents counts, per package, the webhook events about it that the
// router has seen. A prune reads the count when it lists the package for
// its plan and again, with one KV Get and no GitHub request, before each
// deletion group: only a count that moved makes it list the package again
// (see prune.Config.RecheckFallback for when the webhook is lost).
//
// The count is the revision of the package's entry: every Bump is a Put,
// which raises it, so routers of several processes bumping at once need
// no compare-and-set, and a count never goes back. Keys are the package's
// pkgref.Ref.Key (owner, type and name, case-insensitive), hashed: a name
// comes from a webhook payload and must not shape the key.
type PackageEvents struct{ kv jetstream.KeyValue }

// OpenPackageEvents creates the bucket if needed (idempotent). An entry
// is dropped a day after the package's last event: a prune runs for
// minutes, and a count read as 0 after its entry expired has moved, which
// costs one listing and no safety.
func OpenPackageEvents(ctx context.Context, js jetstream.JetStream, replicas int) (*PackageEvents, error) {
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketPackageEvents,
		Description: "pkgwarden: per package, a count of the webhook events about it (the entry's revision)",
		History:     1,
		TTL:         24 * time.Hour,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketPackageEvents, err)
	}
	return &PackageEvents{kv: kv}, nil
}

func packageEventKey(ref pkgref.Ref) string { return queue.Key(ref.Key()) }

// Bump counts one event about the package; what names it in the entry
// (for a person reading the bucket).
func (e *PackageEvents) Bump(ctx context.Context, ref pkgref.Ref, what string) error {
	if _, err := e.kv.PutString(ctx, packageEventKey(ref), what); err != nil {
		return fmt.Errorf("count event on %s: %w", ref, err)
	}
	return nil
}

// Count is the package's count now: 0 before its first event.
func (e *PackageEvents) Count(ctx context.Context, ref pkgref.Ref) (uint64, error) {
	entry, err := e.kv.Get(ctx, packageEventKey(ref))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read event count of %s: %w", ref, err)
	}
	return entry.Revision(), nil
}
