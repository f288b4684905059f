package queue_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

func TestSetupIsIdempotentAndPublishDedupes(t *testing.T) {
	ctx := context.Background()
	cfg := queuetest.Config()
	s := queuetest.Start(t, "", cfg)
	checkLayout(t, s.Queue.JS, cfg, "after the first Setup")
	// A second process starting against the same server runs Setup again.
	q2, err := queue.Setup(ctx, s.Queue.NC, cfg, "second")
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if err := q2.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	checkLayout(t, s.Queue.JS, cfg, "after the second Setup")
	tests := []struct {
		id      string
		wantDup bool
	}{
		{"d-1", false}, {"d-2", false}, {"d-1", true}, {"d-3", false}, {"d-2", true},
	}
	for _, tc := range tests {
		dup, err := s.Queue.PublishDelivery(ctx, "registry_package", tc.id, []byte(`{}`))
		if err != nil {
			t.Fatalf("publish %s: %v", tc.id, err)
		}
		if dup != tc.wantDup {
			t.Errorf("publish %s: duplicate = %t, want %t", tc.id, dup, tc.wantDup)
		}
	}
	n, err := queue.CountMessages(ctx, s.Queue.Webhooks)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("webhooks stream holds %d messages, want 3", n)
	}
}

// readBack opens the named stream or bucket with open and reads what the
// server says of it with read; a failure names when, the kind, the name and,
// for read, the step ("after Setup: kv leases status: ...").
func readBack[O, R any](t *testing.T, when, kind, name string, open func(context.Context, string) (O, error), step string, read func(context.Context, O) (R, error)) R {
	t.Helper()
	ctx := context.Background()
	o, err := open(ctx, name)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", when, kind, name, err)
	}
	r, err := read(ctx, o)
	if err != nil {
		t.Fatalf("%s: %s %s %s: %v", when, kind, name, step, err)
	}
	return r
}

// checkLayout reads back from the server the settings the rest of
// pkgwarden relies on: a delivery id is remembered at least as long as
// GitHub keeps redelivering (72 h), jobs coalesce per package, and the
// dead-letter stream and leases bucket exist.
func checkLayout(t *testing.T, js jetstream.JetStream, cfg queue.Config, when string) {
	t.Helper()
	ctx := context.Background()
	stream := func(name string) jetstream.StreamConfig {
		t.Helper()
		return readBack(t, when, "stream", name, js.Stream, "info", func(ctx context.Context, s jetstream.Stream) (*jetstream.StreamInfo, error) {
			return s.Info(ctx)
		}).Config
	}
	bucketTTL := func(name string) time.Duration {
		t.Helper()
		return readBack(t, when, "kv", name, js.KeyValue, "status", func(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyValueStatus, error) {
			return kv.Status(ctx)
		}).TTL()
	}

	if ttl := bucketTTL(queue.BucketDeliveries); ttl < 72*time.Hour {
		t.Errorf("%s: kv %s TTL = %s, want at least 72h (GitHub's redelivery window)", when, queue.BucketDeliveries, ttl)
	}
	if ttl := bucketTTL(queue.BucketLeases); ttl != cfg.LeaseTTL {
		t.Errorf("%s: kv %s TTL = %s, want the lease TTL %s", when, queue.BucketLeases, ttl, cfg.LeaseTTL)
	}
	if ttl := bucketTTL(queue.BucketAttempts); ttl <= 0 {
		t.Errorf("%s: kv %s has no TTL: attempt counters would pile up", when, queue.BucketAttempts)
	}

	jobs := stream(queue.StreamJobs)
	if jobs.Retention != jetstream.WorkQueuePolicy {
		t.Errorf("%s: stream %s retention = %s, want a work queue", when, queue.StreamJobs, jobs.Retention)
	}
	if jobs.MaxMsgsPerSubject != 1 || jobs.Discard != jetstream.DiscardOld {
		t.Errorf("%s: stream %s keeps %d per subject, discard %s; want 1 and old (a new job replaces the waiting one)", when, queue.StreamJobs, jobs.MaxMsgsPerSubject, jobs.Discard)
	}
	hooks := stream(queue.StreamWebhooks)
	if hooks.Duplicates != cfg.DuplicateWindow || hooks.Duplicates <= 0 {
		t.Errorf("%s: stream %s duplicate window = %s, want %s", when, queue.StreamWebhooks, hooks.Duplicates, cfg.DuplicateWindow)
	}
	if hooks.Retention != jetstream.WorkQueuePolicy || hooks.Discard != jetstream.DiscardNew {
		t.Errorf("%s: stream %s retention %s, discard %s; want a work queue refusing new messages when full", when, queue.StreamWebhooks, hooks.Retention, hooks.Discard)
	}
	if dl := stream(queue.StreamDeadLetters); dl.Retention != jetstream.LimitsPolicy || dl.MaxAge <= 0 {
		t.Errorf("%s: stream %s retention %s, max age %s; want limits with an age bound", when, queue.StreamDeadLetters, dl.Retention, dl.MaxAge)
	}

	cons, err := js.Consumer(ctx, queue.StreamJobs, queue.ConsumerWorkers)
	if err != nil {
		t.Fatalf("%s: consumer %s: %v", when, queue.ConsumerWorkers, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatalf("%s: consumer %s info: %v", when, queue.ConsumerWorkers, err)
	}
	if c := info.Config; c.AckPolicy != jetstream.AckExplicitPolicy || c.AckWait != cfg.AckWait || c.MaxDeliver != -1 {
		t.Errorf("%s: consumer %s: ack %s, wait %s, max deliver %d; want explicit, %s, unlimited", when, queue.ConsumerWorkers, c.AckPolicy, c.AckWait, c.MaxDeliver, cfg.AckWait)
	}
}

func TestEmbeddedListensOnlyWhenAsked(t *testing.T) {
	s := queuetest.Start(t, "", queuetest.Config())
	if u := s.Embedded.ClientURL(); u != "" {
		t.Errorf("embedded server listens on %s without PKGWARDEN_NATS_LISTEN", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emb, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	if !strings.HasPrefix(emb.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(emb.ClientURL(), ":4222") {
		t.Errorf("ClientURL = %q, want a random loopback port", emb.ClientURL())
	}
	if _, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: t.TempDir(), Listen: "no-port"}); err == nil || !strings.Contains(err.Error(), "PKGWARDEN_NATS_LISTEN") {
		t.Errorf("bad listen address: %v", err)
	}
}

func TestLeases(t *testing.T) {
	ctx := context.Background()
	cfg := queuetest.Config()
	cfg.LeaseTTL = time.Second
	s := queuetest.Start(t, "", cfg)
	a := s.Queue.Leases
	b := queue.NewLeases(mustKV(t, s), cfg.LeaseTTL, "b")

	la, err := a.TryAcquire(ctx, "1/acme/container/app")
	if err != nil {
		t.Fatalf("a acquires: %v", err)
	}
	if _, err := b.TryAcquire(ctx, "1/acme/container/app"); !errors.Is(err, queue.ErrBusy) {
		t.Fatalf("b acquires a held lease: %v, want ErrBusy", err)
	}
	if lo, err := b.TryAcquire(ctx, "1/acme/container/other"); err != nil {
		t.Fatalf("b acquires another package: %v", err)
	} else if err := lo.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	lb, err := b.TryAcquire(ctx, "1/acme/container/app")
	if err != nil {
		t.Fatalf("b acquires after release: %v", err)
	}
	// b dies without releasing: the lease expires after its TTL.
	_ = lb
	expired := testwait.Until(10*time.Second, func() bool {
		la, err = a.TryAcquire(ctx, "1/acme/container/app")
		if err != nil && !errors.Is(err, queue.ErrBusy) {
			t.Fatalf("a never got the expired lease: %v", err)
		}
		return err == nil
	})
	if !expired {
		t.Fatalf("a never got the expired lease: %v", err)
	}
	// b's refresh now finds the lease taken.
	if err := lb.Refresh(ctx); !errors.Is(err, queue.ErrLost) {
		t.Fatalf("refresh of an expired lease: %v, want ErrLost", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustKV(t *testing.T, s *queuetest.Server) jetstream.KeyValue {
	t.Helper()
	kv, err := s.Queue.JS.KeyValue(context.Background(), queue.BucketLeases)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l, err := queue.LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := queue.LockDir(dir); !errors.Is(err, queue.ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l, err = queue.LockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l.Unlock()
}

// TestLockDirReleasedByKill locks a dir in a child process, checks the
// lock holds against this process, kills the child with SIGKILL and takes
// the lock.
func TestLockDirReleasedByKill(t *testing.T) {
	if os.Getenv("QUEUE_TEST_LOCK_CHILD") != "" {
		if _, err := queue.LockDir(os.Getenv("QUEUE_TEST_LOCK_CHILD")); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute) // on purpose: hold the lock until the parent kills this process
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDirReleasedByKill$")
	cmd.Env = append(os.Environ(), "QUEUE_TEST_LOCK_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	_, err = queue.LockDir(dir)
	if !errors.Is(err, queue.ErrLocked) {
		cmd.Process.Kill()
		t.Fatalf("lock held by child: %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("pid %d", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := queue.LockDir(dir)
	if err != nil {
		t.Fatalf("lock after kill -9: %v", err)
	}
	l.Unlock()
}
