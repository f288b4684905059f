package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/settings"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// TestInvalidConfigClosesAfterPrune: a bad push opens the invalid-config
// issue with each error linked to its line at the pushed commit and the
// pusher mentioned; the fixing push, while GitHub fails every request of
// the package, leaves the issue open (saying the file is valid and the
// prune pending) however often the prune fails; once GitHub answers, the
// prune's next attempt succeeds under the fixed file and closes it, with
// one comment.
func TestInvalidConfigClosesAfterPrune(t *testing.T) {
	// The failing prune is retried (with backoff from 200ms) until
	// GitHub answers again, instead of reaching the dead-letter stream.
	w := newE2E(t, func(s *settings.Settings) { s.JobAttempts = 50 })
	old := w.push(w.image("old"), 4*cfgDay)
	w.push(w.image("v1"), 5*cfgDay, "v1")
	w.dropHeld()

	bad := "rules:\n  - packages: [\"app\"]\n    type: container\n    prune:\n      untaged: true\n"
	seq := w.jobsSeq()
	w.file("app", rules.Path, bad)
	w.forwardPushes()
	w.idle(seq)
	sha, err := w.sim.HeadCommit("acme", "app", "")
	if err != nil {
		t.Fatal(err)
	}
	issues := w.configIssues("app")
	if len(issues) != 1 || issues[0].State != "open" {
		t.Fatalf("after the bad push: %+v", issues)
	}
	body := issues[0].Body
	line := regexp.MustCompile(`\]\(http://[^)]*/acme/app/blob/` + sha + `/\.github/pkgwarden\.yml#L5\): ` + "`rules\\[0\\]\\.prune\\.untaged`: unknown key; did you mean `untagged`\\?")
	for what, ok := range map[string]bool{
		"the error linked to line 5 at the pushed commit, with did you mean": line.MatchString(body),
		"the pusher mentioned":        strings.Contains(body, " by @alice "),
		"plan --config":               strings.Contains(body, "pkgwarden plan --owner acme --repo app --config .github/pkgwarden.yml"),
		"the README's config section": strings.Contains(body, "#githubpkgwardenyml"),
	} {
		if !ok {
			t.Errorf("the issue lacks %s:\n%s", what, body)
		}
	}

	// The fix arrives while every request about the package fails.
	if err := w.sim.SetFaults(ghsim.Faults{ErrorRate: 1, Paths: []string{"/orgs/acme/packages/container/app"}}); err != nil {
		t.Fatal(err)
	}
	w.file("app", rules.Path, e2eRules)
	w.forwardPushes()
	testwait.For(t, "the issue to say the file is valid", 30*time.Second, func() bool {
		return strings.Contains(w.configIssues("app")[0].Body, "valid again")
	})
	testwait.For(t, "the prune to fail twice", 30*time.Second, func() bool { return w.sim.FaultStats().Injected() >= 2 })
	is := w.configIssues("app")[0]
	if is.State != "open" || len(is.Comments) != 0 || !strings.Contains(is.Body, "by @alice") {
		t.Fatalf("with the prune failing, the issue is %s with %d comments:\n%s", is.State, len(is.Comments), is.Body)
	}
	if runs := w.runs.snapshot(); len(runs) != 0 {
		t.Fatalf("a prune finished while GitHub failed it: %+v", runs)
	}
	if !w.activeSet()[old] {
		t.Fatal("a version was deleted while GitHub failed every request")
	}

	// GitHub answers again: the prune's next attempt succeeds under the
	// fixed file and closes the issue.
	if err := w.sim.SetFaults(ghsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the invalid-config issue to close", 30*time.Second, func() bool {
		return w.configIssues("app")[0].State == "closed"
	})
	is = w.configIssues("app")[0]
	if len(is.Comments) != 1 || !strings.Contains(is.Comments[0].Body, "A prune under it succeeded: acme/container/app") {
		t.Errorf("closing comments: %+v", is.Comments)
	}
	if w.activeSet()[old] {
		t.Error("the prune under the fixed file left the untagged version")
	}

	// A repository whose file governs no package: nothing to wait for, the
	// fixing push closes its issue.
	seq = w.jobsSeq()
	w.file("other", rules.Path, bad)
	w.forwardPushes()
	w.idle(seq)
	if got := w.configIssues("other"); len(got) != 1 || got[0].State != "open" {
		t.Fatalf("bad push to other: %+v", got)
	}
	seq = w.jobsSeq()
	w.file("other", rules.Path, e2eRules)
	w.forwardPushes()
	w.idle(seq)
	got := w.configIssues("other")
	if len(got) != 1 || got[0].State != "closed" || len(got[0].Comments) != 1 || !strings.Contains(got[0].Comments[0].Body, "It governs no package yet.") {
		t.Errorf("fixing push to other: %+v", got)
	}
}
