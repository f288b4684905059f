package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// TestPruneRecheckOnWebhookEndToEnd: serve prunes three old untagged
// builds; while its first deletion is answered, an index tagged v2 is
// pushed over the newest of them and its signed webhook reaches serve.
// The router counts it, and the run, seeing the count move before its
// next deletion group, lists the newest versions again: the build the
// index now holds is kept, the other one goes. The run lasts seconds,
// far within its 5-minute fallback: it lists the package twice, for its
// plan and after the event (a run that looked before every group would
// list three times). Every tag still pulls afterwards.
func TestPruneRecheckOnWebhookEndToEnd(t *testing.T) {
	const day = 24 * time.Hour
	w := newE2E(t, nil)
	w.files(map[string]string{"app": e2eRules})
	w.push(w.image("v1"), 10*day, "v1")
	first := w.push(w.image("first"), 4*day)
	second := w.push(w.image("second"), 3*day)
	candidate := w.image("candidate")
	cd := w.push(candidate, 2*day)

	events, err := jobs.OpenPackageEvents(context.Background(), w.q.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := pkgref.Ref{Owner: "acme", Type: "container", Name: "app"}
	count := func() uint64 {
		n, err := events.Count(context.Background(), ref)
		if err != nil {
			t.Error(err)
		}
		return n
	}

	// The first DELETE's answer waits until the push's webhook is counted.
	deleted, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var listings atomic.Int32 // of the first run: it reports before the next run starts
	hook := func(r *http.Request, status int) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/packages/container/app/versions") && r.URL.Query().Get("state") == "active" && len(w.runs.snapshot()) == 0 {
			listings.Add(1)
		}
		if r.Method != http.MethodDelete || status/100 != 2 {
			return
		}
		once.Do(func() {
			close(deleted)
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
		})
	}
	w.afterAPI.Store(&hook)
	defer close(release)

	w.forwardLast(w.addr) // the prune of the seeded package
	select {
	case <-deleted:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the prune's first deletion")
	}
	before := count()
	if _, err := w.pusher.PushIndex(context.Background(), "acme/app", e2eIndex(candidate, w.image("new-arm64")), "v2"); err != nil {
		t.Fatal(err)
	}
	w.forwardLast(w.addr) // the index's webhook
	testwait.For(t, "serve's router to count the index's webhook", 10*time.Second, func() bool { return count() != before })
	release <- struct{}{}
	w.waitIdle()

	runs := w.runs.snapshot()
	if len(runs) == 0 {
		t.Fatal("no run reported")
	}
	run := runs[0]
	var gone []string
	for _, e := range run.Deleted {
		gone = append(gone, e.Version)
	}
	if want := []string{first, second}; !slices.Equal(gone, want) {
		t.Errorf("the first run deleted %v, want %v", gone, want)
	}
	if len(run.Kept) != 1 || run.Kept[0].Version != cd || !strings.HasPrefix(run.Kept[0].Reason, "re-check: now referenced by new index") {
		t.Errorf("the first run kept %+v, want the candidate, now referenced by the new index", run.Kept)
	}
	if n := listings.Load(); n != 2 {
		t.Errorf("the first run listed the package %d times, want 2: for its plan, and after the event", n)
	}
	active := w.activeSet()
	if !active[cd] || active[first] || active[second] {
		t.Errorf("active: candidate %t, first %t, second %t; want only the candidate", active[cd], active[first], active[second])
	}
	w.pullable()
}
