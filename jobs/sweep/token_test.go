package sweep_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
)

// tokenProblems records what the sweep tells the owner about its token.
type tokenProblems struct {
	mu   sync.Mutex
	seen []report.TokenProblem
}

func (r *tokenProblems) TokenProblem(_ context.Context, _ int64, owner, _ string, p report.TokenProblem) (report.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, p)
	return report.Result{}, nil
}

// TestSweepGoesOnPastARefusedType: a token without repo gets 403 on the
// docker listing (GitHub: docker packages are repository-scoped); the
// sweep still lists and queues acme's npm packages, and tells the owner
// what the token lacks.
func TestSweepGoesOnPastARefusedType(t *testing.T) {
	w := newSchedWorld(t)
	if _, err := w.sim.Publish("acme", "npm", "web", "1.0.0", ghsim.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := w.sim.AddClassicToken("alice", "read:packages", "write:packages", "delete:packages")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := githubapi.ParsePackagesTokens("acme="+tok, "")
	if err != nil {
		t.Fatal(err)
	}
	q := w.conn("demo")
	rec := recordJobs(t, q)
	problems := &tokenProblems{}
	ctx := context.Background()
	s, err := sweep.Open(ctx, q, sweep.Config{Holder: "demo", Interval: time.Hour, TokenProblems: problems,
		Access: &planner.Access{App: w.app, Tokens: tokens, APIURL: w.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("SweepNow queued %d jobs, want a prune and a restore of npm web", n)
	}
	testwait.For(t, "the jobs", 5*time.Second, func() bool { return len(rec.all()) == n })
	for _, j := range rec.all() {
		if j.job.Target.PackageName != "web" {
			t.Errorf("job for %s", j.job.Target.PackageName)
		}
	}
	problems.mu.Lock()
	defer problems.mu.Unlock()
	if len(problems.seen) != 1 || problems.seen[0].Kind != githubapi.TokenScope || !slices.Equal(problems.seen[0].Missing, []string{"repo"}) ||
		!slices.Contains(problems.seen[0].Types, "docker") {
		t.Errorf("token problems told: %+v, want one naming repo for docker", problems.seen)
	}
}
