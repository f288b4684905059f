package githubapi_test

import (
	"errors"
	"fmt"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
)

// Tokens come from the environment's values (parsed by the settings
// package) and the data dir; an owner without one is an error to report,
// never a reason to try another token.
func ExampleParsePackagesTokens() {
	tokens, err := githubapi.ParsePackagesTokens("acme=ghp_aaaa,Octo-Org=ghp_bbbb", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := tokens.Token("octo-org")
	fmt.Println(tok)
	_, err = tokens.Token("someone-else")
	fmt.Println(errors.Is(err, githubapi.ErrNoPackagesToken))
	// Output:
	// packages token for Octo-Org from PKGWARDEN_PACKAGES_TOKENS (redacted)
	// true
}
