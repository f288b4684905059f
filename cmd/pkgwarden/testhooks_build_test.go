package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testHooksMark is in every name the test instrumentation reads from the
// environment, so it is in any binary that carries testhooks.go.
const testHooksMark = "PKGWARDEN_TEST_"

// TestNormalBuildHasNoTestHooks builds pkgwarden as a user does, without
// build tags, and fails if the test instrumentation (testhooks.go: job
// recording, tracing, the prune handler replaced) is in the binary. The
// binary TestMain built with the tag must carry it, so that the check is
// known to see it when it is there.
func TestNormalBuildHasNoTestHooks(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH, so no normal build can be made to inspect: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "pkgwarden")
	// -tags= overrides any -tags a GOFLAGS of the environment would add.
	if out, err := exec.CommandContext(ctx, gobin, "build", "-tags=", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	normal, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(normal, []byte(testHooksMark)); n != 0 {
		t.Errorf("a normal build of pkgwarden contains %q %d times: the test instrumentation of testhooks.go is in the production binary (it must compile only with -tags %s)", testHooksMark, n, testHooksTag)
	}
	instrumented, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(instrumented, []byte(testHooksMark)) {
		t.Errorf("the binary built with -tags %s does not contain %q: this check would not see the instrumentation, or the tests run a binary without it", testHooksTag, testHooksMark)
	}
}
