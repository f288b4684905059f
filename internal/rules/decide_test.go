package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/registry"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// hexOf is the digest hex of a test label, so that tests speak in labels.
func hexOf(label string) string {
	sum := sha256.Sum256([]byte(label))
	return hex.EncodeToString(sum[:])
}

func digestOf(label string) string { return "sha256:" + hexOf(label) }

// ver describes a listed version; "@X" in a tag stands for the hex of X.
type ver struct {
	id    int64
	label string
	age   time.Duration
	tags  []string
}

func (v ver) version() Version {
	var tags []string
	for _, t := range v.tags {
		if i := strings.Index(t, "@"); i >= 0 {
			rest := t[i+1:]
			suffix := ""
			if j := strings.Index(rest, "."); j >= 0 {
				rest, suffix = rest[:j], rest[j:]
			}
			t = t[:i] + hexOf(rest) + suffix
		}
		tags = append(tags, t)
	}
	return Version{ID: v.id, Name: digestOf(v.label), Tags: tags, CreatedAt: testNow.Add(-v.age), UpdatedAt: testNow.Add(-v.age)}
}

type child struct{ label, platform string }

func index(label string, children ...child) registry.Manifest {
	m := registry.Manifest{Digest: digestOf(label), MediaType: registry.MediaTypeOCIIndex}
	for _, c := range children {
		m.Children = append(m.Children, registry.Descriptor{Digest: digestOf(c.label), MediaType: registry.MediaTypeOCIManifest, Platform: c.platform})
	}
	return m
}

func referrer(label, subject, artifactType string) registry.Manifest {
	return registry.Manifest{Digest: digestOf(label), MediaType: registry.MediaTypeOCIManifest, ArtifactType: artifactType, Subject: digestOf(subject)}
}

// testConfig decodes a repository file for acme/app under policy.
func testConfig(t testing.TB, yml string, policy Policy) *Config {
	t.Helper()
	f, err := Decode(Path, []byte(yml))
	if err != nil {
		t.Fatalf("decode test config: %v", err)
	}
	return build(f, "acme/app:"+Path, "app", policy, nil)
}

// render prints a decision with labels in place of digests: deletions in
// their order, keeps sorted by label.
func render(d Decision, labels []string) string {
	var pairs []string
	for _, l := range labels {
		pairs = append(pairs, digestOf(l), l, ShortDigest(digestOf(l)), l)
	}
	r := strings.NewReplacer(pairs...)
	var b strings.Builder
	if d.Untouched != "" {
		fmt.Fprintf(&b, "untouched: %s\n", r.Replace(d.Untouched))
	}
	if d.DryRun {
		b.WriteString("dry run\n")
	}
	for _, e := range d.Delete {
		fmt.Fprintf(&b, "delete %s: %s\n", r.Replace(e.Version), r.Replace(e.Reason))
	}
	keep := append([]Entry(nil), d.Keep...)
	sort.SliceStable(keep, func(i, j int) bool { return r.Replace(keep[i].Version) < r.Replace(keep[j].Version) })
	for _, e := range keep {
		fmt.Fprintf(&b, "keep %s: %s\n", r.Replace(e.Version), r.Replace(e.Reason))
	}
	return b.String()
}

const untaggedRule = `
rules:
  - packages: ["*"]
    type: container
    prune: {untagged: true}
`

func TestDecideContainer(t *testing.T) {
	platforms := func(prefix string) []child {
		return []child{{prefix + "-amd64", "linux/amd64"}, {prefix + "-arm64", "linux/arm64"}, {prefix + "-att", "unknown/unknown"}}
	}
	tests := map[string]struct {
		config     string
		policy     *Policy
		pkgType    string
		versions   []ver
		manifests  []registry.Manifest
		unreadable []string
		missing    []string
		zeroTime   []string
		want       string
	}{
		"untagged single-arch, young ones stay": {
			config:   untaggedRule,
			versions: []ver{{1, "old", 2 * time.Hour, nil}, {2, "young", 30 * time.Minute, nil}},
			want: `delete old: untagged
keep young: younger than 1h
`,
		},
		"untagged pruning off by default": {
			config: `
rules:
  - type: container
    prune: {delete_tags: ["pr-*"]}
`,
			versions: []ver{{1, "u", 48 * time.Hour, nil}},
			want:     "keep u: untagged, and prune.untagged is off\n",
		},
		"keep_untagged keeps the newest N, deletes oldest first": {
			config: `
rules:
  - type: container
    prune: {untagged: true, keep_untagged: 2}
`,
			versions: []ver{{1, "u1", 5 * time.Hour, nil}, {2, "u2", 4 * time.Hour, nil}, {3, "u3", 3 * time.Hour, nil}, {4, "u4", 2 * time.Hour, nil}},
			want: `delete u1: untagged
delete u2: untagged
keep u3: newest 2 untagged
keep u4: newest 2 untagged
`,
		},
		"older_than": {
			config: `
rules:
  - type: container
    prune: {untagged: true, older_than: 14d, delete_tags: ["pr-*"]}
`,
			versions: []ver{
				{1, "old", 20 * 24 * time.Hour, nil},
				{2, "recent", 3 * 24 * time.Hour, nil},
				{3, "old-pr", 15 * 24 * time.Hour, []string{"pr-1"}},
				{4, "new-pr", 13 * 24 * time.Hour, []string{"pr-2"}},
			},
			want: `delete old: untagged, older than 14d
delete old-pr: matches delete_tags pr-*, older than 14d
keep new-pr: younger than 14d
keep recent: younger than 14d
`,
		},
		"delete_tags with several tags: all must be candidates, none excluded": {
			config: `
rules:
  - type: container
    prune:
      delete_tags: ["pr-*", "sha-*"]
      exclude_tags: ["latest"]
`,
			versions: []ver{
				{1, "pr", 48 * time.Hour, []string{"pr-1"}},
				{2, "release", 48 * time.Hour, []string{"v1"}},
				{3, "pr-latest", 48 * time.Hour, []string{"pr-2", "latest"}},
				{4, "pr-sha", 47 * time.Hour, []string{"sha-abc", "pr-3"}},
				{5, "pr-release", 48 * time.Hour, []string{"pr-4", "v2"}},
			},
			want: `delete pr: matches delete_tags pr-*
delete pr-sha: matches delete_tags pr-*, sha-*
keep pr-latest: excluded by tag latest
keep pr-release: tag v2 matches no delete_tags
keep release: tag v1 matches no delete_tags
`,
		},
		"exclude_tags beats keep_tagged beats delete_tags": {
			config: `
rules:
  - type: container
    prune:
      delete_tags: ["*"]
      keep_tagged: 1
      exclude_tags: ["v*"]
`,
			versions: []ver{
				{1, "release", 90 * 24 * time.Hour, []string{"v1.0.0"}},
				{2, "pr-new", 2 * time.Hour, []string{"pr-9"}},
				{3, "pr-old", 3 * time.Hour, []string{"pr-8"}},
				{4, "pr-older", 4 * time.Hour, []string{"pr-7"}},
			},
			want: `delete pr-older: matches delete_tags *
delete pr-old: matches delete_tags *
keep pr-new: newest 1 tagged candidates
keep release: excluded by tag v1.0.0
`,
		},
		"restore.tags protects from pruning": {
			config: `
rules:
  - type: container
    prune: {delete_tags: ["*"]}
    restore: {tags: ["v*"]}
`,
			versions: []ver{{1, "rel", 400 * time.Hour, []string{"v1", "pr-1"}}, {2, "pr", 400 * time.Hour, []string{"pr-2"}}},
			want: `delete pr: matches delete_tags *
keep rel: restore.tags keeps tag v1
`,
		},
		"tagged without delete_tags stays": {
			config:   untaggedRule,
			versions: []ver{{1, "t", 400 * time.Hour, []string{"main"}}},
			want:     "keep t: tagged main\n",
		},
		"multi-arch untagged index goes with its children, parent first": {
			config: untaggedRule,
			versions: []ver{
				{1, "idx-amd64", 3 * time.Hour, nil}, {2, "idx-arm64", 3 * time.Hour, nil}, {3, "idx-att", 3 * time.Hour, nil},
				{4, "idx", 3 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("idx", platforms("idx")...)},
			want: `delete idx: untagged
delete idx-amd64: child linux/amd64 of index idx, goes with it
delete idx-arm64: child linux/arm64 of index idx, goes with it
delete idx-att: attestation manifest of index idx, goes with it
`,
		},
		"multi-arch tagged index keeps its untagged children": {
			config: untaggedRule,
			versions: []ver{
				{1, "rel-amd64", 300 * time.Hour, nil}, {2, "rel-arm64", 300 * time.Hour, nil}, {3, "rel-att", 300 * time.Hour, nil},
				{4, "rel", 300 * time.Hour, []string{"v1.0.0"}},
			},
			manifests: []registry.Manifest{index("rel", platforms("rel")...)},
			want: `keep rel: tagged v1.0.0
keep rel-amd64: child linux/amd64 of index v1.0.0
keep rel-arm64: child linux/arm64 of index v1.0.0
keep rel-att: attestation manifest of index v1.0.0
`,
		},
		"children are not counted in keep_untagged": {
			config: `
rules:
  - type: container
    prune: {untagged: true, keep_untagged: 1}
`,
			versions: []ver{
				{1, "a-amd64", 2 * time.Hour, nil}, {2, "a-arm64", 2 * time.Hour, nil},
				{3, "a", 2 * time.Hour, nil},
				{4, "b", 3 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("a", child{"a-amd64", "linux/amd64"}, child{"a-arm64", "linux/arm64"})},
			want: `delete b: untagged
keep a: newest 1 untagged
keep a-amd64: child linux/amd64 of index a
keep a-arm64: child linux/arm64 of index a
`,
		},
		"nested index kept by its tagged top": {
			config: untaggedRule,
			versions: []ver{
				{1, "top", 500 * time.Hour, []string{"v2"}},
				{2, "inner", 500 * time.Hour, nil},
				{3, "x", 500 * time.Hour, nil},
				{4, "y", 500 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("top", child{"inner", ""}), index("inner", child{"x", "linux/amd64"}, child{"y", "linux/s390x"})},
			want: `keep inner: child of index v2
keep top: tagged v2
keep x: child linux/amd64 of index inner
keep y: child linux/s390x of index inner
`,
		},
		"nested untagged index deleted top down": {
			config: untaggedRule,
			versions: []ver{
				{1, "x", 500 * time.Hour, nil},
				{2, "inner", 500 * time.Hour, nil},
				{3, "top", 500 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("top", child{"inner", ""}), index("inner", child{"x", "linux/amd64"})},
			want: `delete top: untagged
delete inner: child of index top, goes with it
delete x: child linux/amd64 of index inner, goes with it
`,
		},
		"shared child stays while one index stays": {
			config: untaggedRule,
			versions: []ver{
				{1, "shared", 100 * time.Hour, nil},
				{2, "rel", 100 * time.Hour, []string{"v1"}},
				{3, "dev", 100 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("rel", child{"shared", "linux/amd64"}), index("dev", child{"shared", "linux/amd64"})},
			want: `delete dev: untagged
keep rel: tagged v1
keep shared: child linux/amd64 of index v1
`,
		},
		"shared child goes after both indexes": {
			config: untaggedRule,
			versions: []ver{
				{1, "shared", 100 * time.Hour, nil},
				{2, "one", 100 * time.Hour, nil},
				{3, "two", 99 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("one", child{"shared", "linux/amd64"}), index("two", child{"shared", "linux/amd64"})},
			want: `delete one: untagged
delete two: untagged
delete shared: child linux/amd64 of index one, goes with it
`,
		},
		"cosign signature and attestation stay with a kept subject": {
			config: `
rules:
  - type: container
    prune: {untagged: true, delete_tags: ["*"], keep_tagged: 1}
`,
			versions: []ver{
				{1, "app", 10 * time.Hour, []string{"main"}},
				{2, "sig", 10 * time.Hour, []string{"sha256-@app.sig"}},
				{3, "att", 10 * time.Hour, []string{"sha256-@app.att"}},
				{4, "sbom", 10 * time.Hour, []string{"sha256-@app.sbom"}},
			},
			want: `keep app: newest 1 tagged candidates
keep att: attestation of main
keep sbom: SBOM of main
keep sig: signature of main
`,
		},
		"cosign tags are not keep_tagged candidates and go with their subject": {
			config: `
rules:
  - type: container
    prune: {untagged: true, delete_tags: ["*"], keep_tagged: 1}
`,
			versions: []ver{
				{1, "old", 20 * time.Hour, []string{"pr-1"}},
				{2, "new", 10 * time.Hour, []string{"pr-2"}},
				{3, "old-sig", 2 * time.Hour, []string{"sha256-@old.sig"}},
				{4, "old-att", 2 * time.Hour, []string{"sha256-@old.att"}},
			},
			want: `delete old: matches delete_tags *
delete old-sig: signature of pr-1, goes with it
delete old-att: attestation of pr-1, goes with it
keep new: newest 1 tagged candidates
`,
		},
		"OCI 1.1 referrer without tag follows its subject": {
			config: untaggedRule,
			versions: []ver{
				{1, "rel", 50 * time.Hour, []string{"v3"}},
				{2, "prov", 50 * time.Hour, nil},
				{3, "gone-subject", 50 * time.Hour, nil},
				{4, "sbom", 50 * time.Hour, nil},
			},
			manifests: []registry.Manifest{
				referrer("prov", "rel", "application/vnd.in-toto+json"),
				referrer("sbom", "gone-subject", "application/spdx+json"),
			},
			want: `delete gone-subject: untagged
delete sbom: SBOM of gone-subject, goes with it
keep prov: attestation of v3
keep rel: tagged v3
`,
		},
		"tag-schema referrers index and its contents stay with the subject": {
			config: untaggedRule,
			versions: []ver{
				{1, "rel", 50 * time.Hour, []string{"v3"}},
				{2, "refs", 50 * time.Hour, []string{"sha256-@rel"}},
				{3, "sigm", 50 * time.Hour, nil},
			},
			manifests: []registry.Manifest{
				index("refs", child{"sigm", ""}),
				referrer("sigm", "rel", "application/vnd.dev.cosign.artifact.sig.v1+json"),
			},
			want: `keep refs: referrers index of v3
keep rel: tagged v3
keep sigm: signature of v3
`,
		},
		"referrer whose subject is gone goes": {
			config: untaggedRule,
			versions: []ver{
				{1, "orphan-sig", 50 * time.Hour, []string{"sha256-@deleted.sig"}},
				{2, "young-sig", 10 * time.Minute, []string{"sha256-@deleted2.sig"}},
			},
			want: `delete orphan-sig: signature of deleted, which is gone
keep young-sig: younger than 1h
`,
		},
		"ghost index (children gone) and partial index": {
			config: untaggedRule,
			versions: []ver{
				{1, "ghost", 50 * time.Hour, []string{"v1"}},
				{2, "ghost-untagged", 50 * time.Hour, nil},
				{3, "partial", 50 * time.Hour, []string{"v2"}},
				{4, "p-amd64", 50 * time.Hour, nil},
			},
			manifests: []registry.Manifest{
				index("ghost", child{"g-amd64", "linux/amd64"}, child{"g-arm64", "linux/arm64"}),
				index("ghost-untagged", child{"h-amd64", "linux/amd64"}),
				index("partial", child{"p-amd64", "linux/amd64"}, child{"p-arm64", "linux/arm64"}),
			},
			want: `delete ghost-untagged: untagged
keep ghost: tagged v1
keep p-amd64: child linux/amd64 of index v2
keep partial: tagged v2
`,
		},
		"children pushed minutes before their index are not touched": {
			config: untaggedRule,
			versions: []ver{
				{1, "c-amd64", 4 * time.Minute, nil},
				{2, "c-arm64", 3 * time.Minute, nil},
			},
			want: `keep c-amd64: younger than 1h
keep c-arm64: younger than 1h
`,
		},
		"a young child of an old index stays": {
			config: untaggedRule,
			versions: []ver{
				{1, "idx", 3 * time.Hour, nil},
				{2, "kid", 3 * time.Minute, nil},
			},
			manifests: []registry.Manifest{index("idx", child{"kid", "linux/amd64"})},
			want: `delete idx: untagged
keep kid: younger than 1h
`,
		},
		"a version without creation time is never deleted": {
			config: untaggedRule,
			versions: []ver{
				{1, "idx", 3 * time.Hour, nil},
				{2, "kid", 3 * time.Hour, nil},
			},
			manifests: []registry.Manifest{index("idx", child{"kid", "linux/amd64"})},
			zeroTime:  []string{"idx"},
			want: `keep idx: creation time unknown
keep kid: child linux/amd64 of index idx
`,
		},
		"a tagged child keeps its own tag": {
			config: untaggedRule,
			versions: []ver{
				{1, "idx", 3 * time.Hour, nil},
				{2, "kid", 3 * time.Hour, []string{"v1-arm64"}},
			},
			manifests: []registry.Manifest{index("idx", child{"kid", "linux/arm64"})},
			want: `delete idx: untagged
keep kid: tagged v1-arm64
`,
		},
		"unreadable manifest leaves the package untouched": {
			config:     untaggedRule,
			versions:   []ver{{1, "a", 50 * time.Hour, nil}, {2, "b", 50 * time.Hour, nil}},
			unreadable: []string{"b"},
			want: `untouched: manifest b of version 2 could not be read: registry said 500
keep a: untouched
keep b: untouched
`,
		},
		"manifest missing from the graph counts as unreadable": {
			config:   untaggedRule,
			versions: []ver{{1, "a", 50 * time.Hour, nil}},
			missing:  []string{"a"},
			want: `untouched: manifest a of version 1 was not read
keep a: untouched
`,
		},
		"policy floor applies to every rule": {
			config: `
rules:
  - type: container
    prune: {untagged: true, delete_tags: ["pr-*"], older_than: 30m}
`,
			policy:   &Policy{MinUntaggedAge: 2 * time.Hour, MaxDeletionsPerRun: 10, RepositoryRules: RepositoryRulesAllow},
			versions: []ver{{1, "u", 90 * time.Minute, nil}, {2, "pr", 90 * time.Minute, []string{"pr-1"}}, {3, "old", 3 * time.Hour, nil}},
			want: `delete old: untagged, older than 30m
keep pr: younger than 2h
keep u: younger than 2h
`,
		},
		"max_deletions_per_run defers whole groups": {
			config:   untaggedRule,
			policy:   &Policy{MinUntaggedAge: time.Hour, MaxDeletionsPerRun: 3, RepositoryRules: RepositoryRulesAllow},
			versions: []ver{{1, "u1", 10 * time.Hour, nil}, {2, "idx", 9 * time.Hour, nil}, {3, "i-a", 9 * time.Hour, nil}, {4, "i-b", 9 * time.Hour, nil}, {5, "u2", 8 * time.Hour, nil}},
			manifests: []registry.Manifest{
				index("idx", child{"i-a", "linux/amd64"}, child{"i-b", "linux/arm64"}),
			},
			want: `delete u1: untagged
keep i-a: deferred to next run (max_deletions_per_run 3)
keep i-b: deferred to next run (max_deletions_per_run 3)
keep idx: deferred to next run (max_deletions_per_run 3)
keep u2: deferred to next run (max_deletions_per_run 3)
`,
		},
		"max_deletions_per_run never splits a group bigger than the cap": {
			config: `
rules:
  - type: container
    prune: {untagged: false, delete_tags: ["pr-*"]}
`,
			policy: &Policy{MinUntaggedAge: time.Hour, MaxDeletionsPerRun: 2, RepositoryRules: RepositoryRulesAllow},
			versions: []ver{{2, "idx", 9 * time.Hour, []string{"pr-1"}}, {3, "i-a", 9 * time.Hour, nil}, {4, "i-b", 9 * time.Hour, nil},
				{5, "pr2", 8 * time.Hour, []string{"pr-2"}}},
			manifests: []registry.Manifest{index("idx", child{"i-a", "linux/amd64"}, child{"i-b", "linux/arm64"})},
			want: `delete pr2: matches delete_tags pr-*
keep i-a: kept with its group of 3 versions, which go together and exceed max_deletions_per_run 2: raise the cap to delete them
keep i-b: kept with its group of 3 versions, which go together and exceed max_deletions_per_run 2: raise the cap to delete them
keep idx: kept with its group of 3 versions, which go together and exceed max_deletions_per_run 2: raise the cap to delete them
`,
		},
		"docker packages follow container safety": {
			config: `
rules:
  - type: docker
    prune: {untagged: true}
`,
			pkgType:   TypeDocker,
			versions:  []ver{{1, "idx", 3 * time.Hour, []string{"latest"}}, {2, "kid", 3 * time.Hour, nil}},
			manifests: []registry.Manifest{index("idx", child{"kid", "linux/amd64"})},
			want: `keep idx: tagged latest
keep kid: child linux/amd64 of index latest
`,
		},
		"first match wins and exclusions skip packages": {
			config: `
rules:
  - packages: ["legacy-*"]
    type: container
  - packages: ["*", "!app"]
    prune: {untagged: true}
`,
			versions: []ver{{1, "u", 3 * time.Hour, nil}},
			want:     "keep u: no rule matches this package\n",
		},
		"a rule without prune prunes nothing": {
			config: `
rules:
  - packages: ["app"]
    restore: {tags: ["v*"]}
  - prune: {untagged: true}
`,
			versions: []ver{{1, "u", 3 * time.Hour, nil}},
			want:     "keep u: rule 1 has no prune\n",
		},
		"dry run is carried": {
			config:   "dry_run: true\n" + untaggedRule,
			versions: []ver{{1, "u", 3 * time.Hour, nil}},
			want: `dry run
delete u: untagged
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			policy := DefaultPolicy()
			if tc.policy != nil {
				policy = *tc.policy
			}
			cfg := testConfig(t, tc.config, policy)
			pkgType := TypeContainer
			if tc.pkgType != "" {
				pkgType = tc.pkgType
			}
			pkg := Package{Owner: "acme", Type: pkgType, Name: "app", Repository: "app"}
			g := Graph{Manifests: map[string]registry.Manifest{}, Unreadable: map[string]error{}}
			var versions []Version
			labels := []string{}
			for _, v := range tc.versions {
				version := v.version()
				if contains(tc.zeroTime, v.label) {
					version.CreatedAt = time.Time{}
				}
				versions = append(versions, version)
				labels = append(labels, v.label)
				g.Manifests[digestOf(v.label)] = registry.Manifest{Digest: digestOf(v.label), MediaType: registry.MediaTypeOCIManifest}
			}
			for _, m := range tc.manifests {
				g.Manifests[m.Digest] = m
			}
			for _, l := range tc.unreadable {
				delete(g.Manifests, digestOf(l))
				g.Unreadable[digestOf(l)] = errors.New("registry said 500")
			}
			for _, l := range tc.missing {
				delete(g.Manifests, digestOf(l))
			}
			// Digests that are named but not listed.
			labels = append(labels, "deleted", "deleted2", "g-amd64", "g-arm64", "h-amd64", "p-arm64")
			d := Decide(Input{Config: cfg, Package: pkg, Versions: versions, Graph: g, Now: testNow})
			if got := render(d, labels); got != tc.want {
				t.Errorf("decision:\n%s\nwant:\n%s", got, tc.want)
			}
			if len(d.Delete)+len(d.Keep) != len(versions) {
				t.Errorf("%d deleted + %d kept, want %d versions", len(d.Delete), len(d.Keep), len(versions))
			}
			checkKinds(t, d)
			again := Decide(Input{Config: cfg, Package: pkg, Versions: reversed(versions), Graph: g, Now: testNow})
			if render(again, labels) != render(d, labels) {
				t.Errorf("decision depends on listing order:\n%s", render(again, labels))
			}
		})
	}
}

func reversed(vs []Version) []Version {
	out := make([]Version, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = v
	}
	return out
}

func TestDecideVersioned(t *testing.T) {
	type v struct {
		id   int64
		name string
		age  time.Duration
	}
	day := 24 * time.Hour
	tests := map[string]struct {
		config   string
		pkgType  string
		versions []v
		want     string
	}{
		"npm keep_latest keeps the newest N": {
			config:   "rules:\n  - type: npm\n    prune: {keep_latest: 2}\n",
			pkgType:  TypeNPM,
			versions: []v{{1, "1.0.0", 40 * day}, {2, "1.1.0", 30 * day}, {3, "1.2.0", 20 * day}, {4, "1.3.0", 10 * day}},
			want: `delete 1.0.0: beyond newest 2 versions
delete 1.1.0: beyond newest 2 versions
keep 1.2.0: newest 2 versions
keep 1.3.0: newest 2 versions
`,
		},
		"npm prerelease_only deletes only pre-releases": {
			config:  "rules:\n  - type: npm\n    prune: {keep_latest: 1, prerelease_only: true}\n",
			pkgType: TypeNPM,
			versions: []v{
				{1, "1.0.0", 40 * day}, {2, "1.1.0-rc.1", 30 * day}, {3, "1.1.0", 29 * day},
				{4, "2.0.0-beta.1", 2 * day}, {5, "2.0.0-beta.2", 1 * day}, {6, "not-semver", 50 * day},
			},
			want: `delete 1.1.0-rc.1: beyond newest 1 versions, pre-release
delete 2.0.0-beta.1: beyond newest 1 versions, pre-release
keep 1.0.0: not a pre-release
keep 1.1.0: not a pre-release
keep 2.0.0-beta.2: newest 1 versions
keep not-semver: not a pre-release
`,
		},
		"maven older_than alone, snapshot is a pre-release": {
			config:   "rules:\n  - type: maven\n    prune: {older_than: 30d, prerelease_only: true}\n",
			pkgType:  TypeMaven,
			versions: []v{{1, "1.0-SNAPSHOT", 40 * day}, {2, "1.1-SNAPSHOT", 10 * day}, {3, "1.0", 40 * day}},
			want: `delete 1.0-SNAPSHOT: pre-release, older than 30d
keep 1.0: not a pre-release
keep 1.1-SNAPSHOT: younger than 30d
`,
		},
		"nuget floor keeps a fresh version": {
			config:   "rules:\n  - type: nuget\n    prune: {keep_latest: 1}\n",
			pkgType:  TypeNuGet,
			versions: []v{{1, "1.0.0", 10 * time.Minute}, {2, "1.0.1", 5 * time.Minute}, {3, "0.9.0", 2 * day}},
			want: `delete 0.9.0: beyond newest 1 versions
keep 1.0.0: younger than 1h
keep 1.0.1: newest 1 versions
`,
		},
		"rubygems rule of type any without a criterion keeps all": {
			config:   "rules:\n  - type: any\n    prune: {untagged: true}\n",
			pkgType:  TypeRubyGems,
			versions: []v{{1, "0.1.0", 400 * day}},
			want:     "keep 0.1.0: the rule sets neither keep_latest nor older_than\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, tc.config, DefaultPolicy())
			pkg := Package{Owner: "acme", Type: tc.pkgType, Name: "web", Repository: "app"}
			var versions []Version
			for _, x := range tc.versions {
				versions = append(versions, Version{ID: x.id, Name: x.name, CreatedAt: testNow.Add(-x.age)})
			}
			d := Decide(Input{Config: cfg, Package: pkg, Versions: versions, Now: testNow})
			if got := render(d, nil); got != tc.want {
				t.Errorf("decision:\n%s\nwant:\n%s", got, tc.want)
			}
			checkKinds(t, d)
		})
	}
}

func TestDecideGuards(t *testing.T) {
	versions := []Version{
		{ID: 2, Name: digestOf("b"), CreatedAt: testNow.Add(-48 * time.Hour)},
		{ID: 1, Name: digestOf("a"), CreatedAt: testNow.Add(-24 * time.Hour)},
	}
	g := Graph{Manifests: map[string]registry.Manifest{
		digestOf("a"): {Digest: digestOf("a"), MediaType: registry.MediaTypeOCIManifest},
		digestOf("b"): {Digest: digestOf("b"), MediaType: registry.MediaTypeOCIManifest},
	}}
	t.Run("inert", func(t *testing.T) {
		d := Decide(Input{Config: &Config{Policy: DefaultPolicy()}, Package: Package{Owner: "acme", Type: TypeContainer, Name: "app"}, Versions: versions, Graph: g, Now: testNow})
		want := "keep a: no pkgwarden.yml governs this package\nkeep b: no pkgwarden.yml governs this package\n"
		if got := render(d, []string{"a", "b"}); got != want || d.Rule != -1 {
			t.Errorf("got %s (rule %d), want %s", got, d.Rule, want)
		}
		// Keep is newest first.
		if d.Keep[0].ID != 1 || d.Keep[1].ID != 2 {
			t.Errorf("keep order = %d, %d, want newest first", d.Keep[0].ID, d.Keep[1].ID)
		}
	})
	t.Run("a repository file never governs another repository's package", func(t *testing.T) {
		cfg := testConfig(t, untaggedRule, DefaultPolicy())
		d := Decide(Input{Config: cfg, Package: Package{Owner: "acme", Type: TypeContainer, Name: "api", Repository: "api"}, Versions: versions, Graph: g, Now: testNow})
		want := "untouched: rules of acme/app:.github/pkgwarden.yml ignored: they govern only packages linked to acme/app, this one is linked to acme/api\nkeep a: untouched\nkeep b: untouched\n"
		if got := render(d, []string{"a", "b"}); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		if len(d.Notices) != 1 || !strings.Contains(d.Notices[0], "ignored") {
			t.Errorf("notices = %q, want the ignored file reported", d.Notices)
		}
	})
}

func TestDecisionJSON(t *testing.T) {
	cfg := testConfig(t, untaggedRule, DefaultPolicy())
	pkg := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	a := Version{ID: 7, Name: "sha256:aa", Tags: []string{"v1", "latest"}, CreatedAt: testNow.Add(-2 * time.Hour)}
	b := Version{ID: 8, Name: "sha256:bb", CreatedAt: testNow.Add(-2 * time.Hour)}
	g := Graph{Manifests: map[string]registry.Manifest{
		"sha256:aa": {Digest: "sha256:aa", MediaType: registry.MediaTypeOCIManifest},
		"sha256:bb": {Digest: "sha256:bb", MediaType: registry.MediaTypeOCIManifest},
	}}
	tests := map[string]struct {
		graph Graph
		want  string
	}{
		"pruned": {graph: g, want: `{"owner":"acme","type":"container","name":"app",` +
			`"delete":[{"id":8,"version":"sha256:bb","tags":[],"reason":"untagged","kind":"untagged"}],` +
			`"keep":[{"id":7,"version":"sha256:aa","tags":["latest","v1"],"reason":"tagged latest","kind":"tagged"}],"untouched":null}`},
		"untouched": {graph: Graph{Unreadable: map[string]error{"sha256:aa": errors.New("boom")}}, want: `{"owner":"acme","type":"container","name":"app",` +
			`"delete":[],"keep":[{"id":8,"version":"sha256:bb","tags":[],"reason":"untouched","kind":"untouched"},{"id":7,"version":"sha256:aa","tags":["latest","v1"],"reason":"untouched","kind":"untouched"}],` +
			`"untouched":"manifest sha256:aa of version 7 could not be read: boom (and 1 more)"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := Decide(Input{Config: cfg, Package: pkg, Versions: []Version{a, b}, Graph: tc.graph, Now: testNow})
			got, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("json:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// BenchmarkDecide measures a large container package: 2,000 multi-arch
// indexes (two platforms, an attestation and a cosign signature each),
// a third of them tagged, the rest untagged and old.
func BenchmarkDecide(b *testing.B) {
	cfg := testConfig(b, `
rules:
  - type: container
    prune: {untagged: true, keep_untagged: 10, delete_tags: ["pr-*"], keep_tagged: 5}
`, DefaultPolicy())
	pkg := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	g := Graph{Manifests: map[string]registry.Manifest{}}
	var versions []Version
	id := int64(0)
	add := func(label string, age time.Duration, tags ...string) string {
		id++
		d := digestOf(label)
		versions = append(versions, Version{ID: id, Name: d, Tags: tags, CreatedAt: testNow.Add(-age)})
		if _, ok := g.Manifests[d]; !ok {
			g.Manifests[d] = registry.Manifest{Digest: d, MediaType: registry.MediaTypeOCIManifest}
		}
		return d
	}
	for i := 0; i < 2000; i++ {
		age := time.Duration(i+2) * time.Hour
		p := fmt.Sprintf("img%d", i)
		var kids []child
		for _, c := range []child{{p + "-amd64", "linux/amd64"}, {p + "-arm64", "linux/arm64"}, {p + "-att", "unknown/unknown"}} {
			add(c.label, age)
			kids = append(kids, c)
		}
		var tags []string
		if i%3 == 0 {
			tags = []string{fmt.Sprintf("pr-%d", i)}
		}
		g.Manifests[digestOf(p)] = index(p, kids...)
		add(p, age, tags...)
		add(p+"-sig", age, "sha256-"+hexOf(p)+".sig")
	}
	b.ReportAllocs()
	b.ResetTimer()
	var d Decision
	for i := 0; i < b.N; i++ {
		d = Decide(Input{Config: cfg, Package: pkg, Versions: versions, Graph: g, Now: testNow})
	}
	b.ReportMetric(float64(len(versions)), "versions")
	b.ReportMetric(float64(len(d.Delete)), "deleted")
}

// TestDecideHolding: a held version (GitHub refused to delete it) is kept
// with the hold's reason and does not count toward max_deletions_per_run,
// so the candidates behind it are planned in its place.
func TestDecideHolding(t *testing.T) {
	const refused = "GitHub refused to delete it on 2026-11-24: too many downloads"
	capped := Policy{MinUntaggedAge: time.Hour, MaxDeletionsPerRun: 1, RepositoryRules: RepositoryRulesAllow}
	tests := map[string]struct {
		config    string
		policy    Policy
		pkgType   string
		versions  []ver
		manifests []registry.Manifest
		held      map[int64]string
		want      string
	}{
		"a held oldest version leaves the cap to the next": {
			config:   untaggedRule,
			policy:   capped,
			versions: []ver{{1, "old", 10 * time.Hour, nil}, {2, "mid", 9 * time.Hour, nil}, {3, "new", 8 * time.Hour, nil}},
			held:     map[int64]string{1: refused},
			want: `delete mid: untagged
keep new: deferred to next run (max_deletions_per_run 1)
keep old: ` + refused + `
`,
		},
		"a held child stays with what it holds while its index goes": {
			config: untaggedRule,
			policy: DefaultPolicy(),
			versions: []ver{{1, "idx", 10 * time.Hour, nil}, {2, "kid", 10 * time.Hour, nil},
				{3, "sig", 10 * time.Hour, []string{"sha256-@kid.sig"}}, {4, "other", 10 * time.Hour, nil}},
			manifests: []registry.Manifest{index("idx", child{"kid", "linux/amd64"}, child{"other", "linux/arm64"})},
			held:      map[int64]string{2: refused},
			want: `delete idx: untagged
delete other: child linux/arm64 of index idx, goes with it
keep kid: ` + refused + `
keep sig: signature of kid
`,
		},
		"a hold on a version the rules keep changes nothing": {
			config:   untaggedRule,
			policy:   DefaultPolicy(),
			versions: []ver{{1, "young", 10 * time.Minute, nil}, {2, "old", 10 * time.Hour, nil}},
			held:     map[int64]string{1: refused},
			want: `delete old: untagged
keep young: younger than 1h
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, tc.config, tc.policy)
			pkg := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
			g := Graph{Manifests: map[string]registry.Manifest{}}
			var versions []Version
			var labels []string
			for _, v := range tc.versions {
				versions = append(versions, v.version())
				labels = append(labels, v.label)
				g.Manifests[digestOf(v.label)] = registry.Manifest{Digest: digestOf(v.label), MediaType: registry.MediaTypeOCIManifest}
			}
			for _, m := range tc.manifests {
				g.Manifests[m.Digest] = m
			}
			d := Decide(Input{Config: cfg, Package: pkg, Versions: versions, Graph: g, Now: testNow, Held: tc.held})
			if got := render(d, labels); got != tc.want {
				t.Errorf("decision:\n%s\nwant:\n%s", got, tc.want)
			}
			checkKinds(t, d)
		})
	}
	t.Run("npm", func(t *testing.T) {
		cfg := testConfig(t, "rules:\n  - type: npm\n    prune: {keep_latest: 1}\n", capped)
		pkg := Package{Owner: "acme", Type: TypeNPM, Name: "web", Repository: "app"}
		versions := []Version{{ID: 1, Name: "1.0.0", CreatedAt: testNow.Add(-40 * 24 * time.Hour)},
			{ID: 2, Name: "1.1.0", CreatedAt: testNow.Add(-30 * 24 * time.Hour)}, {ID: 3, Name: "1.2.0", CreatedAt: testNow.Add(-20 * 24 * time.Hour)}}
		d := Decide(Input{Config: cfg, Package: pkg, Versions: versions, Now: testNow, Held: map[int64]string{1: refused}})
		want := "delete 1.1.0: beyond newest 1 versions\nkeep 1.0.0: " + refused + "\nkeep 1.2.0: newest 1 versions\n"
		if got := render(d, nil); got != want {
			t.Errorf("decision:\n%s\nwant:\n%s", got, want)
		}
	})
}

// checkKinds: every verdict has a kind, deletions one of a deletion and
// keeps one of a keep, and a verdict resting on another version names it.
func checkKinds(t *testing.T, d Decision) {
	t.Helper()
	deleting := map[Kind]bool{KindUntagged: true, KindDeleteTags: true, KindOld: true, KindGoesWith: true, KindOrphan: true, KindGhostImage: true, KindPartialImage: true}
	for _, e := range d.Delete {
		if !deleting[e.Kind] {
			t.Errorf("deleted %s (%s) has kind %q", e.Version, e.Reason, e.Kind)
		}
	}
	for _, e := range d.Keep {
		if e.Kind == "" || deleting[e.Kind] {
			t.Errorf("kept %s (%s) has kind %q", e.Version, e.Reason, e.Kind)
		}
	}
	for _, e := range append(append([]Entry(nil), d.Delete...), d.Keep...) {
		switch e.Kind {
		case KindChild, KindReferrer, KindGoesWith:
			if e.Holder == "" || e.Relation == "" || !strings.Contains(e.Reason, e.Holder) || !strings.HasPrefix(e.Reason, e.Relation) {
				t.Errorf("%s (%s): kind %s names holder %q as %q", e.Version, e.Reason, e.Kind, e.Holder, e.Relation)
			}
		}
	}
}
