package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/queue"
)

// gitHubWiring is what the roles that work as the App (worker, scheduler)
// build their way to GitHub from: the App's key, the request metrics, the
// owners' packages tokens and the paced transport their requests share.
type gitHubWiring struct {
	key []byte
	obs *githubapi.PrometheusObserver
	// pcfg and pkv are the packages pacing and its bucket, which the
	// worker's App pacing starts from.
	pcfg   pacing.Config
	pkv    jetstream.KeyValue
	tokens *githubapi.PackagesTokens
	// packagesTr carries every request made with a packages token: paced
	// per token across every replica (the pacing KV bucket), under the
	// retrying transport so that every attempt waits its turn.
	packagesTr http.RoundTripper
}

// wireGitHub builds the gitHubWiring of serve's worker and scheduler roles
// (and so of the demo, which runs serve).
func wireGitHub(ctx context.Context, s settings.Settings, q *queue.Queue, reg prometheus.Registerer, opts serveOptions, logger *slog.Logger) (gitHubWiring, error) {
	var w gitHubWiring
	key, err := os.ReadFile(s.PrivateKeyPath)
	if err != nil {
		return w, fmt.Errorf("PKGWARDEN_PRIVATE_KEY_PATH: %w", err)
	}
	// The same series for every role's requests in a process.
	obs, err := githubapi.NewPrometheusObserver(reg)
	if err != nil {
		return w, err
	}
	pcfg := pacing.Config{Points: s.PacingPoints, Mutating: s.PacingMutating}
	if opts.Pacing != nil {
		pcfg = *opts.Pacing
	}
	if err := pcfg.Validate(); err != nil {
		return w, fmt.Errorf("PKGWARDEN_PACING_*: %w", err)
	}
	pkv, err := untilUp(ctx, logger, "pacing bucket", func(ctx context.Context) (jetstream.KeyValue, error) {
		return pacing.CreateBucket(ctx, q.JS, s.NATSReplicas)
	})
	if err != nil {
		return w, err
	}
	pacer, err := pacing.New(pkv, pcfg, pacing.WithObserver(obs), pacing.WithLogger(logger))
	if err != nil {
		return w, err
	}
	tokens, err := packagesTokens(s)
	if err != nil {
		return w, err
	}
	return gitHubWiring{key: key, obs: obs, pcfg: pcfg, pkv: pkv, tokens: tokens,
		packagesTr: githubapi.NewTransport(pacer.Wrap(nil), githubapi.RetryPolicy{}, obs)}, nil
}
