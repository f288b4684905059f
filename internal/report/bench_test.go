package report

import (
	"fmt"
	"testing"
	"time"
)

// A prune run of 5,000 deletions: merge with a full body's list, render,
// and read the list back from the body, as each report does.
func BenchmarkReportBody5000(b *testing.B) {
	var del []Restorable
	for i := range 5000 {
		del = append(del, Restorable{ID: int64(i), Version: dig(i), Tags: []string{fmt.Sprintf("pr-%d", i)}, DeletedAt: at.Add(-time.Duration(i) * time.Second)})
	}
	run := Run{ID: "bench", Package: pkg, Decision: decision(nil, sampleKeep())}
	prev, _ := renderBody(bodyParts{run: &run, list: mergeRestorable(nil, del, nil, at), now: at})
	b.ReportAllocs()
	var listed int
	for b.Loop() {
		list := mergeRestorable(ParseRestorable(prev), del, nil, at)
		body, kept := renderBody(bodyParts{run: &run, list: list, now: at})
		listed = len(kept)
		_ = body
	}
	b.ReportMetric(float64(listed), "listed")
}
