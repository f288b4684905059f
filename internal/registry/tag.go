package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Tagger points tags at manifests already in the registry. GitHub does not
// promise that a restored version gets back the tags it had; where it does
// not, pkgwarden gives back the ones no other version holds by pushing the
// same manifest under the tag. That needs a
// token with write:packages.
type Tagger struct {
	host     string
	insecure bool
	puller   *remote.Puller
	pusher   *remote.Pusher
}

// NewTagger returns a Tagger for the registry at registryURL (see
// NewReader). Options.Cache and Concurrency are not used.
func NewTagger(registryURL string, opts Options) (*Tagger, error) {
	host, insecure, ropts, err := remoteOptions(registryURL, opts)
	if err != nil {
		return nil, err
	}
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	return &Tagger{host: host, insecure: insecure, puller: puller, pusher: pusher}, nil
}

// Tag makes tag point at the manifest digest in repository, moving it if it
// pointed elsewhere. A digest the registry does not have fails with an
// error matching ErrManifestUnknown.
func (t *Tagger) Tag(ctx context.Context, repository, digest, tag string) error {
	repo, err := repositoryName(t.host, t.insecure, repository)
	if err != nil {
		return fmt.Errorf("registry repository %q: %w", repository, err)
	}
	if _, err := v1.NewHash(digest); err != nil {
		return fmt.Errorf("tag %s in %s: %q is not a digest: %w", tag, repo, digest, err)
	}
	ref, err := name.NewTag(repo.String()+":"+tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("tag %q in %s: %w", tag, repo, err)
	}
	desc, err := t.puller.Get(ctx, repo.Digest(digest))
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("tag %s in %s: manifest %s: %w (%v)", tag, repo, digest, ErrManifestUnknown, err)
		}
		return fmt.Errorf("tag %s in %s: read manifest %s: %w", tag, repo, digest, err)
	}
	// Put sends the manifest only: everything it references is already there.
	if err := t.pusher.Put(ctx, ref, desc); err != nil {
		return fmt.Errorf("tag %s in %s: put manifest %s: %w", tag, repo, digest, err)
	}
	return nil
}
