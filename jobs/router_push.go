package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// routePush handles a push: a change of .github/pkgwarden.yml on the
// default branch queues a config job for the repository. Pushes to other
// branches, and pushes that leave the file alone, need no job: files count
// only on the default branch.
func (r *Router) routePush(ctx context.Context, log *slog.Logger, id string, env webhook.Envelope, body []byte) error {
	var ev github.PushEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		log.Error("router: undecodable push dropped", "err", err)
		return nil
	}
	repo := ev.GetRepo()
	owner := env.Owner()
	if owner == "" {
		owner = repo.GetOwner().GetLogin()
	}
	name := repo.GetName()
	if env.InstallationID() <= 0 || owner == "" || name == "" {
		log.Error("router: push without installation, owner or repository dropped")
		return nil
	}
	branch := repo.GetDefaultBranch()
	if branch == "" {
		branch = repo.GetMasterBranch()
	}
	if ev.GetDeleted() || branch == "" || ev.GetRef() != "refs/heads/"+branch {
		log.Debug("router: push not to the default branch, no job", "ref", ev.GetRef(), "default_branch", branch)
		return nil
	}
	if !touchesConfig(&ev, strings.EqualFold(name, rules.OwnerRepo)) {
		log.Debug("router: push leaves the configuration alone, no job")
		return nil
	}
	job := Job{
		Type: TypeConfig, Target: ConfigTarget(env.InstallationID(), owner, name), DeliveryID: id,
		Reason: "push " + shortCommit(ev.GetAfter()) + " changed " + rules.Path, QueuedAt: r.cfg.Now().UTC(),
		Push: pushOf(&ev),
	}
	if err := Publish(ctx, r.q, job); err != nil {
		return err
	}
	job.Logger(r.log).Info("router: config job queued", "ref", ev.GetRef(), "after", ev.GetAfter())
	return nil
}

// touchesConfig reports whether a commit of the push added, modified or
// removed the configuration file; in the owner's .github repository
// (ownerRepo), any YAML file, because the files there may be the base an
// _extends names at any path. GitHub lists at most 20 commits in a push; a
// longer push whose listed commits do not touch the file is missed until
// the next publish reads the file anyway.
func touchesConfig(ev *github.PushEvent, ownerRepo bool) bool {
	commits := ev.Commits
	if hc := ev.GetHeadCommit(); hc != nil {
		commits = append(commits[:len(commits):len(commits)], hc)
	}
	for _, c := range commits {
		for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
			for _, p := range list {
				if p == rules.Path { // git paths are case-sensitive, as GitHub reads them
					return true
				}
				if ownerRepo && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
					return true
				}
			}
		}
	}
	return false
}

func shortCommit(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Push is what a config job knows of the push it comes from, as GitHub's
// webhook said it: the invalid-config issue links to the file at Commit
// and names Pusher. Checked where it is written into an issue.
type Push struct {
	// Commit is the sha the branch was pushed to ("after").
	Commit string `json:"commit"`
	// Pusher is the pusher's name, a login for a person's push; the
	// sender's login when the payload names no pusher.
	Pusher string `json:"pusher,omitempty"`
	// RepoURL is the repository's html_url (GitHub's web address).
	RepoURL string `json:"repo_url,omitempty"`
}

func pushOf(ev *github.PushEvent) *Push {
	p := &Push{Commit: ev.GetAfter(), Pusher: ev.GetPusher().GetName(), RepoURL: ev.GetRepo().GetHTMLURL()}
	if p.Pusher == "" {
		p.Pusher = ev.GetSender().GetLogin()
	}
	return p
}
