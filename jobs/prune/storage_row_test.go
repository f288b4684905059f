package prune

import (
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// The dashboard row keeps what each run freed and the package's size:
// unknown stays unknown (nil), a preview's size is all of the package,
// and an invalid file keeps the last size.
func TestDashboardRowStorage(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	known := rules.Storage{Known: true, Before: 100, After: 60, Frees: 40}
	prevSize := int64(77)
	prev := report.DashboardRow{Size: &prevSize}
	one := make([]rules.Entry, 1)
	tests := map[string]struct {
		run         Run
		freed, size int64 // -1: nil
	}{
		"pruned, measured":     {run: Run{ID: "a", Outcome: OutcomePruned, Deleted: one, Storage: known}, freed: 40, size: 60},
		"pruned, not measured": {run: Run{ID: "a", Outcome: OutcomePruned, Deleted: one, Storage: rules.Storage{Why: rules.StorageNoSizes}}, freed: -1, size: -1},
		"dry run":              {run: Run{ID: "a", Outcome: OutcomeDryRun, DryRun: true, Storage: known}, freed: -1, size: 100},
		"invalid file":         {run: Run{ID: "a", Outcome: OutcomeInvalidConfig}, freed: -1, size: 77},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.run.Finished = now
			r := dashboardRow(tc.run, report.Result{}, prev, now)
			var freed *int64
			if len(r.Deletions) > 0 {
				freed = r.Deletions[len(r.Deletions)-1].Freed
			}
			if got := orMinus(freed); got != tc.freed {
				t.Errorf("freed = %d, want %d", got, tc.freed)
			}
			if got := orMinus(r.Size); got != tc.size {
				t.Errorf("size = %d, want %d", got, tc.size)
			}
		})
	}
}

func orMinus(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
