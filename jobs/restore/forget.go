package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// /pkgwarden forget: deleting again what pkgwarden restored, within the
// rules.

// forget deletes again versions (or the package) pkgwarden restored, and
// marks them intentional so that nothing restores them automatically. It
// never goes beyond the rules: nothing is deleted while pkgwarden is
// paused, in a dry run, or where no rule governs the package; a version an
// active index still holds stays.
func (r *Restorer) forget(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, c jobs.UndoCommand, gone bool) ([]report.Outcome, error) {
	versions := map[int64]bool{}
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		versions[v.ID] = true
	}
	var done []report.Outcome
	if len(c.Tags)+len(c.Digests) > 0 {
		// By name, only versions pkgwarden restored: what forget undoes.
		cands, err := r.candidates(ctx, st, inventory.MarkRestored, append(slices.Clone(st.active), st.deleted...))
		if err != nil {
			return nil, err
		}
		c.IDs, done = resolveNames(c, cands)
	}
	// A package pkgwarden never saw has no id: nothing of it to forget.
	forgetPkg := st.pkg.ID != 0 && c.ForgetsPackage(st.pkg.ID) && !versions[st.pkg.ID]
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
	var held map[int64]report.Hold
	if !hold.Holds() && len(ids) > 0 && !gone {
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
			done = append(done, report.NotRestoredByPkgwarden{What: report.VersionRef(id)})
			continue
		}
		if why := held[id]; why.Holds() {
			// It stays while the index holds it, but its deletion was
			// meant: no heal (restore.broken) brings it back once the
			// index lets it go, or someone deletes it again.
			if restored {
				if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkIntentional, id); err != nil {
					return nil, err
				}
			}
			done = append(done, report.HeldBack{ID: id, By: why})
			continue
		}
		out, err := r.forgetVersion(ctx, log, st, id, hold)
		if err != nil {
			return nil, err
		}
		done = append(done, out)
	}
	if c.Package && !forgetPkg {
		done = append(done, report.NotRestoredByPkgwarden{What: report.PackageRef("", 0)})
	}
	if forgetPkg {
		restored, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkPackageRestored, st.pkg.ID)
		if err != nil {
			return nil, err
		}
		if !restored && !gone {
			done = append(done, report.NotRestoredByPkgwarden{What: report.PackageRef(st.pkg.Name, 0)})
		} else {
			out, err := r.forgetPackage(ctx, log, st, hold, gone)
			if err != nil {
				return nil, err
			}
			done = append(done, out)
		}
	}
	if len(done) == 0 {
		done = append(done, report.NothingToForget{})
	}
	log.InfoContext(ctx, "restore: forget handled", "ids", ids, "package", forgetPkg, "sender", u.Sender, "held_by", hold.String())
	return done, nil
}

// forgetHold says why nothing may be deleted now (the zero Hold when
// something may): PKGWARDEN_PAUSED, rules that cannot be read or govern
// nothing here, a dry run.
func (r *Restorer) forgetHold(ctx context.Context, st *pkgState) (report.Hold, error) {
	switch {
	case r.cfg.Paused:
		return report.HoldPaused, nil
	case st.cfg == nil:
		return report.HoldRulesUnreadable, nil
	case st.cfg.Inert():
		return report.HoldNoRulesFile, nil
	case st.cfg.DryRun:
		return report.HoldDryRun(st.cfg.Origin), nil
	}
	if rule, _ := st.cfg.Match(st.ref); rule == nil {
		return report.HoldNoRule(st.cfg.Origin), nil
	}
	return report.Hold{}, nil
}

// heldVersions says which of ids the container invariants keep: a
// platform manifest (or nested index) an active index holds and that is
// not forgotten with it. (The rules' exclude_tags do not hold a version
// pkgwarden restored: forgetting it is what a person asks, and
// restore.tags often names the tags exclude_tags keeps.)
func (r *Restorer) heldVersions(ctx context.Context, log *slog.Logger, st *pkgState, ids []int64) (map[int64]report.Hold, error) {
	out := map[int64]report.Hold{}
	if !pkgref.IsContainerType(st.pkg.Type) {
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
			out[id] = report.HoldManifestsUnreadable
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
			out[id] = report.HoldIndex(h)
		}
	}
	return out, nil
}

// forgetVersion marks a version pkgwarden restored intentional and deletes
// it again unless hold says why not. It returns what became of it.
func (r *Restorer) forgetVersion(ctx context.Context, log *slog.Logger, st *pkgState, id int64, hold report.Hold) (report.Outcome, error) {
	what := report.VersionRef(id)
	for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
		if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, m, id); err != nil {
			return nil, err
		}
	}
	if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkRestored, id); err != nil {
		return nil, err
	}
	if err := r.releaseChildren(ctx, log, st, id); err != nil {
		return nil, err
	}
	active := slices.ContainsFunc(st.active, func(v githubapi.Version) bool { return v.ID == id })
	switch {
	case !active:
		return report.StaysDeleted{What: what}, nil
	case hold.Holds():
		return report.NotDeletedAgain{What: what, By: hold}, nil
	}
	err := st.clients.Packages.DeleteVersion(ctx, st.owner, st.pkg.Type, st.pkg.Name, id)
	switch {
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		return report.DeletedAgain{What: what}, nil
	case errors.Is(err, githubapi.ErrRefused) && !errors.Is(err, githubapi.ErrTokenProblem):
		return report.DeleteRefused{What: what, Reason: githubapi.Message(err)}, nil
	default:
		// Not deleted: still a version pkgwarden restored, for the retry
		// and for a later forget (a token problem is the owner's to fix).
		err = fmt.Errorf("delete version %d again: %w", id, err)
		if serr := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkRestored, id); serr != nil {
			err = errors.Join(err, fmt.Errorf("put back mark of version %d: %w", id, serr))
		}
		return nil, err
	}
}

// forgetPackage marks the package pkgwarden restored intentional, so
// restore.package never brings it back, and deletes it again unless hold
// says why not (or it is gone already). It returns what became of it.
func (r *Restorer) forgetPackage(ctx context.Context, log *slog.Logger, st *pkgState, hold report.Hold, gone bool) (report.Outcome, error) {
	id := st.pkg.ID
	what := report.PackageRef(st.pkg.Name, id)
	if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, id); err != nil {
		return nil, err
	}
	switch {
	case gone:
		log.InfoContext(ctx, "restore: deleted package forgotten", "package_id", id)
		return report.StaysDeleted{What: what}, nil
	case hold.Holds():
		return report.NotDeletedAgain{What: what, By: hold}, nil
	}
	err := st.clients.Packages.DeletePackage(ctx, st.owner, st.pkg.Type, st.pkg.Name)
	switch {
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkPackageRestored, id); err != nil {
			return nil, err
		}
		log.InfoContext(ctx, "restore: package deleted again, its deletion intentional", "package_id", id)
		return report.DeletedAgain{What: what}, nil
	case errors.Is(err, githubapi.ErrRefused) && !errors.Is(err, githubapi.ErrTokenProblem):
		return report.DeleteRefused{What: what, Reason: githubapi.Message(err)}, nil
	default:
		return nil, fmt.Errorf("delete package %s again: %w", st.ref, err)
	}
}

// releaseChildren lifts the restored mark from the children (and
// grandchildren) of an index being forgotten: they came back with it, and once it is gone again the
// prune job may judge them as the untagged orphans they are.
func (r *Restorer) releaseChildren(ctx context.Context, log *slog.Logger, st *pkgState, id int64) error {
	if !pkgref.IsContainerType(st.pkg.Type) {
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
