package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
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
// box, a ticked "this deletion was intentional" box, or the /pkgwarden
// lines of a comment. It travels in the job, because the job must check
// who asked.
type UndoRequest struct {
	// Kind, IDs, All and Package are the request of a box (and of jobs
	// queued before comments carried Commands).
	Kind string  `json:"kind,omitempty"`
	IDs  []int64 `json:"ids,omitempty"`
	All  bool    `json:"all,omitempty"`
	// Sender asked; Repository ("owner/repo") holds the report issue
	// Issue.
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
	// Commands are the /pkgwarden lines of a comment, in order, valid or
	// not: each gets an answer.
	Commands []UndoCommand `json:"commands,omitempty"`
}

// UndoCommand is one /pkgwarden line of a comment (report.Command as a job
// carries it).
type UndoCommand struct {
	// Kind is UndoRestore, UndoForget or UndoHelp; "" for a line that is
	// no command (Problem says why).
	Kind    string   `json:"kind,omitempty"`
	IDs     []int64  `json:"ids,omitempty"`
	All     bool     `json:"all,omitempty"`
	Package bool     `json:"package,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	// Line is the line as written, for the answer.
	Line    string `json:"line"`
	Problem string `json:"problem,omitempty"`
}

// UndoHelp asks what the commands are.
const UndoHelp = "help"

// commands returns what u asks, one command per request.
func (u *UndoRequest) commands() []UndoCommand {
	if len(u.Commands) > 0 {
		return u.Commands
	}
	return []UndoCommand{{Kind: u.Kind, IDs: u.IDs, All: u.All, Package: u.Package}}
}

// forgetsPackage reports whether c forgets the package of id pkgID.
func (c *UndoCommand) forgetsPackage(pkgID int64) bool {
	return c.Kind == UndoForget && (c.Package || pkgID != 0 && slices.Contains(c.IDs, pkgID))
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

// answer replies to the request in the report issue: what became of each
// command.
func (r *Restorer) answer(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, parts []report.AnswerPart) error {
	res, err := r.cfg.Issues.Answer(ctx, st.inst, u.Repository, u.Issue, u.Sender, st.runID, parts)
	if err != nil {
		return err
	}
	if res.Commented {
		log.InfoContext(ctx, "restore: request answered", "repository", u.Repository, "issue", u.Issue)
	}
	return nil
}

// undo carries out what a person asked on the report: each command in
// turn, one answer for all. gone says the package is deleted (st.pkg holds
// the id it had).
func (r *Restorer) undo(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, gone bool) error {
	if gone {
		st.pkg.Name, st.pkg.Type = st.ref.Name, st.ref.Type
	}
	a, err := r.authorise(ctx, log, st, u)
	if err != nil || a == nil {
		return err
	}
	st.trigger = fmt.Sprintf("%s by @%s", u.Via, u.Sender)
	if cmds := u.commands(); len(cmds) == 1 && cmds[0].Kind != "" {
		st.trigger = fmt.Sprintf("%s %s by @%s", cmds[0].Kind, u.Via, u.Sender)
	}
	if !gone {
		if err := r.list(ctx, st); err != nil {
			return err
		}
	}
	cmds := u.commands()
	var parts []report.AnswerPart
	for _, c := range cmds {
		out, err := r.command(ctx, log, st, u, a, c, gone)
		if err != nil {
			return err
		}
		parts = append(parts, report.AnswerPart{Line: c.Line, Outcomes: out})
	}
	if err := r.finish(ctx, log, st); err != nil {
		return err
	}
	if len(parts) == 0 || len(parts) == 1 && (len(parts[0].Outcomes) == 0 || !u.Answer && len(parts[0].Outcomes) == 1 && len(st.restored) > 0) {
		// A box ticked and done: the restore comment says it all.
		return nil
	}
	return r.answer(ctx, log, st, u, parts)
}

// command carries out one command and returns what became of it.
func (r *Restorer) command(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, a *authority, c UndoCommand, gone bool) ([]report.Outcome, error) {
	switch c.Kind {
	case UndoHelp:
		return []report.Outcome{report.Help{Repository: a.repository}}, nil
	case UndoRestore, UndoForget:
	default:
		return []report.Outcome{report.NotACommand{Problem: c.Problem}}, nil
	}
	if !a.may(c.Kind) {
		log.InfoContext(ctx, "restore: request refused", "kind", c.Kind, "sender", u.Sender, "permission", a.perm, "repository", a.repository)
		return []report.Outcome{report.Refused{Verb: report.Verb(c.Kind), Repository: a.repository}}, nil
	}
	if len(c.IDs)+len(c.Tags) > report.MaxCommandIDs {
		return []report.Outcome{report.TooManyIDs{}}, nil
	}
	if c.Kind == UndoForget {
		return r.forget(ctx, log, st, u, c, gone)
	}
	if gone {
		return []report.Outcome{report.PackageGone{}}, nil
	}
	return r.restoreCommand(ctx, log, st, u, a, c)
}

// restoreCommand restores versions pkgwarden deleted from the package (its
// records: the deleted mark), asked by id, by tag, or all the report's
// boxes.
func (r *Restorer) restoreCommand(ctx context.Context, log *slog.Logger, st *pkgState, u *UndoRequest, a *authority, c UndoCommand) ([]report.Outcome, error) {
	seal := r.cfg.Issues.Seal()
	listed := map[int64]report.Restorable{}
	for _, e := range report.ParseRestorable(a.body) {
		listed[e.ID] = e
	}
	ids := slices.Clone(c.IDs)
	if c.All {
		ids = append(ids, seal.Sealed(st.ref, a.body)...)
	}
	var notes []report.Outcome
	for _, tag := range c.Tags {
		id, err := r.deletedByTag(ctx, st, tag)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			notes = append(notes, report.NoSuchTag{Tag: tag})
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	before := len(st.restored)
	for _, id := range ids {
		i := slices.IndexFunc(st.deleted, func(v githubapi.Version) bool { return v.ID == id })
		if i < 0 {
			e, inList := listed[id]
			switch {
			case inList && seal.Verify(report.BoxRestore, st.ref, id, e.Seal()) && r.now().Sub(e.DeletedAt) >= report.RestoreWindow:
				notes = append(notes, report.TooLate{ID: id, DeletedAt: e.DeletedAt})
			case slices.ContainsFunc(st.active, func(v githubapi.Version) bool { return v.ID == id }):
				notes = append(notes, report.NotDeleted{ID: id})
			default:
				// The same words for an id of another package, of another
				// owner, or of none: an answer must not tell them apart.
				notes = append(notes, report.NotDeletedHere{ID: id})
			}
			continue
		}
		dv := st.deleted[i]
		ours, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkDeleted, id)
		if err != nil {
			return nil, err
		}
		if !ours {
			notes = append(notes, report.DeletedByOthers{ID: id})
			continue
		}
		tags, err := r.rememberedTags(ctx, st, dv)
		if err != nil {
			return nil, err
		}
		dv.Tags = tags
		// Asked for by a person: the intentional mark no longer holds.
		for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
			if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, m, id); err != nil {
				return nil, err
			}
		}
		if err := r.restoreTree(ctx, log, st, dv, fmt.Sprintf("asked by @%s (%s)", u.Sender, u.Via)); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 && len(c.Tags) == 0 {
		notes = append(notes, report.NothingToRestore{})
	}
	n := len(st.restored) - before
	if n == 0 && len(notes) > 0 {
		// The notes say why nothing came back.
		return notes, nil
	}
	return append([]report.Outcome{report.RestoredVersions{N: n}}, notes...), nil
}

// deletedByTag is the id of the deleted version pkgwarden deleted that
// carried tag, the most recently deleted when several did; 0 for none.
func (r *Restorer) deletedByTag(ctx context.Context, st *pkgState, tag string) (int64, error) {
	var best githubapi.Version
	for _, v := range st.deleted {
		tags, err := r.rememberedTags(ctx, st, v)
		if err != nil {
			return 0, err
		}
		if !slices.Contains(tags, tag) {
			continue
		}
		ours, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkDeleted, v.ID)
		if err != nil {
			return 0, err
		}
		if ours && (best.ID == 0 || v.DeletedAt.After(best.DeletedAt) || v.UpdatedAt.After(best.UpdatedAt)) {
			best = v
		}
	}
	return best.ID, nil
}
