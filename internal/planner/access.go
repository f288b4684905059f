package planner

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/registry"
)

// Access is pkgwarden's way to GitHub, built once per process: the App,
// the owners' packages tokens, where GitHub and its registry are and how
// to reach them, the owner cache and the clock. Every job handler and the
// scheduler take the same *Access and ask it for a Session per owner.
//
// Its fields are set before first use and not changed afterwards; an
// Access is safe for concurrent use.
type Access struct {
	// App is the installation identity: configuration files, issues,
	// installations, hook deliveries.
	App *githubapi.App
	// Tokens are the owners' packages tokens. An owner without one gets
	// no session (ErrNoPackagesToken), never another owner's token.
	Tokens *githubapi.PackagesTokens
	// APIURL and RegistryURL say where GitHub and its registry are; empty
	// means api.github.com and ghcr.io.
	APIURL, RegistryURL string
	// PackagesTransport carries the requests made with a packages token
	// (the paced one in serve). It must retry idempotent requests itself
	// (wrap it in githubapi.NewTransport). nil means githubapi's retrying
	// transport, made once per Access.
	PackagesTransport http.RoundTripper
	// RegistryTransport carries registry requests; nil means
	// go-containerregistry's.
	RegistryTransport http.RoundTripper
	// Cache keeps manifests by digest, ETags make listings conditional;
	// both optional (KV buckets in serve).
	Cache registry.Cache
	ETags githubapi.ETagStore
	// Owners keeps owner lookups (organisation or user) across sessions;
	// nil means one made on first use, kept an hour.
	Owners *githubapi.OwnerCache
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger, when set, gets the packages clients' warnings (an owner
	// lookup that failed, a broken ETag store); nil drops them.
	Logger *slog.Logger

	once      sync.Once
	packages  http.RoundTripper // PackagesTransport or the default
	ownerKeep *githubapi.OwnerCache
}

// ErrNoPackagesToken is githubapi's: Session's error, wrapped and naming
// the owner, when the owner has no packages token.
var ErrNoPackagesToken = githubapi.ErrNoPackagesToken

// Session is what one owner's work goes through: the owner's packages
// token and the clients built on it.
type Session struct {
	Token githubapi.Token
	// Packages and Registry as in Clients.
	Clients
	// Tagger gives tags back to restored versions.
	Tagger *registry.Tagger
}

// Clock is a's clock: Now, or time.Now when that is nil.
func (a *Access) Clock() func() time.Time {
	if a.Now == nil {
		return time.Now
	}
	return a.Now
}

func (a *Access) init() {
	a.once.Do(func() {
		a.packages = a.PackagesTransport
		if a.packages == nil {
			a.packages = githubapi.NewTransport(nil, githubapi.RetryPolicy{}, nil)
		}
		a.ownerKeep = a.Owners
		if a.ownerKeep == nil {
			a.ownerKeep = githubapi.NewOwnerCache(0, a.Clock())
		}
	})
}

// Check says what a is missing: the App and the tokens (an empty set of
// tokens is fine, nil is not).
func (a *Access) Check() error {
	switch {
	case a == nil:
		return errors.New("no GitHub access")
	case a.App == nil:
		return errors.New("no GitHub App")
	case a.Tokens == nil:
		return errors.New("no packages tokens (an empty set is fine, nil is not)")
	}
	return nil
}

// Contents reads configuration files as the App's installation: through
// a.ETags when set, conditionally, with a missing file remembered a while
// (githubapi.ContentsSource.Cached), so that the jobs of a sweep do not
// each spend a request of the primary limit on the same files.
func (a *Access) Contents(installation int64) *githubapi.ContentsSource {
	src := githubapi.NewContentsSource(a.App.InstallationClient(installation), a.Clock())
	if a.ETags == nil {
		return src
	}
	return src.Cached(a.ETags, installation, 0, a.Logger)
}

// SharedOwners is the owner cache every session of a shares.
func (a *Access) SharedOwners() *githubapi.OwnerCache {
	a.init()
	return a.ownerKeep
}

// Session is owner's session. An owner without a packages token is the
// tokens' error, which wraps ErrNoPackagesToken; other errors are the
// clients'.
func (a *Access) Session(owner string) (Session, error) {
	tok, err := a.Tokens.Token(owner)
	if err != nil {
		return Session{}, err
	}
	return a.SessionWithToken(tok)
}

// SessionWithToken is the session of a token obtained elsewhere
// (GITHUB_TOKEN in `plan`, the simulator's info file): a needs no App and
// no Tokens for it.
func (a *Access) SessionWithToken(tok githubapi.Token) (Session, error) {
	a.init()
	pc, err := githubapi.NewPackagesClient(tok, githubapi.PackagesClientOptions{
		BaseURL: a.APIURL, Transport: a.packages, ETags: a.ETags, Owners: a.ownerKeep, Now: a.Clock(), Logger: a.Logger,
	})
	if err != nil {
		return Session{}, fmt.Errorf("packages client for %s: %w", tok.Owner(), err)
	}
	regURL := a.RegistryURL
	if regURL == "" {
		regURL = DefaultRegistryURL
	}
	// ghcr.io takes any user name with a classic token; the simulator too.
	opts := registry.Options{Username: "pkgwarden", Token: tok.Secret(), Transport: a.RegistryTransport}
	tagger, err := registry.NewTagger(regURL, opts)
	if err != nil {
		return Session{}, fmt.Errorf("registry tagger for %s: %w", tok.Owner(), err)
	}
	opts.Cache = a.Cache
	rr, err := registry.NewReader(regURL, opts)
	if err != nil {
		return Session{}, fmt.Errorf("registry reader for %s: %w", tok.Owner(), err)
	}
	return Session{Token: tok, Clients: Clients{Packages: pc, Registry: rr}, Tagger: tagger}, nil
}
