package ghsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestSeedDemo(t *testing.T) {
	rcv := &pkHookReceiver{}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	s, err := New(Options{WebhookURL: hooks.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	info, err := s.SeedDemo(ctx)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	vs, err := s.Versions("acme", "container", "webapp")
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	var untaggedAges []time.Duration
	tags := map[string]bool{}
	deleted := map[string]bool{}
	for _, v := range vs {
		for _, tag := range v.Tags {
			if v.Deleted {
				deleted[tag] = true
			} else {
				tags[tag] = true
			}
		}
		if len(v.Tags) == 0 && !v.Deleted {
			untaggedAges = append(untaggedAges, now.Sub(v.CreatedAt))
		}
	}
	fallback := strings.Replace(info.IndexDigest, ":", "-", 1)
	for _, want := range []string{"v1.0.0", "latest", fallback, fallback + ".sig", "pr-41", "pr-42", "pr-57"} {
		if !tags[want] {
			t.Errorf("no active version tagged %s; tags %v", want, tags)
		}
	}
	if !deleted["v0.9.0"] || tags["v0.9.0"] {
		t.Errorf("v0.9.0 should be deleted: active %v deleted %v", tags, deleted)
	}
	// 3 platform manifests, the attestation, and 8 builds are untagged.
	if len(untaggedAges) != 12 {
		t.Errorf("%d untagged versions, want 12", len(untaggedAges))
	}
	sort.Slice(untaggedAges, func(i, j int) bool { return untaggedAges[i] < untaggedAges[j] })
	if untaggedAges[0] > 3*time.Hour || untaggedAges[len(untaggedAges)-1] < 20*24*time.Hour {
		t.Errorf("untagged ages do not spread: %v", untaggedAges)
	}
	npm, err := s.Versions("acme", "npm", info.NPMPackage)
	if err != nil || len(npm) != 7 {
		t.Errorf("npm versions: %d %v", len(npm), err)
	}
	s.mu.Lock()
	cfg := string(s.st.repos["acme/webapp"].Files["main"][".github/pkgwarden.yml"])
	policy := string(s.st.repos["acme/.github"].Files["main"][".github/pkgwarden.yml"])
	linked := s.st.packages[pkgKey{Owner: "acme", Type: "container", Name: "webapp"}].Repository
	s.mu.Unlock()
	if !strings.Contains(cfg, `delete_tags: ["pr-*"]`) || !strings.Contains(policy, "policy:") {
		t.Errorf("config files: %q %q", cfg, policy)
	}
	if linked != "acme/webapp" {
		t.Errorf("webapp linked to %q", linked)
	}
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("seeding sent %d webhooks, want none", n)
	}
	// The seed's token works against the API.
	api := httptest.NewServer(s.APIHandler())
	defer api.Close()
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/orgs/acme/packages/container/webapp/versions?state=deleted", nil)
	req.Header.Set("Authorization", "token "+info.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("deleted listing with the demo token: %d", resp.StatusCode)
	}
}
