package githubapi

import (
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

// NewPrometheusObserver registers the two metrics with reg.
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
	for _, c := range []prometheus.Collector{o.requests, o.remaining} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register github metrics: %w", err)
		}
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
