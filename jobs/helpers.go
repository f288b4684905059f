package jobs

import (
	"log/slog"

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
