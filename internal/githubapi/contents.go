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

// File returns the content of path in owner/repo at its default branch. A
// missing repository or file (404) is an error matching both
// rules.ErrNotFound and ErrNotFound; a path naming a directory is an error.
//
// GET /repos/{owner}/{repo}/contents/{path}
func (s *ContentsSource) File(ctx context.Context, owner, repo, path string) ([]byte, error) {
	// No ref: GitHub answers from the default branch, which is where
	// pkgwarden's files count.
	fc, dir, resp, err := s.gh.Repositories.GetContents(ctx, url.PathEscape(owner), url.PathEscape(repo), path, nil)
	if err != nil {
		cerr := classify(s.now(), resp, err)
		if errors.Is(cerr, ErrNotFound) {
			return nil, fmt.Errorf("%s/%s:%s: %w (%w)", owner, repo, path, rules.ErrNotFound, cerr)
		}
		return nil, fmt.Errorf("read %s/%s:%s: %w", owner, repo, path, cerr)
	}
	if fc == nil {
		return nil, fmt.Errorf("read %s/%s:%s: a directory of %d entries, not a file", owner, repo, path, len(dir))
	}
	if fc.GetType() != "" && fc.GetType() != "file" {
		return nil, fmt.Errorf("read %s/%s:%s: a %s, not a file", owner, repo, path, fc.GetType())
	}
	content, err := fc.GetContent()
	if err != nil {
		// "none" encoding: GitHub leaves out files over 1 MiB, which the
		// rules would refuse anyway.
		return nil, fmt.Errorf("read %s/%s:%s (%d bytes): %w", owner, repo, path, fc.GetSize(), err)
	}
	return []byte(content), nil
}
