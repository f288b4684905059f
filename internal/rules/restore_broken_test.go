package rules

import "testing"

// TestRestoreBroken: restore.broken is on unless a rule turns it off, also
// for a rule without a restore block.
func TestRestoreBroken(t *testing.T) {
	tests := map[string]struct {
		yml  string
		want bool
	}{
		"no restore block":   {"rules:\n  - prune: {untagged: true}\n", true},
		"restore without it": {"rules:\n  - restore: {tags: [\"v*\"]}\n", true},
		"broken: true":       {"rules:\n  - restore: {broken: true}\n", true},
		"broken: false":      {"rules:\n  - restore: {broken: false}\n", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Decode(Path, []byte(tc.yml))
			if err != nil {
				t.Fatal(err)
			}
			if got := (*f.rules)[0].Restore.HealsBroken(); got != tc.want {
				t.Errorf("HealsBroken = %v, want %v", got, tc.want)
			}
		})
	}
}
