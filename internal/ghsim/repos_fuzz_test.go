package ghsim

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzBase64Lines checks the contents encoding decodes back to the bytes
// and keeps GitHub's 60-character lines.
func FuzzBase64Lines(f *testing.F) {
	for _, seed := range []string{"", "a", strings.Repeat("x", 45), strings.Repeat("y", 46), "keep: 10\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		enc := base64Lines(b)
		if len(b) > 0 && !strings.HasSuffix(enc, "\n") {
			t.Fatalf("%q does not end in a newline", enc)
		}
		lines := strings.Split(strings.TrimSuffix(enc, "\n"), "\n")
		for i, l := range lines {
			if len(l) > 60 || (i < len(lines)-1 && len(l) != 60) {
				t.Fatalf("line %d of %d has %d characters", i, len(lines), len(l))
			}
		}
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(enc, "\n", ""))
		if err != nil || !bytes.Equal(dec, b) {
			t.Fatalf("round trip of %q gave %q: %v", b, dec, err)
		}
	})
}
