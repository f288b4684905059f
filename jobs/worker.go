package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/queue"
)

// Results counted in pkgwarden_jobs_total.
const (
	ResultSuccess    = "success"
	ResultRetry      = "retry"
	ResultDeadLetter = "dead_letter"
	// ResultBusy is a job put back because its package was busy; it is
	// not a failed attempt.
	ResultBusy = "busy"
)

// PoolConfig configures a worker pool.
type PoolConfig struct {
	// Workers is how many jobs this process runs at once.
	Workers int
	// MaxAttempts is how many times a failing job runs; the last failure
	// goes to the dead-letter stream.
	MaxAttempts int
	// Backoff is the delay after the first failure; it doubles per
	// attempt up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// BusyDelay is how long a job for a busy package waits before it is
	// offered again.
	BusyDelay time.Duration
	// Heartbeat is how often a running job tells JetStream it is alive
	// and refreshes its lease; well under the consumer's AckWait and the
	// lease TTL.
	Heartbeat time.Duration
	// ShutdownGrace is how long running jobs may finish after the pool is
	// told to stop, before their context is cancelled.
	ShutdownGrace time.Duration
	// DeadLetters, when set, is told of every job moved to the
	// dead-letter stream (serve: the owner's dead-letter issue).
	DeadLetters DeadLetterReporter
}

// Metrics are the workers' Prometheus metrics.
type Metrics struct {
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the job metrics with reg; the two gauges read the
// jobs and dead-letter streams of q when scraped.
func NewMetrics(reg prometheus.Registerer, q *queue.Queue) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkgwarden_jobs_total",
			Help: "Job attempts by type and result (success, retry, dead_letter, busy).",
		}, []string{"type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pkgwarden_job_duration_seconds",
			Help:    "Time a job's handler ran, by type.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 9),
		}, []string{"type"}),
	}
	count := func(s jetstream.Stream) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := queue.CountMessages(ctx, s)
			if err != nil {
				return -1
			}
			return float64(n)
		}
	}
	reg.MustRegister(m.jobs, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pkgwarden_queue_pending",
			Help: "Jobs waiting or running (-1 when NATS cannot say).",
		}, count(q.Jobs)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pkgwarden_dead_letters",
			Help: "Jobs in the dead-letter stream (-1 when NATS cannot say).",
		}, count(q.DeadLetters)),
	)
	return m
}

// Pool runs jobs from the shared workers consumer.
type Pool struct {
	q       *queue.Queue
	reg     *Registry
	cfg     PoolConfig
	metrics *Metrics
	log     *slog.Logger
	dlMu    sync.Mutex // one dead-letter report at a time
}

// NewPool returns a pool; zero values in cfg get defaults, a nil metrics
// or logger one that goes nowhere.
func NewPool(q *queue.Queue, reg *Registry, cfg PoolConfig, metrics *Metrics, logger *slog.Logger) *Pool {
	if metrics == nil {
		metrics = NewMetrics(prometheus.NewRegistry(), q)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.BusyDelay <= 0 {
		cfg.BusyDelay = time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = q.Leases.TTL() / 3
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 20 * time.Second
	}
	return &Pool{q: q, reg: reg, cfg: cfg, metrics: metrics, log: logger}
}

// Run runs the workers until ctx ends, then lets running jobs finish for
// up to ShutdownGrace.
func (p *Pool) Run(ctx context.Context) error {
	cons, err := p.q.JS.Consumer(ctx, queue.StreamJobs, queue.ConsumerWorkers)
	if err != nil {
		return fmt.Errorf("workers: consumer %s: %w", queue.ConsumerWorkers, err)
	}
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(p.cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelJobs()
		case <-jobCtx.Done():
		}
	})
	defer stopGrace()

	var wg sync.WaitGroup
	for i := range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx, jobCtx, cons, p.log.With("worker", i))
		}()
	}
	wg.Wait()
	return nil
}

// work pulls one message at a time until ctx ends.
func (p *Pool) work(ctx, jobCtx context.Context, cons jetstream.Consumer, log *slog.Logger) {
	pull(ctx, cons, log, "workers", func(msg jetstream.Msg) { p.process(ctx, jobCtx, msg, log) })
}

// process runs one job message to an ack, a nak, or a dead letter.
func (p *Pool) process(ctx, jobCtx context.Context, msg jetstream.Msg, log *slog.Logger) {
	meta, err := msg.Metadata()
	if err != nil {
		log.Error("workers: message without metadata", "err", err)
		_ = msg.Term()
		return
	}
	var job Job
	if err := json.Unmarshal(msg.Data(), &job); err != nil {
		p.deadLetter(jobCtx, msg, "unknown", 0, fmt.Errorf("decode job: %w", err), log)
		return
	}
	log = job.Logger(log).With("seq", meta.Sequence.Stream)
	h, ok := p.reg.Lookup(job.Type)
	if !ok {
		p.deadLetter(jobCtx, msg, job.Type, 0, fmt.Errorf("no handler for job type %q", job.Type), log)
		return
	}
	lease, err := p.q.Leases.TryAcquire(jobCtx, job.LeaseName())
	if errors.Is(err, queue.ErrBusy) {
		// Another worker is on this package. Waiting is not a failure;
		// whatever this job asks will run once the holder is done.
		p.metrics.jobs.WithLabelValues(job.Type, ResultBusy).Inc()
		_ = msg.NakWithDelay(p.cfg.BusyDelay)
		return
	}
	if err != nil {
		log.Warn("workers: lease unavailable, job put back", "err", err)
		_ = msg.NakWithDelay(p.cfg.BusyDelay)
		return
	}

	runErr := p.run(jobCtx, h, job, msg, lease, log)

	relCtx, cancel := context.WithTimeout(context.WithoutCancel(jobCtx), 5*time.Second)
	defer cancel()
	if err := lease.Release(relCtx); err != nil {
		log.Warn("workers: lease not released; it expires by itself", "err", err)
	}
	attemptKey := "s" + strconv.FormatUint(meta.Sequence.Stream, 10)
	if runErr == nil {
		p.metrics.jobs.WithLabelValues(job.Type, ResultSuccess).Inc()
		// A plain ack: the message may be gone already, replaced by a
		// newer job for the package, and then no confirmation comes.
		if err := msg.Ack(); err != nil {
			log.Warn("workers: ack failed; the job may run again", "err", err)
		}
		// The attempts key, if any, is left to the bucket's TTL: stream
		// sequences are never reused.
		return
	}
	if jobCtx.Err() != nil || errors.Is(runErr, queue.ErrLost) {
		// Stopped from outside, not a failure of the job: run it again
		// later without counting an attempt.
		log.Warn("workers: job interrupted, put back", "err", runErr)
		_ = msg.NakWithDelay(p.cfg.BusyDelay)
		return
	}
	attempts, err := p.countFailure(relCtx, attemptKey)
	if err != nil {
		log.Warn("workers: attempt not counted", "err", err)
	}
	if attempts >= p.cfg.MaxAttempts {
		p.deadLetter(relCtx, msg, job.Type, attempts, runErr, log)
		return
	}
	delay := p.backoff(attempts)
	p.metrics.jobs.WithLabelValues(job.Type, ResultRetry).Inc()
	log.Warn("workers: job failed, will retry", "attempt", attempts, "of", p.cfg.MaxAttempts, "retry_in", delay, "err", runErr)
	_ = msg.NakWithDelay(delay)
}

// run calls the handler while a heartbeat keeps the message and the lease
// alive. Losing the lease cancels the handler.
func (p *Pool) run(ctx context.Context, h Handler, job Job, msg jetstream.Msg, lease *queue.Lease, log *slog.Logger) error {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(p.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Warn("workers: heartbeat failed", "err", err)
				}
				if err := lease.Refresh(runCtx); err != nil {
					if errors.Is(err, queue.ErrLost) {
						cancel(err)
						return
					}
					log.Warn("workers: lease refresh failed", "err", err)
				}
			}
		}
	}()
	start := time.Now()
	err := h.Handle(runCtx, job)
	p.metrics.duration.WithLabelValues(job.Type).Observe(time.Since(start).Seconds())
	close(done)
	hb.Wait()
	if cause := context.Cause(runCtx); err != nil && errors.Is(cause, queue.ErrLost) {
		return fmt.Errorf("%s job for %s: %w", job.Type, job.Target, cause)
	}
	return err
}

func (p *Pool) backoff(attempt int) time.Duration {
	d := p.cfg.Backoff
	for i := 1; i < attempt && d < p.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.cfg.MaxBackoff)
}

// countFailure adds one failed attempt for the message and returns the
// total. Only the worker holding the message writes its key.
func (p *Pool) countFailure(ctx context.Context, key string) (int, error) {
	n := 0
	if e, err := p.q.Attempts.Get(ctx, key); err == nil {
		n, _ = strconv.Atoi(string(e.Value()))
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return 1, fmt.Errorf("read attempts %s: %w", key, err)
	}
	n++
	if _, err := p.q.Attempts.Put(ctx, key, []byte(strconv.Itoa(n))); err != nil {
		return n, fmt.Errorf("write attempts %s: %w", key, err)
	}
	return n, nil
}

// deadLetter copies the job to the dead-letter stream and acknowledges
// it: JetStream keeps no dead letters by itself.
func (p *Pool) deadLetter(ctx context.Context, msg jetstream.Msg, typ string, attempts int, cause error, log *slog.Logger) {
	dl := &nats.Msg{
		Subject: queue.DeadLettersSubject + "." + typ,
		Data:    msg.Data(),
		Header:  nats.Header{},
	}
	for k, v := range msg.Headers() {
		dl.Header[k] = v
	}
	dl.Header.Set(queue.HeaderSubject, msg.Subject())
	dl.Header.Set(queue.HeaderAttempts, strconv.Itoa(attempts))
	dl.Header.Set(queue.HeaderError, cause.Error())
	if _, err := p.q.JS.PublishMsg(ctx, dl); err != nil {
		log.Error("workers: dead letter not stored; job put back", "err", err, "job_err", cause)
		_ = msg.NakWithDelay(p.cfg.Backoff)
		return
	}
	if err := msg.Ack(); err != nil {
		log.Warn("workers: dead letter stored but ack failed; it may be stored twice", "err", err)
	}
	p.metrics.jobs.WithLabelValues(typ, ResultDeadLetter).Inc()
	log.Error("workers: job failed its last attempt, moved to the dead-letter stream", "attempts", attempts, "err", cause)
	p.reportDeadLetter(ctx, msg.Data(), log)
}
