package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// issuesPayload is what the router reads of issues and issue_comment
// events. Every field comes from GitHub's signed payload; the title, bodies
// and boxes were written by people, which is why the router trusts them
// only as far as report.Recognise and the boxes' seals allow.
type issuesPayload struct {
	Action string `json:"action"`
	Issue  struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		Body   string `json:"body"`
		User   struct {
			Login string `json:"login"`
		} `json:"user"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment struct {
		Body string `json:"body"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	} `json:"comment"`
	Changes struct {
		Body struct {
			From *string `json:"from"`
		} `json:"body"`
	} `json:"changes"`
}

// routeIssues turns what people do on a pkgwarden report into one undo job:
// a restore box newly ticked (issues edited), an "intentional" box newly
// ticked in one of pkgwarden's restore comments (issue_comment edited), or
// the /pkgwarden lines of a new comment (issue_comment created), valid or
// not: the job answers each of them.
//
// What is not a genuine report (report.Recognise: written by pkgwarden's
// bot, title and first line naming the package, in a repository of the
// package's owner, which is also the installation's account) gets no job
// and no answer, and neither do boxes pkgwarden did not write (their seal
// does not verify). Who may ask, where the report belongs, and what
// pkgwarden recorded are the job's to check (Restorer.authorise).
// pkgwarden's own events are dropped before this.
func (r *Router) routeIssues(ctx context.Context, log *slog.Logger, id, event string, env webhook.Envelope, body []byte) error {
	var p issuesPayload
	if err := json.Unmarshal(body, &p); err != nil {
		log.Error("router: undecodable issues event dropped", "err", err)
		return nil
	}
	if len(p.Issue.PullRequest) > 0 && string(p.Issue.PullRequest) != "null" {
		log.Debug("router: a pull request, not a report")
		return nil
	}
	pkg, err := report.Recognise(r.cfg.OwnBotLogin, report.IssueFacts{
		RepoOwner: env.Repository.GetOwner().GetLogin(), Author: p.Issue.User.Login, Title: p.Issue.Title, Body: p.Issue.Body,
	})
	if err != nil {
		if errors.Is(err, report.ErrNotOurs) && r.cfg.OwnBotLogin == "" {
			log.Warn("router: pkgwarden's bot login is unknown (set PKGWARDEN_APP_SLUG), so no issue is taken for a report")
		} else {
			log.Debug("router: not a report", "why", err)
		}
		return nil
	}
	u := UndoRequest{Sender: env.SenderLogin(), Repository: env.RepositoryFullName(), Issue: p.Issue.Number}
	switch {
	case event == webhook.EventIssues && p.Action == "edited" && p.Changes.Body.From != nil:
		u.Kind, u.Via, u.IDs = UndoRestore, "checkbox", r.cfg.Seal.NewlyTicked(pkg, *p.Changes.Body.From, p.Issue.Body)
	case event == webhook.EventIssueComment && p.Action == "edited" && p.Changes.Body.From != nil:
		if !strings.EqualFold(p.Comment.User.Login, r.cfg.OwnBotLogin) {
			// Boxes only count in pkgwarden's own comments.
			return nil
		}
		u.Kind, u.Via, u.IDs, u.Answer = UndoForget, "intentional checkbox", r.cfg.Seal.NewlyTickedIntentional(pkg, *p.Changes.Body.From, p.Comment.Body), true
	case event == webhook.EventIssueComment && p.Action == "created":
		cmds := report.ParseCommands(p.Comment.Body)
		if len(cmds) == 0 {
			return nil
		}
		u.Via, u.Answer = "comment", true
		for _, c := range cmds {
			u.Commands = append(u.Commands, undoCommand(c))
		}
	default:
		return nil
	}
	if len(u.IDs) == 0 && len(u.Commands) == 0 {
		log.Debug("router: report event asks nothing")
		return nil
	}
	target := webhook.Target{InstallationID: env.InstallationID(), Owner: pkg.Owner, PackageType: pkg.Type, PackageName: pkg.Name}
	if !strings.EqualFold(pkgref.RepoName(u.Repository), rules.OwnerRepo) {
		target.Repository = u.Repository
	}
	if env.Organization != nil {
		target.OwnerType = "Organization"
	} else {
		target.OwnerType = "User"
	}
	job := Job{Type: TypeRestore, Target: target, DeliveryID: id, Reason: u.Via + " by @" + u.Sender, QueuedAt: r.cfg.Now().UTC(), Undo: &u}
	if err := PublishUndo(ctx, r.q, job); err != nil {
		return err
	}
	job.Logger(r.log).Info("router: undo queued", "kind", u.Kind, "via", u.Via, "ids", u.IDs, "commands", len(u.Commands), "sender", u.Sender)
	return nil
}

// undoCommand is a parsed /pkgwarden line as the job carries it.
func undoCommand(c report.Command) UndoCommand {
	out := UndoCommand{Kind: string(c.Verb), IDs: c.IDs, All: c.All, Package: c.Package, Tags: c.Tags, Digests: c.Digests, Line: c.Text}
	if c.Err != nil {
		out.Kind, out.Problem = "", c.Err.Error()
	}
	return out
}
