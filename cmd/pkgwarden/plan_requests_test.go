package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/demoworld"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
)

// requestLog records the requests a simulator serves: the REST API's by
// method and path (query included), and how many manifests the registry
// served.
type requestLog struct {
	mu        sync.Mutex
	api       []string
	manifests int
}

func (l *requestLog) wrapAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_admin/") {
			l.mu.Lock()
			l.api = append(l.api, r.Method+" "+r.URL.RequestURI())
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) wrapRegistry(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			l.mu.Lock()
			l.manifests++
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.api, l.manifests = nil, 0
}

// apiRequests returns the REST API requests served since the last reset.
func (l *requestLog) apiRequests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.api)
}

func (l *requestLog) manifestReads() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.manifests
}

// planCostOwnerFile is acme's .github file of the request-count world: the
// owner's rules and a policy that differs from the defaults, so that a plan
// that skipped it would show it.
const planCostOwnerFile = `rules:
  - packages: ["*"]
    type: any
    prune: {untagged: true, older_than: 30d, keep_latest: 2}
policy:
  max_deletions_per_run: 7
  min_untagged_age: 2h
`

// planCostRepoFile is acme/app's file.
const planCostRepoFile = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, older_than: 1d, keep_untagged: 5}
`

// planCostWorld is the organisation acme with the repositories app, lib
// and .github, their files, the container package app linked to acme/app
// with versions single-image versions (the newest 10 tagged), an npm
// package app-client linked to acme/app, a nuget package lib linked to
// acme/lib (no file: the owner's rules govern it) and an npm package
// loose linked to no repository; and alice's own container package tool
// of 5 versions. Its requests are logged from the moment it returns.
func planCostWorld(t *testing.T, versions int) (url, token string, log *requestLog) {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	log = &requestLog{}
	srv := simtest.Serve(t, sim, log.wrapRegistry(sim.RegistryHandler()), log.wrapAPI(sim.APIHandler()))
	token = simtest.Org(t, sim, "acme", "alice", "app", "lib", ".github")
	for repo, content := range map[string]string{".github": planCostOwnerFile, "app": planCostRepoFile} {
		if err := sim.PutFile("acme", repo, "", ".github/pkgwarden.yml", []byte(content), "alice"); err != nil {
			t.Fatal(err)
		}
	}
	now := sim.Now()
	images := func(owner, name, repo string, n int) {
		ms := make([]ghsim.ContainerManifest, 0, n)
		for i := range n {
			var tags []string
			if i >= n-10 {
				tags = []string{fmt.Sprintf("v1.%d", i)}
			}
			ms = append(ms, ghsim.ContainerManifest{MediaType: jobstest.OCIImage, Body: jobstest.ImageManifest(fmt.Sprintf("%s-%d", name, i)),
				Tags: tags, CreatedAt: now.Add(-time.Duration(n-i) * 12 * time.Hour)})
		}
		if _, err := sim.AddContainerManifests(owner, name, repo, ms); err != nil {
			t.Fatal(err)
		}
	}
	images("acme", "app", "acme/app", versions)
	images("alice", "tool", "", 5)
	for _, p := range []struct{ typ, name, repo string }{{"npm", "app-client", "app"}, {"nuget", "lib", "lib"}, {"npm", "loose", ""}} {
		for i := range 3 {
			if _, err := sim.Publish("acme", p.typ, p.name, fmt.Sprintf("1.0.%d", i), ghsim.PublishOptions{Repository: p.repo,
				CreatedAt: now.Add(-time.Duration(60-i) * 24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	log.reset()
	return srv.URL, token, log
}

// demoCostWorld is the demo seed with its requests logged.
func demoCostWorld(t *testing.T) (url, token string, log *requestLog) {
	t.Helper()
	sim := simtest.New(t, ghsim.Options{})
	sim.Advance(demoAt.Sub(time.Now()))
	info, err := demoworld.Seed(context.Background(), sim)
	if err != nil {
		t.Fatal(err)
	}
	log = &requestLog{}
	srv := simtest.Serve(t, sim, log.wrapRegistry(sim.RegistryHandler()), log.wrapAPI(sim.APIHandler()))
	return srv.URL, info.Token, log
}

// TestPlanRequests counts the REST API requests one plan makes. A plan
// asks only for what it shows: one package needs the package (asked for,
// not found in listings of every type; the answer also says the owner is
// an organisation), its versions' listing, the owner's rules file (its
// policy bounds every file: here it defers all but 7 deletions, which
// the plan must show) and the repository's file, unless --config stands
// for it, plus its manifests; the whole owner needs each type's listing
// once. No request is ever made twice (the demo's webapp needs its
// deleted versions for a broken image and for restore.tags: listed
// once).
//
// Before this test, the same plans made: one package 10 requests (6 of
// them listings of every type of package, and GET /users/acme), with
// --type 5, --config 9, --diff 10, --against 9, the npm package 10,
// alice's package 10, the demo's owner 13 and its webapp 12 (the deleted
// versions listed twice).
func TestPlanRequests(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "try.yml")
	if err := os.WriteFile(cfg, []byte(planCostRepoFile+"      # tried\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wider := filepath.Join(dir, "wider.yml")
	if err := os.WriteFile(wider, []byte(strings.Replace(planCostRepoFile, "keep_untagged: 5", "keep_untagged: 1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	const versions = 50
	tests := map[string]struct {
		demo      bool
		owner     string // acme when empty
		args      []string
		requests  int
		manifests int
		out       string // a substring of stdout
	}{
		"one package":                 {args: []string{"--package", "app"}, requests: 4, manifests: versions, out: "defer"},
		"one package of a known type": {args: []string{"--package", "app", "--type", "container"}, requests: 4, manifests: versions, out: "defer"},
		"one package, --config":       {args: []string{"--package", "app", "--config", cfg}, requests: 3, manifests: versions, out: "rules from " + cfg},
		"one package, --diff":         {args: []string{"--package", "app", "--config", wider, "--diff"}, requests: 4, manifests: versions, out: "+ delete"},
		"one package, --against":      {args: []string{"--package", "app", "--config", wider, "--against", cfg}, requests: 3, manifests: versions, out: "+ delete"},
		// container: 404, then who acme is, then npm.
		"an npm package":        {args: []string{"--package", "app-client"}, requests: 6, out: "acme/npm/app-client"},
		"an npm package, typed": {args: []string{"--package", "app-client", "--type", "npm"}, requests: 4, out: "acme/npm/app-client"},
		// /orgs/alice/…: 404, then who alice is (GET /users/alice, GET
		// /user: her own token, so
		// /user/packages/…), no rules anywhere: no manifest read.
		"a user's own package": {owner: "alice", args: []string{"--package", "tool"}, requests: 6, out: "alice/container/tool"},
		// GET /users/acme, 6 listings, 4 packages' versions, 3 files.
		"the owner":      {requests: 14, manifests: versions, out: "Total: 4 packages"},
		"one repository": {args: []string{"--repo", "app"}, requests: 11, manifests: versions, out: "Total: 2 packages"},
		// GET /users/acme, 6 listings, 2 packages' versions, 2 files,
		// webapp's deleted versions.
		"the demo's owner": {demo: true, requests: 12, manifests: 24, out: "Total: 2 packages"},
		"the demo's webapp": {demo: true, args: []string{"--package", "webapp"}, requests: 5, manifests: 24,
			out: "restore  125"},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			var url, token string
			var log *requestLog
			if tc.demo {
				url, token, log = demoCostWorld(t)
			} else {
				url, token, log = planCostWorld(t, versions)
			}
			var stdout, stderr bytes.Buffer
			owner := cmp.Or(tc.owner, "acme")
			args := append([]string{"--owner", owner, "--api-url", url, "--registry-url", url}, tc.args...)
			if tc.demo {
				args = append(args, "--now", demoAt.Format(time.RFC3339))
			}
			if err := runPlanEnv(context.Background(), args, &stdout, &stderr, env("GITHUB_TOKEN", token)); err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, stdout.String())
			}
			reqs := log.apiRequests()
			t.Logf("%d requests, %d manifest reads:\n%s", len(reqs), log.manifestReads(), strings.Join(reqs, "\n"))
			if len(reqs) != tc.requests {
				t.Errorf("%d requests, want %d", len(reqs), tc.requests)
			}
			if got := log.manifestReads(); got != tc.manifests {
				t.Errorf("%d manifest reads, want %d (each version's once)", got, tc.manifests)
			}
			seen := map[string]bool{}
			listed := map[string]int{} // package listings by type
			for _, r := range reqs {
				if seen[r] {
					t.Errorf("%s asked twice", r)
				}
				seen[r] = true
				if _, q, ok := strings.Cut(r, "/packages?"); ok {
					listed[strings.TrimPrefix(strings.Split(q, "&")[0], "package_type=")]++
				}
			}
			onePackage := slices.Contains(tc.args, "--package")
			for _, typ := range planner.PackageTypes() {
				if want := map[bool]int{true: 0, false: 1}[onePackage]; listed[typ] != want {
					t.Errorf("%s packages listed %d times, want %d", typ, listed[typ], want)
				}
			}
		})
	}
}
