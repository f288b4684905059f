package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/report"
)

// TestCommandsEndToEnd: the /pkgwarden commands a person writes on the
// genuine report, through GitHub's API (the simulator), its signed
// webhook, serve's router and the restore job: each gets exactly one
// comment, the right answer, and only the effect it names. pr-3 is
// pkgwarden's deletion; two untagged builds it deleted have digests that
// start alike. Each runs as an API client writes it ("\n") and as
// GitHub's web editor sends it ("\r\n"), on a world of its own.
func TestCommandsEndToEnd(t *testing.T) {
	for _, crlf := range []bool{false, true} {
		t.Run(map[bool]string{false: "LF", true: "web editor (CRLF)"}[crlf], func(t *testing.T) {
			testCommandsEndToEnd(t, crlf)
		})
	}
}

func testCommandsEndToEnd(t *testing.T, crlf bool) {
	w := newTrustWorld(t)
	// Two images whose digests share their first 4 hex digits, pushed
	// untagged and pruned (untagged: true).
	seen := map[string]string{}
	var twins [2]string
	prefix := ""
	for i := 0; prefix == ""; i++ {
		note := fmt.Sprintf("twin %d", i)
		p := strings.TrimPrefix(w.digest(w.image(note)), "sha256:")[:4]
		if other, ok := seen[p]; ok {
			twins, prefix = [2]string{other, note}, "sha256:"+p
		}
		seen[p] = note
	}
	var twinDigests [2]string
	for i, note := range twins {
		twinDigests[i] = w.push(w.image(note), 5*cfgDay)
	}
	w.deliverRun()
	twinIDs := map[string]int64{}
	for _, v := range w.all() {
		for _, d := range twinDigests {
			if v.Name == d {
				if !v.Deleted {
					t.Fatalf("untagged %s not pruned: the test proves nothing", d)
				}
				twinIDs[d] = v.ID
			}
		}
	}
	w.deliverHeld(t)

	tests := []struct {
		name, body string
		// want are parts of the one answer.
		want []string
		// restored says pr-3 comes back (the last row only: it changes
		// the world).
		restored bool
	}{
		{name: "help", body: "/pkgwarden help", want: []string{"@writer", "`/pkgwarden restore <id|tag|digest>…` restores versions pkgwarden deleted", "`/pkgwarden forget <id|tag|digest>…`", "Restoring needs write access to acme/app"}},
		{name: "typo", body: fmt.Sprintf("/pkgwarden restor %d", w.pr3), want: []string{"@writer `restor` is not a command. Did you mean `restore`?", "`/pkgwarden help`"}},
		{name: "pkgwarden alone", body: "/pkgwarden", want: []string{"@writer `/pkgwarden` needs a command: `/pkgwarden restore"}},
		{name: "ambiguous digest prefix", body: "/pkgwarden restore " + prefix, want: []string{
			"`" + prefix + "` fits 2 versions, so nothing was done for it; name one by its id",
			fmt.Sprintf("id %d)", twinIDs[twinDigests[0]]), fmt.Sprintf("id %d)", twinIDs[twinDigests[1]])}},
		{name: "unknown tag", body: "/pkgwarden restore pr-99", want: []string{"`pr-99`: no version pkgwarden deleted from this package has this tag or digest"}},
		{name: "by digest prefix", body: "/pkgwarden restore " + w.pr3Digest[:len("sha256:")+6], restored: true,
			want: []string{fmt.Sprintf("@writer asked: restored pr-3 (id %d).", w.pr3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.botComments()
			w.webEditor = crlf
			ids := w.act(t, actWriter, "acme/app", w.report, "Hello,\n\n"+tc.body+"\n\nthanks!")
			w.webEditor = false
			answers := w.answers(ids)
			if len(answers) != 1 {
				t.Fatalf("answers %q, want one", answers)
			}
			if n := w.botComments() - before; n != 1 {
				t.Errorf("the bot added %d comments, want 1", n)
			}
			for _, s := range tc.want {
				if !strings.Contains(answers[0], s) {
					t.Errorf("the answer does not say %q:\n%s", s, answers[0])
				}
			}
			if strings.Contains(answers[0], "intentional") {
				t.Errorf("a person's request got an intentional box:\n%s", answers[0])
			}
			if back := !w.deleted(w.pr3); back != tc.restored {
				t.Errorf("pr-3 back: %t, want %t", back, tc.restored)
			}
			for d, id := range twinIDs {
				if !w.deleted(id) {
					t.Errorf("%s (id %d) restored", d, id)
				}
			}
		})
	}
	// The restore is gone from the report's boxes.
	for _, e := range report.ParseRestorable(w.issue("acme", "app", w.report).Body) {
		if e.ID == w.pr3 {
			t.Errorf("restored pr-3 (id %d) still offered as a restore box", w.pr3)
		}
	}
}
