package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// answer replies to the request in the report issue: what became of each
// command.
func (r *Restorer) answer(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, parts []report.AnswerPart) error {
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
func (r *Restorer) undo(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, gone bool) error {
	if gone {
		st.pkg.Name, st.pkg.Type = st.ref.Name, st.ref.Type
	}
	a, err := r.authorise(ctx, log, st, u)
	if err != nil || a == nil {
		return err
	}
	st.trigger = fmt.Sprintf("%s by @%s", u.Via, u.Sender)
	if cmds := u.List(); len(cmds) == 1 && cmds[0].Kind != "" {
		st.trigger = fmt.Sprintf("%s %s by @%s", cmds[0].Kind, u.Via, u.Sender)
	}
	if !gone {
		if err := r.list(ctx, st); err != nil {
			return r.answerTokenProblem(ctx, log, st, u, "", err)
		}
	}
	cmds := u.List()
	var parts []report.AnswerPart
	for _, c := range cmds {
		out, err := r.command(ctx, log, st, u, a, c, gone)
		if err != nil {
			return r.answerTokenProblem(ctx, log, st, u, c.Line, err)
		}
		parts = append(parts, report.AnswerPart{Line: c.Line, Outcomes: out})
	}
	if len(st.restored) > 0 {
		// One comment says who asked, what came back and what else
		// became of the request: it carries the answer's marker.
		st.askedBy, st.replies = u.Sender, withoutRestored(parts)
		return r.finish(ctx, log, st)
	}
	if len(parts) == 0 || len(parts) == 1 && len(parts[0].Outcomes) == 0 {
		return nil
	}
	return r.answer(ctx, log, st, u, parts)
}

// unclear puts back the marks of version id, cleared before restoring it,
// when restoring it failed (cause) before it came back: it is still
// pkgwarden's deletion, for the retry and for any later request.
func (r *Restorer) unclear(ctx context.Context, st *pkgState, id int64, intentional bool, cause error) error {
	if slices.ContainsFunc(st.restored, func(x Restored) bool { return x.ID == id }) {
		return cause
	}
	marks := []inventory.Mark{inventory.MarkDeleted}
	if intentional {
		marks = append(marks, inventory.MarkIntentional)
	}
	for _, m := range marks {
		if err := r.cfg.Inventory.SetMark(ctx, st.inst, st.inv, m, id); err != nil {
			return errors.Join(cause, fmt.Errorf("put back mark of version %d: %w", id, err))
		}
	}
	return cause
}

// answerTokenProblem answers a request, asked by someone allowed to ask
// it, that the owner's packages token stopped (line is the command met
// it, "" for none): nothing more was done, and the owner is told (Handle
// writes the owner's issue). It returns err, any other error unanswered.
func (r *Restorer) answerTokenProblem(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, line string, err error) error {
	if !errors.Is(err, githubapi.ErrTokenProblem) || !u.Answer {
		return err
	}
	parts := []report.AnswerPart{{Line: line, Outcomes: []report.Outcome{report.TokenTrouble{Owner: st.owner.Login, Restored: len(st.restored)}}}}
	if aerr := r.answer(ctx, log, st, u, parts); aerr != nil {
		return aerr
	}
	return err
}

// withoutRestored is parts without their RestoredVersions outcomes, which
// the restore comment says better; parts left with no outcome go.
func withoutRestored(parts []report.AnswerPart) []report.AnswerPart {
	var out []report.AnswerPart
	for _, p := range parts {
		var keep []report.Outcome
		for _, o := range p.Outcomes {
			if _, ok := o.(report.RestoredVersions); !ok {
				keep = append(keep, o)
			}
		}
		if len(keep) > 0 {
			out = append(out, report.AnswerPart{Line: p.Line, Outcomes: keep})
		}
	}
	return out
}

// command carries out one command and returns what became of it.
func (r *Restorer) command(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, a *authority, c jobs.UndoCommand, gone bool) ([]report.Outcome, error) {
	switch c.Kind {
	case jobs.UndoHelp:
		return []report.Outcome{report.Help{Repository: a.repository}}, nil
	case jobs.UndoRestore, jobs.UndoForget:
	default:
		return []report.Outcome{report.NotACommand{Problem: c.Problem}}, nil
	}
	if !a.may(c.Kind) {
		log.InfoContext(ctx, "restore: request refused", "kind", c.Kind, "sender", u.Sender, "permission", a.perm, "repository", a.repository)
		return []report.Outcome{report.Refused{Verb: report.Verb(c.Kind), Repository: a.repository}}, nil
	}
	if len(c.IDs)+len(c.Tags)+len(c.Digests) > report.MaxCommandIDs {
		return []report.Outcome{report.TooManyIDs{}}, nil
	}
	if c.Kind == jobs.UndoForget {
		return r.forget(ctx, log, st, u, c, gone)
	}
	if gone {
		return []report.Outcome{report.PackageGone{}}, nil
	}
	return r.restoreCommand(ctx, log, st, u, a, c)
}

// restoreCommand restores versions pkgwarden deleted from the package (its
// records: the deleted mark), asked by id, by tag or digest (names.go), or
// all the report's boxes.
func (r *Restorer) restoreCommand(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest, a *authority, c jobs.UndoCommand) ([]report.Outcome, error) {
	seal := r.cfg.Issues.Seal()
	listed := map[int64]report.Restorable{}
	for _, e := range report.ParseRestorable(a.body) {
		listed[e.ID] = e
	}
	ids, notes := slices.Clone(c.IDs), []report.Outcome(nil)
	if len(c.Tags)+len(c.Digests) > 0 {
		cands, err := r.candidates(ctx, st, inventory.MarkDeleted, st.deleted)
		if err != nil {
			return nil, err
		}
		ids, notes = resolveNames(c, cands)
	}
	if c.All {
		for _, id := range seal.Sealed(st.ref, a.body) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
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
		intentional, err := r.cfg.Inventory.Marked(ctx, st.inst, st.inv, inventory.MarkIntentional, id)
		if err != nil {
			return nil, err
		}
		// Asked for by a person: the intentional mark no longer holds.
		for _, m := range []inventory.Mark{inventory.MarkIntentional, inventory.MarkDeleted} {
			if err := r.cfg.Inventory.ClearMark(ctx, st.inst, st.inv, m, id); err != nil {
				return nil, err
			}
		}
		if err := r.restoreTree(ctx, log, st, dv, fmt.Sprintf("asked by @%s (%s)", u.Sender, u.Via)); err != nil {
			return nil, r.unclear(ctx, st, id, intentional, err)
		}
	}
	if len(ids) == 0 && len(notes) == 0 {
		notes = append(notes, report.NothingToRestore{})
	}
	n := len(st.restored) - before
	if n == 0 && len(notes) > 0 {
		// The notes say why nothing came back.
		return notes, nil
	}
	return append([]report.Outcome{report.RestoredVersions{N: n}}, notes...), nil
}
