package ghsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-github/v57/github"
)

// regRef is a reference on the world's registry listener.
func (w *pkWorld) regRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(w.reg.URL, "http://")+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (w *pkWorld) auth(tokName string) remote.Option {
	if tokName == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: "x", Password: w.tokens[tokName]})
}

// apiVersions lists a package's versions through go-github (state active
// or deleted), as map digest → tags.
func (w *pkWorld) apiVersions(t *testing.T, tok, org, pkgName, state string) map[string][]string {
	t.Helper()
	vs, _, err := w.client(t, tok).Organizations.PackageGetAllVersions(context.Background(), org, "container",
		pkURLEscape(pkgName), &github.PackageListOptions{State: github.String(state), ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatalf("list versions of %s: %v", pkgName, err)
	}
	out := map[string][]string{}
	for _, v := range vs {
		tags := v.GetMetadata().GetContainer().Tags
		sort.Strings(tags)
		out[v.GetName()] = tags
	}
	return out
}

func pkURLEscape(s string) string { return strings.ReplaceAll(s, "/", "%2F") }

func TestRegistryPushes(t *testing.T) {
	w := newPkWorld(t, Options{})
	src := w.sim.pkWebURL() + "/acme/webapp"
	idx, err := DemoIndex(src)
	if err != nil {
		t.Fatal(err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice := w.auth("alice")

	// A multi-arch index: 1 + 3 versions, the tag on the index only.
	if err := remote.WriteIndex(w.regRef(t, "acme/multi:v1.0.0"), idx, alice); err != nil {
		t.Fatalf("push index: %v", err)
	}
	got := w.apiVersions(t, "alice", "acme", "multi", "active")
	if len(got) != 4 {
		t.Fatalf("versions after index push: %v, want 4", got)
	}
	if tags := got[idxDigest.String()]; len(tags) != 1 || tags[0] != "v1.0.0" {
		t.Errorf("index tags %v, want [v1.0.0]", tags)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if tags, ok := got[m.Digest.String()]; !ok || len(tags) != 0 {
			t.Errorf("child %s: present %v tags %v, want untagged", m.Digest, ok, tags)
		}
	}
	p, _, err := w.client(t, "alice").Organizations.GetPackage(ctx, "acme", "container", "multi")
	if err != nil {
		t.Fatal(err)
	}
	if p.GetRepository().GetFullName() != "acme/webapp" {
		t.Errorf("package repository %q, want acme/webapp (from the source annotation)", p.GetRepository().GetFullName())
	}

	// A cosign-style signature tag is a version like any other.
	sigTag := strings.Replace(idxDigest.String(), ":", "-", 1) + ".sig"
	sig, err := DemoImage(src, "sig")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(w.regRef(t, "acme/multi:"+sigTag), sig, alice); err != nil {
		t.Fatalf("push signature: %v", err)
	}
	sigDigest, _ := sig.Digest()
	if tags := w.apiVersions(t, "alice", "acme", "multi", "active")[sigDigest.String()]; len(tags) != 1 || tags[0] != sigTag {
		t.Errorf("signature tags %v, want [%s]", tags, sigTag)
	}

	// A referrer with a subject: with no referrers API the client writes
	// the sha256-<hex> fallback index, which shows up as a tagged version.
	att, err := DemoImage(src, "attestation")
	if err != nil {
		t.Fatal(err)
	}
	desc := v1.Descriptor{MediaType: im.MediaType, Digest: idxDigest}
	rawIdx, _ := idx.RawManifest()
	desc.Size = int64(len(rawIdx))
	att = mutate.Subject(att, desc).(v1.Image)
	attDigest, _ := att.Digest()
	if err := remote.Write(w.regRef(t, "acme/multi@"+attDigest.String()), att, alice); err != nil {
		t.Fatalf("push referrer: %v", err)
	}
	got = w.apiVersions(t, "alice", "acme", "multi", "active")
	if tags, ok := got[attDigest.String()]; !ok || len(tags) != 0 {
		t.Errorf("referrer: present %v tags %v, want an untagged version", ok, tags)
	}
	fallback := strings.Replace(idxDigest.String(), ":", "-", 1)
	found := false
	for d, tags := range got {
		if len(tags) == 1 && tags[0] == fallback {
			found = true
			fb, err := remote.Index(w.regRef(t, "acme/multi:"+fallback), alice)
			if err != nil {
				t.Fatalf("read fallback index: %v", err)
			}
			fbm, _ := fb.IndexManifest()
			if len(fbm.Manifests) != 1 || fbm.Manifests[0].Digest != attDigest {
				t.Errorf("fallback index %s lists %v, want the referrer", d, fbm.Manifests)
			}
		}
	}
	if !found {
		t.Errorf("no version tagged %s among %v", fallback, got)
	}

	// Tags move: latest on one image, then on another.
	a, _ := DemoImage(src, "a")
	b, _ := DemoImage(src, "b")
	for _, img := range []v1.Image{a, b} {
		if err := remote.Write(w.regRef(t, "acme/multi:latest"), img, alice); err != nil {
			t.Fatal(err)
		}
	}
	ad, _ := a.Digest()
	bd, _ := b.Digest()
	got = w.apiVersions(t, "alice", "acme", "multi", "active")
	if len(got[ad.String()]) != 0 || len(got[bd.String()]) != 1 {
		t.Errorf("after moving latest: a %v b %v", got[ad.String()], got[bd.String()])
	}
}

func TestRegistryDeleteRestore(t *testing.T) {
	w := newPkWorld(t, Options{})
	ctx := context.Background()
	alice := w.auth("alice")
	img, err := DemoImage("", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(w.regRef(t, "acme/team/app:rel"), img, alice); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	var id int64
	vs, err := w.sim.Versions("acme", "container", orgContainer)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == d.String() {
			id = v.ID
		}
	}
	heads := func() map[string]int {
		out := map[string]int{}
		for _, r := range []string{"acme/team/app@" + d.String(), "acme/team/app:rel"} {
			desc, err := remote.Head(w.regRef(t, r), alice)
			var te *transport.Error
			switch {
			case err == nil && desc.Digest == d:
				out[r] = http.StatusOK
			case errors.As(err, &te):
				out[r] = te.StatusCode
			default:
				t.Fatalf("head %s: %v %v", r, desc, err)
			}
			if _, err := remote.Get(w.regRef(t, r), alice); err == nil && out[r] != http.StatusOK ||
				err != nil && out[r] == http.StatusOK {
				t.Errorf("GET and HEAD of %s disagree: get err %v, head %d", r, err, out[r])
			}
		}
		return out
	}
	c := w.client(t, "alice")
	steps := []struct {
		label string
		do    func() (*github.Response, error)
		want  int
	}{
		{"delete", func() (*github.Response, error) {
			return c.Organizations.PackageDeleteVersion(ctx, "acme", "container", pkURLEscape(orgContainer), id)
		}, http.StatusNotFound},
		{"restore", func() (*github.Response, error) {
			return c.Organizations.PackageRestoreVersion(ctx, "acme", "container", pkURLEscape(orgContainer), id)
		}, http.StatusOK},
	}
	for _, st := range steps {
		if _, err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.label, err)
		}
		for r, code := range heads() {
			if code != st.want {
				t.Errorf("after %s: %s answers %d, want %d", st.label, r, code, st.want)
			}
		}
	}
}

func TestRegistryAccess(t *testing.T) {
	w := newPkWorld(t, Options{})
	img, err := DemoImage("", "access")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sim.SetPackage("carol", "container", userContainer, "public", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		tok    string
		ref    string
		push   bool
		status int // 0: success
	}{
		"installation token cannot push":       {"install", "acme/team/app:x", true, http.StatusForbidden},
		"installation token cannot pull":       {"install", "acme/team/app:v1", false, http.StatusForbidden},
		"anonymous pulls a public package":     {"", "carol/hello_docker:v1", false, 0},
		"anonymous cannot pull private":        {"", "acme/team/app:v1", false, http.StatusUnauthorized},
		"outsider cannot pull private":         {"dave", "acme/team/app:v1", false, http.StatusForbidden},
		"outsider cannot push to an org":       {"dave", "acme/team/app:x", true, http.StatusForbidden},
		"member pulls":                         {"bob", "acme/team/app:v1", false, 0},
		"token without write cannot push":      {"alice-read", "acme/team/app:x", true, http.StatusForbidden},
		"token without packages cannot pull":   {"alice-repo-only", "acme/team/app:v1", false, http.StatusForbidden},
		"unknown tag":                          {"alice", "acme/team/app:nope", false, http.StatusNotFound},
		"bad token is refused at the exchange": {"bogus", "acme/team/app:v1", false, http.StatusUnauthorized},
	}
	w.tokens["bogus"] = "ghp_bogus"
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var err error
			if tc.push {
				err = remote.Write(w.regRef(t, tc.ref), img, w.auth(tc.tok))
			} else {
				_, err = remote.Get(w.regRef(t, tc.ref), w.auth(tc.tok))
			}
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != tc.status {
				t.Fatalf("want status %d, got %v", tc.status, err)
			}
		})
	}
}

// pkHookReceiver records webhook deliveries.
type pkHookReceiver struct {
	mu   sync.Mutex
	reqs []pkRecordedHook
}

type pkRecordedHook struct {
	header http.Header
	body   []byte
}

func (h *pkHookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.reqs = append(h.reqs, pkRecordedHook{r.Header.Clone(), b})
	h.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func TestRegistryPushWebhook(t *testing.T) {
	rcv := &pkHookReceiver{}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	const secret = "s3cret"
	w := newPkWorld(t, Options{WebhookSecret: secret})
	w.sim.SetWebhookURL(hooks.URL)
	img, err := DemoImage(w.sim.pkWebURL()+"/acme/webapp", "hook")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(w.regRef(t, "acme/team/app:v9"), img, w.auth("alice")); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.WaitDeliveries(context.Background()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.reqs) != 1 {
		t.Fatalf("%d webhooks, want exactly 1", len(rcv.reqs))
	}
	h := rcv.reqs[0]
	if got, want := h.header.Get("X-Hub-Signature-256"), Sign(secret, h.body); got != want || !strings.HasPrefix(got, "sha256=") {
		t.Errorf("signature %q, want %q", got, want)
	}
	if h.header.Get("X-GitHub-Event") != "registry_package" || h.header.Get("X-GitHub-Delivery") == "" {
		t.Errorf("headers: %v", h.header)
	}
	var p struct {
		Action       string `json:"action"`
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		RegistryPackage struct {
			Name           string `json:"name"`
			Namespace      string `json:"namespace"`
			PackageType    string `json:"package_type"`
			Ecosystem      string `json:"ecosystem"`
			PackageVersion struct {
				ID                int64  `json:"id"`
				Version           string `json:"version"`
				PackageURL        string `json:"package_url"`
				ContainerMetadata struct {
					Tag struct {
						Name   string `json:"name"`
						Digest string `json:"digest"`
					} `json:"tag"`
				} `json:"container_metadata"`
			} `json:"package_version"`
		} `json:"registry_package"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Organization struct {
			Login string `json:"login"`
		} `json:"organization"`
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
	}
	if err := json.Unmarshal(h.body, &p); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	rp := p.RegistryPackage
	if p.Action != "published" || p.Installation.ID != w.installation || rp.Name != orgContainer ||
		rp.Namespace != "acme/webapp" || rp.PackageType != "CONTAINER" || rp.Ecosystem != "CONTAINER" ||
		rp.PackageVersion.ContainerMetadata.Tag.Name != "v9" || rp.PackageVersion.ContainerMetadata.Tag.Digest != d.String() ||
		rp.PackageVersion.Version != d.String() || rp.PackageVersion.ID == 0 ||
		p.Repository.FullName != "acme/webapp" || p.Organization.Login != "acme" || p.Sender.Login != "alice" {
		t.Errorf("payload: %+v", p)
	}
	ds := w.sim.Deliveries()
	if len(ds) != 1 || ds[0].StatusCode != http.StatusAccepted || ds[0].Status != "OK" || ds[0].GUID != h.header.Get("X-GitHub-Delivery") {
		t.Errorf("delivery log: %+v", ds)
	}
}
