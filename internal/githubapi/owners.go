package githubapi

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// OwnerCache remembers what ResolveOwner found for a while, so that the
// jobs of a sweep (a prune and a restore job per package, hundreds of
// packages of one owner) ask GET /users/{owner} once an hour rather than
// once a job. Whether an account is an organisation practically never
// changes; Owner.Self depends on the token, so the token is part of the
// key (hashed: the cache never holds a secret). A failed resolution is
// not remembered. It is safe for concurrent use.
type OwnerCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]ownerEntry
}

type ownerEntry struct {
	owner Owner
	at    time.Time
}

// DefaultOwnerTTL is how long an OwnerCache keeps an answer unless told
// otherwise.
const DefaultOwnerTTL = time.Hour

// NewOwnerCache returns an empty cache keeping answers for ttl (0 means
// DefaultOwnerTTL). now is its clock; nil means time.Now.
func NewOwnerCache(ttl time.Duration, now func() time.Time) *OwnerCache {
	if ttl <= 0 {
		ttl = DefaultOwnerTTL
	}
	if now == nil {
		now = time.Now
	}
	return &OwnerCache{ttl: ttl, now: now, m: map[string]ownerEntry{}}
}

func ownerCacheKey(baseURL, secret, login string) string {
	sum := sha256.Sum256([]byte(secret))
	return baseURL + " " + hex.EncodeToString(sum[:8]) + " " + strings.ToLower(login)
}

func (c *OwnerCache) get(key string) (Owner, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		delete(c.m, key)
		return Owner{}, false
	}
	return e.owner, true
}

func (c *OwnerCache) put(key string, o Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = ownerEntry{owner: o, at: c.now()}
}
