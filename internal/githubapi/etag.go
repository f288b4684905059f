package githubapi

import (
	"context"
	"sync"
	"time"
)

// CachedPage is one page of a listing as GitHub last sent it, kept so that a
// later request with If-None-Match can be answered 304 and the page rebuilt
// from here. 304 answers do not count against the primary rate limit.
type CachedPage struct {
	ETag string `json:"etag"`
	// Body is the page's JSON as received.
	Body []byte `json:"body"`
	// NextPage is the next page number from the Link header, 0 on the last.
	NextPage int `json:"next_page"`
	// Absent, with At, says GitHub answered 404 at At: a file that is
	// not there has no ETag to ask with (ContentsSource.Cached).
	Absent bool      `json:"absent,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// ETagStore keeps CachedPages by key. Keys are "GET <api base URL><path>?<query>"
// of the page's request (they contain ':', '/', '?', '=' and '&'; a NATS KV
// implementation must encode them, as KVETagStore does by hashing). Implementations must be
// safe for concurrent use.
type ETagStore interface {
	Get(ctx context.Context, key string) (CachedPage, bool, error)
	Put(ctx context.Context, key string, page CachedPage) error
}

// MemoryETagStore is an in-process ETagStore.
type MemoryETagStore struct {
	mu    sync.Mutex
	pages map[string]CachedPage
}

// NewMemoryETagStore returns an empty store.
func NewMemoryETagStore() *MemoryETagStore {
	return &MemoryETagStore{pages: map[string]CachedPage{}}
}

// Get implements ETagStore.
func (s *MemoryETagStore) Get(_ context.Context, key string) (CachedPage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pages[key]
	return p, ok, nil
}

// Put implements ETagStore.
func (s *MemoryETagStore) Put(_ context.Context, key string, page CachedPage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	page.Body = append([]byte(nil), page.Body...)
	s.pages[key] = page
	return nil
}

// Len reports how many pages are stored.
func (s *MemoryETagStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pages)
}
