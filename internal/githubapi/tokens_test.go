package githubapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePackagesTokens(t *testing.T) {
	tests := map[string]struct {
		perOwner, def string
		lookups       map[string]string // owner -> want secret ("" means ErrNoPackagesToken)
		wantErr       string
	}{
		"per owner, case-insensitive": {
			perOwner: "Acme=ghp_a, octo-cat=ghp_b",
			lookups:  map[string]string{"acme": "ghp_a", "ACME": "ghp_a", "Octo-Cat": "ghp_b", "other": ""},
		},
		"default covers the rest": {
			perOwner: "acme=ghp_a", def: "ghp_default",
			lookups: map[string]string{"AcMe": "ghp_a", "other": "ghp_default"},
		},
		"default only": {
			def:     " ghp_default\n",
			lookups: map[string]string{"anyone": "ghp_default"},
		},
		"nothing": {
			lookups: map[string]string{"acme": ""},
		},
		"trailing and doubled commas": {
			perOwner: "acme=ghp_a,,b=ghp_b,",
			lookups:  map[string]string{"acme": "ghp_a", "b": "ghp_b"},
		},
		"token containing '='": {
			perOwner: "acme=abc=def",
			lookups:  map[string]string{"acme": "abc=def"},
		},
		"missing '='":     {perOwner: "acme=ghp_a,ghp_secretvalue", wantErr: "entry 2: want owner=token"},
		"empty owner":     {perOwner: "=ghp_secretvalue", wantErr: "entry 1: empty owner"},
		"empty token":     {perOwner: "acme=", wantErr: "entry 1 (owner acme): empty token"},
		"bad owner":       {perOwner: "ac me/x=ghp_secretvalue", wantErr: "entry 1: the part before '=' is not a GitHub owner name"},
		"reversed entry":  {perOwner: "ghp_secretvalue=acme", wantErr: "entry 1: the part before '=' is not a GitHub owner name"},
		"duplicate owner": {perOwner: "acme=ghp_a,ACME=ghp_secretvalue", wantErr: "entry 2: owner ACME is already configured"},
		"space in token":  {perOwner: "acme=ghp_secret value", wantErr: "token contains whitespace"},
		"bad default":     {def: "ghp_a,ghp_secretvalue", wantErr: "PKGWARDEN_PACKAGES_TOKEN: token contains"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			toks, err := ParsePackagesTokens(tc.perOwner, tc.def)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q reveals a token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePackagesTokens: %v", err)
			}
			for owner, want := range tc.lookups {
				tok, err := toks.Token(owner)
				if want == "" {
					if !errors.Is(err, ErrNoPackagesToken) || !strings.Contains(err.Error(), owner) {
						t.Errorf("Token(%s) error %v, want ErrNoPackagesToken naming the owner", owner, err)
					}
					continue
				}
				if err != nil || tok.Secret() != want {
					t.Errorf("Token(%s) = %q, %v; want %q", owner, tok.Secret(), err, want)
				}
			}
		})
	}
}

func TestTokenNeverPrintsSecret(t *testing.T) {
	toks, err := ParsePackagesTokens("acme=ghp_supersecret", "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := toks.Token("acme")
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("using", "token", tok)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("using", "token", tok, "tokens", toks)
	for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, toks), logged.String()} {
		if strings.Contains(s, "supersecret") {
			t.Errorf("printed the secret: %s", s)
		}
	}
	if !strings.Contains(logged.String(), `"owner":"acme"`) {
		t.Errorf("log %s does not name the owner", logged.String())
	}
}

func TestLoadTokenDir(t *testing.T) {
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, TokenDirName), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, TokenDirName, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("files add owners, env wins", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "Acme", "ghp_file_acme\n")
		write(t, dir, "octocat", "  ghp_file_octo  \n")
		write(t, dir, ".swp", "ignored")
		toks, err := ParsePackagesTokens("ACME=ghp_env_acme", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := toks.LoadTokenDir(dir); err != nil {
			t.Fatalf("LoadTokenDir: %v", err)
		}
		for owner, want := range map[string]string{"acme": "ghp_env_acme", "OctoCat": "ghp_file_octo"} {
			tok, err := toks.Token(owner)
			if err != nil || tok.Secret() != want {
				t.Errorf("Token(%s) = %q, %v; want %q", owner, tok.Secret(), err, want)
			}
		}
		tok, _ := toks.Token("octocat")
		if tok.Source() != filepath.Join(dir, TokenDirName, "octocat") {
			t.Errorf("source %q, want the file path", tok.Source())
		}
		if got := toks.Owners(); !slices.Equal(got, []string{"ACME", "octocat"}) {
			t.Errorf("Owners() = %v", got)
		}
	})
	t.Run("missing dir is fine", func(t *testing.T) {
		var toks PackagesTokens
		if err := toks.LoadTokenDir(t.TempDir()); err != nil {
			t.Fatalf("LoadTokenDir: %v", err)
		}
		if _, err := toks.Token("acme"); !errors.Is(err, ErrNoPackagesToken) {
			t.Errorf("error %v, want ErrNoPackagesToken", err)
		}
	})
	t.Run("empty file is an error", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "acme", "\n")
		var toks PackagesTokens
		if err := toks.LoadTokenDir(dir); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("error %v, want one saying the file is empty", err)
		}
	})
	t.Run("two files for one owner", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "acme", "ghp_a")
		write(t, dir, "ACME", "ghp_secretvalue")
		var toks PackagesTokens
		err := toks.LoadTokenDir(dir)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("error %v, want a duplicate error without the token", err)
		}
	})
}
