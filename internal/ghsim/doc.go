// Package ghsim is a stateful, offline stand-in for GitHub: the Packages REST
// API of the seed document, GitHub App authentication, repositories with
// files, issues and comments, and an OCI registry that behaves like ghcr.io.
// pkgwarden's tests run against it, and users point `pkgwarden plan` at it to
// try rules without risk.
//
// # Behaviours the seed document does not state
//
// Each line: what the simulator does, and where that comes from.
//
//   - Errors are JSON objects {"message", "documentation_url"}, as every
//     GitHub REST error is (GitHub REST docs, "Troubleshooting").
//
// (The engineers filling in each file add their lines here.)
//
// # Admin API
//
// Everything under /_admin/ changes the simulated world directly, without
// GitHub's rules; it is how tests and the demo seed set things up. It needs
// no authentication and is documented route by route below.
//
// (Routes are listed here as they are added.)
package ghsim
