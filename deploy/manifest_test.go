package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// appManifest holds the keys GitHub's manifest flow accepts; strict decoding
// rejects any other, which GitHub would silently drop.
type appManifest struct {
	Name           string `yaml:"name" json:"name"`
	URL            string `yaml:"url" json:"url"`
	Description    string `yaml:"description" json:"description"`
	Public         bool   `yaml:"public" json:"public"`
	HookAttributes struct {
		URL    string `yaml:"url" json:"url"`
		Active bool   `yaml:"active" json:"active"`
	} `yaml:"hook_attributes" json:"hook_attributes"`
	RedirectURL           string            `yaml:"redirect_url" json:"redirect_url"`
	CallbackURLs          []string          `yaml:"callback_urls" json:"callback_urls"`
	SetupURL              string            `yaml:"setup_url" json:"setup_url"`
	SetupOnUpdate         bool              `yaml:"setup_on_update" json:"setup_on_update"`
	RequestOAuthOnInstall bool              `yaml:"request_oauth_on_install" json:"request_oauth_on_install"`
	DefaultEvents         []string          `yaml:"default_events" json:"default_events"`
	DefaultPermissions    map[string]string `yaml:"default_permissions" json:"default_permissions"`
}

// placeholderOrigin is what `pkgwarden register` replaces with the public URL.
const placeholderOrigin = "https://pkgwarden.example.com"

func TestAppManifest(t *testing.T) {
	raw, err := os.ReadFile("../app-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m appManifest
	if err := yaml.UnmarshalWithOptions(raw, &m, yaml.Strict()); err != nil {
		t.Fatalf("app-manifest.yml: %v", err)
	}

	t.Run("events", func(t *testing.T) {
		want := []string{"issue_comment", "issues", "pull_request", "push", "registry_package"}
		if got := slices.Sorted(slices.Values(m.DefaultEvents)); !slices.Equal(got, want) {
			t.Errorf("default_events %v, want exactly %v", m.DefaultEvents, want)
		}
	})
	t.Run("least privilege", func(t *testing.T) {
		want := map[string]string{"packages": "read", "issues": "write", "contents": "read", "metadata": "read", "pull_requests": "read", "checks": "write"}
		if !maps.Equal(m.DefaultPermissions, want) {
			t.Errorf("default_permissions %v, want exactly %v", m.DefaultPermissions, want)
		}
	})
	t.Run("webhook", func(t *testing.T) {
		if !m.HookAttributes.Active {
			t.Error("hook_attributes.active is false: no webhooks would arrive")
		}
		if m.HookAttributes.URL != placeholderOrigin+"/webhooks" {
			t.Errorf("hook url %q, want %s/webhooks (serve's intake)", m.HookAttributes.URL, placeholderOrigin)
		}
	})
	t.Run("urls", func(t *testing.T) {
		if m.Name == "" || m.Description == "" {
			t.Error("name and description are required")
		}
		if m.URL == "" {
			t.Error("url (homepage) is required")
		}
		// Every URL the App calls back must be on the placeholder origin, so a
		// single replacement by register points them all at the deployment.
		urls := map[string]string{
			"hook_attributes.url": m.HookAttributes.URL,
			"redirect_url":        m.RedirectURL,
			"setup_url":           m.SetupURL,
		}
		if len(m.CallbackURLs) == 0 {
			t.Error("callback_urls is empty")
		}
		for i, u := range m.CallbackURLs {
			urls[fmt.Sprintf("callback_urls[%d]", i)] = u
		}
		for name, u := range urls {
			p, err := url.Parse(u)
			if err != nil || p.Scheme != "https" || p.Path == "" {
				t.Errorf("%s = %q, want an https URL with a path", name, u)
				continue
			}
			if !strings.HasPrefix(u, placeholderOrigin+"/") {
				t.Errorf("%s = %q, want it under the placeholder %s", name, u, placeholderOrigin)
			}
		}
	})
	t.Run("posts as JSON", func(t *testing.T) {
		// The manifest form takes JSON: the YAML must map onto it one to one.
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		var fromYAML map[string]any
		if err := yaml.Unmarshal(raw, &fromYAML); err != nil {
			t.Fatal(err)
		}
		if got, want := slices.Sorted(maps.Keys(back)), slices.Sorted(maps.Keys(fromYAML)); !slices.Equal(got, want) {
			t.Errorf("JSON keys %v, YAML keys %v", got, want)
		}
	})
}
