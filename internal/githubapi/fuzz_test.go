package githubapi

import (
	"strings"
	"testing"
)

// Whatever PKGWARDEN_PACKAGES_TOKENS holds, parsing never panics, a parsed
// token is clean, and no error message repeats a token-looking value.
func FuzzParsePackagesTokens(f *testing.F) {
	for _, s := range []string{"acme=ghp_a", "a=b,c=d,", "=x", "acme", "a=b=c", "A=x,a=y", " a = b "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		toks, err := ParsePackagesTokens(spec, "")
		if err != nil {
			// Values after '=' must not be echoed back.
			for _, entry := range strings.Split(spec, ",") {
				if _, secret, ok := strings.Cut(entry, "="); ok {
					secret = strings.TrimSpace(secret)
					// Real tokens hold '_' (ghp_…, github_pat_…), so they
					// can never be a valid owner name echoed in a message.
					if len(secret) >= 8 && !validOwner.MatchString(secret) && strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q repeats the token %q", err, secret)
					}
				}
			}
			return
		}
		for _, owner := range toks.Owners() {
			tok, err := toks.Token(strings.ToUpper(owner))
			if err != nil {
				t.Fatalf("Token(%s): %v", owner, err)
			}
			if tok.Secret() == "" || strings.ContainsAny(tok.Secret(), " \t\r\n,") {
				t.Fatalf("token for %s is %q", owner, tok.Secret())
			}
			// The description is built from owner and source only.
			if want := "packages token for " + tok.Owner() + " from " + tok.Source() + " (redacted)"; tok.String() != want {
				t.Fatalf("String() = %q, want %q", tok.String(), want)
			}
		}
	})
}
