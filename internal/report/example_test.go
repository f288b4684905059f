package report_test

import (
	"fmt"

	"github.com/pkgwarden/pkgwarden/internal/report"
)

// The restore work gets an issues "edited" webhook when someone ticks a
// box; NewlyTicked compares the body before (changes.body.from) with the
// body after to find what to restore.
func ExampleNewlyTicked() {
	from := "- [ ] restore <!-- pkgwarden:restore 41 2026-11-20T08:00:00Z sha256%3A0a1b - --> `sha256:0a1b` id 41, deleted 2026-11-20\n" +
		"- [x] restore <!-- pkgwarden:restore 42 2026-11-21T08:00:00Z sha256%3A2c3d pr-7 --> `sha256:2c3d` (pr-7) id 42, deleted 2026-11-21\n"
	to := "- [x] restore <!-- pkgwarden:restore 41 2026-11-20T08:00:00Z sha256%3A0a1b - --> `sha256:0a1b` id 41, deleted 2026-11-20\n" +
		"- [x] restore <!-- pkgwarden:restore 42 2026-11-21T08:00:00Z sha256%3A2c3d pr-7 --> `sha256:2c3d` (pr-7) id 42, deleted 2026-11-21\n"
	fmt.Println("restore:", report.NewlyTicked(from, to))
	for _, e := range report.ParseRestorable(to) {
		fmt.Println(e.ID, e.Version, e.Tags, e.DeletedAt.Format("2006-01-02"), e.Checked)
	}
	// Output:
	// restore: [41]
	// 41 sha256:0a1b [] 2026-11-20 true
	// 42 sha256:2c3d [pr-7] 2026-11-21 true
}
