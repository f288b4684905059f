package githubapi

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v57/github"
)

// AppConfig configures NewApp.
type AppConfig struct {
	AppID int64
	// PrivateKey is the App's PEM-encoded RSA private key.
	PrivateKey []byte
	// BaseURL of the REST API; empty means https://api.github.com/. Any URL
	// works: GitHub Enterprise Server's ".../api/v3/" or a simulator's
	// "http://127.0.0.1:port/".
	BaseURL string
	// Transport sends the requests (token exchanges included); nil means
	// NewTransport(nil, RetryPolicy{}, nil). Share one across installations
	// so connections are reused.
	Transport http.RoundTripper
}

// App authenticates as the GitHub App: with a JWT for /app endpoints and
// with installation tokens (refreshed before they expire) for everything an
// installation may do. It is safe for concurrent use.
type App struct {
	appID   int64
	key     *rsa.PrivateKey
	baseURL string // with trailing slash
	tr      http.RoundTripper

	mu       sync.Mutex
	installs map[int64]*installation
}

type installation struct {
	tr     *ghinstallation.Transport
	client *github.Client
}

// NewApp parses the private key and returns the App.
func NewApp(cfg AppConfig) (*App, error) {
	if cfg.AppID <= 0 {
		return nil, fmt.Errorf("github app: app id %d is not valid", cfg.AppID)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		// The parse error never quotes the key material.
		return nil, fmt.Errorf("github app %d: parse private key: %w", cfg.AppID, err)
	}
	u, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("github app %d: %w", cfg.AppID, err)
	}
	tr := cfg.Transport
	if tr == nil {
		tr = NewTransport(nil, RetryPolicy{}, nil)
	}
	return &App{appID: cfg.AppID, key: key, baseURL: u.String(), tr: tr, installs: map[int64]*installation{}}, nil
}

// ID returns the App id.
func (a *App) ID() int64 { return a.appID }

// appsTransport builds a fresh JWT transport. ghinstallation's installation
// transport writes its BaseURL into the AppsTransport on every refresh, so
// installations must not share one.
func (a *App) appsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(a.tr, a.appID, a.key)
	// ghinstallation joins BaseURL and "/app/…" itself.
	atr.BaseURL = strings.TrimRight(a.baseURL, "/")
	return atr
}

// AppClient returns a client authenticated with the App's JWT, for the
// /app endpoints (installations, hook deliveries, manifest conversion).
func (a *App) AppClient() *github.Client {
	gh, _ := NewGitHubClient(&http.Client{Transport: a.appsTransport()}, a.baseURL) // URL validated in NewApp
	return gh
}

func (a *App) installation(id int64) *installation {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.installs[id]; ok {
		return in
	}
	itr := ghinstallation.NewFromAppsTransport(a.appsTransport(), id)
	itr.BaseURL = strings.TrimRight(a.baseURL, "/")
	gh, _ := NewGitHubClient(&http.Client{Transport: itr}, a.baseURL)
	in := &installation{tr: itr, client: gh}
	a.installs[id] = in
	return in
}

// InstallationClient returns a client authenticated as installation id.
// Clients are kept per installation so their tokens are reused until they
// near expiry.
func (a *App) InstallationClient(installationID int64) *github.Client {
	return a.installation(installationID).client
}

// InstallationToken returns a valid installation token, for the few places
// that need the raw token (git over HTTPS). Never log it.
func (a *App) InstallationToken(ctx context.Context, installationID int64) (string, error) {
	tok, err := a.installation(installationID).tr.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("installation %d token: %w", installationID, err)
	}
	return tok, nil
}

// String describes the config without the private key, should it be printed.
func (c AppConfig) String() string {
	return fmt.Sprintf("github app %d at %s (private key set %t)", c.AppID, c.BaseURL, len(c.PrivateKey) > 0)
}

// GoString keeps %#v from printing the private key.
func (c AppConfig) GoString() string { return c.String() }
