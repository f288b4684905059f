package main

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/settings"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// checkWorld is the e2e world with acme/app's committed rules (never
// forwarded: nothing is pruned under them) and the owner's policy asking
// review over one new deletion; versions old (untagged), v1, v2 and
// latest.
func checkWorld(t *testing.T, configure func(*settings.Settings)) (*e2e, map[string]string) {
	w := newE2E(t, configure)
	v := map[string]string{
		"old":    w.push(w.image("old"), 4*cfgDay),
		"v1":     w.push(w.image("v1"), 5*cfgDay, "v1"),
		"v2":     w.push(w.image("v2"), 3*cfgDay, "v2"),
		"latest": w.push(w.image("cur"), 1*cfgDay, "latest"),
	}
	w.file("app", rules.Path, e2eRules)
	w.file(".github", rules.Path, "policy:\n  review_deletions_over: 1\n")
	w.dropHeld()
	return w, v
}

// branchFile commits content at path on branch of owner/app.
func (w *e2e) branchFile(owner, branch, path, content string) string {
	w.t.Helper()
	return w.repoBranchFile(owner, "app", branch, path, content)
}

// repoBranchFile commits content at path on branch of owner/repo and
// returns the branch's head.
func (w *e2e) repoBranchFile(owner, repo, branch, path, content string) string {
	w.t.Helper()
	pusher := "alice"
	if owner != "acme" {
		pusher = owner
	}
	if err := w.sim.PutFile(owner, repo, branch, path, []byte(content), pusher); err != nil {
		w.t.Fatal(err)
	}
	sha, err := w.sim.HeadCommit(owner, repo, branch)
	if err != nil {
		w.t.Fatal(err)
	}
	return sha
}

// openPR opens a pull request of head on acme/app.
func (w *e2e) openPR(head string) int {
	w.t.Helper()
	return w.openRepoPR("app", head)
}

// openRepoPR opens a pull request of head on acme/repo.
func (w *e2e) openRepoPR(repo, head string) int {
	user := "alice"
	if strings.Contains(head, ":") {
		user = "" // the fork's owner
	}
	w.t.Helper()
	n, err := w.sim.OpenPullRequest("acme", repo, ghsim.PullRequestOptions{Head: head, Title: "rules", User: user})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// checkRuns are acme/app's check runs on sha.
func (w *e2e) checkRuns(sha string) []ghsim.CheckRun {
	w.t.Helper()
	return w.repoCheckRuns("app", sha)
}

// repoCheckRuns are acme/repo's check runs on sha.
func (w *e2e) repoCheckRuns(repo, sha string) []ghsim.CheckRun {
	w.t.Helper()
	all, err := w.sim.CheckRuns("acme", repo)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []ghsim.CheckRun
	for _, cr := range all {
		if cr.HeadSHA == sha {
			out = append(out, cr)
		}
	}
	return out
}

// checkAfter forwards the held pull_request webhooks, waits for the
// jobs to finish and returns the one check run of acme/app on sha, once
// it has the conclusion want.
func (w *e2e) checkAfter(sha, want string) ghsim.CheckRun {
	w.t.Helper()
	return w.repoCheckAfter("app", sha, want)
}

// repoCheckAfter is checkAfter for acme/repo.
func (w *e2e) repoCheckAfter(repo, sha, want string) ghsim.CheckRun {
	w.t.Helper()
	seq := w.jobsSeq()
	if ids := w.forwardHeld(w.t, "pull_request"); len(ids) == 0 {
		w.t.Fatal("no pull_request webhook to deliver")
	}
	testwait.For(w.t, "the check run on "+sha+" to conclude "+want, 30*time.Second, func() bool {
		runs := w.repoCheckRuns(repo, sha)
		return len(runs) == 1 && runs[0].Conclusion == want
	})
	if n := w.idle(seq); n != 1 {
		w.t.Errorf("the pull request queued %d jobs, want 1 (the check)", n)
	}
	runs := w.repoCheckRuns(repo, sha)
	if len(runs) != 1 || runs[0].Name != "pkgwarden" {
		w.t.Fatalf("check runs on %s: %+v", sha, runs)
	}
	return runs[0]
}

// TestPullRequestCheckPreview: a pull request widening the rules to
// delete_tags ["*"] gets a neutral check listing exactly the versions the
// new file would delete that the committed one keeps (over the owner's
// review_deletions_over of 1); evaluated again at the same head (closed
// and reopened) it updates that same check run; a push narrowing the
// rules gets a success on the new head. Nothing is deleted, no issue
// written.
func TestPullRequestCheckPreview(t *testing.T) {
	w, v := checkWorld(t, nil)
	before := w.activeSet()
	wide := strings.Replace(e2eRules, `delete_tags: ["pr-*"]`, `delete_tags: ["*"]`, 1)
	sha := w.branchFile("acme", "wide", rules.Path, wide)
	n := w.openPR("wide")
	w.sim.ResetRequestStats()
	cr := w.checkAfter(sha, "neutral")
	for caller, st := range w.sim.RequestStats() {
		t.Logf("requests of the evaluation, %s: %v", caller[:min(len(caller), 8)], st.Requests)
	}
	for _, want := range []string{v["v1"], v["v2"]} {
		if !strings.Contains(cr.Text, want[:7+12]) {
			t.Errorf("the check's text does not list %s:\n%s", want, cr.Text)
		}
	}
	for _, not := range []string{v["old"], v["latest"]} {
		if strings.Contains(cr.Text, not[:7+12]) {
			t.Errorf("the check's text lists %s, which both files treat alike:\n%s", not, cr.Text)
		}
	}
	if !strings.Contains(cr.Summary, "2 more deletions") || !strings.Contains(cr.Title, "review") {
		t.Errorf("title %q, summary:\n%s", cr.Title, cr.Summary)
	}

	// The same head again: the same check run, updated in place.
	if err := w.sim.SetPullRequestState("acme", "app", n, "closed", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetPullRequestState("acme", "app", n, "open", "alice"); err != nil {
		t.Fatal(err)
	}
	w.forwardHeld(t, "none") // drops the closed delivery
	if err := w.sim.SetPullRequestState("acme", "app", n, "closed", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetPullRequestState("acme", "app", n, "open", "alice"); err != nil {
		t.Fatal(err)
	}
	again := w.checkAfter(sha, "neutral")
	if again.ID != cr.ID {
		t.Errorf("re-evaluating head %s wrote check run %d, want %d updated", sha, again.ID, cr.ID)
	}

	// A push narrowing the rules: its head gets a success.
	narrow := strings.Replace(e2eRules, `delete_tags: ["pr-*"]`, `delete_tags: ["v1"]`, 1)
	sha2 := w.branchFile("acme", "wide", rules.Path, narrow)
	cr2 := w.checkAfter(sha2, "success")
	if !strings.Contains(cr2.Text, v["v1"][:7+12]) || strings.Contains(cr2.Text, v["v2"][:7+12]) {
		t.Errorf("the narrowed check's text:\n%s", cr2.Text)
	}
	if got := w.activeSet(); !maps.Equal(got, before) {
		t.Errorf("versions changed: %v, want %v", got, before)
	}
	if is := w.configIssues("app"); len(is) != 0 {
		t.Errorf("issues written: %+v", is)
	}
}

// TestPullRequestCheckErrors: three errors give a failure with three
// annotations at their lines, in the invalid-config issue's words; the
// fixing push turns the new head green.
func TestPullRequestCheckErrors(t *testing.T) {
	w, _ := checkWorld(t, nil)
	bad := "rules:\n  - packages: [\"app\"]\n    type: container\n    prune:\n      untaged: true\n      older_than: 3 weeks\n      keep_untagged: many\n"
	sha := w.branchFile("acme", "bad", rules.Path, bad)
	w.openPR("bad")
	cr := w.checkAfter(sha, "failure")
	lines := map[int]bool{}
	for _, a := range cr.Annotations {
		lines[a.StartLine] = true
		if a.Path != rules.Path || a.AnnotationLevel != "failure" || !strings.HasPrefix(a.Message, rules.Path+":") {
			t.Errorf("annotation %+v", a)
		}
	}
	if len(cr.Annotations) != 3 || !lines[5] || !lines[6] || !lines[7] {
		t.Errorf("annotations %+v, want 3 at lines 5, 6, 7", cr.Annotations)
	}
	sha2 := w.branchFile("acme", "bad", rules.Path, e2eRules+"\n")
	w.checkAfter(sha2, "success")
}

// hostileFiles are rules files written to hurt the decoder: huge, deep,
// and a billion laughs of aliases.
func hostileFiles() map[string]string {
	var laughs strings.Builder
	laughs.WriteString("rules:\n  - packages: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&laughs, "  - packages: &a%d [", i)
		for j := range 10 {
			if j > 0 {
				laughs.WriteString(", ")
			}
			fmt.Fprintf(&laughs, "*a%d", i-1)
		}
		laughs.WriteString("]\n")
	}
	return map[string]string{
		"huge":    "# " + strings.Repeat("x", rules.MaxFileSize) + "\nrules: []\n",
		"deep":    "rules: " + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + "\n",
		"aliases": laughs.String(),
	}
}

// TestPullRequestCheckForkHostile: a fork's pull request with a hostile
// file gets a failure saying why, and nothing else happens: no issue, no
// deletion, no job but the check.
func TestPullRequestCheckForkHostile(t *testing.T) {
	for name, content := range hostileFiles() {
		t.Run(name, func(t *testing.T) {
			w, _ := checkWorld(t, nil)
			before := w.activeSet()
			if _, err := w.sim.AddUser("mallory"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.sim.AddFork("acme", "app", "mallory"); err != nil {
				t.Fatal(err)
			}
			sha := w.branchFile("mallory", "evil", rules.Path, content)
			w.dropHeld()
			w.openPR("mallory:evil")
			cr := w.checkAfter(sha, "failure")
			if len(cr.Annotations) == 0 || cr.Annotations[0].Path != rules.Path {
				t.Errorf("no annotation gives the refusal: %+v", cr.Annotations)
			} else {
				t.Logf("%d annotations, the first: %s", len(cr.Annotations), cr.Annotations[0].Message)
			}
			if got := w.activeSet(); !maps.Equal(got, before) {
				t.Errorf("versions changed: %v, want %v", got, before)
			}
			if is := w.configIssues("app"); len(is) != 0 {
				t.Errorf("issues written: %+v", is)
			}
		})
	}
}

// TestPullRequestCheckNoRulesFile: a pull request touching no rules file
// gets no check run, and costs the changed-files listing alone.
func TestPullRequestCheckNoRulesFile(t *testing.T) {
	w, _ := checkWorld(t, nil)
	sha := w.branchFile("acme", "docs", "README.md", "# app\n")
	w.openPR("docs")
	if err := w.sim.WaitDeliveries(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetRequestStats()
	seq := w.jobsSeq()
	w.forwardHeld(t, "pull_request")
	if n := w.idle(seq); n != 1 {
		t.Errorf("queued %d jobs, want 1 (the check)", n)
	}
	if runs := w.checkRuns(sha); len(runs) != 0 {
		t.Errorf("check runs: %+v", runs)
	}
	total := map[string]int{}
	for caller, st := range w.sim.RequestStats() {
		if caller == "app" { // the App's JWT: installation tokens
			continue
		}
		for m, n := range st.Requests {
			total[m] += n
		}
	}
	if len(total) != 1 || total["GET"] != 1 {
		t.Errorf("requests as the installation: %v, want one GET (the files listing)", total)
	}
}

// TestPullRequestCheckManyErrors: a pull request to the owner's .github
// breaking three YAML files (20 errors each, the decoder's most) gets all
// 60 annotations, 50 in the first request and the rest in an update
// (GitHub refuses more than 50 per request); a workflow file is no rules
// file.
func TestPullRequestCheckManyErrors(t *testing.T) {
	w, _ := checkWorld(t, nil)
	var bad strings.Builder
	bad.WriteString("rules:\n")
	for i := range 25 {
		fmt.Fprintf(&bad, "  - packages: [\"p%d\"]\n    prune: {untaged: true}\n", i)
	}
	var sha string
	for _, p := range []string{"bases/a.yml", "bases/b.yaml", "bases/c.yml"} {
		sha = w.repoBranchFile("acme", ".github", "many", p, bad.String())
	}
	sha = w.repoBranchFile("acme", ".github", "many", ".github/workflows/ci.yml", "on: push\n")
	w.openRepoPR(".github", "many")
	cr := w.repoCheckAfter(".github", sha, "failure")
	per := map[string]int{}
	for _, a := range cr.Annotations {
		per[a.Path]++
	}
	if len(cr.Annotations) != 60 || per["bases/a.yml"] != 20 || per["bases/b.yaml"] != 20 || per["bases/c.yml"] != 20 {
		t.Errorf("annotations per file: %v (%d in all), want 20 in each of the three bases", per, len(cr.Annotations))
	}
}

// TestPullRequestCheckNoPackagesToken: rules that decode, for an owner
// without a packages token: neutral, saying the preview needs one.
func TestPullRequestCheckNoPackagesToken(t *testing.T) {
	w, _ := checkWorld(t, func(s *settings.Settings) { s.PackagesTokens = settings.TokenMap{} })
	sha := w.branchFile("acme", "wide", rules.Path, e2eRules+"\n")
	w.openPR("wide")
	cr := w.checkAfter(sha, "neutral")
	if !strings.Contains(cr.Summary, "needs a packages token") || len(cr.Annotations) != 0 {
		t.Errorf("title %q, summary %q, annotations %+v", cr.Title, cr.Summary, cr.Annotations)
	}
}

// TestPullRequestCheckForkExtendsWithheld: a fork's file whose _extends
// names a file of another repository of the owner (a private one, say)
// fails, and the check run says nothing of what that file holds or
// whether it exists; the same file from a branch of the repository gets
// the details, as the invalid-config issue would.
func TestPullRequestCheckForkExtendsWithheld(t *testing.T) {
	w, _ := checkWorld(t, nil)
	w.file("other", "secret.yml", "hunter2: yes\n")
	w.dropHeld()
	if _, err := w.sim.AddUser("mallory"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddFork("acme", "app", "mallory"); err != nil {
		t.Fatal(err)
	}
	probe := "_extends: acme/other:secret.yml\n" + e2eRules
	for _, tc := range []struct {
		owner, head string
		shows       bool
	}{
		{"mallory", "mallory:probe", false},
		{"acme", "probe", true},
	} {
		sha := w.branchFile(tc.owner, "probe", rules.Path, probe)
		w.dropHeld()
		w.openPR(tc.head)
		cr := w.checkAfter(sha, "failure")
		all := cr.Title + cr.Summary + cr.Text
		for _, a := range cr.Annotations {
			all += a.Message
		}
		if strings.Contains(all, "hunter2") != tc.shows {
			t.Errorf("%s: the check run shows the other file's content: %v, want %v:\n%s", tc.head, !tc.shows, tc.shows, all)
		}
		if len(cr.Annotations) == 0 {
			t.Errorf("%s: no annotation", tc.head)
		}
	}
}

// TestPullRequestCheckOwnerPolicy: a pull request to the owner's .github
// changing the policy and the owner's rules is previewed over every
// repository's packages: acme/app (its own file, under the owner's
// policy) loses a deletion to a longer min_untagged_age, acme/other (no
// file of its own: the owner's rules) gains one. Nothing is deleted.
func TestPullRequestCheckOwnerPolicy(t *testing.T) {
	w, v := checkWorld(t, nil)
	other := simtest.Package{Sim: w.sim, Pusher: w.pusher, Owner: "acme", Name: "other"}
	otherOld := other.Push(t, simtest.Image(t, "https://github.com/acme/other", "o-old"), w.sim.Now().Add(-6*cfgDay))
	other.Push(t, simtest.Image(t, "https://github.com/acme/other", "o-v1"), w.sim.Now().Add(-2*cfgDay), "v1")
	w.dropHeld()
	before, otherBefore := w.activeSet(), other.ActiveSet()

	owner := "policy:\n  review_deletions_over: 1\n  min_untagged_age: 5d\nrules:\n  - type: container\n    prune:\n      untagged: true\n"
	sha := w.repoBranchFile("acme", rules.OwnerRepo, "policy", rules.Path, owner)
	w.openRepoPR(rules.OwnerRepo, "policy")
	cr := w.repoCheckAfter(rules.OwnerRepo, sha, "success")
	for _, want := range []string{"acme/container/app", "acme/container/other", v["old"][7 : 7+12], otherOld[7 : 7+12]} {
		if !strings.Contains(cr.Text, want) {
			t.Errorf("the check's text does not name %s:\n%s", want, cr.Text)
		}
	}
	if got := w.activeSet(); !maps.Equal(got, before) {
		t.Errorf("acme/app's versions changed: %v, want %v", got, before)
	}
	if got := other.ActiveSet(); !maps.Equal(got, otherBefore) {
		t.Errorf("acme/other's versions changed: %v, want %v", got, otherBefore)
	}
}
