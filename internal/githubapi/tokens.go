package githubapi

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ErrNoPackagesToken is returned (wrapped, naming the owner) when no packages
// token is configured for an owner. pkgwarden never falls back to another
// owner's token or to the App's installation token: it reports what to
// configure instead.
var ErrNoPackagesToken = errors.New("no packages token configured")

// TokenDirName is the directory under the data dir that holds one file per
// owner, named after the owner, containing that owner's packages token.
const TokenDirName = "packages-tokens"

// validOwner matches GitHub logins (users and organisations): letters, digits
// and single hyphens. It also keeps owner names safe to use as file names.
var validOwner = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// Token is a packages token for one owner. Its String and LogValue never
// reveal the secret, so it is safe to log or print by accident; Secret is the
// one way to get the value, for the Authorization header.
type Token struct {
	owner  string // as configured, for messages
	source string // "env", "env-default", "file"
	secret string
}

// NewToken wraps a token obtained elsewhere (the simulator's info file, a
// test). source says where it came from, for messages.
func NewToken(owner, source, secret string) Token {
	return Token{owner: owner, source: source, secret: strings.TrimSpace(secret)}
}

// Secret returns the token itself. Never log it.
func (t Token) Secret() string { return t.secret }

// Owner returns the owner the token was configured for ("*" for the default).
func (t Token) Owner() string { return t.owner }

// Source says where the token came from: "PKGWARDEN_PACKAGES_TOKENS",
// "PKGWARDEN_PACKAGES_TOKEN" or the file path.
func (t Token) Source() string { return t.source }

// String describes the token without revealing it.
func (t Token) String() string {
	return fmt.Sprintf("packages token for %s from %s (redacted)", t.owner, t.source)
}

// GoString keeps %#v from printing the secret too.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without the secret.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("owner", t.owner),
		slog.String("source", t.source),
	)
}

// PackagesTokens resolves the packages token of an owner. The zero value
// holds no tokens; build one with ParsePackagesTokens and LoadTokenDir.
type PackagesTokens struct {
	byOwner map[string]Token // key: lower-case owner
	def     *Token
}

// Source names used in Token.Source and error messages.
const (
	sourceTokensEnv  = "PKGWARDEN_PACKAGES_TOKENS"
	sourceDefaultEnv = "PKGWARDEN_PACKAGES_TOKEN"
)

// ParsePackagesTokens builds the token set from the values of
// PKGWARDEN_PACKAGES_TOKENS ("owner=token,owner2=token2") and
// PKGWARDEN_PACKAGES_TOKEN (the default for every other owner). Either may be
// empty. Owners are compared case-insensitively, as GitHub does. Errors name
// the entry by position and never include a token.
func ParsePackagesTokens(perOwner, defaultToken string) (*PackagesTokens, error) {
	t := &PackagesTokens{byOwner: map[string]Token{}}
	if d := strings.TrimSpace(defaultToken); d != "" {
		if strings.ContainsAny(d, " \t\r\n,") {
			return nil, fmt.Errorf("%s: token contains whitespace or a comma", sourceDefaultEnv)
		}
		t.def = &Token{owner: "*", source: sourceDefaultEnv, secret: d}
	}
	if strings.TrimSpace(perOwner) == "" {
		return t, nil
	}
	for i, entry := range strings.Split(perOwner, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			// Tolerate "a=x," and "a=x,,b=y": trailing commas are common in
			// hand-written env files and carry no meaning.
			continue
		}
		owner, secret, ok := strings.Cut(entry, "=")
		owner, secret = strings.TrimSpace(owner), strings.TrimSpace(secret)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s entry %d: want owner=token, found no '='", sourceTokensEnv, i+1)
		case owner == "":
			return nil, fmt.Errorf("%s entry %d: empty owner before '='", sourceTokensEnv, i+1)
		case !validOwner.MatchString(owner):
			// The bad owner is not quoted: a reversed "token=owner" entry
			// would put the token into the log.
			return nil, fmt.Errorf("%s entry %d: the part before '=' is not a GitHub owner name (letters, digits, hyphens)", sourceTokensEnv, i+1)
		case secret == "":
			return nil, fmt.Errorf("%s entry %d (owner %s): empty token", sourceTokensEnv, i+1, owner)
		case strings.ContainsAny(secret, " \t\r\n"):
			return nil, fmt.Errorf("%s entry %d (owner %s): token contains whitespace", sourceTokensEnv, i+1, owner)
		}
		key := strings.ToLower(owner)
		if prev, dup := t.byOwner[key]; dup {
			return nil, fmt.Errorf("%s entry %d: owner %s is already configured (as %s)", sourceTokensEnv, i+1, owner, prev.owner)
		}
		t.byOwner[key] = Token{owner: owner, source: sourceTokensEnv, secret: secret}
	}
	return t, nil
}

// LoadTokenDir adds the tokens found in dataDir/packages-tokens: one regular
// file per owner, named after the owner, holding the token (surrounding
// whitespace ignored). A missing directory is not an error. An owner already
// set from the environment keeps its environment token: env wins over files.
func (t *PackagesTokens) LoadTokenDir(dataDir string) error {
	if t.byOwner == nil {
		t.byOwner = map[string]Token{}
	}
	dir := filepath.Join(dataDir, TokenDirName)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read packages token dir %s: %w", dir, err)
	}
	fromFiles := map[string]Token{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue // editor swap files, "..data" of Kubernetes secret mounts
		}
		path := filepath.Join(dir, name)
		if !validOwner.MatchString(name) {
			return fmt.Errorf("packages token file %s: %q is not a GitHub owner name", path, name)
		}
		b, err := os.ReadFile(path) // follows symlinks, as Kubernetes secret volumes need
		if err != nil {
			return fmt.Errorf("read packages token file %s: %w", path, err)
		}
		secret := strings.TrimSpace(string(b))
		if secret == "" {
			return fmt.Errorf("packages token file %s: empty", path)
		}
		if strings.ContainsAny(secret, " \t\r\n") {
			return fmt.Errorf("packages token file %s: token contains whitespace", path)
		}
		key := strings.ToLower(name)
		if prev, dup := fromFiles[key]; dup {
			return fmt.Errorf("packages token file %s: owner already configured by %s", path, prev.source)
		}
		fromFiles[key] = Token{owner: name, source: path, secret: secret}
	}
	for key, tok := range fromFiles {
		if _, env := t.byOwner[key]; env {
			continue
		}
		t.byOwner[key] = tok
	}
	return nil
}

// Token returns the packages token for owner: the owner's own token (from
// the environment, else from a file), else the default token. Without either
// it returns an error wrapping ErrNoPackagesToken.
func (t *PackagesTokens) Token(owner string) (Token, error) {
	if t != nil {
		if tok, ok := t.byOwner[strings.ToLower(owner)]; ok {
			return tok, nil
		}
		if t.def != nil {
			return *t.def, nil
		}
	}
	return Token{}, fmt.Errorf("owner %s: %w (set PKGWARDEN_PACKAGES_TOKENS=%s=<token>, PKGWARDEN_PACKAGES_TOKEN, or the file %s/%s in the data dir)",
		owner, ErrNoPackagesToken, owner, TokenDirName, owner)
}

// Owners lists the owners with a token of their own, as configured.
func (t *PackagesTokens) Owners() []string {
	if t == nil {
		return nil
	}
	out := make([]string, 0, len(t.byOwner))
	for _, tok := range t.byOwner {
		out = append(out, tok.owner)
	}
	slices.Sort(out)
	return out
}

// HasDefault reports whether a default token covers owners without their own.
func (t *PackagesTokens) HasDefault() bool { return t != nil && t.def != nil }

// String describes the set without revealing any token.
func (t *PackagesTokens) String() string {
	if t == nil {
		return "no packages tokens"
	}
	return fmt.Sprintf("packages tokens for %d owner(s), default %t", len(t.byOwner), t.def != nil)
}
