package settings

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every PKGWARDEN_ variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") {
			t.Setenv(name, "") // registers restore
			os.Unsetenv(name)
		}
	}
}

func TestLoadDefaultsAndFiles(t *testing.T) {
	tests := map[string]struct {
		env   map[string]string
		files map[string]string
		check func(t *testing.T, s Settings)
	}{
		"defaults": {
			check: func(t *testing.T, s Settings) {
				if s.Listen != ":8080" || s.GitHubAPIURL != "https://api.github.com/" || s.RegistryURL != "https://ghcr.io" ||
					s.NATSReplicas != 1 || s.SweepInterval != time.Hour || strings.Join(s.Roles, ",") != "web,worker,scheduler" {
					t.Errorf("defaults: %+v", s)
				}
				if s.ExternalNATS() {
					t.Error("embedded expected by default")
				}
			},
		},
		"files fill unset values": {
			files: map[string]string{AppIDFile: "42\n", AppSlugFile: "pkgwarden-acme\n", WebhookSecretFile: "from-file\n", PrivateKeyFile: "key", "packages-tokens/acme": "tok-acme\n"},
			check: func(t *testing.T, s Settings) {
				if s.AppID != 42 || s.BotLogin() != "pkgwarden-acme[bot]" || s.WebhookSecret != "from-file" || filepath.Base(s.PrivateKeyPath) != PrivateKeyFile {
					t.Errorf("files not used: %+v", s)
				}
				if s.TokenFor("ACME") != "tok-acme" {
					t.Errorf("token for acme = %q", s.TokenFor("ACME"))
				}
			},
		},
		"env wins over files": {
			env:   map[string]string{"PKGWARDEN_APP_ID": "7", "PKGWARDEN_WEBHOOK_SECRET": "from-env", "PKGWARDEN_PRIVATE_KEY_PATH": "/elsewhere.pem", "PKGWARDEN_PACKAGES_TOKENS": "acme=env-tok"},
			files: map[string]string{AppIDFile: "42", WebhookSecretFile: "from-file", PrivateKeyFile: "key", "packages-tokens/acme": "file-tok"},
			check: func(t *testing.T, s Settings) {
				if s.AppID != 7 || s.WebhookSecret != "from-env" || s.PrivateKeyPath != "/elsewhere.pem" || s.TokenFor("acme") != "env-tok" {
					t.Errorf("env did not win: %+v", s)
				}
			},
		},
		"lists and external nats": {
			env: map[string]string{"PKGWARDEN_NATS_URL": "nats://a:4222,nats://user:hunter2@b:4222", "PKGWARDEN_ROLES": "web", "PKGWARDEN_PACKAGES_TOKEN": "dflt"},
			check: func(t *testing.T, s Settings) {
				if len(s.NATSURL) != 2 || !s.ExternalNATS() || !s.HasRole(RoleWeb) || s.HasRole(RoleWorker) || s.TokenFor("x") != "dflt" {
					t.Errorf("lists: %+v", s)
				}
				if strings.Contains(s.String(), "hunter2") {
					t.Errorf("String leaks a NATS password: %s", s.String())
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			dir := t.TempDir()
			t.Setenv("PKGWARDEN_DATA_DIR", dir)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, s)
			if strings.Contains(s.String(), s.WebhookSecret) && s.WebhookSecret != "" {
				t.Errorf("String leaks the webhook secret: %s", s.String())
			}
		})
	}
}

func TestLoadErrorHidesValue(t *testing.T) {
	clearEnv(t)
	t.Setenv("PKGWARDEN_DATA_DIR", t.TempDir())
	t.Setenv("PKGWARDEN_PACKAGES_TOKENS", "ghp_secretvalue")
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), "PKGWARDEN_PACKAGES_TOKENS") || strings.Contains(err.Error(), "ghp_secretvalue") {
		t.Fatalf("Load = %v, want an error naming the variable without its value", err)
	}
}

func TestValidate(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Settings{WebhookSecret: "s", NATSReplicas: 1, DataDir: "d", Roles: []string{"web"}, Workers: 1, JobAttempts: 1, LeaseTTL: time.Second, DuplicateWindow: time.Minute,
		HTTPReadHeaderTimeout: time.Second, HTTPReadTimeout: time.Minute}
	tests := map[string]struct {
		mod     func(s *Settings)
		wantErr string // substring; "" means valid
	}{
		"valid":                 {mod: func(s *Settings) {}},
		"missing secret":        {mod: func(s *Settings) { s.WebhookSecret = "" }, wantErr: "PKGWARDEN_WEBHOOK_SECRET"},
		"app id without key":    {mod: func(s *Settings) { s.AppID = 1 }, wantErr: "PKGWARDEN_PRIVATE_KEY_PATH"},
		"app id unreadable key": {mod: func(s *Settings) { s.AppID = 1; s.PrivateKeyPath = key + ".missing" }, wantErr: "PKGWARDEN_PRIVATE_KEY_PATH"},
		"app id readable key":   {mod: func(s *Settings) { s.AppID = 1; s.PrivateKeyPath = key }},
		"replicas 2":            {mod: func(s *Settings) { s.NATSReplicas = 2 }, wantErr: "PKGWARDEN_NATS_REPLICAS"},
		"replicas 3 embedded":   {mod: func(s *Settings) { s.NATSReplicas = 3 }, wantErr: "PKGWARDEN_NATS_REPLICAS"},
		"replicas 3 external":   {mod: func(s *Settings) { s.NATSReplicas = 3; s.NATSURL = []string{"nats://x"} }},
		"unknown role":          {mod: func(s *Settings) { s.Roles = []string{"cook"} }, wantErr: "PKGWARDEN_ROLES"},
		"zero workers":          {mod: func(s *Settings) { s.Workers = 0 }, wantErr: "PKGWARDEN_WORKERS"},
		"embedded without dir":  {mod: func(s *Settings) { s.DataDir = "" }, wantErr: "PKGWARDEN_DATA_DIR"},
		"no header timeout":     {mod: func(s *Settings) { s.HTTPReadHeaderTimeout = 0 }, wantErr: "PKGWARDEN_HTTP_READ_HEADER_TIMEOUT"},
		"negative read timeout": {mod: func(s *Settings) { s.HTTPReadTimeout = -time.Second }, wantErr: "PKGWARDEN_HTTP_READ_TIMEOUT"},
		"body budget unset":     {mod: func(s *Settings) { s.IntakeBodyBudget = 0 }},
		"body budget minimum":   {mod: func(s *Settings) { s.IntakeBodyBudget = MinIntakeBodyBudget }},
		"body budget too small": {mod: func(s *Settings) { s.IntakeBodyBudget = 16 << 20 }, wantErr: "PKGWARDEN_INTAKE_BODY_BUDGET"},
		"body budget negative":  {mod: func(s *Settings) { s.IntakeBodyBudget = -1 }, wantErr: "PKGWARDEN_INTAKE_BODY_BUDGET"},
		"log format unset":      {mod: func(s *Settings) { s.LogFormat = "" }},
		"log format json":       {mod: func(s *Settings) { s.LogFormat = "json" }},
		"log format text":       {mod: func(s *Settings) { s.LogFormat = "text" }},
		"log format xml":        {mod: func(s *Settings) { s.LogFormat = "xml" }, wantErr: `PKGWARDEN_LOG_FORMAT must be json or text, not "xml"`},
		"log format case":       {mod: func(s *Settings) { s.LogFormat = "JSON" }, wantErr: "PKGWARDEN_LOG_FORMAT"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := ok
			tc.mod(&s)
			err := s.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Validate = %v, want one line naming %s", err, tc.wantErr)
			}
		})
	}
}

func TestIntakeBodyBudgetSetting(t *testing.T) {
	tests := map[string]struct {
		env     string // "" leaves the variable unset
		want    ByteSize
		wantErr bool
	}{
		"default":        {want: 64 << 20},
		"MiB":            {env: "128MiB", want: 128 << 20},
		"GiB":            {env: "1GiB", want: 1 << 30},
		"KiB":            {env: "40960KiB", want: 40 << 20},
		"bytes":          {env: "33554432", want: 32 << 20},
		"bytes with B":   {env: "33554432B", want: 32 << 20},
		"spaced":         {env: " 96 MiB ", want: 96 << 20},
		"no number":      {env: "MiB", wantErr: true},
		"negative":       {env: "-64MiB", wantErr: true},
		"unknown unit":   {env: "64MB", wantErr: true},
		"overflow":       {env: "9223372036854775807GiB", wantErr: true},
		"fraction":       {env: "0.5GiB", wantErr: true},
		"word":           {env: "lots", wantErr: true},
		"lower-case mib": {env: "64mib", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("PKGWARDEN_DATA_DIR", t.TempDir())
			if tc.env != "" {
				t.Setenv("PKGWARDEN_INTAKE_BODY_BUDGET", tc.env)
			}
			s, err := Load()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "PKGWARDEN_INTAKE_BODY_BUDGET") {
					t.Fatalf("Load = %v, want an error naming PKGWARDEN_INTAKE_BODY_BUDGET", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if s.IntakeBodyBudget != tc.want {
				t.Errorf("IntakeBodyBudget = %d, want %d", s.IntakeBodyBudget, tc.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	for size, want := range map[ByteSize]string{0: "0B", 1: "1B", 1023: "1023B", 1 << 10: "1KiB", 1536 << 10: "1536KiB", 64 << 20: "64MiB", 1 << 30: "1GiB", 3<<30 + 1<<20: "3073MiB"} {
		if got := size.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(size), got, want)
		}
		var back ByteSize
		if err := back.Decode(want); err != nil || back != size {
			t.Errorf("Decode(%q) = %d, %v; want %d", want, back, err, size)
		}
	}
}

// TestStringNamesTokensNotValues: the settings line serve logs says which
// owners have a packages token and whether a default one is set, and
// never shows a token.
func TestStringNamesTokensNotValues(t *testing.T) {
	tests := map[string]struct {
		s    Settings
		want []string
	}{
		"none": {Settings{}, []string{"packages_tokens=none", "packages_token_default=unset"}},
		"default only": {Settings{PackagesToken: "ghp_defaultsecret"},
			[]string{"packages_tokens=none", "packages_token_default=set"}},
		"owners, sorted": {Settings{PackagesTokens: TokenMap{"zeta": "ghp_zetasecret", "acme": "ghp_acmesecret"}},
			[]string{"packages_tokens=acme,zeta", "packages_token_default=unset"}},
		"both": {Settings{PackagesToken: "ghp_defaultsecret", PackagesTokens: TokenMap{"acme": "ghp_acmesecret"}},
			[]string{"packages_tokens=acme ", "packages_token_default=set"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			line := tc.s.String()
			for _, w := range tc.want {
				if !strings.Contains(line+" ", w) {
					t.Errorf("String() = %q, want %q in it", line, w)
				}
			}
			for _, tok := range append(slices.Collect(maps.Values(tc.s.PackagesTokens)), tc.s.PackagesToken) {
				if tok != "" && strings.Contains(line, tok) {
					t.Errorf("String() = %q shows a token", line)
				}
			}
		})
	}
}
