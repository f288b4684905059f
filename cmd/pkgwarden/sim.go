package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/faults"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
	"github.com/pkgwarden/pkgwarden/internal/scaleworld"
)

// simInfo is the JSON `pkgwarden sim --info-file` writes once it serves
// (DESIGN.md, "Commands and settings").
type simInfo struct {
	APIURL         string              `json:"api_url"`
	RegistryURL    string              `json:"registry_url"`
	AppID          int64               `json:"app_id"`
	PrivateKeyPath string              `json:"private_key_path"`
	WebhookSecret  string              `json:"webhook_secret"`
	Tokens         map[string]simToken `json:"tokens"`
	Demo           *demoworld.Info     `json:"demo,omitempty"`
	Scale          *scaleworld.Info    `json:"scale,omitempty"`
}

type simToken struct {
	Token  string   `json:"token"`
	Scopes []string `json:"scopes"`
}

// runSim is `pkgwarden sim`: the GitHub simulator. The REST API and the
// registry share one listener (the registry answers /v2/ and /token, paths
// the REST API does not use) unless --registry-listen gives the registry
// its own, like api.github.com and ghcr.io.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address of the REST API (and of the registry without --registry-listen)")
	regListen := fs.String("registry-listen", "", "address of the registry on a listener of its own (default: the API's listener)")
	seed := fs.String("seed", "", `world to start with: "" (empty), "demo", or "scale:PACKAGESxVERSIONS[:SEED]" (cmd/scalebench's organisation, seeded in bulk)`)
	infoFile := fs.String("info-file", "", "write the simulator's URLs, app credentials and tokens here as JSON once it serves (the app key goes next to it, mode 0600)")
	webhookURL := fs.String("webhook-url", "", "URL the simulated app's webhooks are sent to (none when empty)")
	webhookSecret := fs.String("webhook-secret", "", "secret webhooks are signed with (default: random)")
	appID := fs.Int64("app-id", 0, "id of the simulated GitHub App (default 1001)")
	allowInst := fs.Bool("allow-installation-tokens", false, "let installation tokens use the package endpoints and the registry (GitHub refuses them)")
	rateLimits := fs.String("rate-limits", "default", "REST API rate limits per token: default (GitHub's: primary=15000/1h,secondary=900/1m,secondary-status=403,concurrency=100), off, or a comma-separated list of those keys (N or off) and latency=DURATION")
	faultSpec := fs.String("faults", "off", "faults to inject: off, or a comma-separated list of error=RATE, drop=RATE, lost=RATE (0.05 or 5%), latency=DURATION, jitter=DURATION, seed=N, scope=all|mutating, path=PREFIX (repeatable) and registry")
	staleListing := fs.Duration("stale-listing", 0, "keep a deleted version listed as active for this long, answering 404 to its deletion meanwhile, as ghcr.io's listings lag behind its deletions (0: listings are always consistent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: sim takes no arguments, got %q", errUsage, fs.Args())
	}
	limits, err := ratelimit.Parse(*rateLimits)
	if err != nil {
		return fmt.Errorf("--rate-limits: %w", err)
	}
	faultCfg, err := faults.Parse(*faultSpec)
	if err != nil {
		return fmt.Errorf("--faults: %w", err)
	}
	if *staleListing < 0 {
		return fmt.Errorf("--stale-listing %s: want a duration of 0 or more", *staleListing)
	}
	scale, isScale, err := scaleworld.ParseSeedName(*seed)
	if err != nil {
		return fmt.Errorf("--seed: %w", err)
	}
	if *seed != "" && *seed != "demo" && !isScale {
		return fmt.Errorf("unknown --seed %q (want demo or scale:PACKAGESxVERSIONS[:SEED])", *seed)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	apiL, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	defer apiL.Close()
	regL := apiL
	if *regListen != "" {
		regL, err = net.Listen("tcp", *regListen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", *regListen, err)
		}
		defer regL.Close()
	}
	apiURL := "http://" + simURLHost(apiL.Addr()) + "/"
	regURL := "http://" + simURLHost(regL.Addr())

	sim, err := ghsim.New(ghsim.Options{
		APIURL: apiURL, RegistryURL: regURL, AppID: *appID,
		WebhookURL: *webhookURL, WebhookSecret: *webhookSecret,
		AllowInstallationTokensOnPackages: *allowInst, Logger: log,
		RateLimits: limits, Faults: faultCfg, StaleListing: *staleListing,
	})
	if err != nil {
		return err
	}
	defer sim.Close()

	info := simInfo{APIURL: apiURL, RegistryURL: regURL, AppID: sim.AppID(),
		WebhookSecret: sim.WebhookSecret(), Tokens: map[string]simToken{}}
	if *seed == "demo" {
		demo, err := demoworld.Seed(ctx, sim)
		if err != nil {
			return err
		}
		info.Demo = &demo
		info.Tokens[demo.Admin] = simToken{Token: demo.Token, Scopes: demo.TokenScopes}
	}
	if isScale {
		start := time.Now()
		sc, err := scaleworld.Seed(ctx, sim, scale)
		if err != nil {
			return err
		}
		info.Scale = &sc
		info.Tokens[sc.Admin] = simToken{Token: sc.Token, Scopes: sc.TokenScopes}
		log.Info("ghsim seeded", "seed", *seed, "packages", sc.Packages, "versions", sc.Versions, "took", time.Since(start).Round(time.Millisecond).String())
	}

	var servers []*http.Server
	if regL == apiL {
		mux := http.NewServeMux()
		mux.Handle("/v2/", sim.RegistryHandler())
		mux.Handle("/v2", sim.RegistryHandler())
		mux.Handle("/token", sim.RegistryHandler())
		mux.Handle("/", sim.APIHandler())
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
	} else {
		servers = append(servers,
			&http.Server{Handler: sim.APIHandler(), ReadHeaderTimeout: 10 * time.Second},
			&http.Server{Handler: sim.RegistryHandler(), ReadHeaderTimeout: 10 * time.Second})
	}
	errs := make(chan error, len(servers))
	for i, srv := range servers {
		l := apiL
		if i == 1 {
			l = regL
		}
		go func() { errs <- srv.Serve(l) }()
	}

	if *infoFile != "" {
		if err := writeSimInfo(*infoFile, sim, info); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "ghsim serving: api %s registry %s\n", apiURL, regURL)
	log.Info("ghsim serving", "api", apiURL, "registry", regURL, "seed", *seed, "webhook_url", *webhookURL, "rate_limits", sim.RateLimits().String(), "faults", sim.Faults().String(), "stale_listing", sim.StaleListing())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shut)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// simURLHost is addr as a URL host, with an unspecified address (":8090",
// "0.0.0.0") replaced by the loopback address clients can dial.
func simURLHost(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// writeSimInfo writes the app key (PEM, 0600) next to path, then the info
// JSON (0600: it holds tokens) atomically, so a reader polling for the
// file never sees half of it.
func writeSimInfo(path string, sim *ghsim.Sim, info simInfo) error {
	dir := filepath.Dir(path)
	keyPath := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".app-key.pem")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sim.AppKey())})
	if err := simWriteFileAtomic(keyPath, keyPEM); err != nil {
		return fmt.Errorf("write app key: %w", err)
	}
	abs, err := filepath.Abs(keyPath)
	if err != nil {
		return fmt.Errorf("app key path: %w", err)
	}
	info.PrivateKeyPath = abs
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode info: %w", err)
	}
	if err := simWriteFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write info file: %w", err)
	}
	return nil
}

func simWriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
