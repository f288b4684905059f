package demoworld

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// TestSeedBrokenImages: the seed holds one broken release of each kind,
// read over HTTP as pkgwarden and a puller see them. Both tags still pull
// an index of three platforms, and one platform of each answers 404
// MANIFEST_UNKNOWN; Nightly's is listed with state=deleted (restorable),
// Legacy's is listed nowhere (gone past the window); the other platforms
// are active untagged versions.
func TestSeedBrokenImages(t *testing.T) {
	s, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	api := httptest.NewServer(s.APIHandler())
	defer api.Close()
	reg := httptest.NewServer(s.RegistryHandler())
	defer reg.Close()
	s.SetURLs(api.URL, reg.URL)
	info, err := Seed(context.Background(), s)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	listed := func(state string) map[string]bool {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/orgs/acme/packages/container/webapp/versions?per_page=100&state="+state, nil)
		req.Header.Set("Authorization", "token "+info.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var vs []struct {
			Name string `json:"name"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&vs); err != nil || len(vs) == 100 {
			t.Fatalf("list %s: %d versions, %v", state, len(vs), err)
		}
		out := map[string]bool{}
		for _, v := range vs {
			out[v.Name] = true
		}
		return out
	}
	active, deleted := listed("active"), listed("deleted")
	auth := remote.WithAuth(&authn.Basic{Username: info.Admin, Password: info.Token})
	ref := func(r string) name.Reference {
		t.Helper()
		n, err := name.ParseReference(strings.TrimPrefix(reg.URL, "http://")+"/acme/webapp"+r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		tag, missing string // the platform another tool deleted
		restorable   bool
	}{
		{Nightly, "linux/arm64", true},
		{Legacy, "linux/arm/v7", false},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			idx, err := remote.Index(ref(":"+tc.tag), auth)
			if err != nil {
				t.Fatalf("pull %s: %v", tc.tag, err)
			}
			d, _ := idx.Digest()
			if !active[d.String()] {
				t.Errorf("index %s of %s not listed active", d, tc.tag)
			}
			var b Broken
			for _, x := range info.Broken {
				if x.Tag == tc.tag {
					b = x
				}
			}
			if b.Index != d.String() || b.Platform != tc.missing || b.Gone == tc.restorable {
				t.Errorf("Info.Broken for %s: %+v, want index %s, platform %s, gone %t", tc.tag, b, d, tc.missing, !tc.restorable)
			}
			im, err := idx.IndexManifest()
			if err != nil || len(im.Manifests) != 3 {
				t.Fatalf("index of %s: %v %v, want 3 platforms", tc.tag, im, err)
			}
			for _, m := range im.Manifests {
				digest, platform := m.Digest.String(), m.Platform.String()
				_, err := remote.Get(ref("@"+digest), auth)
				if platform != tc.missing {
					if err != nil || !active[digest] {
						t.Errorf("%s %s: pull %v, listed active %t; want it whole", tc.tag, platform, err, active[digest])
					}
					continue
				}
				if digest != b.Digest {
					t.Errorf("%s %s: digest %s, Info.Broken says %s", tc.tag, platform, digest, b.Digest)
				}
				var te *transport.Error
				if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound || len(te.Errors) != 1 || te.Errors[0].Code != transport.ManifestUnknownErrorCode {
					t.Errorf("%s %s: pull %v, want 404 MANIFEST_UNKNOWN", tc.tag, platform, err)
				}
				if active[digest] || deleted[digest] != tc.restorable {
					t.Errorf("%s %s: listed active %t, deleted %t; want deleted %t", tc.tag, platform, active[digest], deleted[digest], tc.restorable)
				}
			}
		})
	}
}
