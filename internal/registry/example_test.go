package registry_test

import (
	"fmt"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// Tags that hang referrers off a subject are recognised so they are never
// treated as tags of their own.
func ExampleParseReferrerTag() {
	for _, tag := range []string{
		"sha256-272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927.sig",
		"sha256-272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927",
		"v1.2.3",
	} {
		subject, kind, ok := registry.ParseReferrerTag(tag)
		fmt.Println(ok, kind, subject)
	}
	// Output:
	// true sig sha256:272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927
	// true index sha256:272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927
	// false
}
