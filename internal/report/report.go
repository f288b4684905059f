package report

import (
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

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// DefaultLabels label pkgwarden's issues when the config names none (and
// the issues of an invalid config, whose labels cannot be read).
var DefaultLabels = []string{"pkgwarden"}

// ErrNowhere says an issue could not be written anywhere: the repository
// has issues disabled (or is gone) and so has the owner's ".github"
// repository. Retrying will not help until the owner changes that.
var ErrNowhere = errors.New("no repository accepts pkgwarden's issues")

// Clients gives the go-github client of an App installation.
// *githubapi.App satisfies it.
type Clients interface {
	InstallationClient(installationID int64) *github.Client
}

// ClientsFunc adapts a function to Clients.
type ClientsFunc func(installationID int64) *github.Client

// InstallationClient calls f.
func (f ClientsFunc) InstallationClient(id int64) *github.Client { return f(id) }

// Reporter writes issues and comments. It keeps no state between calls and
// is safe for concurrent use, but two calls about the same issue must not
// run at once (the per-package lease gives that for package reports).
type Reporter struct {
	clients Clients
	now     func() time.Time
	log     *slog.Logger
	// bot is pkgwarden's own bot login: only its issues are found again.
	bot string
	// seal signs the restore boxes the Reporter writes.
	seal Seal
	// web is GitHub's web URL for links, "" to derive it (webURL).
	web string
	// cache, when set, remembers each report's issue number and the
	// issue as last read (WithCache).
	cache githubapi.ETagStore
}

// Option configures a Reporter.
type Option func(*Reporter)

// WithBot names pkgwarden's own bot account ("<slug>[bot]"). The Reporter
// finds again, and so adopts, only issues that account wrote: without it
// it finds none and opens a new issue every time.
func WithBot(login string) Option { return func(r *Reporter) { r.bot = login } }

// WithSeal gives the seal of the restore boxes the Reporter writes; without
// it the boxes carry none, and no ticked box is ever acted upon.
func WithSeal(s Seal) Option { return func(r *Reporter) { r.seal = s } }

// WithCache remembers in store the number of each issue the Reporter
// finds or opens, and reads that issue again conditionally (If-None-Match:
// a 304 does not count against GitHub's primary rate limit) instead of
// listing the repository's issues: a sweep's run without news costs no
// request of the limit for its report. An issue read so is taken only
// when it is still open, pkgwarden's, the report's title and labelled as
// the listing would ask; anything else lists, as without a store.
func WithCache(store githubapi.ETagStore) Option { return func(r *Reporter) { r.cache = store } }

// New returns a Reporter. now is the clock (nil: time.Now); log may be nil.
func New(clients Clients, now func() time.Time, log *slog.Logger, opts ...Option) *Reporter {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reporter{clients: clients, now: now, log: log}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Bot is pkgwarden's own bot login, "" when unknown.
func (r *Reporter) Bot() string { return r.bot }

// Seal is the seal of the boxes the Reporter writes.
func (r *Reporter) Seal() Seal { return r.seal }

// Issue identifies an issue written by the Reporter, in the shape of
// `pkgwarden demo --json`'s "issues".
type Issue struct {
	Repository string `json:"repository"` // owner/repo
	Number     int    `json:"number"`
	Title      string `json:"title"`
	URL        string `json:"url"`
}

// Result says what a call did. Issue is zero when no issue exists and none
// was needed.
type Result struct {
	Issue     Issue
	Created   bool // the issue was opened by this call
	Reopened  bool // a closed issue was reopened
	Updated   bool // the body (or labels/assignees) was rewritten
	Commented bool // a comment was added
	Closed    bool // the issue was closed
	// Restorable counts the restore boxes a package report lists now.
	Restorable int
}

// Title is the report issue's title for a package; with DryRunTitle it is
// how the issue is found again (an issue under either title is the
// package's), so it must never change for a package.
func Title(pkg rules.Package) string {
	return fmt.Sprintf("pkgwarden: %s %s/%s", pkg.Type, pkg.Owner, pkg.Name)
}

// dryRunSuffix ends the title of a package whose rules run as a dry run.
const dryRunSuffix = " (dry run)"

// DryRunTitle is the report issue's title while the package's rules run as
// a dry run: Title and "(dry run)". The issue is the same one: a package
// whose file turns dry_run off is reported in it, retitled.
func DryRunTitle(pkg rules.Package) string { return Title(pkg) + dryRunSuffix }

// sameReport reports whether an issue titled got is the report titled
// want: the same title, or either with the dry run's mark.
func sameReport(got, want string) bool {
	base := strings.TrimSuffix(want, dryRunSuffix)
	return got == base || got == base+dryRunSuffix
}

// WithWebURL gives GitHub's web URL ("https://github.com", a GitHub
// Enterprise host) the report links files to; without it the URL is
// derived from each installation client's API URL.
func WithWebURL(u string) Option { return func(r *Reporter) { r.web = u } }

// webURL is GitHub's web URL for links in p's issues: api.github.com is
// github.com, a GitHub Enterprise API under /api/v3 is its host, anything
// else (the simulator) its own root.
func (r *Reporter) webURL(p place) string {
	if r.web != "" {
		return strings.TrimSuffix(r.web, "/")
	}
	if p.gh == nil || p.gh.BaseURL == nil {
		return ""
	}
	u := *p.gh.BaseURL
	if strings.EqualFold(u.Host, "api.github.com") {
		return "https://github.com"
	}
	return u.Scheme + "://" + u.Host
}

// place is a repository issues are written to.
type place struct {
	gh          *github.Client
	owner, repo string
}

func (p place) String() string { return p.owner + "/" + p.repo }

// found is an existing issue.
type found struct {
	number    int
	title     string
	body      string
	state     string
	url       string
	labels    []string
	assignees []string
}

func (f *found) issue(p place) Issue {
	return Issue{Repository: p.String(), Number: f.number, Title: f.title, URL: f.url}
}

// isGone reports whether err is GitHub's 410 for a repository with issues
// disabled.
func isGone(err error) bool { return githubapi.StatusOf(err) == http.StatusGone }

// errNoIssues is returned by find when the repository does not take issues.
var errNoIssues = errors.New("issues disabled")

// find returns the issue titled title (or title with or without the dry
// run's mark, see sameReport) carrying label (if any), preferring
// an open one, then the most recently updated closed one. It pages through
// every match, because an issue list is sorted by recency, not by title.
func (r *Reporter) find(ctx context.Context, p place, title, label string) (*found, error) {
	if f := r.remembered(ctx, p, title, label); f != nil {
		return f, nil
	}
	f, err := r.list(ctx, p, title, label)
	if err == nil && f != nil {
		r.remember(ctx, p, title, label, f.number)
	}
	return f, err
}

// memoKey names the issue number of the report titled title (either way
// of sameReport) carrying label in p, in the cache.
func memoKey(p place, title, label string) string {
	base := ""
	if p.gh != nil && p.gh.BaseURL != nil {
		base = p.gh.BaseURL.String()
	}
	return "report issue " + base + p.String() + " " + strings.TrimSuffix(title, dryRunSuffix) + " label " + label
}

// remember keeps the number of the issue found or opened for title.
func (r *Reporter) remember(ctx context.Context, p place, title, label string, number int) {
	if r.cache == nil {
		return
	}
	if err := r.cache.Put(ctx, memoKey(p, title, label), githubapi.CachedPage{Body: []byte(strconv.Itoa(number))}); err != nil {
		r.log.WarnContext(ctx, "report issue number not remembered", "repository", p.String(), "issue", number, "err", err)
	}
}

// remembered reads the issue remembered for title again, conditionally,
// and returns it when the listing would have found it (open, written by
// pkgwarden's bot, the report's title, carrying label); nil sends find to
// the listing. A failure to read it is no error: the listing decides.
func (r *Reporter) remembered(ctx context.Context, p place, title, label string) *found {
	if r.cache == nil || p.gh == nil {
		return nil
	}
	memo, ok, err := r.cache.Get(ctx, memoKey(p, title, label))
	if err != nil || !ok {
		return nil
	}
	number, err := strconv.Atoi(string(memo.Body))
	if err != nil || number <= 0 {
		return nil
	}
	u := fmt.Sprintf("repos/%s/%s/issues/%d", url.PathEscape(p.owner), url.PathEscape(p.repo), number)
	body, _, err := githubapi.ConditionalGet(ctx, p.gh, r.cache, r.log, "GET "+p.gh.BaseURL.String()+u, u)
	if err != nil {
		r.log.DebugContext(ctx, "remembered report issue not read, listing", "repository", p.String(), "issue", number, "err", err)
		return nil
	}
	var is github.Issue
	if err := json.Unmarshal(body, &is); err != nil {
		return nil
	}
	if is.IsPullRequest() || !sameReport(is.GetTitle(), title) || !r.ours(&is) || is.GetState() != "open" || !hasLabel(&is, label) {
		return nil
	}
	return toFound(&is)
}

// prime reads issue number once after this Reporter wrote to it, so that
// the cache holds its ETag as written: the package's next run without
// news then reads it with a 304, free against the primary limit, rather
// than paying that read itself. A failure costs only that.
func (r *Reporter) prime(ctx context.Context, p place, number int) {
	if r.cache == nil || p.gh == nil {
		return
	}
	u := fmt.Sprintf("repos/%s/%s/issues/%d", url.PathEscape(p.owner), url.PathEscape(p.repo), number)
	if _, _, err := githubapi.ConditionalGet(ctx, p.gh, r.cache, r.log, "GET "+p.gh.BaseURL.String()+u, u); err != nil {
		r.log.DebugContext(ctx, "report issue not read after writing", "repository", p.String(), "issue", number, "err", err)
	}
}

// hasLabel says whether is carries label ("" is carried by any).
func hasLabel(is *github.Issue, label string) bool {
	if label == "" {
		return true
	}
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), label) {
			return true
		}
	}
	return false
}

// list finds the issue as find says by listing the repository's issues.
func (r *Reporter) list(ctx context.Context, p place, title, label string) (*found, error) {
	opt := &github.IssueListByRepoOptions{
		State: "all", Sort: "updated", Direction: "desc",
		ListOptions: github.ListOptions{PerPage: 100},
	}
	if label != "" {
		opt.Labels = []string{label}
	}
	var closed *found
	for {
		list, resp, err := p.gh.Issues.ListByRepo(ctx, p.owner, p.repo, opt)
		if err != nil {
			if isGone(err) || githubapi.StatusOf(err) == http.StatusNotFound {
				return nil, fmt.Errorf("list issues of %s: %w: %w", p, errNoIssues, err)
			}
			return nil, fmt.Errorf("list issues of %s page %d: %w", p, max(opt.Page, 1), err)
		}
		for _, is := range list {
			if is.IsPullRequest() || !sameReport(is.GetTitle(), title) {
				continue
			}
			if !r.ours(is) {
				// A look-alike someone opened: never adopted, whatever
				// its title, labels and body say.
				r.log.DebugContext(ctx, "issue with a report's title not written by pkgwarden, ignored", "repository", p.String(), "issue", is.GetNumber(), "author", is.GetUser().GetLogin())
				continue
			}
			f := toFound(is)
			if f.state == "open" {
				return f, nil
			}
			if closed == nil {
				closed = f
			}
		}
		if resp.NextPage == 0 {
			return closed, nil
		}
		opt.Page = resp.NextPage
	}
}

// ours reports whether pkgwarden's bot wrote is.
func (r *Reporter) ours(is *github.Issue) bool {
	return r.bot != "" && strings.EqualFold(is.GetUser().GetLogin(), r.bot)
}

func toFound(is *github.Issue) *found {
	f := &found{number: is.GetNumber(), title: is.GetTitle(), body: lf(is.GetBody()), state: is.GetState(), url: is.GetHTMLURL()}
	for _, l := range is.Labels {
		f.labels = append(f.labels, l.GetName())
	}
	for _, a := range is.Assignees {
		f.assignees = append(f.assignees, a.GetLogin())
	}
	return f
}

// write is what an issue should look like.
type write struct {
	title     string
	body      string
	labels    []string
	assignees []string
}

// create opens an issue.
func (r *Reporter) create(ctx context.Context, p place, w write) (*found, error) {
	req := &github.IssueRequest{Title: github.String(w.title), Body: github.String(w.body)}
	labels, assignees := nonNil(w.labels), nonNil(w.assignees)
	req.Labels, req.Assignees = &labels, &assignees
	is, _, err := p.gh.Issues.Create(ctx, p.owner, p.repo, req)
	if githubapi.StatusOf(err) == http.StatusUnprocessableEntity && len(assignees) > 0 {
		// An assignee GitHub will not take (not a collaborator, a typo)
		// must not keep the report from being written.
		r.log.WarnContext(ctx, "assignees refused, opening the issue without them", "repository", p.String(), "assignees", assignees, "err", err)
		none := []string{}
		req.Assignees = &none
		is, _, err = p.gh.Issues.Create(ctx, p.owner, p.repo, req)
	}
	if err != nil {
		if isGone(err) {
			return nil, fmt.Errorf("open issue %q in %s: %w: %w", w.title, p, errNoIssues, err)
		}
		return nil, fmt.Errorf("open issue %q in %s: %w", w.title, p, err)
	}
	r.log.InfoContext(ctx, "report issue opened", "repository", p.String(), "issue", is.GetNumber(), "title", w.title)
	if len(w.labels) > 0 {
		r.remember(ctx, p, w.title, w.labels[0], is.GetNumber())
	}
	return toFound(is), nil
}

// update rewrites what differs of f (body, labels, assignees, state) and
// reports whether anything was sent.
func (r *Reporter) update(ctx context.Context, p place, f *found, w write, state string) (bool, error) {
	req := &github.IssueRequest{}
	changed := false
	if w.title != "" && w.title != f.title {
		// A dry run's title on, or off when dry_run is turned off.
		req.Title, changed = github.String(w.title), true
	}
	if w.body != f.body {
		req.Body, changed = github.String(w.body), true
	}
	if !sameSet(w.labels, f.labels) {
		// Keep labels people added by hand; add the configured ones.
		labels := union(f.labels, w.labels)
		if !sameSet(labels, f.labels) {
			req.Labels, changed = &labels, true
		}
	}
	// Assignees too are only added: someone reassigning the issue by hand
	// is not undone on every run.
	if a := union(f.assignees, w.assignees); !sameSet(a, f.assignees) {
		req.Assignees, changed = &a, true
	}
	if state != "" && state != f.state {
		req.State, changed = github.String(state), true
	}
	if !changed {
		return false, nil
	}
	is, _, err := p.gh.Issues.Edit(ctx, p.owner, p.repo, f.number, req)
	if githubapi.StatusOf(err) == http.StatusUnprocessableEntity && req.Assignees != nil {
		r.log.WarnContext(ctx, "assignees refused, updating the issue without them", "repository", p.String(), "issue", f.number, "assignees", *req.Assignees, "err", err)
		req.Assignees = nil
		if req.Body == nil && req.Labels == nil && req.State == nil {
			return false, nil
		}
		is, _, err = p.gh.Issues.Edit(ctx, p.owner, p.repo, f.number, req)
	}
	if err != nil {
		return false, fmt.Errorf("update issue %s#%d: %w", p, f.number, err)
	}
	*f = *toFound(is)
	return true, nil
}

func (r *Reporter) comment(ctx context.Context, p place, number int, body string) error {
	if _, _, err := p.gh.Issues.CreateComment(ctx, p.owner, p.repo, number, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("comment on %s#%d: %w", p, number, err)
	}
	return nil
}

// hasComment reports whether one of the last comments of the issue
// contains marker. It reads the last two pages of 100: a redelivered job
// comes back within a few runs, never hundreds.
func (r *Reporter) hasComment(ctx context.Context, p place, number int, marker string) (bool, error) {
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	list, resp, err := p.gh.Issues.ListComments(ctx, p.owner, p.repo, number, opt)
	if err != nil {
		return false, fmt.Errorf("list comments of %s#%d: %w", p, number, err)
	}
	if containsMarker(list, marker) {
		return true, nil
	}
	if resp.LastPage > 1 {
		pages := []int{resp.LastPage}
		if resp.LastPage-1 > 1 {
			pages = append(pages, resp.LastPage-1)
		}
		for _, pg := range pages {
			opt.Page = pg
			list, _, err := p.gh.Issues.ListComments(ctx, p.owner, p.repo, number, opt)
			if err != nil {
				return false, fmt.Errorf("list comments of %s#%d page %d: %w", p, number, pg, err)
			}
			if containsMarker(list, marker) {
				return true, nil
			}
		}
	}
	return false, nil
}

func containsMarker(list []*github.IssueComment, marker string) bool {
	for _, c := range list {
		if strings.Contains(c.GetBody(), marker) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsFold(b, x) {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, x := range b {
		if !containsFold(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ownerRepo is where reports go that have no repository of their own.
func (r *Reporter) ownerPlace(installation int64, owner string) place {
	return place{gh: r.clients.InstallationClient(installation), owner: owner, repo: rules.OwnerRepo}
}
