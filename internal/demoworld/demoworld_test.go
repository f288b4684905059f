package demoworld

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

func TestSeed(t *testing.T) {
	// A receiver, so that a webhook would be sent and show in Deliveries.
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer hooks.Close()
	s, err := ghsim.New(ghsim.Options{WebhookURL: hooks.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	info, err := Seed(ctx, s)
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
	var oldDeletedAt time.Time
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
		if v.Deleted && slices.Contains(v.Tags, "v0.9.0") {
			oldDeletedAt = v.DeletedAt
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
	// 3 platform manifests, the attestation, 8 builds and the 2 platforms
	// left of each broken release are untagged.
	if len(untaggedAges) != 16 {
		t.Errorf("%d untagged versions, want 16", len(untaggedAges))
	}
	sort.Slice(untaggedAges, func(i, j int) bool { return untaggedAges[i] < untaggedAges[j] })
	if untaggedAges[0] > 3*time.Hour || untaggedAges[len(untaggedAges)-1] < 20*24*time.Hour {
		t.Errorf("untagged ages do not spread: %v", untaggedAges)
	}
	checkRelease(t, s, info, vs)
	npm, err := s.Versions("acme", "npm", info.NPMPackage)
	if err != nil || len(npm) != 7 {
		t.Errorf("npm versions: %d %v", len(npm), err)
	}
	var pre, final []string
	for _, v := range npm {
		if v.Prerelease {
			pre = append(pre, v.Name)
		} else {
			final = append(final, v.Name)
		}
	}
	sort.Strings(pre)
	if want := []string{"1.1.0-beta.1", "1.1.0-beta.2", "1.1.0-rc.1", "1.2.0-alpha.1", "1.2.0-alpha.2"}; !slices.Equal(pre, want) {
		t.Errorf("npm pre-releases %v, want %v (releases %v)", pre, want, final)
	}
	if ago := now.Sub(oldDeletedAt); ago < 3*24*time.Hour-time.Minute || ago > 3*24*time.Hour+time.Minute {
		t.Errorf("v0.9.0 deleted %s ago, want 3 days", ago)
	}
	// The files and the package's repository, read through the API with
	// the seed's token: that it works is checked below as well.
	api := httptest.NewServer(s.APIHandler())
	defer api.Close()
	get := func(path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, api.URL+path, nil)
		req.Header.Set("Authorization", "token "+info.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	_, cfg := get("/_raw/acme/webapp/main/.github/pkgwarden.yml")
	_, policy := get("/_raw/acme/.github/main/.github/pkgwarden.yml")
	if !strings.Contains(string(cfg), `delete_tags: ["pr-*"]`) || !strings.Contains(string(policy), "policy:") {
		t.Errorf("config files: %q %q", cfg, policy)
	}
	_, pkg := get("/orgs/acme/packages/container/webapp")
	var p struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(pkg, &p); err != nil {
		t.Fatalf("package: %v: %s", err, pkg)
	}
	if linked := p.Repository.FullName; linked != "acme/webapp" {
		t.Errorf("webapp linked to %q", linked)
	}
	if err := s.WaitDeliveries(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Deliveries()); n != 0 {
		t.Errorf("seeding sent %d webhooks, want none", n)
	}
	// The seed's token works against the API.
	if code, _ := get("/orgs/acme/packages/container/webapp/versions?state=deleted"); code != http.StatusOK {
		t.Errorf("deleted listing with the demo token: %d", code)
	}
}

// checkRelease reads the demo release through the registry: v1.0.0
// and latest tag one index over three platform manifests, each an untagged
// version of the package, and the attestation is the one referrer listed
// under the index's sha256-<hex> tag, with the index as its subject.
func checkRelease(t *testing.T, s *ghsim.Sim, info Info, vs []ghsim.PackageVersion) {
	t.Helper()
	reg := httptest.NewServer(s.RegistryHandler())
	defer reg.Close()
	auth := remote.WithAuth(&authn.Basic{Username: info.Admin, Password: info.Token})
	ref := func(r string) name.Reference {
		t.Helper()
		n, err := name.ParseReference(strings.TrimPrefix(reg.URL, "http://")+"/acme/webapp"+r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	untagged := map[string]bool{}
	for _, v := range vs {
		if !v.Deleted && len(v.Tags) == 0 {
			untagged[v.Name] = true
		}
		if !v.Deleted && (slices.Contains(v.Tags, "v1.0.0") || slices.Contains(v.Tags, "latest")) {
			if v.Name != info.IndexDigest || !slices.Contains(v.Tags, "v1.0.0") || !slices.Contains(v.Tags, "latest") {
				t.Errorf("version %s has tags %v; want v1.0.0 and latest together on the index %s", v.Name, v.Tags, info.IndexDigest)
			}
		}
	}
	idx, err := remote.Index(ref(":v1.0.0"), auth)
	if err != nil {
		t.Fatalf("read v1.0.0: %v", err)
	}
	if d, err := idx.Digest(); err != nil || d.String() != info.IndexDigest {
		t.Errorf("v1.0.0 is %v (%v), want %s", d, err, info.IndexDigest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 3 {
		t.Errorf("the release index lists %d manifests, want 3 platforms", len(im.Manifests))
	}
	platforms := map[string]bool{}
	for _, m := range im.Manifests {
		if !untagged[m.Digest.String()] {
			t.Errorf("platform manifest %s is not an untagged version of the package", m.Digest)
		}
		if m.Platform != nil {
			platforms[m.Platform.String()] = true
		}
	}
	if len(platforms) != 3 {
		t.Errorf("platforms %v, want 3 distinct", platforms)
	}

	fallback := ":" + strings.Replace(info.IndexDigest, ":", "-", 1)
	fb, err := remote.Index(ref(fallback), auth)
	if err != nil {
		t.Fatalf("read the referrers tag %s: %v", fallback, err)
	}
	fbm, err := fb.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(fbm.Manifests) != 1 {
		t.Fatalf("the referrers tag lists %d manifests, want the attestation alone", len(fbm.Manifests))
	}
	attDigest := fbm.Manifests[0].Digest
	if !untagged[attDigest.String()] {
		t.Errorf("attestation %s is not an untagged version of the package", attDigest)
	}
	att, err := remote.Image(ref("@"+attDigest.String()), auth)
	if err != nil {
		t.Fatalf("read the attestation: %v", err)
	}
	am, err := att.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if am.Subject == nil || am.Subject.Digest.String() != info.IndexDigest {
		t.Errorf("attestation subject %v, want the index %s", am.Subject, info.IndexDigest)
	}
	if am.Config.MediaType != "application/vnd.in-toto+json" {
		t.Errorf("attestation config media type %s, want in-toto", am.Config.MediaType)
	}
}
