package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

func TestRunSimDemo(t *testing.T) {
	tests := map[string]struct {
		extra []string
		// limit is the X-RateLimit-Limit the API answers with.
		limit int
		// faults is what GET /_admin/faults must show.
		faults string
		// stale is what GET /_admin/stale-listing must show ("0s"
		// unless set).
		stale string
	}{
		"one listener":      {nil, 15000, `"error_rate":0,`, ""},
		"registry listener": {[]string{"--registry-listen", "127.0.0.1:0"}, 15000, `"error_rate":0,`, ""},
		"rate limits":       {[]string{"--rate-limits", "primary=50/1h,secondary=60/1m"}, 50, `"error_rate":0,`, ""},
		// Faults confined to a path the test does not use.
		"faults":        {[]string{"--faults", "error=1,path=/nowhere/,seed=9"}, 15000, `"paths":["/nowhere/"],"seed":9`, ""},
		"stale listing": {[]string{"--stale-listing", "30s"}, 15000, `"error_rate":0,`, "30s"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			dir := t.TempDir()
			infoPath := filepath.Join(dir, "sim.json")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr bytes.Buffer
			done := make(chan error, 1)
			args := append([]string{"--listen", "127.0.0.1:0", "--seed", "demo", "--info-file", infoPath}, tc.extra...)
			go func() { done <- runSim(ctx, args, &stdout, &stderr) }()

			var info simInfo
			testwait.For(t, "the info file", 20*time.Second, func() bool {
				b, err := os.ReadFile(infoPath)
				if err == nil {
					if err := json.Unmarshal(b, &info); err != nil {
						t.Fatalf("info file: %v", err)
					}
					checkInfoKeys(t, b)
					return true
				}
				select {
				case err := <-done:
					t.Fatalf("sim exited: %v\n%s", err, stderr.String())
				default:
				}
				return false
			})
			st, err := os.Stat(info.PrivateKeyPath)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("app key %s: %v %v", info.PrivateKeyPath, st, err)
			}
			if info.AppID == 0 || info.WebhookSecret == "" || info.Tokens["alice"].Token == "" {
				t.Errorf("info: %+v", info)
			}
			c := github.NewClient(nil).WithAuthToken(info.Tokens["alice"].Token)
			c.BaseURL, _ = url.Parse(info.APIURL)
			pkgs, ghResp, err := c.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: github.String("container")})
			if err != nil || len(pkgs) != 1 || pkgs[0].GetName() != "webapp" {
				t.Fatalf("packages: %v %v", pkgs, err)
			}
			if ghResp.Rate.Limit != tc.limit || ghResp.Rate.Remaining != tc.limit-1 {
				t.Errorf("rate %+v, want limit %d", ghResp.Rate, tc.limit)
			}
			fresp, err := http.Get(info.APIURL + "_admin/faults")
			if err != nil {
				t.Fatal(err)
			}
			fb, _ := io.ReadAll(fresp.Body)
			fresp.Body.Close()
			if !strings.Contains(string(fb), tc.faults) {
				t.Errorf("GET /_admin/faults: %s, want %s", fb, tc.faults)
			}
			sresp, err := http.Get(info.APIURL + "_admin/stale-listing")
			if err != nil {
				t.Fatal(err)
			}
			sb, _ := io.ReadAll(sresp.Body)
			sresp.Body.Close()
			if want := cmp.Or(tc.stale, "0s"); !strings.Contains(string(sb), `"stale_listing":"`+want+`"`) {
				t.Errorf("GET /_admin/stale-listing: %s, want %s", sb, want)
			}
			resp, err := http.Get(info.RegistryURL + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer realm=") {
				t.Errorf("registry /v2/: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runSim: %v", err)
			}
		})
	}
}

// checkInfoKeys reads the --info-file as plain JSON, as a script would,
// and checks it against DESIGN.md's list: api_url, registry_url, app_id,
// private_key_path, webhook_secret, and tokens (name → {token, scopes}).
func checkInfoKeys(t *testing.T, b []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("info file is not a JSON object: %v", err)
	}
	for _, k := range []string{"api_url", "registry_url", "private_key_path", "webhook_secret"} {
		if v, ok := m[k].(string); !ok || v == "" {
			t.Errorf("info file %s = %#v, want a non-empty string", k, m[k])
		}
	}
	if id, ok := m["app_id"].(float64); !ok || id <= 0 {
		t.Errorf("info file app_id = %#v, want a positive number", m["app_id"])
	}
	tokens, ok := m["tokens"].(map[string]any)
	if !ok || len(tokens) == 0 {
		t.Fatalf("info file tokens = %#v, want an object of name → {token, scopes}", m["tokens"])
	}
	for name, v := range tokens {
		tok, ok := v.(map[string]any)
		if !ok {
			t.Errorf("token %s = %#v, want {token, scopes}", name, v)
			continue
		}
		if s, ok := tok["token"].(string); !ok || s == "" {
			t.Errorf("token %s has token %#v, want a non-empty string", name, tok["token"])
		}
		scopes, ok := tok["scopes"].([]any)
		if !ok || len(scopes) == 0 {
			t.Errorf("token %s has scopes %#v, want a non-empty list", name, tok["scopes"])
			continue
		}
		var got []string
		for _, sc := range scopes {
			s, _ := sc.(string)
			got = append(got, s)
		}
		if name == "alice" && (!slices.Contains(got, "read:packages") || !slices.Contains(got, "delete:packages")) {
			t.Errorf("token %s has scopes %v, want read:packages and delete:packages among them", name, got)
		}
	}
	if _, ok := tokens["alice"]; !ok {
		t.Errorf("info file tokens %v, want the demo admin alice", tokens)
	}
}

func TestRunSimBadRateLimits(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runSim(context.Background(), []string{"--listen", "127.0.0.1:0", "--rate-limits", "secondary-status=500"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--rate-limits") {
		t.Fatalf("err %v", err)
	}
}

func TestRunSimBadFaults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runSim(context.Background(), []string{"--listen", "127.0.0.1:0", "--faults", "error=2"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--faults") {
		t.Fatalf("err %v", err)
	}
}

// TestRunSimScale: --seed scale:PxV:SEED seeds internal/scaleworld's
// organisation, says so in the info file, and the simulator counts the
// requests it answers by route (GET /_admin/requests).
func TestRunSimScale(t *testing.T) {
	dir := t.TempDir()
	infoPath := filepath.Join(dir, "sim.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	args := []string{"--listen", "127.0.0.1:0", "--seed", "scale:3x60:4", "--info-file", infoPath}
	go func() { done <- runSim(ctx, args, &stdout, &stderr) }()
	var info simInfo
	testwait.For(t, "the info file", 20*time.Second, func() bool {
		b, err := os.ReadFile(infoPath)
		if err == nil {
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatalf("info file: %v", err)
			}
			checkInfoKeys(t, b)
			return true
		}
		select {
		case err := <-done:
			t.Fatalf("sim exited: %v\n%s", err, stderr.String())
		default:
		}
		return false
	})
	if info.Scale == nil || info.Scale.Spec != "3x60:4" || info.Scale.Versions != 180 || info.Scale.Token != info.Tokens["alice"].Token {
		t.Fatalf("info: %+v scale %+v", info, info.Scale)
	}
	c := github.NewClient(nil).WithAuthToken(info.Scale.Token)
	c.BaseURL, _ = url.Parse(info.APIURL)
	pkgs, _, err := c.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: github.String("container")})
	if err != nil || len(pkgs) != 3 || pkgs[0].GetName() != "svc-0000" {
		t.Fatalf("packages: %v %v", pkgs, err)
	}
	resp, err := http.Get(info.APIURL + "_admin/requests")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"route":"GET /orgs/{org}/packages","ok":1,"not_modified":0,"limited":0,"other":0}`; !strings.Contains(string(b), want) {
		t.Errorf("GET /_admin/requests: %s, want %s among the routes", b, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runSim: %v", err)
	}
}
