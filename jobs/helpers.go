package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/prometheus/client_golang/prometheus"
)

// What the job handlers and the loops of the router, the pool and the
// scheduler share.

// NewCounter registers a counter of versions a job changed with reg.
// It panics, as MustRegister does, when reg has the name already: metrics
// are registered once, when the handler is built.
func NewCounter(reg prometheus.Registerer, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	reg.MustRegister(c)
	return c
}

// LoggerOrDiscard is logger, or one that drops everything when it is nil.
func LoggerOrDiscard(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logger
}

// pull hands the consumer's messages to handle one at a time until ctx
// ends. A failed fetch is logged (name: the puller) and tried again a
// second later.
func pull(ctx context.Context, cons jetstream.Consumer, log *slog.Logger, name string, handle func(jetstream.Msg)) {
	for ctx.Err() == nil {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			if ctx.Err() != nil {
				return
			}
			log.Warn(name+": fetch failed", "err", err)
			clock.Sleep(ctx, time.Second)
			continue
		}
		handle(msg)
	}
}
