package githubapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-github/v57/github"
)

// conditional is the answer of getConditional: the body, as GitHub sent it
// now or as the store kept it when GitHub answered 304.
type conditional struct {
	body []byte
	// next is the next page from the Link header (the stored one on a 304).
	next        int
	notModified bool
	resp        *github.Response
}

// getConditional asks GET u (relative to gh's BaseURL) with If-None-Match
// when store (which may be nil) holds a page for key, and serves a 304 from
// the store: GitHub does not count a 304 against the primary rate limit. A
// 200 that carries an ETag is stored under key. The error is go-github's,
// for the caller to classify; a broken store only costs requests.
func getConditional(ctx context.Context, gh *github.Client, store ETagStore, logger *slog.Logger, key, u string) (conditional, error) {
	var cached CachedPage
	haveCached := false
	if store != nil {
		p, ok, err := store.Get(ctx, key)
		if err != nil {
			logger.WarnContext(ctx, "etag store get failed", "key", key, "err", err)
		} else if ok && p.ETag != "" {
			cached, haveCached = p, true
		}
	}
	req, err := gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return conditional{}, err
	}
	if haveCached {
		req.Header.Set("If-None-Match", cached.ETag)
	}
	var body bytes.Buffer
	resp, err := gh.Do(ctx, req, &body)
	if resp != nil && resp.StatusCode == http.StatusNotModified && haveCached {
		return conditional{body: cached.Body, next: cached.NextPage, notModified: true, resp: resp}, nil
	}
	if err != nil {
		return conditional{resp: resp}, err
	}
	if store != nil {
		if etag := resp.Header.Get("ETag"); etag != "" {
			if err := store.Put(ctx, key, CachedPage{ETag: etag, Body: body.Bytes(), NextPage: resp.NextPage}); err != nil {
				logger.WarnContext(ctx, "etag store put failed", "key", key, "err", err)
			}
		}
	}
	return conditional{body: body.Bytes(), next: resp.NextPage, resp: resp}, nil
}

// ConditionalGet is getConditional for other packages' requests through an
// installation's client (report issues): GET u with If-None-Match when store
// holds a page for key, the stored body on a 304, a 200's body stored. It
// returns the body, whether GitHub answered 304, and the error classified
// as the package's other calls classify theirs.
func ConditionalGet(ctx context.Context, gh *github.Client, store ETagStore, logger *slog.Logger, key, u string) ([]byte, bool, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	got, err := getConditional(ctx, gh, store, logger, key, u)
	if err != nil {
		return nil, false, classify(time.Now(), got.resp, err)
	}
	return got.body, got.notModified, nil
}
