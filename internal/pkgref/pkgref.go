// Package pkgref is the one identity of a GitHub package every part of
// pkgwarden names packages by: owner, type and name, and the repository the
// package is linked to. It imports nothing of the module.
package pkgref

import "strings"

// Ref names a package.
type Ref struct {
	// Owner is the login of the organisation or user the package belongs
	// to.
	Owner string `json:"owner"`
	// Type is the GitHub package type: npm, maven, rubygems, nuget,
	// docker or container.
	Type string `json:"type"`
	Name string `json:"name"`
	// Repository is the full name ("owner/name") of the repository the
	// package is linked to, empty when it is linked to none. RepoName is
	// its name without owner.
	Repository string `json:"repo,omitempty"`
}

// String is "owner/type/name", the form jobs and logs name packages by.
func (r Ref) String() string { return r.Owner + "/" + r.Type + "/" + r.Name }

// Key is the package's identity as GitHub treats it: owner, type and name
// compared case-insensitively ("acme/container/app"). Leases, job
// subjects, inventory keys and report seals are keyed by it, so one package
// has one key whatever route named it.
func (r Ref) Key() string { return strings.ToLower(r.String()) }

// RepoName is the name without owner of the linked repository, empty when
// the package is linked to none.
func (r Ref) RepoName() string { return RepoName(r.Repository) }

// IsContainer reports whether the package is an OCI image (IsContainerType).
func (r Ref) IsContainer() bool { return IsContainerType(r.Type) }

// RepoName is a repository's name without its owner: "acme/app" and "app"
// are both "app".
func RepoName(full string) string {
	if i := strings.LastIndex(full, "/"); i >= 0 {
		return full[i+1:]
	}
	return full
}

// IsContainerType reports whether packages of type t are OCI images, whose
// versions carry tags and form a graph (type names compared as GitHub
// does, case-insensitively).
func IsContainerType(t string) bool {
	return strings.EqualFold(t, "container") || strings.EqualFold(t, "docker")
}
