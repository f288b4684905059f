package ghsim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reposAPI is the part that serves repositories over the shared world:
// repositories, their contents (and the raw file host /_raw/), the
// permission of a collaborator, and the accounts (app_users.go).
type reposAPI struct{ *world }

// register serves repositories, contents, collaborators and accounts.
func (s *reposAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.handleGetRepo)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents", conditional(s.handleGetContents))
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", conditional(s.handleGetContents))
	mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.handleCollaboratorPermission)
	mux.HandleFunc("GET /_raw/{owner}/{repo}/{ref}/{path...}", s.handleRaw)
	s.registerUserRoutes(mux)
}

// Messages GitHub answers refusals with.
const (
	msgNotAccessibleByIntegration = "Resource not accessible by integration"
	msgNeedPushForPermission      = "Must have push access to view collaborator permission."
)

// roleRank orders repository roles; the legacy "permission" of a role is
// the base role at or below it (maintain → write, triage → read).
func roleRank(role string) int {
	switch role {
	case "read":
		return 1
	case "triage":
		return 2
	case "write":
		return 3
	case "maintain":
		return 4
	case "admin":
		return 5
	}
	return 0
}

func atLeast(role, min string) bool { return roleRank(role) >= roleRank(min) }

func legacyPermission(role string) string {
	switch role {
	case "maintain":
		return "write"
	case "triage":
		return "read"
	case "":
		return "none"
	}
	return role
}

// rolePermissions is the permissions object GitHub shows for a role (on a
// repository for a classic token, on a collaborator): each permission a
// role at least that high holds, push standing for write and pull for
// read.
func rolePermissions(role string) map[string]bool {
	return map[string]bool{
		"admin": atLeast(role, "admin"), "maintain": atLeast(role, "maintain"),
		"push": atLeast(role, "write"), "triage": atLeast(role, "triage"), "pull": atLeast(role, "read"),
	}
}

// userRole is login's role on rp, all grants considered: the owner of a
// user repository and the owners of an organization are admins, direct
// collaborators have their role, organization members the organization's
// base role (read), and everyone may read a public repository.
// Called with s.mu held.
func (s *world) userRole(login string, rp *repo) string {
	l := lower(login)
	role := "none"
	if l != "" {
		if lower(rp.Owner) == l {
			return "admin"
		}
		if owner := s.st.accounts[lower(rp.Owner)]; owner != nil && owner.Type == "Organization" {
			if owner.Admins[l] {
				return "admin"
			}
			if owner.Members[l] {
				role = "read"
			}
		}
		if c, ok := rp.Collaborators[l]; ok && roleRank(c) > roleRank(role) {
			role = c
		}
	}
	if !rp.Private && roleRank(role) < roleRank("read") {
		role = "read"
	}
	return role
}

// caller is an authenticated (or anonymous) request resolved against a
// repository.
type caller struct {
	p  *principal
	rp *repo
}

// actor is the login acting: the token's user, or the app's bot.
func (c caller) actor(s *world) string {
	if c.p == nil {
		return ""
	}
	switch c.p.Kind {
	case principalClassic:
		return s.st.accounts[c.p.Token.User].Login
	case principalInstallation:
		return s.BotLogin()
	}
	return ""
}

// covered tells whether the caller is an installation token that may use
// the repository.
func (c caller) covered(s *world) bool {
	return c.p != nil && c.p.Kind == principalInstallation && s.tokenCovers(c.p.Token, c.rp)
}

// role is the caller's role on the repository for classic tokens and
// anonymous callers (read on public repositories).
func (c caller) role(s *world) string {
	if c.p != nil && c.p.Kind == principalClassic {
		return s.userRole(c.p.Token.User, c.rp)
	}
	return s.userRole("", c.rp)
}

// repoVisible tells whether the caller can see rp at all: public repositories
// are visible to everyone; private ones to users with a role and a classic
// token with the repo scope, and to installation tokens covering them.
func (s *world) repoVisible(p *principal, rp *repo) bool {
	if !rp.Private {
		return true
	}
	if p == nil {
		return false
	}
	switch p.Kind {
	case principalClassic:
		return p.Token.has("repo") && s.userRole(p.Token.User, rp) != "none"
	case principalInstallation:
		return s.tokenCovers(p.Token, rp)
	}
	return false
}

// resolveRepo authenticates the request and finds {owner}/{repo} for the
// caller, answering 401 or 404 itself (GitHub answers 404, not 403, for a
// private repository the caller cannot see). Called with s.mu held.
func (s *world) resolveRepo(w http.ResponseWriter, r *http.Request) (caller, bool) {
	p, ok := s.authenticateRequest(w, r)
	if !ok {
		return caller{}, false
	}
	rp, ok := s.st.repos[lower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if !ok || !s.repoVisible(p, rp) {
		writeError(w, http.StatusNotFound, msgNotFound)
		return caller{}, false
	}
	return caller{p: p, rp: rp}, true
}

// canRead checks that the caller may read perm ("contents", "issues") of
// a repository it can see: installation tokens need that permission on
// private repositories they cover. It answers 403 itself.
func (s *world) canRead(w http.ResponseWriter, c caller, perm string) bool {
	if c.covered(s) && c.rp.Private && installPermRank(s.tokenPermission(c.p.Token, perm)) < installPermRank("read") {
		writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
		return false
	}
	return true
}

func (s *reposAPI) handleGetRepo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolveRepo(w, r)
	if !ok {
		return
	}
	v := s.fullRepository(c.rp, c.p)
	// Only the REST answer counts watchers of the network (full-repository).
	v["network_count"], v["subscribers_count"] = 0, 0
	writeJSON(w, http.StatusOK, v)
}

// webHost is the host of a web URL, for ssh_url's git@host:owner/repo.git.
func webHost(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	h, _, _ := strings.Cut(u, "/")
	return h
}

// fullRepository is the full repository object. With a classic token it carries
// the caller's permissions, as GitHub's does.
func (s *world) fullRepository(rp *repo, p *principal) map[string]any {
	api := s.opts.APIURL + "repos/" + rp.fullName()
	visibility := "public"
	if rp.Private {
		visibility = "private"
	}
	open := 0
	for _, is := range rp.Issues {
		if is.State == "open" {
			open++
		}
	}
	pushed := rp.PushedAt
	if pushed.IsZero() {
		pushed = rp.CreatedAt
	}
	v := map[string]any{
		"id":                rp.ID,
		"node_id":           appNodeID("R_", rp.ID),
		"name":              rp.Name,
		"full_name":         rp.fullName(),
		"private":           rp.Private,
		"owner":             s.simpleUser(rp.Owner),
		"html_url":          s.appHTMLURL(rp.fullName()),
		"description":       nil,
		"fork":              rp.ForkOf != "",
		"url":               api,
		"archive_url":       api + "/{archive_format}{/ref}",
		"branches_url":      api + "/branches{/branch}",
		"collaborators_url": api + "/collaborators{/collaborator}",
		"comments_url":      api + "/comments{/number}",
		"commits_url":       api + "/commits{/sha}",
		"contents_url":      api + "/contents/{+path}",
		"events_url":        api + "/events",
		"hooks_url":         api + "/hooks",
		"issue_comment_url": api + "/issues/comments{/number}",
		"issues_url":        api + "/issues{/number}",
		"labels_url":        api + "/labels{/name}",
		"pulls_url":         api + "/pulls{/number}",
		// The rest of GitHub's URL templates (REST "Get a repository").
		"assignees_url":     api + "/assignees{/user}",
		"blobs_url":         api + "/git/blobs{/sha}",
		"compare_url":       api + "/compare/{base}...{head}",
		"contributors_url":  api + "/contributors",
		"deployments_url":   api + "/deployments",
		"downloads_url":     api + "/downloads",
		"forks_url":         api + "/forks",
		"git_commits_url":   api + "/git/commits{/sha}",
		"git_refs_url":      api + "/git/refs{/sha}",
		"git_tags_url":      api + "/git/tags{/sha}",
		"issue_events_url":  api + "/issues/events{/number}",
		"keys_url":          api + "/keys{/key_id}",
		"languages_url":     api + "/languages",
		"merges_url":        api + "/merges",
		"milestones_url":    api + "/milestones{/number}",
		"notifications_url": api + "/notifications{?since,all,participating}",
		"releases_url":      api + "/releases{/id}",
		"stargazers_url":    api + "/stargazers",
		"statuses_url":      api + "/statuses/{sha}",
		"subscribers_url":   api + "/subscribers",
		"subscription_url":  api + "/subscription",
		"tags_url":          api + "/tags",
		"teams_url":         api + "/teams",
		"trees_url":         api + "/git/trees{/sha}",
		"ssh_url":           "git@" + webHost(s.appHTMLURL("")) + ":" + rp.fullName() + ".git",
		"svn_url":           s.appHTMLURL(rp.fullName()),
		"mirror_url":        nil,
		"git_url":           "git://" + strings.TrimPrefix(strings.TrimPrefix(s.appHTMLURL(rp.fullName()), "https://"), "http://") + ".git",
		"clone_url":         s.appHTMLURL(rp.fullName()) + ".git",
		"homepage":          nil,
		"size":              0,
		"language":          nil,
		"has_issues":        rp.HasIssues,
		"has_projects":      true,
		"has_downloads":     true,
		"has_wiki":          true,
		"has_pages":         false,
		"has_discussions":   false,
		"forks_count":       0,
		"stargazers_count":  0,
		"watchers_count":    0,
		"archived":          false,
		"disabled":          false,
		"open_issues_count": open,
		"license":           nil,
		"allow_forking":     true,
		"is_template":       false,
		"topics":            []string{},
		"visibility":        visibility,
		"forks":             0,
		"open_issues":       open,
		"watchers":          0,
		"default_branch":    rp.DefaultBranch,
		"created_at":        rp.CreatedAt,
		"updated_at":        pushed,
		"pushed_at":         pushed,
	}
	if p != nil && p.Kind == principalClassic {
		role := s.userRole(p.Token.User, rp)
		v["permissions"] = rolePermissions(role)
	}
	return v
}

func (s *reposAPI) handleGetContents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canRead(w, c, "contents") {
		return
	}
	ref := r.URL.Query().Get("ref")
	branch, files, ok := refFiles(c.rp, ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	if len(files) == 0 {
		writeError(w, http.StatusNotFound, "This repository is empty.")
		return
	}
	p := strings.Trim(r.PathValue("path"), "/")
	if body, ok := files[p]; ok && p != "" {
		v := s.contentEntry(c.rp, files, branch, p, "file", body)
		v["encoding"] = "base64"
		v["content"] = base64Lines(body)
		writeJSON(w, http.StatusOK, v)
		return
	}
	// A directory: its files and subdirectories, sorted by name.
	entries := map[string]map[string]any{}
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	for fp, body := range files {
		if !strings.HasPrefix(fp, prefix) {
			continue
		}
		rest := strings.TrimPrefix(fp, prefix)
		name, _, isDir := strings.Cut(rest, "/")
		if isDir {
			if _, seen := entries[name]; !seen {
				entries[name] = s.contentEntry(c.rp, files, branch, prefix+name, "dir", nil)
			}
			continue
		}
		entries[name] = s.contentEntry(c.rp, files, branch, fp, "file", body)
	}
	if len(entries) == 0 {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		out = append(out, entries[n])
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRaw serves a file's bytes at its download_url, as
// raw.githubusercontent.com does, with the contents API's access rules.
func (s *reposAPI) handleRaw(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canRead(w, c, "contents") {
		return
	}
	_, files, ok := refFiles(c.rp, r.PathValue("ref"))
	body, found := files[r.PathValue("path")]
	if !ok || !found {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// contentEntry is a contents object without its content.
func (s *reposAPI) contentEntry(rp *repo, files map[string][]byte, branch, p, typ string, body []byte) map[string]any {
	api := s.opts.APIURL + "repos/" + rp.fullName()
	sha := treeSHA(files, p+"/")
	kind, gitKind := "tree", "trees"
	download := any(nil)
	if typ == "file" {
		sha = blobSHA(body)
		kind, gitKind = "blob", "blobs"
		download = s.opts.APIURL + "_raw/" + rp.fullName() + "/" + url.PathEscape(branch) + "/" + p
	}
	self := api + "/contents/" + p + "?ref=" + branch
	html := s.appHTMLURL(rp.fullName() + "/" + kind + "/" + branch + "/" + p)
	git := api + "/git/" + gitKind + "/" + sha
	return map[string]any{
		"type":         typ,
		"size":         len(body),
		"name":         path.Base(p),
		"path":         p,
		"sha":          sha,
		"url":          self,
		"git_url":      git,
		"html_url":     html,
		"download_url": download,
		"_links":       map[string]string{"self": self, "git": git, "html": html},
	}
}

// base64Lines encodes b as GitHub's contents API does (Ruby's
// Base64.encode64): lines of 60 characters, each ending in a newline.
func base64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 60 {
		sb.WriteString(enc[:60])
		sb.WriteByte('\n')
		enc = enc[60:]
	}
	if enc != "" {
		sb.WriteString(enc)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// blobSHA is git's object id of a blob holding b.
func blobSHA(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// treeSHA identifies the files of a branch under prefix ("" for all). It
// is stable for equal contents, like a git tree id, but not git's.
func treeSHA(files map[string][]byte, prefix string) string {
	if prefix == "/" {
		prefix = ""
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	h := sha1.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%s\n", p, blobSHA(files[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *reposAPI) handleCollaboratorPermission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.resolveRepo(w, r)
	if !ok {
		return
	}
	switch {
	case c.p == nil:
		writeError(w, http.StatusUnauthorized, msgRequiresAuth)
		return
	case c.p.Kind == principalInstallation && !c.covered(s.world):
		writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
		return
	case c.p.Kind == principalClassic && !atLeast(c.role(s.world), "write"):
		writeError(w, http.StatusForbidden, msgNeedPushForPermission)
		return
	case c.p.Kind == principalApp:
		writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
		return
	}
	u, ok := s.st.accounts[lower(r.PathValue("username"))]
	if !ok || u.Type != "User" {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	role := s.userRole(u.Login, c.rp)
	user := s.simpleUser(u.Login)
	user["permissions"] = rolePermissions(role)
	user["role_name"] = role
	writeJSON(w, http.StatusOK, map[string]any{
		"permission": legacyPermission(role),
		"role_name":  role,
		"user":       user,
	})
}

// repoWebhook sends event about rp to the installation covering it, if
// that installation holds perm (GitHub only delivers an event to apps
// with the permission it belongs to). It adds repository, sender and
// installation to payload. Called with s.mu held.
func (s *world) repoWebhook(event, action, perm string, rp *repo, sender string, payload map[string]any) {
	in := s.repoInstallation(rp)
	if in == nil || installPermRank(installationPermissions(in)[perm]) < installPermRank("read") {
		return
	}
	if _, ok := payload["repository"]; !ok {
		payload["repository"] = s.hookRepository(rp)
	}
	if owner := s.st.accounts[lower(rp.Owner)]; owner != nil && owner.Type == "Organization" {
		payload["organization"] = s.orgSummary(owner)
	}
	payload["sender"] = s.simpleUser(sender)
	payload["installation"] = map[string]any{"id": in.ID, "node_id": appNodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", in.ID)}
	s.enqueueWebhook(event, action, payload)
}

// orgSummary is the organization object webhooks carry.
func (s *world) orgSummary(a *account) map[string]any {
	api := s.opts.APIURL + "orgs/" + a.Login
	return map[string]any{
		"login":              a.Login,
		"id":                 a.ID,
		"node_id":            appNodeID("O_", a.ID),
		"url":                api,
		"repos_url":          api + "/repos",
		"events_url":         api + "/events",
		"hooks_url":          api + "/hooks",
		"issues_url":         api + "/issues",
		"members_url":        api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         s.simpleUser(a.Login)["avatar_url"],
		"description":        nil,
	}
}

// PutFile commits content at path on branch of owner/repo as pusher (a
// user), and sends a signed push webhook. An empty branch means the
// default branch; a new branch starts from the default branch. Writing the
// same content again commits nothing and sends nothing.
func (s *world) PutFile(owner, repoName, branch, path string, content []byte, pusher string) error {
	return s.commitFile(owner, repoName, branch, path, content, false, pusher)
}

// DeleteFile removes path from branch of owner/repo as pusher and sends a
// push webhook.
func (s *world) DeleteFile(owner, repoName, branch, path, pusher string) error {
	return s.commitFile(owner, repoName, branch, path, nil, true, pusher)
}

func (s *world) commitFile(owner, repoName, branch, p string, content []byte, remove bool, pusher string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+repoName)]
	if !ok {
		return fmt.Errorf("ghsim: commit %s to %s/%s: no such repository", p, owner, repoName)
	}
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" || p == "." {
		return fmt.Errorf("ghsim: commit to %s: empty path", rp.fullName())
	}
	u, ok := s.st.accounts[lower(pusher)]
	if !ok || u.Type != "User" {
		return fmt.Errorf("ghsim: commit %s to %s: pusher %q is not a user", p, rp.fullName(), pusher)
	}
	if branch == "" {
		branch = rp.DefaultBranch
	}
	files, existed := rp.Files[branch]
	if !existed {
		files = map[string][]byte{}
		for k, v := range rp.Files[rp.DefaultBranch] {
			files[k] = v
		}
	}
	old, had := files[p]
	var added, modified, removed []string
	switch {
	case remove && !had:
		return fmt.Errorf("ghsim: delete %s from %s@%s: no such file", p, rp.fullName(), branch)
	case remove:
		removed = []string{p}
	case had && string(old) == string(content):
		return nil
	case had:
		modified = []string{p}
	default:
		added = []string{p}
	}
	if remove {
		delete(files, p)
	} else {
		files[p] = append([]byte(nil), content...)
	}
	rp.Files[branch] = files
	if rp.Heads == nil {
		rp.Heads = map[string]string{}
	}
	now := s.clock.now()
	// The commit's parent is the branch head, or the default branch's head
	// for a new branch; a push creating a branch has an all-zero "before".
	parent, created := rp.Heads[branch], false
	if !existed {
		parent, created = rp.Heads[rp.DefaultBranch], true
	} else if parent == "" {
		created = true
	}
	verb := "Update"
	switch {
	case remove:
		verb = "Delete"
	case !had:
		verb = "Create"
	}
	msg := verb + " " + p
	tree := treeSHA(files, "")
	after := commitSHA(tree, parent, u.Login, now, msg)
	rp.Heads[branch] = after
	rp.PushedAt = now
	recordCommit(rp, after, parent, files, p, old, had)

	zero := strings.Repeat("0", 40)
	beforeOut := parent
	if created {
		beforeOut = zero
	}
	person := map[string]any{"name": u.Login, "email": noreplyEmail(u), "username": u.Login}
	commit := map[string]any{
		"id":        after,
		"tree_id":   tree,
		"distinct":  true,
		"message":   msg,
		"timestamp": now.Format(time.RFC3339),
		"url":       s.appHTMLURL(rp.fullName() + "/commit/" + after),
		"author":    person,
		"committer": person,
		"added":     nonNil(added),
		"removed":   nonNil(removed),
		"modified":  nonNil(modified),
	}
	repoObj := s.hookRepository(rp)
	// Push payloads describe the repository in the older shape: times as
	// Unix seconds, the owner with name and email, and for an
	// organization's repository its login as a string under organization
	// (GitHub's push example push/1.payload.json), where other events have
	// an object.
	repoObj["created_at"] = rp.CreatedAt.Unix()
	if a := s.st.accounts[lower(rp.Owner)]; a != nil && a.Type == "Organization" {
		repoObj["organization"] = a.Login
	}
	repoObj["pushed_at"] = now.Unix()
	repoObj["master_branch"] = rp.DefaultBranch
	ownerObj := s.simpleUser(rp.Owner)
	ownerObj["name"] = rp.Owner
	ownerObj["email"] = nil
	repoObj["owner"] = ownerObj
	s.repoWebhook("push", "", "contents", rp, u.Login, map[string]any{
		"ref":         "refs/heads/" + branch,
		"before":      beforeOut,
		"after":       after,
		"created":     created,
		"deleted":     false,
		"forced":      false,
		"base_ref":    nil,
		"compare":     s.appHTMLURL(rp.fullName() + "/compare/" + shortSHA(beforeOut) + "..." + shortSHA(after)),
		"commits":     []map[string]any{commit},
		"head_commit": commit,
		"repository":  repoObj,
		"pusher":      map[string]any{"name": u.Login, "email": noreplyEmail(u)},
	})
	s.headMoved(rp, branch, beforeOut, after, u.Login)
	return nil
}

func shortSHA(sha string) string { return sha[:12] }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func noreplyEmail(a *account) string {
	return strconv.FormatInt(a.ID, 10) + "+" + a.Login + "@users.noreply.github.com"
}

// commitSHA is the id of a commit object, built as git builds one.
func commitSHA(tree, parent, author string, at time.Time, msg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tree %s\n", tree)
	if parent != "" {
		fmt.Fprintf(&b, "parent %s\n", parent)
	}
	fmt.Fprintf(&b, "author %s <%s> %d +0000\ncommitter %s <%s> %d +0000\n\n%s\n",
		author, author, at.Unix(), author, author, at.Unix(), msg)
	h := sha1.New()
	fmt.Fprintf(h, "commit %d\x00%s", b.Len(), b.String())
	return hex.EncodeToString(h.Sum(nil))
}
