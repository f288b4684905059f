package report

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/report/reporttest"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	at  = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	pkg = rules.Package{Owner: "acme", Type: "container", Name: "webapp", Repository: "webapp"}
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, got)
	}
}

// dig is a realistic digest for test version n.
func dig(n int) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint(n)))) }

func entry(id int, reason string, tags ...string) rules.Entry {
	return rules.Entry{ID: int64(id), Version: dig(id), Tags: tags, Reason: reason}
}

func decision(del, keep []rules.Entry) rules.Decision {
	return rules.Decision{Package: pkg, Origin: "acme/webapp:.github/pkgwarden.yml", Rule: 0, RuleLine: 4, Delete: del, Keep: keep}
}

func sampleKeep() []rules.Entry {
	return []rules.Entry{
		entry(30, "excluded tag latest", "latest", "v1.4.0"),
		entry(31, "newest 10 tagged candidates", "pr-41"),
		entry(32, "newest 10 tagged candidates", "pr-40"),
		entry(33, "child of index latest"),
		entry(34, "child of index latest"),
		entry(35, "signature of latest", "sha256-00000000000000000000000000000000000000000000000000000000000001e.sig"),
		entry(36, "younger than 1h"),
	}
}

func sampleDelete() []rules.Entry {
	return []rules.Entry{
		entry(10, "untagged, older than 14d"),
		entry(11, "untagged, older than 14d"),
		entry(12, "tag pr-12 matches delete_tags pr-*, older than 14d", "pr-12"),
		entry(13, "child of index pr-12, goes with it"),
	}
}

// refused is pr-9, which GitHub refuses to delete; held is how the next
// runs' plans keep it while the refusal is remembered.
var (
	refused = rules.Entry{ID: 14, Version: dig(14), Tags: []string{"pr-9"}, Reason: "GitHub refused the deletion: Publicly visible package versions with more than 5000 downloads cannot be deleted."}
	held    = rules.Entry{ID: 14, Version: dig(14), Tags: []string{"pr-9"}, Kind: rules.KindHeld, Reason: "GitHub refused to delete it on 2026-11-25 11:30 UTC: Publicly visible… (asked again after 2026-11-26 11:30 UTC)"}
)

const web = "https://github.com"

// brokenDecision keeps six broken images: latest misses a platform for
// good; 1.0 misses everything, one platform gone, one restorable (healing
// restores it: only the gone one is reported); a signature's subject is
// gone; v2 misses only restorable children (not reported: healing mends
// it); v3 misses a deleted one under restore.broken: false (reported).
// One tag was written by someone trying to break the list.
func brokenDecision() rules.Decision {
	keep := append(sampleKeep(),
		entry(40, "tagged 1.0", "1.0"),
		entry(41, "tagged v2", "v2"),
		entry(42, "younger than 1h", "sha256-"+strings.Repeat("a", 64)+".sig"),
		entry(43, "tagged x", "x`y\n## pwned <!-- -->"),
		entry(44, "tagged v3", "v3"))
	d := decision(nil, keep)
	d.Broken = []rules.BrokenImage{
		// restore.broken: false: its deleted platform is beyond healing.
		{Name: "v3", ID: 44, Version: dig(44), Tags: []string{"v3"}, Kind: rules.BrokenPartial, Missing: []rules.Missing{
			{Digest: dig(57), Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildDeleted, DeletedID: 57, DeletedAt: at.Add(-48 * time.Hour)},
		}},
		{Name: "1.0", ID: 40, Version: dig(40), Tags: []string{"1.0"}, Kind: rules.BrokenGhost, Heals: true, Missing: []rules.Missing{
			{Digest: dig(50), Platform: "linux/amd64", What: "linux/amd64", State: rules.ChildGone},
			{Digest: dig(51), Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildDeleted, DeletedID: 51},
		}},
		{Name: "latest", ID: 30, Version: dig(30), Tags: []string{"latest", "v1.4.0"}, Kind: rules.BrokenPartial, Heals: true, Missing: []rules.Missing{
			{Digest: dig(52), Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildGone},
			{Digest: dig(53), Platform: "linux/s390x", What: "linux/s390x", State: rules.ChildGone, Via: dig(54)},
		}},
		{Name: "signature of " + rules.ShortDigest("sha256:"+strings.Repeat("a", 64)), ID: 42, Version: dig(42), Kind: rules.BrokenOrphan, Missing: []rules.Missing{
			{Digest: "sha256:" + strings.Repeat("a", 64), What: "subject", State: rules.ChildGone},
		}},
		{Name: "v2", ID: 41, Version: dig(41), Tags: []string{"v2"}, Kind: rules.BrokenPartial, Heals: true, Missing: []rules.Missing{
			{Digest: dig(55), Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildDeleted, DeletedID: 55},
		}},
		{Name: "x`y\n## pwned <!-- -->", ID: 43, Version: dig(43), Tags: []string{"x`y\n## pwned <!-- -->"}, Kind: rules.BrokenPartial, Heals: true, Missing: []rules.Missing{
			{Digest: dig(56), Platform: "linux/arm64`\n# x -->", What: "linux/arm64`\n# x -->", State: rules.ChildGone},
		}},
	}
	return d
}

// step is one report of a package's life: the run reported at a time, or
// a restore of ids (relistBody) when run is nil.
type step struct {
	name     string
	at       time.Time
	run      *Run
	restore  []int64
	comment  bool // the step adds a comment
	noGolden bool
}

// TestGoldenPackageReports walks a package report through its states, each
// body from the one before, and checks every body as GitHub renders it.
func TestGoldenPackageReports(t *testing.T) {
	keep := sampleKeep()
	dry := decision(sampleDelete(), keep)
	dry.DryRun = true
	dry.Notices = []string{"dry run forced by policy.repository_rules: dry_run in acme/.github:.github/pkgwarden.yml"}
	without12 := func() rules.Decision {
		// pr-12 was restored, then forgotten: deleted again, no longer
		// listed.
		return decision(nil, keep)
	}
	lives := map[string][]step{
		"life": {
			{name: "first_run", at: at, comment: true,
				run: &Run{ID: "8d2f3c1e-0b7a-11f1-9a2b-5c3e0d6c7a11", Package: pkg, Decision: decision(sampleDelete(), keep), Deleted: sampleDelete()}},
			// Redelivered: the same body; its comment is wanted, and
			// found already posted by the comment's marker.
			{name: "first_run_again", at: at, noGolden: true, comment: true,
				run: &Run{ID: "8d2f3c1e-0b7a-11f1-9a2b-5c3e0d6c7a11", Package: pkg, Decision: decision(sampleDelete(), keep), Deleted: sampleDelete()}},
			{name: "refusal", at: at.Add(time.Hour), comment: true,
				run: &Run{ID: "delivery-2", Package: pkg, Decision: decision([]rules.Entry{refused}, keep), Skipped: []rules.Entry{refused},
					AskAgain: map[int64]time.Time{14: at.Add(25 * time.Hour)}}},
			{name: "refusal_held", at: at.Add(2 * time.Hour), noGolden: true,
				run: &Run{ID: "delivery-3", Package: pkg, Decision: decision(nil, append([]rules.Entry{held}, keep...)), Skipped: []rules.Entry{refused},
					AskAgain: map[int64]time.Time{14: at.Add(25 * time.Hour)}}},
			{name: "later_run", at: at.Add(72 * time.Hour),
				run: &Run{ID: "delivery-4", Package: pkg, Decision: decision(nil, keep)}},
			{name: "after_restore", at: at.Add(73 * time.Hour), restore: []int64{12}},
			{name: "after_forget", at: at.Add(96 * time.Hour),
				run: &Run{ID: "delivery-5", Package: pkg, Decision: without12()}},
		},
		"dry run": {
			{name: "dry_run", at: at, comment: true, run: &Run{ID: "delivery-6", Package: pkg, Decision: dry}},
			{name: "dry_run_again", at: at.Add(time.Hour), noGolden: true, run: &Run{ID: "delivery-7", Package: pkg, Decision: dry}},
		},
		"paused": {
			{name: "paused", at: at, comment: true, run: &Run{ID: "delivery-8", Package: pkg, Paused: true, Decision: decision(sampleDelete(), keep)}},
		},
		"storage":         storageLife(keep),
		"storage dry run": storageDryRun(keep),
		"broken": {
			{name: "broken", at: at, run: &Run{ID: "delivery-10", Package: pkg, Decision: brokenDecision()}},
		},
		"untouched": {
			{name: "untouched", at: at, run: &Run{ID: "delivery-9", Package: pkg, Decision: rules.Decision{Package: pkg, Origin: "acme/webapp:.github/pkgwarden.yml", Rule: 0, RuleLine: 4,
				Untouched: "the manifest of sha256:000000000000001f (listed, active) could not be read: GET /v2/acme/webapp/manifests/sha256:000…: 500 Internal Server Error",
				Keep:      keep}}},
		},
	}
	for life, steps := range lives {
		t.Run(life, func(t *testing.T) {
			body := ""
			for _, st := range steps {
				if st.run == nil {
					next, ok := relistBody(body, pkg, Seal{}, st.restore, st.at)
					if !ok {
						t.Fatalf("%s: no list in the body", st.name)
					}
					body = next
				} else {
					next := nextReport(body, st.run, Seal{}, web, st.at)
					if next.commentWanted != st.comment {
						t.Errorf("%s: comment %t, want %t", st.name, next.commentWanted, st.comment)
					}
					if st.noGolden && next.body != body {
						t.Errorf("%s: the body changed:\n%s", st.name, next.body)
					}
					body = next.body
					if next.commentWanted && !st.noGolden {
						golden(t, st.name+".comment.md", next.comment)
					}
				}
				if !st.noGolden {
					golden(t, st.name+".body.md", body)
				}
				reporttest.CheckBody(t, st.name, body)
			}
		})
	}
}

// The counts of the summary line are the counts the terminal shows.
func TestCountRun(t *testing.T) {
	keep := sampleKeep()
	dry := decision(sampleDelete(), keep)
	dry.DryRun = true
	tests := map[string]struct {
		run  Run
		want string
	}{
		"deleted":                  {Run{Decision: decision(sampleDelete(), keep), Deleted: sampleDelete()}, "Deleted 4 · 4 restorable · kept 7"},
		"refused is not also kept": {Run{Decision: decision(nil, append([]rules.Entry{held}, keep...)), Skipped: []rules.Entry{refused}}, "Refused 1 · kept 7"},
		"dry run":                  {Run{Decision: dry}, "Would delete 4 · kept 7"},
		"kept after all":           {Run{Decision: decision(sampleDelete()[:2], keep), Deleted: sampleDelete()[:1], Kept: sampleDelete()[1:2]}, "Deleted 1 · 1 restorable · kept 8"},
		"nothing":                  {Run{}, "Kept 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := CountRun(tc.run).Line(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			c, ok := parseCounts(CountRun(tc.run).Line())
			if !ok || c != CountRun(tc.run) {
				t.Fatalf("read back %+v %t", c, ok)
			}
		})
	}
}

func TestGoldenFoldedBody(t *testing.T) {
	var list []Restorable
	for i := range 3000 {
		list = append(list, Restorable{ID: int64(100000 + i), Version: dig(i), Tags: []string{fmt.Sprintf("pr-%d", i)}, DeletedAt: at.Add(-time.Duration(i) * 10 * time.Minute)})
	}
	list = mergeRestorable(nil, list, nil, at)
	run := Run{ID: "big", Package: pkg, Decision: decision(nil, sampleKeep())}
	body, kept := renderBody(bodyParts{run: &run, web: web, list: list, now: at})
	if n := utf8.RuneCountInString(body); n >= MaxBodyChars {
		t.Fatalf("body of %d characters", n)
	}
	parsed := ParseRestorable(body)
	if len(parsed) != len(kept) || len(kept) < FoldAfter+1 || parsed[0].ID != 100000 {
		t.Fatalf("parsed %d, kept %d", len(parsed), len(kept))
	}
	if !strings.Contains(body, fmt.Sprintf("<details><summary>%d older deletions</summary>", len(kept)-FoldAfter)) {
		t.Error("no fold")
	}
	golden(t, "folded.body.md", body)
	reporttest.CheckBody(t, "folded", body)
	// Read back and written again, the body is the same but for the note
	// on the dropped entries, which are not in it.
	want := strings.Replace(body, fmt.Sprintf("\n%d older deletions are no longer listed here to keep this issue under GitHub's size limit.\n", len(list)-len(kept)), "", 1)
	if again := nextReport(body, &run, Seal{}, web, at); again.body != want {
		t.Errorf("the body read back renders differently:\n%s", again.body)
	}
}

func TestGoldenNotices(t *testing.T) {
	errs := rules.ErrorList{
		{Repo: "acme/webapp", File: ".github/pkgwarden.yml", Line: 4, Column: 7, Field: "rules[0].prune.older_than", Msg: `bad duration "2 weeks": use a whole number and one unit: 30m, 12h, 7d, 2w`},
		{Repo: "acme/webapp", File: ".github/pkgwarden.yml", Line: 9, Column: 3, Field: "rules[0].prune.keep_tagd", Msg: "unknown key"},
		{Repo: "acme/.github", File: ".github/pkgwarden.yml", Line: 2, Column: 1, Msg: "mapping values are not allowed in this context"},
	}
	golden(t, "invalid_config.body.md", renderConfigBody("acme", "webapp", errs, ConfigPush{}))
	golden(t, "missing_token.body.md", renderTokenBody("acme"))
}

func TestParseRestorable(t *testing.T) {
	tests := map[string]struct {
		body string
		want []Restorable
	}{
		"ticked and not": {
			body: "- [x] restore <!-- pkgwarden:restore 7 2026-11-25T10:00:00Z sha256%3Aab pr-1,latest --> x\n" +
				"- [ ] restore <!-- pkgwarden:restore 8 2026-11-24T10:00:00Z 1.0.0-rc.1 - --> y\n",
			want: []Restorable{
				{ID: 7, Version: "sha256:ab", Tags: []string{"pr-1", "latest"}, DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Checked: true},
				{ID: 8, Version: "1.0.0-rc.1", DeletedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
			},
		},
		"capital X, star bullet, indented": {
			body: "  * [X] restore <!-- pkgwarden:restore 9 2026-11-25T10:00:00Z v - -->",
			want: []Restorable{{ID: 9, Version: "v", DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Checked: true}},
		},
		"damaged markers are skipped": {
			body: "- [ ] restore <!-- pkgwarden:restore 9 yesterday v - -->\n- [ ] restore <!-- pkgwarden:restore x 2026-11-25T10:00:00Z v - -->\n" +
				"- [ ] restore <!-- pkgwarden:restore 10 2026-11-25T10:00:00Z %zz - -->\n- [ ] text without marker\n",
		},
		"a marker outside a checkbox is not an entry": {
			body: "see <!-- pkgwarden:restore 9 2026-11-25T10:00:00Z v - -->",
		},
		"current format": {
			body: "**Deleted 2026-11-25 10:00 UTC** <!-- pkgwarden:batch 2026-11-25T10:00:00Z -->\n\n" +
				"- [x] `sha256:0123456789ab…` (pr-1, latest +2) id 7 <!-- pkgwarden:restore 7 -->\n" +
				"- [ ] `1.0.0-rc.1` id 8 <!-- pkgwarden:restore 8 -->\r\n" +
				"<details><summary>1 older deletion</summary>\n\n**Deleted 2026-11-24 10:00 UTC** <!-- pkgwarden:batch 2026-11-24T10:00:00Z -->\n\n" +
				"  * [X] edited by hand <!-- pkgwarden:restore 9 -->\n</details>\n",
			want: []Restorable{
				{ID: 7, Version: "sha256:0123456789ab…", Tags: []string{"pr-1", "latest"}, DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Checked: true},
				{ID: 8, Version: "1.0.0-rc.1", DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
				{ID: 9, DeletedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Checked: true, shown: "edited by hand"},
			},
		},
		"old and current format in one body": {
			body: "- [ ] restore <!-- pkgwarden:restore 5 2026-11-20T10:00:00Z v - --> `v` id 5, deleted 2026-11-20\n" +
				"**Deleted 2026-11-25 10:00 UTC** <!-- pkgwarden:batch 2026-11-25T10:00:00Z -->\n- [ ] `w` id 6 <!-- pkgwarden:restore 6 -->\n",
			want: []Restorable{
				{ID: 5, Version: "v", DeletedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
				{ID: 6, Version: "w", DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
			},
		},
		"current format without a batch line, or under a damaged one, is skipped": {
			body: "- [ ] `w` id 6 <!-- pkgwarden:restore 6 -->\n" +
				"**Deleted** <!-- pkgwarden:batch yesterday -->\n- [ ] `w` id 7 <!-- pkgwarden:restore 7 -->\n" +
				"<!-- pkgwarden:batch 2026-11-25T10:00:00Z -->\n- [ ] `w` id 8 <!-- pkgwarden:restore 8x -->\n",
		},
		"duplicate ids count once": {
			body: "- [ ] <!-- pkgwarden:restore 9 2026-11-25T10:00:00Z v - -->\n- [x] <!-- pkgwarden:restore 9 2026-11-25T10:00:00Z v - -->\n",
			want: []Restorable{{ID: 9, Version: "v", DeletedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ParseRestorable(tc.body)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestNewlyTicked(t *testing.T) {
	line := func(id int, ticked bool) string {
		return batchHeading(at) + restoreLineText(Restorable{ID: int64(id), Version: dig(id), DeletedAt: at, Checked: ticked}, at)
	}
	tests := map[string]struct {
		from, to string
		want     string
	}{
		"one ticked":         {line(1, false) + line(2, false), line(1, false) + line(2, true), "[2]"},
		"already ticked":     {line(1, true), line(1, true), "[]"},
		"unticked":           {line(1, true), line(1, false), "[]"},
		"all ticked":         {line(1, false) + line(2, false), line(1, true) + line(2, true), "[1 2]"},
		"new ticked line":    {"", line(3, true), "[3]"},
		"text edit, no tick": {line(1, false), "hello\n" + line(1, false), "[]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := NewlyTicked(tc.from, tc.to)
			if s := fmt.Sprint(got); s != tc.want && !(tc.want == "[]" && len(got) == 0) {
				t.Fatalf("got %v want %s", got, tc.want)
			}
		})
	}
}

func TestMergeRestorable(t *testing.T) {
	old := []Restorable{
		{ID: 1, DeletedAt: at.Add(-RestoreWindow)},               // expired exactly now
		{ID: 2, DeletedAt: at.Add(-RestoreWindow + time.Second)}, // still restorable
		{ID: 3, DeletedAt: at.Add(-time.Hour), Checked: true},    // kept with its tick
		{ID: 4, DeletedAt: at.Add(-2 * time.Hour)},               // restored
	}
	got := mergeRestorable(old, []Restorable{{ID: 3, DeletedAt: at}, {ID: 5, DeletedAt: at}}, []int64{4}, at)
	var s []string
	for _, e := range got {
		s = append(s, fmt.Sprintf("%d:%t", e.ID, e.Checked))
	}
	if strings.Join(s, " ") != "5:false 3:true 2:false" {
		t.Fatalf("got %v", s)
	}
}

// A line read back gives its id, time and checkbox, whatever the version
// string and tags hold, and renders again exactly as it was written.
func FuzzRestoreLine(f *testing.F) {
	f.Add(int64(1), "sha256:abc", "pr-1", false)
	f.Add(int64(99), "1.0 -->` x", "a,b", true)
	f.Add(int64(7), "v\n- [ ] x <!-- pkgwarden:restore 8 -->", "t <!-- pkgwarden:batch 2020-01-01T00:00:00Z -->", false)
	f.Fuzz(func(t *testing.T, id int64, version, tag string, checked bool) {
		if id <= 0 || !utf8.ValidString(version) || !utf8.ValidString(tag) {
			return
		}
		e := Restorable{ID: id, Version: version, DeletedAt: at, Checked: checked}
		if tag != "" {
			e.Tags = []string{tag, "latest"}
		}
		line := restoreLineText(e, at)
		got := ParseRestorable("intro\n" + batchHeading(at) + line + "outro\n")
		if len(got) != 1 || got[0].ID != e.ID || !got[0].DeletedAt.Equal(e.DeletedAt) || got[0].Checked != e.Checked {
			t.Fatalf("wrote %+v, read %+v", e, got)
		}
		if again := restoreLineText(got[0], at); again != line {
			t.Fatalf("wrote %q, rendered again %q", line, again)
		}
	})
}

func TestParseTitle(t *testing.T) {
	tests := map[string]struct {
		title string
		want  rules.Package
		ok    bool
	}{
		"container":      {Title(pkg), rules.Package{Owner: "acme", Type: "container", Name: "webapp"}, true},
		"dry run":        {DryRunTitle(pkg), rules.Package{Owner: "acme", Type: "container", Name: "webapp"}, true},
		"dry run twice":  {DryRunTitle(pkg) + dryRunSuffix, rules.Package{}, false},
		"slash in name":  {"pkgwarden: npm acme/team/app", rules.Package{Owner: "acme", Type: "npm", Name: "team/app"}, true},
		"config issue":   {ConfigTitle, rules.Package{}, false},
		"token issue":    {TokenTitle("acme"), rules.Package{}, false},
		"someone else's": {"bug: it crashes", rules.Package{}, false},
		"missing owner":  {"pkgwarden: npm /app", rules.Package{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseTitle(tc.title)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("got %+v %t", got, ok)
			}
		})
	}
}

// A body written before this format (digest first, visible batch lines,
// "Last run" and "Last deletions" sections) is read and rewritten in the
// current one: the same boxes with their ticks, the refusal once, every
// check of reporttest passing; a restore on it (relistBody) works too.
func TestOldBodyRewritten(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "old_format.body.md"))
	if err != nil {
		t.Fatal(err)
	}
	before := ParseRestorable(string(old))
	run := &Run{ID: "after-upgrade", Package: pkg, Decision: decision([]rules.Entry{refused}, sampleKeep()), Skipped: []rules.Entry{refused}}
	next := nextReport(string(old), run, Seal{}, web, at.Add(time.Hour))
	reporttest.CheckBody(t, "old body rewritten", next.body)
	after := ParseRestorable(next.body)
	if fmt.Sprint(ids(after)) != fmt.Sprint(ids(before)) || len(Ticked(next.body)) != len(Ticked(string(old))) {
		t.Fatalf("boxes %v (ticked %v), want %v (ticked %v)", ids(after), Ticked(next.body), ids(before), Ticked(string(old)))
	}
	for _, e := range after {
		if e.shown != "" || digestHex(e.Version) == "" {
			t.Errorf("box %d not rewritten in the current format: %+v", e.ID, e)
		}
	}
	if strings.Contains(next.body, "Last deletions") || strings.Count(next.body, "pr-9") != 1 {
		t.Errorf("old sections kept, or pr-9 not listed once:\n%s", next.body)
	}
	if next.commentWanted {
		t.Error("the first run after the upgrade tells again the refusal the old body showed")
	}
	// A restore on the old body itself.
	relisted, ok := relistBody(string(old), pkg, Seal{}, []int64{12}, at.Add(time.Hour))
	if !ok || len(ParseRestorable(relisted)) != len(before)-1 || !strings.Contains(relisted, "### Restored (1)") {
		t.Errorf("restore on an old body: ok %t\n%s", ok, relisted)
	}
}

func ids(list []Restorable) []int64 {
	out := make([]int64, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}
