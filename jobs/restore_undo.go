package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v57/github"
	"github.com/nats-io/nats.go"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/queue"
)

// Undo kinds.
const (
	// UndoRestore restores the listed versions (or All restorable ones).
	UndoRestore = "restore"
	// UndoForget deletes the listed versions again and marks them
	// intentional: never restored automatically again.
	UndoForget = "forget"
)

// UndoRequest is what a person asked in a report issue: a ticked restore
// box, a ticked "this deletion was intentional" box, or a /pkgwarden
// command. It travels in the job, because the job must check who asked.
type UndoRequest struct {
	Kind string  `json:"kind"`
	IDs  []int64 `json:"ids,omitempty"`
	All  bool    `json:"all,omitempty"`
	// Sender asked; Repository ("owner/repo") holds the report issue
	// Issue, and write permission there is what Sender needs.
	Sender     string `json:"sender"`
	Repository string `json:"repository"`
	Issue      int    `json:"issue"`
	// Via says how: "checkbox", "intentional checkbox", "comment".
	Via string `json:"via"`
	// Answer: reply with a comment (always for commands).
	Answer bool `json:"answer,omitempty"`
	// Package asks to forget the package itself (a forget form naming the
	// package rather than its id). An id in IDs that is the package's own
	// id, and no version's, asks the same: that is what the "intentional"
	// box of a package restore carries.
	Package bool `json:"package,omitempty"`
}

// forgetsPackage reports whether u forgets the package of id pkgID.
func (u *UndoRequest) forgetsPackage(pkgID int64) bool {
	return u.Kind == UndoForget && (u.Package || pkgID != 0 && slices.Contains(u.IDs, pkgID))
}

// PublishUndo queues an undo job on a subject of its own (the delivery's):
// undo jobs of one package must not coalesce, since each carries a
// different person's request. They still take the package's lease, so
// they never run beside its prune or sweep.
func PublishUndo(ctx context.Context, q *queue.Queue, job Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode undo job for %s: %w", job.Target, err)
	}
	msg := &nats.Msg{Subject: queue.JobSubject(job.Type, job.Target.Key()+"#undo:"+job.DeliveryID), Data: data, Header: nats.Header{}}
	if job.DeliveryID != "" {
		msg.Header.Set(queue.HeaderDelivery, job.DeliveryID)
	}
	if _, err := q.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("queue undo job for %s: %w", job.Target, err)
	}
	return nil
}

// mayWrite reports whether login has write permission (admin, maintain,
// write) on repository, asked as the installation.
func (r *Restorer) mayWrite(ctx context.Context, inst int64, repository, login string) (bool, error) {
	owner, repo, ok := strings.Cut(repository, "/")
	if !ok {
		return false, fmt.Errorf("repository %q is not owner/name", repository)
	}
	perm, _, err := r.cfg.App.InstallationClient(inst).Repositories.GetPermissionLevel(ctx, owner, repo, login)
	var ghErr *github.ErrorResponse
	if errors.As(err, &ghErr) && ghErr.Response != nil && (ghErr.Response.StatusCode == http.StatusNotFound || ghErr.Response.StatusCode == http.StatusForbidden) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("permission of %s on %s: %w", login, repository, err)
	}
	switch perm.GetPermission() {
	case "admin", "maintain", "write":
		return true, nil
	}
	return false, nil
}

// undo carries out a person's request.
func (r *Restorer) undo(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest) error {
	ok, err := r.mayWrite(ctx, st.inst, u.Repository, u.Sender)
	if err != nil {
		return err
	}
	if !ok {
		log.InfoContext(ctx, "restore: request refused, no write permission", "sender", u.Sender, "repository", u.Repository)
		return r.answer(ctx, log, st, u, fmt.Sprintf("sorry, only people with write access to %s can restore or forget versions here, so nothing was changed.", u.Repository))
	}
	if err := r.list(ctx, st); err != nil {
		return err
	}
	st.trigger = fmt.Sprintf("%s %s by @%s", u.Kind, u.Via, u.Sender)
	if u.Kind == UndoForget {
		return r.forget(ctx, log, st, u)
	}
	ids := u.IDs
	body := ""
	if u.All || len(ids) > 0 {
		is, _, err := r.cfg.App.InstallationClient(st.inst).Issues.Get(ctx, ownerOf(u.Repository), repoBase(u.Repository), u.Issue)
		if err != nil {
			return fmt.Errorf("read report issue %s#%d: %w", u.Repository, u.Issue, err)
		}
		body = is.GetBody()
	}
	listed := map[int64]report.Restorable{}
	for _, e := range report.ParseRestorable(body) {
		listed[e.ID] = e
		if u.All {
			ids = append(ids, e.ID)
		}
	}
	var notes []string
	for _, id := range ids {
		var v *int
		for i := range st.deleted {
			if st.deleted[i].ID == id {
				v = &i
				break
			}
		}
		if v == nil {
			e, inList := listed[id]
			switch {
			case inList && r.cfg.Now().Sub(e.DeletedAt) >= report.RestoreWindow:
				notes = append(notes, fmt.Sprintf("version %d: too late, it was deleted on %s and GitHub keeps deleted versions for 30 days only.", id, e.DeletedAt.Format("2006-01-02")))
			case slices.ContainsFunc(st.active, func(a githubapi.Version) bool { return a.ID == id }):
				notes = append(notes, fmt.Sprintf("version %d is not deleted.", id))
			default:
				notes = append(notes, fmt.Sprintf("version %d: too late or unknown, GitHub no longer lists it as deleted (deleted versions are kept 30 days).", id))
			}
			continue
		}
		dv := st.deleted[*v]
		tags, err := r.rememberedTags(ctx, st, dv)
		if err != nil {
			return err
		}
		dv.Tags = tags
		// Asked for by a person: the intentional mark no longer holds.
		for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
			if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, m, id); err != nil {
				return err
			}
		}
		if err := r.restoreTree(ctx, log, st, dv, fmt.Sprintf("asked by @%s (%s)", u.Sender, u.Via)); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		notes = append(notes, "there was nothing to restore.")
	}
	if err := r.finish(ctx, log, st); err != nil {
		return err
	}
	if u.Answer || len(notes) > 0 {
		msg := fmt.Sprintf("restored %d %s.", len(st.restored), pluralS(len(st.restored), "version", "versions"))
		if len(notes) > 0 {
			msg += "\n\n" + "- " + strings.Join(notes, "\n- ")
		}
		return r.answer(ctx, log, st, u, msg)
	}
	return nil
}

// forget deletes versions again and marks them intentional, with the
// children restored along with them (listed in the intentional marker).
func (r *Restorer) forget(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest) error {
	active := map[int64]bool{}
	for _, v := range st.active {
		active[v.ID] = true
	}
	var done []string
	versions := map[int64]bool{}
	for _, v := range append(slices.Clone(st.active), st.deleted...) {
		versions[v.ID] = true
	}
	forgetPkg := u.forgetsPackage(st.pkg.ID) && !versions[st.pkg.ID]
	for _, id := range u.IDs {
		if forgetPkg && id == st.pkg.ID {
			continue
		}
		for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
			if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, m, id); err != nil {
				return err
			}
		}
		if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, inventory.MarkRestored, id); err != nil {
			return err
		}
		if err := r.releaseChildren(ctx, log, st, id); err != nil {
			return err
		}
		if active[id] && r.cfg.Paused {
			done = append(done, fmt.Sprintf("version %d: pkgwarden is paused (PKGWARDEN_PAUSED), so it was not deleted again; it will not be restored automatically.", id))
			continue
		}
		if active[id] {
			err := st.clients.Packages.DeleteVersion(ctx, st.owner, st.pkg.Type, st.pkg.Name, id)
			if err != nil && !errors.Is(err, githubapi.ErrNotFound) {
				if isRefusal(err) {
					done = append(done, fmt.Sprintf("version %d: GitHub refused to delete it again (%s); it will not be restored automatically.", id, refusal(err)))
					continue
				}
				return fmt.Errorf("delete version %d again: %w", id, err)
			}
			done = append(done, fmt.Sprintf("version %d deleted again; it will not be restored automatically.", id))
		} else {
			done = append(done, fmt.Sprintf("version %d stays deleted and will not be restored automatically.", id))
		}
	}
	if forgetPkg {
		line, err := r.forgetPackage(ctx, log, st)
		if err != nil {
			return err
		}
		done = append(done, line)
	}
	log.InfoContext(ctx, "restore: versions forgotten", "ids", u.IDs, "package", forgetPkg, "sender", u.Sender)
	return r.answer(ctx, log, st, u, strings.Join(done, "\n"))
}

// forgetPackage deletes the (restored) package again and marks its
// deletion intentional, so restore.package never brings it back. It
// returns the answer's line.
func (r *Restorer) forgetPackage(ctx context.Context, log *slog.Logger, st *pkgState) (string, error) {
	id := st.pkg.ID
	if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, id); err != nil {
		return "", err
	}
	if r.cfg.Paused {
		return fmt.Sprintf("the package `%s` (id %d): pkgwarden is paused (PKGWARDEN_PAUSED), so it was not deleted again; it will not be restored automatically.", st.pkg.Name, id), nil
	}
	err := st.clients.Packages.DeletePackage(ctx, st.owner, st.pkg.Type, st.pkg.Name)
	switch {
	case err == nil || errors.Is(err, githubapi.ErrNotFound):
		log.InfoContext(ctx, "restore: package deleted again, its deletion intentional", "package_id", id)
		return fmt.Sprintf("the package `%s` (id %d) deleted again; it will not be restored automatically.", st.pkg.Name, id), nil
	case isRefusal(err):
		return fmt.Sprintf("the package `%s` (id %d): GitHub refused to delete it again (%s); it will not be restored automatically.", st.pkg.Name, id, refusal(err)), nil
	default:
		return "", fmt.Errorf("delete package %s again: %w", st.ref, err)
	}
}

// forgetGonePackage marks a package already deleted again intentional.
func (r *Restorer) forgetGonePackage(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, id int64) error {
	ok, err := r.mayWrite(ctx, st.inst, u.Repository, u.Sender)
	if err != nil {
		return err
	}
	if !ok {
		return r.answer(ctx, log, st, u, fmt.Sprintf("sorry, only people with write access to %s can restore or forget versions here, so nothing was changed.", u.Repository))
	}
	if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, inventory.MarkPackageIntentional, id); err != nil {
		return err
	}
	log.InfoContext(ctx, "restore: deleted package forgotten", "package_id", id, "sender", u.Sender)
	return r.answer(ctx, log, st, u, fmt.Sprintf("the package `%s` (id %d) stays deleted and will not be restored automatically.", st.ref.Name, id))
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

// answer replies to the request in the report issue.
func (r *Restorer) answer(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, text string) error {
	body := fmt.Sprintf("@%s %s\n\n%s", u.Sender, text, restoreAnswerMarker(st.runID))
	gh := r.cfg.App.InstallationClient(st.inst)
	owner, repo := ownerOf(u.Repository), repoBase(u.Repository)
	// A retried job answers once.
	list, _, err := gh.Issues.ListComments(ctx, owner, repo, u.Issue, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return fmt.Errorf("list comments of %s#%d: %w", u.Repository, u.Issue, err)
	}
	for _, c := range list {
		if strings.Contains(c.GetBody(), restoreAnswerMarker(st.runID)) {
			return nil
		}
	}
	if _, _, err := gh.Issues.CreateComment(ctx, owner, repo, u.Issue, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("answer on %s#%d: %w", u.Repository, u.Issue, err)
	}
	log.InfoContext(ctx, "restore: request answered", "repository", u.Repository, "issue", u.Issue)
	return nil
}

func restoreAnswerMarker(runID string) string {
	return "<!-- pkgwarden:answer " + strings.ReplaceAll(runID, " ", "_") + " -->"
}

func restoreRunMarker(runID string) string {
	return "<!-- pkgwarden:restore-run " + strings.ReplaceAll(runID, " ", "_") + " -->"
}

// intentionalLine is a "this deletion was intentional" checkbox of a
// restore comment.
var intentionalLine = regexp.MustCompile(`(?m)^[ \t]*[-*] \[([ xX])\] [^\n]*<!-- pkgwarden:intentional (\d+) -->`)

// TickedIntentional returns the ids whose "this deletion was intentional"
// box is ticked in body.
func TickedIntentional(body string) []int64 {
	var out []int64
	for _, m := range intentionalLine.FindAllStringSubmatch(body, -1) {
		if m[1] == " " {
			continue
		}
		if id, err := strconv.ParseInt(m[2], 10, 64); err == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// NewlyTickedIntentional returns the intentional boxes ticked in to and
// not in from.
func NewlyTickedIntentional(from, to string) []int64 {
	before := TickedIntentional(from)
	var out []int64
	for _, id := range TickedIntentional(to) {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	return out
}

// renderRestoreComment says what a restore run did and why, with an
// "intentional" box for every version restored on its own.
func renderRestoreComment(marker string, run RestoreRun) string {
	var b strings.Builder
	b.WriteString(marker + "\n")
	if len(run.Restored) == 0 {
		// Only a problem to tell (a reused namespace): nothing to undo.
		fmt.Fprintf(&b, "**pkgwarden restored nothing** (trigger: %s).\n\n**Not restored:** %s\n", run.Trigger, run.Problem)
		return b.String()
	}
	fmt.Fprintf(&b, "**pkgwarden restored %d %s** (trigger: %s).\n\n", len(run.Restored), pluralS(len(run.Restored), "item", "items"), run.Trigger)
	for _, e := range run.Restored {
		// A package's box names the package's id: no version has it.
		box := e.ID
		if e.ID == 0 {
			fmt.Fprintf(&b, "- the package `%s` (id %d): %s\n", e.Version, e.PackageID, e.Reason)
			box = e.PackageID
		} else {
			tags := "untagged"
			if len(e.Tags) > 0 {
				tags = strings.Join(e.Tags, ", ")
			}
			fmt.Fprintf(&b, "- id %d `%s` (%s): %s\n", e.ID, shortName(e.Version), tags, e.Reason)
			if strings.HasPrefix(e.Reason, "child of") || strings.Contains(e.Reason, " of restored ") {
				box = 0
			}
		}
		if box != 0 {
			fmt.Fprintf(&b, "  - [ ] this deletion was intentional (tick to delete it again and never restore it automatically) <!-- pkgwarden:intentional %d -->\n", box)
		}
	}
	if run.Problem != "" {
		fmt.Fprintf(&b, "\n**Not restored:** %s\n", run.Problem)
	}
	b.WriteString("\nComment `/pkgwarden forget <id>` to delete a restored version again for good.\n")
	if slices.ContainsFunc(run.Restored, func(e Restored) bool { return e.ID == 0 && e.PackageID != 0 }) {
		b.WriteString("For a restored package, `/pkgwarden forget package` (or its id) deletes it again for good.\n")
	}
	return b.String()
}

func shortName(v string) string {
	if strings.HasPrefix(v, "sha256:") && len(v) > 19 {
		return v[:19]
	}
	return v
}

func pluralS(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func ownerOf(full string) string {
	o, _, _ := strings.Cut(full, "/")
	return o
}
