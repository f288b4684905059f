package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// issuesPayload is what the router reads of issues and issue_comment
// events.
type issuesPayload struct {
	Action string `json:"action"`
	Issue  struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		Body   string `json:"body"`
	} `json:"issue"`
	Comment struct {
		Body string `json:"body"`
	} `json:"comment"`
	Changes struct {
		Body struct {
			From *string `json:"from"`
		} `json:"body"`
	} `json:"changes"`
}

// command is a /pkgwarden line of a comment.
// "/pkgwarden forget package" forgets the (restored) package itself.
var command = regexp.MustCompile(`(?m)^[ \t]*/pkgwarden[ \t]+(restore|forget)[ \t]+(all|package|\d+(?:[ \t,]+\d+)*)[ \t]*$`)

// routeIssues handles issues and issue_comment events on report issues:
// a restore box newly ticked (issues edited), an "intentional" box newly
// ticked in a restore comment (issue_comment edited), a /pkgwarden
// command (issue_comment created). Each becomes an undo job on a subject
// of its own; the job checks the sender's permission. pkgwarden's own
// edits come from its bot and are dropped before this; its body rewrites
// would never tick a box anyway (they only remove lines).
func (r *Router) routeIssues(ctx context.Context, log *slog.Logger, id, event string, env webhook.Envelope, body []byte) error {
	var p issuesPayload
	if err := json.Unmarshal(body, &p); err != nil {
		log.Error("router: undecodable issues event dropped", "err", err)
		return nil
	}
	pkg, ok := report.ParseTitle(p.Issue.Title)
	if !ok || !report.IsReport(p.Issue.Body) {
		log.Debug("router: not a report issue")
		return nil
	}
	u := UndoRequest{Sender: env.SenderLogin(), Repository: env.RepositoryFullName(), Issue: p.Issue.Number}
	switch {
	case event == webhook.EventIssues && p.Action == "edited" && p.Changes.Body.From != nil:
		u.Kind, u.Via, u.IDs = UndoRestore, "checkbox", report.NewlyTicked(*p.Changes.Body.From, p.Issue.Body)
	case event == webhook.EventIssueComment && p.Action == "edited" && p.Changes.Body.From != nil:
		u.Kind, u.Via, u.IDs, u.Answer = UndoForget, "intentional checkbox", NewlyTickedIntentional(*p.Changes.Body.From, p.Comment.Body), true
	case event == webhook.EventIssueComment && p.Action == "created":
		m := command.FindStringSubmatch(p.Comment.Body)
		if m == nil {
			return nil
		}
		u.Kind, u.Via, u.Answer = m[1], "comment", true
		switch m[2] {
		case "all":
			if u.Kind == UndoForget {
				log.Info("router: /pkgwarden forget all is not a command; ignored")
				return nil
			}
			u.All = true
		case "package":
			if u.Kind != UndoForget {
				log.Info("router: /pkgwarden restore package is not a command; ignored")
				return nil
			}
			u.Package = true
		}
		for _, f := range strings.FieldsFunc(m[2], func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
			if n, err := strconv.ParseInt(f, 10, 64); err == nil {
				u.IDs = append(u.IDs, n)
			}
		}
	default:
		return nil
	}
	if len(u.IDs) == 0 && !u.All && !u.Package {
		log.Debug("router: report event asks nothing")
		return nil
	}
	target := webhook.Target{InstallationID: env.InstallationID(), Owner: pkg.Owner, PackageType: pkg.Type, PackageName: pkg.Name}
	if !strings.EqualFold(repoBase(u.Repository), rules.OwnerRepo) {
		target.Repository = u.Repository
	}
	if env.Organization != nil {
		target.OwnerType = "Organization"
	} else {
		target.OwnerType = "User"
	}
	job := Job{Type: TypeRestore, Target: target, DeliveryID: id, Reason: u.Kind + " " + u.Via + " by @" + u.Sender, QueuedAt: r.cfg.Now().UTC(), Undo: &u}
	if err := PublishUndo(ctx, r.q, job); err != nil {
		return err
	}
	job.Logger(r.log).Info("router: undo queued", "kind", u.Kind, "via", u.Via, "ids", u.IDs, "all", u.All, "sender", u.Sender)
	return nil
}
