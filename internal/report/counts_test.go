package report_test

import (
	"encoding/json"
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
		// What versions 1 and 2 held that no kept version references.
		Storage: rules.Storage{Known: true, Before: 3 << 30, After: 3<<30 - 1288490189, Frees: 1288490189},
	}
	c := report.CountRun(run)
	fmt.Println(c.Line())
	b, _ := json.Marshal(c)
	fmt.Println(string(b))
	// Output:
	// Deleted 2 · 2 restorable · refused 1 · kept 2 · frees ≈ 1.2 GiB
	// {"deleted":2,"would_delete":0,"refused":1,"kept":2,"restorable":2,"restored":0,"frees":{"bytes":1288490189,"known":true}}
}
