package githubapi

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/clock"
)

// Observer is told about every HTTP request that reached the network (each
// retry attempt counts), so the caller can export
// pkgwarden_github_requests_total{method,code} and
// pkgwarden_github_rate_remaining. Implementations must be safe for
// concurrent use.
type Observer interface {
	// ObserveRequest is called once per attempt; code is the HTTP status,
	// or 0 when no response arrived (connection error).
	ObserveRequest(method string, code int)
	// ObserveRateRemaining is called with X-RateLimit-Remaining whenever a
	// response carries it.
	ObserveRateRemaining(remaining int)
}

// RetryPolicy says how idempotent requests are retried on 5xx answers and
// connection errors. The zero value means the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 4.
	MaxAttempts int
	// BaseDelay is the delay before the first retry; it doubles each time.
	// Default 500ms.
	BaseDelay time.Duration
	// MaxDelay caps the delay. Default 15s.
	MaxDelay time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 15 * time.Second
	}
	return p
}

// delay is the capped exponential backoff with "equal jitter": half fixed,
// half random, so replicas that failed together do not retry together.
func (p RetryPolicy) delay(retry int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < retry && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// Transport retries idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) on
// 5xx answers and connection errors, and reports every attempt to an
// Observer. It never retries 4xx: a rate limit is for the caller's pacing to
// handle, a refusal is final. A DELETE retried after a lost answer may meet
// 404; the packages client treats 404 on delete as done.
type Transport struct {
	// Base does the requests; nil means Pool().
	Base     http.RoundTripper
	Retry    RetryPolicy
	Observer Observer
	// Sleep waits between attempts; nil means a timer honouring ctx. Tests
	// may replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// pool is the connection pool of every request to GitHub that is not given
// its own: http.DefaultTransport keeps only two idle connections per host,
// and pkgwarden's workers send to one or two hosts (the API, the registry)
// from many goroutines, so most requests dialled a new connection.
var pool = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	return t
}()

// Pool returns the connection pool shared by pkgwarden's GitHub requests:
// http.DefaultTransport's settings with up to 64 idle connections per host.
func Pool() http.RoundTripper { return pool }

// NewTransport wraps base (nil: Pool()) with retries and observation. obs
// may be nil.
func NewTransport(base http.RoundTripper, policy RetryPolicy, obs Observer) *Transport {
	return &Transport{Base: base, Retry: policy, Observer: obs}
}

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func retryableStatus(code int) bool {
	// 501 Not Implemented will not change by asking again.
	return code >= 500 && code != http.StatusNotImplemented
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = pool
	}
	policy := t.Retry.withDefaults()
	attempts := policy.MaxAttempts
	if !isIdempotent(req.Method) || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		attempts = 1
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := base.RoundTrip(r)
		t.observe(req.Method, resp, err)
		last := attempt >= attempts
		switch {
		case err != nil:
			if last || ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
		case retryableStatus(resp.StatusCode):
			if last {
				return resp, nil
			}
			// Drain a little so the connection can be reused, then drop it.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		default:
			return resp, nil
		}
		d := policy.delay(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp); ok {
				d = min(max(d, ra), policy.MaxDelay)
			}
		}
		if err := t.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

func retryAfter(resp *http.Response) (time.Duration, bool) {
	secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (t *Transport) observe(method string, resp *http.Response, err error) {
	if t.Observer == nil {
		return
	}
	if err != nil || resp == nil {
		t.Observer.ObserveRequest(method, 0)
		return
	}
	t.Observer.ObserveRequest(method, resp.StatusCode)
	if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			t.Observer.ObserveRateRemaining(n)
		}
	}
}
