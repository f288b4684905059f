package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestPlanWarnsOfMissingScopes: plan reads with read:packages alone, and
// then says on stderr what the token lacks to prune and restore what it
// listed, from GitHub's X-OAuth-Scopes; the plan itself is unchanged.
func TestPlanWarnsOfMissingScopes(t *testing.T) {
	url, token, sim := demoSim(t)
	tests := map[string]struct {
		scopes []string
		want   string // on stderr; "" for nothing at all
	}{
		"read only": {scopes: []string{"read:packages"},
			want: "warning: the token lacks delete:packages, write:packages, which pkgwarden needs to prune and restore these packages (it has: read:packages)."},
		"write, no delete": {scopes: []string{"write:packages"},
			want: "warning: the token lacks delete:packages,"},
		"every scope": {scopes: []string{"read:packages", "write:packages", "delete:packages", "repo"}},
	}
	for _, label := range []string{"read only", "write, no delete", "every scope"} { // one simulator, one token: in turn
		tc := tests[label]
		t.Run(label, func(t *testing.T) {
			if err := sim.SetTokenScopes(token, tc.scopes...); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			args := []string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", demoAt.Format(time.RFC3339)}
			if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("GITHUB_TOKEN", token)); err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr.String())
			}
			if tc.want == "" {
				if stderr.Len() != 0 {
					t.Errorf("stderr = %q, want nothing", stderr.String())
				}
				return
			}
			if !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), "https://github.com/settings/tokens/new?scopes=delete:packages,read:packages,write:packages") {
				t.Errorf("stderr = %q, want %q and the token form's link", stderr.String(), tc.want)
			}
			if !strings.Contains(stdout.String(), "Total:") {
				t.Errorf("no plan on stdout: %q", stdout.String())
			}
		})
	}
}
