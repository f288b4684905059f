package pacing_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/pacing"
)

// BenchmarkDeletionsPerWindow deletes versions through two replicas (three
// workers each) against the simulator's secondary limit, both scaled from
// a minute down to 10 s so that a run takes about 40 s: GitHub's 900
// points per minute become 150 per 10 s, pkgwarden's default budget (600
// points, 100 mutating requests per minute) becomes 100 points and 16
// deletions per 10 s. It reports deletions per window achieved against the
// mutating budget (ratio; the target is 0.95 or more) and the rate-limit
// answers the simulator sent (the target is 0). Run it once:
//
//	go test -run '^$' -bench DeletionsPerWindow -benchtime 1x ./internal/pacing/
func BenchmarkDeletionsPerWindow(b *testing.B) {
	const (
		window    = 10 * time.Second
		deletions = 64
	)
	cfg := pacing.Config{Window: window, Points: 100, Mutating: 16}
	for b.Loop() {
		w := newWorld(b, ghsim.RateLimits{SecondaryPoints: 150, SecondaryWindow: window, Latency: 20 * time.Millisecond}, deletions)
		pacers := []*pacing.Pacer{w.replica(b, cfg), w.replica(b, cfg)}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var (
			mu   sync.Mutex
			done []time.Time
		)
		elapsed := w.deleteEach(ctx, b, pacers, 3, client, func() {
			mu.Lock()
			done = append(done, time.Now())
			mu.Unlock()
		})
		cancel()
		slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
		budget := float64(cfg.WithDefaults().Mutating)
		// Overall: every deletion over the whole run. Steady: between the
		// first and last completion, which leaves out the first deletion
		// that the empty bucket lets go at once.
		overall := float64(len(done)) / elapsed.Seconds() * window.Seconds()
		steady := float64(len(done)-1) / done[len(done)-1].Sub(done[0]).Seconds() * window.Seconds()
		st := w.sim.RequestStats()[w.token]
		var conflicts int64
		for _, p := range pacers {
			conflicts += p.Stats().Conflicts
		}
		b.ReportMetric(budget, "budget/window")
		b.ReportMetric(steady, "deletions/window")
		b.ReportMetric(steady/budget, "ratio")
		b.ReportMetric(overall/budget, "ratio-overall")
		b.ReportMetric(float64(st.Limited()), "403/429")
		b.ReportMetric(float64(st.MaxInFlightMutating), "max-in-flight")
		b.Logf("%d deletions in %s; window %s; budget %.0f/window; achieved %.2f/window steady (ratio %.3f), %.2f overall (ratio %.3f); %d rate-limit answers; max %d in flight; %d KV conflicts",
			len(done), elapsed.Round(time.Millisecond), window, budget, steady, steady/budget, overall, overall/budget, st.Limited(), st.MaxInFlightMutating, conflicts)
	}
}
