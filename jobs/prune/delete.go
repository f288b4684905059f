package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// execution is the deleting part of one run.
type execution struct {
	p       *Pruner
	log     *slog.Logger
	clients planner.Clients
	owner   githubapi.Owner
	pkg     githubapi.Package
	run     *Run
	prog    RunProgress
	runKey  string
	limit   int
	held    map[int64]string // versions GitHub refused lately → reason
	// resumed: an earlier attempt of this run planned prog.Planned (and
	// may have died between a DELETE and saving its progress).
	resumed bool

	// The re-check: the fresh listing, and what new versions reference.
	newest    *newestLister
	checkedAt time.Time // of the last full listing, the plan's first
	fresh     map[int64]githubapi.Version
	refs      map[string]string // digest → what references it now
	blocked   string            // why nothing more may be deleted
	rateWaits int               // rate-limit waits done in this attempt
	// What the package's event count (Config.Events) said: ref keys it,
	// seen is the count the last look was made under (known: it was
	// read), unseen that an event came since the last full listing.
	ref    pkgref.Ref
	seen   uint64
	known  bool
	unseen bool
}

// fromPlan starts the re-check from the plan's listing: the versions it
// listed, with their tags, and the event count read before it.
func (ex *execution) fromPlan(pr *pruning) {
	ex.checkedAt, ex.ref, ex.seen, ex.known = pr.at, pr.ref, pr.events, pr.eventsKnown
	ex.fresh = make(map[int64]githubapi.Version, len(pr.d.Delete)+len(pr.d.Keep))
	ex.refs = map[string]string{}
	for _, list := range [][]rules.Entry{pr.d.Delete, pr.d.Keep} {
		for _, e := range list {
			ex.fresh[e.ID] = githubapi.Version{ID: e.ID, Name: e.Version, Tags: e.Tags}
		}
	}
}

// eventCount reads the package's event count; ok is false without a
// count kept or when it cannot be read (logged), which a caller takes for
// an event.
func (p *Pruner) eventCount(ctx context.Context, log *slog.Logger, ref pkgref.Ref) (n uint64, ok bool) {
	if p.cfg.Events == nil {
		return 0, false
	}
	n, err := p.cfg.Events.Count(ctx, ref)
	if err != nil {
		log.WarnContext(ctx, "prune: event count unreadable, re-checking the listing", "err", err)
		return 0, false
	}
	return n, true
}

// moved reads the event count before a deletion group: whether an event
// came since the last look (or whether that cannot be told).
func (ex *execution) moved(ctx context.Context) bool {
	n, ok := ex.p.eventCount(ctx, ex.log, ex.ref)
	moved := !ok || !ex.known || n != ex.seen
	ex.seen, ex.known = n, ok
	if moved {
		ex.unseen = true
	}
	return moved
}

// deletedEarlier reports whether an earlier attempt of this run sent the
// delete of a planned candidate that is gone now: the attempt planned it,
// and the inventory's deleted mark is written right before each delete
// request. A mark alone is no proof: ghcr.io may still list a version an
// earlier run deleted (stale listings), which a run then plans again.
func (ex *execution) deletedEarlier(ctx context.Context, e rules.Entry) (bool, error) {
	inv := ex.p.cfg.Inventory
	if inv == nil || !ex.plannedEarlier(e) {
		return false, nil
	}
	return inv.Marked(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), inventory.MarkDeleted, e.ID)
}

// plannedEarlier reports whether an earlier attempt of this run planned e.
func (ex *execution) plannedEarlier(e rules.Entry) bool {
	return ex.resumed && slices.ContainsFunc(ex.prog.Planned, func(p rules.Entry) bool { return p.ID == e.ID })
}

// staleReason is why a version an earlier run deleted is no deletion of
// this one: GitHub listed it again (ghcr.io's listings lag behind its
// deletions) and answers 404 to its deletion, or lists it no more.
const staleReason = "deleted by an earlier run of pkgwarden; GitHub still listed it"

// maxRateWaits bounds the rate-limit waits of one attempt.
const maxRateWaits = 3

// deleteAll deletes the candidates in order, group by group, re-checking
// the listing before each group (checkCandidate), and stops at the per-run
// cap without splitting a group. leftover is how many candidates, at the
// front, an earlier attempt of the run left.
func (ex *execution) deleteAll(ctx context.Context, candidates []rules.Entry, leftover int) error {
	d := ex.run.Decision
	planned := map[int64]bool{}
	for _, list := range [][]rules.Entry{candidates, d.Delete, d.Keep} {
		for _, e := range list {
			planned[e.ID] = true
		}
	}
	stayed := map[int64]string{} // candidates not deleted → label
	for i := 0; i < len(candidates); i++ {
		e := candidates[i]
		if end := groupEnd(candidates, leftover, i); end > i && len(ex.run.Deleted)+end-i > ex.limit && firstIn(e.With, stayed) == "" && ex.held[e.ID] == "" {
			// The plan is capped already; a redelivered run counts what
			// its earlier attempts deleted too, and defers a group that
			// no longer fits whole rather than split it (the rest of an
			// index would stay behind for good).
			for _, rest := range candidates[i:] {
				rest.Reason = fmt.Sprintf("deferred to next run (max_deletions_per_run %d)", ex.limit)
				ex.run.Deferred = append(ex.run.Deferred, rest)
			}
			return nil
		}
		ok, err := ex.checkCandidate(ctx, e, groupStart(candidates, leftover, i), planned, stayed)
		if err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		again, err := ex.deleteOne(ctx, e, stayed)
		if err != nil {
			return err
		}
		if again {
			i-- // the same candidate again
		}
	}
	return nil
}

// checkCandidate says whether e may be deleted now. It keeps e (with the
// reason) when a version it lives and dies with stayed, when it is held,
// when the re-check finds it tagged or referenced since the plan; it
// skips e when it is gone already, and counts it deleted when an earlier
// attempt of the run deleted it. Before a group (first) after an event
// about the package it looks at the newest versions again, and at the
// whole listing when the last full one is older than RecheckEvery after
// an event, or than RecheckFallback in any case.
func (ex *execution) checkCandidate(ctx context.Context, e rules.Entry, first bool, planned map[int64]bool, stayed map[int64]string) (bool, error) {
	if h := firstIn(e.With, stayed); h != "" {
		ex.keep(e, fmt.Sprintf("kept: %s was not deleted, and this version lives and dies with it", h), stayed)
		return false, nil
	}
	if why := ex.held[e.ID]; why != "" {
		// Only an earlier attempt's leftover can be held (refused,
		// or restored since): the plan keeps held versions.
		ex.keep(e, why, stayed)
		return false, nil
	}
	// Before a group, the event count (one KV read, no request to
	// GitHub) says whether anything happened to the package since the
	// last look.
	moved := first && ex.blocked == "" && ex.moved(ctx)
	since := ex.p.now().Sub(ex.checkedAt)
	switch {
	case since >= ex.p.cfg.RecheckFallback || ex.unseen && since >= ex.p.cfg.RecheckEvery:
		// Every page: new tags on old candidates show only there. After
		// an event, at most every RecheckEvery; without one, at the
		// fallback interval, for the webhook late or lost.
		if err := ex.recheck(ctx, planned); err != nil {
			return false, err
		}
	case moved:
		// An index or referrer pushed since the last look may reference
		// a candidate of this group: new versions are listed first.
		if err := ex.recheckNewest(ctx, planned); err != nil {
			return false, err
		}
	}
	if ex.blocked != "" {
		ex.keep(e, ex.blocked, stayed)
		return false, nil
	}
	v, listed := ex.fresh[e.ID]
	if !listed {
		earlier, err := ex.deletedEarlier(ctx, e)
		if err != nil {
			return false, err
		}
		if earlier {
			// An attempt of this run that died (killed between its
			// request and saving its progress) deleted it: it is
			// part of this run's deletions and of its one comment.
			ex.run.Deleted = append(ex.run.Deleted, e)
			return false, nil
		}
		e.Reason = "already gone at the re-check"
		if ours, err := ex.deletedByEarlierRun(ctx, e); err != nil {
			return false, err
		} else if ours {
			e.Reason = staleReason
		}
		ex.run.Gone = append(ex.run.Gone, e)
		return false, nil
	}
	if added := newTags(e.Tags, v.Tags); len(added) > 0 {
		ex.keep(e, "re-check: now tagged "+strings.Join(added, ","), stayed)
		return false, nil
	}
	if by := ex.refs[e.Version]; by != "" {
		ex.keep(e, "re-check: now referenced by "+by, stayed)
		return false, nil
	}
	return true, nil
}

// deletedByEarlierRun reports whether a run of pkgwarden before this one
// deleted e: it carries the deleted mark, and no attempt of this run
// planned it (a version this attempt deletes is marked only then).
func (ex *execution) deletedByEarlierRun(ctx context.Context, e rules.Entry) (bool, error) {
	inv := ex.p.cfg.Inventory
	if inv == nil || ex.plannedEarlier(e) {
		return false, nil
	}
	return inv.Marked(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), inventory.MarkDeleted, e.ID)
}

// deleteOne marks e deleted in the inventory, deletes it, and records the
// answer: deleted (progress saved), gone already (404), refused (skipped,
// remembered), rate limited (again: wait and ask again, a few times an
// attempt).
func (ex *execution) deleteOne(ctx context.Context, e rules.Entry, stayed map[int64]string) (again bool, err error) {
	// marked: pkgwarden had deleted e before this request.
	marked := false
	if inv := ex.p.cfg.Inventory; inv != nil {
		// Marked before the request: a crash after it leaves the mark, so
		// the restore sweep never brings back what pkgwarden deleted.
		if marked, err = inv.AddMark(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), inventory.MarkDeleted, e.ID); err != nil {
			return false, err
		}
	}
	err = ex.clients.Packages.DeleteVersion(ctx, ex.owner, ex.pkg.Type, ex.pkg.Name, e.ID)
	var rl *githubapi.RateLimitError
	switch {
	case errors.Is(err, githubapi.ErrNotFound) && marked && !ex.plannedEarlier(e):
		// GitHub listed it a moment ago and has it no more, and an
		// earlier run of pkgwarden deleted it: ghcr.io's listing lags
		// behind that deletion. Reported by that run; no deletion of
		// this one, and nothing to ask again.
		delete(ex.fresh, e.ID)
		e.Reason = staleReason
		ex.run.Gone = append(ex.run.Gone, e)
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		// A 404 here is this run's deletion too: the transport's retry
		// of a request whose first answer was lost, an attempt of this
		// run that died before saving it, or another client's deletion
		// between the listing and now, which the version is gone by
		// all the same.
		delete(ex.fresh, e.ID)
		ex.run.Deleted = append(ex.run.Deleted, e)
		ex.p.cfg.Metrics.deleted.Inc()
		ex.saveProgress(ctx)
	case errors.Is(err, githubapi.ErrTokenProblem):
		// The token, not this version: nothing is remembered against the
		// version, the run stops deleting here, and the owner's
		// token-problem issue says why (Pruner.stopForToken).
		return false, err
	case errors.Is(err, githubapi.ErrRefused):
		e.Reason = "GitHub refused the deletion: " + githubapi.Message(err)
		ex.run.Skipped = append(ex.run.Skipped, e)
		stayed[e.ID] = label(e)
		ex.rememberRefusal(ctx, e, err)
	case errors.As(err, &rl) && rl.Wait <= ex.p.cfg.MaxRateWait && ex.rateWaits < maxRateWaits:
		// Pacing should prevent this; when it happens anyway, wait here a
		// few times, then let the job's backoff take over.
		ex.rateWaits++
		ex.log.WarnContext(ctx, "prune: rate limited, waiting", "wait", rl.Wait)
		if err := clock.Sleep(ctx, rl.Wait); err != nil {
			return false, err
		}
		return true, nil
	default:
		return false, err
	}
	return false, nil
}

// saveProgress records the run's deletions so far, even when the job is
// being stopped, which is when the record matters most.
func (ex *execution) saveProgress(ctx context.Context) {
	if ex.p.cfg.Runs == nil {
		return
	}
	ex.prog.Deleted = ex.run.Deleted
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	err := ex.p.cfg.Runs.Save(saveCtx, ex.runKey, ex.prog)
	cancel()
	if err != nil {
		// The deletion stands; only a crash before the next save would
		// make the report miss it.
		ex.log.WarnContext(ctx, "prune: progress not saved", "err", err)
	}
}

// rememberRefusal records GitHub's refusal so later plans keep the version
// rather than ask again. A failure only costs a second request later.
func (ex *execution) rememberRefusal(ctx context.Context, e rules.Entry, err error) {
	inv := ex.p.cfg.Inventory
	r := inventory.Refusal{ID: e.ID, At: ex.p.now(), Message: githubapi.Message(err), Listed: len(ex.fresh)}
	ex.run.askAgain(e.ID, r.At.Add(ex.p.cfg.RefusalMemory))
	var apiErr *githubapi.APIError
	if errors.As(err, &apiErr) {
		r.Status = apiErr.StatusCode
	}
	if inv == nil {
		return
	}
	if err := inv.SetRefusal(ctx, ex.run.InstallationID, inventoryPackage(ex.owner, ex.pkg), r); err != nil {
		ex.log.WarnContext(ctx, "prune: refusal not remembered", "version", e.ID, "err", err)
	}
}

// groupStart reports whether candidate i starts a deletion group.
func groupStart(candidates []rules.Entry, leftover, i int) bool {
	return groupEnd(candidates, leftover, i) > i
}

// groupEnd returns, when candidate i starts a deletion group, the index
// just past the group, and i otherwise. The leftover candidates of an
// earlier attempt form one group; in the plan a group is a version judged
// on its own followed by what lives and dies with it (rules.Decide emits
// each group whole, in order).
func groupEnd(candidates []rules.Entry, leftover, i int) int {
	switch {
	case i < leftover:
		if i > 0 {
			return i
		}
		return leftover
	case i > leftover && len(candidates[i].With) > 0:
		return i
	}
	end := i + 1
	for end < len(candidates) && len(candidates[end].With) > 0 {
		end++
	}
	return end
}

func (ex *execution) keep(e rules.Entry, reason string, stayed map[int64]string) {
	e.Reason = reason
	ex.run.Kept = append(ex.run.Kept, e)
	stayed[e.ID] = label(e)
}

// recheck lists the active versions again (conditionally: usually a 304)
// and reads the manifests of versions that appeared since the plan, to
// learn which candidates a new index or referrer now points at.
func (ex *execution) recheck(ctx context.Context, planned map[int64]bool) error {
	list, err := ex.clients.Packages.ListVersions(ctx, ex.owner, ex.pkg.Type, ex.pkg.Name, githubapi.ListVersionsOptions{State: githubapi.StateActive})
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	ex.checkedAt, ex.unseen = ex.p.now(), false
	ex.fresh = make(map[int64]githubapi.Version, len(list.Versions))
	ex.refs = map[string]string{}
	var added []githubapi.Version
	for _, v := range list.Versions {
		ex.fresh[v.ID] = v
		if !planned[v.ID] {
			added = append(added, v)
		}
	}
	return ex.learn(ctx, added)
}

// recheckNewest looks at the newest versions only: the first page of the
// listing, conditionally (a 304 when nothing changed there since the last
// look), and the next pages only while a page holds nothing but versions
// unknown to the last re-check. New versions are listed first, so this
// finds every version pushed since; tags added to old versions wait for
// the next full re-check.
func (ex *execution) recheckNewest(ctx context.Context, planned map[int64]bool) error {
	var added []githubapi.Version
	for page := 1; ; page++ {
		vs, next, changed, err := ex.newest.page(ctx, page)
		if err != nil {
			return fmt.Errorf("re-check: %w", err)
		}
		if !changed {
			return nil
		}
		allNew := len(vs) > 0
		for _, v := range vs {
			_, known := ex.fresh[v.ID]
			ex.fresh[v.ID] = v // tags as they are now
			if known || planned[v.ID] {
				allNew = false
				continue
			}
			added = append(added, v)
		}
		if !allNew || next == 0 {
			break
		}
	}
	return ex.learn(ctx, added)
}

// learn records what the versions that appeared since the plan reference:
// referrer tags name their subject, and new manifests are read for the
// children of an index and the subject of a referrer.
func (ex *execution) learn(ctx context.Context, added []githubapi.Version) error {
	var newDigests []string
	for _, v := range added {
		for _, t := range v.Tags {
			if subject, kind, ok := registry.ParseReferrerTag(t); ok {
				ex.refs[subject] = fmt.Sprintf("new %s %s", kind, rules.ShortDigest(v.Name))
			}
		}
		if strings.HasPrefix(v.Name, "sha256:") {
			newDigests = append(newDigests, v.Name)
		}
	}
	if len(newDigests) == 0 || !pkgref.IsContainerType(ex.pkg.Type) {
		return nil
	}
	found, failed, err := ex.clients.Registry.Graph(ctx, planner.RegistryRepository(ex.owner.Login, ex.pkg.Name), newDigests)
	if err != nil {
		return fmt.Errorf("re-check: %w", err)
	}
	for _, dg := range newDigests {
		// Every new digest here is a listed, active version: one the
		// registry does not know (404) is as unreadable as one it failed
		// to serve, and what it references cannot be known.
		if err := failed[dg]; err != nil {
			why := "could not be read"
			if errors.Is(err, registry.ErrManifestUnknown) {
				why = "is unknown to the registry"
			}
			ex.blocked = fmt.Sprintf("re-check: the manifest of new version %s %s, so what it references is unknown and nothing more is deleted this run", rules.ShortDigest(dg), why)
			ex.log.WarnContext(ctx, "prune: re-check cannot read a new manifest", "digest", dg, "err", err)
			return nil
		}
	}
	for dg, m := range found {
		for _, c := range m.Children {
			ex.refs[c.Digest] = "new index " + rules.ShortDigest(dg)
		}
		if m.Subject != "" {
			ex.refs[m.Subject] = "new referrer " + rules.ShortDigest(dg)
		}
	}
	return nil
}

// unfinished returns what an earlier attempt of the run planned and left
// orphaned: versions that live and die with versions it deleted, and so
// must go too even though a fresh plan may judge them on their own now (an
// untagged child when untagged versions are kept). They come first: what
// held them is gone already.
func unfinished(prog RunProgress, d rules.Decision) []rules.Entry {
	if len(prog.Deleted) == 0 {
		return nil
	}
	gone := map[int64]bool{}
	for _, e := range prog.Deleted {
		gone[e.ID] = true
	}
	again := map[int64]bool{}
	for _, e := range d.Delete {
		again[e.ID] = true
	}
	var out []rules.Entry
	for _, e := range prog.Planned {
		if gone[e.ID] || again[e.ID] || len(e.With) == 0 {
			continue
		}
		orphan := true
		for _, h := range e.With {
			orphan = orphan && gone[h]
		}
		if orphan {
			out = append(out, e)
			gone[e.ID] = true // its own children follow it
		}
	}
	return out
}

// newTags returns the tags of now that were not in planned.
func newTags(planned, now []string) []string {
	var out []string
	for _, t := range now {
		if !slices.Contains(planned, t) {
			out = append(out, t)
		}
	}
	return out
}

func firstIn(ids []int64, set map[int64]string) string {
	for _, id := range ids {
		if l, ok := set[id]; ok {
			return l
		}
	}
	return ""
}

// label names a version in reasons: its first tag, else its short digest.
func label(e rules.Entry) string {
	if len(e.Tags) > 0 {
		return e.Tags[0]
	}
	if strings.HasPrefix(e.Version, "sha256:") {
		return rules.ShortDigest(e.Version)
	}
	return e.Version
}

// newestLister reads the first pages of a package's active versions, the
// newest, for the re-check before each deletion group. ListVersions always
// reads every page; this reads one at a time, the first conditionally on
// the ETag this run last saw it with, so an unchanged first page costs a
// 304.
type newestLister struct {
	pc    *githubapi.PackagesClient
	owner githubapi.Owner
	pkg   githubapi.Package
	etag  string // of the first page, last time it was read
}

// page reads one page of active versions, newest first. changed is false
// when the first page answered 304: nothing there changed since the last
// read of it.
func (l *newestLister) page(ctx context.Context, n int) (vs []githubapi.Version, next int, changed bool, err error) {
	etag := ""
	if n == 1 {
		etag = l.etag
	}
	p, err := l.pc.ListVersionsPage(ctx, l.owner, l.pkg.Type, l.pkg.Name, githubapi.StateActive, n, etag)
	if err != nil {
		return nil, 0, false, fmt.Errorf("newest versions: %w", err)
	}
	if p.NotModified {
		return nil, 0, false, nil
	}
	if n == 1 {
		l.etag = p.ETag
	}
	return p.Versions, p.Next, true, nil
}
