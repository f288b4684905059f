package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/queue"
)

// TestConfigUnreadableEndToEnd: a configuration file that names, or is, a
// path GitHub never gives as a file's content (a directory, a file over
// 1 MiB) is a configuration error, through signed webhooks into serve: a
// publish reports it in exactly one invalid-configuration issue, with the
// reason and where the file names it, deletes nothing, and is not retried
// into the dead-letter stream; a push of the file re-checks it into the
// same issue without queueing a prune.
func TestConfigUnreadableEndToEnd(t *testing.T) {
	const day = 24 * time.Hour
	// owner rules that would prune app's old image: they must not apply
	// in place of a repository file that cannot be read.
	ownerRules := strings.Replace(e2eRules, `packages: ["app"]`, `packages: ["*"]`, 1)
	big := "# " + strings.Repeat("x", 2411725-3) + "\n"
	tests := map[string]struct {
		files map[string]string // repo[:path] → content
		// issueIn is the repository of the issue; want is what its body
		// must say.
		issueIn string
		want    []string
		// push is the repository whose rules file is pushed again after
		// the publish ("": none; a push only counts when it changes the
		// file itself).
		push string
	}{
		"_extends names a directory": {
			files: map[string]string{
				".github:.github/base/defaults.yml": ownerRules,
				"app":                               "_extends: acme/.github:.github/base\n" + e2eRules,
			},
			issueIn: "app",
			want:    []string{"`acme/app:.github/pkgwarden.yml` line 1, column 11", "acme/.github:.github/base is a directory, not a file"},
			push:    "app",
		},
		"_extends names a file over 1 MiB": {
			files: map[string]string{
				"other:big.yml": big,
				"app":           "_extends: acme/other:big.yml\n" + e2eRules,
			},
			issueIn: "app",
			want:    []string{"`acme/app:.github/pkgwarden.yml` line 1, column 11", "acme/other:big.yml is 2.3 MiB (2411725 bytes), over the 1 MiB limit"},
			push:    "app",
		},
		"owner's file _extends names a directory": {
			files: map[string]string{
				"other:shared/defaults.yml": ownerRules,
				".github":                   "_extends: acme/other:shared\n" + ownerRules,
			},
			issueIn: ".github",
			want:    []string{"`acme/.github:.github/pkgwarden.yml` line 1, column 11", "acme/other:shared is a directory, not a file"},
			push:    ".github",
		},
		"the rules file is a directory": {
			files: map[string]string{
				".github":                        ownerRules,
				"app:" + rules.Path + "/app.yml": e2eRules,
			},
			issueIn: "app",
			want:    []string{"`acme/app:.github/pkgwarden.yml` line 1, column 1", ".github/pkgwarden.yml is a directory, not a file"},
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			w := newE2E(t, nil)
			w.files(tc.files)
			old := w.push(w.image("old"), 4*day)
			w.push(w.image("v1"), 5*day, "v1")
			before := w.activeSet()
			if len(before) != 2 || !before[old] {
				t.Fatalf("set-up: active versions %v", before)
			}

			// A publish: the prune job reports the file and ends. waitIdle
			// fails if a job went to the dead-letter stream.
			w.deliver()
			issue := w.unreadableIssue(tc.issueIn, tc.want)
			runs := w.runs.snapshot()
			if len(runs) != 1 || runs[0].Outcome != prune.OutcomeInvalidConfig || len(runs[0].ConfigErrors) != 1 {
				t.Errorf("runs = %+v, want one, with outcome %s and one configuration error", runs, prune.OutcomeInvalidConfig)
			}
			w.untouched(before)

			if tc.push == "" {
				return
			}
			// A push of the file: the config job reports it again, into the
			// same issue, and queues no prune.
			seq := w.jobsSeq()
			content := tc.files[tc.push]
			w.file(tc.push, rules.Path, content+"# pushed again\n")
			w.forwardPushes()
			if n := w.idle(seq); n != 1 {
				t.Errorf("the push queued %d jobs, want 1 (the config job, no prune)", n)
			}
			if again := w.unreadableIssue(tc.issueIn, tc.want); again.Number != issue.Number {
				t.Errorf("the push reported in issue #%d, the publish in #%d", again.Number, issue.Number)
			}
			if n := len(w.runs.snapshot()); n != 1 {
				t.Errorf("%d prune runs after the push, want still 1", n)
			}
			w.untouched(before)
		})
	}
}

// unreadableIssue checks that exactly one invalid-configuration issue is
// open in acme, in acme/repo, saying want, and returns it.
func (w *e2e) unreadableIssue(repo string, want []string) issueRef {
	w.t.Helper()
	var found []issueRef
	for _, r := range []string{"app", "other", ".github"} {
		for _, is := range w.configIssues(r) {
			found = append(found, issueRef{repo: r, Number: is.Number, State: is.State, Body: is.Body})
		}
	}
	if len(found) != 1 || found[0].repo != repo || found[0].State != "open" {
		w.t.Fatalf("invalid-configuration issues: %+v, want one, open, in acme/%s", found, repo)
	}
	for _, s := range want {
		if !strings.Contains(found[0].Body, s) {
			w.t.Errorf("the issue body lacks %q:\n%s", s, found[0].Body)
		}
	}
	return found[0]
}

type issueRef struct {
	repo   string
	Number int
	State  string
	Body   string
}

func (r issueRef) String() string {
	return fmt.Sprintf("acme/%s#%d (%s)", r.repo, r.Number, r.State)
}

// untouched checks that the active versions are still before and that
// no job reached the dead-letter stream.
func (w *e2e) untouched(before map[string]bool) {
	w.t.Helper()
	after := w.activeSet()
	if len(after) != len(before) {
		w.t.Errorf("active versions %v, want %v: something was deleted", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}
	for v := range before {
		if !after[v] {
			w.t.Errorf("%s was deleted", v)
		}
	}
	if n, err := queue.CountMessages(context.Background(), w.q.DeadLetters); err != nil || n != 0 {
		w.t.Errorf("dead-letter stream holds %d jobs (%v), want none", n, err)
	}
}
