package ghsim

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// state is the simulated world. Every field is guarded by world.mu.
// Keys that GitHub treats case-insensitively (logins, repository names) are
// stored lower-cased; the structs keep the original spelling.
type state struct {
	nextID int64

	accounts      map[string]*account     // lower(login) → user or organization
	tokens        map[string]*token       // token string → who and what it may do
	repos         map[string]*repo        // lower("owner/name")
	installations map[int64]*installation // installation id
	packages      map[pkgKey]*pkg         // the live package of each namespace
	deletedPkgs   []*pkg                  // deleted packages, newest last (restorable 30 days)
	deliveries    []*Delivery             // webhook delivery log, oldest first
	hooks         []*repoHook             // repository and organization webhooks (repo_hooks.go)
	// manifestApps and manifestCodes are the apps created from manifests
	// and their conversion codes (manifest.go); nil until the first.
	manifestApps  map[int64]*manifestApp
	manifestCodes map[string]*manifestCode
}

func newState() *state {
	return &state{
		nextID:        100,
		accounts:      map[string]*account{},
		tokens:        map[string]*token{},
		repos:         map[string]*repo{},
		installations: map[int64]*installation{},
		packages:      map[pkgKey]*pkg{},
	}
}

func (st *state) id() int64 { st.nextID++; return st.nextID }

// account is a user or an organization.
type account struct {
	ID    int64
	Login string
	Type  string // "User" or "Organization"
	// Admins are the logins (lower-cased) of an organization's owners.
	Admins map[string]bool
	// Members are the logins (lower-cased) of an organization's members.
	Members map[string]bool
	// SAMLEnforced: the organization enforces SAML single sign-on; classic
	// tokens not authorised for it are refused (EnforceSAML).
	SAMLEnforced bool
}

// tokenKind tells classic personal access tokens from installation tokens.
type tokenKind int

const (
	tokenClassic tokenKind = iota + 1
	tokenInstallation
)

type token struct {
	Kind  tokenKind
	Value string
	// User is the lower-cased login behind a classic token.
	User string
	// Scopes of a classic token ("read:packages", "repo", ...).
	Scopes map[string]bool
	// SSOAuthorized are the organizations (lower-cased) enforcing SAML SSO
	// a classic token is authorised for (AuthorizeSSO).
	SSOAuthorized map[string]bool
	// Installation is the installation behind an installation token.
	Installation int64
	ExpiresAt    time.Time
	// Repos and Permissions narrow an installation token to part of its
	// installation (the access_tokens request body); nil means all of it.
	Repos       map[string]bool   // lower("owner/name")
	Permissions map[string]string // permission → read, write, admin
}

func (t *token) has(scope string) bool { return t.Scopes[scope] }

type repo struct {
	ID            int64
	Owner         string // original spelling
	Name          string
	Private       bool
	HasIssues     bool
	DefaultBranch string
	// Files by branch, then path.
	Files map[string]map[string][]byte
	// Collaborators: lower(login) → "admin", "maintain", "write", "triage", "read".
	Collaborators map[string]string
	Issues        []*issue
	Labels        map[string]*label // lower(name)
	CreatedAt     time.Time
	// Heads maps a branch to its head commit sha; a branch without commits
	// has none. PushedAt is the time of the last push.
	Heads    map[string]string
	PushedAt time.Time
	// Commits are the snapshots of every commit the repository holds
	// (commits.go); ForkOf is the lower("owner/name") of the repository a
	// fork was made from. Pulls and CheckRuns are its pull requests
	// (pulls.go) and check runs (checks.go).
	Commits   map[string]*commit
	ForkOf    string
	Pulls     []*pullRequest
	CheckRuns []*checkRun
}

func (r *repo) fullName() string { return r.Owner + "/" + r.Name }

type label struct {
	ID          int64
	Name        string
	Color       string
	Description string
}

type issue struct {
	ID     int64
	Number int
	Title  string
	Body   string
	State  string // open, closed
	// StateReason is completed, not_planned or reopened; "" while never closed.
	StateReason string
	ClosedBy    string // login of who closed it
	User        string // login of the author
	Labels      []string
	Assignees   []string
	Comments    []*comment
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
}

type comment struct {
	ID        int64
	Body      string
	User      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

type installation struct {
	ID          int64
	Account     string // lower-cased login
	AllRepos    bool
	Repos       map[string]bool // lower("owner/name") when !AllRepos
	Permissions map[string]string
	CreatedAt   time.Time
}

// pkgKey names a package namespace: owner, type and name, owner lower-cased.
type pkgKey struct {
	Owner string
	Type  string
	Name  string
}

type pkg struct {
	ID         int64
	Key        pkgKey
	Owner      string // original spelling
	Visibility string // public, private, internal
	Repository string // lower("owner/name") of the linked repository, or ""
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  time.Time // zero while live
	Versions   []*version
}

type version struct {
	ID        int64
	Name      string // the digest for containers, the version string otherwise
	Tags      []string
	Downloads int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // zero while active
	// DeletedTags are the tags the version had when it was deleted; listed in
	// state=deleted listings and given back on restore where still free.
	DeletedTags []string
	// MediaType of a container version's manifest; Description, License and
	// Prerelease of other versions (set by Publish).
	MediaType   string
	Description string
	License     string
	Prerelease  bool
	// Image is what the pushed manifest said of a container version
	// (size, config, layers, labels), for webhooks; nil otherwise.
	Image *regImage
}

// Delivery is one webhook sent (or attempted) by the simulator.
type Delivery struct {
	ID          int64     `json:"id"`
	GUID        string    `json:"guid"`
	Event       string    `json:"event"`
	Action      string    `json:"action"`
	DeliveredAt time.Time `json:"delivered_at"`
	StatusCode  int       `json:"status_code"` // 0 when the request failed
	Status      string    `json:"status"`
	Redelivery  bool      `json:"redelivery"`
	Payload     []byte    `json:"-"`
	// Hook is where it went: the app's webhook, or a repository's or an
	// organization's (hooks.go).
	Hook HookTarget `json:"hook"`
}

func lower(s string) string { return strings.ToLower(s) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
