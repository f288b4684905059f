package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	// Set by Cached: files are asked conditionally, under keys naming
	// the installation; a missing one is believed missing for absentFor
	// unless fresh.
	store     ETagStore
	scope     string
	absentFor time.Duration
	fresh     bool
	logger    *slog.Logger
}

// DefaultAbsentFor is how long a Cached source believes a file missing
// without asking again: the owner's .github defaults most owners never
// write are read once per owner in that time, not once per job. A push
// that adds the file is seen at once by the config job's Fresh source.
const DefaultAbsentFor = 15 * time.Minute

// Cached is s (at the default branch) remembering what it read in store:
// a file is asked with If-None-Match and a 304, which GitHub does not
// count against the primary rate limit, is answered from the store; a
// file GitHub answered 404 for is taken as missing for absentFor (0:
// DefaultAbsentFor) without asking. installation scopes the keys: what
// an installation may read is its own. A source reading at a ref (At) is
// never cached.
func (s *ContentsSource) Cached(store ETagStore, installation int64, absentFor time.Duration, logger *slog.Logger) *ContentsSource {
	c := *s
	if store == nil || s.ref != "" {
		return &c
	}
	if absentFor <= 0 {
		absentFor = DefaultAbsentFor
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c.store, c.scope, c.absentFor, c.logger = store, "installation "+strconv.FormatInt(installation, 10), absentFor, logger
	return &c
}

// Fresh is s asking GitHub about every file, those it remembers missing
// too, and remembering the answers: the config job reads so after a push
// changed a file, so that the jobs after it see the change.
func (s *ContentsSource) Fresh() *ContentsSource {
	c := *s
	c.fresh = true
	return &c
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
	c.store = nil
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
	var (
		fc   *github.RepositoryContent
		resp *github.Response
		err  error
	)
	if s.store != nil {
		fc, resp, err = s.cachedContents(ctx, owner, repo, path)
	} else {
		var opts *github.RepositoryContentGetOptions
		if s.ref != "" {
			opts = &github.RepositoryContentGetOptions{Ref: s.ref}
		}
		fc, _, resp, err = s.gh.Repositories.GetContents(ctx, url.PathEscape(owner), url.PathEscape(repo), path, opts)
	}
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

// errRememberedAbsent is the error of a file a Cached source remembers
// missing: what GitHub said then, a 404.
var errRememberedAbsent = &github.ErrorResponse{Response: &http.Response{StatusCode: http.StatusNotFound}, Message: "Not Found (remembered)"}

// cachedContents reads path conditionally through s.store, or answers
// from a 404 remembered for less than absentFor (unless fresh). A
// directory is a nil content, as go-github's GetContents gives it.
func (s *ContentsSource) cachedContents(ctx context.Context, owner, repo, path string) (*github.RepositoryContent, *github.Response, error) {
	escaped := (&url.URL{Path: strings.TrimSuffix(path, "/")}).String()
	u := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/contents/" + escaped
	key := "GET " + s.gh.BaseURL.String() + u + " " + s.scope
	absentKey := key + " absent"
	if !s.fresh {
		p, ok, err := s.store.Get(ctx, absentKey)
		if err != nil {
			s.logger.WarnContext(ctx, "etag store get failed", "key", absentKey, "err", err)
		}
		if ok && p.Absent && s.now().Sub(p.At) < s.absentFor && !p.At.After(s.now()) {
			return nil, &github.Response{Response: errRememberedAbsent.Response}, errRememberedAbsent
		}
	}
	got, err := getConditional(ctx, s.gh, s.store, s.logger, key, u)
	if err != nil {
		if got.resp != nil && got.resp.StatusCode == http.StatusNotFound {
			if perr := s.store.Put(ctx, absentKey, CachedPage{Absent: true, At: s.now()}); perr != nil {
				s.logger.WarnContext(ctx, "etag store put failed", "key", absentKey, "err", perr)
			}
		}
		return nil, got.resp, err
	}
	if s.fresh {
		// Found: whatever was remembered missing is not.
		if perr := s.store.Put(ctx, absentKey, CachedPage{}); perr != nil {
			s.logger.WarnContext(ctx, "etag store put failed", "key", absentKey, "err", perr)
		}
	}
	body := bytes.TrimSpace(got.body)
	if bytes.HasPrefix(body, []byte("[")) {
		return nil, got.resp, nil // a directory
	}
	var fc github.RepositoryContent
	if err := json.Unmarshal(body, &fc); err != nil {
		return nil, got.resp, fmt.Errorf("decode contents of %s/%s:%s: %w", owner, repo, path, err)
	}
	return &fc, got.resp, nil
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
