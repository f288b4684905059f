package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
)

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pkgwarden serve\n\nSettings come from PKGWARDEN_* environment variables, then from the files\n`register` writes into the data dir (the environment wins):")
		_ = settings.Usage(stderr)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, fs.Args())
	}
	s, err := settings.Load()
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	logger.Info("pkgwarden starting", "version", versionString(), "settings", s.String())

	nc, emb, err := connectNATS(ctx, s, logger)
	if err != nil {
		return err
	}
	// Shutdown order matters: the connection drains before the embedded
	// server stops, so acknowledgements in flight are not lost.
	defer func() {
		if err := drain(nc); err != nil {
			logger.Warn("nats drain", "err", err)
		}
		if emb != nil {
			if err := emb.Shutdown(); err != nil {
				logger.Warn("embedded nats shutdown", "err", err)
			}
		}
		logger.Info("pkgwarden stopped")
	}()

	holder, _ := os.Hostname()
	holder = fmt.Sprintf("%s:%d", holder, os.Getpid())
	qcfg := queue.DefaultConfig()
	qcfg.Replicas = s.NATSReplicas
	qcfg.DuplicateWindow = s.DuplicateWindow
	qcfg.LeaseTTL = s.LeaseTTL
	// A job of a dead worker moves on when its lease expires, not later.
	qcfg.AckWait = s.LeaseTTL
	q, err := setupQueue(ctx, nc, qcfg, holder, logger)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var intake http.Handler
	if s.HasRole(settings.RoleWeb) {
		intake = handlers.NewIntake(s.WebhookSecret, q, handlers.NewIntakeMetrics(reg), logger)
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("PKGWARDEN_LISTEN %s: %w", s.Listen, err)
	}
	srv := &http.Server{
		Handler:           handlers.NewMux(intake, q, reg),
		ReadHeaderTimeout: s.HTTPReadHeaderTimeout,
		ReadTimeout:       s.HTTPReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fatal := make(chan error, 1)
	go func() {
		logger.Info("http listening", "addr", ln.Addr().String(), "webhooks", intake != nil)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fatal <- fmt.Errorf("http server: %w", err)
		}
	}()

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	if s.HasRole(settings.RoleWorker) {
		registry := jobs.NewRegistry()
		registry.Register(jobs.TypePrune, jobs.PruneHandler{Logger: logger})
		if err := registerTestHandlers(registry, logger); err != nil {
			return err
		}
		router := jobs.NewRouter(q, jobs.RouterConfig{OwnBotLogin: s.BotLogin()}, logger)
		pool := jobs.NewPool(q, registry, jobs.PoolConfig{
			Workers:     s.Workers,
			MaxAttempts: s.JobAttempts,
			Backoff:     s.JobBackoff,
		}, jobs.NewMetrics(reg, q), logger)
		wg.Add(2)
		go func() { defer wg.Done(); router.Run(workCtx) }()
		go func() { defer wg.Done(); pool.Run(workCtx) }()
	}
	if s.HasRole(settings.RoleScheduler) {
		logger.Info("scheduler role: no sweeps are defined yet", "sweep_interval", s.SweepInterval.String())
	}
	logger.Info("pkgwarden ready", "roles", s.Roles, "paused", s.Paused)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping: signal received")
	case runErr = <-fatal:
		logger.Error("stopping", "err", runErr)
	}
	// Stop taking webhooks first, then let workers finish their jobs.
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	stopWork()
	wg.Wait()
	return runErr
}

// connectNATS starts the embedded server, or connects to the external one.
func connectNATS(ctx context.Context, s settings.Settings, logger *slog.Logger) (*nats.Conn, *queue.Embedded, error) {
	if s.ExternalNATS() {
		nc, err := queue.ConnectExternal(s.NATSURL, s.NATSCreds, logger)
		return nc, nil, err
	}
	emb, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{
		DataDir:    s.DataDir,
		Listen:     s.NATSListen,
		SyncAlways: s.NATSSyncAlways,
		Logger:     logger,
	})
	if err != nil {
		return nil, nil, err
	}
	if url := emb.ClientURL(); url != "" {
		logger.Info("embedded nats listening", "url", url)
	}
	nc, err := emb.Connect()
	if err != nil {
		emb.Shutdown()
		return nil, nil, err
	}
	return nc, emb, nil
}

// setupQueue creates the streams, retrying while an external server is
// still out of reach: a NATS restart must not make pkgwarden exit.
func setupQueue(ctx context.Context, nc *nats.Conn, cfg queue.Config, holder string, logger *slog.Logger) (*queue.Queue, error) {
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		q, err := queue.Setup(sctx, nc, cfg, holder)
		cancel()
		if err == nil {
			return q, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("set up streams: %w", err)
		}
		logger.Warn("set up streams failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("set up streams: %w", err)
		case <-time.After(2 * time.Second):
		}
	}
}

// drain flushes pending publishes and acks, then closes the connection.
func drain(nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return err
	}
	select {
	case <-closed:
		return nil
	case <-time.After(10 * time.Second):
		nc.Close()
		return errors.New("drain timed out")
	}
}
