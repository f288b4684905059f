package ghsim

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// pullsAPI is the part that serves pull requests over the shared world:
// GET /repos/{owner}/{repo}/pulls/{pull_number} and its /files. Pull
// requests are opened, pushed to and closed through the Go API (and
// /_admin/), which send the pull_request webhooks.
type pullsAPI struct{ *world }

func (s *pullsAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.handleGetPull)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/files", s.handleListPullFiles)
}

// maxPullFiles is the most files GitHub lists for a pull request.
const maxPullFiles = 3000

type pullRequest struct {
	ID     int64
	Number int
	Title  string
	Body   string
	User   string // login of the author
	State  string // open, closed
	// Head is the repository (lower("owner/name")) and branch the changes
	// come from: the base repository itself or a fork of it.
	HeadRepo  string
	HeadRef   string
	HeadSHA   string
	BaseRef   string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
}

// nextNumber is the number of rp's next issue or pull request: GitHub
// numbers both in one sequence.
func nextNumber(rp *repo) int { return len(rp.Issues) + len(rp.Pulls) + 1 }

// PullRequestOptions describe a pull request to open.
type PullRequestOptions struct {
	// Head is the branch with the changes: "branch" in the base
	// repository, or "owner:branch" in owner's fork of it (GitHub's
	// syntax).
	Head string
	// Base is the branch to merge into; "" is the default branch.
	Base  string
	Title string
	Body  string
	// User opens it (a user); the head's owner when "" and that is a
	// user.
	User string
}

// OpenPullRequest opens a pull request on owner/name and sends a signed
// pull_request webhook ("opened") to the installation covering owner/name
// when it holds pull_requests: read. It returns the number.
func (s *world) OpenPullRequest(owner, name string, o PullRequestOptions) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return 0, fmt.Errorf("ghsim: pull request on %s/%s: no such repository", owner, name)
	}
	head := base
	headRef := o.Head
	if fo, br, isFork := strings.Cut(o.Head, ":"); isFork {
		head, ok = s.st.repos[lower(fo+"/"+base.Name)]
		if !ok || (head != base && head.ForkOf != lower(base.fullName())) {
			return 0, fmt.Errorf("ghsim: pull request on %s: %s/%s is not a fork of it", base.fullName(), fo, base.Name)
		}
		headRef = br
	}
	if o.Base == "" {
		o.Base = base.DefaultBranch
	}
	headSHA := head.Heads[headRef]
	if _, ok := head.Files[headRef]; !ok || headSHA == "" {
		return 0, fmt.Errorf("ghsim: pull request on %s: no branch %q with commits in %s", base.fullName(), headRef, head.fullName())
	}
	if _, ok := base.Files[o.Base]; !ok {
		return 0, fmt.Errorf("ghsim: pull request on %s: no base branch %q", base.fullName(), o.Base)
	}
	if head == base && headRef == o.Base {
		return 0, fmt.Errorf("ghsim: pull request on %s: head and base are both %q", base.fullName(), o.Base)
	}
	s.shareCommits(head, base, headSHA)
	if mergeBase(base.Commits, base.Heads[o.Base], headSHA) == headSHA {
		return 0, fmt.Errorf("ghsim: pull request on %s: no commits between %s and %s", base.fullName(), o.Base, o.Head)
	}
	user := o.User
	if user == "" {
		user = head.Owner
	}
	if u, ok := s.st.accounts[lower(user)]; !ok || u.Type != "User" {
		return 0, fmt.Errorf("ghsim: pull request on %s: %q is not a user", base.fullName(), user)
	}
	now := s.clock.now()
	pr := &pullRequest{
		ID: s.st.id(), Number: nextNumber(base), Title: o.Title, Body: o.Body, User: s.st.accounts[lower(user)].Login,
		State: "open", HeadRepo: lower(head.fullName()), HeadRef: headRef, HeadSHA: headSHA, BaseRef: o.Base,
		CreatedAt: now, UpdatedAt: now,
	}
	base.Pulls = append(base.Pulls, pr)
	s.pullWebhook(base, pr, "opened", pr.User, nil)
	return pr.Number, nil
}

// SetPullRequestState closes ("closed") or reopens ("open") a pull
// request as user, sending the pull_request webhook ("closed" or
// "reopened"). Setting the state it has changes nothing.
func (s *world) SetPullRequestState(owner, name string, number int, state, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return fmt.Errorf("ghsim: pull request %s/%s#%d: no such repository", owner, name, number)
	}
	pr := findPull(rp, number)
	if pr == nil {
		return fmt.Errorf("ghsim: no pull request %s#%d", rp.fullName(), number)
	}
	if state != "open" && state != "closed" {
		return fmt.Errorf("ghsim: pull request state %q: want open or closed", state)
	}
	if pr.State == state {
		return nil
	}
	if user == "" {
		user = pr.User
	}
	pr.State, pr.UpdatedAt = state, s.clock.now()
	action := "reopened"
	if state == "closed" {
		action, pr.ClosedAt = "closed", pr.UpdatedAt
	} else {
		pr.ClosedAt = time.Time{}
		if hr := s.st.repos[pr.HeadRepo]; hr != nil && hr.Heads[pr.HeadRef] != "" {
			pr.HeadSHA = hr.Heads[pr.HeadRef]
			s.shareCommits(hr, rp, pr.HeadSHA)
		}
	}
	s.pullWebhook(rp, pr, action, user, nil)
	return nil
}

func findPull(rp *repo, number int) *pullRequest {
	for _, pr := range rp.Pulls {
		if pr.Number == number {
			return pr
		}
	}
	return nil
}

// shareCommits copies the commits of sha's history from head into base,
// as GitHub keeps a pull request's commits in the base repository
// (refs/pull/{number}/head). Called with s.mu held.
func (s *world) shareCommits(head, base *repo, sha string) {
	if head == base {
		return
	}
	if base.Commits == nil {
		base.Commits = map[string]*commit{}
	}
	for c := sha; c != ""; {
		cm := head.Commits[c]
		if cm == nil {
			return
		}
		if _, have := base.Commits[c]; have {
			return
		}
		base.Commits[c] = cm
		c = cm.Parent
	}
}

// headMoved is called when a push moves branch of rp from before to
// after: the open pull requests with that head get the new sha and a
// "synchronize" webhook, as on GitHub. Called with s.mu held.
func (s *world) headMoved(rp *repo, branch, before, after, pusher string) {
	key := lower(rp.fullName())
	type hit struct {
		base *repo
		pr   *pullRequest
	}
	var hits []hit
	for _, base := range s.st.repos {
		for _, pr := range base.Pulls {
			if pr.State == "open" && pr.HeadRepo == key && pr.HeadRef == branch {
				hits = append(hits, hit{base, pr})
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].pr.ID < hits[j].pr.ID })
	for _, h := range hits {
		s.shareCommits(rp, h.base, after)
		h.pr.HeadSHA, h.pr.UpdatedAt = after, s.clock.now()
		s.pullWebhook(h.base, h.pr, "synchronize", pusher, map[string]any{"before": before, "after": after})
	}
}

// pullWebhook sends a pull_request event about pr of base. GitHub
// delivers it to apps with the pull_requests permission.
func (s *world) pullWebhook(base *repo, pr *pullRequest, action, sender string, extra map[string]any) {
	payload := map[string]any{
		"action":       action,
		"number":       pr.Number,
		"pull_request": s.pullView(base, pr),
	}
	for k, v := range extra {
		payload[k] = v
	}
	s.repoWebhook("pull_request", action, "pull_requests", base, sender, payload)
}

// pullView is the pull request object of GitHub's REST API (and of the
// pull_request webhook). Called with s.mu held.
func (s *world) pullView(base *repo, pr *pullRequest) map[string]any {
	api := s.opts.APIURL + "repos/" + base.fullName()
	num := strconv.Itoa(pr.Number)
	html := s.appHTMLURL(base.fullName() + "/pull/" + num)
	files := s.pullFiles(base, pr)
	adds, dels := 0, 0
	for _, f := range files {
		adds += f.additions
		dels += f.deletions
	}
	head := s.st.repos[pr.HeadRepo]
	headRepo := any(nil)
	headSide := map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "label": pr.HeadRef, "user": nil, "repo": nil}
	if head != nil {
		headRepo = s.fullRepository(head, nil)
		headSide["label"] = head.Owner + ":" + pr.HeadRef
		headSide["user"] = s.simpleUser(head.Owner)
		headSide["repo"] = headRepo
	}
	var closed any
	if !pr.ClosedAt.IsZero() {
		closed = pr.ClosedAt
	}
	return map[string]any{
		"url":                 api + "/pulls/" + num,
		"id":                  pr.ID,
		"node_id":             appNodeID("PR_", pr.ID),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           api + "/issues/" + num,
		"commits_url":         api + "/pulls/" + num + "/commits",
		"review_comments_url": api + "/pulls/" + num + "/comments",
		"review_comment_url":  api + "/pulls/comments{/number}",
		"comments_url":        api + "/issues/" + num + "/comments",
		"statuses_url":        api + "/statuses/" + pr.HeadSHA,
		"number":              pr.Number,
		"state":               pr.State,
		"locked":              false,
		"title":               pr.Title,
		"user":                s.simpleUser(pr.User),
		"body":                pr.Body,
		"labels":              []any{},
		"milestone":           nil,
		"active_lock_reason":  nil,
		"created_at":          pr.CreatedAt,
		"updated_at":          pr.UpdatedAt,
		"closed_at":           closed,
		"merged_at":           nil,
		"merge_commit_sha":    nil,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"head":                headSide,
		"base": map[string]any{
			"label": base.Owner + ":" + pr.BaseRef,
			"ref":   pr.BaseRef,
			"sha":   base.Heads[pr.BaseRef],
			"user":  s.simpleUser(base.Owner),
			"repo":  s.fullRepository(base, nil),
		},
		"_links": map[string]any{
			"self":     map[string]string{"href": api + "/pulls/" + num},
			"html":     map[string]string{"href": html},
			"issue":    map[string]string{"href": api + "/issues/" + num},
			"comments": map[string]string{"href": api + "/issues/" + num + "/comments"},
			"statuses": map[string]string{"href": api + "/statuses/" + pr.HeadSHA},
			"commits":  map[string]string{"href": api + "/pulls/" + num + "/commits"},
			// GitHub's URL templates, as in its answers.
			"review_comments": map[string]string{"href": api + "/pulls/" + num + "/comments"},
			"review_comment":  map[string]string{"href": api + "/pulls/comments{/number}"},
		},
		"author_association":    s.authorAssociation(pr.User, base),
		"auto_merge":            nil,
		"draft":                 false,
		"merged":                false,
		"mergeable":             true,
		"rebaseable":            true,
		"mergeable_state":       "clean",
		"merged_by":             nil,
		"comments":              0,
		"review_comments":       0,
		"maintainer_can_modify": false,
		"commits":               s.pullCommitCount(base, pr),
		"additions":             adds,
		"deletions":             dels,
		"changed_files":         len(files),
	}
}

func (s *world) pullCommitCount(base *repo, pr *pullRequest) int {
	mb := mergeBase(base.Commits, base.Heads[pr.BaseRef], pr.HeadSHA)
	n := 0
	for c := pr.HeadSHA; c != "" && c != mb; n++ {
		cm := base.Commits[c]
		if cm == nil {
			break
		}
		c = cm.Parent
	}
	return n
}

// pullFile is one entry of a pull request's files.
type pullFile struct {
	name, status         string
	old, new             []byte
	additions, deletions int
}

// pullFiles are the files the pull request changes: the head commit
// against the merge base of head and base (GitHub's three-dot diff),
// sorted by name. Renames are listed as a removal and an addition.
func (s *world) pullFiles(base *repo, pr *pullRequest) []pullFile {
	var before map[string][]byte
	if mb := mergeBase(base.Commits, base.Heads[pr.BaseRef], pr.HeadSHA); mb != "" {
		before = base.Commits[mb].Files
	} else if root := rootOf(base.Commits, pr.HeadSHA); root != nil {
		// No shared commit: the head branch started from files seeded
		// without a commit (SeedFile); they are the base.
		before = root.Seeded
	}
	var after map[string][]byte
	if c := base.Commits[pr.HeadSHA]; c != nil {
		after = c.Files
	}
	var out []pullFile
	for p, nb := range after {
		ob, had := before[p]
		switch {
		case !had:
			out = append(out, pullFile{name: p, status: "added", new: nb})
		case !bytes.Equal(ob, nb):
			out = append(out, pullFile{name: p, status: "modified", old: ob, new: nb})
		}
	}
	for p, ob := range before {
		if _, ok := after[p]; !ok {
			out = append(out, pullFile{name: p, status: "removed", old: ob})
		}
	}
	for i := range out {
		out[i].additions, out[i].deletions = lineChanges(out[i].old, out[i].new)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) > maxPullFiles {
		out = out[:maxPullFiles]
	}
	return out
}

// lineChanges counts the lines of b not in a (additions) and of a not in
// b (deletions), as multisets: close to git's counts, not a real diff.
func lineChanges(a, b []byte) (adds, dels int) {
	count := map[string]int{}
	for _, l := range splitLines(a) {
		count[l]++
	}
	for _, l := range splitLines(b) {
		if count[l] > 0 {
			count[l]--
		} else {
			adds++
		}
	}
	for _, n := range count {
		dels += n
	}
	return adds, dels
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// pullRepo resolves the repository and pull request of a pulls endpoint,
// answering 401, 403 or 404 itself. Called with s.mu held.
func (s *pullsAPI) pullRepo(w http.ResponseWriter, r *http.Request) (*repo, *pullRequest, bool) {
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canRead(w, c, "pull_requests") {
		return nil, nil, false
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	pr := findPull(c.rp, n)
	if err != nil || pr == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return nil, nil, false
	}
	return c.rp, pr, true
}

func (s *pullsAPI) handleGetPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr, ok := s.pullRepo(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.pullView(rp, pr))
}

func (s *pullsAPI) handleListPullFiles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr, ok := s.pullRepo(w, r)
	if !ok {
		return
	}
	api := s.opts.APIURL + "repos/" + rp.fullName()
	page := appPage(s.world, w, r, s.pullFiles(rp, pr), func(f pullFile) map[string]any {
		body, ref := f.new, pr.HeadSHA
		if f.status == "removed" {
			body = f.old
		}
		return map[string]any{
			"sha":          blobSHA(body),
			"filename":     f.name,
			"status":       f.status,
			"additions":    f.additions,
			"deletions":    f.deletions,
			"changes":      f.additions + f.deletions,
			"blob_url":     s.appHTMLURL(rp.fullName() + "/blob/" + ref + "/" + f.name),
			"raw_url":      s.appHTMLURL(rp.fullName() + "/raw/" + ref + "/" + f.name),
			"contents_url": api + "/contents/" + f.name + "?ref=" + ref,
		}
	})
	writeJSON(w, http.StatusOK, page)
}
