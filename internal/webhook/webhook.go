// Package webhook decodes the GitHub webhook deliveries pkgwarden acts on:
// which events it handles, the fields every event shares (for routing and
// logging), and the registry_package and package events, with small local
// types for what go-github v57 lacks (registry_package, container_metadata).
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v57/github"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// Event names pkgwarden knows, as sent in X-GitHub-Event.
const (
	EventPing                     = "ping"
	EventRegistryPackage          = "registry_package"
	EventPackage                  = "package"
	EventIssues                   = "issues"
	EventIssueComment             = "issue_comment"
	EventPush                     = "push"
	EventInstallation             = "installation"
	EventInstallationRepositories = "installation_repositories"
	// EventPullRequest is a pull request opened or pushed to: one that
	// changes a rules file gets the pkgwarden check run.
	EventPullRequest = "pull_request"
)

// handled are the events queued by the intake. Everything else is answered
// 202 and counted unsupported.
var handled = []string{
	EventRegistryPackage, EventPackage, EventIssues, EventIssueComment,
	EventPush, EventInstallation, EventInstallationRepositories,
	EventPullRequest,
}

// Handled reports whether the intake queues this event.
func Handled(event string) bool { return slices.Contains(handled, event) }

// HandledEvents lists the queued events, for metrics labels and docs.
func HandledEvents() []string { return slices.Clone(handled) }

// Envelope is what every event carries and routing or logging needs.
type Envelope struct {
	Action       string               `json:"action"`
	Installation *github.Installation `json:"installation"`
	Repository   *Repository          `json:"repository"`
	Organization *github.Organization `json:"organization"`
	Sender       *github.User         `json:"sender"`
}

// Repository is the repository an event concerns, with only what routing
// reads. github.Repository cannot decode every event: in a push,
// repository.organization is the organization's login (a string), in the
// other events an object (GitHub's push examples), and the whole delivery
// would fail to decode.
type Repository struct {
	ID       int64        `json:"id"`
	Name     string       `json:"name"`
	FullName string       `json:"full_name"`
	Owner    *github.User `json:"owner"`
}

// GetOwner returns the repository's owner, or nil.
func (r *Repository) GetOwner() *github.User {
	if r == nil {
		return nil
	}
	return r.Owner
}

// GetFullName returns "owner/name", or "".
func (r *Repository) GetFullName() string {
	if r == nil {
		return ""
	}
	return r.FullName
}

// DecodeEnvelope reads the shared fields of any event.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Envelope{}, fmt.Errorf("decode webhook envelope: %w", err)
	}
	return e, nil
}

// InstallationID is the installation the event was sent for, or 0.
func (e Envelope) InstallationID() int64 { return e.Installation.GetID() }

// Owner is the account the event concerns: the organization, else the
// repository's owner, else "".
func (e Envelope) Owner() string {
	if l := e.Organization.GetLogin(); l != "" {
		return l
	}
	return e.Repository.GetOwner().GetLogin()
}

// RepositoryFullName is "owner/name" of the event's repository, or "".
func (e Envelope) RepositoryFullName() string { return e.Repository.GetFullName() }

// SenderLogin is the login of who caused the event.
func (e Envelope) SenderLogin() string { return e.Sender.GetLogin() }

// PackageEvent is a registry_package or package event. GitHub sends Apps
// registry_package; repository and organization hooks may send package.
// Both carry the same package object under a different key.
type PackageEvent struct {
	Envelope
	Package *Package
	event   string
}

// Package is the package object of a package event.
type Package struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Namespace is "owner/repo" on GitHub (its examples), not the owner:
	// for logs only.
	Namespace string `json:"namespace"`
	// Ecosystem and PackageType come in upper case for containers
	// ("CONTAINER"); Type normalises them to the REST API's names.
	Ecosystem      string          `json:"ecosystem"`
	PackageType    string          `json:"package_type"`
	HTMLURL        string          `json:"html_url"`
	Owner          *github.User    `json:"owner"`
	PackageVersion *PackageVersion `json:"package_version"`
	Registry       *Registry       `json:"registry"`
}

// PackageVersion is the version a package event is about.
type PackageVersion struct {
	ID int64 `json:"id"`
	// Version is the digest for container versions.
	Version           string             `json:"version"`
	Name              string             `json:"name"`
	HTMLURL           string             `json:"html_url"`
	PackageURL        string             `json:"package_url"`
	ContainerMetadata *ContainerMetadata `json:"container_metadata"`
}

// ContainerMetadata describes a pushed container manifest. go-github v57
// has no type for it.
type ContainerMetadata struct {
	Tag ContainerTag `json:"tag"`
	// Labels holds the image's labels as GitHub summarises them
	// (source, revision, all_labels, ...); shape varies, so it stays loose.
	Labels map[string]any `json:"labels"`
	// Manifest is the pushed manifest as GitHub summarises it.
	Manifest json.RawMessage `json:"manifest"`
}

// ContainerTag is the tag a push set; Name is empty for an untagged push.
type ContainerTag struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Registry names the registry a package lives in.
type Registry struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Vendor string `json:"vendor"`
}

// Type is the package type as the REST API names it (container, npm,
// maven, rubygems, nuget, docker).
func (p *Package) Type() string {
	t := p.PackageType
	if t == "" {
		t = p.Ecosystem
	}
	return strings.ToLower(t)
}

// DecodePackageEvent decodes a registry_package or package delivery.
func DecodePackageEvent(event string, body []byte) (*PackageEvent, error) {
	var key string
	switch event {
	case EventRegistryPackage:
		key = "registry_package"
	case EventPackage:
		key = "package"
	default:
		return nil, fmt.Errorf("decode package event: %q is not a package event", event)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", event, err)
	}
	env, err := DecodeEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s event: %w", event, err)
	}
	pkgJSON, ok := raw[key]
	if !ok || bytes.Equal(bytes.TrimSpace(pkgJSON), []byte("null")) {
		return nil, fmt.Errorf("decode %s event: no %q object", event, key)
	}
	var p Package
	if err := json.Unmarshal(pkgJSON, &p); err != nil {
		return nil, fmt.Errorf("decode %s event: %s: %w", event, key, err)
	}
	return &PackageEvent{Envelope: env, Package: &p, event: event}, nil
}

// Target identifies the package a job works on.
type Target struct {
	InstallationID int64  `json:"installation_id"`
	Owner          string `json:"owner"`
	// OwnerType is "Organization" or "User": the REST paths differ.
	OwnerType   string `json:"owner_type"`
	PackageType string `json:"package_type"`
	PackageName string `json:"package_name"`
	// Repository is "owner/name" of the linked repository, or "".
	Repository string `json:"repository,omitempty"`
}

// ErrIncomplete means a package event lacks a field a job needs.
var ErrIncomplete = errors.New("package event is incomplete")

// key is the payload's key of the package object.
func (e *PackageEvent) key() string {
	if e.event == EventPackage {
		return "package"
	}
	return "registry_package"
}

// Target returns the package the event is about; its owner is the
// package's owner.login, and nothing else.
func (e *PackageEvent) Target() (Target, error) {
	t := Target{
		InstallationID: e.InstallationID(),
		Owner:          e.Package.Owner.GetLogin(),
		OwnerType:      e.Package.Owner.GetType(),
		PackageType:    e.Package.Type(),
		PackageName:    e.Package.Name,
		Repository:     e.RepositoryFullName(),
	}
	if t.OwnerType == "" && e.Organization != nil {
		t.OwnerType = "Organization"
	}
	switch {
	case t.InstallationID <= 0:
		return Target{}, fmt.Errorf("%w: no installation id", ErrIncomplete)
	case t.Owner == "":
		// Only owner.login names the package's owner: GitHub sends
		// namespace as "owner/repo", and the organization or the
		// repository's owner is not the package's by definition. A
		// guess could prune another owner's package of that name.
		return Target{}, fmt.Errorf("%w: no %s.owner.login (namespace %q is not an owner)", ErrIncomplete, e.key(), e.Package.Namespace)
	case t.PackageName == "":
		return Target{}, fmt.Errorf("%w: no package name", ErrIncomplete)
	case t.PackageType == "":
		return Target{}, fmt.Errorf("%w: no package type for %s/%s", ErrIncomplete, t.Owner, t.PackageName)
	}
	return t, nil
}

// Ref is the package the target names. Target keeps its own field names,
// the ones queued jobs carry.
func (t Target) Ref() pkgref.Ref {
	return pkgref.Ref{Owner: t.Owner, Type: t.PackageType, Name: t.PackageName, Repository: t.Repository}
}

// String is "installation/owner/type/name" as the job spells them, for
// logs. Keys use Key.
func (t Target) String() string {
	return strconv.FormatInt(t.InstallationID, 10) + "/" + t.Ref().String()
}

// Key is the installation and the package's identity as GitHub treats it
// (pkgref.Ref.Key: owner, type and name compared case-insensitively),
// "installation/owner/type/name" lower-cased. Leases, job subjects and
// sweep offsets are keyed by it, so one package has one key whatever route
// named it (a publish, a sweep, a report's title).
func (t Target) Key() string {
	return strconv.FormatInt(t.InstallationID, 10) + "/" + t.Ref().Key()
}

// Triggers reports whether the action asks for a prune of the package.
func (e *PackageEvent) Triggers() bool {
	return e.Action == "published" || e.Action == "updated"
}
