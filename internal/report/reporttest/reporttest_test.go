package reporttest

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	box := func(id string) string {
		return "- [ ] `pr-" + id + "` · today · `0123456789ab` <!-- pkgwarden:restore " + id + " -->\n"
	}
	tests := map[string]struct {
		body string
		want []string // substrings of the error; none: no error
	}{
		"good": {
			body: "<!-- pkgwarden:report container acme/webapp -->\nDeleted 1 · kept 2\n\n" + box("1") +
				"\n<details><summary>1 older</summary>\n\n" + box("2") + "\n</details>\n\n<details><summary>Kept</summary>\n\n- 2 × newest\n\n</details>\n",
		},
		"heading first": {
			body: "<!-- x -->\n## report\n\nDeleted 1\n",
			want: []string{"first block shown is a Heading"},
		},
		"summary on two lines": {
			body: "Deleted 1\nkept 2\n",
			want: []string{"summary is 2 lines"},
		},
		"box without a checkbox": {
			body: "Deleted 1\n\n- `pr-1` <!-- pkgwarden:restore 1 -->\n",
			want: []string{"not in a task-list item"},
		},
		"box after kept details": {
			body: "Deleted 1\n\n<details><summary>Kept</summary>\n\n- 2 × newest\n\n</details>\n\n" + box("1"),
			want: []string{"comes after a <details> block"},
		},
		"listed twice": {
			body: "Deleted 1\n\n" + box("1") + "\n- `pr-1` refused <!-- pkgwarden:refused 1 -->\n",
			want: []string{"version 1 listed twice: as restore and as refused"},
		},
		"broken image, kept": {
			body: "Kept 2\n\n### Broken images (1)\n\n- `v1` is broken: linux/arm64 is gone <!-- pkgwarden:broken 7 -->\n\n<details><summary>Kept (2): why</summary>\n\n- 2 × tagged\n\n</details>\n",
		},
		"broken image listed twice": {
			body: "Kept 2\n\n- `v1` is broken <!-- pkgwarden:broken 7 -->\n- `v1` is broken <!-- pkgwarden:broken 7 -->\n",
			want: []string{"broken image 7 listed twice"},
		},
		"broken image also would-delete": {
			body: "Would delete 1\n\n- `v1`: untagged <!-- pkgwarden:would 7 -->\n- `v1` is broken <!-- pkgwarden:broken 7 -->\n",
			want: []string{"broken image 7 is also listed as would"},
		},
		"broken image not a list item": {
			body: "Kept 2\n\n`v1` is broken <!-- pkgwarden:broken 7 -->\n",
			want: []string{"broken image 7 is not one list item"},
		},
		"too long": {
			body: "Deleted 1\n\n" + strings.Repeat("x", MaxBodyChars),
			want: []string{"body of 65547 characters"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Check(tc.body)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
