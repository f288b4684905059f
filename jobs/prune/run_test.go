package prune_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

func runEntries(n int, with bool) []rules.Entry {
	out := make([]rules.Entry, n)
	for i := range out {
		out[i] = rules.Entry{ID: int64(i + 1), Version: fmt.Sprintf("sha256:%064x", i), Tags: []string{fmt.Sprintf("t%d", i)}, Reason: "untagged"}
		if with && i%2 == 1 {
			out[i].With = []int64{int64(i)}
		}
	}
	return out
}

// TestKVRunStore: progress saved after each deletion of a run far larger
// than one NATS message loads back whole; a new run replaces it; Clear
// forgets it.
func TestKVRunStore(t *testing.T) {
	srv := queuetest.Start(t, "", queuetest.Config())
	ctx := context.Background()
	store, err := prune.OpenKVRunStore(ctx, srv.Queue.JS, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		planned, deleted int
	}{
		"empty run":              {planned: 0, deleted: 0},
		"one chunk":              {planned: 10, deleted: 7},
		"past a chunk boundary":  {planned: 600, deleted: 513},
		"larger than 1 MiB once": {planned: 8000, deleted: 300},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			key := "jobs.prune." + name
			planned := runEntries(tc.planned, true)
			deleted := planned[:tc.deleted]
			for i := 1; i <= tc.deleted; i++ {
				if err := store.Save(ctx, key, prune.RunProgress{RunID: "run-1", Planned: planned, Deleted: deleted[:i]}); err != nil {
					t.Fatalf("save after %d deletions: %v", i, err)
				}
			}
			if tc.deleted == 0 {
				if err := store.Save(ctx, key, prune.RunProgress{RunID: "run-1", Planned: planned}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := store.Load(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if got.RunID != "run-1" || len(got.Planned) != tc.planned || len(got.Deleted) != tc.deleted {
				t.Fatalf("loaded run %q with %d planned, %d deleted", got.RunID, len(got.Planned), len(got.Deleted))
			}
			if tc.planned > 0 && !reflect.DeepEqual(got.Planned, planned) {
				t.Error("planned entries differ after the round trip")
			}
			if tc.deleted > 0 && !reflect.DeepEqual(got.Deleted, deleted) {
				t.Error("deleted entries differ after the round trip")
			}

			other := runEntries(3, false)
			if err := store.Save(ctx, key, prune.RunProgress{RunID: "run-2", Planned: other, Deleted: other[:1]}); err != nil {
				t.Fatal(err)
			}
			if got, err = store.Load(ctx, key); err != nil || got.RunID != "run-2" || len(got.Planned) != 3 || len(got.Deleted) != 1 {
				t.Fatalf("after a new run: %+v, %v", got, err)
			}
			if err := store.Clear(ctx, key); err != nil {
				t.Fatal(err)
			}
			if got, err = store.Load(ctx, key); err != nil || got.RunID != "" {
				t.Fatalf("after Clear: %+v, %v", got, err)
			}
		})
	}
}
