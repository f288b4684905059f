package report

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// ConfigTitle is the title of the invalid-configuration issue in the
// repository whose file is invalid.
const ConfigTitle = "pkgwarden: invalid " + rules.Path

// configTitle names the issue; when it lands in the owner's .github
// repository on behalf of another repository, it says which.
func configTitle(p place, repo string) string {
	if strings.EqualFold(p.repo, repo) {
		return ConfigTitle
	}
	return ConfigTitle + " in " + p.owner + "/" + repo
}

// TokenTitle is the title of the issue telling an owner to configure a
// packages token.
func TokenTitle(owner string) string { return "pkgwarden: no packages token for " + owner }

// renderTokenBody says exactly what to configure. It never contains a
// token: it is written without ever seeing one.
func renderTokenBody(owner string) string {
	var b strings.Builder
	b.WriteString("<!-- pkgwarden:token -->\n")
	fmt.Fprintf(&b, "pkgwarden has no packages token for `%s`, so it does nothing with `%s`'s packages: nothing is pruned or restored.\n\n", owner, owner)
	b.WriteString("GitHub App installation tokens cannot delete or restore package versions, so pkgwarden needs a **classic personal access token** of an admin of the packages, with the scopes:\n\n")
	b.WriteString("- `read:packages`\n- `write:packages`\n- `delete:packages`\n- `repo` (for maven and docker packages, which are repository-scoped)\n\n")
	b.WriteString("Give it to pkgwarden in its environment, where pkgwarden runs (not here):\n\n")
	fmt.Fprintf(&b, "```\nPKGWARDEN_PACKAGES_TOKENS=%s=<token>\n```\n\n", owner)
	fmt.Fprintf(&b, "Several owners are comma separated (`owner=token,owner2=token2`); `PKGWARDEN_PACKAGES_TOKEN` sets a token for every owner without one; a file `packages-tokens/%s` in pkgwarden's data directory holding the token works too.\n\n", owner)
	b.WriteString("**Never paste a token into this issue.** Once a token is configured, pkgwarden closes this issue.\n")
	return b.String()
}

// ensure makes one issue titled title exist and hold body: an open one is
// updated when it differs, a closed one reopened, none opened. It tries
// each place in order, moving on when a repository takes no issues.
func (r *Reporter) ensure(ctx context.Context, places []place, title func(place) string, body string) (Result, error) {
	var tried []string
	for _, p := range places {
		t := title(p)
		f, err := r.find(ctx, p, t, DefaultLabels[0])
		if errors.Is(err, errNoIssues) {
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, err
		}
		w := write{title: t, body: body, labels: DefaultLabels}
		var res Result
		if f == nil {
			nf, err := r.create(ctx, p, w)
			if errors.Is(err, errNoIssues) {
				tried = append(tried, p.String())
				continue
			}
			if err != nil {
				return Result{}, err
			}
			f, res.Created = nf, true
		} else {
			res.Reopened = f.state != "open"
			if res.Updated, err = r.update(ctx, p, f, w, "open"); err != nil {
				return Result{}, err
			}
		}
		res.Issue = f.issue(p)
		return res, nil
	}
	return Result{}, fmt.Errorf("tried %s: %w", strings.Join(tried, ", "), ErrNowhere)
}

// settle closes the open issue titled title, if any, with a comment.
func (r *Reporter) settle(ctx context.Context, places []place, title func(place) string, note string) (Result, error) {
	for _, p := range places {
		res, err := r.settleIn(ctx, p, title(p), note)
		if errors.Is(err, errNoIssues) {
			continue
		}
		if err != nil || res.Closed {
			return res, err
		}
	}
	return Result{}, nil
}

// settleIn closes the open issue titled title in p, if any, with a
// comment. errNoIssues says p takes no issues.
func (r *Reporter) settleIn(ctx context.Context, p place, title, note string) (Result, error) {
	f, err := r.find(ctx, p, title, DefaultLabels[0])
	if err != nil {
		return Result{}, err
	}
	if f == nil || f.state != "open" {
		return Result{}, nil
	}
	if note != "" {
		if err := r.comment(ctx, p, f.number, note); err != nil {
			return Result{}, err
		}
	}
	if _, err := r.update(ctx, p, f, write{body: f.body, labels: f.labels}, "closed"); err != nil {
		return Result{}, err
	}
	return Result{Issue: f.issue(p), Closed: true, Commented: note != ""}, nil
}

// InvalidConfig opens one issue in owner/repo (the repository whose
// packages the invalid file governs, "" or ".github" for the owner's own
// file; the owner's .github when the repository's issues are disabled) quoting file, line, column and message of every error. Called
// again with the same errors it changes nothing; with other errors it
// rewrites the body; after ConfigFixed it reopens the same issue.
func (r *Reporter) InvalidConfig(ctx context.Context, installation int64, owner, repo string, errs rules.ErrorList) (Result, error) {
	return r.InvalidConfigAt(ctx, installation, owner, repo, errs, ConfigPush{})
}

// ConfigFixed closes the invalid-configuration issue of owner/repo, if one
// is open, with a comment saying so (note, e.g. "Fixed by abc1234.", is
// added). Called once a prune under the fixed file succeeded (or by the
// push that fixed it, when it governs no package); Result.Closed says
// whether an issue was closed.
func (r *Reporter) ConfigFixed(ctx context.Context, installation int64, owner, repo, note string) (Result, error) {
	if repo == "" {
		repo = rules.OwnerRepo
	}
	msg := "<!-- pkgwarden:config-fixed -->\nThe configuration is valid again and pkgwarden applies it."
	if note = oneLine(note); note != "" {
		msg += " " + note
	}
	res, err := r.settle(ctx, r.places(installation, owner, repo),
		func(p place) string { return configTitle(p, repo) }, msg+"\n")
	if err != nil {
		return res, fmt.Errorf("close invalid config issue of %s/%s: %w", owner, repo, err)
	}
	return res, nil
}

// MissingToken opens one issue saying which packages token to configure:
// in the owner's .github repository, or, where that takes no issues (many
// owners have none), in repo, the repository of the package that
// triggered the job ("" when linked to none). Called again it changes
// nothing, wherever the issue is.
func (r *Reporter) MissingToken(ctx context.Context, installation int64, owner, repo string) (Result, error) {
	res, err := r.ensure(ctx, r.tokenPlaces(installation, owner, repo),
		func(place) string { return TokenTitle(owner) }, renderTokenBody(owner))
	if err != nil {
		return res, fmt.Errorf("report missing packages token of %s: %w", owner, err)
	}
	return res, nil
}

// tokenPlaces is where the missing-token issue goes: the owner's .github
// first (the owner's concern, not one repository's), then the package's
// repository.
func (r *Reporter) tokenPlaces(installation int64, owner, repo string) []place {
	ps := r.places(installation, owner, repo)
	// places puts .github last; the token issue wants it first.
	return append([]place{ps[len(ps)-1]}, ps[:len(ps)-1]...)
}

// tokenNote is the comment closing the missing-token issue.
const tokenNote = "A packages token is configured now: pkgwarden manages these packages.\n"

// TokenConfigured closes the missing-token issue of owner, if open,
// wherever MissingToken put it. When the owner's .github takes issues the
// issue can only be there: one listing. When it does not, the issue went
// to the repository of some package, so the installation's repositories of
// owner with open issues are searched (once per process and owner, by the
// prune job).
func (r *Reporter) TokenConfigured(ctx context.Context, installation int64, owner string) (Result, error) {
	title := TokenTitle(owner)
	res, err := r.settleIn(ctx, r.ownerPlace(installation, owner), title, tokenNote)
	if !errors.Is(err, errNoIssues) {
		if err != nil {
			return res, fmt.Errorf("close missing packages token issue of %s: %w", owner, err)
		}
		return res, nil
	}
	places, err := r.installationPlaces(ctx, installation, owner)
	if err != nil {
		return Result{}, fmt.Errorf("close missing packages token issue of %s: %w", owner, err)
	}
	res, err = r.settle(ctx, places, func(place) string { return title }, tokenNote)
	if err != nil {
		return res, fmt.Errorf("close missing packages token issue of %s: %w", owner, err)
	}
	return res, nil
}

// installationPlaces lists the repositories of owner the installation can
// use that take issues and have open ones (open_issues_count counts pull
// requests too, so it only rules repositories out).
func (r *Reporter) installationPlaces(ctx context.Context, installation int64, owner string) ([]place, error) {
	gh := r.clients.InstallationClient(installation)
	opt := &github.ListOptions{PerPage: 100}
	var out []place
	for {
		list, resp, err := gh.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("list repositories of installation %d page %d: %w", installation, max(opt.Page, 1), err)
		}
		for _, rp := range list.Repositories {
			if !strings.EqualFold(rp.GetOwner().GetLogin(), owner) || !rp.GetHasIssues() || rp.GetOpenIssuesCount() == 0 {
				continue
			}
			out = append(out, place{gh: gh, owner: rp.GetOwner().GetLogin(), repo: rp.GetName()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
