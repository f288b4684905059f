package restore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// commentRequest is the undo request of a comment, as the router makes it.
func commentRequest(sender string, issue int, body string) jobs.UndoRequest {
	u := jobs.UndoRequest{Sender: sender, Repository: "acme/app", Issue: issue, Via: "comment", Answer: true}
	for _, c := range report.ParseCommands(body) {
		uc := jobs.UndoCommand{Kind: string(c.Verb), IDs: c.IDs, All: c.All, Package: c.Package, Tags: c.Tags, Digests: c.Digests, Line: c.Text}
		if c.Err != nil {
			uc.Kind, uc.Problem = "", c.Err.Error()
		}
		u.Commands = append(u.Commands, uc)
	}
	return u
}

// namesWorld: pkgwarden pruned pr-3 and two untagged versions whose
// digests start alike (twinA, twinB).
type namesWorld struct {
	*restoreWorld
	pr3, twinA, twinB     int64
	pr3Digest, twinPrefix string
	issue                 int
}

func newNamesWorld(t *testing.T) *namesWorld {
	t.Helper()
	w := &namesWorld{restoreWorld: newRestoreWorld(t)}
	for login, perm := range map[string]string{"bob": "write", "rita": "read"} {
		if _, err := w.Sim.AddUser(login); err != nil {
			t.Fatal(err)
		}
		if err := w.Sim.SetCollaborator("acme", "app", login, perm); err != nil {
			t.Fatal(err)
		}
	}
	// Two images whose digests share their first 4 hex digits.
	seen := map[string]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		note := fmt.Sprintf("twin %d", i)
		h, err := w.Image(note).Digest()
		if err != nil {
			t.Fatal(err)
		}
		p := h.Hex[:4]
		if other, ok := seen[p]; ok {
			a, b, w.twinPrefix = other, note, "sha256:"+p
		}
		seen[p] = note
	}
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	w.pr3Digest = w.Push(w.Image("pr-3"), 5*jobstest.Day, "pr-3")
	da := w.Push(w.Image(a), 5*jobstest.Day)
	db := w.Push(w.Image(b), 5*jobstest.Day)
	w.prune(t)
	for _, d := range []string{w.pr3Digest, da, db} {
		if !w.version(t, d).Deleted {
			t.Fatalf("%s not pruned: the world proves nothing", d)
		}
	}
	w.pr3, w.twinA, w.twinB = w.version(t, w.pr3Digest).ID, w.version(t, da).ID, w.version(t, db).ID
	w.issue = w.reportIssue(t)
	return w
}

// TestCommandsByName: restore and forget by tag and by digest prefix,
// whole or bare; an ambiguous prefix is answered with its candidates, an
// unknown name clearly; who may not act is refused whatever the form.
// Every request gets exactly one comment.
func TestCommandsByName(t *testing.T) {
	tests := map[string]struct {
		// before runs first (a restore that forget then undoes).
		before func(t *testing.T, w *namesWorld)
		sender string
		body   func(w *namesWorld) string
		// back are the versions active afterwards, of pr-3, twinA, twinB.
		back [3]bool
		want func(w *namesWorld) []string
	}{
		"restore by tag": {sender: "bob", body: func(*namesWorld) string { return "/pkgwarden restore pr-3" }, back: [3]bool{true, false, false},
			want: func(w *namesWorld) []string {
				return []string{fmt.Sprintf("@bob asked: restored pr-3 (id %d).", w.pr3)}
			}},
		"restore by digest prefix": {sender: "bob", body: func(w *namesWorld) string { return "/pkgwarden restore " + w.pr3Digest[:7+8] }, back: [3]bool{true, false, false},
			want: func(w *namesWorld) []string {
				return []string{fmt.Sprintf("@bob asked: restored pr-3 (id %d).", w.pr3)}
			}},
		"restore by a bare digest prefix": {sender: "bob", body: func(w *namesWorld) string { return "/pkgwarden restore " + bareHex(w.pr3Digest) }, back: [3]bool{true, false, false},
			want: func(w *namesWorld) []string {
				return []string{fmt.Sprintf("@bob asked: restored pr-3 (id %d).", w.pr3)}
			}},
		"restore by an ambiguous prefix": {sender: "bob", body: func(w *namesWorld) string { return "/pkgwarden restore " + w.twinPrefix },
			want: func(w *namesWorld) []string {
				return []string{"@bob `" + w.twinPrefix + "` fits 2 versions, so nothing was done for it", fmt.Sprintf("id %d)", w.twinA), fmt.Sprintf("id %d)", w.twinB)}
			}},
		"restore an unknown tag": {sender: "bob", body: func(*namesWorld) string { return "/pkgwarden restore pr-99" },
			want: func(*namesWorld) []string {
				return []string{"@bob `pr-99`: no version pkgwarden deleted from this package has this tag or digest"}
			}},
		"a known and an unknown tag": {sender: "bob", body: func(*namesWorld) string { return "/pkgwarden restore pr-3 pr-99" }, back: [3]bool{true, false, false},
			want: func(w *namesWorld) []string {
				return []string{fmt.Sprintf("@bob asked: restored pr-3 (id %d).", w.pr3), "`pr-99`: no version pkgwarden deleted"}
			}},
		"restore by tag, by a reader": {sender: "rita", body: func(*namesWorld) string { return "/pkgwarden restore pr-3" },
			want: func(*namesWorld) []string { return []string{"@rita sorry, only people with write access to acme/app"} }},
		"restore by digest prefix, by a reader": {sender: "rita", body: func(w *namesWorld) string { return "/pkgwarden restore " + w.pr3Digest[:7+8] },
			want: func(*namesWorld) []string { return []string{"@rita sorry, only people with write access to acme/app"} }},
		"forget by tag": {before: restoreByID, sender: "alice", body: func(*namesWorld) string { return "/pkgwarden forget pr-3" },
			want: func(w *namesWorld) []string { return []string{fmt.Sprintf("@alice version %d deleted again", w.pr3)} }},
		"forget by digest prefix": {before: restoreByID, sender: "alice", body: func(w *namesWorld) string { return "/pkgwarden forget " + w.pr3Digest[:7+6] },
			want: func(w *namesWorld) []string { return []string{fmt.Sprintf("@alice version %d deleted again", w.pr3)} }},
		"forget by tag, by a writer": {before: restoreByID, sender: "bob", body: func(*namesWorld) string { return "/pkgwarden forget pr-3" }, back: [3]bool{true, false, false},
			want: func(*namesWorld) []string { return []string{"@bob sorry, only admins of acme/app"} }},
		"forget a tag pkgwarden did not restore": {sender: "alice", body: func(*namesWorld) string { return "/pkgwarden forget latest" },
			want: func(*namesWorld) []string {
				return []string{"@alice `latest`: no version pkgwarden restored in this package has this tag or digest."}
			}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newNamesWorld(t)
			if tc.before != nil {
				tc.before(t, w)
			}
			before := len(w.comments(t))
			w.undo(t, "d-names", commentRequest(tc.sender, w.issue, tc.body(w)))
			added := w.comments(t)[before:]
			if len(added) != 1 {
				t.Fatalf("%d comments added, want 1: %q", len(added), added)
			}
			for _, s := range tc.want(w) {
				if !strings.Contains(added[0], s) {
					t.Errorf("the comment does not say %q:\n%s", s, added[0])
				}
			}
			if strings.Contains(added[0], "intentional") {
				t.Errorf("a person's request got an intentional box:\n%s", added[0])
			}
			for i, id := range []int64{w.pr3, w.twinA, w.twinB} {
				if back := !w.deletedID(t, id); back != tc.back[i] {
					t.Errorf("version %d active = %t, want %t", id, back, tc.back[i])
				}
			}
			// Redelivered, the request is not answered again.
			w.undo(t, "d-names", commentRequest(tc.sender, w.issue, tc.body(w)))
			if n := len(w.comments(t)) - before; n != 1 {
				t.Errorf("after a redelivery, %d comments added, want 1", n)
			}
		})
	}
}

// restoreByID has alice restore pr-3 by id: then pkgwarden restored it.
func restoreByID(t *testing.T, w *namesWorld) {
	t.Helper()
	w.undo(t, "d-before", commentRequest("alice", w.issue, fmt.Sprintf("/pkgwarden restore %d", w.pr3)))
	if w.deletedID(t, w.pr3) {
		t.Fatal("pr-3 not restored by id")
	}
}

// bareHex is the shortest start of digest d, written without "sha256:",
// that report reads as a digest prefix (it must hold a letter).
func bareHex(d string) string {
	hex := strings.TrimPrefix(d, "sha256:")
	for n := report.MinBareDigestHex; ; n++ {
		if _, ok := report.BareDigestPrefix(hex[:n]); ok {
			return hex[:n]
		}
	}
}

func (w *namesWorld) deletedID(t *testing.T, id int64) bool {
	t.Helper()
	vs, err := w.Sim.Versions("acme", "container", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.ID == id {
			return v.Deleted
		}
	}
	t.Fatalf("no version %d", id)
	return false
}
