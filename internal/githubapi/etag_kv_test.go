package githubapi

import (
	"context"
	"testing"

	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// Two clients (two replicas) share the bucket: the second one's listing is
// answered 304 page by page.
func TestKVETagStoreAcrossClients(t *testing.T) {
	ctx := context.Background()
	js := queuetest.Start(t, "", queuetest.Config()).Queue.JS
	store, err := OpenKVETagStore(ctx, js, "pkgwarden-etags", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := newSimWorld(t, nil)
	ids := w.addVersions("acme", "team/app", 120)

	first := newTestClient(t, w, store, nil)
	a, err := first.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{})
	if err != nil || a.NotModified || len(a.Versions) != 120 {
		t.Fatalf("first listing: %d versions, not modified %t, %v", len(a.Versions), a.NotModified, err)
	}
	obs := &countingObserver{}
	second := newTestClient(t, w, store, obs)
	b, err := second.ListVersions(ctx, acme, "container", "team/app", ListVersionsOptions{})
	if err != nil || !b.NotModified || len(b.Versions) != 120 || b.Versions[119].ID != ids[119] {
		t.Fatalf("second listing: %d versions, not modified %t, %v", len(b.Versions), b.NotModified, err)
	}
	if reqs, _ := obs.snapshot(); len(reqs) != 2 || reqs[0] != "GET Not Modified" || reqs[1] != "GET Not Modified" {
		t.Errorf("second client's requests %v, want two 304s", reqs)
	}
	if _, ok, err := store.Get(ctx, "GET nothing"); ok || err != nil {
		t.Errorf("Get of an unknown key = %t, %v; want a miss", ok, err)
	}
}
