package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlanDiffGolden: plan --config NEW --diff and --against OLD print
// the difference over the demo seed, as text and as JSON.
func TestPlanDiffGolden(t *testing.T) {
	url, token, _ := demoSim(t)
	tests := map[string]struct {
		args   []string
		golden string
	}{
		// webapp's file with delete_tags ["*"] against the committed one.
		"repository file": {[]string{"--repo", "webapp", "--config", "testdata/plan-diff-star.yml", "--diff"}, "plan-diff-star.golden.txt"},
		"repository json": {[]string{"--repo", "webapp", "--config", "testdata/plan-diff-star.yml", "--diff", "--json"}, "plan-diff-star.golden.json"},
		// The owner's floor raised to 60 days, against a file whose
		// threshold is 2.
		"owner's policy": {[]string{"--config", "testdata/plan-diff-owner.yml", "--against", "testdata/plan-diff-old-owner.yml"}, "plan-diff-owner.golden.txt"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", demoAt.Format(time.RFC3339)}, tc.args...)
			if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("GITHUB_TOKEN", token)); err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr.String())
			}
			golden(t, tc.golden, stdout.Bytes())
			if strings.HasSuffix(tc.golden, ".json") && !json.Valid(stdout.Bytes()) {
				t.Errorf("--json is not JSON")
			}
		})
	}
}

// TestPlanDiffErrors: either file's errors name the flag, the file, the
// line and the column; --against needs --config.
func TestPlanDiffErrors(t *testing.T) {
	url, token, _ := demoSim(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("rules:\n  - packages: [\"webapp\"]\n    prune: {untagged: yes please}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "testdata/plan-diff-star.yml"
	base := []string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--repo", "webapp"}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"new invalid":         {[]string{"--config", bad, "--diff"}, "--config " + bad + ": " + bad + ":3:23: rules[0].prune.untagged: must be true or false"},
		"old invalid":         {[]string{"--config", good, "--against", bad}, "--against " + bad + ": " + bad + ":3:23: rules[0].prune.untagged: must be true or false"},
		"old missing":         {[]string{"--config", good, "--against", filepath.Join(dir, "nope.yml")}, "--against: open"},
		"against alone":       {[]string{"--against", good}, "give --config"},
		"diff without config": {[]string{"--diff"}, "give --config"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runPlanEnv(context.Background(), append(base, tc.args...), &stdout, &stderr, env("GITHUB_TOKEN", token))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
