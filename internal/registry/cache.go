package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nats-io/nats.go/jetstream"
)

// Cache keeps manifests by digest. A manifest never changes for a digest,
// so entries never expire. Implementations must be safe for concurrent use.
type Cache interface {
	// Get returns the manifest and true, or false when it is not cached.
	Get(ctx context.Context, digest string) (Manifest, bool, error)
	Put(ctx context.Context, digest string, m Manifest) error
}

// DefaultMemoryEntries bounds a MemoryCache made by NewMemoryCache: about
// 20,000 manifests of a few hundred bytes each, some megabytes, the
// manifests of a handful of packages of thousands of versions: enough for
// a package's restore job to find what its prune just read, not so much
// that memory grows with the size of the organisation.
const DefaultMemoryEntries = 20000

// MemoryCache is an in-process Cache holding at most a fixed number of
// manifests, the least recently used going first (an LRU): a process
// that sees a million versions keeps only the most recent.
type MemoryCache struct {
	lru *lru.Cache[string, Manifest]
}

// NewMemoryCache returns an empty MemoryCache of DefaultMemoryEntries.
func NewMemoryCache() *MemoryCache { return NewMemoryCacheSize(DefaultMemoryEntries) }

// NewMemoryCacheSize returns an empty MemoryCache of at most entries
// manifests (at least 1).
func NewMemoryCacheSize(entries int) *MemoryCache {
	c, err := lru.New[string, Manifest](max(entries, 1))
	if err != nil {
		panic(err) // only for a size below 1, which max rules out
	}
	return &MemoryCache{lru: c}
}

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, digest string) (Manifest, bool, error) {
	m, ok := c.lru.Get(digest)
	return cloneManifest(m), ok, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, digest string, m Manifest) error {
	c.lru.Add(digest, cloneManifest(m))
	return nil
}

// Len reports how many manifests c holds.
func (c *MemoryCache) Len() int { return c.lru.Len() }

// Tiered is a Cache in two levels: Front (a bounded MemoryCache) before
// Back (the KV bucket every replica shares). A hit in Back is copied to
// Front; a Put goes to both. serve uses it so that a package's jobs
// (prune, then restore and heal) read a manifest from the bucket once.
type Tiered struct {
	Front, Back Cache
}

// Get implements Cache.
func (t Tiered) Get(ctx context.Context, digest string) (Manifest, bool, error) {
	if m, ok, err := t.Front.Get(ctx, digest); err == nil && ok {
		return m, true, nil
	}
	m, ok, err := t.Back.Get(ctx, digest)
	if err != nil || !ok {
		return m, ok, err
	}
	_ = t.Front.Put(ctx, digest, m)
	return m, true, nil
}

// Put implements Cache.
func (t Tiered) Put(ctx context.Context, digest string, m Manifest) error {
	_ = t.Front.Put(ctx, digest, m)
	return t.Back.Put(ctx, digest, m)
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
