package handlers

import (
	"context"
	"html/template"
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

// setupPage is where GitHub sends the person who installed (or changed) the
// App: the manifest's setup_url. It says what happens next.
var setupPage = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pkgwarden installed</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5">
<h1>pkgwarden is installed</h1>
{{if .Installation}}<p>Installation {{.Installation}}{{if .Action}} ({{.Action}}){{end}}.</p>{{end}}
<p>From now on pkgwarden reacts to every package published in the repositories you chose,
and sweeps them regularly. It does nothing to a package until rules say so:</p>
<ul>
<li>put rules in <code>.github/pkgwarden.yml</code> on a repository's default branch for the
packages linked to it, or in the owner's <code>.github</code> repository for every other
package (and as defaults with a <code>policy</code> that bounds every repository);</li>
<li>include that <code>.github</code> repository in the installation, so pkgwarden can read it and
report there;</li>
<li>give pkgwarden a packages token for this owner (<code>PKGWARDEN_PACKAGES_TOKENS</code>): without one
it opens an issue saying what to configure, and deletes and restores nothing.</li>
</ul>
<p>Every change is reported in an issue of the package's repository, with a box to tick to
restore what was deleted. Try rules first with <code>pkgwarden plan</code>: it never deletes anything.</p>
</body></html>
`))

// Setup answers GitHub's redirect after an installation (GET /setup, with
// installation_id and setup_action in the query) with what to do next.
func Setup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		data := struct{ Installation, Action string }{q.Get("installation_id"), q.Get("setup_action")}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// html/template escapes the query's values.
		_ = setupPage.Execute(w, data)
	})
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
	mux.Handle("GET /setup", Setup())
	return mux
}
