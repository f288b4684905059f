package restore_test

import (
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
)

// TestForgetWithinTheRules: /pkgwarden forget deletes again only what
// pkgwarden restored, never while paused, in a dry run or where no rule
// governs, never a platform manifest an index that stays still holds, and
// at most report.MaxCommandIDs ids at a time; /pkgwarden restore brings
// back only what pkgwarden deleted. alice, the organisation's admin, asks
// every time: permissions are TestPermissionMatrix's.
func TestForgetWithinTheRules(t *testing.T) {
	type scene struct {
		w *restoreWorld
		// restored: v1.1.0, deleted by hand and brought back by the
		// sweep (restore.tags v*); child: a platform manifest of the
		// v2.0.0 index, restored with it; never: latest, which pkgwarden
		// never touched; byHand: build-7, deleted by hand, no rule
		// restores it.
		restored, child, never, byHand string
	}
	setup := func(t *testing.T) *scene {
		w := newRestoreWorld(t)
		s := &scene{w: w}
		s.never = w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
		s.restored = w.Push(w.Image("v1.1.0"), 5*jobstest.Day, "v1.1.0")
		idx := jobstest.Index(w.Image("amd64"), w.Image("arm64"))
		d := w.Push(idx, 5*jobstest.Day, "v2.0.0")
		s.byHand = w.Push(w.Image("build-7"), 5*jobstest.Day, "build-7")
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		s.child = im.Manifests[0].Digest.String()
		w.prune(t)
		w.deleteByHand(t, s.restored)
		w.deleteByHand(t, d)
		for _, m := range im.Manifests {
			w.deleteByHand(t, m.Digest.String())
		}
		w.deleteByHand(t, s.byHand)
		w.sweep(t)
		for _, x := range []string{s.restored, d, s.child} {
			if w.version(t, x).Deleted {
				t.Fatalf("the sweep did not restore %s: the test proves nothing", x)
			}
		}
		return s
	}
	const dryRunPolicy = "policy:\n  repository_rules: dry_run\n"
	const denyPolicy = "policy:\n  repository_rules: deny\n"
	tests := map[string]struct {
		owner  string // the owner's .github file
		paused bool
		ask    func(s *scene) jobs.UndoRequest
		// deleted: which versions end deleted; answer: what alice is told.
		deleted map[string]bool
		answer  string
	}{
		"forget a restored version": {
			ask:     func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.restored) },
			deleted: map[string]bool{"restored": true}, answer: "deleted again"},
		"forget a version pkgwarden never restored": {
			ask:    func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.never) },
			answer: "pkgwarden did not restore it"},
		"forget a platform manifest of a kept index": {
			ask:    func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.child) },
			answer: "holds it and stays"},
		"forget under repository_rules: dry_run": {owner: dryRunPolicy,
			ask:    func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.restored) },
			answer: "dry run"},
		"forget under repository_rules: deny": {owner: denyPolicy,
			ask:    func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.restored) },
			answer: "governs this package"},
		"forget while paused": {paused: true,
			ask:    func(s *scene) jobs.UndoRequest { return forget(t, s.w, s.restored) },
			answer: "paused"},
		"forget more ids than the cap": {
			ask: func(s *scene) jobs.UndoRequest {
				u := forget(t, s.w, s.restored)
				for i := range 20 {
					u.IDs = append(u.IDs, int64(900000+i))
				}
				return u
			},
			answer: "at most 20 ids"},
		"forget the package pkgwarden never restored": {
			ask: func(s *scene) jobs.UndoRequest {
				u := forget(t, s.w, s.restored)
				u.IDs, u.Package = nil, true
				return u
			},
			answer: "pkgwarden did not restore it"},
		"restore a version deleted by hand": {
			ask: func(s *scene) jobs.UndoRequest {
				return jobs.UndoRequest{Kind: jobs.UndoRestore, IDs: []int64{s.w.version(t, s.byHand).ID}, Sender: "alice", Repository: "acme/app", Issue: s.w.reportIssue(t), Via: "comment", Answer: true}
			},
			deleted: map[string]bool{"byHand": true}, answer: "pkgwarden did not delete it"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := setup(t)
			if tc.owner != "" {
				// The owner's policy, written once the sweep restored.
				if err := s.w.Sim.PutFile("acme", ".github", "", ".github/pkgwarden.yml", []byte(tc.owner), "alice"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.paused {
				s.w.paused(t)
			}
			s.w.undo(t, "d-"+strings.ReplaceAll(name, " ", "-"), tc.ask(s))
			for what, digest := range map[string]string{"restored": s.restored, "child": s.child, "never": s.never, "byHand": s.byHand} {
				// build-7 was deleted by hand and stays so, whatever is asked.
				want := tc.deleted[what] || what == "byHand"
				if got := s.w.version(t, digest).Deleted; got != want {
					t.Errorf("%s deleted = %t, want %t", what, got, want)
				}
			}
			if !anyContains(s.w.comments(t), "@alice", tc.answer) {
				t.Errorf("no answer %q: %q", tc.answer, s.w.comments(t))
			}
			if err := s.w.pull("v2.0.0"); err != nil {
				t.Errorf("v2.0.0 no longer pulls: %v", err)
			}
		})
	}
}

func forget(t *testing.T, w *restoreWorld, digest string) jobs.UndoRequest {
	return jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{w.version(t, digest).ID}, Sender: "alice", Repository: "acme/app",
		Issue: w.reportIssue(t), Via: "comment", Answer: true}
}

// paused rebuilds the restorer as PKGWARDEN_PAUSED does.
func (w *restoreWorld) paused(t *testing.T) {
	t.Helper()
	w.newRestorerWith(t, func(c *restore.Config) { c.Paused = true })
}
