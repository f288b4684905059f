package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrManifestUnknown matches (errors.Is) the error of a manifest the
// registry does not have: never pushed, or hidden because its version was
// deleted. Ghost and partial indexes are normal, so callers tell this apart
// from a failure to read.
var ErrManifestUnknown = errors.New("manifest unknown")

// Options configure NewReader.
type Options struct {
	// Username and Token are sent as basic auth to the registry's token
	// endpoint (the Docker token exchange, as ghcr.io does it). Both empty
	// means anonymous.
	Username string
	Token    string
	// Transport is the base transport; nil means go-containerregistry's
	// remote.DefaultTransport.
	Transport http.RoundTripper
	// Concurrency bounds parallel manifest reads; default 8.
	Concurrency int
	// Cache, when set, is consulted before the registry and filled after.
	Cache  Cache
	Logger *slog.Logger
	// UserAgent is added to requests; default "pkgwarden".
	UserAgent string
}

// Reader reads manifests of one registry. It is safe for concurrent use.
type Reader struct {
	host     string
	insecure bool
	puller   *remote.Puller
	cache    Cache
	limit    int
	logger   *slog.Logger
	reads    atomic.Int64
}

// NewReader returns a Reader for the registry at registryURL, e.g.
// "https://ghcr.io" or "http://127.0.0.1:5000". An http URL is used as is
// (plain HTTP), which is meant for a registry on the loopback interface.
func NewReader(registryURL string, opts Options) (*Reader, error) {
	host, insecure, ropts, err := remoteOptions(registryURL, opts)
	if err != nil {
		return nil, err
	}
	r := &Reader{host: host, insecure: insecure, cache: opts.Cache, limit: opts.Concurrency, logger: opts.Logger}
	if r.limit <= 0 {
		r.limit = 8
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	// One Puller per Reader: it keeps the registry token per repository
	// instead of exchanging credentials for every manifest.
	r.puller, err = remote.NewPuller(append(ropts, remote.WithJobs(r.limit))...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	return r, nil
}

// remoteOptions parses the registry URL and turns Options into
// go-containerregistry options.
func remoteOptions(registryURL string, opts Options) (host string, insecure bool, ropts []remote.Option, err error) {
	u, err := url.Parse(registryURL)
	if err != nil {
		return "", false, nil, fmt.Errorf("registry url %q: %w", registryURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, nil, fmt.Errorf("registry url %q: want http(s)://host[:port]", registryURL)
	}
	auth := authn.Anonymous
	if opts.Username != "" || opts.Token != "" {
		auth = &authn.Basic{Username: opts.Username, Password: opts.Token}
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "pkgwarden"
	}
	ropts = []remote.Option{remote.WithAuth(auth), remote.WithUserAgent(ua)}
	if opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(opts.Transport))
	}
	return u.Host, u.Scheme == "http", ropts, nil
}

func repositoryName(host string, insecure bool, repo string) (name.Repository, error) {
	nopts := []name.Option{name.StrictValidation}
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	// Registry repositories are lower case; GitHub owners need not be.
	return name.NewRepository(host+"/"+strings.ToLower(repo), nopts...)
}

// Reads returns how many manifests were requested from the registry (cache
// hits are not counted). On ghcr.io each read counts as a download.
func (r *Reader) Reads() int64 { return r.reads.Load() }

func (r *Reader) repository(repo string) (name.Repository, error) {
	return repositoryName(r.host, r.insecure, repo)
}

// Manifest reads one manifest by digest, from the cache when it is there.
func (r *Reader) Manifest(ctx context.Context, repository, digest string) (Manifest, error) {
	repo, err := r.repository(repository)
	if err != nil {
		return Manifest{}, fmt.Errorf("registry repository %q: %w", repository, err)
	}
	return r.manifest(ctx, repo, digest)
}

func (r *Reader) manifest(ctx context.Context, repo name.Repository, digest string) (Manifest, error) {
	if _, err := v1.NewHash(digest); err != nil {
		return Manifest{}, fmt.Errorf("manifest %s in %s: not a digest: %w", digest, repo, err)
	}
	if r.cache != nil {
		m, ok, err := r.cache.Get(ctx, digest)
		switch {
		case err != nil:
			// The registry is the truth; a broken cache only costs reads.
			r.logger.WarnContext(ctx, "manifest cache get failed", "digest", digest, "err", err)
		case ok:
			return m, nil
		}
	}
	r.reads.Add(1)
	desc, err := r.puller.Get(ctx, repo.Digest(digest))
	if err != nil {
		if isNotFound(err) {
			return Manifest{}, fmt.Errorf("manifest %s in %s: %w (%v)", digest, repo, ErrManifestUnknown, err)
		}
		return Manifest{}, fmt.Errorf("read manifest %s in %s: %w", digest, repo, err)
	}
	m, err := decodeManifest(digest, string(desc.MediaType), desc.Manifest)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest %s in %s: %w", digest, repo, err)
	}
	if r.cache != nil {
		if err := r.cache.Put(ctx, digest, m); err != nil {
			r.logger.WarnContext(ctx, "manifest cache put failed", "digest", digest, "err", err)
		}
	}
	return m, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}

// wireManifest holds the fields pkgwarden reads of an image manifest or an
// index, OCI or Docker.
type wireManifest struct {
	MediaType    string     `json:"mediaType"`
	ArtifactType string     `json:"artifactType"`
	Config       *wireBlob  `json:"config"`
	Layers       []wireBlob `json:"layers"`
	Subject      *struct {
		Digest string `json:"digest"`
	} `json:"subject"`
	Manifests []struct {
		Digest       string `json:"digest"`
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
		Platform     *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

// wireBlob is a config or layer descriptor of a manifest.
type wireBlob struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      *int64 `json:"size"`
}

// blobsOf lists the config and layer blobs of an image manifest from its
// descriptors; known is false when one lacks a digest or a size (a
// manifest GitHub would not take, but the registry is not ours to trust).
func blobsOf(w wireManifest) (blobs []Blob, known bool) {
	known = true
	add := func(b wireBlob) {
		if b.Digest == "" || b.Size == nil || *b.Size < 0 {
			known = false
			return
		}
		blobs = append(blobs, Blob{Digest: b.Digest, Size: *b.Size})
	}
	if w.Config != nil {
		add(*w.Config)
	}
	for _, l := range w.Layers {
		add(l)
	}
	return blobs, known
}

// Config media types of runnable images; any other config media type marks
// an artifact (the OCI 1.1 rule when artifactType is absent).
var imageConfigTypes = map[string]bool{
	"application/vnd.oci.image.config.v1+json":       true,
	"application/vnd.docker.container.image.v1+json": true,
	// The OCI empty descriptor carries no type of its own; artifactType
	// is then required, so it never names the artifact.
	"application/vnd.oci.empty.v1+json": true,
}

func decodeManifest(digest, contentType string, raw []byte) (Manifest, error) {
	var w wireManifest
	if err := json.Unmarshal(raw, &w); err != nil {
		return Manifest{}, fmt.Errorf("decode manifest: %w", err)
	}
	m := Manifest{Digest: digest, MediaType: w.MediaType, ArtifactType: w.ArtifactType}
	if m.MediaType == "" {
		// mediaType is optional in OCI manifests; the registry's
		// Content-Type, then the shape, say what it is.
		m.MediaType = contentType
		if m.MediaType == "" || !knownManifestType(m.MediaType) {
			m.MediaType = MediaTypeOCIManifest
			if w.Manifests != nil {
				m.MediaType = MediaTypeOCIIndex
			}
		}
	}
	if w.Subject != nil {
		m.Subject = w.Subject.Digest
	}
	if m.IsIndex() {
		m.Children = make([]Descriptor, 0, len(w.Manifests))
		for _, c := range w.Manifests {
			d := Descriptor{Digest: c.Digest, MediaType: c.MediaType, ArtifactType: c.ArtifactType}
			if imageConfigTypes[d.ArtifactType] {
				// Some writers (go-containerregistry among them) copy an
				// image's config media type into its index entry; that names
				// a runnable image, not an artifact.
				d.ArtifactType = ""
			}
			if p := c.Platform; p != nil && (p.OS != "" || p.Architecture != "") {
				d.Platform = p.OS + "/" + p.Architecture
				if p.Variant != "" {
					d.Platform += "/" + p.Variant
				}
			}
			m.Children = append(m.Children, d)
		}
		m.SizesKnown = true // an index's storage is its children's
		return m, nil
	}
	m.Blobs, m.SizesKnown = blobsOf(w)
	if m.ArtifactType == "" && w.Config != nil && w.Config.MediaType != "" && !imageConfigTypes[w.Config.MediaType] {
		m.ArtifactType = w.Config.MediaType
	}
	return m, nil
}

func knownManifestType(mt string) bool {
	switch mt {
	case MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeDockerManifestList, MediaTypeDockerManifest:
		return true
	}
	return false
}

func isIndexType(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// Graph reads the manifests of digests in repository (e.g. "acme/app"),
// and follows the children of indexes that are themselves indexes (nested
// indexes) when they are not in digests, so that the whole graph under every
// listed index is known. Image manifests that are only children are not
// read: their descriptor in the index says enough, and every read is a
// download on ghcr.io.
//
// It returns the manifests read (listed and followed), and per digest the
// error of each one that could not be read: errors.Is(err,
// ErrManifestUnknown) for a manifest the registry does not have. The error
// result is for the call as a whole: a bad repository name or a cancelled
// context.
func (r *Reader) Graph(ctx context.Context, repository string, digests []string) (map[string]Manifest, map[string]error, error) {
	repo, err := r.repository(repository)
	if err != nil {
		return nil, nil, fmt.Errorf("registry repository %q: %w", repository, err)
	}
	found := map[string]Manifest{}
	failed := map[string]error{}
	seen := map[string]bool{}
	var batch []string
	for _, d := range digests {
		if !seen[d] {
			seen[d] = true
			batch = append(batch, d)
		}
	}
	for len(batch) > 0 {
		results := r.readAll(ctx, repo, batch)
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("read graph of %s: %w", repo, err)
		}
		var next []string
		for i, d := range batch {
			res := results[i]
			if res.err != nil {
				failed[d] = res.err
				continue
			}
			found[d] = res.m
			for _, c := range res.m.Children {
				if isIndexType(c.MediaType) && !seen[c.Digest] {
					seen[c.Digest] = true
					next = append(next, c.Digest)
				}
			}
		}
		batch = next
	}
	return found, failed, nil
}

type readResult struct {
	m   Manifest
	err error
}

// readAll reads digests with at most r.limit reads in flight.
func (r *Reader) readAll(ctx context.Context, repo name.Repository, digests []string) []readResult {
	results := make([]readResult, len(digests))
	sem := make(chan struct{}, r.limit)
	var wg sync.WaitGroup
	for i, d := range digests {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := r.manifest(ctx, repo, d)
			results[i] = readResult{m: m, err: err}
		}()
	}
	wg.Wait()
	return results
}

// String describes the options without the token, should they be printed.
func (o Options) String() string {
	return fmt.Sprintf("registry options (user %q, token set %t, concurrency %d, cache %t)", o.Username, o.Token != "", o.Concurrency, o.Cache != nil)
}

// GoString keeps %#v from printing the token.
func (o Options) GoString() string { return o.String() }
