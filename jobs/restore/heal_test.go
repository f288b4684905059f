package restore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
)

// breaker is another client of the package: bob, an owner of acme with a
// packages token of his own, deleting versions through the Packages API as
// actions/delete-package-versions does.
type breaker struct {
	w     *restoreWorld
	token string
}

func newBreaker(t *testing.T, w *restoreWorld) *breaker {
	t.Helper()
	if _, err := w.Sim.AddUser("bob"); err != nil {
		t.Fatal(err)
	}
	if err := w.Sim.AddOrgMember("acme", "bob", true); err != nil {
		t.Fatal(err)
	}
	return &breaker{w: w, token: w.bobToken(t)}
}

// bobToken is a new packages token of bob's.
func (w *restoreWorld) bobToken(t *testing.T) string {
	t.Helper()
	tok, err := w.Sim.AddClassicToken("bob", "read:packages", "write:packages", "delete:packages")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// delete deletes the version of digest through the API, as bob.
func (b *breaker) delete(t *testing.T, digest string) {
	t.Helper()
	id := b.w.version(t, digest).ID
	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/orgs/acme/packages/container/app/versions/%d", b.w.Server.URL, id), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob's delete of %s: %s", digest, resp.Status)
	}
}

// brokenImage is an image in use some of whose parts bob deleted.
type brokenImage struct {
	// pulls are the tags that must pull on every platform once healed.
	pulls []string
	// parts are the digests bob deletes.
	parts []string
	// says is what the heal comment must say of the image.
	says string
}

// healCases build the broken images of TestHeal and TestHealLeavesAlone.
var healCases = map[string]func(t *testing.T, w *restoreWorld) brokenImage{
	"platforms of a multi-arch index": func(t *testing.T, w *restoreWorld) brokenImage {
		idx := jobstest.Index(w.Image("amd64 v1"), w.Image("arm64 v1"))
		w.Push(idx, 5*jobstest.Day, "v1")
		return brokenImage{pulls: []string{"v1"}, parts: digests(t, idx),
			says: "`v1` was broken (linux/amd64, linux/arm64 deleted outside pkgwarden): restored them; it pulls again"}
	},
	"nested index": func(t *testing.T, w *restoreWorld) brokenImage {
		inner := jobstest.Index(w.Image("amd64 v2"), w.Image("arm64 v2"))
		outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: inner})
		w.Push(outer, 5*jobstest.Day, "v2")
		return brokenImage{pulls: []string{"v2"}, parts: append(digests(t, outer), digests(t, inner)...),
			says: ", linux/amd64, linux/arm64 deleted outside pkgwarden): restored them; it pulls again"}
	},
	"shared child": func(t *testing.T, w *restoreWorld) brokenImage {
		shared := w.Image("amd64 v3")
		a := jobstest.Index(shared, w.Image("arm64 v3"))
		b := jobstest.Index(shared, w.Image("arm64 v3.1"))
		w.Push(a, 5*jobstest.Day, "v3")
		w.Push(b, 4*jobstest.Day, "v3.1")
		return brokenImage{pulls: []string{"v3", "v3.1"}, parts: digests(t, a)[:1],
			says: "`v3` was broken (linux/amd64 deleted outside pkgwarden): restored it; it pulls again"}
	},
	"attestation of a referrers index": func(t *testing.T, w *restoreWorld) brokenImage {
		subject := w.Push(w.Image("v4"), 5*jobstest.Day, "v4")
		refIdx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: w.Image("in-toto attestation of v4")})
		tag := registry.ReferrerTag(subject, registry.ReferrerIndex)
		w.Push(refIdx, 5*jobstest.Day, tag)
		return brokenImage{pulls: []string{"v4", tag}, parts: digests(t, refIdx),
			says: "`v4` was broken (referrer sha256:"}
	},
}

// breakImage builds an image, lets a prune see it, and has bob delete its
// parts: its tags no longer pull.
func breakImage(t *testing.T, w *restoreWorld, build func(t *testing.T, w *restoreWorld) brokenImage) brokenImage {
	t.Helper()
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	img := build(t, w)
	w.prune(t) // the inventory sees the image; nothing to prune
	bob := newBreaker(t, w)
	for _, d := range img.parts {
		bob.delete(t, d)
	}
	if err := w.pull(img.pulls[len(img.pulls)-1]); err == nil {
		t.Fatalf("pull %s succeeded with its parts deleted", img.pulls[len(img.pulls)-1])
	}
	return img
}

// TestHeal: a kept image whose parts another client deleted is healed by
// the next sweep: every part restored, every tag pulls on every platform,
// the restore comment says what was broken with a box per part; a second
// sweep does nothing, and the next prune deletes none of the parts.
func TestHeal(t *testing.T) {
	for name, build := range healCases {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			img := breakImage(t, w, build)
			w.Sim.ResetRequestStats()
			w.sweep(t)
			stats := w.Sim.RequestStats()[w.Token]
			t.Logf("heal of %d parts: %d API requests by the packages token (%v)", len(img.parts), total(stats.Requests), stats.Requests)
			for _, d := range img.parts {
				if w.version(t, d).Deleted {
					t.Errorf("part %s not restored", d)
				}
			}
			for _, tag := range img.pulls {
				if err := w.pull(tag); err != nil {
					t.Errorf("pull %s after the heal: %v", tag, err)
				}
			}
			comments := w.comments(t)
			if !anyContains(comments, "**Healed**", img.says, "this deletion was intentional") {
				t.Errorf("no heal comment: %q", comments)
			}
			for _, d := range img.parts {
				if !anyContains(comments, fmt.Sprintf("(id %d)", w.version(t, d).ID)) {
					t.Errorf("part %s not in the restore comment", d)
				}
			}
			// The report lists them under Restored, as other restores.
			body := w.reportBody(t)
			for _, d := range img.parts {
				if !strings.Contains(body, fmt.Sprintf("<!-- pkgwarden:restored %d ", w.version(t, d).ID)) {
					t.Errorf("part %s not in the report's Restored section:\n%s", d, body)
				}
			}
			before := len(comments)
			w.sweep(t)
			if got := len(w.comments(t)); got != before {
				t.Errorf("second sweep added %d comments", got-before)
			}
			w.prune(t)
			for _, d := range img.parts {
				if w.version(t, d).Deleted {
					t.Errorf("healed part %s pruned", d)
				}
			}
		})
	}
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// TestHealLeavesAlone: no heal while paused, under restore.broken: false,
// or of a part pkgwarden deleted itself.
func TestHealLeavesAlone(t *testing.T) {
	tests := map[string]func(t *testing.T, w *restoreWorld, img brokenImage){
		"restore.broken: false": func(t *testing.T, w *restoreWorld, _ brokenImage) {
			w.File("app", strings.Replace(restoreRules, "package: true}", "package: true, broken: false}", 1))
		},
		"paused": func(t *testing.T, w *restoreWorld, _ brokenImage) {
			w.newRestorerWith(t, func(c *restore.Config) { c.Paused = true })
		},
		"deleted by pkgwarden": func(t *testing.T, w *restoreWorld, img brokenImage) {
			pkg := inventory.Package{Ref: w.Job().Target.Ref()}
			for _, d := range img.parts {
				if err := w.inv.SetMark(context.Background(), w.Installation, pkg, inventory.MarkDeleted, w.version(t, d).ID); err != nil {
					t.Fatal(err)
				}
			}
		},
	}
	for name, before := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			img := breakImage(t, w, healCases["platforms of a multi-arch index"])
			before(t, w, img)
			w.sweep(t)
			for _, d := range img.parts {
				if !w.version(t, d).Deleted {
					t.Errorf("part %s restored", d)
				}
			}
			if anyContains(w.comments(t), "was broken") {
				t.Errorf("heal reported: %q", w.comments(t))
			}
		})
	}
}

// TestHealAfterPrune: a prune that acted on its rules and saw a broken
// image queues a restore job for its package once reported, and that job
// heals the image; a paused prune, or one that saw nothing broken, queues
// none.
func TestHealAfterPrune(t *testing.T) {
	tests := map[string]struct{ broken, paused, wantJob bool }{
		"prune":                 {broken: true, wantJob: true},
		"paused prune":          {broken: true, paused: true},
		"prune of whole images": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			var img brokenImage
			if tc.broken {
				img = breakImage(t, w, healCases["platforms of a multi-arch index"])
			} else {
				w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
				img = healCases["platforms of a multi-arch index"](t, w)
			}
			w.pruneWith(t, func(c *prune.Config) { c.HealQueue, c.Paused = w.NATS.Queue, tc.paused })
			subject := jobs.Job{Type: jobs.TypeRestore, Target: w.Job().Target}.Subject()
			m, err := w.NATS.Queue.Jobs.GetLastMsgForSubject(context.Background(), subject)
			if !tc.wantJob {
				if err == nil {
					t.Fatalf("the prune queued %s", m.Data)
				}
				return
			}
			if err != nil {
				t.Fatalf("no restore job queued after the prune: %v", err)
			}
			var job jobs.Job
			if err := json.Unmarshal(m.Data, &job); err != nil {
				t.Fatal(err)
			}
			if job.Reason != "after prune" || job.Undo != nil {
				t.Errorf("queued job = %+v", job)
			}
			if err := w.restorer.Handle(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			for _, d := range img.parts {
				if w.version(t, d).Deleted {
					t.Errorf("part %s not restored", d)
				}
			}
			if err := w.pull("v1"); err != nil {
				t.Errorf("pull v1 after the heal: %v", err)
			}
		})
	}
}

// reportBody is the body of acme/app's report issue.
func (w *restoreWorld) reportBody(t *testing.T) string {
	t.Helper()
	issues, err := w.Sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		if is.Number == w.reportIssue(t) {
			return is.Body
		}
	}
	t.Fatal("no report issue")
	return ""
}

// TestHealCap: a run restores at most policy.max_deletions_per_run
// versions; the next run goes on where it stopped, and the image pulls
// once every part is back.
func TestHealCap(t *testing.T) {
	w := newRestoreWorld(t)
	w.File(".github", "policy:\n  max_deletions_per_run: 1\n")
	img := breakImage(t, w, healCases["platforms of a multi-arch index"])
	deleted := func() int {
		n := 0
		for _, d := range img.parts {
			if w.version(t, d).Deleted {
				n++
			}
		}
		return n
	}
	w.sweep(t)
	if n := deleted(); n != 1 {
		t.Fatalf("after the first run %d of 2 parts deleted, want 1 (the cap is 1)", n)
	}
	if !anyContains(w.comments(t), "still deleted") {
		t.Errorf("the first run's comment does not say what is left: %q", w.comments(t))
	}
	if err := w.pull("v1"); err == nil {
		t.Error("v1 pulls with a part deleted")
	}
	w.sweep(t)
	if n := deleted(); n != 0 {
		t.Fatalf("after the second run %d parts deleted", n)
	}
	if err := w.pull("v1"); err != nil {
		t.Errorf("pull v1 after the second run: %v", err)
	}
}

// TestHealIntentional: the "intentional" box of a healed part marks its
// deletion intentional (the index holding it keeps it for now); once
// deleted again, no heal brings it back.
func TestHealIntentional(t *testing.T) {
	w := newRestoreWorld(t)
	img := breakImage(t, w, healCases["platforms of a multi-arch index"])
	w.sweep(t)
	part := img.parts[0]
	id := w.version(t, part).ID
	if w.version(t, part).Deleted {
		t.Fatal("part not healed")
	}
	w.undo(t, "d-intentional-part", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{id}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "intentional checkbox", Answer: true})
	(&breaker{w: w, token: w.bobToken(t)}).delete(t, part)
	w.sweep(t)
	if !w.version(t, part).Deleted {
		t.Errorf("a heal restored a part whose deletion was called intentional: %q", w.comments(t))
	}
}
