package jobstest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Media types of the manifests the benchmarks seed.
const (
	OCIImage = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex = "application/vnd.oci.image.index.v1+json"
)

// ImageManifest is a distinct image manifest naming Source; the blobs it
// names are never read by a prune, so benchmarks do not store them.
func ImageManifest(note string) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[],"annotations":{"org.opencontainers.image.source":%q,"note":%q}}`,
		OCIImage, 0, Source, note))
}

// Digest is the sha256 digest of b, as a registry names it.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ProcStatusMiB reads one kB field of /proc/self/status ("VmHWM:") in MiB;
// -1 if unreadable.
func ProcStatusMiB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}

// PeakRSSMiB is the process's peak resident set (VmHWM) in MiB.
func PeakRSSMiB() float64 { return ProcStatusMiB("VmHWM:") }

// ResetPeakRSS sets VmHWM back to the current RSS (Linux: writing 5 to
// clear_refs), so a peak read later is that of what ran since.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
