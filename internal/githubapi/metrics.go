package githubapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// PrometheusObserver exports pkgwarden_github_requests_total{method,code}
// and pkgwarden_github_rate_remaining. code is the HTTP status, or "error"
// when no response arrived.
type PrometheusObserver struct {
	requests  *prometheus.CounterVec
	remaining prometheus.Gauge
}

// NewPrometheusObserver registers the two metrics with reg. Called again
// with the same reg (serve's workers and its scheduler each build one), it
// returns an observer on the metrics already registered, so that every
// request of the process lands in the same series.
func NewPrometheusObserver(reg prometheus.Registerer) (*PrometheusObserver, error) {
	o := &PrometheusObserver{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkgwarden_github_requests_total",
			Help: "HTTP requests sent to the GitHub API, each retry attempt counted, by method and status code.",
		}, []string{"method", "code"}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pkgwarden_github_rate_remaining",
			Help: "X-RateLimit-Remaining of the last GitHub API response that carried it.",
		}),
	}
	if err := reg.Register(o.requests); err != nil {
		existing, ok := alreadyRegistered[*prometheus.CounterVec](err)
		if !ok {
			return nil, fmt.Errorf("register github metrics: %w", err)
		}
		o.requests = existing
	}
	if err := reg.Register(o.remaining); err != nil {
		existing, ok := alreadyRegistered[prometheus.Gauge](err)
		if !ok {
			return nil, fmt.Errorf("register github metrics: %w", err)
		}
		o.remaining = existing
	}
	return o, nil
}

// ObserveRequest implements Observer.
func (o *PrometheusObserver) ObserveRequest(method string, code int) {
	label := "error"
	if code != 0 {
		label = strconv.Itoa(code)
	}
	o.requests.WithLabelValues(method, label).Inc()
}

// ObserveRateRemaining implements Observer.
func (o *PrometheusObserver) ObserveRateRemaining(remaining int) {
	o.remaining.Set(float64(remaining))
}

// alreadyRegistered returns the collector of the same description that a
// registry already holds, when err says so and it has the type wanted.
func alreadyRegistered[C prometheus.Collector](err error) (C, bool) {
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		c, ok := are.ExistingCollector.(C)
		return c, ok
	}
	var zero C
	return zero, false
}
