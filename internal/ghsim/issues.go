package ghsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// issuesAPI is the part that serves issues over the shared world: issues
// and their comments. What the Go API (Issues, CreateIssue) shares with
// it, from opening an issue to its webhooks, stays on world.
type issuesAPI struct{ *world }

// register serves issues and comments (labels come with the issues that
// name them).
func (s *issuesAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues", conditional(s.handleListIssues))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues", s.handleCreateIssue)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", conditional(s.handleGetIssue))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", s.handleUpdateIssue)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", conditional(s.handleListComments))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.handleCreateComment)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.handleUpdateComment)
}

// WebEditorHeader, set to "web" on a request that writes an issue or a
// comment body (create or edit), makes the simulator store the body as
// GitHub's web editor sends it: every line ending "\r\n". It is the
// simulator's own header, a per-request choice for tests; GitHub stores
// what an API client sends as it is.
const WebEditorHeader = "X-Ghsim-Editor"

// webEditorBody is body as GitHub's web editor sends it: a browser
// submits a textarea with its line breaks as "\r\n" (HTML's form
// submission normalises them), and GitHub keeps them.
func webEditorBody(body string) string {
	lf := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	return strings.ReplaceAll(lf, "\n", "\r\n")
}

// fromWebEditor reports whether r asks for the web editor's bodies.
func fromWebEditor(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get(WebEditorHeader), "web")
}

// GitHub's limits and messages for issues.
const (
	maxBodyChars       = 65536
	msgIssuesDisabled  = "Issues are disabled for this repo"
	msgNeedAdminRights = "Must have admin rights to Repository."
	defaultLabelColor  = "ededed"
)

// Issue is a copy of an issue of the simulated world, for tests.
type Issue struct {
	Number      int            `json:"number"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	State       string         `json:"state"` // open, closed
	StateReason string         `json:"state_reason"`
	User        string         `json:"user"` // author's login ("pkgwarden[bot]" for the app)
	Labels      []string       `json:"labels"`
	Assignees   []string       `json:"assignees"`
	Comments    []IssueComment `json:"comments"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	ClosedAt    time.Time      `json:"closed_at"`
}

// IssueComment is a copy of a comment on an issue.
type IssueComment struct {
	ID        int64     `json:"id"`
	Body      string    `json:"body"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Issues returns copies of the issues of owner/repo, by number.
func (s *world) Issues(owner, repoName string) ([]Issue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+repoName)]
	if !ok {
		return nil, fmt.Errorf("ghsim: issues of %s/%s: no such repository", owner, repoName)
	}
	out := make([]Issue, 0, len(rp.Issues))
	for _, is := range rp.Issues {
		c := Issue{
			Number: is.Number, Title: is.Title, Body: is.Body, State: is.State, StateReason: is.StateReason,
			User: is.User, Labels: slices.Clone(is.Labels), Assignees: slices.Clone(is.Assignees),
			CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt, ClosedAt: is.ClosedAt,
		}
		for _, cm := range is.Comments {
			c.Comments = append(c.Comments, IssueComment{ID: cm.ID, Body: cm.Body, User: cm.User, CreatedAt: cm.CreatedAt, UpdatedAt: cm.UpdatedAt})
		}
		out = append(out, c)
	}
	return out, nil
}

// CreateIssue opens an issue on owner/repo as author (a user), as if
// through the API, and sends the issues webhooks. It returns the number.
func (s *world) CreateIssue(owner, repoName, author, title, body string, labels ...string) (int, error) {
	return s.OpenIssue(owner, repoName, author, IssueOptions{Title: title, Body: body, Labels: labels})
}

// IssueOptions are an issue a person opens (OpenIssue) or a comment a
// person writes (Comment): its title (issues only), body and labels
// (issues only). WebEditor sends the body as GitHub's web editor does,
// every line ending "\r\n"; otherwise it is stored as given, as from an
// API client.
type IssueOptions struct {
	Title     string
	Body      string
	Labels    []string
	WebEditor bool
}

// OpenIssue opens an issue on owner/repo as author (a user), as
// CreateIssue does, with the body as o says. It returns the number.
func (s *world) OpenIssue(owner, repoName, author string, o IssueOptions) (int, error) {
	title, body, labels := o.Title, o.Body, o.Labels
	if o.WebEditor {
		body = webEditorBody(body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+repoName)]
	if !ok {
		return 0, fmt.Errorf("ghsim: create issue on %s/%s: no such repository", owner, repoName)
	}
	a, ok := s.st.accounts[lower(author)]
	if !ok || a.Type != "User" {
		return 0, fmt.Errorf("ghsim: create issue on %s: author %q is not a user", rp.fullName(), author)
	}
	if !rp.HasIssues {
		return 0, fmt.Errorf("ghsim: create issue on %s: issues are disabled", rp.fullName())
	}
	is := s.openIssue(rp, a.Login, title, body, labels, nil)
	return is.Number, nil
}

// Comment writes a comment on issue number of owner/repo as author (a
// user), as if through the API, and sends the issue_comment webhook; the
// body is o.Body (o.WebEditor as in OpenIssue; title and labels are not
// used). It returns the comment's id. Only existence is checked, not
// GitHub's permissions: the REST API is there for that.
func (s *world) Comment(owner, repoName string, number int, author string, o IssueOptions) (int64, error) {
	body := o.Body
	if o.WebEditor {
		body = webEditorBody(body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+repoName)]
	if !ok {
		return 0, fmt.Errorf("ghsim: comment on %s/%s: no such repository", owner, repoName)
	}
	a, ok := s.st.accounts[lower(author)]
	if !ok || a.Type != "User" {
		return 0, fmt.Errorf("ghsim: comment on %s: author %q is not a user", rp.fullName(), author)
	}
	is := rp.issue(number)
	if is == nil {
		return 0, fmt.Errorf("ghsim: comment on %s#%d: no such issue", rp.fullName(), number)
	}
	cm := s.addComment(rp, is, a.Login, body)
	return cm.ID, nil
}

// issue is the repository's issue number n, nil if none. Issues and pull
// requests share one number sequence, so an issue is found by its number,
// never by its place among the issues.
func (rp *repo) issue(n int) *issue {
	for _, is := range rp.Issues {
		if is.Number == n {
			return is
		}
	}
	return nil
}

// addComment appends a comment to is and sends issue_comment created.
// Called with s.mu held.
func (s *world) addComment(rp *repo, is *issue, author, body string) *comment {
	now := s.clock.now()
	cm := &comment{ID: s.st.id(), Body: body, User: author, CreatedAt: now, UpdatedAt: now}
	is.Comments = append(is.Comments, cm)
	is.UpdatedAt = now
	s.repoWebhook("issue_comment", "created", "issues", rp, cm.User, map[string]any{
		"issue": s.issueView(rp, is), "comment": s.commentView(rp, is, cm),
	})
	return cm
}

// openIssue creates an issue and sends opened, then labeled and assigned
// webhooks, each payload showing the issue as created. Called with s.mu
// held.
func (s *world) openIssue(rp *repo, author, title, body string, labels, assignees []string) *issue {
	now := s.clock.now()
	is := &issue{
		ID: s.st.id(), Number: nextNumber(rp), Title: title, Body: body, State: "open",
		User: author, CreatedAt: now, UpdatedAt: now,
	}
	rp.Issues = append(rp.Issues, is)
	hooks := []issueHook{{action: "opened"}}
	hooks = append(hooks, s.setIssueLabels(rp, is, labels)...)
	hooks = append(hooks, s.setIssueAssignees(is, assignees)...)
	s.sendIssueHooks(rp, is, author, hooks)
	return is
}

// issueHook is an issues webhook to send once a change is complete: GitHub
// sends one event per action, each with the issue as it now is.
type issueHook struct {
	action string
	extra  map[string]any
}

func (s *world) sendIssueHooks(rp *repo, is *issue, actor string, hooks []issueHook) {
	for _, h := range hooks {
		p := map[string]any{"issue": s.issueView(rp, is)}
		for k, v := range h.extra {
			p[k] = v
		}
		s.repoWebhook("issues", h.action, "issues", rp, actor, p)
	}
}

// setIssueLabels replaces the labels of is, creating unknown labels as
// GitHub does, and returns the unlabeled/labeled webhooks of the change.
func (s *world) setIssueLabels(rp *repo, is *issue, names []string) []issueHook {
	var want []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		l := s.ensureLabel(rp, n)
		if !slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, l.Name) }) {
			want = append(want, l.Name)
		}
	}
	old := is.Labels
	is.Labels = want
	var hooks []issueHook
	for _, o := range old {
		if !slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, o) }) {
			hooks = append(hooks, issueHook{"unlabeled", map[string]any{"label": s.labelView(rp, s.ensureLabel(rp, o))}})
		}
	}
	for _, n := range want {
		if !slices.ContainsFunc(old, func(x string) bool { return strings.EqualFold(x, n) }) {
			hooks = append(hooks, issueHook{"labeled", map[string]any{"label": s.labelView(rp, s.ensureLabel(rp, n))}})
		}
	}
	return hooks
}

// setIssueAssignees replaces the assignees of is and returns the
// unassigned/assigned webhooks. Logins must be assignable already.
func (s *world) setIssueAssignees(is *issue, logins []string) []issueHook {
	old := is.Assignees
	is.Assignees = nil
	for _, l := range logins {
		a := s.st.accounts[lower(l)]
		if !slices.Contains(is.Assignees, a.Login) {
			is.Assignees = append(is.Assignees, a.Login)
		}
	}
	var hooks []issueHook
	for _, o := range old {
		if !slices.Contains(is.Assignees, o) {
			hooks = append(hooks, issueHook{"unassigned", map[string]any{"assignee": s.simpleUser(o)}})
		}
	}
	for _, n := range is.Assignees {
		if !slices.Contains(old, n) {
			hooks = append(hooks, issueHook{"assigned", map[string]any{"assignee": s.simpleUser(n)}})
		}
	}
	return hooks
}

// assignable tells whether login may be assigned issues of rp: the owner,
// organization members and collaborators, not every reader of a public
// repository.
func (s *issuesAPI) assignable(login string, rp *repo) bool {
	a, ok := s.st.accounts[lower(login)]
	if !ok || a.Type != "User" {
		return false
	}
	l := lower(login)
	if lower(rp.Owner) == l {
		return true
	}
	if _, ok := rp.Collaborators[l]; ok {
		return true
	}
	owner := s.st.accounts[lower(rp.Owner)]
	return owner != nil && (owner.Members[l] || owner.Admins[l])
}

// ensureLabel returns the label named name (case-insensitively), creating
// it with GitHub's default colour.
func (s *world) ensureLabel(rp *repo, name string) *label {
	if l, ok := rp.Labels[lower(name)]; ok {
		return l
	}
	l := &label{ID: s.st.id(), Name: name, Color: defaultLabelColor}
	rp.Labels[lower(name)] = l
	return l
}

// The issue, comment and label objects. Fields are in the order of their
// JSON names, as the maps these types replaced encoded them.

type labelView struct {
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
}

func (s *world) labelView(rp *repo, l *label) *labelView {
	v := &labelView{
		ID:     l.ID,
		NodeID: appNodeID("LA_", l.ID),
		URL:    s.opts.APIURL + "repos/" + rp.fullName() + "/labels/" + url.PathEscape(l.Name),
		Name:   l.Name,
		Color:  l.Color,
	}
	if l.Description != "" {
		desc := l.Description
		v.Description = &desc
	}
	return v
}

// authorAssociation is how login relates to rp, as GitHub labels authors.
func (s *world) authorAssociation(login string, rp *repo) string {
	l := lower(login)
	if lower(rp.Owner) == l {
		return "OWNER"
	}
	if owner := s.st.accounts[lower(rp.Owner)]; owner != nil && (owner.Members[l] || owner.Admins[l]) {
		return "MEMBER"
	}
	if _, ok := rp.Collaborators[l]; ok {
		return "COLLABORATOR"
	}
	return "NONE"
}

func orNullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func orNullString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

type issueView struct {
	ActiveLockReason      *string          `json:"active_lock_reason"`
	Assignee              map[string]any   `json:"assignee"`
	Assignees             []map[string]any `json:"assignees"`
	AuthorAssociation     string           `json:"author_association"`
	Body                  *string          `json:"body"`
	ClosedAt              *time.Time       `json:"closed_at"`
	ClosedBy              map[string]any   `json:"closed_by"`
	Comments              int              `json:"comments"`
	CommentsURL           string           `json:"comments_url"`
	CreatedAt             time.Time        `json:"created_at"`
	EventsURL             string           `json:"events_url"`
	HTMLURL               string           `json:"html_url"`
	ID                    int64            `json:"id"`
	Labels                []*labelView     `json:"labels"`
	LabelsURL             string           `json:"labels_url"`
	Locked                bool             `json:"locked"`
	Milestone             *struct{}        `json:"milestone"`
	NodeID                string           `json:"node_id"`
	Number                int              `json:"number"`
	PerformedViaGitHubApp map[string]any   `json:"performed_via_github_app"`
	RepositoryURL         string           `json:"repository_url"`
	State                 string           `json:"state"`
	StateReason           *string          `json:"state_reason"`
	TimelineURL           string           `json:"timeline_url"`
	Title                 string           `json:"title"`
	UpdatedAt             time.Time        `json:"updated_at"`
	URL                   string           `json:"url"`
	User                  map[string]any   `json:"user"`
}

func (s *world) issueView(rp *repo, is *issue) *issueView {
	api := s.opts.APIURL + "repos/" + rp.fullName()
	self := api + "/issues/" + strconv.Itoa(is.Number)
	v := &issueView{
		ID:                is.ID,
		NodeID:            appNodeID("I_", is.ID),
		URL:               self,
		RepositoryURL:     api,
		LabelsURL:         self + "/labels{/name}",
		CommentsURL:       self + "/comments",
		EventsURL:         self + "/events",
		TimelineURL:       self + "/timeline",
		HTMLURL:           s.appHTMLURL(rp.fullName() + "/issues/" + strconv.Itoa(is.Number)),
		Number:            is.Number,
		State:             is.State,
		StateReason:       orNullString(is.StateReason),
		Title:             is.Title,
		Body:              orNullString(is.Body),
		User:              s.simpleUser(is.User),
		Labels:            make([]*labelView, 0, len(is.Labels)),
		Assignees:         make([]map[string]any, 0, len(is.Assignees)),
		Comments:          len(is.Comments),
		ClosedAt:          orNullTime(is.ClosedAt),
		CreatedAt:         is.CreatedAt,
		UpdatedAt:         is.UpdatedAt,
		AuthorAssociation: s.authorAssociation(is.User, rp),
	}
	for _, n := range is.Labels {
		v.Labels = append(v.Labels, s.labelView(rp, s.ensureLabel(rp, n)))
	}
	for _, a := range is.Assignees {
		v.Assignees = append(v.Assignees, s.simpleUser(a))
	}
	if len(v.Assignees) > 0 {
		v.Assignee = v.Assignees[0]
	}
	if is.ClosedBy != "" && is.State == "closed" {
		v.ClosedBy = s.simpleUser(is.ClosedBy)
	}
	if is.User == s.BotLogin() {
		v.PerformedViaGitHubApp = s.appView()
	}
	return v
}

type commentView struct {
	AuthorAssociation     string         `json:"author_association"`
	Body                  string         `json:"body"`
	CreatedAt             time.Time      `json:"created_at"`
	HTMLURL               string         `json:"html_url"`
	ID                    int64          `json:"id"`
	IssueURL              string         `json:"issue_url"`
	NodeID                string         `json:"node_id"`
	PerformedViaGitHubApp map[string]any `json:"performed_via_github_app"`
	UpdatedAt             time.Time      `json:"updated_at"`
	URL                   string         `json:"url"`
	User                  map[string]any `json:"user"`
}

func (s *world) commentView(rp *repo, is *issue, c *comment) *commentView {
	api := s.opts.APIURL + "repos/" + rp.fullName()
	return &commentView{
		ID:                c.ID,
		NodeID:            appNodeID("IC_", c.ID),
		URL:               api + "/issues/comments/" + strconv.FormatInt(c.ID, 10),
		HTMLURL:           s.appHTMLURL(fmt.Sprintf("%s/issues/%d#issuecomment-%d", rp.fullName(), is.Number, c.ID)),
		IssueURL:          api + "/issues/" + strconv.Itoa(is.Number),
		Body:              c.Body,
		User:              s.simpleUser(c.User),
		CreatedAt:         c.CreatedAt,
		UpdatedAt:         c.UpdatedAt,
		AuthorAssociation: s.authorAssociation(c.User, rp),
	}
}

// writeValidationFailed answers 422 with GitHub's validation error shape.
func writeValidationFailed(w http.ResponseWriter, resource, field, code, message string) {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if message != "" {
		e["message"] = message
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": []any{e}, "documentation_url": docsURL,
	})
}

// issuesRepo resolves the repository of an issue endpoint and refuses when
// the caller may not read its issues or they are disabled (410).
func (s *issuesAPI) issuesRepo(w http.ResponseWriter, r *http.Request) (caller, bool) {
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canRead(w, c, "issues") {
		return caller{}, false
	}
	if !c.rp.HasIssues {
		writeError(w, http.StatusGone, msgIssuesDisabled)
		return caller{}, false
	}
	return c, true
}

// canWriteIssues checks that the caller may open issues and comment:
// anyone who can see the repository with a token allowed to write it (a
// classic token needs repo, or public_repo on a public repository), or an
// installation token covering it with issues: write.
func (s *issuesAPI) canWriteIssues(w http.ResponseWriter, c caller) bool {
	switch {
	case c.p == nil:
		writeError(w, http.StatusUnauthorized, msgRequiresAuth)
		return false
	case c.p.Kind == principalApp:
		writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
		return false
	case c.p.Kind == principalInstallation:
		if !c.covered(s.world) || installPermRank(s.tokenPermission(c.p.Token, "issues")) < installPermRank("write") {
			writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
			return false
		}
	case c.p.Kind == principalClassic:
		// A token without a scope for writing is answered as if the
		// repository were not there, as GitHub hides what a token may
		// not touch.
		if !c.p.Token.has("repo") && !(c.p.Token.has("public_repo") && !c.rp.Private) {
			writeError(w, http.StatusNotFound, msgNotFound)
			return false
		}
	}
	return true
}

// triager tells whether the caller may set labels and assignees and edit
// others' issues: an installation token with issues: write, or a user with
// triage or more.
func (s *issuesAPI) triager(c caller) bool {
	if c.p != nil && c.p.Kind == principalInstallation {
		return true // canWriteIssues checked issues: write
	}
	return atLeast(c.role(s.world), "triage")
}

// issueRequest resolves the repository and the issue {number} of an
// issue endpoint as issuesRepo does, answering refusals and 404 itself.
// With write it checks that the caller may write issues before it looks
// the issue up, so that a refusal is not hidden by a 404. Called with s.mu
// held.
func (s *issuesAPI) issueRequest(w http.ResponseWriter, r *http.Request, write bool) (caller, *issue, bool) {
	c, ok := s.issuesRepo(w, r)
	if !ok || (write && !s.canWriteIssues(w, c)) {
		return caller{}, nil, false
	}
	if n, err := strconv.Atoi(r.PathValue("number")); err == nil {
		if is := c.rp.issue(n); is != nil {
			return c, is, true
		}
	}
	writeError(w, http.StatusNotFound, msgNotFound)
	return caller{}, nil, false
}

// sinceParam reads the since query parameter of a list of resource
// (RFC 3339; zero when absent), answering 422 when it does not parse.
func sinceParam(w http.ResponseWriter, r *http.Request, resource string) (time.Time, bool) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeValidationFailed(w, resource, "since", "invalid", "")
		return time.Time{}, false
	}
	return t, true
}

func (s *issuesAPI) handleListIssues(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.issuesRepo(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		writeValidationFailed(w, "Issue", "state", "invalid", "")
		return
	}
	var labels []string
	for _, l := range strings.Split(q.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	creator, assignee := q.Get("creator"), q.Get("assignee")
	since, ok := sinceParam(w, r, "Issue")
	if !ok {
		return
	}
	var list []*issue
	for _, is := range c.rp.Issues {
		switch {
		case state != "all" && is.State != state:
		case creator != "" && !strings.EqualFold(is.User, creator):
		case !hasAllLabels(is, labels):
		case !assigneeMatches(is, assignee):
		case !since.IsZero() && is.UpdatedAt.Before(since):
		default:
			list = append(list, is)
		}
	}
	key := func(is *issue) int64 { return is.CreatedAt.UnixNano()*1000 + int64(is.Number) }
	switch q.Get("sort") {
	case "updated":
		key = func(is *issue) int64 { return is.UpdatedAt.UnixNano()*1000 + int64(is.Number) }
	case "comments":
		key = func(is *issue) int64 { return int64(len(is.Comments))<<32 + int64(is.Number) }
	}
	asc := q.Get("direction") == "asc"
	sort.SliceStable(list, func(i, j int) bool {
		if asc {
			return key(list[i]) < key(list[j])
		}
		return key(list[i]) > key(list[j])
	})
	page := appPage(s.world, w, r, list, func(is *issue) *issueView { return s.issueView(c.rp, is) })
	writeJSON(w, http.StatusOK, page)
}

func hasAllLabels(is *issue, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, w) }) {
			return false
		}
	}
	return true
}

func assigneeMatches(is *issue, a string) bool {
	switch a {
	case "":
		return true
	case "none":
		return len(is.Assignees) == 0
	case "*":
		return len(is.Assignees) > 0
	}
	return slices.ContainsFunc(is.Assignees, func(x string) bool { return strings.EqualFold(x, a) })
}

func (s *issuesAPI) handleGetIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, is, ok := s.issueRequest(w, r, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.issueView(c.rp, is))
}

// decodeFields reads a JSON object body, keeping which fields were sent.
func decodeFields(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	var f map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil, false
	}
	return f, true
}

// stringField decodes an optional string field; JSON null reads as "".
func stringField(f map[string]json.RawMessage, name string) (string, bool, error) {
	raw, ok := f[name]
	if !ok {
		return "", false, nil
	}
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, err
	}
	if v == nil {
		return "", true, nil
	}
	return *v, true, nil
}

// labelNames decodes labels given as names or as objects with a name.
func labelNames(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		var name string
		if err := json.Unmarshal(it, &name); err == nil {
			out = append(out, name)
			continue
		}
		var obj struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(it, &obj); err != nil {
			return nil, err
		}
		out = append(out, obj.Name)
	}
	return out, nil
}

// assigneeLogins reads assignees (or the older single assignee) and checks
// each can be assigned; ok is false once a 422 was written.
func (s *issuesAPI) assigneeLogins(w http.ResponseWriter, f map[string]json.RawMessage, rp *repo) (logins []string, given, ok bool) {
	if raw, has := f["assignees"]; has {
		if err := json.Unmarshal(raw, &logins); err != nil {
			writeValidationFailed(w, "Issue", "assignees", "invalid", "")
			return nil, true, false
		}
		given = true
	}
	if one, has, err := stringField(f, "assignee"); err != nil {
		writeValidationFailed(w, "Issue", "assignee", "invalid", "")
		return nil, true, false
	} else if has {
		given = true
		if one != "" {
			logins = append(logins, one)
		}
	}
	for _, l := range logins {
		if !s.assignable(l, rp) {
			writeValidationFailed(w, "Issue", "assignees", "invalid", "")
			return nil, true, false
		}
	}
	return logins, given, true
}

// checkBodyLength answers 422 when body is longer than GitHub takes in
// the body of resource (an Issue or an IssueComment).
func checkBodyLength(w http.ResponseWriter, resource, body string) bool {
	if utf8.RuneCountInString(body) > maxBodyChars {
		writeValidationFailed(w, resource, "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", maxBodyChars))
		return false
	}
	return true
}

// issueBody reads the optional body of an issue (with the web editor's
// line endings when r asks for them); ok is false once a 422 was written.
func issueBody(w http.ResponseWriter, r *http.Request, f map[string]json.RawMessage) (body string, given, ok bool) {
	body, given, err := stringField(f, "body")
	if err != nil {
		writeValidationFailed(w, "Issue", "body", "invalid", "")
		return "", true, false
	}
	if fromWebEditor(r) {
		body = webEditorBody(body)
	}
	if !checkBodyLength(w, "Issue", body) {
		return "", true, false
	}
	return body, given, true
}

// issueLabels reads the optional labels of an issue, as names or objects
// with a name; ok is false once a 422 was written.
func issueLabels(w http.ResponseWriter, f map[string]json.RawMessage) (labels []string, given, ok bool) {
	raw, given := f["labels"]
	if !given {
		return nil, false, true
	}
	labels, err := labelNames(raw)
	if err != nil {
		writeValidationFailed(w, "Issue", "labels", "invalid", "")
		return nil, true, false
	}
	return labels, true, true
}

func (s *issuesAPI) handleCreateIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canWriteIssues(w, c) {
		return
	}
	if !c.rp.HasIssues {
		writeError(w, http.StatusGone, msgIssuesDisabled)
		return
	}
	f, ok := decodeFields(w, r)
	if !ok {
		return
	}
	title, _, err := stringField(f, "title")
	if err != nil || strings.TrimSpace(title) == "" {
		writeValidationFailed(w, "Issue", "title", "missing_field", "")
		return
	}
	body, _, ok := issueBody(w, r, f)
	if !ok {
		return
	}
	labels, _, ok := issueLabels(w, f)
	if !ok {
		return
	}
	assignees, _, ok := s.assigneeLogins(w, f, c.rp)
	if !ok {
		return
	}
	// GitHub silently drops labels and assignees set by someone without
	// push-level access.
	if !s.triager(c) {
		labels, assignees = nil, nil
	}
	is := s.openIssue(c.rp, c.actor(s.world), title, body, labels, assignees)
	w.Header().Set("Location", s.opts.APIURL+"repos/"+c.rp.fullName()+"/issues/"+strconv.Itoa(is.Number))
	writeJSON(w, http.StatusCreated, s.issueView(c.rp, is))
}

func (s *issuesAPI) handleUpdateIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, is, ok := s.issueRequest(w, r, true)
	if !ok {
		return
	}
	actor := c.actor(s.world)
	triager := s.triager(c)
	if !triager && !strings.EqualFold(actor, is.User) {
		writeError(w, http.StatusForbidden, msgNeedAdminRights)
		return
	}
	f, ok := decodeFields(w, r)
	if !ok {
		return
	}
	title, hasTitle, err := stringField(f, "title")
	if err != nil || (hasTitle && strings.TrimSpace(title) == "") {
		writeValidationFailed(w, "Issue", "title", "missing_field", "")
		return
	}
	body, hasBody, ok := issueBody(w, r, f)
	if !ok {
		return
	}
	state, hasState, err := stringField(f, "state")
	if err != nil || (hasState && state != "open" && state != "closed") {
		writeValidationFailed(w, "Issue", "state", "invalid", "")
		return
	}
	reason, _, err := stringField(f, "state_reason")
	if err != nil || (reason != "" && reason != "completed" && reason != "not_planned" && reason != "reopened") {
		writeValidationFailed(w, "Issue", "state_reason", "invalid", "")
		return
	}
	labels, hasLabels, ok := issueLabels(w, f)
	if !ok {
		return
	}
	assignees, hasAssignees, ok := s.assigneeLogins(w, f, c.rp)
	if !ok {
		return
	}

	now := s.clock.now()
	var hooks []issueHook
	changes := map[string]any{}
	if hasTitle && title != is.Title {
		changes["title"] = map[string]string{"from": is.Title}
		is.Title = title
	}
	if hasBody && body != is.Body {
		changes["body"] = map[string]string{"from": is.Body}
		is.Body = body
	}
	if len(changes) > 0 {
		hooks = append(hooks, issueHook{"edited", map[string]any{"changes": changes}})
	}
	if hasState && state != is.State {
		is.State = state
		if state == "closed" {
			is.ClosedAt, is.ClosedBy = now, actor
			is.StateReason = "completed"
			if reason == "not_planned" {
				is.StateReason = reason
			}
			hooks = append(hooks, issueHook{action: "closed"})
		} else {
			is.ClosedAt, is.ClosedBy, is.StateReason = time.Time{}, "", "reopened"
			hooks = append(hooks, issueHook{action: "reopened"})
		}
	} else if is.State == "closed" && (reason == "completed" || reason == "not_planned") && reason != is.StateReason {
		is.StateReason, is.UpdatedAt = reason, now
	}
	if triager && hasLabels {
		hooks = append(hooks, s.setIssueLabels(c.rp, is, labels)...)
	}
	if triager && hasAssignees {
		hooks = append(hooks, s.setIssueAssignees(is, assignees)...)
	}
	if len(hooks) > 0 {
		is.UpdatedAt = now
	}
	s.sendIssueHooks(c.rp, is, actor, hooks)
	writeJSON(w, http.StatusOK, s.issueView(c.rp, is))
}

func (s *issuesAPI) handleListComments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, is, ok := s.issueRequest(w, r, false)
	if !ok {
		return
	}
	since, ok := sinceParam(w, r, "IssueComment")
	if !ok {
		return
	}
	var list []*comment
	for _, cm := range is.Comments {
		if since.IsZero() || !cm.UpdatedAt.Before(since) {
			list = append(list, cm)
		}
	}
	page := appPage(s.world, w, r, list, func(cm *comment) *commentView { return s.commentView(c.rp, is, cm) })
	writeJSON(w, http.StatusOK, page)
}

func (s *issuesAPI) handleCreateComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, is, ok := s.issueRequest(w, r, true)
	if !ok {
		return
	}
	body, ok := commentBody(w, r)
	if !ok {
		return
	}
	cm := s.addComment(c.rp, is, c.actor(s.world), body)
	view := s.commentView(c.rp, is, cm)
	w.Header().Set("Location", view.URL)
	writeJSON(w, http.StatusCreated, view)
}

// commentBody reads a comment's required body as GitHub validates it, and
// answers 422 when it is missing, blank or too long.
func commentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	f, ok := decodeFields(w, r)
	if !ok {
		return "", false
	}
	body, _, err := stringField(f, "body")
	if err != nil || strings.TrimSpace(body) == "" {
		writeValidationFailed(w, "IssueComment", "body", "missing_field", "")
		return "", false
	}
	if fromWebEditor(r) {
		body = webEditorBody(body)
	}
	if !checkBodyLength(w, "IssueComment", body) {
		return "", false
	}
	return body, true
}

func (s *issuesAPI) handleUpdateComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.issuesRepo(w, r)
	if !ok || !s.canWriteIssues(w, c) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var is *issue
	var cm *comment
	for _, i := range c.rp.Issues {
		for _, x := range i.Comments {
			if err == nil && x.ID == id {
				is, cm = i, x
			}
		}
	}
	if cm == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	actor := c.actor(s.world)
	installation := c.p.Kind == principalInstallation
	if !installation && !strings.EqualFold(actor, cm.User) && !atLeast(c.role(s.world), "write") {
		writeError(w, http.StatusForbidden, msgNeedAdminRights)
		return
	}
	body, ok := commentBody(w, r)
	if !ok {
		return
	}
	if body != cm.Body {
		from := cm.Body
		cm.Body, cm.UpdatedAt = body, s.clock.now()
		s.repoWebhook("issue_comment", "edited", "issues", c.rp, actor, map[string]any{
			"issue": s.issueView(c.rp, is), "comment": s.commentView(c.rp, is, cm),
			"changes": map[string]any{"body": map[string]string{"from": from}},
		})
	}
	writeJSON(w, http.StatusOK, s.commentView(c.rp, is, cm))
}
