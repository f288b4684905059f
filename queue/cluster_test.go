package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
)

// TestSetupOnThreeNodeCluster runs Setup with three replicas against a real
// three-node JetStream cluster (what PKGWARDEN_NATS_REPLICAS=3 expects),
// then checks the operations whose error codes differ on replicated
// streams: duplicate detection and lease create/refresh conflicts.
func TestSetupOnThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ports := make([]int, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var urls []string
	for i := range 3 {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(t.TempDir(), "js"),
			NoSigs:     true,
			NoLog:      true,
			Cluster:    server.ClusterOpts{Name: "pkgwarden-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %d not ready", i)
		}
		urls = append(urls, s.ClientURL())
	}
	nc, err := queue.ConnectExternal(urls, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cfg := queue.DefaultConfig()
	cfg.Replicas = 3
	cfg.LeaseTTL = 2 * time.Second
	var q *queue.Queue
	// The cluster needs a moment to elect its meta leader.
	setUp := testwait.Until(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		q, err = queue.Setup(ctx, nc, cfg, "test")
		cancel()
		return err == nil
	})
	if !setUp {
		t.Fatalf("setup on the cluster: %v", err)
	}
	ctx := context.Background()
	info, err := q.Jobs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 {
		t.Errorf("jobs stream has %d replicas, want 3", info.Config.Replicas)
	}
	if _, err := queue.Setup(ctx, nc, cfg, "second"); err != nil {
		t.Fatalf("second Setup on the cluster: %v", err)
	}
	for i, want := range []bool{false, true} {
		dup, err := q.PublishDelivery(ctx, "package", "cluster-1", []byte(`{}`))
		if err != nil || dup != want {
			t.Fatalf("publish %d: dup=%t err=%v, want dup=%t", i, dup, err, want)
		}
	}
	la, err := q.Leases.TryAcquire(ctx, "1/acme/npm/x")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := q.JS.KeyValue(ctx, queue.BucketLeases)
	if err != nil {
		t.Fatal(err)
	}
	other := queue.NewLeases(kv, cfg.LeaseTTL, "other")
	if _, err := other.TryAcquire(ctx, "1/acme/npm/x"); !errors.Is(err, queue.ErrBusy) {
		t.Fatalf("second acquire: %v, want ErrBusy", err)
	}
	if err := la.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := other.TryAcquire(ctx, "1/acme/npm/x")
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	if err := la.Refresh(ctx); !errors.Is(err, queue.ErrLost) {
		t.Fatalf("refresh of a released lease now held by another: %v, want ErrLost", err)
	}
	lb.Release(ctx)
}
