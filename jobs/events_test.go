package jobs

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestRouterCountsPackageEvents routes deliveries one at a time and
// checks which packages' event counts moved: every action of a package
// event counts (not only those that queue a prune), under the package's
// case-insensitive key; the bot's own events, incomplete ones and other
// events count for nothing.
func TestRouterCountsPackageEvents(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	events, err := OpenPackageEvents(ctx, srv.Queue.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	app := pkgref.Ref{Owner: "acme", Type: "container", Name: "app"}
	web := pkgref.Ref{Owner: "acme", Type: "npm", Name: "web"}
	other := pkgref.Ref{Owner: "acme", Type: "container", Name: "other"}
	refs := map[string]pkgref.Ref{"app": app, "web": web, "other": other}
	deliveries := []struct {
		id, event string
		body      string
		moves     []string // of refs
	}{
		{"published", webhook.EventRegistryPackage, string(packageBody(1, "acme", "app")), []string{"app"}},
		{"published again, other case", webhook.EventRegistryPackage, string(packageBody(1, "ACME", "App")), []string{"app"}},
		{"updated, no prune", webhook.EventPackage, `{"action":"updated","installation":{"id":1},"package":{"name":"web","package_type":"npm","owner":{"login":"acme"}}}`, []string{"web"}},
		{"deleted, no prune", webhook.EventPackage, `{"action":"deleted","installation":{"id":1},"package":{"name":"web","package_type":"npm","owner":{"login":"acme"}}}`, []string{"web"}},
		{"own bot", webhook.EventRegistryPackage, `{"action":"published","installation":{"id":1},"sender":{"login":"pkgwarden-acme[bot]"},"registry_package":{"name":"other","package_type":"CONTAINER","owner":{"login":"acme"}}}`, nil},
		{"incomplete", webhook.EventRegistryPackage, `{"action":"published","registry_package":{"name":"other"}}`, nil},
		{"push", webhook.EventPush, `{"ref":"refs/heads/main","installation":{"id":1},"repository":{"full_name":"acme/other"}}`, nil},
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go NewRouter(srv.Queue, RouterConfig{OwnBotLogin: "pkgwarden-acme[bot]", Events: events}, testLogger(t)).Run(rctx)
	counts := func() map[string]uint64 {
		out := map[string]uint64{}
		for name, ref := range refs {
			n, err := events.Count(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = n
		}
		return out
	}
	for _, d := range deliveries {
		before := counts()
		if _, err := srv.Queue.PublishDelivery(ctx, d.event, d.id, []byte(d.body)); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, "delivery "+d.id+" routed", 10*time.Second, func() bool {
			_, err := srv.Queue.Deliveries.Get(ctx, queue.Key(d.id))
			return err == nil
		})
		after := counts()
		var moved []string
		for name := range maps.Keys(refs) {
			if after[name] != before[name] {
				moved = append(moved, name)
			}
			if after[name] < before[name] {
				t.Errorf("%s: the count of %s went back from %d to %d", d.id, name, before[name], after[name])
			}
		}
		slices.Sort(moved)
		if !slices.Equal(moved, d.moves) {
			t.Errorf("%s: counts moved for %v, want %v", d.id, moved, d.moves)
		}
	}
}

// TestPackageEventsCount: a package without events counts 0; each bump
// raises its count and no other package's.
func TestPackageEventsCount(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	events, err := OpenPackageEvents(ctx, srv.Queue.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := pkgref.Ref{Owner: "acme", Type: "container", Name: "team/app.v2"}
	b := pkgref.Ref{Owner: "acme", Type: "container", Name: "team/app"}
	if n, err := events.Count(ctx, a); err != nil || n != 0 {
		t.Fatalf("count before any event = %d, %v; want 0", n, err)
	}
	var last uint64
	for i := range 3 {
		if err := events.Bump(ctx, a, "registry_package published"); err != nil {
			t.Fatal(err)
		}
		n, err := events.Count(ctx, a)
		if err != nil || n <= last {
			t.Fatalf("count after bump %d = %d, %v; want above %d", i+1, n, err, last)
		}
		last = n
	}
	if n, err := events.Count(ctx, b); err != nil || n != 0 {
		t.Errorf("another package's count = %d, %v; want 0", n, err)
	}
	// Opening again (another process, a restart) keeps the counts.
	again, err := OpenPackageEvents(ctx, srv.Queue.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := again.Count(ctx, a); err != nil || n != last {
		t.Errorf("count after reopening = %d, %v; want %d", n, err, last)
	}
}
