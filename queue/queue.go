// Package queue is pkgwarden's NATS layer: the embedded server and its data
// dir lock, the connection to an external cluster, and the streams,
// consumers and KV buckets everything else relies on (created idempotently
// at start), with the few operations on them that need care: publishing a
// webhook delivery exactly once, per-package leases, the leader election
// (Elector), and attempt counters.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of streams, subjects, consumers and buckets.
const (
	// StreamWebhooks holds raw deliveries until the router has handled
	// them (work-queue retention), one subject per event.
	StreamWebhooks  = "webhooks"
	WebhooksSubject = "webhooks" // + "." + event
	// StreamJobs is the work queue of jobs: one subject per job type and
	// package, at most one message per subject (see Config.jobsStream).
	StreamJobs  = "jobs"
	JobsSubject = "jobs" // + "." + type + "." + package key
	// StreamDeadLetters keeps jobs that failed their last attempt.
	StreamDeadLetters  = "dead_letters"
	DeadLettersSubject = "deadletters" // + "." + type

	ConsumerRouter  = "router"
	ConsumerWorkers = "workers"

	// BucketDeliveries remembers processed delivery ids.
	BucketDeliveries = "deliveries"
	// BucketLeases holds per-package leases.
	BucketLeases = "leases"
	// BucketAttempts counts failed attempts per job message.
	BucketAttempts = "job_attempts"
	// BucketBodies holds webhook bodies too large for a message.
	BucketBodies = "webhook_bodies"
)

// MaxPayload is the largest message the embedded server takes: 8 MiB,
// the most NATS recommends (above it the server warns at every start that
// large payloads hurt). GitHub's webhook bodies go up to 25 MiB: a body
// that does not fit a message goes into BucketBodies and the message
// carries only its name (PublishDelivery, DeliveryBody), so any server's
// max_payload works, the 1 MiB default included.
const MaxPayload = 8 << 20

// headerRoom is what a delivery message keeps of the server's max payload
// for its subject and headers.
const headerRoom = 64 << 10

// Header names pkgwarden sets on messages.
const (
	HeaderEvent    = "Pkgwarden-Event"
	HeaderDelivery = "Pkgwarden-Delivery"
	HeaderAttempts = "Pkgwarden-Attempts"
	HeaderError    = "Pkgwarden-Error"
	HeaderSubject  = "Pkgwarden-Subject"
	// HeaderBody names the object in BucketBodies that holds a delivery's
	// body when it was too large for a message.
	HeaderBody = "Pkgwarden-Body"
)

// Config sizes the streams and buckets.
type Config struct {
	// Replicas is 1, or 3 on a cluster.
	Replicas int
	// DuplicateWindow is how long the webhooks stream itself rejects a
	// repeated delivery id.
	DuplicateWindow time.Duration
	// DeliveriesTTL is how long a processed delivery id is remembered.
	DeliveriesTTL time.Duration
	// LeaseTTL is how long a lease survives its holder's death.
	LeaseTTL time.Duration
	// AckWait is how long a worker may stay silent before its job is
	// handed to another; workers heartbeat well within it.
	AckWait time.Duration
	// WebhooksMaxBytes bounds the webhooks stream; when full, the intake
	// answers 503 instead of dropping old deliveries.
	WebhooksMaxBytes int64
}

// DefaultConfig is the production sizing.
func DefaultConfig() Config {
	return Config{
		Replicas:         1,
		DuplicateWindow:  10 * time.Minute,
		DeliveriesTTL:    7 * 24 * time.Hour,
		LeaseTTL:         30 * time.Second,
		AckWait:          30 * time.Second,
		WebhooksMaxBytes: 1 << 30,
	}
}

// Queue is a connection with every stream, consumer and bucket in place.
type Queue struct {
	NC  *nats.Conn
	JS  jetstream.JetStream
	cfg Config

	Webhooks    jetstream.Stream
	Jobs        jetstream.Stream
	DeadLetters jetstream.Stream
	Deliveries  jetstream.KeyValue
	Attempts    jetstream.KeyValue
	Bodies      jetstream.ObjectStore
	Leases      *Leases
}

// Setup creates or updates the streams, consumers and buckets. It is safe
// to run from every process at every start.
func Setup(ctx context.Context, nc *nats.Conn, cfg Config, holder string) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	q := &Queue{NC: nc, JS: js, cfg: cfg}
	if q.Webhooks, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamWebhooks,
		Description: "raw GitHub webhook deliveries waiting for the router",
		Subjects:    []string{WebhooksSubject + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
		MaxBytes:    cfg.WebhooksMaxBytes,
		Discard:     jetstream.DiscardNew,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamWebhooks, err)
	}
	if q.Jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamJobs,
		Description: "jobs, one pending message per job type and package",
		Subjects:    []string{JobsSubject + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		// Coalescing: a new job for a package replaces the one waiting
		// (or running: its ack then finds nothing, and the replacement
		// runs after it). So a burst of pushes is one pending prune, and
		// a push during a prune always gets one more prune afterwards.
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamJobs, err)
	}
	if q.DeadLetters, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamDeadLetters,
		Description: "jobs that failed their last attempt",
		Subjects:    []string{DeadLettersSubject + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		MaxAge:      30 * 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDeadLetters, err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamWebhooks, jetstream.ConsumerConfig{
		Durable:     ConsumerRouter,
		Description: "turns deliveries into jobs",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     cfg.AckWait,
		MaxDeliver:  -1,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", ConsumerRouter, StreamWebhooks, err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamJobs, jetstream.ConsumerConfig{
		Durable:     ConsumerWorkers,
		Description: "shared by every worker of every process",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     cfg.AckWait,
		// Unlimited: waiting for a busy package naks without being a
		// failure, so failed attempts are counted in BucketAttempts.
		MaxDeliver: -1,
		Replicas:   cfg.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", ConsumerWorkers, StreamJobs, err)
	}
	if q.Deliveries, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketDeliveries,
		Description: "processed webhook delivery ids",
		TTL:         cfg.DeliveriesTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketDeliveries, err)
	}
	if q.Attempts, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketAttempts,
		Description: "failed attempts per job message, by stream sequence",
		TTL:         24 * time.Hour,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketAttempts, err)
	}
	// A body waits here as long as its delivery may wait in the webhooks
	// stream (bounded alike); the router deletes it once routed.
	if q.Bodies, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      BucketBodies,
		Description: "webhook bodies too large for a message, until routed",
		TTL:         cfg.DeliveriesTTL,
		MaxBytes:    cfg.WebhooksMaxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return nil, fmt.Errorf("object store %s: %w", BucketBodies, err)
	}
	leaseKV, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketLeases,
		Description: "per-package leases; an entry expires TTL after its last refresh",
		TTL:         cfg.LeaseTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketLeases, err)
	}
	q.Leases = NewLeases(leaseKV, cfg.LeaseTTL, holder)
	return q, nil
}

// ErrUnavailable means JetStream could not take a message.
var ErrUnavailable = errors.New("queue unavailable")

// PublishDelivery stores a raw webhook delivery, using the delivery id as
// the message id so the stream drops repeats within its duplicate window.
// It returns once JetStream acknowledged; duplicate reports a repeat.
func (q *Queue) PublishDelivery(ctx context.Context, event, deliveryID string, body []byte) (duplicate bool, err error) {
	msg := &nats.Msg{
		Subject: WebhooksSubject + "." + event,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{deliveryID}},
		Data:    body,
	}
	if int64(len(body)) > q.NC.MaxPayload()-headerRoom {
		// Too large for a message: the body goes first into the bucket,
		// so a message the router sees always finds its body.
		name := Key(deliveryID)
		if _, err := q.Bodies.PutBytes(ctx, name, body); err != nil {
			return false, fmt.Errorf("%w: store body of delivery %s (%d bytes): %w", ErrUnavailable, deliveryID, len(body), err)
		}
		msg.Header.Set(HeaderBody, name)
		msg.Data = nil
	}
	ack, err := q.JS.PublishMsg(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("%w: publish delivery %s: %w", ErrUnavailable, deliveryID, err)
	}
	return ack.Duplicate, nil
}

// DeliveryBody is the body of a delivery message: its data, or the object
// PublishDelivery stored it in.
func (q *Queue) DeliveryBody(ctx context.Context, msg jetstream.Msg) ([]byte, error) {
	name := msg.Headers().Get(HeaderBody)
	if name == "" {
		return msg.Data(), nil
	}
	body, err := q.Bodies.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("body %s of delivery %s: %w", name, msg.Headers().Get(jetstream.MsgIDHeader), err)
	}
	return body, nil
}

// DropBody deletes the stored body of a routed delivery message, if it
// has one; the bucket's TTL removes any that is left.
func (q *Queue) DropBody(ctx context.Context, msg jetstream.Msg) error {
	name := msg.Headers().Get(HeaderBody)
	if name == "" {
		return nil
	}
	if err := q.Bodies.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("drop body %s: %w", name, err)
	}
	return nil
}

// Ready reports whether the connection is up and the streams exist.
func (q *Queue) Ready(ctx context.Context) error {
	if !q.NC.IsConnected() {
		return fmt.Errorf("nats: %s", q.NC.Status())
	}
	for _, name := range []string{StreamWebhooks, StreamJobs, StreamDeadLetters} {
		if _, err := q.JS.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

// Key turns an arbitrary name (a delivery id, a package) into a token valid
// as a subject token and KV key. Hashing keeps names with dots, slashes or
// wildcards from changing the subject's meaning.
func Key(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// JobSubject is the subject of a job of type typ for the package key.
func JobSubject(typ, target string) string {
	return JobsSubject + "." + typ + "." + Key(target)
}

// CountMessages returns how many messages a stream holds now.
func CountMessages(ctx context.Context, s jetstream.Stream) (uint64, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.Msgs, nil
}
