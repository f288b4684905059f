package githubapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KVETagStore is an ETagStore in a NATS JetStream key-value bucket, so that
// every replica's listings are conditional on what any replica saw last.
type KVETagStore struct {
	kv jetstream.KeyValue
}

// NewKVETagStore uses an existing bucket.
func NewKVETagStore(kv jetstream.KeyValue) *KVETagStore { return &KVETagStore{kv: kv} }

// DefaultETagTTL drops pages nobody asked for in a month (packages that
// were deleted or stopped being pruned); a dropped page only costs one
// unconditional request.
const DefaultETagTTL = 30 * 24 * time.Hour

// OpenKVETagStore creates the bucket if needed, keeping one revision per key
// and expiring keys after ttl (0 means DefaultETagTTL).
func OpenKVETagStore(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, ttl time.Duration) (*KVETagStore, error) {
	if replicas <= 0 {
		replicas = 1
	}
	if ttl <= 0 {
		ttl = DefaultETagTTL
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "pkgwarden: GitHub listing pages by request, for If-None-Match",
		History:     1,
		TTL:         ttl,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("etag bucket %s: %w", bucket, err)
	}
	return &KVETagStore{kv: kv}, nil
}

// kvKey hashes the request key: KV keys allow only [-/_=.a-zA-Z0-9], and
// request paths hold '?', '&' and '%'.
func kvKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "page." + hex.EncodeToString(sum[:])
}

// Get implements ETagStore.
func (s *KVETagStore) Get(ctx context.Context, key string) (CachedPage, bool, error) {
	e, err := s.kv.Get(ctx, kvKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return CachedPage{}, false, nil
	}
	if err != nil {
		return CachedPage{}, false, fmt.Errorf("etag store get %q: %w", key, err)
	}
	var p CachedPage
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return CachedPage{}, false, fmt.Errorf("etag store decode %q: %w", key, err)
	}
	return p, true, nil
}

// Put implements ETagStore.
func (s *KVETagStore) Put(ctx context.Context, key string, page CachedPage) error {
	b, err := json.Marshal(page)
	if err != nil {
		return fmt.Errorf("etag store encode %q: %w", key, err)
	}
	if _, err := s.kv.Put(ctx, kvKey(key), b); err != nil {
		return fmt.Errorf("etag store put %q: %w", key, err)
	}
	return nil
}
