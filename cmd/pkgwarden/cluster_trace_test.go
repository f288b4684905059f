package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckTrace shows that the cluster test's overlap check fails when it
// should: the trace it reads is the one serve writes with
// PKGWARDEN_TEST_TRACE.
func TestCheckTrace(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	start := func(pid int, run int64, lease string, ms int) traceLine {
		return traceLine{PID: pid, Run: run, Event: "start", Type: "prune", Lease: lease, At: at(ms)}
	}
	end := func(pid int, run int64, lease string, ms int, err string) traceLine {
		return traceLine{PID: pid, Run: run, Event: "end", Type: "prune", Lease: lease, At: at(ms), Err: err}
	}
	const a, b = "acme/container/a", "acme/container/b"
	killed := map[int]time.Time{3: at(500)}
	cases := []struct {
		name     string
		lines    []traceLine
		problems []string // substrings, one per problem
		want     traceFigures
	}{
		{"one after another across processes",
			[]traceLine{start(1, 1, a, 0), end(1, 1, a, 100, ""), start(2, 1, a, 100), end(2, 1, a, 200, "boom"),
				start(2, 2, b, 50), end(2, 2, b, 150, "")},
			nil, traceFigures{runs: 3, failed: 1, mostForOne: 2}},
		{"two processes on one package at once",
			[]traceLine{start(1, 1, a, 0), start(2, 7, a, 50), end(1, 1, a, 100, ""), end(2, 7, a, 200, "")},
			[]string{"acme/container/a: run 7 of pid 2"}, traceFigures{runs: 2, mostForOne: 2}},
		{"a long run overlaps the second of two short ones",
			[]traceLine{start(1, 1, a, 0), end(1, 1, a, 1000, ""), start(2, 1, a, 10), end(2, 1, a, 20, ""),
				start(2, 2, a, 30), end(2, 2, a, 40, "")},
			[]string{"run 1 of pid 2", "run 2 of pid 2"}, traceFigures{runs: 3, mostForOne: 3}},
		{"a killed run lasts until the kill",
			[]traceLine{start(3, 1, a, 0), start(1, 1, a, 600), end(1, 1, a, 700, "")},
			nil, traceFigures{runs: 2, cut: 1, mostForOne: 2}},
		{"taken over before the kill",
			[]traceLine{start(3, 1, a, 0), start(1, 1, a, 400), end(1, 1, a, 700, "")},
			[]string{"run 1 of pid 1"}, traceFigures{runs: 2, cut: 1, mostForOne: 2}},
		{"a live process's run never ended",
			[]traceLine{start(1, 1, a, 0)},
			[]string{"never ended"}, traceFigures{runs: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			for _, l := range tc.lines {
				data, _ := json.Marshal(l)
				buf.Write(append(data, '\n'))
			}
			path := filepath.Join(t.TempDir(), "trace.jsonl")
			if err := os.WriteFile(path, []byte(buf.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			got, problems, err := checkTrace(path, killed)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d matching %q", problems, len(tc.problems), tc.problems)
			}
			for i, p := range problems {
				if !strings.Contains(p, tc.problems[i]) {
					t.Errorf("problem %q, want it to mention %q", p, tc.problems[i])
				}
			}
			if got != tc.want {
				t.Errorf("figures %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, _, err := checkTrace(filepath.Join(t.TempDir(), "none"), nil); err == nil {
		t.Error("a missing trace was not an error")
	}
}
