package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// What the callback page tells a person to do after the App exists: the
// packages token to create (with a link that ticks its scopes) and the
// serve command for the URLs register was given.

// TokenScope is a scope of the classic packages token and why pkgwarden
// asks for it.
type TokenScope struct {
	Name, Why string
}

// TokenScopes are the scopes the packages token gets. `repo` is always
// among them: the callback cannot tell whether the owner has maven or
// docker (docker.pkg.github.com) packages, which GitHub governs by their
// repository's permissions, because nothing can list packages yet (the
// App is not installed, and its manifest conversion says nothing of
// packages). Asking for it up front spares a second token later; an owner
// with neither type may untick it.
var TokenScopes = []TokenScope{
	{"read:packages", "list packages and their versions, read container manifests"},
	{"write:packages", "restore deleted versions (GitHub asks for it on the restore endpoints)"},
	{"delete:packages", "delete versions"},
	{"repo", "maven and docker.pkg.github.com packages follow their repository's permissions, so listing and deleting them needs it; this page cannot see which package types the owner has (nothing can list packages before the App is installed), so the link ticks it: untick it only if the owner has neither type"},
}

// TokenURL is GitHub's form for a new classic personal access token on
// the GitHub at githubURL (github.com or an Enterprise Server's origin),
// with TokenScopes ticked and a note naming pkgwarden and the owner.
func TokenURL(githubURL, owner string) string {
	names := make([]string, len(TokenScopes))
	for i, s := range TokenScopes {
		names[i] = s.Name
	}
	desc := "pkgwarden"
	if owner != "" {
		desc += " " + owner
	}
	// Scope names are plain (letters and ':'); keeping them unescaped
	// keeps the link readable where it is shown.
	return strings.TrimSuffix(githubURL, "/") + "/settings/tokens/new?scopes=" +
		strings.Join(names, ",") + "&description=" + url.QueryEscape(desc)
}

// ServeCommand is the shell line that starts serve with the App written
// into dataDir, on the GitHub at githubURL and apiURL. github.com needs
// only the data dir; an Enterprise Server needs its three URLs, the
// registry's guessed as containers.HOST (subdomain isolation, the usual
// set-up). listen, when set, is where serve takes webhooks.
func ServeCommand(dataDir, githubURL, apiURL, listen string) string {
	env := []string{settings.Prefix + "_DATA_DIR=" + shellQuote(dataDir)}
	if listen != "" {
		env = append(env, settings.Prefix+"_LISTEN="+shellQuote(listen))
	}
	if gh, err := url.Parse(githubURL); err == nil && !isDotCom(gh.Host) {
		env = append(env, settings.Prefix+"_GITHUB_URL="+shellQuote(strings.TrimSuffix(githubURL, "/")))
		env = append(env, settings.Prefix+"_REGISTRY_URL="+shellQuote(gh.Scheme+"://containers."+gh.Host))
	}
	if api := strings.TrimSuffix(apiURL, "/") + "/"; apiURL != "" && api != "https://api.github.com/" {
		env = append(env, settings.Prefix+"_GITHUB_API_URL="+shellQuote(api))
	}
	return strings.Join(env, " ") + " pkgwarden serve"
}

// TokenFileCommand is a shell line that saves the packages token, typed
// or pasted without echo, as the file serve reads for owner, readable by
// its user only: the token stays out of the shell's history and of ps.
func TokenFileCommand(dataDir, owner string) string {
	dir := filepath.Join(dataDir, settings.PackagesTokensDir)
	return "mkdir -p " + shellQuote(dir) + " && (umask 077 && read -rs T && printf '%s\\n' \"$T\" > " +
		shellQuote(filepath.Join(dir, owner)) + ")"
}

func isDotCom(host string) bool {
	return strings.EqualFold(host, "github.com") || strings.EqualFold(host, "www.github.com")
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path and URL characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ownerLogin is the App's owner as GitHub's conversion names it, else the
// organisation register was asked for; "" when it is neither or is not a
// GitHub login (it becomes a file name).
func ownerLogin(cfg *github.AppConfig, org string) string {
	login := cfg.GetOwner().GetLogin()
	if login == "" {
		login = org
	}
	if !isLogin(login) {
		return ""
	}
	return login
}

// isLogin reports whether s has the shape of a GitHub login: letters,
// digits and inner hyphens, at most 39 characters.
func isLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ownerOrPlaceholder names the token file of an unknown owner so that
// the person sees what to put there.
func ownerOrPlaceholder(owner string) string {
	if owner == "" {
		return "OWNER"
	}
	return owner
}

// renderDone writes the callback's page for a registration whose files
// went into dataDir.
func renderDone(w io.Writer, reg Registration, dataDir string) error {
	return registerTmpl.ExecuteTemplate(w, "done", map[string]any{
		"Name": reg.Name, "AppID": reg.AppID, "Slug": reg.Slug, "DataDir": dataDir,
		"Files": reg.Files, "InstallURL": reg.InstallURL, "Owner": reg.Owner,
		"TokenURL": reg.TokenURL, "Scopes": TokenScopes, "ServeCommand": reg.ServeCommand,
		"TokenFile":     TokenFileCommand(dataDir, ownerOrPlaceholder(reg.Owner)),
		"RegistryGuess": strings.Contains(reg.ServeCommand, settings.Prefix+"_REGISTRY_URL="),
	})
}

// withHookURL sets the manifest's webhook URL (hook_attributes.url).
func withHookURL(manifestJSON []byte, hookURL string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(manifestJSON, &m); err != nil {
		return nil, fmt.Errorf("app manifest: %w", err)
	}
	hook, _ := m["hook_attributes"].(map[string]any)
	if hook == nil {
		return nil, errors.New("app manifest: hook_attributes is missing")
	}
	hook["url"] = hookURL
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("app manifest: encode JSON: %w", err)
	}
	return b, nil
}
