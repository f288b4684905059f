package githubapi

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Two clients (two replicas) share the bucket: the second one's listing is
// answered 304 page by page.
func TestKVETagStoreAcrossClients(t *testing.T) {
	ctx := context.Background()
	js := startJetStream(t)
	store, err := OpenKVETagStore(ctx, js, "pkgwarden-etags", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeGitHub(t)
	f.seedVersions("/orgs/acme/packages/container/team%2Fapp", 120)

	first := newTestClient(t, f, store, nil)
	a, err := first.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{})
	if err != nil || a.NotModified || len(a.Versions) != 120 {
		t.Fatalf("first listing: %d versions, not modified %t, %v", len(a.Versions), a.NotModified, err)
	}
	obs := &countingObserver{}
	second := newTestClient(t, f, store, obs)
	b, err := second.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{})
	if err != nil || !b.NotModified || len(b.Versions) != 120 || b.Versions[119].ID != 1 {
		t.Fatalf("second listing: %d versions, not modified %t, %v", len(b.Versions), b.NotModified, err)
	}
	if reqs, _ := obs.snapshot(); len(reqs) != 2 || reqs[0] != "GET Not Modified" || reqs[1] != "GET Not Modified" {
		t.Errorf("second client's requests %v, want two 304s", reqs)
	}
	if _, ok, err := store.Get(ctx, "GET nothing"); ok || err != nil {
		t.Errorf("Get of an unknown key = %t, %v; want a miss", ok, err)
	}
}
