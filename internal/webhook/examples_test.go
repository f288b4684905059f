package webhook

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeEnvelopeGitHubExamples: the envelope every event is routed by
// decodes every example payload GitHub publishes for the events
// pkgwarden receives. A push's repository carries organization as a
// login string where other events have an object.
func TestDecodeEnvelopeGitHubExamples(t *testing.T) {
	n := 0
	err := filepath.WalkDir(examplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(examplesDir, path)
		env, err := DecodeEnvelope(b)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if strings.HasPrefix(rel, "push") && env.RepositoryFullName() == "" {
			t.Errorf("%s: no repository full name", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 80 {
		t.Fatalf("%d examples read, want the 84 vendored", n)
	}
}
