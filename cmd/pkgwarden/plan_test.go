package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files of plan")

// demoAt is the simulated moment the demo seed is built at, and plans are
// evaluated at, so that golden output does not depend on the day.
var demoAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// demoSim serves the demo seed on loopback (API and registry on one
// listener, as `pkgwarden sim` does) and returns its URL and alice's
// token. The seed is built before the listener's URL is known, with the
// simulator's default URLs: image labels name the source repository by
// URL, so the digests then never depend on the port.
func demoSim(t testing.TB) (string, string, *ghsim.Sim) {
	t.Helper()
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.Advance(demoAt.Sub(time.Now()))
	info, err := demoworld.Seed(context.Background(), sim)
	if err != nil {
		t.Fatal(err)
	}
	srv := simtest.Serve(t, sim, sim.RegistryHandler(), sim.APIHandler())
	return srv.URL, info.Token, sim
}

// env is a fake environment for runPlanEnv.
func env(kv ...string) func(string) string {
	m := map[string]string{"PKGWARDEN_DATA_DIR": "/nonexistent"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the plan (run go test -update and review the diff):\n%s", path, got)
	}
}

func TestPlanDemoGolden(t *testing.T) {
	url, token, _ := demoSim(t)
	tests := map[string]struct {
		args   []string
		golden string
	}{
		"json":  {[]string{"--json"}, "plan-demo.golden.json"},
		"table": {nil, "plan-demo.golden.txt"},
		// The owner's policy caps each run at 3 deletions: 5 of webapp's
		// 8 wait, listed as "defer".
		"cap": {[]string{"--type", "container", "--config", "testdata/plan-cap-policy.yml"}, "plan-cap.golden.txt"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", demoAt.Format(time.RFC3339)}, tc.args...)
			if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("GITHUB_TOKEN", token)); err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr is not a terminal, yet plan wrote to it: %q", stderr.String())
			}
			golden(t, tc.golden, stdout.Bytes())
		})
	}
}

// TestPlanDemoJSONShape checks the JSON against the documented shape, so
// the golden file cannot drift from it unnoticed.
func TestPlanDemoJSONShape(t *testing.T) {
	url, token, _ := demoSim(t)
	var stdout, stderr bytes.Buffer
	args := []string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", demoAt.Format(time.RFC3339), "--json", "--type", "container"}
	if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("PKGWARDEN_PACKAGES_TOKENS", "acme="+token)); err != nil {
		t.Fatalf("plan: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Packages []struct {
			Owner, Type, Name string
			Delete, Keep      []struct {
				ID      int64    `json:"id"`
				Version string   `json:"version"`
				Tags    []string `json:"tags"`
				Reason  string   `json:"reason"`
			}
			Untouched *string `json:"untouched"`
		} `json:"packages"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 1 || doc.Packages[0].Name != "webapp" || doc.Packages[0].Type != "container" || doc.Packages[0].Owner != "acme" {
		t.Fatalf("packages = %+v", doc.Packages)
	}
	p := doc.Packages[0]
	if p.Untouched != nil || len(p.Delete) == 0 || len(p.Keep) == 0 {
		t.Fatalf("package = %+v", p)
	}
	for _, e := range append(p.Delete, p.Keep...) {
		if e.ID == 0 || !strings.HasPrefix(e.Version, "sha256:") || e.Tags == nil || e.Reason == "" {
			t.Errorf("entry %+v", e)
		}
	}
}

func TestPlanFlags(t *testing.T) {
	url, token, _ := demoSim(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "try.yml")
	if err := os.WriteFile(cfg, []byte("rules:\n  - packages: [\"webapp\"]\n    type: container\n    prune: {untagged: true, keep_untagged: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("rules:\n  - packages: [\"webapp\"]\n    prune: {untagged: yes please}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", "2026-11-25T12:00:00Z"}
	tests := map[string]struct {
		args    []string
		env     func(string) string
		out     []string // substrings of stdout
		err     string   // substring of the error
		errIs   error
		stderr  string
		noToken bool
	}{
		"help says it never deletes": {args: []string{"-h"}, errIs: flag.ErrHelp, stderr: "NEVER deletes"},
		"owner required":             {args: []string{}, err: "--owner is required"},
		"no token":                   {args: base, noToken: true, errIs: githubapi.ErrNoPackagesToken, err: "GITHUB_TOKEN"},
		"bad --now":                  {args: append(base, "--now", "next week"), err: `--now: "next week" is neither`},
		"date --now":                 {args: append(base, "--now", "2026-12-09", "--package", "webapp"), out: []string{"as of 2026-12-09T00:00:00Z"}},
		"unknown package":            {args: append(base, "--package", "nope"), err: `package "nope"`, errIs: githubapi.ErrNotFound},
		"one repository":             {args: append(base, "--repo", "acme/webapp", "--type", "npm"), out: []string{"acme/npm/webapp-client", "linked to acme/webapp", "Total: 1 package, "}},
		"config file as the repository's": {
			args: append(base, "--repo", "webapp", "--type", "container", "--config", cfg),
			out:  []string{"rules from " + cfg + " (rule 1)", "newest 1 untagged"},
		},
		"config file for the package's repository": {
			args: append(base, "--package", "webapp", "--type", "container", "--config", cfg),
			out:  []string{"rules from " + cfg + " (rule 1)", "newest 1 untagged"},
		},
		"config file of another repository names the package": {
			args: append(base, "--repo", "other", "--package", "webapp", "--type", "container", "--config", cfg),
			out: []string{"note: " + cfg + " rule 1 names package webapp, which is linked to acme/webapp, not acme/other: ignored for it",
				"rules from acme/webapp:.github/pkgwarden.yml (rule 1)"},
		},
		"invalid config file": {args: append(base, "--repo", "webapp", "--config", bad), err: "bad.yml:3:"},
		"missing config file": {args: append(base, "--config", filepath.Join(dir, "nope.yml")), err: "--config: open"},
		"wrong token":         {args: base, env: env("GITHUB_TOKEN", "ghp_wrong"), err: "401"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			e := tc.env
			if e == nil {
				e = env("GITHUB_TOKEN", token)
			}
			if tc.noToken {
				e = env()
			}
			var stdout, stderr bytes.Buffer
			err := runPlanEnv(context.Background(), tc.args, &stdout, &stderr, e)
			if tc.err == "" && tc.errIs == nil {
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", stdout.String())
				}
				if tc.err != "" && !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want it to contain %q", err, tc.err)
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Errorf("err = %v, want %v", err, tc.errIs)
				}
			}
			for _, s := range tc.out {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String()+errString(err), token) {
				t.Error("the token was printed")
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkPlanDemo measures `plan --json` on the demo seed, listing,
// registry reads and rules included (the manifests are read anew each
// time: a plan has no cache).
func BenchmarkPlanDemo(b *testing.B) {
	url, token, _ := demoSim(b)
	args := []string{"--owner", "acme", "--api-url", url, "--registry-url", url, "--now", demoAt.Format(time.RFC3339), "--json"}
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("GITHUB_TOKEN", token)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHumanAge(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "0m"},
		{0, "0m"},
		{59 * time.Minute, "59m"},
		{time.Hour, "1h"},
		{47 * time.Hour, "47h"},
		{2 * day, "2d"},
		{13*day + 23*time.Hour, "13d"},
		{14 * day, "2w"},
		{35 * day, "5w"},
		{364 * day, "52w"},
		{365 * day, "1y"},
		{800 * day, "2y"},
	}
	for _, tc := range tests {
		if got := humanAge(tc.d); got != tc.want {
			t.Errorf("humanAge(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := ageAt(demoAt, time.Time{}); got != "-" {
		t.Errorf("ageAt of an unknown time = %q, want -", got)
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0 packages"}, {1, "1 package"}, {2, "2 packages"}}
	for _, tc := range tests {
		if got := plural(tc.n, "package", "packages"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestPlanJSONKeepsDecisionFields checks that plan --json carries every
// field of rules.Decision's JSON, with the same values, in the same order,
// before its own: plan adds fields, it never renames or drops one.
func TestPlanJSONKeepsDecisionFields(t *testing.T) {
	d := rules.Decision{
		Package:   rules.Package{Owner: "acme", Type: "container", Name: "webapp", Repository: "acme/webapp"},
		Untouched: "manifest unreadable",
		Keep: []rules.Entry{{ID: 7, Version: "sha256:aa", Tags: []string{"v1"}, Reason: "child linux/amd64 of index v1",
			Kind: rules.KindChild, Holder: "v1", Relation: "child linux/amd64"}},
		Delete:  []rules.Entry{{ID: 8, Version: "sha256:bb", Tags: []string{}, Reason: "untagged", Kind: rules.KindUntagged}},
		Notices: []string{"a notice"},
		Broken: []rules.BrokenImage{{Name: "v1", ID: 9, Version: "sha256:cc", Tags: []string{"v1"}, Kind: rules.BrokenPartial,
			Missing: []rules.Missing{{Digest: "sha256:dd", Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildGone}}}},
	}
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	view := planView{Packages: []packageView{{Decision: d, Created: map[int64]time.Time{7: demoAt}}}}
	if err := writePlanJSON(&out, view); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Packages []json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Packages) != 1 {
		t.Fatalf("plan json %s: %v", out.String(), err)
	}
	wantKeys, gotKeys := jsonKeys(t, want), jsonKeys(t, got.Packages[0])
	if len(gotKeys) < len(wantKeys) || !slices.Equal(gotKeys[:len(wantKeys)], wantKeys) {
		t.Errorf("plan's package keys %v do not start with the decision's %v", gotKeys, wantKeys)
	}
	var wantDoc, gotDoc map[string]any
	if err := json.Unmarshal(want, &wantDoc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.Packages[0], &gotDoc); err != nil {
		t.Fatal(err)
	}
	for k, w := range wantDoc {
		g := gotDoc[k]
		if k == "delete" || k == "keep" {
			// Each entry: the decision's fields, then created_at.
			ws, gs := w.([]any), g.([]any)
			if len(ws) != len(gs) {
				t.Fatalf("%s: %d entries, want %d", k, len(gs), len(ws))
			}
			for i := range ws {
				for ek, ev := range ws[i].(map[string]any) {
					if gv := gs[i].(map[string]any)[ek]; !reflect.DeepEqual(gv, ev) {
						t.Errorf("%s[%d].%s = %v, want %v", k, i, ek, gv, ev)
					}
				}
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	if gotDoc["keep"].([]any)[0].(map[string]any)["created_at"] != demoAt.Format(time.RFC3339) {
		t.Errorf("keep[0] has no created_at: %s", got.Packages[0])
	}
	if _, ok := gotDoc["delete"].([]any)[0].(map[string]any)["created_at"]; ok {
		t.Errorf("delete[0], of unknown age, has a created_at: %s", got.Packages[0])
	}
}

// jsonKeys lists the keys of a JSON object in the order they are written.
func jsonKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestRunNamesTheCommandOnce checks that an error is printed as
// "pkgwarden CMD: what went wrong", never "pkgwarden CMD: CMD: ...".
func TestRunNamesTheCommandOnce(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"plan, no owner":         {[]string{"plan"}, "pkgwarden plan: --owner is required\n"},
		"plan, an argument":      {[]string{"plan", "--owner", "acme", "extra"}, `pkgwarden plan: usage: plan takes no arguments, got ["extra"]` + "\n"},
		"sim, unknown seed":      {[]string{"sim", "--seed", "nope"}, `pkgwarden sim: unknown --seed "nope" (want demo or scale:PACKAGESxVERSIONS[:SEED])` + "\n"},
		"sim, bad scale seed":    {[]string{"sim", "--seed", "scale:10x5"}, "pkgwarden sim: --seed: scale world: 5 versions a package, want 50 to 100000\n"},
		"register, an argument":  {[]string{"register", "extra"}, "pkgwarden register: unexpected arguments"},
		"sim, taken --info-file": {[]string{"sim", "--listen", "127.0.0.1:0", "--info-file", "/nonexistent/dir/sim.json"}, "pkgwarden sim: write app key: "},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code == 0 {
				t.Fatalf("exit 0, stderr %q", stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if tc.want != "" && !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.want)
			}
			cmd := tc.args[0]
			if strings.Contains(last, "pkgwarden "+cmd+": "+cmd+": ") || strings.Contains(last, ": "+cmd+": "+cmd) {
				t.Errorf("the command is named twice: %q", last)
			}
		})
	}
}
