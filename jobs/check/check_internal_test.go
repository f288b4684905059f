package check

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"
)

// TestBatch splits annotations into GitHub's 50 per request, in order,
// always at least one (maybe empty) batch.
func TestBatch(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{0, []int{0}}, {1, []int{1}}, {50, []int{50}}, {51, []int{50, 1}}, {200, []int{50, 50, 50, 50}},
	} {
		all := make([]*github.CheckRunAnnotation, tc.n)
		for i := range all {
			all[i] = &github.CheckRunAnnotation{StartLine: github.Int(i)}
		}
		got := batch(all)
		var sizes []int
		next := 0
		for _, b := range got {
			sizes = append(sizes, len(b))
			for _, a := range b {
				if a.GetStartLine() != next {
					t.Fatalf("%d annotations: out of order at %d", tc.n, next)
				}
				next++
			}
		}
		if !slices.Equal(sizes, tc.want) || next != tc.n {
			t.Errorf("%d annotations: batches %v holding %d, want %v", tc.n, sizes, next, tc.want)
		}
	}
}

// TestTrim keeps the output within GitHub's byte limits, cutting at a
// character boundary.
func TestTrim(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "0123456…"},
		{strings.Repeat("é", 10), 10, "ééé…"}, // 2-byte runes: "…" takes 3 bytes, 7 are left, 3 é take 6
	} {
		got := trim(tc.s, tc.n)
		if len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("trim(%q, %d) = %q: %d bytes, valid %v", tc.s, tc.n, got, len(got), utf8.ValidString(got))
		}
		if got != tc.want {
			t.Errorf("trim(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
