package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

func TestKVCacheSparesRegistryReads(t *testing.T) {
	ctx := context.Background()
	js := queuetest.Start(t, "", queuetest.Config()).Queue.JS
	cache, err := OpenKVCache(ctx, js, "pkgwarden-manifests", 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	listed := []string{g.multi, g.amd64, g.arm64, g.s390x, g.outer, g.riscv, g.sig, g.artifact, g.fallback, g.ghost}

	first, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	want, errs, err := first.Graph(ctx, "acme/app", listed)
	if err != nil || len(errs) != 0 {
		t.Fatalf("first Graph: %v, %v", err, errs)
	}
	if n := first.Reads(); n != int64(len(listed)+1) { // + the followed inner index
		t.Fatalf("first Graph read %d manifests, want %d", n, len(listed)+1)
	}

	// Another replica, same bucket: nothing goes to the registry.
	second, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	before := tr.manifestReads()
	got, errs, err := second.Graph(ctx, "acme/app", listed)
	if err != nil || len(errs) != 0 {
		t.Fatalf("second Graph: %v, %v", err, errs)
	}
	if n := second.Reads(); n != 0 {
		t.Errorf("second Graph read %d manifests, want 0", n)
	}
	if n := tr.manifestReads() - before; n != 0 {
		t.Errorf("registry saw %d manifest reads, want 0", n)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("graph from the cache differs:\n%v\nwant\n%v", got, want)
	}

	// The key is the digest with '.' for ':', readable by anyone.
	kv, err := js.KeyValue(ctx, "pkgwarden-manifests")
	if err != nil {
		t.Fatal(err)
	}
	key, err := CacheKey(g.multi)
	if err != nil {
		t.Fatal(err)
	}
	if key != "sha256."+g.multi[len("sha256:"):] {
		t.Errorf("CacheKey(%s) = %s", g.multi, key)
	}
	if _, err := kv.Get(ctx, key); err != nil {
		t.Errorf("kv.Get(%s): %v", key, err)
	}
}

func TestCaches(t *testing.T) {
	ctx := context.Background()
	js := queuetest.Start(t, "", queuetest.Config()).Queue.JS
	kv, err := OpenKVCache(ctx, js, "manifests-roundtrip", 1)
	if err != nil {
		t.Fatal(err)
	}
	const d = "sha256:0810eb3e00a7f0f490359d601487898b69d19d9b0d2ba3137ea0e2a1a39f116d"
	m := Manifest{Digest: d, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
		{Digest: "sha256:c8b194279fa2c2055fc18b639f98ee863e94e302914c41564f85c7896e59eb4e", MediaType: MediaTypeOCIManifest, Platform: "linux/amd64"},
		{Digest: "sha256:236fbb7112dea25ae43d4840711ac6cf4023193b745e2a6e607758a84576f3a1", MediaType: MediaTypeOCIManifest, Platform: "unknown/unknown"},
	}}
	back, err := OpenKVCache(ctx, js, "manifests-tiered", 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Cache{"memory": NewMemoryCache(), "nats kv": kv, "tiered": Tiered{Front: NewMemoryCacheSize(1), Back: back}} {
		t.Run(name, func(t *testing.T) {
			if _, ok, err := c.Get(ctx, d); ok || err != nil {
				t.Fatalf("Get before Put = %t, %v; want a miss", ok, err)
			}
			if err := c.Put(ctx, d, m); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, ok, err := c.Get(ctx, d)
			if !ok || err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("Get = %+v, %t, %v; want %+v", got, ok, err, m)
			}
			got.Children[0].Digest = "mutated"
			again, _, _ := c.Get(ctx, d)
			if again.Children[0].Digest == "mutated" {
				t.Errorf("changing a returned manifest changed the cache")
			}
		})
	}
	if err := kv.Put(ctx, "sha256:NOT-HEX", m); err == nil {
		t.Errorf("Put with a bad digest succeeded")
	}
}

// TestMemoryCacheBounded: a MemoryCache keeps at most its size, the most
// recently used; a Tiered cache finds what its front let go in its back,
// and brings it to the front again.
func TestMemoryCacheBounded(t *testing.T) {
	ctx := context.Background()
	const size = 100
	front := NewMemoryCacheSize(size)
	back := NewMemoryCacheSize(10 * size)
	tiered := Tiered{Front: front, Back: back}
	digest := func(i int) string { return fmt.Sprintf("sha256:%064x", i) }
	for i := range 5 * size {
		if err := tiered.Put(ctx, digest(i), Manifest{Digest: digest(i), MediaType: MediaTypeOCIManifest}); err != nil {
			t.Fatal(err)
		}
		if i == size/2 {
			// Used again: it stays while others come.
			for range 2 {
				if _, ok, _ := front.Get(ctx, digest(0)); !ok {
					t.Fatalf("digest 0 gone from the front after %d puts", i+1)
				}
			}
		}
	}
	if front.Len() != size || back.Len() != 5*size {
		t.Errorf("front holds %d, back %d; want %d and %d", front.Len(), back.Len(), size, 5*size)
	}
	for _, tc := range []struct {
		i                 int
		inFront, inTiered bool
	}{{5*size - 1, true, true}, {4 * size, true, true}, {4*size - 1, false, true}, {1, false, true}} {
		if _, ok, _ := front.Get(ctx, digest(tc.i)); ok != tc.inFront {
			t.Errorf("digest %d in the front: %t, want %t", tc.i, ok, tc.inFront)
		}
		if m, ok, _ := tiered.Get(ctx, digest(tc.i)); ok != tc.inTiered || m.Digest != digest(tc.i) {
			t.Errorf("digest %d through the tiers: %t %q", tc.i, ok, m.Digest)
		}
		if _, ok, _ := front.Get(ctx, digest(tc.i)); !ok {
			t.Errorf("digest %d not brought to the front by a read through the tiers", tc.i)
		}
	}
}

func TestCacheKey(t *testing.T) {
	tests := map[string]struct {
		digest, want string
		ok           bool
	}{
		"sha256":     {digest: "sha256:abc123", want: "sha256.abc123", ok: true},
		"sha512":     {digest: "sha512:00ff", want: "sha512.00ff", ok: true},
		"no colon":   {digest: "sha256-abc"},
		"upper hex":  {digest: "sha256:ABC"},
		"wildcard":   {digest: "sha256:*"},
		"empty":      {digest: ""},
		"dot in alg": {digest: "sha.256:ab"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := CacheKey(tc.digest)
			if tc.ok != (err == nil) || got != tc.want {
				t.Errorf("CacheKey(%q) = %q, %v; want %q (ok %t)", tc.digest, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseReferrerTag(t *testing.T) {
	const hex = "272481fcfbe3d95e9199c001da8503e4d0cbd76756f4b6b4ae319efa006b8927"
	tests := map[string]struct {
		tag     string
		subject string
		kind    ReferrerKind
	}{
		"fallback index":     {tag: "sha256-" + hex, subject: "sha256:" + hex, kind: ReferrerIndex},
		"cosign signature":   {tag: "sha256-" + hex + ".sig", subject: "sha256:" + hex, kind: ReferrerSignature},
		"cosign attestation": {tag: "sha256-" + hex + ".att", subject: "sha256:" + hex, kind: ReferrerAttestation},
		"cosign sbom":        {tag: "sha256-" + hex + ".sbom", subject: "sha256:" + hex, kind: ReferrerSBOM},
		"other suffix":       {tag: "sha256-" + hex + ".txt"},
		"short hex":          {tag: "sha256-" + hex[:63]},
		"upper hex":          {tag: "sha256-" + "A" + hex[1:]},
		"plain tag":          {tag: "latest"},
		"sha- build tag":     {tag: "sha-" + hex[:7]},
		"sha512":             {tag: "sha512-" + hex + hex},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			subject, kind, ok := ParseReferrerTag(tc.tag)
			if ok != (tc.kind != "") || subject != tc.subject || kind != tc.kind {
				t.Errorf("ParseReferrerTag(%q) = %q, %q, %t; want %q, %q", tc.tag, subject, kind, ok, tc.subject, tc.kind)
			}
			if ok {
				if back := ReferrerTag(subject, kind); back != tc.tag {
					t.Errorf("ReferrerTag(%s, %s) = %q, want %q", subject, kind, back, tc.tag)
				}
			}
		})
	}
}

func TestDecodeManifest(t *testing.T) {
	const d = "sha256:0810eb3e00a7f0f490359d601487898b69d19d9b0d2ba3137ea0e2a1a39f116d"
	const child = "sha256:c8b194279fa2c2055fc18b639f98ee863e94e302914c41564f85c7896e59eb4e"
	tests := map[string]struct {
		contentType, raw string
		want             Manifest
	}{
		"buildx index with attestation": {
			raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
				{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + child + `","size":1,"platform":{"architecture":"amd64","os":"linux"}},
				{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + child + `","size":1,"platform":{"architecture":"unknown","os":"unknown"},
				 "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}`,
			want: Manifest{Digest: d, MediaType: MediaTypeOCIIndex, Children: []Descriptor{
				{Digest: child, MediaType: MediaTypeOCIManifest, Platform: "linux/amd64"},
				{Digest: child, MediaType: MediaTypeOCIManifest, Platform: "unknown/unknown"},
			}, SizesKnown: true},
		},
		"artifactType field wins": {
			raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
				"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + child + `","size":2},"subject":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"` + child + `","size":1}}`,
			want: Manifest{Digest: d, MediaType: MediaTypeOCIManifest, ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json", Subject: child,
				Blobs: []Blob{{Digest: child, Size: 2}}, SizesKnown: true},
		},
		"no mediaType field, Content-Type says index": {
			contentType: MediaTypeOCIIndex,
			raw:         `{"schemaVersion":2,"manifests":[]}`,
			want:        Manifest{Digest: d, MediaType: MediaTypeOCIIndex, Children: []Descriptor{}, SizesKnown: true},
		},
		"no mediaType anywhere, shaped like a manifest: sizes unknown": {
			raw:  `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"}}`,
			want: Manifest{Digest: d, MediaType: MediaTypeOCIManifest},
		},
		"image: config and layers, in order": {
			raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
				"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c1","size":1469},
				"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:l1","size":3623807},
				          {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:l2","size":0}]}`,
			want: Manifest{Digest: d, MediaType: MediaTypeOCIManifest, SizesKnown: true,
				Blobs: []Blob{{Digest: "sha256:c1", Size: 1469}, {Digest: "sha256:l1", Size: 3623807}, {Digest: "sha256:l2", Size: 0}}},
		},
		"a layer without a size: sizes unknown, not zero": {
			raw: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
				"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c1","size":10},
				"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:l1"}]}`,
			want: Manifest{Digest: d, MediaType: MediaTypeDockerManifest, Blobs: []Blob{{Digest: "sha256:c1", Size: 10}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeManifest(d, tc.contentType, []byte(tc.raw))
			if err != nil {
				t.Fatalf("decodeManifest: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := decodeManifest(d, "", []byte("{")); err == nil {
		t.Errorf("decoding broken JSON succeeded")
	}
}

func TestGraphCancelled(t *testing.T) {
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	r, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Graph(ctx, "acme/app", []string{g.multi}); !errors.Is(err, context.Canceled) {
		t.Errorf("Graph with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestOptionsNeverPrintToken(t *testing.T) {
	o := Options{Username: "bot", Token: "ghp_supersecret"}
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v %#v %s", o, o, o)} {
		if strings.Contains(s, "supersecret") {
			t.Errorf("printed the token: %s", s)
		}
	}
}

// An entry written before manifests kept their blob sizes is a miss: the
// manifest is read once more, with its sizes, and written over the old
// entry, so that a package's storage is not unknown forever.
func TestKVCacheRereadsEntriesWithoutSizes(t *testing.T) {
	ctx := context.Background()
	js := queuetest.Start(t, "", queuetest.Config()).Queue.JS
	cache, err := OpenKVCache(ctx, js, "manifests-v0", 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	kv, err := js.KeyValue(ctx, "manifests-v0")
	if err != nil {
		t.Fatal(err)
	}
	key, err := CacheKey(g.amd64)
	if err != nil {
		t.Fatal(err)
	}
	// What the cache held before: no "v", no blobs.
	old := `{"digest":"` + g.amd64 + `","mediaType":"` + MediaTypeOCIManifest + `"}`
	if _, err := kv.Put(ctx, key, []byte(old)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := cache.Get(ctx, g.amd64); ok || err != nil {
		t.Fatalf("Get of an entry without sizes = %t, %v; want a miss", ok, err)
	}
	r, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Manifest(ctx, "acme/app", g.amd64)
	if err != nil {
		t.Fatal(err)
	}
	if !m.SizesKnown || len(m.Blobs) == 0 || r.Reads() != 1 {
		t.Fatalf("read again: sizes known %t, %d blobs, %d reads; want known, some blobs, 1 read", m.SizesKnown, len(m.Blobs), r.Reads())
	}
	got, ok, err := cache.Get(ctx, g.amd64)
	if !ok || err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("entry after the read = %+v, %t, %v; want %+v", got, ok, err, m)
	}
	if _, err := r.Manifest(ctx, "acme/app", g.amd64); err != nil || r.Reads() != 1 {
		t.Errorf("second read: %v, %d reads in all; want 1", err, r.Reads())
	}
}
