package registry

import (
	"strings"
	"testing"
)

// Whatever the tag, a recognised referrer tag maps back to itself and names
// a well-formed sha256 digest.
func FuzzParseReferrerTag(f *testing.F) {
	for _, s := range []string{
		"sha256-272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927",
		"sha256-272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927.att",
		"latest", "sha256-", "sha256-.sig",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		subject, kind, ok := ParseReferrerTag(tag)
		if !ok {
			if subject != "" || kind != "" {
				t.Fatalf("not a referrer tag but returned %q, %q", subject, kind)
			}
			return
		}
		if !strings.HasPrefix(subject, "sha256:") || len(subject) != 71 || !isLowerHex(subject[7:]) {
			t.Fatalf("subject %q is not a sha256 digest", subject)
		}
		if back := ReferrerTag(subject, kind); back != tag {
			t.Fatalf("ReferrerTag(%q, %q) = %q, want %q", subject, kind, back, tag)
		}
		if _, err := CacheKey(subject); err != nil {
			t.Fatalf("CacheKey(%q): %v", subject, err)
		}
	})
}
