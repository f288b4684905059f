package prune_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestManyRunsKeepNothing: a Pruner that ran a package's prune many times
// holds no more memory than after a few runs: nothing it keeps (caches,
// memos, run state) grows with the number of runs. The heap in use after
// a GC is compared between run 10 and run 110 of a package of 300
// versions; 100 runs that each kept their decision (300 entries) would
// add several times the bound.
func TestManyRunsKeepNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("110 prune runs")
	}
	const versions, warmUp, measured = 300, 10, 100
	w := jobstest.NewWorld(t)
	w.UseInventory = true
	w.File("app", "rules:\n  - packages: [\"app\"]\n    prune: {untagged: true, older_than: 30d}\n")
	now := w.Sim.Now()
	ms := make([]ghsim.ContainerManifest, 0, versions)
	for i := range versions {
		ms = append(ms, ghsim.ContainerManifest{MediaType: jobstest.OCIImage, Body: jobstest.ImageManifest(fmt.Sprintf("img-%d", i)),
			Tags: []string{fmt.Sprintf("v%d", i)}, CreatedAt: now.Add(-time.Duration(i) * time.Hour)})
	}
	if _, err := w.Sim.AddContainerManifests("acme", "app", "acme/app", ms); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	p := w.Pruner(prune.ReporterFunc(func(context.Context, prune.Run) error { runs.Add(1); return nil }), false, "acme="+w.Token)
	run := func(n int) {
		t.Helper()
		for range n {
			job := w.Job()
			job.DeliveryID = fmt.Sprintf("delivery-%d", runs.Load())
			if err := p.Handle(context.Background(), job); err != nil {
				t.Fatal(err)
			}
		}
	}
	inUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run(warmUp)
	before := inUse()
	run(measured)
	after := inUse()
	// The pruner must be alive when measured: what it keeps counts.
	runtime.KeepAlive(p)
	const bound = 2 << 20
	grew := int64(after) - int64(before)
	t.Logf("heap in use after %d runs %d KiB, after %d %d KiB: %+d KiB", warmUp, before>>10, warmUp+measured, after>>10, grew>>10)
	if runs.Load() != warmUp+measured {
		t.Fatalf("%d runs reported, want %d", runs.Load(), warmUp+measured)
	}
	if grew > bound {
		t.Errorf("the heap grew by %d KiB over %d runs, more than %d KiB: something keeps what each run did", grew>>10, measured, bound>>10)
	}
}
