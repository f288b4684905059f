package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// examplesDir holds GitHub's own example payloads (octokit/webhooks),
// vendored for the simulator's conformance tests.
var examplesDir = filepath.Join("..", "ghsim", "testdata", "github", "webhooks", "examples")

// withInstallation adds an installation to an example (GitHub's examples
// are repository hooks' deliveries, without one) and lets edit change the
// package object.
func withInstallation(t *testing.T, file, key string, edit func(pkg map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["installation"] = map[string]any{"id": 42}
	if edit != nil {
		edit(m[key].(map[string]any))
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTargetOwnerFromOwnerLogin: the package's owner is owner.login, never
// namespace, which GitHub sends as "owner/repo" (the examples have
// "Codertocat/hello-world" next to owner "Codertocat"), nor the
// organization or the repository's owner: with owner.login empty the
// event names no owner and is refused.
func TestTargetOwnerFromOwnerLogin(t *testing.T) {
	noLogin := func(p map[string]any) { p["owner"].(map[string]any)["login"] = "" }
	noOwner := func(p map[string]any) { delete(p, "owner") }
	tests := map[string]struct {
		event, file string
		edit        func(map[string]any)
		wantOwner   string
		wantErr     error
	}{
		"registry_package example":            {event: EventRegistryPackage, file: "registry_package/published.docker.payload.json", wantOwner: "Codertocat"},
		"package docker example":              {event: EventPackage, file: "package/published.docker.payload.json", wantOwner: "Codertocat"},
		"package npm example":                 {event: EventPackage, file: "package/published.npm.payload.json", wantOwner: "Codertocat"},
		"registry_package, owner.login empty": {event: EventRegistryPackage, file: "registry_package/published.docker.payload.json", edit: noLogin, wantErr: ErrIncomplete},
		"package docker, owner.login empty":   {event: EventPackage, file: "package/published.docker.payload.json", edit: noLogin, wantErr: ErrIncomplete},
		"package npm, no owner object":        {event: EventPackage, file: "package/published.npm.payload.json", edit: noOwner, wantErr: ErrIncomplete},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev, err := DecodePackageEvent(tc.event, withInstallation(t, tc.file, tc.event, tc.edit))
			if err != nil {
				t.Fatalf("DecodePackageEvent: %v", err)
			}
			got, err := ev.Target()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Target = %+v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Target: %v", err)
			}
			if got.Owner != tc.wantOwner {
				t.Errorf("Target.Owner = %q, want %q (namespace %q)", got.Owner, tc.wantOwner, ev.Package.Namespace)
			}
		})
	}
}
