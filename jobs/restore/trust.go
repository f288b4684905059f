package restore

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Who may ask what of pkgwarden in a report issue. This is the one place
// the restore job decides it; SECURITY.md lists each rule with the function
// enforcing it.
//
//   - The issue is pkgwarden's report of this very package: written by its
//     bot, title and first line naming the package, in a repository of its
//     owner (report.Recognise, asked again of GitHub here, whatever the
//     router read), and in the package's report place: its linked
//     repository, or the owner's .github when it has none or its repository
//     takes no issues (report.ReportPlace). Anything else is ignored
//     without an answer: an answer would tell a stranger which ids exist.
//   - The sender's permission is read on the package's repository (the
//     owner's .github for a package linked to none), never on the issue's:
//     restoring needs write, as GitHub asks to restore a version; forgetting
//     (deleting again) needs admin, as GitHub asks of a package admin to
//     delete one. help and lines that are no command are answered to anyone
//     on a genuine report.

// Permission levels GitHub answers (GET /repos/{owner}/{repo}/collaborators/{username}/permission).
const (
	permAdmin    = "admin"
	permMaintain = "maintain"
	permWrite    = "write"
	permNone     = "none"
)

// authority is what authorise found: where permissions are read and the
// sender's permission there.
type authority struct {
	// repository ("owner/name") is the package's repository, or the
	// owner's .github for a package linked to none.
	repository string
	perm       string
	// body is the report's body as GitHub has it now.
	body string
}

// may says whether a holds the permission kind needs.
func (a *authority) may(kind string) bool {
	switch kind {
	case jobs.UndoRestore:
		return a.perm == permAdmin || a.perm == permMaintain || a.perm == permWrite
	case jobs.UndoForget:
		return a.perm == permAdmin
	}
	return true
}

// authorise checks that u was asked on st's package's genuine report, and
// reads the sender's permission. It returns nil, and no error, when the
// request must be ignored without an answer.
func (r *Restorer) authorise(ctx context.Context, log *slog.Logger, st *pkgState, u *jobs.UndoRequest) (*authority, error) {
	if r.cfg.Issues == nil {
		log.WarnContext(ctx, "restore: request ignored, no report writer to check the report with")
		return nil, nil
	}
	owner, repo, ok := strings.Cut(u.Repository, "/")
	if !ok || u.Issue <= 0 {
		log.WarnContext(ctx, "restore: request ignored, no report issue", "repository", u.Repository, "issue", u.Issue)
		return nil, nil
	}
	gh := r.cfg.Access.App.InstallationClient(st.inst)
	is, _, err := gh.Issues.Get(ctx, owner, repo, u.Issue)
	if githubapi.StatusOf(err) == http.StatusNotFound || githubapi.StatusOf(err) == http.StatusGone {
		log.InfoContext(ctx, "restore: request ignored, the issue is gone", "repository", u.Repository, "issue", u.Issue)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read report issue %s#%d: %w", u.Repository, u.Issue, err)
	}
	pkg, err := report.Recognise(r.cfg.Issues.Bot(), report.IssueFacts{RepoOwner: owner, Author: is.GetUser().GetLogin(), Title: is.GetTitle(), Body: is.GetBody()})
	if err != nil || pkg.Key() != st.ref.Key() || !strings.EqualFold(owner, st.owner.Login) {
		log.WarnContext(ctx, "restore: request ignored, not this package's report", "repository", u.Repository, "issue", u.Issue, "why", err)
		return nil, nil
	}
	linked := st.pkg.Repository
	takesIssues := true
	if linked != "" && strings.EqualFold(repo, rules.OwnerRepo) {
		if takesIssues, err = r.takesIssues(ctx, gh, linked); err != nil {
			return nil, err
		}
	}
	if !report.ReportPlace(u.Repository, st.owner.Login, linked, takesIssues) {
		log.WarnContext(ctx, "restore: request ignored, the report is not in the package's place", "repository", u.Repository, "issue", u.Issue, "package_repository", linked)
		return nil, nil
	}
	a := &authority{repository: st.owner.Login + "/" + rules.OwnerRepo, body: is.GetBody()}
	if linked != "" && !strings.EqualFold(pkgref.RepoName(linked), rules.OwnerRepo) {
		a.repository = linked
	}
	if a.perm, err = r.permission(ctx, gh, a.repository, u.Sender); err != nil {
		return nil, err
	}
	return a, nil
}

// takesIssues reports whether repository ("owner/name") takes issues; a
// repository gone takes none.
func (r *Restorer) takesIssues(ctx context.Context, gh *github.Client, repository string) (bool, error) {
	owner, repo, _ := strings.Cut(repository, "/")
	rp, _, err := gh.Repositories.Get(ctx, owner, repo)
	if githubapi.StatusOf(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read repository %s: %w", repository, err)
	}
	return rp.GetHasIssues(), nil
}

// permission is login's permission on repository, asked as the
// installation: admin, maintain, write, triage, read or none. GitHub's
// "permission" is the legacy level (admin, write, read, none), which counts
// maintain as write and triage as read; "role_name" tells them apart
// (go-github v57 does not decode it). A custom role counts as its legacy
// level.
//
// GET /repos/{owner}/{repo}/collaborators/{username}/permission
func (r *Restorer) permission(ctx context.Context, gh *github.Client, repository, login string) (string, error) {
	owner, repo, _ := strings.Cut(repository, "/")
	req, err := gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(login)), nil)
	if err != nil {
		return "", err
	}
	var perm struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	_, err = gh.Do(ctx, req, &perm)
	if s := githubapi.StatusOf(err); s == http.StatusNotFound || s == http.StatusForbidden {
		return permNone, nil
	}
	if err != nil {
		return "", fmt.Errorf("permission of %s on %s: %w", login, repository, err)
	}
	switch perm.RoleName {
	case permAdmin, permMaintain, permWrite, "triage", "read":
		return perm.RoleName, nil
	}
	return perm.Permission, nil
}
