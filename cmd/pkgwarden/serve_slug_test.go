package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// Without PKGWARDEN_APP_SLUG (an App registered by hand), serve asks GitHub
// for the App's slug so that the router still knows its own bot.
func TestBotLoginFromGitHub(t *testing.T) {
	w := newE2EWorld(t, ghsim.RateLimits{})
	key, err := os.ReadFile(w.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	app := func(id int64) *githubapi.App {
		a, err := githubapi.NewApp(githubapi.AppConfig{AppID: id, PrivateKey: key, BaseURL: w.srv.URL + "/"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := map[string]struct {
		slug   string
		app    *githubapi.App
		want   string
		logged string
	}{
		"slug configured":        {slug: "mine", app: app(w.sim.AppID()), want: "mine[bot]"},
		"asked of GitHub":        {app: app(w.sim.AppID()), want: ghsim.AppSlug + "[bot]", logged: "app slug from GitHub"},
		"no app at all":          {want: ""},
		"GitHub refuses: warned": {app: app(w.sim.AppID() + 999), want: "", logged: "set PKGWARDEN_APP_SLUG"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			got := botLogin(context.Background(), settings.Settings{AppSlug: tc.slug}, tc.app, slog.New(slog.NewTextHandler(&logs, nil)))
			if got != tc.want {
				t.Errorf("botLogin = %q, want %q", got, tc.want)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log %q, want it to mention %q", logs.String(), tc.logged)
			}
		})
	}
}
