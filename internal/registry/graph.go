// Package registry reads the OCI graph of a container package from a
// registry such as ghcr.io: which manifests an image index references, and
// which artifacts (signatures, attestations, SBOMs) refer to which subject.
package registry

// Manifest is what pkgwarden knows about one manifest, found by its digest.
// It is immutable for a given digest, which is why it can be cached forever.
type Manifest struct {
	// Digest is the content digest, "sha256:<hex>".
	Digest string `json:"digest"`
	// MediaType is the manifest's media type (an image manifest or an index,
	// OCI or Docker v2).
	MediaType string `json:"mediaType"`
	// ArtifactType is the OCI 1.1 artifact type, or the config media type of
	// an artifact manifest, when there is one.
	ArtifactType string `json:"artifactType,omitempty"`
	// Children are the manifests an image index references, in order.
	// Empty for an image manifest.
	Children []Descriptor `json:"children,omitempty"`
	// Subject is the digest of the manifest this one refers to (OCI 1.1
	// "subject"), empty when there is none.
	Subject string `json:"subject,omitempty"`
	// Blobs are the config and layer blobs of an image manifest (an
	// artifact's too), in the manifest's order, as its descriptors name
	// them: what the manifest costs in storage. Empty for an index, whose
	// children are manifests of their own.
	Blobs []Blob `json:"blobs,omitempty"`
	// SizesKnown is true when Blobs is the whole truth: every descriptor
	// of the manifest gave a digest and a size. False for a manifest whose
	// descriptors lack them, and for manifests known from before sizes
	// were read: their storage is unknown, never zero.
	SizesKnown bool `json:"sizesKnown,omitempty"`
}

// Blob is a blob a manifest references: its digest and its size in bytes.
type Blob struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// IsIndex reports whether the manifest is an image index (or a Docker
// manifest list), whose children live and die with it.
func (m Manifest) IsIndex() bool {
	switch m.MediaType {
	case MediaTypeOCIIndex, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// Descriptor is one entry of an index.
type Descriptor struct {
	Digest       string `json:"digest"`
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType,omitempty"`
	// Platform is "os/arch[/variant]", empty when the entry names none
	// (an attestation manifest in a buildx index names "unknown/unknown").
	Platform string `json:"platform,omitempty"`
}

// Media types pkgwarden tells apart.
const (
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
)
