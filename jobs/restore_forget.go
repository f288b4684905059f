package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// /pkgwarden forget: deleting again what pkgwarden restored, within the
// rules.

// forget deletes again versions (or the package) pkgwarden restored, and
// marks them intentional so that nothing restores them automatically. It
// never goes beyond the rules: nothing is deleted while pkgwarden is
// paused, in a dry run, or where no rule governs the package; a version an
// active index still holds stays.
func (r *Restorer) forget(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, c UndoCommand, gone bool) ([]string, error) {
	versions := map[int64]bool{}
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		versions[v.ID] = true
	}
	var done []string
	// A package pkgwarden never saw has no id: nothing of it to forget.
	forgetPkg := st.pkg.ID != 0 && c.forgetsPackage(st.pkg.ID) && !versions[st.pkg.ID]
	var ids []int64
	for _, id := range c.IDs {
		if !(forgetPkg && id == st.pkg.ID) {
			ids = append(ids, id)
		}
	}
	hold, err := r.forgetHold(ctx, st)
	if err != nil {
		return nil, err
	}
	var held map[int64]string
	if hold == "" && len(ids) > 0 && !gone {
		if held, err = r.heldVersions(ctx, log, st, ids); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		restored, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkRestored, id)
		if err != nil {
			return nil, err
		}
		deleted := slices.ContainsFunc(st.deleted, func(v githubapi.Version) bool { return v.ID == id })
		if !restored && !deleted || gone {
			// Deleting is only ever undoing pkgwarden's own restore; a
			// version already deleted is only marked (never restored
			// automatically), which deletes nothing.
			done = append(done, fmt.Sprintf("version %d: pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule.", id))
			continue
		}
		if why := held[id]; why != "" {
			done = append(done, fmt.Sprintf("version %d: not deleted, %s.", id, why))
			continue
		}
		line, err := r.forgetVersion(ctx, log, st, id, hold)
		if err != nil {
			return nil, err
		}
		done = append(done, line)
	}
	if c.Package && !forgetPkg {
		done = append(done, "the package: pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule.")
	}
	if forgetPkg {
		restored, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageRestored, st.pkg.ID)
		if err != nil {
			return nil, err
		}
		if !restored && !gone {
			done = append(done, fmt.Sprintf("the package `%s`: pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule.", st.pkg.Name))
		} else {
			line, err := r.forgetPackage(ctx, log, st, hold, gone)
			if err != nil {
				return nil, err
			}
			done = append(done, line)
		}
	}
	if len(done) == 0 {
		done = append(done, "there was nothing to forget.")
	}
	log.InfoContext(ctx, "restore: forget handled", "ids", ids, "package", forgetPkg, "sender", u.Sender, "held_by", hold)
	return done, nil
}

// forgetHold says why nothing may be deleted now ("" when something may):
// PKGWARDEN_PAUSED, rules that cannot be read or govern nothing here, a
// dry run.
func (r *Restorer) forgetHold(ctx context.Context, st *pkgState) (string, error) {
	switch {
	case r.cfg.Paused:
		return "pkgwarden is paused (PKGWARDEN_PAUSED)", nil
	case st.cfg == nil:
		return "the rules cannot be read (see the invalid-configuration issue)", nil
	case st.cfg.Inert():
		return "no rules file governs this package", nil
	case st.cfg.DryRun:
		return "the rules are a dry run (" + st.cfg.Origin + ")", nil
	}
	if rule, _ := st.cfg.Match(st.ref); rule == nil {
		return "no rule of " + st.cfg.Origin + " governs this package", nil
	}
	return "", nil
}

// heldVersions says which of ids the container invariants keep: a
// platform manifest (or nested index) an active index holds and that is
// not forgotten with it. (The rules' exclude_tags do not hold a version
// pkgwarden restored: forgetting it is what a person asks, and
// restore.tags often names the tags exclude_tags keeps.)
func (r *Restorer) heldVersions(ctx context.Context, log *slog.Logger, st *pkgState, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if !isContainerType(st.pkg.Type) {
		return out, nil
	}
	byID := map[int64]githubapi.Version{}
	for _, v := range st.active {
		byID[v.ID] = v
	}
	forgotten := map[string]bool{}
	for _, id := range ids {
		forgotten[byID[id].Name] = true
	}
	var digests []string
	for _, v := range st.active {
		if strings.HasPrefix(v.Name, "sha256:") {
			digests = append(digests, v.Name)
		}
	}
	found, failed, err := st.clients.Registry.Graph(ctx, planner.RegistryRepository(st.owner.Login, st.pkg.Name), digests)
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("%d manifests unreadable", len(failed))
	}
	if err != nil {
		log.WarnContext(ctx, "restore: manifests unreadable, nothing forgotten is deleted", "err", err)
		for _, id := range ids {
			out[id] = "the package's manifests cannot be read now, so pkgwarden cannot tell what holds it; ask again later"
		}
		return out, nil
	}
	holder := map[string]string{}
	for _, d := range digests {
		if forgotten[d] {
			continue
		}
		for _, c := range found[d].Children {
			holder[c.Digest] = d
		}
	}
	for _, id := range ids {
		if h, ok := holder[byID[id].Name]; ok {
			out[id] = fmt.Sprintf("the index `%s` holds it and stays; forget the index to release it", rules.ShortDigest(h))
		}
	}
	return out, nil
}

// forgetVersion marks a version pkgwarden restored intentional and deletes
// it again unless hold says why not. It returns the answer's line.
func (r *Restorer) forgetVersion(ctx context.Context, log *slog.Logger, st *pkgState, id int64, hold string) (string, error) {
	for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
		if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, m, id); err != nil {
			return "", err
		}
	}
	if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkRestored, id); err != nil {
		return "", err
	}
	if err := r.releaseChildren(ctx, log, st, id); err != nil {
		return "", err
	}
	active := slices.ContainsFunc(st.active, func(v githubapi.Version) bool { return v.ID == id })
	switch {
	case !active:
		return fmt.Sprintf("version %d stays deleted and will not be restored automatically.", id), nil
	case hold != "":
		return fmt.Sprintf("version %d: %s, so it was not deleted again; it will not be restored automatically.", id, hold), nil
	}
	err := st.clients.Packages.DeleteVersion(ctx, st.owner, st.pkg.Type, st.pkg.Name, id)
	switch {
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		return fmt.Sprintf("version %d deleted again; it will not be restored automatically.", id), nil
	case isRefusal(err):
		return fmt.Sprintf("version %d: GitHub refused to delete it again (%s); it will not be restored automatically.", id, refusal(err)), nil
	default:
		return "", fmt.Errorf("delete version %d again: %w", id, err)
	}
}

// forgetPackage marks the package pkgwarden restored intentional, so
// restore.package never brings it back, and deletes it again unless hold
// says why not (or it is gone already). It returns the answer's line.
func (r *Restorer) forgetPackage(ctx context.Context, log *slog.Logger, st *pkgState, hold string, gone bool) (string, error) {
	id := st.pkg.ID
	if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, id); err != nil {
		return "", err
	}
	switch {
	case gone:
		log.InfoContext(ctx, "restore: deleted package forgotten", "package_id", id)
		return fmt.Sprintf("the package `%s` (id %d) stays deleted and will not be restored automatically.", st.pkg.Name, id), nil
	case hold != "":
		return fmt.Sprintf("the package `%s` (id %d): %s, so it was not deleted again; it will not be restored automatically.", st.pkg.Name, id, hold), nil
	}
	err := st.clients.Packages.DeletePackage(ctx, st.owner, st.pkg.Type, st.pkg.Name)
	switch {
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkPackageRestored, id); err != nil {
			return "", err
		}
		log.InfoContext(ctx, "restore: package deleted again, its deletion intentional", "package_id", id)
		return fmt.Sprintf("the package `%s` (id %d) deleted again; it will not be restored automatically.", st.pkg.Name, id), nil
	case isRefusal(err):
		return fmt.Sprintf("the package `%s` (id %d): GitHub refused to delete it again (%s); it will not be restored automatically.", st.pkg.Name, id, refusal(err)), nil
	default:
		return "", fmt.Errorf("delete package %s again: %w", st.ref, err)
	}
}

// releaseChildren lifts the restored mark from the children (and
// grandchildren) of an index being forgotten: they came back with it, and once it is gone again the
// prune job may judge them as the untagged orphans they are.
func (r *Restorer) releaseChildren(ctx context.Context, log *slog.Logger, st *pkgState, id int64) error {
	if !isContainerType(st.pkg.Type) {
		return nil
	}
	var digest string
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		if v.ID == id {
			digest = v.Name
		}
	}
	if !strings.HasPrefix(digest, "sha256:") {
		return nil
	}
	found, _, err := st.clients.Registry.Graph(ctx, planner.RegistryRepository(st.owner.Login, st.pkg.Name), []string{digest})
	if err != nil {
		log.WarnContext(ctx, "restore: index of a forgotten version unreadable; its children stay protected", "digest", digest, "err", err)
		return nil
	}
	// Everything below it: Graph read nested indexes too, and their
	// children came back with it as well.
	children := map[string]bool{}
	var walk func(d string)
	walk = func(d string) {
		for _, c := range found[d].Children {
			if !children[c.Digest] {
				children[c.Digest] = true
				walk(c.Digest)
			}
		}
	}
	walk(digest)
	for _, v := range st.active {
		if children[v.Name] {
			if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkRestored, v.ID); err != nil {
				return err
			}
		}
	}
	return nil
}
