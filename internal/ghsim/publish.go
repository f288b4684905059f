package ghsim

import (
	"fmt"
	"time"
)

// These methods change packages from Go, without GitHub's rules (tests, the
// demo seed); the admin API in admin_packages.go exposes them over HTTP.

// PublishOptions describe a non-container version published with Publish.
type PublishOptions struct {
	// Repository ("owner/name" or "name" under the owner) links a new
	// package to a repository, which must exist.
	Repository string
	// Visibility of a new package: public, private (default) or internal.
	Visibility  string
	Description string
	License     string
	Prerelease  bool
	// CreatedAt backdates the version (zero: now).
	CreatedAt time.Time
	// Sender is the login the webhook names as sender (default: the owner).
	Sender string
}

// Publish creates the version of an npm, maven, rubygems, nuget or docker
// package (creating the package on first use) and sends the
// registry_package published webhook, as publishing through a registry
// client would. Container versions come from registry pushes instead.
func (s *world) Publish(owner, typ, name, ver string, o PublishOptions) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !pkTypes[typ] || typ == "container" {
		return 0, fmt.Errorf("ghsim: publish %s/%s: package type %q cannot be published this way", owner, name, typ)
	}
	if name == "" || ver == "" {
		return 0, fmt.Errorf("ghsim: publish %s %q version %q: name and version are required", typ, name, ver)
	}
	a, ok := s.st.accounts[lower(owner)]
	if !ok {
		return 0, fmt.Errorf("ghsim: publish %s/%s: no account %q", owner, name, owner)
	}
	if o.Visibility != "" && !pkVisibilities[o.Visibility] {
		return 0, fmt.Errorf("ghsim: publish %s/%s: bad visibility %q", owner, name, o.Visibility)
	}
	linked := ""
	if o.Repository != "" {
		full := lower(o.Repository)
		if _, ok := s.st.repos[full]; !ok {
			full = lower(a.Login + "/" + o.Repository)
		}
		if _, ok := s.st.repos[full]; !ok {
			return 0, fmt.Errorf("ghsim: publish %s/%s: no repository %q", owner, name, o.Repository)
		}
		linked = full
	}
	now := s.clock.now()
	created := o.CreatedAt
	if created.IsZero() {
		created = now
	}
	key := pkgKey{Owner: lower(a.Login), Type: typ, Name: name}
	p := s.st.packages[key]
	if p == nil {
		vis := o.Visibility
		if vis == "" {
			vis = "private"
		}
		p = &pkg{ID: s.st.id(), Key: key, Owner: a.Login, Visibility: vis, Repository: linked, CreatedAt: created, UpdatedAt: created}
		s.st.packages[key] = p
	}
	for _, v := range p.Versions {
		if v.Name == ver && v.DeletedAt.IsZero() {
			return 0, fmt.Errorf("ghsim: publish %s %s/%s: version %s exists", typ, owner, name, ver)
		}
	}
	v := &version{ID: s.st.id(), Name: ver, CreatedAt: created, UpdatedAt: created,
		Description: o.Description, License: o.License, Prerelease: o.Prerelease}
	p.Versions = append(p.Versions, v)
	if created.After(p.UpdatedAt) {
		p.UpdatedAt = created
	}
	if created.Before(p.CreatedAt) {
		p.CreatedAt = created
	}
	s.pkEvent("published", p, v, "", o.Sender)
	return v.ID, nil
}

// pkFind finds a live package. Called with s.mu held.
func (s *world) pkFind(owner, typ, name string) (*pkg, error) {
	p := s.st.packages[pkgKey{Owner: lower(owner), Type: typ, Name: name}]
	if p == nil {
		return nil, fmt.Errorf("ghsim: no %s package %s/%s", typ, owner, name)
	}
	return p, nil
}

// pkFindVersion finds a live package and one of its versions by ref: by
// id, or by name (digest or version string) among active ones first. The
// Set* and DeleteVersion methods all address a version this way. Called
// with s.mu held.
func (s *world) pkFindVersion(owner, typ, name string, ref VersionRef) (*pkg, *version, error) {
	p, err := s.pkFind(owner, typ, name)
	if err != nil {
		return nil, nil, err
	}
	var fallback *version
	for _, v := range p.Versions {
		if ref.ID != 0 && v.ID == ref.ID {
			return p, v, nil
		}
		if ref.ID == 0 && v.Name == ref.Name {
			if v.DeletedAt.IsZero() {
				return p, v, nil
			}
			fallback = v
		}
	}
	if fallback != nil {
		return p, fallback, nil
	}
	return nil, nil, fmt.Errorf("ghsim: package %s/%s has no version %d %q", p.Owner, p.Key.Name, ref.ID, ref.Name)
}

// VersionRef names a version: by id, or by name (a digest for containers)
// when ID is 0.
type VersionRef struct {
	ID   int64
	Name string
}

// SetDownloads sets a version's download count (the 5,000 rule).
func (s *world) SetDownloads(owner, typ, name string, ref VersionRef, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.pkFindVersion(owner, typ, name, ref)
	if err != nil {
		return err
	}
	v.Downloads = n
	return nil
}

// SetVersionTimes sets a version's created_at and updated_at (zero values
// leave a field alone), and for a deleted version the time of its
// deletion when deletedAt is not zero.
func (s *world) SetVersionTimes(owner, typ, name string, ref VersionRef, createdAt, updatedAt, deletedAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, v, err := s.pkFindVersion(owner, typ, name, ref)
	if err != nil {
		return err
	}
	if !createdAt.IsZero() {
		v.CreatedAt = createdAt.UTC().Truncate(time.Second)
		if createdAt.Before(p.CreatedAt) {
			p.CreatedAt = v.CreatedAt
		}
	}
	if !updatedAt.IsZero() {
		v.UpdatedAt = updatedAt.UTC().Truncate(time.Second)
	}
	if !deletedAt.IsZero() && !v.DeletedAt.IsZero() {
		v.DeletedAt = deletedAt.UTC().Truncate(time.Second)
	}
	return nil
}

// SetPackage changes a live package's visibility ("" leaves it) and its
// created_at/updated_at (zero leaves them).
func (s *world) SetPackage(owner, typ, name, visibility string, createdAt, updatedAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pkFind(owner, typ, name)
	if err != nil {
		return err
	}
	if visibility != "" {
		if !pkVisibilities[visibility] {
			return fmt.Errorf("ghsim: package %s/%s: bad visibility %q", owner, name, visibility)
		}
		p.Visibility = visibility
	}
	if !createdAt.IsZero() {
		p.CreatedAt = createdAt.UTC().Truncate(time.Second)
	}
	if !updatedAt.IsZero() {
		p.UpdatedAt = updatedAt.UTC().Truncate(time.Second)
	}
	return nil
}

// DeleteVersion deletes a version as the API would, at the simulated time
// minus ago (ago > 0 backdates the deletion), without GitHub's checks.
func (s *world) DeleteVersion(owner, typ, name string, ref VersionRef, ago time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, v, err := s.pkFindVersion(owner, typ, name, ref)
	if err != nil {
		return err
	}
	if !v.DeletedAt.IsZero() {
		return fmt.Errorf("ghsim: version %d of %s/%s is already deleted", v.ID, owner, name)
	}
	pkDeleteVersionState(p, v, s.clock.now().Add(-ago))
	return nil
}

// PurgeVersion makes a version gone for good, as GitHub purges a version
// deleted more than 30 days ago: an active version is deleted first, and
// a deleted one is backdated past the restore window (a deletion already
// older stays as it is). From then on no listing shows it, not even
// state=deleted, GET and restore answer 404, and the registry answers 404
// MANIFEST_UNKNOWN for its digest; an index naming it stays as it is.
func (s *world) PurgeVersion(owner, typ, name string, ref VersionRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, v, err := s.pkFindVersion(owner, typ, name, ref)
	if err != nil {
		return err
	}
	now := s.clock.now()
	if v.DeletedAt.IsZero() {
		pkDeleteVersionState(p, v, now)
	}
	// A day past the window, so that moving the clock back a little does
	// not bring it back.
	if gone := now.Add(-pkRestoreWindow - 24*time.Hour); v.DeletedAt.After(gone) {
		v.DeletedAt = gone
	}
	return nil
}

// PackageVersion is a read-only view of a version, for tests and the demo.
type PackageVersion struct {
	ID        int64
	Name      string
	Tags      []string
	Deleted   bool
	CreatedAt time.Time
	// DeletedAt is when a deleted version was deleted (zero while active).
	DeletedAt time.Time
	// Purged: deleted longer ago than the 30-day restore window, so GitHub
	// has purged it (PurgeVersion): the API no longer lists it.
	Purged bool
	// Prerelease is what Publish was told (false for containers).
	Prerelease bool
}

// Versions lists a live package's versions, active and deleted, newest
// first.
func (s *world) Versions(owner, typ, name string) ([]PackageVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pkFind(owner, typ, name)
	if err != nil {
		return nil, err
	}
	vs := append([]*version(nil), p.Versions...)
	pkSortVersions(vs)
	out := make([]PackageVersion, 0, len(vs))
	for _, v := range vs {
		tags := v.Tags
		if !v.DeletedAt.IsZero() {
			tags = v.DeletedTags
		}
		out = append(out, PackageVersion{ID: v.ID, Name: v.Name, Tags: append([]string(nil), tags...),
			Deleted: !v.DeletedAt.IsZero(), CreatedAt: v.CreatedAt, DeletedAt: v.DeletedAt,
			Purged: !pkVersionLive(v, s.clock.now()), Prerelease: v.Prerelease})
	}
	return out, nil
}

// SetQuiet turns webhooks of pushes and publishes off (true) or back on.
func (s *world) SetQuiet(quiet bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pk.quiet = quiet
}

// SetRestoreWithoutTags switches Options.RestoreWithoutTags on or off:
// with it on, restoring a version brings its manifest back by digest but
// gives back none of its tags.
func (s *world) SetRestoreWithoutTags(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pk.restoreWithoutTags = on
}

// SetStaleListing sets Options.StaleListing: for d after its deletion, a
// version stays listed as active; zero makes listings consistent again.
func (s *world) SetStaleListing(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pk.staleListing = d
}

// StaleListing is how long a deleted version stays listed as active
// (Options.StaleListing).
func (s *world) StaleListing() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pk.staleListing
}
