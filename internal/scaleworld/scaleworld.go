// Package scaleworld builds, from a fixed random seed, an organisation of
// many container packages of many versions each, as a large organisation
// with CI pushing on every commit has them, and says for every version
// what the world's rules must leave of it. `pkgwarden sim --seed
// scale:PACKAGESxVERSIONS[:SEED]` seeds it in bulk
// (ghsim.Sim.AddContainerManifests: a million versions in well under a
// minute, no pushes over HTTP) and cmd/scalebench regenerates the same
// packages to check the end state of a sweep.
//
// Each package (svc-0000, …) is linked to one of the organisation's
// repositories (app-000, …, one per ten packages), each with the same
// RepoConfig, and holds, per 1,000 versions:
//
//   - 20 tagged releases (v1.N.0, the newest also latest), each a
//     multi-arch index over linux/amd64 and linux/arm64, signed with a
//     cosign-style sha256-<hex>.sig tag and attested with a
//     sha256-<hex>.att tag: 100 versions, all kept;
//   - 50 pull-request builds tagged pr-N, half of them younger than 14
//     days (kept), half older (deleted by delete_tags);
//   - on every tenth package a tagged release ("nightly") another tool
//     broke by deleting a platform two days ago (restorable: pkgwarden
//     heals it, so the platform ends up active), and on every tenth
//     package from the fifth a release ("legacy") whose platform was
//     deleted past GitHub's 30-day window (gone: it stays broken);
//   - the rest untagged builds, one in ten of them a multi-arch index with
//     its two platforms, spread over the last 13 days (kept) and, for
//     about 75 versions, between 15 and 60 days old (deleted, an index
//     with its platforms).
//
// So the rules delete about a tenth of the versions, and no version is
// between 13 and 15 days old: the expected end state does not depend on
// when the sweep runs within a day of the seeding.
package scaleworld

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the seeded world.
const (
	Org   = "acme"
	Admin = "alice"
	// DefaultSeed is the random seed of a spec that names none.
	DefaultSeed = 1
	// OlderThan is the rules' older_than; no version's age is within a
	// day of it.
	OlderThan = 14 * 24 * time.Hour
	// KeepUntagged is the rules' keep_untagged.
	KeepUntagged = 20
)

// Scopes are the admin's packages token's scopes.
var Scopes = []string{"read:packages", "write:packages", "delete:packages", "repo"}

// RepoConfig is the .github/pkgwarden.yml of every repository: untagged
// builds and pr-* builds older than 14 days go, the newest 20 untagged
// builds stay whatever their age.
const RepoConfig = `# scale benchmark rules (internal/scaleworld)
rules:
  - packages: ["svc-*"]
    type: container
    prune:
      untagged: true
      older_than: 14d
      keep_untagged: 20
      delete_tags: ["pr-*"]
`

// OrgPolicy is the .github/pkgwarden.yml of the organisation's .github
// repository: the policy, with the cap per run raised so that every
// deletion the rules make happens in one run (each package deletes about
// a tenth of its versions).
const OrgPolicy = `# scale benchmark policy (internal/scaleworld)
policy:
  max_deletions_per_run: 100000
`

// Media types of the seeded manifests.
const (
	OCIImage = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex = "application/vnd.oci.image.index.v1+json"
)

// Spec is the size of a world and its random seed.
type Spec struct {
	Packages, Versions int
	Seed               uint64
}

// MaxVersions bounds a package (and MaxPackages the organisation) so that
// a typo does not ask the simulator for a billion versions.
const (
	MaxVersions = 100_000
	MaxPackages = 100_000
	// MinVersions is the smallest package that holds every kind of
	// version.
	MinVersions = 50
)

// ParseSpec reads "PACKAGESxVERSIONS[:SEED]" ("1000x1000", "20x200:7").
func ParseSpec(s string) (Spec, error) {
	spec := Spec{Seed: DefaultSeed}
	size, seed, hasSeed := strings.Cut(s, ":")
	p, v, ok := strings.Cut(size, "x")
	var err error
	if !ok {
		return spec, fmt.Errorf("scale world %q: want PACKAGESxVERSIONS[:SEED]", s)
	}
	if spec.Packages, err = strconv.Atoi(p); err != nil {
		return spec, fmt.Errorf("scale world %q: packages: %w", s, err)
	}
	if spec.Versions, err = strconv.Atoi(v); err != nil {
		return spec, fmt.Errorf("scale world %q: versions: %w", s, err)
	}
	if hasSeed {
		if spec.Seed, err = strconv.ParseUint(seed, 10, 64); err != nil {
			return spec, fmt.Errorf("scale world %q: seed: %w", s, err)
		}
	}
	return spec, spec.Validate()
}

// Validate checks the sizes.
func (s Spec) Validate() error {
	if s.Packages < 1 || s.Packages > MaxPackages {
		return fmt.Errorf("scale world: %d packages, want 1 to %d", s.Packages, MaxPackages)
	}
	if s.Versions < MinVersions || s.Versions > MaxVersions {
		return fmt.Errorf("scale world: %d versions a package, want %d to %d", s.Versions, MinVersions, MaxVersions)
	}
	return nil
}

// String is the spec as ParseSpec reads it.
func (s Spec) String() string { return fmt.Sprintf("%dx%d:%d", s.Packages, s.Versions, s.Seed) }

// Repositories is the number of repositories the packages are linked to.
func (s Spec) Repositories() int { return max(1, s.Packages/10) }

// RepositoryName is the name (without owner) of repository r.
func RepositoryName(r int) string { return fmt.Sprintf("app-%03d", r) }

// PackageName is the name of package i.
func PackageName(i int) string { return fmt.Sprintf("svc-%04d", i) }

// Fate is what the rules (and pkgwarden's healing) leave of a version.
type Fate int

const (
	// Kept: active before and after.
	Kept Fate = iota
	// Deleted: active before, deleted by the rules.
	Deleted
	// Restored: a platform of a kept release another tool deleted two
	// days before: deleted before, restored (healed) after.
	Restored
	// Gone: a platform deleted past the 30-day window: listed nowhere,
	// before and after; its release stays broken.
	Gone
)

func (f Fate) String() string {
	switch f {
	case Kept:
		return "kept"
	case Deleted:
		return "deleted"
	case Restored:
		return "restored"
	case Gone:
		return "gone"
	}
	return "fate(" + strconv.Itoa(int(f)) + ")"
}

// Version is one manifest of a package, in push order (platforms before
// their index).
type Version struct {
	Digest    string
	MediaType string
	Body      []byte
	Tags      []string
	// Age is how long before the seeding it was created.
	Age  time.Duration
	Fate Fate
	// Children are an index's platforms (digests).
	Children []string
}

// Package is one seeded package.
type Package struct {
	Name string
	// Repository is "acme/app-NNN".
	Repository string
	Versions   []Version
}

// Count returns how many versions have each fate.
func (p Package) Count() map[Fate]int {
	out := map[Fate]int{}
	for _, v := range p.Versions {
		out[v.Fate]++
	}
	return out
}

const day = 24 * time.Hour

// Package builds package i of the world: the same versions for the same
// spec, whatever the order packages are built in.
func (s Spec) Package(i int) Package {
	rng := rand.New(rand.NewPCG(s.Seed, uint64(i)))
	name := PackageName(i)
	repo := RepositoryName(i % s.Repositories())
	p := Package{Name: name, Repository: Org + "/" + repo, Versions: make([]Version, 0, s.Versions+4)}
	source := "https://github.com/" + Org + "/" + repo
	image := func(note string, layerType string) Version {
		body := imageManifest(source, name+" "+note, layerType)
		return Version{Digest: digest(body), MediaType: OCIImage, Body: body}
	}
	jitter := func(max time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(max))) }
	// index adds the platforms of a multi-arch image and then the index.
	index := func(note string, age time.Duration, fate Fate, tags ...string) Version {
		var children []Version
		for _, arch := range []string{"amd64", "arm64"} {
			c := image(note+" linux/"+arch, "application/vnd.oci.image.layer.v1.tar+gzip")
			c.Age, c.Fate = age, fate
			children = append(children, c)
		}
		body := indexManifest(children)
		idx := Version{Digest: digest(body), MediaType: OCIIndex, Body: body, Tags: tags, Age: age, Fate: fate}
		for _, c := range children {
			idx.Children = append(idx.Children, c.Digest)
		}
		p.Versions = append(p.Versions, children...)
		p.Versions = append(p.Versions, idx)
		return idx
	}

	// Releases: an index, its platforms, a signature and an attestation.
	releases := max(1, s.Versions/50)
	for r := range releases {
		age := time.Duration(releases-r)*90*day/time.Duration(releases) + jitter(12*time.Hour)
		if age > OlderThan-day && age < OlderThan+day {
			age += 2 * day // tagged, so kept anyway; but keep the gap
		}
		tags := []string{fmt.Sprintf("v1.%d.0", r)}
		if r == releases-1 {
			tags = append(tags, "latest")
		}
		idx := index(tags[0], age, Kept, tags...)
		hexd := strings.TrimPrefix(idx.Digest, "sha256:")
		for _, ref := range []struct{ suffix, layer string }{
			{".sig", "application/vnd.dev.cosign.simplesigning.v1+json"},
			{".att", "application/vnd.dsse.envelope.v1+json"},
		} {
			v := image(tags[0]+ref.suffix, ref.layer)
			v.Tags, v.Age, v.Fate = []string{"sha256-" + hexd + ref.suffix}, age, Kept
			p.Versions = append(p.Versions, v)
		}
	}

	// Pull-request builds: even ones young, odd ones old.
	prs := max(2, s.Versions/20)
	oldPRs := 0
	for k := range prs {
		v := image(fmt.Sprintf("pr-%d", 100+k), "application/vnd.oci.image.layer.v1.tar+gzip")
		v.Tags = []string{fmt.Sprintf("pr-%d", 100+k)}
		if k%2 == 0 {
			v.Age = time.Hour + jitter(OlderThan-day-time.Hour)
		} else {
			v.Age, v.Fate = OlderThan+day+jitter(45*day), Deleted
			oldPRs++
		}
		p.Versions = append(p.Versions, v)
	}

	// Releases other tools broke; the broken platform is the index's
	// first child, just before it.
	if i%10 == 0 {
		index("nightly", 3*day, Kept, "nightly")
		p.Versions[len(p.Versions)-3].Fate = Restored
	}
	if i%10 == 5 {
		index("legacy", 60*day, Kept, "legacy")
		p.Versions[len(p.Versions)-3].Fate = Gone
	}

	// Untagged builds, newest first: the young ones until only the old
	// ones' share is left, then the old ones.
	rest := s.Versions - len(p.Versions)
	oldShare := max(0, s.Versions/10-oldPRs)
	young := rest - oldShare
	var builds []int // versions of each build, newest first
	for n := 0; n < rest; {
		size := 1
		if rest-n >= 3 && rng.IntN(10) == 0 {
			size = 3
		}
		builds = append(builds, size)
		n += size
	}
	youngBuilds := 0
	for n := 0; youngBuilds < len(builds) && n+builds[youngBuilds] <= young; youngBuilds++ {
		n += builds[youngBuilds]
	}
	youngBuilds = max(youngBuilds, min(KeepUntagged, len(builds)))
	oldBuilds := len(builds) - youngBuilds
	for newest, size := range slices.Backward(builds) {
		var age time.Duration
		fate := Kept
		if newest < youngBuilds {
			age = 2*time.Hour + time.Duration(newest)*(OlderThan-day-2*time.Hour)/time.Duration(max(1, youngBuilds))
		} else {
			k := newest - youngBuilds
			age = OlderThan + day + time.Duration(k)*45*day/time.Duration(max(1, oldBuilds))
			fate = Deleted
		}
		note := fmt.Sprintf("build-%d", newest)
		if size == 3 {
			index(note, age, fate)
			continue
		}
		v := image(note, "application/vnd.oci.image.layer.v1.tar+gzip")
		v.Age, v.Fate = age, fate
		p.Versions = append(p.Versions, v)
	}
	return p
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// imageManifest is an OCI image manifest of one layer; its blobs are
// never stored (a prune reads manifests only).
func imageManifest(source, note, layerType string) []byte {
	layer := sha256.Sum256([]byte(note))
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[{"mediaType":%q,"digest":"sha256:%s","size":%d}],"annotations":{"org.opencontainers.image.source":%q,"org.opencontainers.image.description":%q}}`,
		OCIImage, 0, layerType, hex.EncodeToString(layer[:]), 1000+len(note), source, note)
}

// indexManifest is an OCI index over linux/amd64 and linux/arm64.
func indexManifest(children []Version) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"schemaVersion":2,"mediaType":%q,"manifests":[`, OCIIndex)
	for i, c := range children {
		if i > 0 {
			b.WriteByte(',')
		}
		arch := "amd64"
		if i == 1 {
			arch = "arm64"
		}
		fmt.Fprintf(&b, `{"mediaType":%q,"digest":%q,"size":%d,"platform":{"architecture":%q,"os":"linux"}}`, c.MediaType, c.Digest, len(c.Body), arch)
	}
	b.WriteString("]}")
	return []byte(b.String())
}
