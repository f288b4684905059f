package report_test

import (
	"fmt"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// The terminal (demo, plan) says the counts in the words of the report
// issue's summary line.
func ExampleCountRun() {
	v := func(id int64, reason string, tags ...string) rules.Entry {
		return rules.Entry{ID: id, Version: fmt.Sprintf("sha256:%064x", id), Tags: tags, Reason: reason}
	}
	popular := v(41, "GitHub refused the deletion: more than 5000 downloads", "pr-41")
	run := report.Run{
		Decision: rules.Decision{
			Delete: []rules.Entry{v(1, "untagged, older than 14d"), v(2, "untagged, older than 14d"), popular},
			Keep:   []rules.Entry{v(3, "excluded tag latest", "latest"), v(4, "newest 3 untagged")},
		},
		Deleted: []rules.Entry{v(1, "untagged, older than 14d"), v(2, "untagged, older than 14d")},
		Skipped: []rules.Entry{popular},
	}
	c := report.CountRun(run)
	fmt.Println(c.Line())
	fmt.Printf("%+v\n", c)
	// Output:
	// Deleted 2 · 2 restorable · refused 1 · kept 2
	// {Deleted:2 WouldDelete:0 Refused:1 Kept:2 Restorable:2 Restored:0}
}
