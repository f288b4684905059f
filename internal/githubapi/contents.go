package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// ContentsSource reads configuration files through the repository contents
// API at each repository's default branch. It is the rules.Source of
// pkgwarden: give it an installation client (App.InstallationClient) in
// serve, or a client with a classic token (NewGitHubClient +
// WithAuthToken) in `plan`.
//
// A classic token without the repo scope, like an installation that does
// not cover the repository, sees a private repository as 404: its file then
// reads as absent, as GitHub gives no way to tell the two apart.
type ContentsSource struct {
	gh  *github.Client
	now func() time.Time
	ref string // empty: the default branch
}

// NewContentsSource returns a source reading through gh. now is the clock
// used to classify rate limits; nil means time.Now.
func NewContentsSource(gh *github.Client, now func() time.Time) *ContentsSource {
	if now == nil {
		now = time.Now
	}
	return &ContentsSource{gh: gh, now: now}
}

var _ rules.Source = (*ContentsSource)(nil)

// At is s reading at ref (a commit sha, "refs/pull/N/head") instead of
// the default branch: the pull request check reads the proposed file so,
// through the base repository, forks included. Files count only on the
// default branch: never give such a source to a loader that decides.
func (s *ContentsSource) At(ref string) *ContentsSource {
	c := *s
	c.ref = ref
	return &c
}

// File returns the content of path in owner/repo at its default branch. A
// missing repository or file (404) is an error matching both
// rules.ErrNotFound and ErrNotFound. A path GitHub will never give as a
// file's content is an error matching rules.ErrUnreadable, which says
// why: a directory, a symlink or submodule, a file over
// rules.MaxFileSize or one GitHub leaves out as too large. Any other
// error (5xx, rate limits, the network) is transient.
//
// GET /repos/{owner}/{repo}/contents/{path}
func (s *ContentsSource) File(ctx context.Context, owner, repo, path string) ([]byte, error) {
	// No ref: GitHub answers from the default branch, which is where
	// pkgwarden's files count.
	var opts *github.RepositoryContentGetOptions
	if s.ref != "" {
		opts = &github.RepositoryContentGetOptions{Ref: s.ref}
	}
	fc, _, resp, err := s.gh.Repositories.GetContents(ctx, url.PathEscape(owner), url.PathEscape(repo), path, opts)
	unreadable := func(uerr error) error {
		return fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, uerr)
	}
	if err != nil {
		cerr := classify(s.now(), resp, err)
		if errors.Is(cerr, ErrNotFound) {
			return nil, fmt.Errorf("%s/%s:%s: %w (%w)", owner, repo, path, rules.ErrNotFound, cerr)
		}
		if blobTooLarge(err, cerr) {
			return nil, fmt.Errorf("read %s/%s:%s: %w (%w)", owner, repo, path,
				rules.Unreadable(fmt.Sprintf("is over the %d MiB limit (GitHub's contents API will not serve it)", rules.MaxFileSize>>20)), cerr)
		}
		return nil, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, cerr)
	}
	if fc == nil {
		return nil, unreadable(rules.Unreadable("is a directory, not a file"))
	}
	if fc.GetType() != "" && fc.GetType() != "file" {
		return nil, unreadable(rules.Unreadable(fmt.Sprintf("is a %s, not a file", fc.GetType())))
	}
	if size := fc.GetSize(); size > rules.MaxFileSize {
		return nil, unreadable(rules.TooLarge(size))
	}
	if fc.GetEncoding() == "none" {
		// GitHub leaves out the content of a file over 1 MB (which may
		// be a little under rules.MaxFileSize).
		return nil, unreadable(rules.Unreadable(fmt.Sprintf("is %d bytes, too large for GitHub's contents API to serve", fc.GetSize())))
	}
	content, err := fc.GetContent()
	if err != nil {
		// A malformed answer: transient, as any other.
		return nil, fmt.Errorf("read %s/%s:%s (%d bytes): %w", owner, repo, path, fc.GetSize(), err)
	}
	return []byte(content), nil
}

// blobTooLarge reports whether GitHub refused to serve the file as too
// large (403 with the error code too_large, not a rate limit).
func blobTooLarge(err, classified error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || !errors.Is(classified, ErrRefused) {
		return false
	}
	for _, e := range er.Errors {
		if e.Code == "too_large" {
			return true
		}
	}
	return false
}
