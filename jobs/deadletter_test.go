package jobs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestDeadLettersGiveOneOwnerIssue: two jobs of acme that fail every
// attempt give one issue in acme's .github, listing both with their
// errors on one line, rewritten for the second, never commented on.
func TestDeadLettersGiveOneOwnerIssue(t *testing.T) {
	ctx := context.Background()
	sim := simtest.New(t, ghsim.Options{})
	srv := simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	simtest.Org(t, sim, "acme", "alice", "app", ".github")
	inst, err := sim.AddInstallation("acme", map[string]string{"metadata": "read", "issues": "write"})
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: sim.AppID(), PrivateKey: key, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	issues := report.New(app, nil, testLogger(t), report.WithBot(sim.BotLogin()))

	q := queuetest.Start(t, "", queuetest.Config())
	rec := &recorder{fail: errors.New("list versions: 502 Bad Gateway\n<!-- hidden -->")}
	startPipeline(t, q.Queue, rec, PoolConfig{Workers: 2, MaxAttempts: 2, Backoff: 20 * time.Millisecond, DeadLetters: issues})
	ownerIssues := func() []ghsim.Issue {
		all, err := sim.Issues("acme", ".github")
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	for i, name := range []string{"app", "web"} {
		tg := target(name)
		tg.InstallationID, tg.Repository = inst, "acme/app"
		if err := Publish(ctx, q.Queue, Job{Type: TypePrune, Target: tg}); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, "the dead letter reported", 10*time.Second, func() bool {
			is := ownerIssues()
			return len(is) == 1 && strings.Count(is[0].Body, "502 Bad Gateway") == i+1
		})
	}
	is := ownerIssues()[0]
	if is.Title != report.DeadLettersTitle("acme") || is.State != "open" || len(is.Comments) != 0 {
		t.Errorf("issue %q %s with %d comments", is.Title, is.State, len(is.Comments))
	}
	for _, want := range []string{"**2 jobs of `acme` failed every attempt**", "`container acme/app`", "`container acme/web`", "after 2 attempts", "next sweep"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, is.Body)
		}
	}
	if strings.Contains(is.Body, "<!-- hidden -->") {
		t.Errorf("the error's text escaped its line:\n%s", is.Body)
	}
	if n := queuetest.Stored(t, q.Queue.JS, queue.StreamDeadLetters); n != 2 {
		t.Errorf("%d dead letters stored, want 2", n)
	}
}
