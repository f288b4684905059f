package ghsim

import "testing"

// TestSignVector checks Sign against GitHub's documented test vector for
// X-Hub-Signature-256 ("Validating webhook deliveries"), the one
// handlers' TestSignatureVector checks the receiving side with: the
// simulator's deliveries are then verifiable by any correct receiver, not
// only by a check that calls Sign itself.
func TestSignVector(t *testing.T) {
	tests := map[string]struct {
		secret, body, want string
	}{
		"GitHub's documented vector": {
			secret: "It's a Secret to Everybody",
			body:   "Hello, World!",
			want:   "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Sign(tc.secret, []byte(tc.body)); got != tc.want {
				t.Errorf("Sign(%q, %q) = %s, want %s", tc.secret, tc.body, got, tc.want)
			}
		})
	}
}
