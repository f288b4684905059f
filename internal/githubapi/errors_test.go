package githubapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestClassifyResponse(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	reset := strconv.FormatInt(now.Add(90*time.Second).Unix(), 10)
	tests := map[string]struct {
		status    int
		headers   map[string]string
		body      string
		refusal   bool
		limited   bool
		wait      time.Duration
		secondary bool
		is        error
	}{
		"403 refusal":                   {status: 403, headers: map[string]string{"X-RateLimit-Remaining": "4999"}, refusal: true, is: ErrRefused},
		"403 without rate headers":      {status: 403, refusal: true, is: ErrRefused},
		"403 remaining 0":               {status: 403, headers: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, limited: true, wait: 90 * time.Second},
		"403 remaining 0 no reset":      {status: 403, headers: map[string]string{"X-RateLimit-Remaining": "0"}, limited: true, wait: DefaultSecondaryWait},
		"403 Retry-After":               {status: 403, headers: map[string]string{"Retry-After": "60", "X-RateLimit-Remaining": "4000"}, limited: true, wait: time.Minute, secondary: true},
		"429 Retry-After":               {status: 429, headers: map[string]string{"Retry-After": "5"}, limited: true, wait: 5 * time.Second, secondary: true},
		"429 Retry-After date":          {status: 429, headers: map[string]string{"Retry-After": now.Add(2 * time.Minute).Format(http.TimeFormat)}, limited: true, wait: 2 * time.Minute, secondary: true},
		"429 bare":                      {status: 429, limited: true, wait: DefaultSecondaryWait, secondary: true},
		"429 remaining 0 reset in past": {status: 429, headers: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, limited: true, wait: 0},
		"403 refusal with its message": {status: 403, body: `{"message":"Publicly visible package versions with more than 5000 downloads cannot be deleted."}`,
			refusal: true, is: ErrRefused},
		"403 secondary limit by its message only": {status: 403, headers: map[string]string{"X-RateLimit-Remaining": "4000"},
			body:    `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			limited: true, wait: DefaultSecondaryWait, secondary: true},
		"403 secondary limit by its documentation_url": {status: 403,
			body:    `{"message":"Slow down.","documentation_url":"https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-secondary-rate-limits"}`,
			limited: true, wait: DefaultSecondaryWait, secondary: true},
		"404":                  {status: 404, is: ErrNotFound},
		"401":                  {status: 401, is: ErrUnauthorized},
		"500 with Retry-After": {status: 500, headers: map[string]string{"Retry-After": "1"}},
		"200":                  {status: 200},
		"304":                  {status: 304},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodDelete, "https://api.github.com/orgs/acme/packages/container/app/versions/1", nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Request: req, Body: io.NopCloser(strings.NewReader(tc.body))}
			for k, v := range tc.headers {
				resp.Header.Set(k, v)
			}
			defer func() {
				// Whatever was read to classify the answer was put back.
				if b, err := io.ReadAll(resp.Body); err != nil || string(b) != tc.body {
					t.Errorf("body after classifying = %q, %v; want %q", b, err, tc.body)
				}
			}()
			if got := IsRefusal(resp); got != tc.refusal {
				t.Errorf("IsRefusal = %t, want %t", got, tc.refusal)
			}
			wait, limited := RateLimitWait(resp, now)
			if limited != tc.limited || wait != tc.wait {
				t.Errorf("RateLimitWait = %v, %t; want %v, %t", wait, limited, tc.wait, tc.limited)
			}
			err := ClassifyResponse(resp, now)
			var rl *RateLimitError
			switch {
			case tc.limited:
				if !errors.As(err, &rl) || rl.Wait != tc.wait || rl.Secondary != tc.secondary {
					t.Errorf("ClassifyResponse = %#v, want a RateLimitError waiting %v (secondary %t)", err, tc.wait, tc.secondary)
				}
			case tc.is != nil:
				if !errors.Is(err, tc.is) {
					t.Errorf("ClassifyResponse = %v, want errors.Is %v", err, tc.is)
				}
			case tc.status >= 400:
				var apiErr *APIError
				if !errors.As(err, &apiErr) || errors.Is(err, ErrRefused) || errors.Is(err, ErrNotFound) {
					t.Errorf("ClassifyResponse = %v, want a plain APIError", err)
				}
			default:
				if err != nil {
					t.Errorf("ClassifyResponse = %v, want nil", err)
				}
			}
		})
	}
}

// TestNamespaceReused: GitHub's refusal to restore a package whose name a
// new package took is ErrNamespaceReused (and ErrRefused); other refusals
// are not.
func TestNamespaceReused(t *testing.T) {
	tests := map[string]struct {
		status int
		msg    string
		reused bool
	}{
		"reused":          {403, "A package with this name was created since this one was deleted. Delete the new package first to restore this one.", true},
		"another refusal": {403, "Publicly visible package versions with more than 5000 downloads cannot be deleted.", false},
		"not found":       {404, "A package with this name was created since this one was deleted.", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "https://api.github.com/orgs/acme/packages/container/app/restore", nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Request: req, Body: io.NopCloser(strings.NewReader(""))}
			err := classify(time.Now(), &github.Response{Response: resp}, &github.ErrorResponse{Response: resp, Message: tc.msg})
			if got := errors.Is(err, ErrNamespaceReused); got != tc.reused {
				t.Errorf("errors.Is(%v, ErrNamespaceReused) = %t, want %t", err, got, tc.reused)
			}
			if tc.reused && !errors.Is(err, ErrRefused) {
				t.Errorf("%v is not a refusal", err)
			}
		})
	}
}

func TestPrometheusObserver(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs, err := NewPrometheusObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	obs.ObserveRequest("GET", 200)
	obs.ObserveRequest("GET", 200)
	obs.ObserveRequest("DELETE", 0)
	obs.ObserveRateRemaining(4321)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				got[key] = g.GetValue()
			}
		}
	}
	want := map[string]float64{
		"pkgwarden_github_requests_total code=200 method=GET":      2,
		"pkgwarden_github_requests_total code=error method=DELETE": 1,
		"pkgwarden_github_rate_remaining":                          4321,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	// A second observer on the same registry (serve's scheduler next to
	// its workers) counts into the same series.
	again, err := NewPrometheusObserver(reg)
	if err != nil {
		t.Fatalf("second observer on one registry: %v", err)
	}
	again.ObserveRequest("GET", 200)
	if n := testutil.ToFloat64(obs.requests.WithLabelValues("GET", "200")); n != 3 {
		t.Errorf("GET 200 after a request through the second observer = %v, want 3", n)
	}
	// A different metric under the same name is still refused.
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "pkgwarden_github_requests_total", Help: "other"}))
	if _, err := NewPrometheusObserver(clash); err == nil {
		t.Errorf("registering over a different pkgwarden_github_requests_total succeeded, want an error")
	}
}
