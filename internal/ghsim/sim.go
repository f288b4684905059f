package ghsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/faults"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
)

// Options configure a simulator. The zero value is usable: it makes its own
// app key and webhook secret, and sends no webhooks until WebhookURL is set.
type Options struct {
	// APIURL and RegistryURL are the public base URLs the simulator writes
	// into responses ("url", "html_url", Link headers). Set them once the
	// listeners are known; they default to http://api.ghsim.test/ and
	// http://registry.ghsim.test.
	APIURL      string
	RegistryURL string
	// AppID and AppKey identify the one GitHub App the simulator hosts.
	AppID  int64
	AppKey *rsa.PrivateKey
	// WebhookURL receives the app's webhooks; WebhookSecret signs them.
	WebhookURL    string
	WebhookSecret string
	// AllowInstallationTokensOnPackages lets installation tokens use the
	// package endpoints and the registry, for the day GitHub allows it.
	AllowInstallationTokensOnPackages bool
	// RestoreWithoutTags makes a restored version come back by digest with
	// no tags at all, instead of with the tags no active version holds
	// now. GitHub's docs do not say that a restored container version gets
	// its tags back; this switch models the case where it does not (see
	// also Sim.SetRestoreWithoutTags).
	RestoreWithoutTags bool
	// StaleListing keeps a deleted version listed as active (with its
	// tags) for this long after its deletion, as ghcr.io's listings lag
	// behind its deletions; deleting it again meanwhile answers 404
	// "Package not found.". Zero: listings are always consistent (see
	// also Sim.SetStaleListing).
	StaleListing time.Duration
	// RateLimits are the REST API's rate limits; the zero value is
	// GitHub's documented figures (see RateLimits).
	RateLimits RateLimits
	// Faults are the faults injected from the start (see Faults); the
	// zero value injects none.
	Faults Faults
	// HTTPClient sends webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Sim is the simulated GitHub: the entry point that builds the shared
// world, the parts that serve it, and the middleware in front of them.
type Sim struct {
	*world

	api      *http.ServeMux
	registry http.Handler
	// web serves the issue pages at their html_url (issues_html.go).
	web *http.ServeMux
	// limits counts requests against the rate limits (its own lock).
	limits *ratelimit.Limiter
	// faults injects errors, drops and latency (its own lock).
	faults *faults.Injector
	// routes counts requests by route (routes.go; its own lock).
	routes *routeCounter
}

// New builds a simulator with an empty world.
func New(opts Options) (*Sim, error) {
	if opts.APIURL == "" {
		opts.APIURL = "http://api.ghsim.test/"
	}
	if !strings.HasSuffix(opts.APIURL, "/") {
		opts.APIURL += "/"
	}
	if opts.RegistryURL == "" {
		opts.RegistryURL = "http://registry.ghsim.test"
	}
	opts.RegistryURL = strings.TrimSuffix(opts.RegistryURL, "/")
	if opts.AppID == 0 {
		opts.AppID = 1001
	}
	if opts.AppKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("ghsim: generate app key: %w", err)
		}
		opts.AppKey = k
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = randomHex(20)
	}
	if err := opts.RateLimits.Validate(); err != nil {
		return nil, fmt.Errorf("ghsim: rate limits: %w", err)
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("ghsim: faults: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	w := &world{
		opts:   opts,
		log:    opts.Logger,
		client: opts.HTTPClient,
		st:     newState(),
	}
	w.pk.restoreWithoutTags = opts.RestoreWithoutTags
	w.pk.staleListing = opts.StaleListing
	s := &Sim{
		world:    w,
		api:      http.NewServeMux(),
		registry: newRegistryAPI(w),
		limits:   ratelimit.New(opts.RateLimits, rateCaller),
		faults:   faults.New(opts.Faults),
		routes:   newRouteCounter(),
	}
	for _, p := range []part{
		&packagesAPI{w},
		&appAPI{w},
		&reposAPI{w},
		&issuesAPI{w},
		&pullsAPI{w},
		&checksAPI{w},
		&adminAPI{world: w, faults: s.faults, limits: s.limits},
	} {
		p.register(s.api)
	}
	s.registerRouteAdmin(s.api)
	s.web = http.NewServeMux()
	newIssuesWeb(w).register(s.web)
	return s, nil
}

// part is one area of the REST API over the shared world, registering its
// routes on the simulator's mux (the registry, on a host of its own, is an
// http.Handler instead).
type part interface {
	register(mux *http.ServeMux)
}

// Close stops the webhook sender after the deliveries already enqueued.
func (s *Sim) Close() {
	s.mu.Lock()
	out := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	if out != nil {
		close(out)
	}
	_ = s.WaitDeliveries(context.Background())
}

// APIHandler serves the REST API and /_admin/. Faults come first, then
// rate limits (a request failed before handling counts against no limit);
// /_admin/ is neither faulted nor counted, /_raw/ (not GitHub's API) only
// faulted. The web pages (an issue's html_url) answer what no API route
// does, neither faulted nor counted.
func (s *Sim) APIHandler() http.Handler {
	api := withAPIVersion(s.api)
	rest := s.routes.wrap(s.apiRoute, s.faults.Wrap(withAPIVersion(s.limits.Wrap(s.api))))
	raw := s.faults.Wrap(api)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/_admin/"):
			api.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/_raw/"):
			raw.ServeHTTP(w, r)
		case s.webPage(r):
			s.web.ServeHTTP(w, r)
		default:
			rest.ServeHTTP(w, r)
		}
	})
}

// webPage says whether r asks for a web page rather than the API.
func (s *Sim) webPage(r *http.Request) bool {
	if _, api := s.api.Handler(r); api != "" {
		return false
	}
	_, page := s.web.Handler(r)
	return page != ""
}

// withAPIVersion names the REST API version answered, as GitHub does.
func withAPIVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		next.ServeHTTP(w, r)
	})
}

// RegistryHandler serves the OCI registry (/v2/ and /token), faulted only
// when Faults.Registry says so.
func (s *Sim) RegistryHandler() http.Handler {
	return s.routes.wrap(registryRoute, s.faults.WrapRegistry(s.registry))
}
