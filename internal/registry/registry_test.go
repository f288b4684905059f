package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	testUser  = "pkgwarden-bot"
	testToken = "ghp_registrytoken"
)

// testRegistry is go-containerregistry's registry (referrers API off, as on
// ghcr.io) behind the Docker token exchange ghcr.io uses: /v2/ answers 401
// with a Bearer challenge, /token trades basic auth for a bearer token.
type testRegistry struct {
	server *httptest.Server

	mu          sync.Mutex
	manifestGet int // GETs and HEADs of manifests
	inFlight    int
	maxInFlight int
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != testUser || p != testToken {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"bad credentials"}]}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "bearer-for-" + u})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer bearer-for-"+testUser {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test-registry"`, r.Host))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		isRead := (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.URL.Path, "/manifests/")
		if isRead {
			tr.mu.Lock()
			tr.manifestGet++
			tr.inFlight++
			tr.maxInFlight = max(tr.maxInFlight, tr.inFlight)
			tr.mu.Unlock()
			defer func() {
				tr.mu.Lock()
				tr.inFlight--
				tr.mu.Unlock()
			}()
		}
		reg.ServeHTTP(w, r)
	})
	tr.server = httptest.NewServer(mux)
	t.Cleanup(tr.server.Close)
	return tr
}

func (tr *testRegistry) manifestReads() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.manifestGet
}

func (tr *testRegistry) host() string { return strings.TrimPrefix(tr.server.URL, "http://") }

func (tr *testRegistry) pushOpts() []remote.Option {
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: testUser, Password: testToken})}
}

func ociImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

func dockerImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func platform(s string) *v1.Platform {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		panic(err)
	}
	return p
}

// pushedGraph is what the test pushed, by role.
type pushedGraph struct {
	multi, amd64, arm64, s390x        string // multi-arch OCI index and its images
	outer, inner, riscv, ppc          string // nested: outer index -> {inner index -> ppc, riscv}
	sig                               string // cosign signature tagged sha256-<multi>.sig
	artifact, fallback                string // OCI 1.1 artifact with subject multi; the sha256-<multi> index
	ghost, ghostAMD64, ghostARM64     string // Docker manifest list whose children were deleted
	neverPushed                       string
	artifactType, sigTag, fallbackTag string
}

func push(t testing.TB, tr *testRegistry, repoName string) pushedGraph {
	t.Helper()
	repo, err := name.NewRepository(tr.host() + "/" + repoName)
	if err != nil {
		t.Fatal(err)
	}
	opts := tr.pushOpts()
	var g pushedGraph

	amd64, arm64, s390x := ociImage(t), ociImage(t), ociImage(t)
	multi := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: platform("linux/amd64")}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: platform("linux/arm64/v8")}},
		mutate.IndexAddendum{Add: s390x, Descriptor: v1.Descriptor{Platform: platform("linux/s390x")}},
	)
	if err := remote.WriteIndex(repo.Tag("v1"), multi, opts...); err != nil {
		t.Fatalf("push multi-arch index: %v", err)
	}
	g.multi, g.amd64, g.arm64, g.s390x = digestOf(t, multi), digestOf(t, amd64), digestOf(t, arm64), digestOf(t, s390x)

	ppc, riscv := ociImage(t), ociImage(t)
	inner := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: ppc, Descriptor: v1.Descriptor{Platform: platform("linux/ppc64le")}})
	outer := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: inner},
		mutate.IndexAddendum{Add: riscv, Descriptor: v1.Descriptor{Platform: platform("linux/riscv64")}})
	if err := remote.WriteIndex(repo.Tag("nested"), outer, opts...); err != nil {
		t.Fatalf("push nested index: %v", err)
	}
	g.outer, g.inner, g.ppc, g.riscv = digestOf(t, outer), digestOf(t, inner), digestOf(t, ppc), digestOf(t, riscv)

	sig := ociImage(t)
	g.sigTag = ReferrerTag(g.multi, ReferrerSignature)
	if err := remote.Write(repo.Tag(g.sigTag), sig, opts...); err != nil {
		t.Fatalf("push cosign signature: %v", err)
	}
	g.sig = digestOf(t, sig)

	// An OCI 1.1 artifact: config media type names it, subject points at
	// the release. The registry has no referrers API, so remote.Write
	// maintains the sha256-<hex> fallback index, as it does against ghcr.io.
	g.artifactType = "application/vnd.example.sbom.v1+json"
	art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(g.artifactType))
	multiDesc, err := partialDescriptor(multi)
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.Subject(art, multiDesc).(v1.Image)
	g.artifact = digestOf(t, art)
	if err := remote.Write(repo.Digest(g.artifact), art, opts...); err != nil {
		t.Fatalf("push artifact: %v", err)
	}
	g.fallbackTag = ReferrerTag(g.multi, ReferrerIndex)
	fb, err := remote.Head(repo.Tag(g.fallbackTag), opts...)
	if err != nil {
		t.Fatalf("head fallback tag %s: %v", g.fallbackTag, err)
	}
	g.fallback = fb.Digest.String()

	ga, gb := dockerImage(t), dockerImage(t)
	ghost := mutate.AppendManifests(empty.Index, // Docker manifest list
		mutate.IndexAddendum{Add: ga, Descriptor: v1.Descriptor{Platform: platform("linux/amd64")}},
		mutate.IndexAddendum{Add: gb, Descriptor: v1.Descriptor{Platform: platform("linux/arm64")}})
	ghost = mutate.IndexMediaType(ghost, types.DockerManifestList)
	if err := remote.WriteIndex(repo.Tag("ghost"), ghost, opts...); err != nil {
		t.Fatalf("push ghost index: %v", err)
	}
	g.ghost, g.ghostAMD64, g.ghostARM64 = digestOf(t, ghost), digestOf(t, ga), digestOf(t, gb)
	for _, d := range []string{g.ghostAMD64, g.ghostARM64} {
		if err := remote.Delete(repo.Digest(d), opts...); err != nil {
			t.Fatalf("delete ghost child %s: %v", d, err)
		}
	}
	g.neverPushed = digestOf(t, ociImage(t))
	return g
}

func partialDescriptor(idx v1.ImageIndex) (v1.Descriptor, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := idx.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{Digest: d, MediaType: mt, Size: sz}, nil
}

func TestGraph(t *testing.T) {
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	r, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	// What the versions listing would give: every pushed manifest except
	// the inner index (the graph must follow it) and ppc, one deleted ghost
	// child, and a digest that was never pushed.
	listed := []string{g.multi, g.amd64, g.arm64, g.s390x, g.outer, g.riscv, g.sig, g.artifact, g.fallback,
		g.ghost, g.ghostAMD64, g.neverPushed, "sha256:nothex", g.multi}
	before := tr.manifestReads()
	got, errs, err := r.Graph(context.Background(), "acme/app", listed)
	if err != nil {
		t.Fatalf("Graph: %v", err)
	}

	oci := func(d string) Manifest { return Manifest{Digest: d, MediaType: MediaTypeOCIManifest} }
	want := map[string]Manifest{
		g.multi: {Digest: g.multi, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
			{Digest: g.amd64, MediaType: MediaTypeOCIManifest, Platform: "linux/amd64"},
			{Digest: g.arm64, MediaType: MediaTypeOCIManifest, Platform: "linux/arm64/v8"},
			{Digest: g.s390x, MediaType: MediaTypeOCIManifest, Platform: "linux/s390x"},
		}},
		g.amd64: oci(g.amd64), g.arm64: oci(g.arm64), g.s390x: oci(g.s390x),
		g.outer: {Digest: g.outer, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
			{Digest: g.inner, MediaType: MediaTypeOCIIndex},
			{Digest: g.riscv, MediaType: MediaTypeOCIManifest, Platform: "linux/riscv64"},
		}},
		g.inner: {Digest: g.inner, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
			{Digest: g.ppc, MediaType: MediaTypeOCIManifest, Platform: "linux/ppc64le"},
		}},
		g.riscv:    oci(g.riscv),
		g.sig:      oci(g.sig),
		g.artifact: {Digest: g.artifact, MediaType: MediaTypeOCIManifest, ArtifactType: g.artifactType, Subject: g.multi},
		g.fallback: {Digest: g.fallback, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
			{Digest: g.artifact, MediaType: MediaTypeOCIManifest, ArtifactType: g.artifactType},
		}},
		g.ghost: {Digest: g.ghost, MediaType: MediaTypeDockerManifestList, Children: []Descriptor{
			{Digest: g.ghostAMD64, MediaType: MediaTypeDockerManifest, Platform: "linux/amd64"},
			{Digest: g.ghostARM64, MediaType: MediaTypeDockerManifest, Platform: "linux/arm64"},
		}},
	}
	// Every manifest read knows its sizes; an image lists its config and
	// layers (random sizes: checked apart, then left out of the compare).
	for d, m := range got {
		if !m.SizesKnown || (!m.IsIndex() && len(m.Blobs) == 0) || (m.IsIndex() && len(m.Blobs) != 0) {
			t.Errorf("%s: sizes known %t, %d blobs", d, m.SizesKnown, len(m.Blobs))
		}
		m.Blobs, m.SizesKnown = nil, false
		got[d] = m
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("graph:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}

	if len(errs) != 3 {
		t.Errorf("errors for %d digests, want 3: %v", len(errs), errs)
	}
	for _, d := range []string{g.ghostAMD64, g.neverPushed} {
		if !errors.Is(errs[d], ErrManifestUnknown) {
			t.Errorf("error for %s = %v, want ErrManifestUnknown", d, errs[d])
		}
	}
	if err := errs["sha256:nothex"]; err == nil || errors.Is(err, ErrManifestUnknown) {
		t.Errorf("error for an invalid digest = %v, want a plain error", err)
	}

	// Each distinct valid digest is read once (multi is listed twice), plus
	// the followed inner index: 12 + 1. The ghost's deleted arm64 child is
	// not listed and not an index, so it is not read.
	if n := r.Reads(); n != 13 {
		t.Errorf("Reads() = %d, want 13", n)
	}
	if n := tr.manifestReads() - before; n != 13 {
		t.Errorf("registry saw %d manifest reads, want 13", n)
	}
	if tr.maxInFlight > 3 {
		t.Errorf("%d manifest reads in flight, want at most 3", tr.maxInFlight)
	}

	for _, tag := range []string{g.sigTag, g.fallbackTag} {
		subject, _, ok := ParseReferrerTag(tag)
		if !ok || subject != g.multi {
			t.Errorf("ParseReferrerTag(%s) = %s, %t; want %s", tag, subject, ok, g.multi)
		}
	}
}

func TestGraphWrongCredentials(t *testing.T) {
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	r, err := NewReader(tr.server.URL, Options{Username: testUser, Token: "ghp_wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, errs, err := r.Graph(context.Background(), "acme/app", []string{g.amd64})
	if err != nil {
		t.Fatalf("Graph: %v", err)
	}
	if e := errs[g.amd64]; e == nil || errors.Is(e, ErrManifestUnknown) {
		t.Errorf("error %v, want an authentication failure that is not 'manifest unknown'", e)
	}
	if strings.Contains(fmt.Sprint(errs), "ghp_wrong") {
		t.Errorf("error reveals the token: %v", errs)
	}
}

func TestGraphRejectsBadInput(t *testing.T) {
	tests := map[string]struct {
		url, repo string
	}{
		"url with path":    {url: "https://ghcr.io/v2", repo: "acme/app"},
		"url without host": {url: "ghcr.io", repo: "acme/app"},
		"bad repository":   {url: "https://ghcr.io", repo: "acme/App Name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := NewReader(tc.url, Options{})
			if err != nil {
				return // rejected at construction
			}
			if _, _, err := r.Graph(context.Background(), tc.repo, nil); err == nil {
				t.Errorf("Graph succeeded, want an error")
			}
		})
	}
}
