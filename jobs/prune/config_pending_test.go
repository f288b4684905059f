package prune_test

import (
	"context"
	"testing"

	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestConfigPendingMarks: a mark is per installation and repository
// (case-insensitive), survives a run's Clear, and clearing it twice is
// harmless.
func TestConfigPendingMarks(t *testing.T) {
	srv := queuetest.Start(t, "", queuetest.Config())
	ctx := context.Background()
	store, err := prune.OpenKVRunStore(ctx, srv.Queue.JS, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	pending := func(inst int64, owner, repo string) bool {
		t.Helper()
		ok, err := store.ConfigPending(ctx, inst, owner, repo)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if pending(1, "acme", "app") {
		t.Fatal("pending before any mark")
	}
	if err := store.MarkConfigPending(ctx, 1, "acme", "app"); err != nil {
		t.Fatal(err)
	}
	if err := store.Clear(ctx, "jobs.prune.x"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		inst        int64
		owner, repo string
		want        bool
	}{
		"the marked repository": {1, "acme", "app", true},
		"another case":          {1, "ACME", "App", true},
		"another repository":    {1, "acme", "web", false},
		"another installation":  {2, "acme", "app", false},
		"the owner's .github":   {1, "acme", ".github", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := pending(tc.inst, tc.owner, tc.repo); got != tc.want {
				t.Errorf("pending = %t, want %t", got, tc.want)
			}
		})
	}
	for range 2 {
		if err := store.ClearConfigPending(ctx, 1, "Acme", "APP"); err != nil {
			t.Fatal(err)
		}
	}
	if pending(1, "acme", "app") {
		t.Error("still pending after clearing")
	}
}
