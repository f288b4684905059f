package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// The registration pages of `pkgwarden register`: GitHub's app-manifest flow
// ("Registering a GitHub App from a manifest"). The index page posts the
// manifest to GitHub's app-creation form; GitHub sends the browser back to
// /register/callback with a one-time code, which is exchanged for the new
// App's id, key and webhook secret, written into the data dir that `serve`
// reads.

// ManifestPlaceholder is the origin app-manifest.yml uses for pkgwarden's
// public URL; ManifestJSON replaces it.
const ManifestPlaceholder = "https://pkgwarden.example.com"

// RegisterCallbackPath is where GitHub sends the browser after the App is
// created (the manifest's redirect_url).
const RegisterCallbackPath = "/register/callback"

// ManifestJSON turns app-manifest.yml into the JSON GitHub's form takes,
// with ManifestPlaceholder replaced by publicURL in every URL, and
// redirect_url pointing at callbackURL: the browser follows the redirect,
// so it must reach the register page, which need not be where GitHub sends
// webhooks.
func ManifestJSON(manifestYAML []byte, publicURL, callbackURL string) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(manifestYAML, &m); err != nil {
		return nil, fmt.Errorf("app manifest: %w", err)
	}
	if m == nil {
		return nil, errors.New("app manifest: empty")
	}
	if name, _ := m["name"].(string); strings.TrimSpace(name) == "" {
		return nil, errors.New("app manifest: name is missing")
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if u, _ := hook["url"].(string); u == "" {
		return nil, errors.New("app manifest: hook_attributes.url is missing")
	}
	public := strings.TrimSuffix(publicURL, "/")
	out := rewriteURLs(m, public).(map[string]any)
	out["redirect_url"] = callbackURL
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("app manifest: encode JSON: %w", err)
	}
	return b, nil
}

// rewriteURLs replaces the placeholder origin in every string of v.
func rewriteURLs(v any, public string) any {
	switch x := v.(type) {
	case string:
		if x == ManifestPlaceholder || strings.HasPrefix(x, ManifestPlaceholder+"/") {
			return public + strings.TrimPrefix(x, ManifestPlaceholder)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = rewriteURLs(e, public)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rewriteURLs(e, public)
		}
		return out
	}
	return v
}

// ManifestConverter exchanges a manifest code for the new App's
// configuration; *github.AppsService is one (POST
// /app-manifests/{code}/conversions).
type ManifestConverter interface {
	CompleteAppManifest(ctx context.Context, code string) (*github.AppConfig, *github.Response, error)
}

// RegisterConfig configures the registration pages.
type RegisterConfig struct {
	// Manifest is app-manifest.yml as YAML.
	Manifest []byte
	// PublicURL is where GitHub will send webhooks (pkgwarden serve);
	// empty: the origin the browser used to reach the register page.
	PublicURL string
	// WebhookURL, when set, is the App's webhook URL as is (a relay's
	// channel, which takes no path of ours); empty: PublicURL/webhooks.
	WebhookURL string
	// GitHubURL is the web UI ("https://github.com", or an Enterprise
	// Server's origin); APIURL is only named in error messages.
	GitHubURL string
	APIURL    string
	// Org registers the App for this organisation; empty: for the user.
	Org       string
	Converter ManifestConverter
	// DataDir receives app_id, app_slug, private-key.pem, webhook_secret.
	DataDir string
	// Force replaces credentials already in DataDir.
	Force bool
	// ServeListen, when set, is the PKGWARDEN_LISTEN the serve command
	// on the callback page sets, so that serve listens where the App's
	// webhooks go (register --local); empty: serve's default.
	ServeListen string
	Logger      *slog.Logger
	// OnRegistered, when set, is called once the files are written.
	OnRegistered func(Registration)
}

// Registration is what a successful callback created and wrote.
type Registration struct {
	AppID   int64
	Slug    string
	Name    string
	HTMLURL string
	// InstallURL is where the App is installed on an account.
	InstallURL string
	// Files are the paths written, in the order written.
	Files []string
	// Owner is the account the App belongs to: the one whose packages
	// token is asked for.
	Owner string
	// ServeCommand is the shell line that starts serve with this App on
	// the URLs in use; TokenURL opens GitHub's form for the packages
	// token with TokenScopes ticked.
	ServeCommand string
	TokenURL     string
}

// Register serves the index page (GET /) and the callback.
type Register struct {
	cfg   RegisterConfig
	state string
	log   *slog.Logger
	mux   *http.ServeMux
}

// Names of the files a registration writes: those internal/settings reads.
const (
	regAppIDFile         = settings.AppIDFile
	regAppSlugFile       = settings.AppSlugFile
	regPrivateKeyFile    = settings.PrivateKeyFile
	regWebhookSecretFile = settings.WebhookSecretFile
)

// NewRegister checks the manifest and makes the pages with a fresh random
// state value, which the callback must bring back (the flow's CSRF check).
func NewRegister(cfg RegisterConfig) (*Register, error) {
	if cfg.Converter == nil {
		return nil, errors.New("register: no manifest converter")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("register: no data dir")
	}
	gh, err := url.Parse(cfg.GitHubURL)
	if err != nil || (gh.Scheme != "http" && gh.Scheme != "https") || gh.Host == "" {
		return nil, fmt.Errorf("register: GitHub URL %q is not an absolute http(s) URL", cfg.GitHubURL)
	}
	if _, err := ManifestJSON(cfg.Manifest, "http://localhost", "http://localhost"+RegisterCallbackPath); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("register: state: %w", err)
	}
	r := &Register{cfg: cfg, state: hex.EncodeToString(b), log: cfg.Logger, mux: http.NewServeMux()}
	r.mux.HandleFunc("GET /{$}", r.index)
	r.mux.HandleFunc("GET "+RegisterCallbackPath, r.callback)
	return r, nil
}

func (rg *Register) ServeHTTP(w http.ResponseWriter, r *http.Request) { rg.mux.ServeHTTP(w, r) }

// CreateURL is GitHub's app-creation form for the account, with state.
func (rg *Register) CreateURL() string {
	base := strings.TrimSuffix(rg.cfg.GitHubURL, "/")
	path := "/settings/apps/new"
	if rg.cfg.Org != "" {
		path = "/organizations/" + url.PathEscape(rg.cfg.Org) + "/settings/apps/new"
	}
	return base + path + "?state=" + url.QueryEscape(rg.state)
}

// ExistingCredentials lists the credential files already in the data dir.
func ExistingCredentials(dataDir string) ([]string, error) {
	var found []string
	for _, name := range []string{regAppIDFile, regAppSlugFile, regPrivateKeyFile, regWebhookSecretFile} {
		p := filepath.Join(dataDir, name)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			found = append(found, p)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("register: check %s: %w", p, err)
		}
	}
	return found, nil
}

// origin is the scheme and host the browser used to reach us.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var registerTmpl = template.Must(template.New("register").Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}}</title>
<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}code{background:#eee;padding:0 .2em}</style>
</head><body>{{end}}
{{define "index"}}{{template "head" "Register pkgwarden"}}
<h1>Register pkgwarden as a GitHub App</h1>
<p>This creates a GitHub App {{if .Org}}owned by the organisation <b>{{.Org}}</b>{{else}}owned by your user account{{end}}
on <code>{{.GitHubURL}}</code> from pkgwarden's manifest. GitHub shows what it will create and lets you change the name
(App names are global). Webhooks will go to <code>{{.HookURL}}</code>.</p>
{{if .Existing}}<p id="warning"><b>The data dir already holds credentials</b> ({{range .Existing}}<code>{{.}}</code> {{end}}):
they will be replaced, as you asked with --force.</p>{{end}}
<form id="register" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit" id="submit">Create the GitHub App on GitHub</button>
</form>
<details><summary>Manifest</summary><pre>{{.Pretty}}</pre></details>
</body></html>{{end}}
{{define "done"}}{{template "head" "pkgwarden registered"}}
<h1 id="done">Registered GitHub App {{.Name}}</h1>
<p>App id <code>{{.AppID}}</code>, slug <code>{{.Slug}}</code>. Written into <code>{{.DataDir}}</code>:</p>
<ul>{{range .Files}}<li><code>{{.}}</code></li>{{end}}</ul>
<p>The private key and webhook secret are readable by you only (mode 0600); they are not shown here.</p>
<h2>Next steps</h2>
<ol>
<li>Install the App on the accounts whose packages it should look after: <a id="install" href="{{.InstallURL}}">{{.InstallURL}}</a></li>
<li>Create the packages token{{if .Owner}} for <b>{{.Owner}}</b>{{end}}: a classic personal access token, made by an admin of the packages
(GitHub lets neither an App nor a fine-grained token delete or restore package versions).
<a id="token" href="{{.TokenURL}}">Open GitHub's token form with the scopes ticked</a>. Its scopes:
<ul id="scopes">{{range .Scopes}}<li><code>{{.Name}}</code>: {{.Why}}</li>{{end}}</ul>
Pick an expiry you will remember; if the organisation uses SAML single sign-on, authorise the token for it.
Save it where serve reads it (paste it, then Enter; nothing is shown):
<pre id="token-file">{{.TokenFile}}</pre></li>
<li>Start pkgwarden:
<pre id="serve">{{.ServeCommand}}</pre>{{if .RegistryGuess}}
<p><code>PKGWARDEN_REGISTRY_URL</code> above is the Container registry's usual address on an Enterprise Server
(with subdomain isolation); the instance's administrator knows the real one.</p>{{end}}</li>
</ol>
</body></html>{{end}}
{{define "error"}}{{template "head" "pkgwarden registration failed"}}
<h1>Registration failed</h1>
<p id="error">{{.Message}}</p>
<p><a href="/">Start again</a></p>
</body></html>{{end}}`))

func (rg *Register) index(w http.ResponseWriter, r *http.Request) {
	public := rg.cfg.PublicURL
	if public == "" {
		public = origin(r)
	}
	js, err := ManifestJSON(rg.cfg.Manifest, public, origin(r)+RegisterCallbackPath)
	if err == nil && rg.cfg.WebhookURL != "" {
		js, err = withHookURL(js, rg.cfg.WebhookURL)
	}
	if err != nil {
		rg.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	var m struct {
		Hook struct {
			URL string `json:"url"`
		} `json:"hook_attributes"`
	}
	_ = json.Unmarshal(js, &m)
	var pretty strings.Builder
	var v any
	_ = json.Unmarshal(js, &v)
	enc := json.NewEncoder(&pretty)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	existing, err := ExistingCredentials(rg.cfg.DataDir)
	if err != nil {
		rg.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(existing) > 0 && !rg.cfg.Force {
		rg.fail(w, http.StatusConflict, fmt.Sprintf("The data dir %s already holds credentials (%s). Move them away, or run register with --force to replace them.", rg.cfg.DataDir, strings.Join(existing, ", ")))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = registerTmpl.ExecuteTemplate(w, "index", map[string]any{
		"Org":       rg.cfg.Org,
		"GitHubURL": rg.cfg.GitHubURL,
		"HookURL":   m.Hook.URL,
		"Existing":  existing,
		"Action":    rg.CreateURL(),
		"Manifest":  string(js),
		"Pretty":    pretty.String(),
	})
}

func (rg *Register) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = registerTmpl.ExecuteTemplate(w, "error", map[string]any{"Message": msg})
}

func (rg *Register) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(rg.state)) != 1 {
		rg.log.Warn("register: callback with a wrong state refused", "remote", r.RemoteAddr)
		rg.fail(w, http.StatusForbidden, "This callback does not carry the state this register page sent to GitHub, so it was not started here (a forged or stale link: the CSRF check). Nothing was written. Start again from this page.")
		return
	}
	code := q.Get("code")
	if code == "" {
		rg.fail(w, http.StatusBadRequest, "The callback has no code: GitHub sends one after the App is created.")
		return
	}
	// Refuse before the exchange, so the code stays usable (for an hour)
	// once the old files are moved away: reload this page then.
	existing, err := ExistingCredentials(rg.cfg.DataDir)
	if err != nil {
		rg.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(existing) > 0 && !rg.cfg.Force {
		rg.fail(w, http.StatusConflict, fmt.Sprintf("The data dir %s already holds credentials (%s); they were not replaced. The App was created on GitHub: move those files away and reload this page within the hour to save it, or run register with --force.", rg.cfg.DataDir, strings.Join(existing, ", ")))
		return
	}
	cfg, resp, err := rg.cfg.Converter.CompleteAppManifest(r.Context(), code)
	if err != nil {
		// The code buys the App's key for an hour: keep it out of logs
		// and pages (go-github's errors quote the request URL).
		err = redactedError{err: err, code: code}
		status, msg := conversionFailure(resp, err, rg.cfg.APIURL)
		rg.log.Error("register: code exchange failed", "api_url", rg.cfg.APIURL, "status", statusOf(resp), "err", err.Error())
		rg.fail(w, status, msg)
		return
	}
	reg, err := writeCredentials(rg.cfg.DataDir, cfg)
	if err != nil {
		rg.log.Error("register: writing credentials failed", "data_dir", rg.cfg.DataDir, "app_id", cfg.GetID(), "err", err)
		rg.fail(w, http.StatusInternalServerError, fmt.Sprintf("App %s (id %d) was created, but its credentials could not be saved: %v", cfg.GetSlug(), cfg.GetID(), err))
		return
	}
	reg.Owner = ownerLogin(cfg, rg.cfg.Org)
	reg.TokenURL = TokenURL(rg.cfg.GitHubURL, reg.Owner)
	reg.ServeCommand = ServeCommand(rg.cfg.DataDir, rg.cfg.GitHubURL, rg.cfg.APIURL, rg.cfg.ServeListen)
	rg.log.Info("register: app registered", "app_id", reg.AppID, "slug", reg.Slug, "owner", reg.Owner, "data_dir", rg.cfg.DataDir)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = renderDone(w, reg, rg.cfg.DataDir)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if rg.cfg.OnRegistered != nil {
		rg.cfg.OnRegistered(reg)
	}
}

// redactedError hides the manifest code in an error's text; errors.As
// still reaches the error it wraps.
type redactedError struct {
	err  error
	code string
}

func (e redactedError) Error() string {
	if e.code == "" {
		return e.err.Error()
	}
	return strings.ReplaceAll(e.err.Error(), e.code, "[code]")
}

func (e redactedError) Unwrap() error { return e.err }

func statusOf(resp *github.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// conversionFailure explains a failed code exchange to the person.
func conversionFailure(resp *github.Response, err error, apiURL string) (int, string) {
	var ge *github.ErrorResponse
	switch {
	case errors.As(err, &ge) && (ge.Response.StatusCode == http.StatusNotFound || ge.Response.StatusCode == http.StatusUnprocessableEntity):
		return http.StatusBadRequest, fmt.Sprintf("GitHub refused the code (%d): it was already used or has expired (a code works once, within an hour). Nothing was written. Start again from this page; the App GitHub created for that code can be deleted in its settings.", ge.Response.StatusCode)
	case errors.As(err, &ge):
		return http.StatusBadGateway, fmt.Sprintf("GitHub answered %d to the code exchange at %s: %s. Nothing was written.", ge.Response.StatusCode, apiURL, ge.Message)
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return http.StatusBadGateway, fmt.Sprintf("Cannot reach the GitHub API at %s to exchange the code: %v. Check --api-url (PKGWARDEN_GITHUB_API_URL); the code stays valid for an hour: reload this page.", apiURL, err)
	}
	return http.StatusBadGateway, fmt.Sprintf("The code exchange with %s failed (status %d): %v. Nothing was written.", apiURL, statusOf(resp), err)
}

// writeCredentials checks the conversion and writes the four files, each
// atomically (temp file, then rename); app_id goes last, as `serve` keys on
// it.
func writeCredentials(dataDir string, cfg *github.AppConfig) (Registration, error) {
	if cfg.GetID() <= 0 || cfg.GetSlug() == "" || cfg.GetWebhookSecret() == "" {
		return Registration{}, fmt.Errorf("conversion answer lacks id, slug or webhook_secret")
	}
	blk, _ := pem.Decode([]byte(cfg.GetPEM()))
	if blk == nil {
		return Registration{}, errors.New("conversion answer's pem holds no PEM block")
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
		if _, err2 := x509.ParsePKCS8PrivateKey(blk.Bytes); err2 != nil {
			return Registration{}, fmt.Errorf("conversion answer's pem is not an RSA private key: %w", err)
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Registration{}, fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	files := []struct {
		name string
		data string
		mode os.FileMode
	}{
		{regPrivateKeyFile, cfg.GetPEM(), 0o600},
		{regWebhookSecretFile, cfg.GetWebhookSecret() + "\n", 0o600},
		{regAppSlugFile, cfg.GetSlug() + "\n", 0o644},
		{regAppIDFile, strconv.FormatInt(cfg.GetID(), 10) + "\n", 0o644},
	}
	reg := Registration{
		AppID:      cfg.GetID(),
		Slug:       cfg.GetSlug(),
		Name:       cfg.GetName(),
		HTMLURL:    cfg.GetHTMLURL(),
		InstallURL: strings.TrimSuffix(cfg.GetHTMLURL(), "/") + "/installations/new",
	}
	for _, f := range files {
		p := filepath.Join(dataDir, f.name)
		if err := writeFileAtomic(p, []byte(f.data), f.mode); err != nil {
			return Registration{}, err
		}
		reg.Files = append(reg.Files, p)
	}
	return reg, nil
}

// writeFileAtomic writes data to a temp file beside path with mode, syncs
// it and renames it over path, so a reader sees the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
