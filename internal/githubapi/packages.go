package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// OwnerKind tells organisations from users: they have different endpoints.
type OwnerKind string

// Owner kinds, as GET /users/{owner} spells its "type".
const (
	OwnerOrganization OwnerKind = "Organization"
	OwnerUser         OwnerKind = "User"
)

// Owner is a package namespace: an organisation or a user.
type Owner struct {
	Login string
	Kind  OwnerKind
	// Self is true for a user whose own token the client holds: the
	// /user/… endpoints are used then, which also reach private packages
	// (GitHub documents /users/{username}/… for public ones).
	Self bool
}

func (o Owner) String() string { return o.Login }

// Package is what pkgwarden needs of a package.
type Package struct {
	ID           int64
	Name         string
	Type         string // container, npm, maven, rubygems, nuget, docker
	Visibility   string // public, private, internal
	VersionCount int64
	Owner        string
	// Repository is the full name ("owner/repo") of the linked repository,
	// empty when the package is linked to none.
	Repository string
	HTMLURL    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RefOf is the package's identity (type, name and linked repository as
// GitHub answered them) under owner o, the Owner the package was reached
// through: pkgwarden names a package by its resolved owner's login.
func (p Package) RefOf(o Owner) pkgref.Ref {
	return pkgref.Ref{Owner: o.Login, Type: p.Type, Name: p.Name, Repository: p.Repository}
}

// Version is what pkgwarden needs of a package version.
type Version struct {
	ID int64
	// Name is the version: the manifest digest ("sha256:…") for containers.
	Name string
	// Tags are metadata.container.tags; empty for untagged manifests and
	// for other package types.
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      time.Time // zero unless GitHub sent deleted_at
	HTMLURL        string
	PackageHTMLURL string
}

// wireVersion decodes a package version. go-github v57's PackageVersion has
// no deleted_at, which GitHub sends on deleted versions.
type wireVersion struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	HTMLURL        string     `json:"html_url"`
	PackageHTMLURL string     `json:"package_html_url"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
	Metadata       struct {
		PackageType string `json:"package_type"`
		Container   *struct {
			Tags []string `json:"tags"`
		} `json:"container"`
	} `json:"metadata"`
}

func (w wireVersion) version() Version {
	v := Version{
		ID: w.ID, Name: w.Name, HTMLURL: w.HTMLURL, PackageHTMLURL: w.PackageHTMLURL,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if w.DeletedAt != nil {
		v.DeletedAt = *w.DeletedAt
	}
	if w.Metadata.Container != nil && len(w.Metadata.Container.Tags) > 0 {
		v.Tags = append([]string(nil), w.Metadata.Container.Tags...)
	}
	return v
}

func packageFrom(p *github.Package) Package {
	out := Package{
		ID: p.GetID(), Name: p.GetName(), Type: p.GetPackageType(), Visibility: p.GetVisibility(),
		VersionCount: p.GetVersionCount(), HTMLURL: p.GetHTMLURL(),
		CreatedAt: p.GetCreatedAt().Time, UpdatedAt: p.GetUpdatedAt().Time,
	}
	if p.Owner != nil {
		out.Owner = p.Owner.GetLogin()
	}
	if p.Repository != nil {
		out.Repository = p.Repository.GetFullName()
	}
	return out
}

// PackagesClient calls the Packages endpoints with one owner's packages
// token. A user's packages go through /user/… only when ResolveOwner found
// the token to be that user's own (Owner.Self); otherwise through
// /users/{username}/…, so a token shared by several owners can never act on
// the wrong namespace.
type PackagesClient struct {
	gh       *github.Client
	etags    ETagStore
	owners   *OwnerCache
	ownerKey func(login string) string
	now      func() time.Time
	logger   *slog.Logger

	mu     sync.Mutex
	rate   Rate
	scopes []string // X-OAuth-Scopes of the last answer that had it
	scoped bool     // an answer carried X-OAuth-Scopes
	me     string   // login of the token's user once GET /user answered
}

// Scopes returns the token's scopes as the last answer carrying
// X-OAuth-Scopes listed them (GitHub sends it on every answer to a classic
// token); known is false until such an answer came.
func (c *PackagesClient) Scopes() (scopes []string, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.scopes...), c.scoped
}

// Rate is the primary rate limit of the client's token as the last response
// that carried X-RateLimit headers reported it. Pacing across replicas
// (DESIGN.md: the token's limit is shared by every replica) starts here.
type Rate struct {
	Limit, Remaining int
	Reset            time.Time
	// Known is false until a response carried the headers.
	Known bool
}

// Rate returns the last known rate limit of the client's token.
func (c *PackagesClient) Rate() Rate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// noteRate remembers the token's scopes and the rate limit a response
// reported. go-github parses the headers into resp.Rate, zero when absent.
func (c *PackagesClient) noteRate(resp *github.Response) {
	if resp == nil || resp.Response == nil {
		return
	}
	if vs := resp.Header.Values("X-OAuth-Scopes"); len(vs) > 0 {
		c.mu.Lock()
		c.scopes, c.scoped = ParseScopes(strings.Join(vs, ",")), true
		c.mu.Unlock()
	}
	if resp.Header.Get("X-RateLimit-Limit") == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rate = Rate{Limit: resp.Rate.Limit, Remaining: resp.Rate.Remaining, Reset: resp.Rate.Reset.Time, Known: true}
}

// PackagesClientOptions configure NewPackagesClient. The zero value talks to
// api.github.com with retries and no ETags.
type PackagesClientOptions struct {
	// BaseURL of the REST API; empty means https://api.github.com/.
	BaseURL string
	// Transport sends the requests; nil means NewTransport(nil, RetryPolicy{}, nil).
	// Pass a *Transport with an Observer to count requests.
	Transport http.RoundTripper
	// ETags, when set, makes version listings conditional.
	ETags ETagStore
	// Owners, when set, keeps ResolveOwner's answers across clients.
	Owners *OwnerCache
	// Now is the clock for rate-limit waits; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// NewPackagesClient returns a client that authenticates with token.
func NewPackagesClient(token Token, opts PackagesClientOptions) (*PackagesClient, error) {
	if token.Secret() == "" {
		return nil, fmt.Errorf("packages client: %w", ErrNoPackagesToken)
	}
	tr := opts.Transport
	if tr == nil {
		tr = NewTransport(nil, RetryPolicy{}, nil)
	}
	gh, err := NewGitHubClient(&http.Client{Transport: tr}, opts.BaseURL)
	if err != nil {
		return nil, err
	}
	gh = gh.WithAuthToken(token.Secret())
	// WithAuthToken copies the client; set the URLs again so the copy can
	// never fall back to api.github.com.
	u, _ := parseBaseURL(opts.BaseURL)
	gh.BaseURL, gh.UploadURL = u, u
	base, secret := u.String(), token.Secret()
	c := &PackagesClient{gh: gh, etags: opts.ETags, owners: opts.Owners, now: opts.Now, logger: opts.Logger,
		ownerKey: func(login string) string { return ownerCacheKey(base, secret, login) }}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ResolveOwner answers from the client's OwnerCache when it holds owner, and
// otherwise asks GET /users/{owner} whether owner is an organisation or
// a user.
func (c *PackagesClient) ResolveOwner(ctx context.Context, login string) (Owner, error) {
	if !validOwner.MatchString(login) {
		// An empty login would make go-github ask GET /user instead.
		return Owner{}, fmt.Errorf("resolve owner %q: not a GitHub owner name", login)
	}
	if c.owners == nil {
		o, _, err := c.resolveOwner(ctx, login)
		return o, err
	}
	key := c.ownerKey(login)
	if o, ok := c.owners.get(key); ok {
		return o, nil
	}
	o, sure, err := c.resolveOwner(ctx, login)
	if err == nil && sure {
		c.owners.put(key, o)
	}
	return o, err
}

// resolveOwner asks GitHub. sure is false when the answer is a fallback
// that should not be remembered.
func (c *PackagesClient) resolveOwner(ctx context.Context, login string) (Owner, bool, error) {
	u, resp, err := c.gh.Users.Get(ctx, url.PathEscape(login))
	c.noteRate(resp)
	if err != nil {
		return Owner{}, false, fmt.Errorf("resolve owner %s: %w", login, classify(c.now(), resp, err))
	}
	switch t := OwnerKind(u.GetType()); t {
	case OwnerOrganization:
		return Owner{Login: u.GetLogin(), Kind: t}, true, nil
	case OwnerUser:
		o := Owner{Login: u.GetLogin(), Kind: t}
		me, err := c.tokenUser(ctx)
		if err != nil {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				return Owner{}, false, fmt.Errorf("resolve owner %s: token's user: %w", login, err)
			}
			// Not knowing only costs private packages; /users/{username}
			// is always safe.
			c.logger.WarnContext(ctx, "cannot tell whose packages token this is", "owner", login, "err", err)
			return o, false, nil
		}
		o.Self = strings.EqualFold(me, o.Login)
		return o, true, nil
	default:
		return Owner{}, false, fmt.Errorf("resolve owner %s: unexpected type %q", login, u.GetType())
	}
}

// tokenUser asks GET /user once whose token the client holds.
func (c *PackagesClient) tokenUser(ctx context.Context) (string, error) {
	c.mu.Lock()
	me := c.me
	c.mu.Unlock()
	if me != "" {
		return me, nil
	}
	u, resp, err := c.gh.Users.Get(ctx, "")
	c.noteRate(resp)
	if err != nil {
		return "", classify(c.now(), resp, err)
	}
	c.mu.Lock()
	c.me = u.GetLogin()
	c.mu.Unlock()
	return u.GetLogin(), nil
}

// ownerPath is "orgs/{org}" or "users/{username}", escaped.
func ownerPath(o Owner) (string, error) {
	switch o.Kind {
	case OwnerOrganization:
		return "orgs/" + url.PathEscape(o.Login), nil
	case OwnerUser:
		if o.Self {
			return "user", nil
		}
		return "users/" + url.PathEscape(o.Login), nil
	}
	return "", fmt.Errorf("owner %s: unknown kind %q (resolve it first)", o.Login, o.Kind)
}

// userArg is go-github's user argument: "" selects /user/….
func userArg(o Owner) string {
	if o.Self {
		return ""
	}
	return url.PathEscape(o.Login)
}

// packagePath is ".../packages/{type}/{name}". go-github v57 does not escape
// path segments, and container names may contain '/' ("team/app"), which
// must reach GitHub as "team%2Fapp".
func packagePath(o Owner, packageType, name string) (string, error) {
	op, err := ownerPath(o)
	if err != nil {
		return "", err
	}
	return op + "/packages/" + url.PathEscape(packageType) + "/" + url.PathEscape(name), nil
}

func versionPath(o Owner, packageType, name string, id int64) (string, error) {
	p, err := packagePath(o, packageType, name)
	if err != nil {
		return "", err
	}
	return p + "/versions/" + strconv.FormatInt(id, 10), nil
}

// ListPackages lists every package of the owner of packageType (required by
// GitHub), optionally filtered by visibility, following every page.
//
// GET /orgs/{org}/packages, GET /users/{username}/packages
func (c *PackagesClient) ListPackages(ctx context.Context, o Owner, packageType, visibility string) ([]Package, error) {
	opts := &github.PackageListOptions{
		PackageType: github.String(packageType),
		ListOptions: github.ListOptions{PerPage: 100},
	}
	if visibility != "" {
		opts.Visibility = github.String(visibility)
	}
	var out []Package
	for page := 1; ; {
		opts.Page = page
		var (
			pkgs []*github.Package
			resp *github.Response
			err  error
		)
		switch o.Kind {
		case OwnerOrganization:
			pkgs, resp, err = c.gh.Organizations.ListPackages(ctx, url.PathEscape(o.Login), opts)
		case OwnerUser:
			pkgs, resp, err = c.gh.Users.ListPackages(ctx, userArg(o), opts)
		default:
			_, err = ownerPath(o)
			return nil, fmt.Errorf("list %s packages of %s: %w", packageType, o.Login, err)
		}
		c.noteRate(resp)
		if err != nil {
			return nil, fmt.Errorf("list %s packages of %s, page %d: %w", packageType, o.Login, page, classify(c.now(), resp, err))
		}
		for _, p := range pkgs {
			out = append(out, packageFrom(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

// GetPackage gets one package.
//
// GET /orgs/{org}/packages/{package_type}/{package_name} (and /users/{username}/…)
func (c *PackagesClient) GetPackage(ctx context.Context, o Owner, packageType, name string) (Package, error) {
	if c.etags != nil {
		return c.getPackageConditional(ctx, o, packageType, name)
	}
	var (
		p    *github.Package
		resp *github.Response
		err  error
	)
	switch o.Kind {
	case OwnerOrganization:
		p, resp, err = c.gh.Organizations.GetPackage(ctx, url.PathEscape(o.Login), url.PathEscape(packageType), url.PathEscape(name))
	case OwnerUser:
		p, resp, err = c.gh.Users.GetPackage(ctx, userArg(o), url.PathEscape(packageType), url.PathEscape(name))
	default:
		_, err = ownerPath(o)
		return Package{}, fmt.Errorf("get package %s/%s: %w", o.Login, name, err)
	}
	c.noteRate(resp)
	if err != nil {
		return Package{}, fmt.Errorf("get %s package %s/%s: %w", packageType, o.Login, name, classify(c.now(), resp, err))
	}
	return packageFrom(p), nil
}

// getPackageConditional is GetPackage through the client's ETag store: a
// package unchanged since it was last read answers 304, which GitHub does
// not count against the primary rate limit (every sweep reads every
// package, twice: its prune and its restore job).
func (c *PackagesClient) getPackageConditional(ctx context.Context, o Owner, packageType, name string) (Package, error) {
	u, err := packagePath(o, packageType, name)
	if err != nil {
		return Package{}, fmt.Errorf("get package %s/%s: %w", o.Login, name, err)
	}
	got, err := getConditional(ctx, c.gh, c.etags, c.logger, "GET "+c.gh.BaseURL.String()+u, u)
	c.noteRate(got.resp)
	if err != nil {
		return Package{}, fmt.Errorf("get %s package %s/%s: %w", packageType, o.Login, name, classify(c.now(), got.resp, err))
	}
	var p github.Package
	if err := json.Unmarshal(got.body, &p); err != nil {
		return Package{}, fmt.Errorf("get %s package %s/%s: decode: %w", packageType, o.Login, name, err)
	}
	return packageFrom(&p), nil
}

// Version states for ListVersions.
const (
	StateActive  = "active"
	StateDeleted = "deleted"
)

// ListProgress is reported after each page of a version listing.
type ListProgress struct {
	Pages       int // pages fetched so far
	Versions    int // versions seen so far
	NotModified int // pages GitHub answered 304
}

// ListVersionsOptions configure ListVersions.
type ListVersionsOptions struct {
	// State is StateActive (default) or StateDeleted.
	State string
	// Progress, when set, is called after every page, for progress bars.
	Progress func(ListProgress)
}

// VersionList is a full listing of a package's versions, newest first as
// GitHub orders them.
type VersionList struct {
	Versions []Version
	Pages    int
	// NotModified is true when every page answered 304: nothing changed
	// since the listing whose ETags were stored.
	NotModified bool
}

// versionsPerPage is the page size of version listings, GitHub's maximum.
const versionsPerPage = 100

// ListVersions lists every version of a package in the given state: 100 per
// page, every page. With an ETagStore each page is requested with
// If-None-Match and a 304 is served from the stored page.
//
// GET /orgs/{org}/packages/{package_type}/{package_name}/versions (and /users/{username}/…)
func (c *PackagesClient) ListVersions(ctx context.Context, o Owner, packageType, name string, opts ListVersionsOptions) (VersionList, error) {
	state := opts.State
	if state == "" {
		state = StateActive
	}
	base, err := packagePath(o, packageType, name)
	if err != nil {
		return VersionList{}, fmt.Errorf("list versions of %s: %w", name, err)
	}
	var (
		out      VersionList
		progress ListProgress
	)
	out.NotModified = c.etags != nil
	for page := 1; page != 0; {
		q := url.Values{"state": {state}, "per_page": {strconv.Itoa(versionsPerPage)}, "page": {strconv.Itoa(page)}}
		u := base + "/versions?" + q.Encode()
		versions, next, notModified, err := c.versionsPage(ctx, u)
		if err != nil {
			return VersionList{}, fmt.Errorf("list %s versions of %s package %s/%s, page %d: %w", state, packageType, o.Login, name, page, err)
		}
		out.Versions = append(out.Versions, versions...)
		out.Pages++
		if notModified {
			progress.NotModified++
		} else {
			out.NotModified = false
		}
		progress.Pages, progress.Versions = out.Pages, len(out.Versions)
		if opts.Progress != nil {
			opts.Progress(progress)
		}
		// A 304 brings back the stored page with the Link it had then, and
		// an ETag covers the body only. When that page was the last and
		// full, a version may since have landed beyond it without changing
		// any stored page (a restored old version sorts last): ask for the
		// next page too.
		//
		// The same when such a page answers 200 and pages are stored: the
		// next page, empty now, is stored too, so that the later 304 of
		// this one is followed by a 304 rather than by a first read (the
		// same one request, paid when the listing changed rather than on
		// the next listing that finds nothing changed).
		if (notModified || c.etags != nil) && next == 0 && len(versions) == versionsPerPage {
			next = page + 1
		}
		page = next
	}
	return out, nil
}

// VersionPage is one page of a version listing.
type VersionPage struct {
	Versions []Version
	// Next is the next page's number, 0 on the last page.
	Next int
	// ETag of the page as read; the one asked with when NotModified.
	ETag string
	// NotModified: the page still has the ETag asked with; Versions is
	// empty then.
	NotModified bool
}

// ListVersionsPage reads one page of versions in state (active when ""),
// asking with If-None-Match etag when etag is set. It does not use the
// client's ETag store: it is for a caller that keeps its own "since I last
// looked", such as the prune's look at the newest versions before each
// deletion group.
func (c *PackagesClient) ListVersionsPage(ctx context.Context, o Owner, packageType, name, state string, page int, etag string) (VersionPage, error) {
	if state == "" {
		state = StateActive
	}
	base, err := packagePath(o, packageType, name)
	if err != nil {
		return VersionPage{}, fmt.Errorf("list versions of %s: %w", name, err)
	}
	q := url.Values{"state": {state}, "per_page": {strconv.Itoa(versionsPerPage)}, "page": {strconv.Itoa(page)}}
	req, err := c.gh.NewRequest(http.MethodGet, base+"/versions?"+q.Encode(), nil)
	if err != nil {
		return VersionPage{}, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	var body bytes.Buffer
	resp, err := c.gh.Do(ctx, req, &body)
	c.noteRate(resp)
	if etag != "" && resp != nil && resp.StatusCode == http.StatusNotModified {
		return VersionPage{ETag: etag, NotModified: true}, nil
	}
	if err != nil {
		return VersionPage{}, fmt.Errorf("list %s versions of %s package %s/%s, page %d: %w", state, packageType, o.Login, name, page, classify(c.now(), resp, err))
	}
	vs, err := decodeVersions(body.Bytes())
	if err != nil {
		return VersionPage{}, err
	}
	return VersionPage{Versions: vs, Next: resp.NextPage, ETag: resp.Header.Get("ETag")}, nil
}

// versionsPage fetches one page, conditionally when an ETag is stored.
func (c *PackagesClient) versionsPage(ctx context.Context, u string) ([]Version, int, bool, error) {
	// The key names the API too, so a bucket shared by a simulator run and
	// a GitHub run never mixes their pages.
	key := "GET " + c.gh.BaseURL.String() + u
	got, err := getConditional(ctx, c.gh, c.etags, c.logger, key, u)
	c.noteRate(got.resp)
	if err != nil {
		return nil, 0, false, classify(c.now(), got.resp, err)
	}
	vs, err := decodeVersions(got.body)
	if err != nil && got.notModified {
		return nil, 0, false, fmt.Errorf("stored page: %w", err)
	}
	if err != nil {
		return nil, 0, false, err
	}
	return vs, got.next, got.notModified, nil
}

func decodeVersions(b []byte) ([]Version, error) {
	var wire []wireVersion
	if err := json.Unmarshal(b, &wire); err != nil {
		return nil, fmt.Errorf("decode versions: %w", err)
	}
	out := make([]Version, len(wire))
	for i, w := range wire {
		out[i] = w.version()
	}
	return out, nil
}

// GetVersion gets one version.
//
// GET /orgs/{org}/packages/{package_type}/{package_name}/versions/{package_version_id} (and /users/{username}/…)
func (c *PackagesClient) GetVersion(ctx context.Context, o Owner, packageType, name string, id int64) (Version, error) {
	p, err := versionPath(o, packageType, name, id)
	if err != nil {
		return Version{}, fmt.Errorf("get version %d of %s: %w", id, name, err)
	}
	req, err := c.gh.NewRequest(http.MethodGet, p, nil)
	if err != nil {
		return Version{}, fmt.Errorf("get version %d of %s: %w", id, name, err)
	}
	var w wireVersion
	resp, err := c.gh.Do(ctx, req, &w)
	c.noteRate(resp)
	if err != nil {
		return Version{}, fmt.Errorf("get version %d of %s package %s/%s: %w", id, packageType, o.Login, name, classify(c.now(), resp, err))
	}
	return w.version(), nil
}

// DeleteVersion deletes one version. A 404 ("Package not found.") matches
// ErrNotFound: the version is gone already, by this request whose first
// answer was lost (the transport retried it), by someone else, or long
// ago while ghcr.io still lists it (its listings lag behind deletions).
// Which one only the caller can tell; none is a failure to delete. A
// refusal (5,000 downloads, last version) matches ErrRefused; a rate limit
// is a *RateLimitError.
//
// DELETE /orgs/{org}/packages/{package_type}/{package_name}/versions/{package_version_id} (and /users/{username}/…)
func (c *PackagesClient) DeleteVersion(ctx context.Context, o Owner, packageType, name string, id int64) error {
	p, err := versionPath(o, packageType, name, id)
	if err != nil {
		return fmt.Errorf("delete version %d of %s: %w", id, name, err)
	}
	err = refusedDelete(c.send(ctx, http.MethodDelete, p))
	if err != nil {
		return fmt.Errorf("delete version %d of %s package %s/%s: %w", id, packageType, o.Login, name, err)
	}
	return nil
}

// refusedDelete marks a 400 or 422 answer to a delete as a refusal: GitHub
// answers so to deleting the last version of a package, and asking again
// cannot help.
func refusedDelete(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusUnprocessableEntity) {
		apiErr.Refused = true
	}
	return err
}

// RestoreVersion restores a deleted version (within GitHub's 30 days).
//
// POST /orgs/{org}/packages/{package_type}/{package_name}/versions/{package_version_id}/restore (and /users/{username}/…)
func (c *PackagesClient) RestoreVersion(ctx context.Context, o Owner, packageType, name string, id int64) error {
	p, err := versionPath(o, packageType, name, id)
	if err != nil {
		return fmt.Errorf("restore version %d of %s: %w", id, name, err)
	}
	if err := c.send(ctx, http.MethodPost, p+"/restore"); err != nil {
		return fmt.Errorf("restore version %d of %s package %s/%s: %w", id, packageType, o.Login, name, err)
	}
	return nil
}

// DeletePackage deletes a whole package. A 404 returns nil, as for versions.
//
// DELETE /orgs/{org}/packages/{package_type}/{package_name} (and /users/{username}/…)
func (c *PackagesClient) DeletePackage(ctx context.Context, o Owner, packageType, name string) error {
	p, err := packagePath(o, packageType, name)
	if err != nil {
		return fmt.Errorf("delete package %s: %w", name, err)
	}
	err = c.send(ctx, http.MethodDelete, p)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s package %s/%s: %w", packageType, o.Login, name, err)
	}
	return nil
}

// RestorePackage restores a deleted package (within 30 days, while the
// name is not reused).
//
// POST /orgs/{org}/packages/{package_type}/{package_name}/restore (and /users/{username}/…)
func (c *PackagesClient) RestorePackage(ctx context.Context, o Owner, packageType, name string) error {
	p, err := packagePath(o, packageType, name)
	if err != nil {
		return fmt.Errorf("restore package %s: %w", name, err)
	}
	if err := c.send(ctx, http.MethodPost, p+"/restore"); err != nil {
		return fmt.Errorf("restore %s package %s/%s: %w", packageType, o.Login, name, err)
	}
	return nil
}

func (c *PackagesClient) send(ctx context.Context, method, path string) error {
	req, err := c.gh.NewRequest(method, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.gh.Do(ctx, req, nil)
	c.noteRate(resp)
	return classify(c.now(), resp, err)
}
