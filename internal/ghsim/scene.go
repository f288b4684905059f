package ghsim

import (
	"context"
	"fmt"
	"hash/fnv"
	mathrand "math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Setting the scene from Go, for tests and the demo's world: files that
// were always there, the simulated web's URL, images with fixed content,
// and a Pusher that pushes them.

// SeedFile writes content at path on the default branch of owner/repo as
// if it had always been there: no commit, no push webhook, whatever the
// installations. PutFile is the push a user makes.
func (s *Sim) SeedFile(owner, repoName, path, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.repos[lower(owner+"/"+repoName)]
	if r == nil {
		return fmt.Errorf("ghsim: seed file %s: no repo %s/%s", path, owner, repoName)
	}
	if r.Files[r.DefaultBranch] == nil {
		r.Files[r.DefaultBranch] = map[string][]byte{}
	}
	r.Files[r.DefaultBranch][path] = []byte(content)
	return nil
}

// WebURL is the simulated github.com (the API URL + "/web"): html_url
// links and packages' sources (DemoImage's source) point under it.
func (s *Sim) WebURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pkWebURL()
}

// DemoImage makes a small OCI image labelled with its source repository;
// note distinguishes images with the same source. Its content is
// pseudo-random but derived from source and note alone, so the same
// arguments always give the same digest: the demo seed's digests are the
// same from run to run (golden files of `plan --json` depend on it), and
// different notes give different images.
func DemoImage(source, note string) (v1.Image, error) {
	h := fnv.New64a()
	h.Write([]byte(source + "\x00" + note))
	img, err := random.Image(256, 1, random.WithSource(mathrand.NewSource(int64(h.Sum64()))))
	if err != nil {
		return nil, fmt.Errorf("random image: %w", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{
		regSourceLabel:                   source,
		"org.opencontainers.image.title": note,
	}})
	if err != nil {
		return nil, fmt.Errorf("label image %s: %w", note, err)
	}
	return img, nil
}

// DemoIndex makes a multi-arch index (linux/amd64, linux/arm64,
// linux/arm/v7) annotated with its source repository.
func DemoIndex(source string) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, pl := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}} {
		img, err := DemoImage(source, pl.OS+"/"+pl.Architecture+pl.Variant)
		if err != nil {
			return nil, err
		}
		plc := pl
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plc}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	idx = mutate.Annotations(idx, map[string]string{regSourceLabel: source}).(v1.ImageIndex)
	return idx, nil
}

// Pusher pushes images into the simulator's registry in-process (no
// listener needed), authenticated as a user with a classic token, through
// the same token exchange and handlers a real client uses.
type Pusher struct {
	host string
	auth authn.Authenticator
	tr   http.RoundTripper
}

// Pusher returns a Pusher for user's token.
func (s *Sim) Pusher(user, token string) *Pusher {
	s.mu.Lock()
	host := s.opts.RegistryURL
	s.mu.Unlock()
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Host
	}
	// s.registry, not RegistryHandler: setting the scene is never faulted.
	return &Pusher{host: host, auth: &authn.Basic{Username: user, Password: token}, tr: pkHandlerTransport{s.registry}}
}

// Repo is the reference of repository path (owner/name) on this registry.
func (p *Pusher) Repo(path string) string { return p.host + "/" + path }

func (p *Pusher) opts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithAuth(p.auth), remote.WithTransport(p.tr), remote.WithContext(ctx)}
}

// PushImage pushes img to path by digest, then tags it with each tag.
func (p *Pusher) PushImage(ctx context.Context, path string, img v1.Image, tags ...string) (v1.Hash, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image digest: %w", err)
	}
	ref, err := name.NewDigest(p.Repo(path)+"@"+d.String(), name.Insecure)
	if err != nil {
		return d, fmt.Errorf("reference %s: %w", path, err)
	}
	if err := remote.Write(ref, img, p.opts(ctx)...); err != nil {
		return d, fmt.Errorf("push %s: %w", ref, err)
	}
	for _, t := range tags {
		tr, err := name.NewTag(p.Repo(path)+":"+t, name.Insecure)
		if err != nil {
			return d, fmt.Errorf("tag %s: %w", t, err)
		}
		if err := remote.Tag(tr, img, p.opts(ctx)...); err != nil {
			return d, fmt.Errorf("tag %s: %w", tr, err)
		}
	}
	return d, nil
}

// PushIndex pushes idx (and its children, by digest) to path, tagging the
// index with each tag. The children go first, one by one in index order,
// as buildx pushes them: their versions are created in the same order, so
// version ids are the same from run to run (go-containerregistry would
// push them concurrently).
func (p *Pusher) PushIndex(ctx context.Context, path string, idx v1.ImageIndex, tags ...string) (v1.Hash, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("index digest: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return d, fmt.Errorf("index %s manifest: %w", d, err)
	}
	for _, c := range im.Manifests {
		switch {
		case c.MediaType.IsIndex():
			child, err := idx.ImageIndex(c.Digest)
			if err != nil {
				return d, fmt.Errorf("index %s child %s: %w", d, c.Digest, err)
			}
			if _, err := p.PushIndex(ctx, path, child); err != nil {
				return d, err
			}
		case c.MediaType.IsImage():
			child, err := idx.Image(c.Digest)
			if err != nil {
				return d, fmt.Errorf("index %s child %s: %w", d, c.Digest, err)
			}
			if _, err := p.PushImage(ctx, path, child); err != nil {
				return d, err
			}
		}
	}
	ref, err := name.NewDigest(p.Repo(path)+"@"+d.String(), name.Insecure)
	if err != nil {
		return d, fmt.Errorf("reference %s: %w", path, err)
	}
	if err := remote.WriteIndex(ref, idx, p.opts(ctx)...); err != nil {
		return d, fmt.Errorf("push %s: %w", ref, err)
	}
	for _, t := range tags {
		tr, err := name.NewTag(p.Repo(path)+":"+t, name.Insecure)
		if err != nil {
			return d, fmt.Errorf("tag %s: %w", t, err)
		}
		if err := remote.Tag(tr, idx, p.opts(ctx)...); err != nil {
			return d, fmt.Errorf("tag %s: %w", tr, err)
		}
	}
	return d, nil
}

// pkHandlerTransport serves requests with a handler in-process.
type pkHandlerTransport struct{ h http.Handler }

func (t pkHandlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	// The handler speaks plain HTTP only; answering https too would make
	// clients believe the registry is secure and then refuse its http
	// token realm.
	if r.URL.Scheme != "http" {
		return nil, fmt.Errorf("ghsim in-process registry: scheme %q not served", r.URL.Scheme)
	}
	r2 := r.Clone(r.Context())
	if r2.Host == "" {
		r2.Host = r.URL.Host
	}
	if r2.Body == nil {
		r2.Body = http.NoBody // servers always see a body
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r2)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
