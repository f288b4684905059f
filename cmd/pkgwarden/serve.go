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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/check"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
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
	return serve(ctx, s, serveOptions{Logger: newServeLogger(stderr, s.LogFormat)})
}

// newServeLogger is serve's logger: JSON lines, or slog's key=value text
// lines for format "text" (PKGWARDEN_LOG_FORMAT), with durations written
// as people read them ("5s", "1m30s") rather than as nanoseconds in both.
func newServeLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{ReplaceAttr: durationText}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// durationText writes a duration attribute as its String.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// serveOptions are what an in-process serve (the demo) adds to settings.
type serveOptions struct {
	Logger *slog.Logger
	// Reporter, when set, is told about each prune run after its issues
	// are written.
	Reporter prune.Reporter
	// Ready, when set, is called with the HTTP address once serving.
	Ready func(addr string)
	// Queue, when set, is called with the queue once it is set up.
	Queue func(q *queue.Queue)
	// Access, when set, is called with the process's way to GitHub once
	// it is built (with the App configured), before Ready.
	Access func(a *planner.Access)
	// Pacing, when set, replaces the pacing budget the settings give.
	Pacing *pacing.Config
	// Restores, when set, is told about each restore run.
	Restores restore.Recorder
}

// serve runs the server, workers and scheduler with validated settings
// until ctx ends.
func serve(ctx context.Context, s settings.Settings, opts serveOptions) error {
	logger := opts.Logger
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
	if opts.Queue != nil {
		opts.Queue(q)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var intake http.Handler
	if s.HasRole(settings.RoleWeb) {
		intake = handlers.NewIntake(s.WebhookSecret, q, handlers.NewIntakeMetrics(reg), logger).
			WithBodyBudget(int64(s.IntakeBodyBudget))
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
		if opts.Ready != nil {
			opts.Ready(ln.Addr().String())
		}
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fatal <- fmt.Errorf("http server: %w", err)
		}
	}()

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	// One way to GitHub for the roles that work as the App.
	var access *planner.Access
	if s.AppID != 0 && (s.HasRole(settings.RoleWorker) || s.HasRole(settings.RoleScheduler)) {
		if access, err = wireAccess(ctx, s, q, reg, opts, logger); err != nil {
			return err
		}
		if opts.Access != nil {
			opts.Access(access)
		}
	}
	if s.HasRole(settings.RoleWorker) {
		registry := jobs.NewRegistry()
		h, err := jobHandlers(ctx, s, q, access, reg, opts, logger)
		if err != nil {
			return err
		}
		registry.Register(jobs.TypePrune, h.prune)
		registry.Register(jobs.TypeConfig, h.config)
		if h.restore != nil {
			registry.Register(jobs.TypeRestore, h.restore)
		}
		if h.dashboard != nil {
			registry.Register(jobs.TypeDashboard, h.dashboard)
		}
		if h.check != nil {
			registry.Register(jobs.TypeConfigCheck, h.check)
		}
		if err := registerTestHandlers(registry, logger); err != nil {
			return err
		}
		router := jobs.NewRouter(q, jobs.RouterConfig{OwnBotLogin: h.bot, Seal: h.seal, Inventory: h.inventory, Events: h.events}, logger)
		pool := jobs.NewPool(q, registry, jobs.PoolConfig{
			Workers:     s.Workers,
			MaxAttempts: s.JobAttempts,
			Backoff:     s.JobBackoff,
			DeadLetters: h.deadLetters,
		}, jobs.NewMetrics(reg, q), logger)
		wg.Add(2)
		go func() { defer wg.Done(); router.Run(workCtx) }()
		go func() { defer wg.Done(); pool.Run(workCtx) }()
	}
	if s.HasRole(settings.RoleScheduler) {
		sched, err := newScheduler(ctx, s, q, holder, access, logger)
		if err != nil {
			return err
		}
		if sched != nil {
			wg.Add(1)
			go func() { defer wg.Done(); sched.Run(workCtx) }()
		}
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

// KV buckets of the prune job, created idempotently at start.
const (
	bucketManifests = "manifests"
	bucketETags     = "etags"
)

// workerHandlers are the job handlers of a worker and the inventory they share.
type workerHandlers struct {
	prune, restore, config jobs.Handler
	// dashboard rewrites owner dashboards; nil without the App.
	dashboard jobs.Handler
	// check writes the pull request check; nil without the App.
	check     jobs.Handler
	inventory *inventory.Store
	// events counts the package events the router sees, which the
	// pruner's re-checks wait for; nil without the App.
	events *jobs.PackageEvents
	// app is the GitHub App the handlers work as; nil without one.
	app *githubapi.App
	// bot is the App's bot login ("" when unknown): only its issues are
	// reports. seal signs and verifies the boxes it writes.
	bot  string
	seal report.Seal
	// deadLetters is told of jobs that failed every attempt (the owner's
	// dead-letter issue); nil without the App.
	deadLetters jobs.DeadLetterReporter
}

// jobHandlers builds the job handlers: the real ones when the App is
// configured (its installation reads the rules), else ones that only log,
// since rules cannot be read without the App, and no restore handler.
func jobHandlers(ctx context.Context, s settings.Settings, q *queue.Queue, access *planner.Access, reg prometheus.Registerer, opts serveOptions, logger *slog.Logger) (workerHandlers, error) {
	if s.AppID == 0 {
		logger.Warn("PKGWARDEN_APP_ID is not set: prune jobs are logged, nothing is deleted (rules are read as the App)")
		logOnly := jobs.HandlerFunc(func(ctx context.Context, job jobs.Job) error {
			job.Logger(logger).InfoContext(ctx, "config change noticed; no GitHub App configured, nothing read", "reason", job.Reason)
			return nil
		})
		return workerHandlers{prune: prune.Unconfigured{Logger: logger}, config: logOnly, check: logOnly, bot: s.BotLogin()}, nil
	}
	return appHandlers(ctx, s, q, access, reg, opts, logger)
}

// appHandlers builds the handlers that work as the App.
func appHandlers(ctx context.Context, s settings.Settings, q *queue.Queue, access *planner.Access, reg prometheus.Registerer, opts serveOptions, logger *slog.Logger) (workerHandlers, error) {
	var none workerHandlers
	app := access.App
	runs, err := untilUp(ctx, logger, "run bucket", func(ctx context.Context) (*prune.KVRunStore, error) {
		return prune.OpenKVRunStore(ctx, q.JS, s.NATSReplicas, 0)
	})
	if err != nil {
		return none, err
	}
	// The pruner logs every run itself; the reporters write issues, and
	// find again only those the App's bot wrote. The boxes' seal is keyed
	// by the webhook secret, which only GitHub and pkgwarden know.
	bot := botLogin(ctx, s, app, logger)
	seal := report.NewSeal([]byte(s.WebhookSecret))
	// Report issues are found again by the number remembered in the
	// etags bucket, read conditionally (a 304 is free).
	issues := report.New(app, nil, logger, report.WithBot(bot), report.WithSeal(seal), report.WithCache(access.ETags))
	inv, err := inventory.Open(ctx, q.JS, s.NATSReplicas, nil)
	if err != nil {
		return none, err
	}
	events, err := untilUp(ctx, logger, "package events bucket", func(ctx context.Context) (*jobs.PackageEvents, error) {
		return jobs.OpenPackageEvents(ctx, q.JS, s.NATSReplicas)
	})
	if err != nil {
		return none, err
	}
	dashboards := &prune.Dashboards{Inventory: inv, Queue: q}
	reporters := prune.Reporters{prune.IssueReporter{Issues: issues, Logger: logger, Dashboards: dashboards}}
	if opts.Reporter != nil {
		reporters = append(reporters, opts.Reporter)
	}
	if s.Paused {
		logger.Warn("PKGWARDEN_PAUSED: prune jobs plan and report, and delete nothing")
	}
	pruner, err := prune.New(prune.Config{
		Access: access, Runs: runs, Reporter: reporters, TokenIssues: issues, Paused: s.Paused,
		ConfigPending: runs, ConfigIssues: issues, HealQueue: q, Events: events,
		Inventory: inv, Metrics: prune.NewMetrics(reg), Logger: logger,
	})
	if err != nil {
		return none, err
	}
	restorer, err := restore.New(restore.Config{
		Access: access, Inventory: inv, Issues: issues, Recorder: opts.Restores, Paused: s.Paused, Metrics: restore.NewMetrics(reg), Logger: logger,
	})
	if err != nil {
		return none, err
	}
	// A push that changes a configuration file: the invalid-config issue
	// at once, then prunes of the packages the file governs.
	cfgHandler, err := prune.NewConfigHandler(prune.ConfigJobConfig{
		Access: access, Issues: issues, Pending: runs, Queue: q, Logger: logger,
	})
	if err != nil {
		return none, err
	}
	dashboard := prune.DashboardHandler{Inventory: inv, Issues: issues, Logger: logger}
	// A pull request that changes a rules file: the pkgwarden check run,
	// and nothing else.
	checker, err := check.New(check.Config{Access: access, Logger: logger})
	if err != nil {
		return none, err
	}
	return workerHandlers{prune: pruner, restore: restorer, config: cfgHandler, dashboard: dashboard, check: checker, inventory: inv, events: events, app: app, bot: bot, seal: seal, deadLetters: issues}, nil
}

// packagesTokens turns the settings' tokens (environment and data dir,
// already merged) into githubapi's resolver.
func packagesTokens(s settings.Settings) (*githubapi.PackagesTokens, error) {
	pairs := make([]string, 0, len(s.PackagesTokens))
	for owner, tok := range s.PackagesTokens {
		pairs = append(pairs, owner+"="+tok)
	}
	slices.Sort(pairs)
	tokens, err := githubapi.ParsePackagesTokens(strings.Join(pairs, ","), s.PackagesToken)
	if err != nil {
		return nil, err
	}
	return tokens, nil
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
		if nc.IsClosed() {
			// nats.go gave up (an authorization failure closes the
			// connection): retrying would wait forever in silence.
			return nil, fmt.Errorf("set up streams: nats connection closed: %v", nc.LastError())
		}
		logger.Warn("set up streams failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("set up streams: %w", err)
		case <-time.After(2 * time.Second):
		}
	}
}

// untilUp opens a bucket, retrying while the cluster cannot answer (a
// node restarting, no meta leader yet), like setupQueue: a NATS restart
// during startup must not make pkgwarden exit.
func untilUp[T any](ctx context.Context, logger *slog.Logger, what string, open func(context.Context) (T, error)) (T, error) {
	for {
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := open(octx)
		cancel()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, fmt.Errorf("%s: %w", what, err)
		}
		logger.Warn("open bucket failed, retrying", "bucket", what, "err", err)
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%s: %w", what, err)
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

// botLogin is the App's bot account ("<slug>[bot]"). The router ignores
// its events, so that pkgwarden never reacts to its own issue edits, and
// only issues it wrote are reports. PKGWARDEN_APP_SLUG (written by
// `pkgwarden register`) gives it; when only the App is configured, GitHub
// is asked (GET /app with the App's JWT). It is "" when neither works,
// which is logged: pkgwarden then takes no issue for a report (no box or
// command is acted upon) and finds none of its issues again.
func botLogin(ctx context.Context, s settings.Settings, app *githubapi.App, logger *slog.Logger) string {
	if login := s.BotLogin(); login != "" || app == nil {
		return login
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, _, err := app.AppClient().Apps.Get(ctx, "")
	if err == nil && a.GetSlug() == "" {
		err = errors.New("no slug in the answer")
	}
	if err != nil {
		logger.Warn("cannot tell the App's bot login: set PKGWARDEN_APP_SLUG, without it no report command or box is acted upon and report issues are opened anew", "err", fmt.Errorf("GET /app: %w", err))
		return ""
	}
	logger.Info("app slug from GitHub", "slug", a.GetSlug())
	s.AppSlug = a.GetSlug()
	return s.BotLogin()
}

// inProcess is serve started in this process (the demo, the end-to-end
// tests), with its HTTP address and queue once it listens, and its way to
// GitHub (nil without the App).
type inProcess struct {
	Addr   string
	Queue  *queue.Queue
	Access *planner.Access

	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

// startInProcess runs serve in a goroutine and returns once it listens and
// its queue is up, or with the error serve stopped with, or ctx's. Serve
// itself runs until Stop, whatever becomes of ctx. opts.Ready, opts.Queue
// and opts.Access are its own.
func startInProcess(ctx context.Context, s settings.Settings, opts serveOptions) (*inProcess, error) {
	ready, queued := make(chan string, 1), make(chan *queue.Queue, 1)
	opts.Ready = func(a string) { ready <- a }
	opts.Queue = func(q *queue.Queue) { queued <- q }
	serveCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &inProcess{stop: stop, done: make(chan error, 1)}
	// serve calls Access before Ready, in its goroutine: the receive of
	// the address below orders this write before any read of p.Access.
	opts.Access = func(a *planner.Access) { p.Access = a }
	go func() { p.done <- serve(serveCtx, s, opts) }()
	for p.Queue == nil || p.Addr == "" {
		select {
		case p.Queue = <-queued:
		case p.Addr = <-ready:
		case err := <-p.done:
			stop()
			return nil, fmt.Errorf("serve stopped: %w", err)
		case <-ctx.Done():
			_ = p.Stop()
			return nil, fmt.Errorf("serve did not start: %w", ctx.Err())
		}
	}
	return p, nil
}

// Stop stops serve and waits for it to return; it returns serve's error.
// It may be called more than once.
func (p *inProcess) Stop() error {
	p.once.Do(func() {
		p.stop()
		p.err = <-p.done
	})
	return p.err
}
