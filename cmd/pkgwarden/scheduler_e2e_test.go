package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
)

// TestSweepAppliesTimeBasedRules: with no webhook delivered at all (the
// pushes' webhooks stay at the gate), the scheduler role's sweep queues a
// prune of the package, which deletes the version that aged past
// older_than since it was published, and keeps the younger one.
func TestSweepAppliesTimeBasedRules(t *testing.T) {
	const day = 24 * time.Hour
	w := newE2EWorld(t, ghsim.RateLimits{})
	w.file("app", rules.Path, "rules:\n  - packages: [\"app\"]\n    type: container\n    prune: {untagged: true, older_than: 2d}\n")
	young := w.push(w.image("1d"), 1*day)
	old := w.push(w.image("3d"), 3*day)
	w.startServe(func(s *settings.Settings) {
		s.Roles = []string{settings.RoleWeb, settings.RoleWorker, settings.RoleScheduler}
		s.SweepInterval = 2 * time.Second
		s.SchedulerLeaseTTL = time.Second
	})
	deadline := time.Now().Add(30 * time.Second)
	if !testwait.Until(time.Until(deadline), func() bool { return !w.activeSet()[old] }) {
		t.Fatalf("the version older than 2d is still active after 30s of sweeps: %v", w.activeSet())
	}
	if !w.activeSet()[young] {
		t.Errorf("the version younger than 2d was deleted")
	}
	// The run is reported after its issue is written; wait for it.
	if !testwait.Until(time.Until(deadline), func() bool { return len(w.runs.snapshot()) > 0 }) {
		t.Fatal("no prune run was reported")
	}
	for _, r := range w.runs.snapshot() {
		if r.Reason != sweep.JobReason {
			t.Errorf("run %s has reason %q, want %q: only the sweep queued jobs", r.ID, r.Reason, sweep.JobReason)
		}
	}
	w.pullable()
}

// TestSchedulerCountsItsRequests: a process with the scheduler role only
// lists installations as the App and packages with the owner's token; its
// /metrics counts those requests like a worker's, by method and status.
func TestSchedulerCountsItsRequests(t *testing.T) {
	w := newE2EWorld(t, ghsim.RateLimits{})
	w.file("app", rules.Path, "rules:\n  - packages: [\"app\"]\n    type: container\n    prune: {untagged: true}\n")
	w.push(w.image("one"), time.Hour)
	w.startServe(func(s *settings.Settings) {
		s.Roles = []string{settings.RoleScheduler}
		s.SweepInterval = time.Second
		s.SchedulerLeaseTTL = time.Second
	})
	series := `pkgwarden_github_requests_total{code="200",method="GET"}`
	testwait.For(t, "the scheduler's GitHub requests in /metrics", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + w.addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return err == nil && metricSum(string(b), series) > 0
	})
}
