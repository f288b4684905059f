package queue_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestLargeDeliveryBodies: a delivery body up to GitHub's 25 MiB goes
// through a server whose max payload is 8 MiB: those that fit a message
// travel in it, larger ones in the bodies bucket, and the router's reader
// gets the same bytes either way; DropBody removes a stored one.
func TestLargeDeliveryBodies(t *testing.T) {
	s := queuetest.Start(t, "", queuetest.Config())
	q := s.Queue
	if got := q.NC.MaxPayload(); got != queue.MaxPayload {
		t.Fatalf("server max payload %d, want %d", got, queue.MaxPayload)
	}
	tests := []struct {
		name   string
		size   int
		stored bool
	}{
		{"small", 2 << 10, false},
		{"just fits", queue.MaxPayload - 64<<10, false},
		{"just too large", queue.MaxPayload - 64<<10 + 1, true},
		{"github's cap", 25 << 20, true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons, err := q.JS.Consumer(ctx, queue.StreamWebhooks, queue.ConsumerRouter)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := make([]byte, tc.size)
			_, _ = rand.Read(body)
			if _, err := q.PublishDelivery(ctx, "push", "delivery-"+tc.name, body); err != nil {
				t.Fatalf("publish %d bytes: %v", tc.size, err)
			}
			msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = msg.Ack() }()
			if name := msg.Headers().Get(queue.HeaderBody); (name != "") != tc.stored {
				t.Errorf("stored in the bucket: %t, want %t", name != "", tc.stored)
			}
			got, err := q.DeliveryBody(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("body of %d bytes came back as %d different bytes", len(body), len(got))
			}
			if err := q.DropBody(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if name := msg.Headers().Get(queue.HeaderBody); name != "" {
				if _, err := q.Bodies.GetInfo(ctx, name); !errors.Is(err, jetstream.ErrObjectNotFound) {
					t.Errorf("body still stored after DropBody: %v", err)
				}
			}
		})
	}
}
