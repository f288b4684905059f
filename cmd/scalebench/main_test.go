package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestScaleBenchSmoke runs the command's code at 20 packages × 200
// versions: the simulator and serve as subprocesses (pkgwarden built
// once), a cold and a warm sweep, the end-state check. The end state must
// be exactly what the rules leave, and the figures must hang together:
// the cold sweep deletes and restores what the world expects and makes
// at least its lower bound of requests, reads every active manifest at
// least once; the warm one deletes nothing and every job of both
// succeeds; serve's peak RSS, store and restart are measured.
func TestScaleBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := defaultConfig()
	cfg.Packages, cfg.Versions, cfg.SweepLimit = 20, 200, 2*time.Minute
	var out bytes.Buffer
	res, err := run(ctx, cfg, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.End.OK() || res.End.Packages != 20 || res.End.Versions != 20*200 {
		t.Errorf("end state: %+v", res.End)
	}
	if res.End.PulledPackages != 20 || res.End.TagsPulled == 0 || res.End.ChildrenPulled == 0 || res.End.BrokenAsExpected != res.Expected.Gone {
		t.Errorf("pulls: %+v, %d platforms gone for good", res.End, res.Expected.Gone)
	}
	cold, warm := kindsOf(res.Cold.Routes), kindsOf(res.Warm.Routes)
	exp := res.Expected
	if exp.Deleted == 0 || exp.Restored != 2 || exp.Gone != 2 {
		t.Fatalf("expected %+v: want deletions and 2 broken releases of each kind", exp)
	}
	checks := []struct {
		name      string
		got, want int
		atLeast   bool
	}{
		{"cold deletions", cold.Deletions, exp.Deleted, false},
		{"cold restores", cold.Restores, exp.Restored, false},
		{"cold requests (lower bound)", cold.Total, res.bound(cold), true},
		{"cold manifest reads", cold.ManifestReads, exp.Active, true},
		{"cold listing pages", cold.Listings, exp.ListingPages, true},
		{"cold report writes", cold.ReportWrites, 1, true},
		{"warm deletions", warm.Deletions, 0, false},
		{"warm restores", warm.Restores, 0, false},
		{"cold jobs queued", res.Cold.Queued, 2 * 20, false},
		{"warm jobs queued", res.Warm.Queued, 2 * 20, false},
		{"cold prune jobs succeeded", int(res.Cold.Jobs["prune/success"]), 20, false},
		{"warm prune jobs succeeded", int(res.Warm.Jobs["prune/success"]), 20, false},
		{"cold restore jobs succeeded", int(res.Cold.Jobs["restore/success"]), 20, true},
		{"dead letters", int(res.Warm.DeadLetters), 0, false},
	}
	for _, c := range checks {
		if c.atLeast && c.got < c.want || !c.atLeast && c.got != c.want {
			t.Errorf("%s: %d, want %s%d", c.name, c.got, map[bool]string{true: "at least ", false: ""}[c.atLeast], c.want)
		}
	}
	for _, f := range []sweepFigures{res.Cold, res.Warm} {
		if f.HWMKiB < 1024 || f.HWMKiB > 4<<20 || f.Took <= 0 {
			t.Errorf("%s sweep: peak RSS %d KiB, took %s", f.Label, f.HWMKiB, f.Took)
		}
	}
	if res.StoreBytes == 0 || res.Restart <= 0 {
		t.Errorf("store %d bytes, restart %s", res.StoreBytes, res.Restart)
	}
	last := strings.TrimSpace(out.String())
	last = last[strings.LastIndexByte(last, '\n')+1:]
	if !strings.HasPrefix(last, "scalebench 20x200:1: cold ") || !strings.HasSuffix(last, "; end state OK") {
		t.Errorf("last line %q", last)
	}
}
