// Package inventory remembers, per installation, the packages pkgwarden has
// seen and each version's tags and digest when last seen active, in a NATS
// KV bucket. A deleted version's listing may no longer show its tags, and a
// deleted package no longer shows at all: the restore work reads them here.
// It also keeps marks on versions (deleted by pkgwarden, restored by
// pkgwarden, deleted on purpose) that decide what is restored and pruned.
//
// Keys are one per package and one per version, so a package of 10,000
// versions is 10,000 small values rather than one value over the bucket's
// size limit:
//
//	i<installation>.p.<package key>             Package
//	i<installation>.v.<package key>.<id>        Version
//	i<installation>.m.<package key>.<mark>.<id> Mark
//	i<installation>.r.<package key>.<id>        Refusal
package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/queue"
)

// Bucket is the KV bucket of the inventory.
const Bucket = "inventory"

// Package is a package seen by pkgwarden. Stored as JSON; the fields of
// its Ref are stored inline, under the names they had before Ref existed
// (owner, type, name, repo).
type Package struct {
	// ID is GitHub's package id: a package of the same name with another
	// id is a new package in a reused namespace.
	ID int64 `json:"id,omitempty"`
	pkgref.Ref
	SeenAt time.Time `json:"seen"`
}

// Version is a version as last seen active.
type Version struct {
	ID int64 `json:"id"`
	// Name is the digest for containers, the version string otherwise.
	Name   string    `json:"n"`
	Tags   []string  `json:"t,omitempty"`
	SeenAt time.Time `json:"s"`
}

// Mark is a fact about a version that outlives its listing.
type Mark string

// Marks.
const (
	// MarkDeleted: pkgwarden deleted the version (written right before
	// the delete request, so a crash between leaves a mark on a version
	// still active, which is harmless: marks only matter once deleted).
	MarkDeleted Mark = "deleted"
	// MarkRestored: pkgwarden restored the version; it is never pruned
	// for being untagged.
	MarkRestored Mark = "restored"
	// MarkIntentional: someone said the deletion was intentional; the
	// version is never restored automatically again.
	MarkIntentional Mark = "intentional"
	// MarkPackageSeen is the restore job's own memory of packages, on the
	// package's id rather than a version's: the restore job saw the
	// package of that id active, and id 0 says it saw some package of
	// this name. The package record holds whichever id prune or restore
	// listed last, so once prune has recorded a new package in a deleted
	// one's namespace only these marks still tell the two apart.
	MarkPackageSeen Mark = "package-seen"
	// MarkPackageIntentional: someone said the deletion of the package of
	// that id was intentional; restore.package never brings it back.
	MarkPackageIntentional Mark = "package-intentional"
	// MarkPackageRestored: pkgwarden restored the package of that id; it
	// is what `/pkgwarden forget package` may delete again.
	MarkPackageRestored Mark = "package-restored"
)

// Store is the inventory over one KV bucket.
type Store struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// Open creates (idempotently) the inventory bucket and returns its store.
// now is the clock of SeenAt; nil means time.Now.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time) (*Store, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "pkgwarden: packages and versions seen, marks on versions", Replicas: replicas,
		Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", Bucket, err)
	}
	return New(kv, now), nil
}

// New returns a store over kv.
func New(kv jetstream.KeyValue, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{kv: kv, now: now}
}

func inst(id int64) string { return "i" + strconv.FormatInt(id, 10) }

// pkgKey hashes the package name: names may hold dots and slashes.
func pkgKey(p Package) string {
	return queue.Key(p.Key())
}

// SeePackage records pkg as seen in installation.
func (s *Store) SeePackage(ctx context.Context, installation int64, pkg Package) error {
	pkg.SeenAt = s.now().UTC()
	b, _ := json.Marshal(pkg)
	if _, err := s.kv.Put(ctx, inst(installation)+".p."+pkgKey(pkg), b); err != nil {
		return fmt.Errorf("inventory: record package %s: %w", pkg, err)
	}
	return nil
}

// SeenRefresh is how stale a version's SeenAt may get before SeeVersions
// writes an otherwise unchanged record again. Without it every prune and
// restore run rewrote every version of its package: 180,000 replicated
// writes for a sweep of 100 packages of 1,000 versions that changed nothing.
const SeenRefresh = 24 * time.Hour

// SeeVersions records versions of pkg as seen active now. A version whose
// record is unchanged is written again only when its SeenAt is older than
// SeenRefresh, so SeenAt says when it was last active to within that. The
// records are read in one streamed pass, compared as they come and not
// kept: only an index of versions is held besides them.
func (s *Store) SeeVersions(ctx context.Context, installation int64, pkg Package, versions []Version) error {
	now := s.now().UTC()
	prefix := inst(installation) + ".v." + pkgKey(pkg) + "."
	// write holds the index in versions of each version to write: all
	// of them, less those whose record is fresh.
	write := make(map[int64]int, len(versions))
	for i, v := range versions {
		write[v.ID] = i
	}
	err := s.EachVersion(ctx, installation, pkg, func(was Version) error {
		i, ok := write[was.ID]
		if ok && was.Name == versions[i].Name && slices.Equal(was.Tags, versions[i].Tags) && now.Sub(was.SeenAt) < SeenRefresh {
			delete(write, was.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range versions {
		if _, ok := write[v.ID]; !ok {
			continue
		}
		v.SeenAt = now
		b, _ := json.Marshal(v)
		if _, err := s.kv.Put(ctx, prefix+strconv.FormatInt(v.ID, 10), b); err != nil {
			return fmt.Errorf("inventory: record version %d of %s: %w", v.ID, pkg, err)
		}
	}
	return nil
}

// EachVersion calls fn with every version of pkg the inventory holds, read
// in one streamed pass and not kept: a package of many versions costs
// one record at a time. An error of fn stops the pass and is returned.
func (s *Store) EachVersion(ctx context.Context, installation int64, pkg Package, fn func(Version) error) error {
	err := s.each(ctx, inst(installation)+".v."+pkgKey(pkg)+".*", func(b []byte) error {
		var v Version
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return fn(v)
	})
	if err != nil {
		return fmt.Errorf("inventory: versions of %s: %w", pkg, err)
	}
	return nil
}

// Package returns the record of pkg (owner, type and name are used).
func (s *Store) Package(ctx context.Context, installation int64, pkg Package) (Package, bool, error) {
	e, err := s.kv.Get(ctx, inst(installation)+".p."+pkgKey(pkg))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Package{}, false, nil
	}
	if err != nil {
		return Package{}, false, fmt.Errorf("inventory: package %s: %w", pkg, err)
	}
	var out Package
	if err := json.Unmarshal(e.Value(), &out); err != nil {
		return Package{}, false, fmt.Errorf("inventory: package %s: %w", pkg, err)
	}
	return out, true, nil
}

// Version returns what was last seen of version id of pkg.
func (s *Store) Version(ctx context.Context, installation int64, pkg Package, id int64) (Version, bool, error) {
	e, err := s.kv.Get(ctx, inst(installation)+".v."+pkgKey(pkg)+"."+strconv.FormatInt(id, 10))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Version{}, false, nil
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("inventory: version %d of %s: %w", id, pkg, err)
	}
	var v Version
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return Version{}, false, fmt.Errorf("inventory: version %d of %s: %w", id, pkg, err)
	}
	return v, true, nil
}

// Versions returns every version of pkg the inventory holds.
func (s *Store) Versions(ctx context.Context, installation int64, pkg Package) ([]Version, error) {
	out, err := all[Version](ctx, s, inst(installation)+".v."+pkgKey(pkg)+".*")
	if err != nil {
		return nil, fmt.Errorf("inventory: versions of %s: %w", pkg, err)
	}
	return out, nil
}

// Packages returns the packages of owner (case-insensitive) seen in
// installation; an empty owner means all. The scheduler uses it to find
// packages that vanished from the listing: deleted packages.
func (s *Store) Packages(ctx context.Context, installation int64, owner string) ([]Package, error) {
	seen, err := all[Package](ctx, s, inst(installation)+".p.*")
	if err != nil {
		return nil, fmt.Errorf("inventory: packages of %s in installation %d: %w", owner, installation, err)
	}
	if owner == "" {
		return seen, nil
	}
	var out []Package
	for _, p := range seen {
		if strings.EqualFold(p.Owner, owner) {
			out = append(out, p)
		}
	}
	return out, nil
}

// SetMark puts mark on version id of pkg.
func (s *Store) SetMark(ctx context.Context, installation int64, pkg Package, mark Mark, id int64) error {
	at, _ := s.now().UTC().MarshalText()
	if _, err := s.kv.Put(ctx, markKey(installation, pkg, mark, id), at); err != nil {
		return fmt.Errorf("inventory: mark version %d of %s %s: %w", id, pkg, mark, err)
	}
	return nil
}

// AddMark puts mark on version id of pkg unless it is there already, and
// reports whether it was (the mark and its time are then left as they
// were): what SetMark and Marked tell, in one request.
func (s *Store) AddMark(ctx context.Context, installation int64, pkg Package, mark Mark, id int64) (had bool, err error) {
	at, _ := s.now().UTC().MarshalText()
	_, err = s.kv.Create(ctx, markKey(installation, pkg, mark, id), at)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("inventory: mark version %d of %s %s: %w", id, pkg, mark, err)
	}
	return false, nil
}

// ClearMark removes mark from version id of pkg.
func (s *Store) ClearMark(ctx context.Context, installation int64, pkg Package, mark Mark, id int64) error {
	if err := s.kv.Delete(ctx, markKey(installation, pkg, mark, id)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("inventory: unmark version %d of %s %s: %w", id, pkg, mark, err)
	}
	return nil
}

// Marked reports whether version id of pkg carries mark.
func (s *Store) Marked(ctx context.Context, installation int64, pkg Package, mark Mark, id int64) (bool, error) {
	_, err := s.kv.Get(ctx, markKey(installation, pkg, mark, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inventory: mark %s of version %d of %s: %w", mark, id, pkg, err)
	}
	return true, nil
}

// MarkedIDs returns the ids of pkg's versions that carry mark, read in one
// listing of keys rather than a request per version.
func (s *Store) MarkedIDs(ctx context.Context, installation int64, pkg Package, mark Mark) (map[int64]bool, error) {
	prefix := markPrefix(installation, pkg, mark)
	keys, err := s.keys(ctx, prefix+"*")
	if err != nil {
		return nil, fmt.Errorf("inventory: versions of %s marked %s: %w", pkg, mark, err)
	}
	out := make(map[int64]bool, len(keys))
	for _, k := range keys {
		if id, err := strconv.ParseInt(strings.TrimPrefix(k, prefix), 10, 64); err == nil {
			out[id] = true
		}
	}
	return out, nil
}

// Refusal is GitHub's refusal to delete a version (a public version with
// more than 5,000 downloads: 403; the last version of a package: 400),
// remembered so that later plans keep the version instead of spending
// their per-run cap and 5 points on asking again. Whoever reads it decides
// when it has expired: the store keeps it until cleared.
type Refusal struct {
	ID int64 `json:"id"`
	// At is when GitHub refused; zero means now when recorded.
	At time.Time `json:"at"`
	// Status is GitHub's HTTP status; Message is GitHub's message.
	Status  int    `json:"status,omitempty"`
	Message string `json:"msg,omitempty"`
	// Listed is how many versions the package had left at the refusal:
	// a last version stops being the last when the package gains one.
	Listed int `json:"listed,omitempty"`
}

func refusalPrefix(installation int64, pkg Package) string {
	return inst(installation) + ".r." + pkgKey(pkg) + "."
}

// SetRefusal records that GitHub refused to delete version r.ID of pkg,
// replacing an earlier record of that version.
func (s *Store) SetRefusal(ctx context.Context, installation int64, pkg Package, r Refusal) error {
	if r.At.IsZero() {
		r.At = s.now()
	}
	r.At = r.At.UTC()
	b, _ := json.Marshal(r)
	if _, err := s.kv.Put(ctx, refusalPrefix(installation, pkg)+strconv.FormatInt(r.ID, 10), b); err != nil {
		return fmt.Errorf("inventory: record refusal of version %d of %s: %w", r.ID, pkg, err)
	}
	return nil
}

// Refusals returns every refusal recorded for pkg.
func (s *Store) Refusals(ctx context.Context, installation int64, pkg Package) ([]Refusal, error) {
	out, err := all[Refusal](ctx, s, refusalPrefix(installation, pkg)+"*")
	if err != nil {
		return nil, fmt.Errorf("inventory: refusals of %s: %w", pkg, err)
	}
	return out, nil
}

// ClearRefusal forgets the refusal of version id of pkg.
func (s *Store) ClearRefusal(ctx context.Context, installation int64, pkg Package, id int64) error {
	if err := s.kv.Delete(ctx, refusalPrefix(installation, pkg)+strconv.FormatInt(id, 10)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("inventory: forget refusal of version %d of %s: %w", id, pkg, err)
	}
	return nil
}

func markKey(installation int64, pkg Package, mark Mark, id int64) string {
	return markPrefix(installation, pkg, mark) + strconv.FormatInt(id, 10)
}

// markPrefix is what the keys of pkg's versions marked mark start with.
func markPrefix(installation int64, pkg Package, mark Mark) string {
	return inst(installation) + ".m." + pkgKey(pkg) + "." + string(mark) + "."
}

// ClearInstallation forgets everything of an installation (the App was
// uninstalled). It returns how many keys were removed.
func (s *Store) ClearInstallation(ctx context.Context, installation int64) (int, error) {
	keys, err := s.keys(ctx, inst(installation)+".>")
	if err != nil {
		return 0, fmt.Errorf("inventory: clear installation %d: %w", installation, err)
	}
	for i, k := range keys {
		if err := s.kv.Purge(ctx, k); err != nil {
			return i, fmt.Errorf("inventory: clear installation %d: %w", installation, err)
		}
	}
	return len(keys), nil
}

func (s *Store) keys(ctx context.Context, filter string) ([]string, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range lister.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// all decodes the value of every key matching filter as a T.
func all[T any](ctx context.Context, s *Store, filter string) ([]T, error) {
	var out []T
	err := s.each(ctx, filter, func(b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// each calls fn with the value of every key matching filter, read in one
// pass of an ordered consumer rather than a request per key.
func (s *Store) each(ctx context.Context, filter string, fn func([]byte) error) error {
	w, err := s.kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed before the initial values were read")
			}
			if e == nil {
				// Every value there was when the watch began.
				return nil
			}
			if err := fn(e.Value()); err != nil {
				return fmt.Errorf("key %s: %w", e.Key(), err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
