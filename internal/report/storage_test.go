package report

import (
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/report/reporttest"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const mib = int64(1) << 20

// storageRuns are the runs of a container package whose sizes are known:
// the first frees 12 MiB, the second 30.5 MiB, the third cannot measure
// what it frees (a manifest without sizes).
func storageRuns(keep []rules.Entry) (first, second, unknown *Run) {
	second2 := []rules.Entry{entry(15, "untagged, older than 14d"), entry(16, "untagged, older than 14d")}
	third := []rules.Entry{entry(17, "untagged, older than 14d")}
	first = &Run{ID: "storage-1", Package: pkg, Decision: decision(sampleDelete(), keep), Deleted: sampleDelete(),
		Storage: rules.Storage{Known: true, Before: 122 * mib, After: 110 * mib, Frees: 12 * mib}}
	second = &Run{ID: "storage-2", Package: pkg, Decision: decision(second2, keep), Deleted: second2,
		Storage: rules.Storage{Known: true, Before: 110 * mib, After: 110*mib - 61*mib/2, Frees: 61 * mib / 2}}
	unknown = &Run{ID: "storage-3", Package: pkg, Decision: decision(third, keep), Deleted: third,
		Storage: rules.Storage{Why: rules.StorageNoSizes}}
	return first, second, unknown
}

// storageLife is the life of TestGoldenPackageReports that measures
// storage: two runs that free bytes, one redelivered, one that deletes
// nothing (the body still shows the last run's figure), a restore, and a
// run that cannot measure what it frees.
func storageLife(keep []rules.Entry) []step {
	first, second, unknown := storageRuns(keep)
	quiet := &Run{ID: "storage-quiet", Package: pkg, Decision: decision(nil, keep),
		Storage: rules.Storage{Known: true, Before: 110*mib - 61*mib/2, After: 110*mib - 61*mib/2}}
	return []step{
		{name: "storage_first", at: at, comment: true, run: first},
		{name: "storage_first_again", at: at, comment: true, noGolden: true, run: first},
		{name: "storage_second", at: at.Add(24 * time.Hour), comment: true, run: second},
		{name: "storage_quiet", at: at.Add(25 * time.Hour), run: quiet},
		{name: "storage_restore", at: at.Add(26 * time.Hour), restore: []int64{15}},
		{name: "storage_unknown", at: at.Add(48 * time.Hour), comment: true, run: unknown},
	}
}

// storageDryRun is a dry run's preview of what it would free.
func storageDryRun(keep []rules.Entry) []step {
	dry := decision(sampleDelete(), keep)
	dry.DryRun, dry.Storage = true, rules.Storage{Known: true, Before: 122 * mib, After: 110 * mib, Frees: 12 * mib}
	return []step{{name: "storage_dry_run", at: at, comment: true, run: &Run{ID: "storage-dry", Package: pkg, Decision: dry}}}
}

// The total a report carries is the sum of what its runs freed, each run
// once however often it is reported; a run that cannot measure makes it a
// lower bound.
func TestStorageTotalIsTheSumOfRuns(t *testing.T) {
	first, second, unknown := storageRuns(sampleKeep())
	body := ""
	for _, run := range []*Run{first, first, second} {
		body = nextReport(body, run, Seal{}, web, at).body
	}
	got := parseStorageTotal(body)
	if want := first.Storage.Frees + second.Storage.Frees; !got.seen || got.freed != want || got.partial {
		t.Fatalf("total after two runs = %+v, want %d bytes, not partial", got, want)
	}
	if !strings.Contains(body, "pkgwarden's runs freed ≈ 42.5 MiB in all · the package held ≈ 79.5 MiB after the last run") {
		t.Errorf("body does not say the total and the size:\n%s", body)
	}
	body = nextReport(body, unknown, Seal{}, web, at.Add(time.Hour)).body
	if got := parseStorageTotal(body); got.freed != first.Storage.Frees+second.Storage.Frees || !got.partial {
		t.Errorf("total after a run without sizes = %+v, want the same bytes as a lower bound", got)
	}
	if !strings.Contains(body, "size unknown — rule 1") || !strings.Contains(body, "freed at least ≈ 42.5 MiB") {
		t.Errorf("body does not say the size is unknown:\n%s", body)
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{12 * mib, "12.0 MiB"}, {1288490189, "1.2 GiB"}, {5 << 40, "5.0 TiB"},
	}
	for _, tc := range tests {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
		if f, ok := parseFreed(freedPart(Freed{Bytes: tc.n, Known: true}, false)); !ok || Bytes(f.Bytes) != tc.want {
			t.Errorf("freed part of %d read back as %+v, %t", tc.n, f, ok)
		}
	}
}

// A summary line with bytes keeps its shape: one line, counts first, the
// bytes after kept, then the rule.
func TestSummaryLineWithBytes(t *testing.T) {
	first, _, unknown := storageRuns(sampleKeep())
	for _, run := range []*Run{first, unknown} {
		body := nextReport("", run, Seal{}, web, at).body
		reporttest.CheckBody(t, run.ID, body)
		c := summaryCounts(body)
		if c.Frees == nil || c.Deleted != len(run.Deleted) {
			t.Errorf("%s: summary read back as %+v", run.ID, c)
		}
	}
}

// storageRows: two measured container packages (one run of the week
// could not measure), an npm package never measured.
func storageRows() []DashboardRow {
	b := func(n int64) *int64 { return &n }
	return []DashboardRow{
		{Package: dashPkg("container", "webapp"), LastRun: at.Add(-time.Hour), Outcome: "pruned", Issue: issueOf(3),
			Deletions: []Deletion{{At: at.Add(-time.Hour), N: 4, Freed: b(12 * mib)}, {At: at.Add(-3 * 24 * time.Hour), N: 3, Freed: b(mib / 2)},
				{At: at.Add(-20 * 24 * time.Hour), N: 9, Freed: b(900 * mib)}},
			Restorable: 7, Size: b(3 << 30)},
		{Package: dashPkg("container", "tools"), LastRun: at.Add(-2 * time.Hour), Outcome: "pruned", Issue: issueOf(4),
			Deletions:  []Deletion{{At: at.Add(-2 * time.Hour), N: 2, Freed: b(40 * mib)}, {At: at.Add(-50 * time.Hour), N: 1}},
			Restorable: 3, Size: b(200 * mib)},
		{Package: dashPkg("npm", "webapp-client"), LastRun: at.Add(-2 * time.Hour), Outcome: "pruned", Issue: issueOf(5),
			Deletions: []Deletion{{At: at.Add(-2 * time.Hour), N: 2}}, Restorable: 2},
	}
}

// A package whose sizes were never known (npm) says "size unknown" on
// its summary line and carries no total.
func TestStorageNeverMeasured(t *testing.T) {
	npm := rules.Package{Owner: "acme", Type: "npm", Name: "client", Repository: "webapp"}
	del := []rules.Entry{{ID: 1, Version: "1.0.0-rc.1", Reason: "pre-release"}}
	d := rules.Decision{Package: npm, Origin: "acme/webapp:.github/pkgwarden.yml", Rule: 1, Delete: del,
		Storage: rules.Storage{Why: rules.StorageNotContainer}}
	body := nextReport("", &Run{ID: "npm-1", Package: npm, Decision: d, Deleted: del}, Seal{}, web, at).body
	if !strings.Contains(body, "Deleted 1 · 1 restorable · kept 0 · size unknown — ") {
		t.Errorf("summary line does not say the size is unknown:\n%s", body)
	}
	if strings.Contains(body, "**Storage**") || parseStorageTotal(body).seen {
		t.Errorf("a package never measured carries a storage total:\n%s", body)
	}
}

// Text echoed into a body (a notice quoting a file) cannot pass for the
// storage total: only the paragraph's own line is read.
func TestStorageMarkerNotForged(t *testing.T) {
	first, _, _ := storageRuns(sampleKeep())
	forged := "<!-- pkgwarden:storage freed=999999999 partial=false run=x -->"
	run := *first
	run.Decision.Notices = []string{"**Storage**: x " + forged}
	body := nextReport("", &run, Seal{}, web, at).body
	if got := parseStorageTotal(body); got.freed != first.Storage.Frees {
		t.Errorf("total = %d, want %d: a notice set it\n%s", got.freed, first.Storage.Frees, body)
	}
	run.Storage = rules.Storage{Why: rules.StorageNoSizes}
	if got := parseStorageTotal(nextReport("", &run, Seal{}, web, at).body); got.seen {
		t.Errorf("a notice started a total: %+v", got)
	}
}
