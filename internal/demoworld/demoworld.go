// Package demoworld builds the world `pkgwarden demo`, `pkgwarden sim
// --seed demo` and the plan tests start from: the organisation acme, its
// repositories and rules, the App installed on it, and packages with a
// history worth pruning. It builds it in a GitHub simulator (ghsim)
// through the simulator's exported API only; the simulator itself knows
// nothing of this story.
package demoworld

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// Info says what Seed created.
type Info struct {
	Org            string   `json:"org"`
	Admin          string   `json:"admin"`
	Token          string   `json:"token"`
	TokenScopes    []string `json:"token_scopes"`
	Repository     string   `json:"repository"`
	InstallationID int64    `json:"installation_id"`
	// Image is the container package's reference without tag
	// (registry host/acme/webapp); IndexDigest the v1.0.0/latest index.
	Image       string `json:"image"`
	IndexDigest string `json:"index_digest"`
	NPMPackage  string `json:"npm_package"`
	// Broken are the releases other tools broke (Nightly, Legacy).
	Broken []Broken `json:"broken"`
}

// Broken is a tagged multi-arch release of which another tool deleted a
// platform: Digest, the platform's manifest, answers 404 in the registry
// while Tag still pulls the index. Gone: deleted past GitHub's 30-day
// window, so it can no longer be restored.
type Broken struct {
	Tag      string `json:"tag"`
	Index    string `json:"index"`
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Gone     bool   `json:"gone"`
}

// Config is the .github/pkgwarden.yml of the demo repository.
const Config = `# pkgwarden rules for acme/webapp (demo seed)
dry_run: false
report: {labels: [pkgwarden], assignees: []}
rules:
  - packages: ["webapp"]
    type: container
    prune:
      untagged: true
      older_than: 1d
      keep_untagged: 3
      delete_tags: ["pr-*"]
      exclude_tags: ["latest", "v*"]
    restore:
      tags: ["v*", "latest"]
      package: true
  - packages: ["*"]
    type: npm
    prune:
      keep_latest: 3
      prerelease_only: true
`

// OrgPolicy is the .github/pkgwarden.yml of the demo organisation's
// .github repository: the default of every acme package linked to no
// repository or to one without a file, and the policy. People copy it,
// so it is a safe start: container builds go only when untagged and
// old, and npm releases never go, only pre-releases beyond the newest 10
// (a type: any rule with older_than would delete every release older
// than that).
const OrgPolicy = `# acme organisation defaults and policy (demo seed)
rules:
  - packages: ["*"]
    type: container
    prune:
      untagged: true          # only untagged builds go,
      older_than: 14d         # once two weeks old,
      keep_untagged: 5        # and the newest 5 of them stay
  - packages: ["*"]
    type: npm
    prune:
      keep_latest: 10         # the newest 10 versions stay
      prerelease_only: true   # and of the others only pre-releases go
policy:
  max_deletions_per_run: 500
  min_untagged_age: 1h
  repository_rules: allow
`

// scopes are the demo token's scopes: everything pkgwarden needs.
var scopes = []string{"read:packages", "write:packages", "delete:packages", "repo"}

// Seed builds the demo world in sim: the organisation acme (admin alice,
// with a classic token), acme/webapp with its .github/pkgwarden.yml,
// acme/.github with the org policy, the app installed on acme, the
// container image webapp (a multi-arch release index tagged v1.0.0 and
// latest, a cosign signature tag, an attestation in the sha256-<hex> tag
// schema, 8 untagged builds of various ages, pr-* tags, a v0.9.0 release
// deleted 3 days ago, and two multi-arch releases other tools broke:
// Nightly missing a platform that can still be restored, Legacy one that
// is gone for good) pushed through the registry, and the npm package
// webapp-client with pre-releases. It sends no webhooks.
//
// Image content is derived from fixed seeds and pushes happen in a fixed
// order, so with the same API URL the digests and version ids are the same
// on every run; times follow the simulated clock (Advance it first to pin
// them).
func Seed(ctx context.Context, sim *ghsim.Sim) (Info, error) {
	info := Info{Org: "acme", Admin: "alice", Repository: "acme/webapp", NPMPackage: "webapp-client", TokenScopes: scopes}
	sim.SetQuiet(true)
	defer sim.SetQuiet(false)
	if _, err := sim.AddUser(info.Admin); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	if _, err := sim.AddOrg(info.Org, info.Admin); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	tok, err := sim.AddClassicToken(info.Admin, scopes...)
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	info.Token = tok
	for _, r := range []string{"webapp", ".github"} {
		if _, err := sim.AddRepo(info.Org, r, ghsim.RepoOptions{}); err != nil {
			return info, fmt.Errorf("seed demo: %w", err)
		}
	}
	if err := sim.SeedFile("acme", "webapp", ".github/pkgwarden.yml", Config); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	if err := sim.SeedFile("acme", ".github", ".github/pkgwarden.yml", OrgPolicy); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	info.InstallationID, err = sim.AddInstallation(info.Org, map[string]string{
		"metadata": "read", "contents": "read", "issues": "write", "packages": "read",
		"pull_requests": "read", "checks": "write",
	})
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}

	p := sim.Pusher(info.Admin, tok)
	repoRef := p.Repo("acme/webapp")
	info.Image = repoRef
	source := sim.WebURL() + "/acme/webapp"
	now := sim.Now()

	// The release: an index over three platform images.
	idx, err := ghsim.DemoIndex(source)
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	idxDigest, err := p.PushIndex(ctx, "acme/webapp", idx, "v1.0.0", "latest")
	if err != nil {
		return info, fmt.Errorf("seed demo: push release index: %w", err)
	}
	info.IndexDigest = idxDigest.String()
	idxDesc, err := describeIndex(idx)
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	// A cosign-style signature tag and an OCI 1.1 attestation, which the
	// client stores under the sha256-<hex> tag since there is no referrers API.
	sig, err := ghsim.DemoImage(source, "signature")
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	sigTag := strings.Replace(idxDigest.String(), ":", "-", 1) + ".sig"
	if _, err := p.PushImage(ctx, "acme/webapp", sig, sigTag); err != nil {
		return info, fmt.Errorf("seed demo: push signature: %w", err)
	}
	att, err := ghsim.DemoImage(source, "attestation")
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	// An in-toto config media type makes it an artifact, as attestations
	// are, rather than a runnable image.
	att = mutate.ConfigMediaType(att, "application/vnd.in-toto+json")
	if _, err := p.PushImage(ctx, "acme/webapp", mutate.Subject(att, idxDesc).(v1.Image)); err != nil {
		return info, fmt.Errorf("seed demo: push attestation: %w", err)
	}
	// The release and what hangs off it were pushed three days ago.
	day := 24 * time.Hour
	release, err := sim.Versions("acme", "container", "webapp")
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	for _, v := range release {
		at := now.Add(-3 * day)
		if err := sim.SetVersionTimes("acme", "container", "webapp", ghsim.VersionRef{ID: v.ID}, at, at, time.Time{}); err != nil {
			return info, fmt.Errorf("seed demo: %w", err)
		}
	}

	// Untagged builds of various ages, pr-* tags, and a deleted release.
	for i, age := range []time.Duration{2 * time.Hour, 6 * time.Hour, 20 * time.Hour, 2 * day, 4 * day, 7 * day, 12 * day, 25 * day} {
		img, err := ghsim.DemoImage(source, fmt.Sprintf("build-%d", i))
		if err != nil {
			return info, fmt.Errorf("seed demo: %w", err)
		}
		if err := pushAged(ctx, sim, p, img, age); err != nil {
			return info, fmt.Errorf("seed demo: untagged build %d: %w", i, err)
		}
	}
	for i, pr := range []string{"pr-41", "pr-42", "pr-57"} {
		img, err := ghsim.DemoImage(source, pr)
		if err != nil {
			return info, fmt.Errorf("seed demo: %w", err)
		}
		if err := pushAged(ctx, sim, p, img, time.Duration(9-3*i)*day, pr); err != nil {
			return info, fmt.Errorf("seed demo: %s: %w", pr, err)
		}
	}
	old, err := ghsim.DemoImage(source, "v0.9.0")
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	if err := pushAged(ctx, sim, p, old, 20*day, "v0.9.0"); err != nil {
		return info, fmt.Errorf("seed demo: v0.9.0: %w", err)
	}
	oldDigest, err := old.Digest()
	if err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	if err := sim.DeleteVersion("acme", "container", "webapp", ghsim.VersionRef{Name: oldDigest.String()}, 3*day); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}

	// An npm package with pre-releases.
	for i, v := range []struct {
		ver string
		pre bool
	}{{"1.0.0", false}, {"1.1.0-beta.1", true}, {"1.1.0-beta.2", true}, {"1.1.0-rc.1", true}, {"1.1.0", false}, {"1.2.0-alpha.1", true}, {"1.2.0-alpha.2", true}} {
		if _, err := sim.Publish("acme", "npm", info.NPMPackage, v.ver, ghsim.PublishOptions{
			Repository: "acme/webapp", Prerelease: v.pre, License: "MIT",
			Description: "Client for the acme webapp", CreatedAt: now.Add(-time.Duration(30-4*i) * day),
		}); err != nil {
			return info, fmt.Errorf("seed demo: %w", err)
		}
	}

	// Two releases other tools broke (pushed last, so that the ids above
	// stay as they were). Both stay tagged, but a platform no longer
	// pulls: a cleanup workflow deleted the untagged platform manifests,
	// as actions/delete-package-versions does by design.
	if info.Broken, err = seedBroken(ctx, sim, p, source, now); err != nil {
		return info, fmt.Errorf("seed demo: %w", err)
	}
	return info, nil
}

// Broken releases of the seed, tagged multi-arch indexes of which a
// platform no longer pulls: Nightly's linux/arm64 was deleted a day ago,
// within GitHub's 30-day window, so it can be restored (healed); Legacy's
// linux/arm/v7 was deleted longer ago than that and GitHub has purged
// it, so it is gone for good: the tag must be rebuilt or deleted.
const (
	Nightly = "nightly"
	Legacy  = "v0.8.0"
)

// seedBroken pushes the broken releases Nightly (two days old) and
// Legacy (sixty days old), then breaks them: Nightly's arm64 is deleted
// as another client's API call would (restorable), Legacy's arm/v7 is
// deleted past the window (gone).
func seedBroken(ctx context.Context, sim *ghsim.Sim, p *ghsim.Pusher, source string, now time.Time) ([]Broken, error) {
	day := 24 * time.Hour
	var out []Broken
	for _, b := range []struct {
		tag      string
		age      time.Duration
		platform int // index of the platform another tool deleted
		gone     bool
	}{{Nightly, 2 * day, 1, false}, {Legacy, 60 * day, 2, true}} {
		idx, err := releaseIndex(source, b.tag)
		if err != nil {
			return nil, err
		}
		if _, err := p.PushIndex(ctx, "acme/webapp", idx, b.tag); err != nil {
			return nil, fmt.Errorf("push %s: %w", b.tag, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.tag, err)
		}
		at := now.Add(-b.age)
		digests := []string{}
		for _, m := range im.Manifests {
			digests = append(digests, m.Digest.String())
		}
		d, err := idx.Digest()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.tag, err)
		}
		for _, dg := range append(digests, d.String()) {
			if err := sim.SetVersionTimes("acme", "container", "webapp", ghsim.VersionRef{Name: dg}, at, at, time.Time{}); err != nil {
				return nil, err
			}
		}
		child := ghsim.VersionRef{Name: digests[b.platform]}
		if b.gone {
			err = sim.PurgeVersion("acme", "container", "webapp", child)
		} else {
			err = sim.DeleteVersion("acme", "container", "webapp", child, day)
		}
		if err != nil {
			return nil, fmt.Errorf("break %s: %w", b.tag, err)
		}
		out = append(out, Broken{Tag: b.tag, Index: d.String(), Platform: im.Manifests[b.platform].Platform.String(),
			Digest: child.Name, Gone: b.gone})
	}
	return out, nil
}

// releaseIndex is a multi-arch index like ghsim.DemoIndex's, with
// platform images of its own for release tag.
func releaseIndex(source, tag string) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, pl := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}} {
		img, err := ghsim.DemoImage(source, tag+" "+pl.String())
		if err != nil {
			return nil, err
		}
		plc := pl
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plc}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.source": source}).(v1.ImageIndex), nil
}

// pushAged pushes img with tags to acme/webapp and backdates its version
// by age.
func pushAged(ctx context.Context, sim *ghsim.Sim, p *ghsim.Pusher, img v1.Image, age time.Duration, tags ...string) error {
	d, err := p.PushImage(ctx, "acme/webapp", img, tags...)
	if err != nil {
		return err
	}
	at := sim.Now().Add(-age)
	return sim.SetVersionTimes("acme", "container", "webapp", ghsim.VersionRef{Name: d.String()}, at, at, time.Time{})
}

// describeIndex is the descriptor an attestation names idx by as its
// subject.
func describeIndex(idx v1.ImageIndex) (v1.Descriptor, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("index digest: %w", err)
	}
	sz, err := idx.Size()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("index size: %w", err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("index media type: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Size: sz, Digest: d}, nil
}
