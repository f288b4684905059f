package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Cache keeps manifests by digest. A manifest never changes for a digest,
// so entries never expire. Implementations must be safe for concurrent use.
type Cache interface {
	// Get returns the manifest and true, or false when it is not cached.
	Get(ctx context.Context, digest string) (Manifest, bool, error)
	Put(ctx context.Context, digest string, m Manifest) error
}

// MemoryCache is an in-process Cache.
type MemoryCache struct {
	mu sync.RWMutex
	m  map[string]Manifest
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[string]Manifest{}} }

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, digest string) (Manifest, bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.m[digest]
	return cloneManifest(m), ok, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, digest string, m Manifest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[digest] = cloneManifest(m)
	return nil
}

// cloneManifest keeps callers from sharing the Children and Blobs slices
// with the cache.
func cloneManifest(m Manifest) Manifest {
	if m.Children != nil {
		m.Children = append([]Descriptor(nil), m.Children...)
	}
	if m.Blobs != nil {
		m.Blobs = append([]Blob(nil), m.Blobs...)
	}
	return m
}

// kvVersion is the version of what a KVCache entry holds. Entries of an
// older version (0: written before manifests kept their blob sizes) are
// misses: the Reader reads the manifest once more and writes it over
// them. Kept as they were, they would leave a package's storage unknown
// forever, since entries never expire; read again, they cost each
// manifest one download, once, as a cold cache does.
const kvVersion = 2

// kvEntry is a manifest as a KVCache stores it, with its version.
type kvEntry struct {
	V int `json:"v,omitempty"`
	Manifest
}

// KVCache is a Cache in a NATS JetStream key-value bucket, shared by every
// replica so a sweep never re-reads (and re-counts as a download) a manifest
// another process already read.
type KVCache struct {
	kv jetstream.KeyValue
}

// NewKVCache uses an existing bucket.
func NewKVCache(kv jetstream.KeyValue) *KVCache { return &KVCache{kv: kv} }

// OpenKVCache creates the bucket if needed (one revision per key: the value
// never changes) and returns the cache.
func OpenKVCache(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*KVCache, error) {
	if replicas <= 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "pkgwarden: OCI manifests by digest (immutable)",
		History:     1,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("manifest cache bucket %s: %w", bucket, err)
	}
	return &KVCache{kv: kv}, nil
}

// CacheKey turns "sha256:<hex>" into the KV key "sha256.<hex>": KV keys
// cannot hold ':'.
func CacheKey(digest string) (string, error) {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || alg == "" || hex == "" || !isAlnum(alg) || !isLowerHex(hex) {
		return "", fmt.Errorf("manifest cache: %q is not a digest", digest)
	}
	return alg + "." + hex, nil
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// Get implements Cache.
func (c *KVCache) Get(ctx context.Context, digest string) (Manifest, bool, error) {
	key, err := CacheKey(digest)
	if err != nil {
		return Manifest{}, false, err
	}
	e, err := c.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("manifest cache get %s: %w", digest, err)
	}
	var m kvEntry
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return Manifest{}, false, fmt.Errorf("manifest cache decode %s: %w", digest, err)
	}
	if m.V < kvVersion {
		return Manifest{}, false, nil
	}
	return m.Manifest, true, nil
}

// Put implements Cache.
func (c *KVCache) Put(ctx context.Context, digest string, m Manifest) error {
	key, err := CacheKey(digest)
	if err != nil {
		return err
	}
	b, err := json.Marshal(kvEntry{V: kvVersion, Manifest: m})
	if err != nil {
		return fmt.Errorf("manifest cache encode %s: %w", digest, err)
	}
	if _, err := c.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("manifest cache put %s: %w", digest, err)
	}
	return nil
}
