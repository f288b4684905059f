package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/queue"
)

// wireAccess builds the one way to GitHub of a serve process (and so of
// the demo, which runs serve): the App, the owners' packages tokens, the
// paced transports, the manifest cache and the ETag store. The worker's
// handlers and the scheduler share it.
func wireAccess(ctx context.Context, s settings.Settings, q *queue.Queue, reg prometheus.Registerer, opts serveOptions, logger *slog.Logger) (*planner.Access, error) {
	key, err := os.ReadFile(s.PrivateKeyPath)
	if err != nil {
		return nil, fmt.Errorf("PKGWARDEN_PRIVATE_KEY_PATH: %w", err)
	}
	// The same series for every role's requests in a process.
	obs, err := githubapi.NewPrometheusObserver(reg)
	if err != nil {
		return nil, err
	}
	pcfg := pacing.Config{Points: s.PacingPoints, Mutating: s.PacingMutating}
	if opts.Pacing != nil {
		pcfg = *opts.Pacing
	}
	if err := pcfg.Validate(); err != nil {
		return nil, fmt.Errorf("PKGWARDEN_PACING_*: %w", err)
	}
	// The App's requests (configuration files, report issues and
	// comments, installations, hook deliveries) are paced too, per token,
	// with their own budget of writes: GitHub limits content creation to
	// 80 a minute, and a rate-limit answer is waited out and sent again
	// rather than failing the job.
	acfg := pcfg
	if s.PacingAppMutating > 0 {
		acfg.Mutating = s.PacingAppMutating
	}
	if err := acfg.Validate(); err != nil {
		return nil, fmt.Errorf("PKGWARDEN_PACING_APP_MUTATING: %w", err)
	}
	pkv, err := untilUp(ctx, logger, "pacing bucket", func(ctx context.Context) (jetstream.KeyValue, error) {
		return pacing.CreateBucket(ctx, q.JS, s.NATSReplicas)
	})
	if err != nil {
		return nil, err
	}
	// Every request made with a packages token is paced per token across
	// every replica (the pacing KV bucket), under the retrying transport
	// so that every attempt waits its turn.
	packagesPacer, err := pacing.New(pkv, pcfg, pacing.WithObserver(obs), pacing.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	appPacer, err := pacing.New(pkv, acfg, pacing.WithObserver(obs), pacing.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: s.AppID, PrivateKey: key, BaseURL: s.GitHubAPIURL,
		Transport: githubapi.NewTransport(appPacer.Wrap(nil), githubapi.RetryPolicy{}, obs)})
	if err != nil {
		return nil, err
	}
	tokens, err := packagesTokens(s)
	if err != nil {
		return nil, err
	}
	cache, err := untilUp(ctx, logger, "manifest cache bucket", func(ctx context.Context) (*registry.KVCache, error) {
		return registry.OpenKVCache(ctx, q.JS, bucketManifests, s.NATSReplicas)
	})
	if err != nil {
		return nil, err
	}
	etags, err := untilUp(ctx, logger, "etag bucket", func(ctx context.Context) (*githubapi.KVETagStore, error) {
		return githubapi.OpenKVETagStore(ctx, q.JS, bucketETags, s.NATSReplicas, 0)
	})
	if err != nil {
		return nil, err
	}
	return &planner.Access{
		App: app, Tokens: tokens, APIURL: s.GitHubAPIURL, RegistryURL: s.RegistryURL,
		PackagesTransport: githubapi.NewTransport(packagesPacer.Wrap(nil), githubapi.RetryPolicy{}, obs),
		// A bounded LRU before the bucket: a package's restore and heal
		// find in memory what its prune just read.
		Cache: registry.Tiered{Front: registry.NewMemoryCache(), Back: cache}, ETags: etags, Logger: logger,
	}, nil
}
