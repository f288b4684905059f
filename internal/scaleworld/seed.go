package scaleworld

import (
	"context"
	"fmt"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// Info is what a seeded world's users need: who may do what, and its size.
type Info struct {
	Spec           string   `json:"spec"`
	Org            string   `json:"org"`
	Admin          string   `json:"admin"`
	Token          string   `json:"token"`
	TokenScopes    []string `json:"token_scopes"`
	InstallationID int64    `json:"installation_id"`
	Packages       int      `json:"packages"`
	Versions       int      `json:"versions"`
	Repositories   int      `json:"repositories"`
}

// Seed builds the world of spec in sim: the organisation (admin alice,
// with a classic packages token), its repositories with RepoConfig and
// its .github repository with OrgPolicy, the App installed on all of
// them, and every package in bulk with its versions backdated; then the
// broken releases' platforms are deleted (two days ago) or purged. It
// sends no webhooks.
func Seed(ctx context.Context, sim *ghsim.Sim, spec Spec) (Info, error) {
	info := Info{Spec: spec.String(), Org: Org, Admin: Admin, TokenScopes: Scopes,
		Packages: spec.Packages, Repositories: spec.Repositories()}
	if err := spec.Validate(); err != nil {
		return info, err
	}
	sim.SetQuiet(true)
	defer sim.SetQuiet(false)
	if _, err := sim.AddUser(Admin); err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	if _, err := sim.AddOrg(Org, Admin); err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	tok, err := sim.AddClassicToken(Admin, Scopes...)
	if err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	info.Token = tok
	for r := range spec.Repositories() {
		name := RepositoryName(r)
		if _, err := sim.AddRepo(Org, name, ghsim.RepoOptions{}); err != nil {
			return info, fmt.Errorf("seed scale world: %w", err)
		}
		if err := sim.SeedFile(Org, name, ".github/pkgwarden.yml", RepoConfig); err != nil {
			return info, fmt.Errorf("seed scale world: %w", err)
		}
	}
	if _, err := sim.AddRepo(Org, ".github", ghsim.RepoOptions{}); err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	if err := sim.SeedFile(Org, ".github", ".github/pkgwarden.yml", OrgPolicy); err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	info.InstallationID, err = sim.AddInstallation(Org, map[string]string{
		"metadata": "read", "contents": "read", "issues": "write", "packages": "read",
		"pull_requests": "read", "checks": "write",
	})
	if err != nil {
		return info, fmt.Errorf("seed scale world: %w", err)
	}
	now := sim.Now()
	for i := range spec.Packages {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		p := spec.Package(i)
		ms := make([]ghsim.ContainerManifest, len(p.Versions))
		for j, v := range p.Versions {
			ms[j] = ghsim.ContainerManifest{MediaType: v.MediaType, Body: v.Body, Tags: v.Tags, CreatedAt: now.Add(-v.Age)}
		}
		if _, err := sim.AddContainerManifests(Org, p.Name, p.Repository, ms); err != nil {
			return info, fmt.Errorf("seed scale world: %w", err)
		}
		for _, v := range p.Versions {
			ref := ghsim.VersionRef{Name: v.Digest}
			switch v.Fate {
			case Restored:
				err = sim.DeleteVersion(Org, "container", p.Name, ref, 2*day)
			case Gone:
				err = sim.PurgeVersion(Org, "container", p.Name, ref)
			}
			if err != nil {
				return info, fmt.Errorf("seed scale world: break %s %s: %w", p.Name, v.Digest, err)
			}
		}
		info.Versions += len(p.Versions)
	}
	return info, nil
}

// SeedName is the --seed value of spec ("scale:20x200:1"); ParseSeedName
// reads it back, ok false when name is not a scale world's.
func SeedName(spec Spec) string { return "scale:" + spec.String() }

// ParseSeedName reads a --seed value naming a scale world.
func ParseSeedName(name string) (spec Spec, ok bool, err error) {
	rest, ok := strings.CutPrefix(name, "scale:")
	if !ok {
		return Spec{}, false, nil
	}
	spec, err = ParseSpec(rest)
	return spec, true, err
}
