package restore

import (
	"slices"
	"strings"
	"testing"
)

// TestMatchName: which versions a tag or digest given in a command
// stands for, by precedence.
func TestMatchName(t *testing.T) {
	d := func(prefix string) string { return "sha256:" + prefix + strings.Repeat("0", 64-len(prefix)) }
	cands := []candidate{
		{id: 1, name: d("6e7dc4e8"), listed: []string{"pr-42"}},
		{id: 2, name: d("6e7d01"), remembered: []string{"pr-42", "v1"}},
		{id: 3, name: d("abcdef1"), listed: []string{"cafe123"}},
		{id: 4, name: d("cafe1234")},
		{id: 5, name: "1.2.3"},
		{id: 6, name: d("beef"), remembered: []string{"v1"}},
	}
	tests := map[string]struct {
		name   string
		digest bool
		want   []int64
	}{
		"a tag GitHub lists wins over a remembered one": {name: "pr-42", want: []int64{1}},
		"remembered tags":                   {name: "v1", want: []int64{2, 6}},
		"a digest prefix":                   {name: "sha256:6e7dc4", digest: true, want: []int64{1}},
		"an ambiguous digest prefix":        {name: "sha256:6e7d", digest: true, want: []int64{1, 2}},
		"a whole digest":                    {name: d("beef"), digest: true, want: []int64{6}},
		"a digest prefix is not a tag":      {name: "sha256:pr-4", digest: true},
		"bare hex as a digest prefix":       {name: "6e7dc4e8", want: []int64{1}},
		"bare hex that is a tag is the tag": {name: "cafe123", want: []int64{3}},
		"bare hex, longer than the tag":     {name: "cafe1234", want: []int64{4}},
		"a version name":                    {name: "1.2.3", want: []int64{5}},
		"short bare hex is only a tag":      {name: "6e7d", want: nil},
		"unknown":                           {name: "pr-99", want: nil},
		"a tag is whole, not a prefix":      {name: "pr-4", want: nil},
		"an upper-case bare digest":         {name: "6E7DC4E8", want: []int64{1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []int64
			for _, c := range matchName(tc.name, tc.digest, cands) {
				got = append(got, c.id)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("matchName(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
