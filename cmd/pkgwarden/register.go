package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// embeddedManifest is a copy of the top-level app-manifest.yml (go:embed
// cannot reach a parent directory); TestEmbeddedManifestIsTopLevel keeps the
// two equal, and `go generate` refreshes the copy.
//
//go:generate cp ../../app-manifest.yml app-manifest.yml
//go:embed app-manifest.yml
var embeddedManifest []byte

const defaultManifestPath = "app-manifest.yml"

// runRegister is `pkgwarden register`: it serves a page that creates the
// GitHub App from app-manifest.yml (GitHub's manifest flow) and, on GitHub's
// callback, writes the App's id, slug, key and webhook secret into the data
// dir that `serve` reads. It exits after one registration unless
// --keep-running.
func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address of the registration page (open it in a browser)")
	publicURL := fs.String("public-url", "", "public URL of pkgwarden serve, where GitHub will send webhooks (its /webhooks): a URL GitHub can reach, or a relay's (README: \"Receiving webhooks on a laptop\"); required unless --local")
	webhookURL := fs.String("webhook-url", "", "the App's webhook URL as is, when it is not <public-url>/webhooks: a relay's channel (README: \"Receiving webhooks on a laptop\"); alone, the App's pages point at serve on this machine (http://localhost:8080)")
	local := fs.Bool("local", false, "without --public-url: point the App's webhooks at this page's own address (http://<listen>), which GitHub cannot reach; for trying register itself")
	org := fs.String("org", "", "register the App for this organisation (default: for your user account)")
	githubURL := fs.String("github-url", envOr(os.Getenv, settings.Prefix+"_GITHUB_URL", "https://github.com"), "GitHub's web URL (Enterprise Server: its origin) [PKGWARDEN_GITHUB_URL]")
	apiURL := fs.String("api-url", envOr(os.Getenv, settings.Prefix+"_GITHUB_API_URL", ""), "GitHub's REST API URL [PKGWARDEN_GITHUB_API_URL] (default https://api.github.com/, or <github-url>/api/v3/ for Enterprise Server)")
	dataDir := fs.String("data-dir", envOr(os.Getenv, settings.Prefix+"_DATA_DIR", "./data"), "where the App's files are written, as serve reads them [PKGWARDEN_DATA_DIR]")
	manifestPath := fs.String("manifest", defaultManifestPath, "the App manifest (YAML); when the default is absent, the copy built into pkgwarden")
	force := fs.Bool("force", false, "replace credentials already in the data dir")
	keepRunning := fs.Bool("keep-running", false, "keep serving the page after a registration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("register: unexpected arguments %q: %w", fs.Args(), errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	manifest, err := loadManifest(*manifestPath, fs, stderr)
	if err != nil {
		return err
	}
	existing, err := handlers.ExistingCredentials(*dataDir)
	if err != nil {
		return err
	}
	if len(existing) > 0 && !*force {
		return fmt.Errorf("register: %s already holds the credentials %s; move them away or pass --force to replace them", *dataDir, strings.Join(existing, ", "))
	}
	if *apiURL == "" {
		*apiURL = defaultAPIURL(*githubURL)
	}
	api, err := url.Parse(strings.TrimSuffix(*apiURL, "/") + "/")
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return fmt.Errorf("register: --api-url %q is not an absolute http(s) URL", *apiURL)
	}
	switch {
	case *publicURL == "" && *webhookURL == "" && !*local:
		return fmt.Errorf("register: --public-url is required: it is where GitHub will send the App's webhooks (its /webhooks), so it must be a URL GitHub can reach, such as https://pkgwarden.example.org (or give a relay's channel as --webhook-url: README.md, \"%s\"); pass --local instead to try register with this page's own address, which receives no webhooks: %w", relaySection, errUsage)
	case (*publicURL != "" || *webhookURL != "") && *local:
		return fmt.Errorf("register: --local excludes --public-url and --webhook-url: it points the webhooks at this page's own address: %w", errUsage)
	}
	for _, f := range []struct{ name, val string }{{"public-url", *publicURL}, {"webhook-url", *webhookURL}} {
		if u, err := url.Parse(f.val); f.val != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return fmt.Errorf("register: --%s %q is not an absolute http(s) URL", f.name, f.val)
		}
	}
	if *publicURL == "" && *webhookURL != "" {
		// A relay carries webhooks only: the App's pages (/setup) are
		// opened by a browser, on this machine, where serve listens.
		*publicURL = "http://localhost:8080"
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("register: listen %s: %w", *listen, err)
	}
	defer ln.Close()
	pageURL := "http://" + simURLHost(ln.Addr())
	serveListen := ""
	if *local {
		*publicURL = pageURL
		// serve then listens where the App's webhooks go, should any
		// ever arrive (a GitHub Enterprise Server on the same network).
		serveListen = ln.Addr().String()
	}

	gh := github.NewClient(&http.Client{Timeout: 30 * time.Second})
	gh.BaseURL = api
	done := make(chan handlers.Registration, 1)
	reg, err := handlers.NewRegister(handlers.RegisterConfig{
		Manifest:    manifest,
		PublicURL:   *publicURL,
		WebhookURL:  *webhookURL,
		GitHubURL:   *githubURL,
		APIURL:      api.String(),
		Org:         *org,
		Converter:   gh.Apps,
		DataDir:     *dataDir,
		Force:       *force,
		ServeListen: serveListen,
		Logger:      log,
		OnRegistered: func(r handlers.Registration) {
			select {
			case done <- r:
			default:
			}
		},
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	account := "your user account"
	if *org != "" {
		account = "the organisation " + *org
	}
	fmt.Fprintf(stdout, "Open %s/ in a browser to create the GitHub App for %s on %s.\n", pageURL, account, *githubURL)
	hookURL := *webhookURL
	if hookURL == "" {
		hookURL = strings.TrimSuffix(*publicURL, "/") + "/webhooks"
	}
	fmt.Fprintf(stdout, "Webhooks will go to %s; the App's files will be written into %s.\n", hookURL, *dataDir)
	if *local {
		fmt.Fprintf(stdout, "--local: GitHub cannot reach %s, so no webhook will arrive: pkgwarden will not react to pushes, packages or comments, only run its sweep (hourly by default). To receive webhooks on this machine, use a relay (README.md, %q) and run register again with --webhook-url set to the relay's channel.\n", pageURL, relaySection)
	}
	log.Info("register: serving", "url", pageURL, "github_url", *githubURL, "api_url", api.String(), "org", *org, "data_dir", *dataDir)

	shutdown := func() error {
		// Browsers open spare connections that never send a request, and
		// Shutdown leaves those for 5 s: after a short grace for answers
		// in flight, close whatever is left.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			return srv.Close()
		} else if err != nil {
			return fmt.Errorf("register: stop serving: %w", err)
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return shutdown()
		case err := <-serveErr:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("register: serve %s: %w", pageURL, err)
		case r := <-done:
			fmt.Fprintf(stdout, "Registered GitHub App %s (id %d); wrote %s.\n", r.Slug, r.AppID, strings.Join(r.Files, ", "))
			fmt.Fprintf(stdout, "Next:\n  1. install it: %s\n  2. create the packages token (classic; scopes %s): %s\n     and save it: %s\n  3. start pkgwarden: %s\n",
				r.InstallURL, tokenScopeNames(), r.TokenURL, handlers.TokenFileCommand(*dataDir, ownerOr(r.Owner, "OWNER")), r.ServeCommand)
			if *keepRunning {
				continue
			}
			// Shutdown waits for the callback's answer to be sent.
			return shutdown()
		}
	}
}

// relaySection is the README's section on receiving webhooks without a
// public address.
const relaySection = "Receiving webhooks on a laptop"

// tokenScopeNames lists the packages token's scopes.
func tokenScopeNames() string {
	names := make([]string, len(handlers.TokenScopes))
	for i, s := range handlers.TokenScopes {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func ownerOr(owner, placeholder string) string {
	if owner == "" {
		return placeholder
	}
	return owner
}

// defaultAPIURL is the REST API beside a GitHub web URL: api.github.com
// for github.com, /api/v3/ on the same origin for Enterprise Server.
func defaultAPIURL(githubURL string) string {
	u, err := url.Parse(githubURL)
	if err != nil || strings.EqualFold(u.Host, "github.com") || strings.EqualFold(u.Host, "www.github.com") {
		return "https://api.github.com/"
	}
	return strings.TrimSuffix(githubURL, "/") + "/api/v3/"
}

// loadManifest reads the manifest file; the default path falls back to the
// embedded copy so the binary works from any directory, while a path the
// person named must exist.
func loadManifest(path string, fs *flag.FlagSet, stderr io.Writer) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return b, nil
	}
	named := false
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "manifest" })
	if errors.Is(err, os.ErrNotExist) && !named {
		fmt.Fprintf(stderr, "register: no %s here; using the manifest built into pkgwarden\n", path)
		return embeddedManifest, nil
	}
	return nil, fmt.Errorf("register: read manifest %s: %w", path, err)
}
