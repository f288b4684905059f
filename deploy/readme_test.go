package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmePaths keeps deploy/README.md honest: every deploy/ path it names
// exists, and every deployment file is named in it.
func TestReadmePaths(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	named := regexp.MustCompile(`deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_]`).FindAllString(text, -1)
	if len(named) == 0 {
		t.Fatal("README names no deploy/ path")
	}
	for _, p := range named {
		if _, err := os.Stat(filepath.Join("..", p)); err != nil {
			t.Errorf("README names %s: %v", p, err)
		}
	}
	files, err := filepath.Glob("*/*")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "Dockerfile")
	for _, f := range files {
		if filepath.Dir(f) == "testdata" {
			continue
		}
		if !strings.Contains(text, filepath.Base(f)) && !strings.Contains(text, f) {
			t.Errorf("README does not mention %s", f)
		}
	}
}
