package registry

import (
	"strings"
)

// ReferrerKind says what a referrer tag points at its subject.
type ReferrerKind string

// Referrer tag kinds. ghcr.io has no referrers API, so referrers hang off
// tags named after their subject's digest.
const (
	// ReferrerIndex is the OCI tag-schema fallback "sha256-<hex>": an image
	// index listing the manifests whose subject is that digest.
	ReferrerIndex ReferrerKind = "index"
	// ReferrerSignature is cosign's "sha256-<hex>.sig".
	ReferrerSignature ReferrerKind = "sig"
	// ReferrerAttestation is cosign's "sha256-<hex>.att".
	ReferrerAttestation ReferrerKind = "att"
	// ReferrerSBOM is cosign's "sha256-<hex>.sbom".
	ReferrerSBOM ReferrerKind = "sbom"
)

// ParseReferrerTag recognises a referrer tag and returns the subject digest
// ("sha256:<hex>") and kind. Only sha256 is recognised: the OCI fallback
// truncates longer digests to fit the 128-character tag limit, so their tags
// cannot be mapped back to a digest.
func ParseReferrerTag(tag string) (subject string, kind ReferrerKind, ok bool) {
	rest, found := strings.CutPrefix(tag, "sha256-")
	if !found || len(rest) < 64 || !isLowerHex(rest[:64]) {
		return "", "", false
	}
	subject = "sha256:" + rest[:64]
	switch rest[64:] {
	case "":
		return subject, ReferrerIndex, true
	case ".sig":
		return subject, ReferrerSignature, true
	case ".att":
		return subject, ReferrerAttestation, true
	case ".sbom":
		return subject, ReferrerSBOM, true
	}
	return "", "", false
}

// ReferrerTag returns the tag a referrer of kind hangs off for subject
// ("sha256:<hex>"), or "" when subject is not a sha256 digest.
func ReferrerTag(subject string, kind ReferrerKind) string {
	hex, ok := strings.CutPrefix(subject, "sha256:")
	if !ok || len(hex) != 64 || !isLowerHex(hex) {
		return ""
	}
	switch kind {
	case ReferrerIndex:
		return "sha256-" + hex
	case ReferrerSignature, ReferrerAttestation, ReferrerSBOM:
		return "sha256-" + hex + "." + string(kind)
	}
	return ""
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
