package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func TestAnswerText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []AnswerPart
		want  string
	}{
		{"one outcome", []AnswerPart{{Line: "/pkgwarden restore 5", Outcomes: []Outcome{RestoredVersions{N: 1}}}},
			"restored 1 version."},
		{"a list", []AnswerPart{{Line: "/pkgwarden restore 5 6", Outcomes: []Outcome{RestoredVersions{N: 0}, NotDeleted{ID: 6}}}},
			"- restored 0 versions.\n- version 6 is not deleted."},
		{"several lines", []AnswerPart{
			{Line: "/pkgwarden restore `x`", Outcomes: []Outcome{NoSuchName{Name: "a`b", Verb: VerbRestore}}},
			{Line: "/pkgwarden forget package", Outcomes: []Outcome{NotRestoredByPkgwarden{What: PackageRef("", 0)}}},
		}, "`/pkgwarden restore 'x'`:\n- `a'b`: no version pkgwarden deleted from this package has this tag or digest (GitHub keeps deleted versions for 30 days).\n" +
			"`/pkgwarden forget package`:\n- the package: pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := answerText(tc.parts); got != tc.want {
				t.Errorf("answerText =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestOutcomeSentences(t *testing.T) {
	for _, tc := range []struct {
		o    Outcome
		want string
	}{
		{Refused{Verb: VerbRestore, Repository: "acme/app"}, "sorry, only people with write access to acme/app can restore versions of this package, so nothing was changed."},
		{Refused{Verb: VerbForget, Repository: "acme/app"}, "sorry, only admins of acme/app can delete versions again with `forget` (GitHub lets only package admins delete), so nothing was changed."},
		{NotACommand{}, "not a command. " + CommandUsage + "."},
		{TooLate{ID: 7, DeletedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, "version 7: too late, it was deleted on 2026-01-02 and GitHub keeps deleted versions for 30 days only."},
		{HeldBack{ID: 8, By: HoldIndex("sha256:" + strings.Repeat("ab", 32))}, "version 8: not deleted, the index `sha256:abababababab` holds it and stays; forget the index to release it."},
		{NotDeletedAgain{What: PackageRef("app", 9), By: HoldDryRun("acme/app:.github/pkgwarden.yml")}, "the package `app` (id 9): the rules are a dry run (acme/app:.github/pkgwarden.yml), so it was not deleted again; it will not be restored automatically."},
		{DeleteRefused{What: VersionRef(10), Reason: "too popular"}, "version 10: GitHub refused to delete it again (too popular); it will not be restored automatically."},
		{StaysDeleted{What: PackageRef("app", 9)}, "the package `app` (id 9) stays deleted and will not be restored automatically."},
		{NotRestoredByPkgwarden{What: PackageRef("app", 0)}, "the package `app`: pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule."},
		{NoSuchName{Name: "pr-9", Verb: VerbForget}, "`pr-9`: no version pkgwarden restored in this package has this tag or digest."},
		{NoSuchName{Name: "@bob<!--", Verb: VerbRestore}, "`@bob<!--`: no version pkgwarden deleted from this package has this tag or digest (GitHub keeps deleted versions for 30 days)."},
		{Ambiguous{Name: "sha256:6e7d", Candidates: []Candidate{
			{ID: 130, Version: "sha256:6e7d" + strings.Repeat("0", 60)},
			{ID: 123, Version: "sha256:6e7d" + strings.Repeat("1", 60), Tags: []string{"pr-42", "pr-42b"}},
		}}, "`sha256:6e7d` fits 2 versions, so nothing was done for it; name one by its id: `pr-42`, `pr-42b` (`sha256:6e7d11111111`, id 123); untagged (`sha256:6e7d00000000`, id 130)."},
		{Ambiguous{Name: "1.0", Candidates: []Candidate{{ID: 1, Version: "1.0"}, {ID: 2, Version: "1.0"}, {ID: 3, Version: "1.0"}, {ID: 4, Version: "1.0"}, {ID: 5, Version: "1.0"}, {ID: 6, Version: "1.0"}, {ID: 7, Version: "1.0"}}},
			"`1.0` fits 7 versions, so nothing was done for it; name one by its id: `1.0` (id 1); `1.0` (id 2); `1.0` (id 3); `1.0` (id 4); `1.0` (id 5); and 2 more."},
	} {
		if got := tc.o.sentence(); got != tc.want {
			t.Errorf("%T: %q, want %q", tc.o, got, tc.want)
		}
	}
}

func TestRestoreCommentBoxes(t *testing.T) {
	seal := NewSeal([]byte("secret"))
	pkg := rules.Package{Owner: "acme", Type: rules.TypeContainer, Name: "app"}
	run := RestoreRun{ID: "r1", Package: pkg, Trigger: "sweep", Restored: []Restored{
		{ID: 1, Version: "sha256:" + strings.Repeat("0", 64), Tags: []string{"v1"}, Reason: "restore.tags"},
		{ID: 2, Version: "sha256:" + strings.Repeat("1", 64), Reason: "child of restored index sha256:000000000000", Along: true},
		{PackageID: 3, Version: "app", Reason: "package deleted; restore.package is true"},
	}}
	body := renderRestoreComment(restoreRunMarker(run.ID), run, seal)
	ticked := strings.ReplaceAll(body, "- [ ]", "- [x]")
	if got := seal.NewlyTickedIntentional(pkg, body, ticked); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("boxes ticked = %v, want [1 3] (none for a version restored along with another)\n%s", got, body)
	}
	if got := (Seal{}).NewlyTickedIntentional(pkg, body, ticked); len(got) != 0 {
		t.Errorf("the zero Seal verified %v", got)
	}
}

// TestGoldenRestoreComments: the restore comment of a person's request
// (who asked, what came back, what else became of the request, the
// answer's marker, no "intentional" box) and of an automatic restore (said
// so, a box per version restored on its own).
func TestGoldenRestoreComments(t *testing.T) {
	seal := NewSeal([]byte("secret"))
	runs := map[string]RestoreRun{
		"restore_asked": {ID: "d-1", Package: pkg, Trigger: "restore comment by @alice", AskedBy: "alice",
			Restored: []Restored{
				{ID: 124, Version: dig(124), Tags: []string{"pr-57"}, Reason: "asked by @alice (comment)"},
				{ID: 125, Version: dig(125), Reason: "child of restored index " + rules.ShortDigest(dig(124)), Along: true},
			},
			Replies: []AnswerPart{{Line: "/pkgwarden restore pr-57 sha256:6e7d", Outcomes: []Outcome{
				Ambiguous{Name: "sha256:6e7d", Candidates: []Candidate{{ID: 123, Version: "sha256:6e7d" + strings.Repeat("1", 60), Tags: []string{"pr-42"}}, {ID: 130, Version: "sha256:6e7d" + strings.Repeat("0", 60)}}},
			}}}},
		"restore_asked_one": {ID: "d-2", Package: pkg, AskedBy: "alice", Restored: []Restored{{ID: 124, Version: dig(124), Tags: []string{"pr-57"}, Reason: "asked by @alice (comment)"}}},
		"restore_auto": {ID: "restore@2026-11-25T10:30:00Z", Package: pkg, Trigger: "sweep", Restored: []Restored{
			{ID: 12, Version: dig(12), Tags: []string{"v1.0.0"}, Reason: "deleted outside pkgwarden; restore.tags v* protects v1.0.0"},
			{ID: 13, Version: dig(13), Reason: "child of restored index " + rules.ShortDigest(dig(12)), Along: true},
		}},
		// A healed image: one line per image, a box per part; a tag
		// written by someone stays on its line.
		"restore_healed": {ID: "restore@2026-11-26T10:30:00Z", Package: pkg, Trigger: "after prune", Restored: []Restored{
			{ID: 21, Version: dig(21), Reason: "linux/amd64 of v1, deleted outside pkgwarden (restore.broken)"},
			{ID: 22, Version: dig(22), Reason: "linux/arm64 of v1, deleted outside pkgwarden (restore.broken)"},
		}, Healed: []Healed{
			{Image: dig(20), Tags: []string{"v1"}, Parts: []string{"linux/amd64", "linux/arm64"}},
			{Image: dig(30), Tags: []string{"x`\n- [x] y"}, Parts: []string{"linux/amd64", "[x](http://e.example)"}, Left: []string{"linux/s390x"}},
		}},
		// A heal beside a restore.tags restore: the general words, not
		// restore.broken's alone.
		"restore_healed_and_tagged": {ID: "restore@2026-11-26T10:30:00Z", Package: pkg, Trigger: "after prune", Restored: []Restored{
			{ID: 25, Version: dig(25), Tags: []string{"v0.9.0"}, Reason: "deleted outside pkgwarden; restore.tags v* protects v0.9.0"},
			{ID: 22, Version: dig(22), Reason: "linux/arm64 of v1, deleted outside pkgwarden (restore.broken)"},
		}, Healed: []Healed{
			{Image: dig(20), Tags: []string{"v1"}, Parts: []string{"linux/arm64"}},
		}},
	}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			body := renderRestoreComment(restoreRunMarker(run.ID), run, seal)
			golden(t, name+".comment.md", body)
			onlyHealed := !slices.ContainsFunc(run.Restored, func(e Restored) bool { return !strings.Contains(e.Reason, "restore.broken") })
			if general := strings.Contains(body, "the rules' `restore` block"); run.AskedBy == "" && general == (len(run.Healed) > 0 && onlyHealed) {
				t.Errorf("general words %t, want them unless every restore is a heal", general)
			}
			boxes := strings.Contains(body, "this deletion was intentional")
			if boxes != (run.AskedBy == "") {
				t.Errorf("intentional boxes: %t, want them only on an automatic restore", boxes)
			}
			// A person's request is answered by this comment: Answer finds
			// its marker, so a retried job answers once.
			if answered := strings.Contains(body, answerMarker(run.ID)); answered != (run.AskedBy != "") {
				t.Errorf("answer marker: %t, want it only on a person's restore", answered)
			}
		})
	}
}
