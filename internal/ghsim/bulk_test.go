package ghsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
)

const (
	bulkImageType = "application/vnd.oci.image.manifest.v1+json"
	bulkIndexType = "application/vnd.oci.image.index.v1+json"
)

func bulkImage(n string) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[],"annotations":{"n":%q}}`, bulkImageType, 0, n))
}

// TestAddContainerManifests: the bulk seed makes versions and manifests a
// client reads back, moves tags like pushes, sends no webhook, and refuses
// an index whose children are missing.
func TestAddContainerManifests(t *testing.T) {
	w := newPkWorld(t, Options{})
	a, b := bulkImage("a"), bulkImage("b")
	da, db := digestOf(a), digestOf(b)
	idx := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d},{"mediaType":%q,"digest":%q,"size":%d}]}`,
		bulkIndexType, bulkImageType, da, len(a), bulkImageType, db, len(b)))
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := w.sim.AddContainerManifests("acme", "bulk", "webapp", []ContainerManifest{
		{MediaType: bulkImageType, Body: a, Tags: []string{"latest"}},
		{MediaType: bulkImageType, Body: b, CreatedAt: old},
		{MediaType: bulkIndexType, Body: idx, Tags: []string{"v1", "latest"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != da || got[1] != db {
		t.Fatalf("digests %v", got)
	}
	vs, err := w.sim.Versions("acme", "container", "bulk")
	if err != nil || len(vs) != 3 {
		t.Fatalf("versions %+v %v", vs, err)
	}
	tags := map[string]string{}
	for _, v := range vs {
		tags[v.Name] = strings.Join(v.Tags, ",")
		if v.Name == db && !v.CreatedAt.Equal(old) {
			t.Errorf("created %s, want %s", v.CreatedAt, old)
		}
	}
	if tags[da] != "" || tags[got[2]] != "v1,latest" {
		t.Errorf("tags %v: latest must have moved to the index", tags)
	}
	opts := []crane.Option{crane.Insecure, crane.WithAuth(&authn.Basic{Username: "alice", Password: w.tokens["alice"]})}
	host := strings.TrimPrefix(w.reg.URL, "http://")
	body, err := crane.Manifest(host+"/acme/bulk:v1", opts...)
	if err != nil || string(body) != string(idx) {
		t.Errorf("pull v1: %v, %s", err, body)
	}
	if n := len(w.sim.Deliveries()); n != 0 {
		t.Errorf("%d webhooks sent", n)
	}
	orphan := []byte(strings.Replace(string(idx), da, "sha256:"+strings.Repeat("1", 64), 1))
	if _, err := w.sim.AddContainerManifests("acme", "bulk", "", []ContainerManifest{{MediaType: bulkIndexType, Body: orphan}}); err == nil {
		t.Error("an index with a missing child was stored")
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
