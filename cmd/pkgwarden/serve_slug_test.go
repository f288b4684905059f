package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// Without PKGWARDEN_APP_SLUG (an App registered by hand), serve asks GitHub
// for the App's slug so that the router still knows its own bot.
func TestBotLoginFromGitHub(t *testing.T) {
	w := newE2EWorld(t, ghsim.RateLimits{})
	base := settings.Settings{AppID: w.sim.AppID(), PrivateKeyPath: w.keyPath, GitHubAPIURL: w.srv.URL + "/"}
	tests := map[string]struct {
		change func(*settings.Settings)
		want   string
		logged string
	}{
		"slug configured":        {change: func(s *settings.Settings) { s.AppSlug = "mine" }, want: "mine[bot]"},
		"asked of GitHub":        {change: func(*settings.Settings) {}, want: ghsim.AppSlug + "[bot]", logged: "app slug from GitHub"},
		"no app at all":          {change: func(s *settings.Settings) { s.AppID = 0 }, want: ""},
		"key unreadable: warned": {change: func(s *settings.Settings) { s.PrivateKeyPath = filepath.Join(t.TempDir(), "none.pem") }, want: "", logged: "set PKGWARDEN_APP_SLUG"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := base
			tc.change(&s)
			var logs bytes.Buffer
			got := botLogin(context.Background(), s, slog.New(slog.NewTextHandler(&logs, nil)))
			if got != tc.want {
				t.Errorf("botLogin = %q, want %q", got, tc.want)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log %q, want it to mention %q", logs.String(), tc.logged)
			}
		})
	}
}
