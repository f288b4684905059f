package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// TypeConfigCheck evaluates a pull request's change of a rules file and
// writes the pkgwarden check run on its head commit: nothing else. One
// subject per repository and pull request number (CheckTarget), so a burst
// of pushes to one pull request coalesces into one waiting evaluation,
// which reads the latest head the job carries.
const TypeConfigCheck = "config_check"

// CheckTargetType is the PackageType of a config check job's Target: no
// package type is spelled so, so its lease never collides with a
// package's, a config job's or a dashboard's.
const CheckTargetType = "pull_request"

// CheckTarget is the Target of the config check of pull request number of
// owner/repo (the base repository).
func CheckTarget(installationID int64, owner, repo string, number int) webhook.Target {
	return webhook.Target{
		InstallationID: installationID, Owner: owner,
		PackageType: CheckTargetType, PackageName: repo + "#" + strconv.Itoa(number), Repository: owner + "/" + repo,
	}
}

// PullRequest is what a config check job knows of its pull request, as
// the webhook said it; the job reads the files through the base
// repository, so nothing here can point it at another repository.
type PullRequest struct {
	Number  int    `json:"number"`
	HeadSHA string `json:"head_sha"`
	BaseSHA string `json:"base_sha"`
	// Fork is set when the head is in another repository.
	Fork bool `json:"fork,omitempty"`
}

// pullRequestActions are the actions that change what a pull request
// would merge.
var pullRequestActions = map[string]bool{"opened": true, "synchronize": true, "reopened": true}

// routePullRequest queues a config check for a pull request opened,
// reopened or pushed to, in a repository of the installation (the
// webhook's repository, which must be the pull request's base). Whether it
// changes a rules file is the job's to find out: the webhook does not list
// the files.
func (r *Router) routePullRequest(ctx context.Context, log *slog.Logger, id string, env webhook.Envelope, body []byte) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		log.Error("router: undecodable pull_request dropped", "err", err)
		return nil
	}
	if !pullRequestActions[ev.GetAction()] {
		log.Debug("router: pull_request action needs no check")
		return nil
	}
	pr := ev.GetPullRequest()
	repo := ev.GetRepo()
	base := pr.GetBase().GetRepo()
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	if env.InstallationID() <= 0 || owner == "" || name == "" || pr.GetNumber() <= 0 || pr.GetHead().GetSHA() == "" {
		log.Error("router: pull_request without installation, repository, number or head dropped")
		return nil
	}
	// The check belongs to the repository the installation was sent the
	// event for; a pull request whose base is elsewhere is not one of it.
	if base.GetID() != repo.GetID() || !strings.EqualFold(base.GetFullName(), repo.GetFullName()) {
		log.Warn("router: pull_request whose base is not the event's repository dropped", "base", base.GetFullName())
		return nil
	}
	head := pr.GetHead().GetRepo()
	job := Job{
		Type: TypeConfigCheck, Target: CheckTarget(env.InstallationID(), owner, name, pr.GetNumber()), DeliveryID: id,
		Reason:   "pull_request " + ev.GetAction() + " #" + strconv.Itoa(pr.GetNumber()) + " at " + shortCommit(pr.GetHead().GetSHA()),
		QueuedAt: r.cfg.Now().UTC(),
		PullRequest: &PullRequest{
			Number: pr.GetNumber(), HeadSHA: pr.GetHead().GetSHA(), BaseSHA: pr.GetBase().GetSHA(),
			Fork: head == nil || head.GetID() != repo.GetID(),
		},
	}
	if err := Publish(ctx, r.q, job); err != nil {
		return err
	}
	job.Logger(r.log).Info("router: config check queued", "pull_request", pr.GetNumber(), "head", pr.GetHead().GetSHA())
	return nil
}
