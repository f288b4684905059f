// Package settings loads pkgwarden's configuration: PKGWARDEN_* environment
// variables, completed by the files `pkgwarden register` writes into the
// data dir (app_id, app_slug, private-key.pem, webhook_secret and
// packages-tokens/<owner>). The environment wins.
package settings

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the environment prefix of every setting.
const Prefix = "PKGWARDEN"

// Names of the files `register` writes into the data dir.
const (
	AppIDFile         = "app_id"
	PrivateKeyFile    = "private-key.pem"
	WebhookSecretFile = "webhook_secret"
	AppSlugFile       = "app_slug"
	// PackagesTokensDir holds one file per owner, named after the owner,
	// containing that owner's packages token.
	PackagesTokensDir = "packages-tokens"
)

// Roles a process can take.
const (
	RoleWeb       = "web"
	RoleWorker    = "worker"
	RoleScheduler = "scheduler"
)

// LogFormats are the values of PKGWARDEN_LOG_FORMAT.
var LogFormats = []string{"json", "text"}

// Settings is the configuration of `pkgwarden serve`. Field tags name the
// variable after the PKGWARDEN_ prefix.
type Settings struct {
	AppID int64 `envconfig:"APP_ID" desc:"GitHub App id (with PRIVATE_KEY_PATH: installation tokens)"`
	// AppSlug names the App's bot account ("<slug>[bot]"), whose own
	// events pkgwarden ignores.
	AppSlug        string `envconfig:"APP_SLUG" desc:"the app's slug; events of <slug>[bot] are ignored (unset: asked of GitHub)"`
	PrivateKeyPath string `envconfig:"PRIVATE_KEY_PATH" desc:"the app's private key (PEM)"`
	// WebhookSecret is never logged; String redacts it.
	WebhookSecret string `envconfig:"WEBHOOK_SECRET" desc:"secret webhook deliveries are verified with (required)"`
	// PackagesToken is the classic token used for owners without their own.
	PackagesToken string `envconfig:"PACKAGES_TOKEN" desc:"classic packages token for every owner without its own"`
	// PackagesTokens maps owner to token: "owner=token,owner2=token2".
	PackagesTokens TokenMap `envconfig:"PACKAGES_TOKENS" desc:"owner=token,... one packages token per owner"`

	Listen       string `envconfig:"LISTEN" default:":8080" desc:"HTTP address (webhooks, health, metrics)"`
	GitHubAPIURL string `envconfig:"GITHUB_API_URL" default:"https://api.github.com/" desc:"REST API base URL"`
	RegistryURL  string `envconfig:"REGISTRY_URL" default:"https://ghcr.io" desc:"container registry URL"`
	GitHubURL    string `envconfig:"GITHUB_URL" default:"https://github.com" desc:"GitHub web URL (register)"`

	// NATSURL is empty for the embedded server, or a comma-separated list
	// of servers of an external cluster.
	NATSURL []string `envconfig:"NATS_URL" desc:"external NATS servers, comma-separated (empty: embedded)"`
	// NATSListen is the embedded server's client address; empty: no port.
	NATSListen   string `envconfig:"NATS_LISTEN" desc:"client address of the embedded NATS server (empty: none)"`
	NATSCreds    string `envconfig:"NATS_CREDS" desc:"NATS credentials file"`
	NATSReplicas int    `envconfig:"NATS_REPLICAS" default:"1" desc:"replicas of streams and KV buckets (1 or 3)"`
	// NATSSyncAlways makes the embedded server fsync every write
	// (slower, survives power loss rather than only process death).
	NATSSyncAlways bool `envconfig:"NATS_SYNC_ALWAYS" desc:"embedded server fsyncs every write"`

	DataDir       string        `envconfig:"DATA_DIR" default:"./data" desc:"data dir: embedded NATS store, register's files"`
	Roles         []string      `envconfig:"ROLES" default:"web,worker,scheduler" desc:"roles of this process: web,worker,scheduler"`
	Workers       int           `envconfig:"WORKERS" default:"4" desc:"concurrent jobs per process"`
	SweepInterval time.Duration `envconfig:"SWEEP_INTERVAL" default:"1h" desc:"how often every installation is swept"`
	// SchedulerLeaseTTL is how long the scheduler leader's lease outlives
	// a leader that died: another replica takes over within it plus a third.
	SchedulerLeaseTTL time.Duration `envconfig:"SCHEDULER_LEASE_TTL" default:"15s" desc:"how long a dead scheduler leader keeps its lease"`
	// Paused is the kill switch: accept and queue, delete nothing.
	Paused bool `envconfig:"PAUSED" desc:"kill switch: accept and queue, delete nothing"`
	// LogFormat is how serve writes its log lines on stderr; "" is json.
	LogFormat string `envconfig:"LOG_FORMAT" default:"json" desc:"log lines on stderr: json (one object a line) or text (key=value)"`

	// Tuning, not needed in normal operation.

	// JobAttempts is how many times a failing job runs before it goes to
	// the dead-letter stream.
	JobAttempts int `envconfig:"JOB_ATTEMPTS" default:"5" desc:"attempts of a failing job before the dead-letter stream"`
	// JobBackoff is the delay before the first retry; it doubles up to 5m.
	JobBackoff time.Duration `envconfig:"JOB_BACKOFF" default:"5s" desc:"delay before a failed job's first retry (doubles, max 5m)"`
	// LeaseTTL is how long a per-package lease outlives a dead holder; it
	// is also the queue's ack wait, so a dead worker's job moves on then.
	LeaseTTL time.Duration `envconfig:"LEASE_TTL" default:"30s" desc:"per-package lease TTL and the queue's ack wait"`
	// DuplicateWindow is how long the webhooks stream rejects a repeated
	// delivery id by itself; older repeats are caught by KV deliveries.
	DuplicateWindow time.Duration `envconfig:"DUPLICATE_WINDOW" default:"10m" desc:"how long the webhooks stream rejects a repeated delivery id"`
	// HTTPReadHeaderTimeout and HTTPReadTimeout bound how long a client
	// may take to send a request's headers, and the whole request, so a
	// slow or stalled sender cannot hold connections open.
	HTTPReadHeaderTimeout time.Duration `envconfig:"HTTP_READ_HEADER_TIMEOUT" default:"10s" desc:"time a client has to send a request's headers"`
	HTTPReadTimeout       time.Duration `envconfig:"HTTP_READ_TIMEOUT" default:"2m" desc:"time a client has to send a whole request (25 MiB on a slow link)"`
	// IntakeBodyBudget bounds the bytes of webhook bodies that every
	// request in flight holds together: a request reserves its bytes as
	// they arrive, and one that cannot is answered 503 (GitHub's delivery
	// is redelivered later). 0 takes the default.
	IntakeBodyBudget ByteSize `envconfig:"INTAKE_BODY_BUDGET" default:"64MiB" desc:"bytes of webhook bodies held at once by all requests in flight (over it: 503, redelivered)"`
	// PacingPoints and PacingMutating are each packages token's budget
	// per minute, shared by every replica: GitHub's secondary-limit points
	// (1 per read, 5 per delete; GitHub allows 900) and mutating requests.
	PacingPoints   int `envconfig:"PACING_POINTS" default:"600" desc:"per packages token and minute: request points (read 1, delete 5; GitHub allows 900)"`
	PacingMutating int `envconfig:"PACING_MUTATING" default:"100" desc:"per packages token and minute: mutating requests (deletes, restores)"`
	// PacingAppMutating is the App's budget of writes (report issues and
	// comments) per installation token and minute, shared by every
	// replica: GitHub allows 80 content-creating requests a minute (and
	// 500 an hour, which pkgwarden does not count). 0 takes
	// PacingMutating.
	PacingAppMutating int `envconfig:"PACING_APP_MUTATING" default:"60" desc:"per App installation token and minute: issues and comments written (GitHub allows 80)"`
}

// Usage writes a table of every setting with its default and meaning.
func Usage(w io.Writer) error {
	var s Settings
	return envconfig.Usagef(Prefix, &s, w, usageFormat)
}

const usageFormat = `{{range .}}  {{usage_key .}}{{if usage_default .}} (default {{usage_default .}}){{end}}
      {{usage_description .}}
{{end}}`

// Load reads the environment, then fills what it left unset from the data
// dir's files. It does not validate; call Validate.
func Load() (Settings, error) {
	var s Settings
	if err := envconfig.Process(Prefix, &s); err != nil {
		// envconfig's ParseError repeats the value, which may be a token.
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return Settings{}, fmt.Errorf("%s: cannot read as %s: %w", pe.KeyName, pe.TypeName, pe.Err)
		}
		return Settings{}, fmt.Errorf("settings: %w", err)
	}
	if err := s.fillFromDataDir(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// fillFromDataDir completes settings the environment left empty with the
// files written by `register`.
func (s *Settings) fillFromDataDir() error {
	if s.DataDir == "" {
		return nil
	}
	read := func(name string) (string, bool, error) {
		b, err := os.ReadFile(filepath.Join(s.DataDir, name))
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("settings: read %s: %w", filepath.Join(s.DataDir, name), err)
		}
		return strings.TrimSpace(string(b)), true, nil
	}
	if _, set := os.LookupEnv(Prefix + "_APP_ID"); !set {
		v, ok, err := read(AppIDFile)
		if err != nil {
			return err
		}
		if ok && v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("settings: %s: app id %q is not a number", filepath.Join(s.DataDir, AppIDFile), v)
			}
			s.AppID = id
		}
	}
	if _, set := os.LookupEnv(Prefix + "_PRIVATE_KEY_PATH"); !set {
		p := filepath.Join(s.DataDir, PrivateKeyFile)
		if _, err := os.Stat(p); err == nil {
			s.PrivateKeyPath = p
		}
	}
	if _, set := os.LookupEnv(Prefix + "_APP_SLUG"); !set {
		v, ok, err := read(AppSlugFile)
		if err != nil {
			return err
		}
		if ok {
			s.AppSlug = v
		}
	}
	if _, set := os.LookupEnv(Prefix + "_WEBHOOK_SECRET"); !set {
		v, ok, err := read(WebhookSecretFile)
		if err != nil {
			return err
		}
		if ok {
			s.WebhookSecret = v
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.DataDir, PackagesTokensDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("settings: read %s: %w", filepath.Join(s.DataDir, PackagesTokensDir), err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if _, ok := s.PackagesTokens[e.Name()]; ok {
			continue // the environment wins
		}
		v, _, err := read(filepath.Join(PackagesTokensDir, e.Name()))
		if err != nil {
			return err
		}
		if s.PackagesTokens == nil {
			s.PackagesTokens = TokenMap{}
		}
		s.PackagesTokens[e.Name()] = v
	}
	return nil
}

// Validate reports the first setting that prevents serving, as one line
// naming the variable.
func (s Settings) Validate() error {
	if s.LogFormat != "" && !slices.Contains(LogFormats, s.LogFormat) {
		return fmt.Errorf("PKGWARDEN_LOG_FORMAT must be json or text, not %q", s.LogFormat)
	}
	if s.WebhookSecret == "" {
		return errors.New("PKGWARDEN_WEBHOOK_SECRET is required (or a webhook_secret file in PKGWARDEN_DATA_DIR): webhooks cannot be verified without it")
	}
	if s.AppID != 0 {
		if s.PrivateKeyPath == "" {
			return fmt.Errorf("PKGWARDEN_PRIVATE_KEY_PATH is required when PKGWARDEN_APP_ID is set (app %d)", s.AppID)
		}
		f, err := os.Open(s.PrivateKeyPath)
		if err != nil {
			return fmt.Errorf("PKGWARDEN_PRIVATE_KEY_PATH %s is not readable: %w", s.PrivateKeyPath, err)
		}
		f.Close()
	}
	if s.NATSReplicas != 1 && s.NATSReplicas != 3 {
		return fmt.Errorf("PKGWARDEN_NATS_REPLICAS must be 1 or 3, not %d", s.NATSReplicas)
	}
	if s.NATSReplicas == 3 && !s.ExternalNATS() {
		return errors.New("PKGWARDEN_NATS_REPLICAS=3 needs an external cluster in PKGWARDEN_NATS_URL")
	}
	if len(s.Roles) == 0 {
		return errors.New("PKGWARDEN_ROLES is empty: name at least one of web, worker, scheduler")
	}
	for _, r := range s.Roles {
		if !slices.Contains([]string{RoleWeb, RoleWorker, RoleScheduler}, r) {
			return fmt.Errorf("PKGWARDEN_ROLES: unknown role %q (known: web, worker, scheduler)", r)
		}
	}
	if s.Workers < 1 {
		return fmt.Errorf("PKGWARDEN_WORKERS must be at least 1, not %d", s.Workers)
	}
	if s.JobAttempts < 1 {
		return fmt.Errorf("PKGWARDEN_JOB_ATTEMPTS must be at least 1, not %d", s.JobAttempts)
	}
	if s.LeaseTTL < time.Second {
		return fmt.Errorf("PKGWARDEN_LEASE_TTL must be at least 1s, not %s", s.LeaseTTL)
	}
	if s.DuplicateWindow <= 0 {
		return fmt.Errorf("PKGWARDEN_DUPLICATE_WINDOW must be positive, not %s", s.DuplicateWindow)
	}
	if s.HTTPReadHeaderTimeout <= 0 {
		return fmt.Errorf("PKGWARDEN_HTTP_READ_HEADER_TIMEOUT must be positive, not %s", s.HTTPReadHeaderTimeout)
	}
	if s.HTTPReadTimeout <= 0 {
		return fmt.Errorf("PKGWARDEN_HTTP_READ_TIMEOUT must be positive, not %s", s.HTTPReadTimeout)
	}
	if s.IntakeBodyBudget != 0 && s.IntakeBodyBudget < MinIntakeBodyBudget {
		return fmt.Errorf("PKGWARDEN_INTAKE_BODY_BUDGET must be at least %s (a delivery of GitHub's 25 MiB maximum and room for small ones), not %s", MinIntakeBodyBudget, s.IntakeBodyBudget)
	}
	if s.DataDir == "" && !s.ExternalNATS() {
		return errors.New("PKGWARDEN_DATA_DIR is empty: the embedded NATS server needs a directory")
	}
	return nil
}

// TokenMap is owner → packages token, written "owner=token,owner2=token2"
// in the environment (envconfig's own map syntax uses ':', which reads
// worse next to URLs and tokens).
type TokenMap map[string]string

// Decode implements envconfig.Decoder.
func (m *TokenMap) Decode(value string) error {
	out := TokenMap{}
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		owner, token, ok := strings.Cut(item, "=")
		if !ok || owner == "" || token == "" {
			// Never echo the item: it holds a token.
			return errors.New("PKGWARDEN_PACKAGES_TOKENS: items must be owner=token")
		}
		out[owner] = token
	}
	*m = out
	return nil
}

// MinIntakeBodyBudget is the smallest PKGWARDEN_INTAKE_BODY_BUDGET: the
// intake keeps an eighth of its budget for bodies of ordinary size, and a
// delivery of GitHub's 25 MiB maximum must fit in the rest.
const MinIntakeBodyBudget ByteSize = 32 << 20

// ByteSize is a number of bytes, written in the environment as an integer
// with an optional unit: "67108864", "64MiB", "512KiB", "1GiB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// Decode implements envconfig.Decoder.
func (b *ByteSize) Decode(value string) error {
	value = strings.TrimSpace(value)
	digits, shift := value, uint(0)
	for _, u := range byteUnits {
		if d, ok := strings.CutSuffix(value, u.suffix); ok {
			digits, shift = strings.TrimSpace(d), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return fmt.Errorf("%q is not a size: write bytes, or a number with KiB, MiB or GiB", value)
	}
	*b = ByteSize(n << shift)
	return nil
}

// String writes the size with the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if u.shift > 0 && b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(b>>u.shift), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// BotLogin is the App's bot account login, or "" when the slug is unknown.
func (s Settings) BotLogin() string {
	if s.AppSlug == "" {
		return ""
	}
	return s.AppSlug + "[bot]"
}

// ExternalNATS reports whether an external NATS server or cluster is used.
func (s Settings) ExternalNATS() bool { return len(s.NATSURL) > 0 }

// HasRole reports whether this process takes the role.
func (s Settings) HasRole(role string) bool { return slices.Contains(s.Roles, role) }

// TokenFor returns the packages token for an owner: its own, else the
// default, else "".
func (s Settings) TokenFor(owner string) string {
	for o, t := range s.PackagesTokens {
		if strings.EqualFold(o, owner) {
			return t
		}
	}
	return s.PackagesToken
}

// String describes the settings without any secret, for logs.
func (s Settings) String() string {
	return fmt.Sprintf("app_id=%d listen=%s nats_url=%v nats_listen=%q replicas=%d data_dir=%s roles=%v workers=%d paused=%t webhook_secret=%s private_key_path=%s packages_tokens=%s packages_token_default=%s",
		s.AppID, s.Listen, redactURLs(s.NATSURL), s.NATSListen, s.NATSReplicas, s.DataDir, s.Roles, s.Workers, s.Paused,
		redact(s.WebhookSecret), s.PrivateKeyPath, tokenOwners(s.PackagesTokens), redact(s.PackagesToken))
}

// tokenOwners names the owners that have a packages token of their own,
// sorted ("none" for none): which tokens are set, never a token.
func tokenOwners(m TokenMap) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}

// redactURLs hides passwords in NATS URLs ("nats://user:pass@host").
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			out[i] = "(unparsable)"
			continue
		}
		out[i] = u.Redacted()
	}
	return out
}

func redact(v string) string {
	if v == "" {
		return "unset"
	}
	return "set"
}
