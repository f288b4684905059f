package githubapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
)

// Sentinel errors callers test with errors.Is. An *APIError matches the one
// that fits its status.
var (
	// ErrNotFound: 404. For a delete, the version is already gone.
	ErrNotFound = errors.New("not found")
	// ErrRefused: 403 that is not a rate limit, or a 400/422 answer to a
	// delete. GitHub will not do this (more than 5,000 downloads, last
	// version of a package, missing admin permission or scope); retrying
	// cannot help.
	ErrRefused = errors.New("refused by GitHub")
	// ErrUnauthorized: 401, the token is missing, expired or revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNamespaceReused: a refusal to restore a deleted package because a
	// new package of the same name was created since. It matches
	// ErrRefused too. GitHub gives no code for it, only its message, which
	// is read here and nowhere else.
	ErrNamespaceReused = errors.New("package name reused since its deletion")
)

// DefaultSecondaryWait is how long to wait after a rate limit that names no
// time: GitHub's documentation asks for at least one minute.
const DefaultSecondaryWait = time.Minute

// RateLimitError says GitHub asked pkgwarden to slow down: 403 or 429 with
// Retry-After, or with X-RateLimit-Remaining: 0. Wait is how long to wait
// before the next request with the same token.
type RateLimitError struct {
	Method, Path string
	StatusCode   int
	Wait         time.Duration
	// Reset is when the primary limit resets (zero when unknown).
	Reset time.Time
	// Secondary is true for a secondary limit (Retry-After, or no
	// X-RateLimit-Remaining: 0).
	Secondary bool
	Message   string
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	msg := fmt.Sprintf("%s %s: %d %s rate limit, wait %s", e.Method, e.Path, e.StatusCode, kind, e.Wait.Round(time.Second))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// APIError is any other non-success answer from GitHub, classified so that
// errors.Is(err, ErrNotFound/ErrRefused/ErrUnauthorized) works.
type APIError struct {
	Method, Path string
	StatusCode   int
	Message      string
	// Refused marks an answer other than 403 that still means "GitHub
	// will not do this": 400 or 422 to a delete (the last version).
	Refused bool
	// Token is set when the answer says the token is the problem (401,
	// a missing scope, SAML SSO): the error then matches ErrTokenProblem.
	// A 403 with Token set still matches ErrRefused; callers that tell a
	// token problem from a refusal of one version check ErrTokenProblem
	// first.
	Token *TokenProblem
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is maps the status to the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRefused:
		return e.StatusCode == http.StatusForbidden || e.Refused
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrTokenProblem:
		return e.Token != nil
	case ErrNamespaceReused:
		return (e.StatusCode == http.StatusForbidden || e.Refused) && strings.Contains(strings.ToLower(e.Message), "created since")
	}
	return false
}

// StatusOf is the HTTP status of GitHub's error answer as go-github returns
// it (*github.ErrorResponse, also wrapped), 0 for any other error: for
// callers of a plain go-github client (the App's installation client).
func StatusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// Message is GitHub's message in an error answer (what a refusal says),
// or the error's text when err is no answer of GitHub's.
func Message(err error) string {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return apiErr.Message
	}
	return err.Error()
}

// IsRefusal reports whether resp is a refusal: 403 without Retry-After and
// with X-RateLimit-Remaining above 0. A 403 without any X-RateLimit-Remaining
// header is treated as a refusal too, since nothing says to wait.
func IsRefusal(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		return false
	}
	_, limited := RateLimitWait(resp, time.Time{})
	return !limited
}

// RateLimitWait reports whether resp is a rate limit (403 or 429 with
// Retry-After or X-RateLimit-Remaining: 0; any 429; a 403 whose body is
// GitHub's secondary-limit message) and how long to wait, measured from
// now. Retry-After wins over X-RateLimit-Reset; an answer naming neither
// waits DefaultSecondaryWait.
func RateLimitWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return 0, false
	}
	if ra := strings.TrimSpace(resp.Header.Get("Retry-After")); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return max(at.Sub(now), 0), true
		}
		// An unparsable Retry-After still says "rate limited".
		return DefaultSecondaryWait, true
	}
	if strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining")) == "0" {
		if reset, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64); err == nil {
			if now.IsZero() {
				return 0, true
			}
			return max(time.Unix(reset, 0).Sub(now), 0), true
		}
		return DefaultSecondaryWait, true
	}
	if resp.StatusCode == http.StatusTooManyRequests || secondaryLimitBody(resp) {
		return DefaultSecondaryWait, true
	}
	return 0, false
}

// secondaryLimitBody tells a 403 secondary rate limit that carries neither
// Retry-After nor X-RateLimit-Remaining: 0 (GitHub documents that it may)
// from a refusal, by GitHub's message or documentation_url. It reads at
// most 64 KiB of the body and puts them back, so callers read it whole.
func secondaryLimitBody(resp *http.Response) bool {
	if resp.StatusCode != http.StatusForbidden || resp.Body == nil || resp.Body == http.NoBody {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	if err != nil {
		return false
	}
	var e struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	if json.Unmarshal(head, &e) != nil {
		return false
	}
	return strings.Contains(strings.ToLower(e.Message), "secondary rate limit") ||
		strings.Contains(e.DocumentationURL, "secondary-rate-limits")
}

// peekedBody is a response body whose start was read and put back.
type peekedBody struct {
	io.Reader
	closer io.Closer
}

func (b *peekedBody) Close() error { return b.closer.Close() }

// ClassifyResponse turns a non-success response into *RateLimitError or
// *APIError, and returns nil for 2xx and 304. It does not read the body.
func ClassifyResponse(resp *http.Response, now time.Time) error {
	if resp == nil {
		return nil
	}
	if (resp.StatusCode >= 200 && resp.StatusCode < 300) || resp.StatusCode == http.StatusNotModified {
		return nil
	}
	method, path := requestName(resp.Request)
	if wait, limited := RateLimitWait(resp, now); limited {
		return &RateLimitError{
			Method: method, Path: path, StatusCode: resp.StatusCode,
			Wait: wait, Reset: resetTime(resp),
			Secondary: resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") != "0",
		}
	}
	return &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Token: tokenProblem(resp, "")}
}

// classify converts what go-github returned into pkgwarden's errors: its own
// rate-limit types (including the ones it raises without a request, when it
// already knows the limit is exhausted) and any error response by status and
// headers. Transport errors pass through wrapped.
func classify(now time.Time, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	var rle *github.RateLimitError
	if errors.As(err, &rle) {
		out := &RateLimitError{Wait: DefaultSecondaryWait, Reset: rle.Rate.Reset.Time, Message: rle.Message}
		if rle.Response != nil {
			out.Method, out.Path = requestName(rle.Response.Request)
			out.StatusCode = rle.Response.StatusCode
		}
		if !out.Reset.IsZero() {
			out.Wait = max(out.Reset.Sub(now), 0)
		}
		return out
	}
	var are *github.AbuseRateLimitError
	if errors.As(err, &are) {
		out := &RateLimitError{Wait: DefaultSecondaryWait, Secondary: true, Message: are.Message}
		if are.Response != nil {
			out.Method, out.Path = requestName(are.Response.Request)
			out.StatusCode = are.Response.StatusCode
		}
		if are.RetryAfter != nil {
			out.Wait = *are.RetryAfter
		}
		return out
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		c := ClassifyResponse(er.Response, now)
		switch c := c.(type) {
		case *RateLimitError:
			c.Message = er.Message
			return c
		case *APIError:
			c.Message = er.Message
			c.Token = tokenProblem(er.Response, er.Message)
			return c
		}
	}
	if resp != nil && resp.Response != nil {
		if c := ClassifyResponse(resp.Response, now); c != nil {
			return fmt.Errorf("%w (%v)", c, err)
		}
	}
	return err
}

func resetTime(resp *http.Response) time.Time {
	if reset, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64); err == nil {
		return time.Unix(reset, 0)
	}
	return time.Time{}
}

// requestName gives method and path of a request for messages; the query
// and host are left out (the query may name a page, never a secret, but
// keeping messages short keeps them readable).
func requestName(req *http.Request) (string, string) {
	if req == nil || req.URL == nil {
		return "", ""
	}
	return req.Method, req.URL.EscapedPath()
}
