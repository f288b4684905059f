// Package queuetest starts a real embedded NATS server with pkgwarden's
// streams for tests of the packages built on queue, and tells when its
// consumers are idle.
package queuetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/queue"
)

// Server is an embedded server with its queue, stopped at test cleanup.
type Server struct {
	Embedded *queue.Embedded
	Queue    *queue.Queue
	DataDir  string
}

// Config is queue.DefaultConfig with short times suited to tests.
func Config() queue.Config {
	c := queue.DefaultConfig()
	c.LeaseTTL = 2 * time.Second
	c.AckWait = 5 * time.Second
	return c
}

// Start runs an embedded server in dir (t.TempDir() when empty).
func Start(t testing.TB, dir string, cfg queue.Config) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	emb, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: dir, Logger: logger})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	nc, err := emb.Connect()
	if err != nil {
		emb.Shutdown()
		t.Fatalf("connect: %v", err)
	}
	q, err := queue.Setup(ctx, nc, cfg, t.Name())
	if err != nil {
		nc.Close()
		emb.Shutdown()
		t.Fatalf("setup: %v", err)
	}
	s := &Server{Embedded: emb, Queue: q, DataDir: dir}
	// Stop may have run already; closing and shutting down are idempotent.
	t.Cleanup(func() {
		nc.Close()
		emb.Shutdown()
	})
	return s
}

// Stop closes the connection and stops the server before cleanup, for
// restart tests.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.Queue.NC.Close()
	if err := s.Embedded.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// ConsumersIdle reports whether the router and the workers are done with
// everything queued: neither consumer has a message waiting or one handed
// out and not acknowledged. The router is looked at first, since a
// delivery it routes queues a job before it is acknowledged. Only once
// both are idle does the absence of a run mean something.
func ConsumersIdle(t testing.TB, js jetstream.JetStream) bool {
	t.Helper()
	ctx := context.Background()
	for _, c := range []struct{ stream, name string }{
		{queue.StreamWebhooks, queue.ConsumerRouter},
		{queue.StreamJobs, queue.ConsumerWorkers},
	} {
		cons, err := js.Consumer(ctx, c.stream, c.name)
		if err != nil {
			t.Fatalf("consumer %s: %v", c.name, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s: %v", c.name, err)
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return false
		}
	}
	return true
}

// Stored is how many messages stream holds now (queue.CountMessages);
// the test fails if it cannot be read.
func Stored(t testing.TB, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	n, err := queue.CountMessages(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
