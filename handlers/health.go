package handlers

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness reports whether the process can do its work now.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Healthz answers 200 while the process runs.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

// Readyz answers 200 when ready, else 503 with the reason.
func Readyz(r Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := r.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready: "+err.Error()+"\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
}

// Metrics serves the metrics of g in Prometheus' text format.
func Metrics(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// NewMux routes pkgwarden's endpoints. intake may be nil for a process
// without the web role, which still serves health and metrics.
func NewMux(intake http.Handler, ready Readiness, g prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	if intake != nil {
		mux.Handle("/webhooks", intake)
	}
	mux.Handle("GET /healthz", Healthz())
	mux.Handle("GET /readyz", Readyz(ready))
	mux.Handle("GET /metrics", Metrics(g))
	return mux
}
