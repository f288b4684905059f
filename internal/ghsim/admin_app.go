package ghsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// registerAppAdmin serves the app side of /_admin/: accounts, repositories,
// files, collaborators, installations, classic tokens and issues. Each
// route calls the Go builder of the same name, so the two never disagree;
// routes are documented in the package doc.
func (s *adminAPI) registerAppAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /_admin/users", s.adminAddUser)
	mux.HandleFunc("POST /_admin/orgs", s.adminAddOrg)
	mux.HandleFunc("PUT /_admin/orgs/{org}/members/{user}", s.adminAddOrgMember)
	mux.HandleFunc("POST /_admin/repos", s.adminAddRepo)
	mux.HandleFunc("PATCH /_admin/repos/{owner}/{repo}", s.adminUpdateRepo)
	mux.HandleFunc("PUT /_admin/repos/{owner}/{repo}/files/{path...}", s.adminPutFile)
	mux.HandleFunc("DELETE /_admin/repos/{owner}/{repo}/files/{path...}", s.adminDeleteFile)
	mux.HandleFunc("PUT /_admin/repos/{owner}/{repo}/collaborators/{user}", s.adminSetCollaborator)
	mux.HandleFunc("DELETE /_admin/repos/{owner}/{repo}/collaborators/{user}", s.adminRemoveCollaborator)
	mux.HandleFunc("GET /_admin/repos/{owner}/{repo}/issues", s.adminIssues)
	mux.HandleFunc("POST /_admin/repos/{owner}/{repo}/issues", s.adminCreateIssue)
	mux.HandleFunc("POST /_admin/repos/{owner}/{repo}/issues/{number}/comments", s.adminComment)
	mux.HandleFunc("POST /_admin/installations", s.adminAddInstallation)
	mux.HandleFunc("POST /_admin/tokens", s.adminAddToken)
}

// appAdminDecode reads the JSON body into v, answering 400 itself.
func appAdminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "admin: bad request body: "+err.Error())
		return false
	}
	return true
}

// appAdminFail answers a builder's error: the world refused the change.
func appAdminFail(w http.ResponseWriter, err error) {
	writeError(w, http.StatusUnprocessableEntity, err.Error())
}

func (s *adminAPI) adminAddUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Login string `json:"login"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	id, err := s.AddUser(req.Login)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "login": req.Login})
}

func (s *adminAPI) adminAddOrg(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Login  string   `json:"login"`
		Admins []string `json:"admins"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	id, err := s.AddOrg(req.Login, req.Admins...)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "login": req.Login})
}

func (s *adminAPI) adminAddOrgMember(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role string `json:"role"` // "admin" or "member"
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	if req.Role != "admin" && req.Role != "member" {
		writeError(w, http.StatusBadRequest, `admin: role must be "admin" or "member"`)
		return
	}
	if err := s.AddOrgMember(r.PathValue("org"), r.PathValue("user"), req.Role == "admin"); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) adminAddRepo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Owner         string `json:"owner"`
		Name          string `json:"name"`
		Private       bool   `json:"private"`
		HasIssues     *bool  `json:"has_issues"`
		DefaultBranch string `json:"default_branch"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	id, err := s.AddRepo(req.Owner, req.Name, RepoOptions{
		Private: req.Private, NoIssues: req.HasIssues != nil && !*req.HasIssues, DefaultBranch: req.DefaultBranch,
	})
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "full_name": req.Owner + "/" + req.Name})
}

func (s *adminAPI) adminUpdateRepo(w http.ResponseWriter, r *http.Request) {
	var req RepoUpdate
	if !appAdminDecode(w, r, &req) {
		return
	}
	if err := s.UpdateRepo(r.PathValue("owner"), r.PathValue("repo"), req); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) adminPutFile(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Branch        string  `json:"branch"`
		Content       *string `json:"content"`
		ContentBase64 *string `json:"content_base64"`
		Pusher        string  `json:"pusher"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	var content []byte
	switch {
	case req.Content != nil && req.ContentBase64 == nil:
		content = []byte(*req.Content)
	case req.ContentBase64 != nil && req.Content == nil:
		b, err := base64.StdEncoding.DecodeString(*req.ContentBase64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "admin: content_base64: "+err.Error())
			return
		}
		content = b
	default:
		writeError(w, http.StatusBadRequest, "admin: give exactly one of content and content_base64")
		return
	}
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	if err := s.PutFile(owner, name, req.Branch, r.PathValue("path"), content, req.Pusher); err != nil {
		appAdminFail(w, err)
		return
	}
	s.adminCommitted(w, owner, name, req.Branch)
}

func (s *adminAPI) adminDeleteFile(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	q := r.URL.Query()
	if err := s.DeleteFile(owner, name, q.Get("branch"), r.PathValue("path"), q.Get("pusher")); err != nil {
		appAdminFail(w, err)
		return
	}
	s.adminCommitted(w, owner, name, q.Get("branch"))
}

func (s *adminAPI) adminCommitted(w http.ResponseWriter, owner, name, branch string) {
	sha, err := s.HeadCommit(owner, name, branch)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"commit": sha})
}

func (s *adminAPI) adminSetCollaborator(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Permission string `json:"permission"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	if req.Permission == "" {
		writeError(w, http.StatusBadRequest, "admin: permission is required (DELETE removes a collaborator)")
		return
	}
	if err := s.SetCollaborator(r.PathValue("owner"), r.PathValue("repo"), r.PathValue("user"), req.Permission); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) adminRemoveCollaborator(w http.ResponseWriter, r *http.Request) {
	if err := s.SetCollaborator(r.PathValue("owner"), r.PathValue("repo"), r.PathValue("user"), ""); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) adminIssues(w http.ResponseWriter, r *http.Request) {
	list, err := s.Issues(r.PathValue("owner"), r.PathValue("repo"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *adminAPI) adminCreateIssue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Author    string   `json:"author"`
		Title     string   `json:"title"`
		Body      string   `json:"body"`
		Labels    []string `json:"labels"`
		WebEditor bool     `json:"web_editor"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	n, err := s.OpenIssue(r.PathValue("owner"), r.PathValue("repo"), req.Author,
		IssueOptions{Title: req.Title, Body: req.Body, Labels: req.Labels, WebEditor: req.WebEditor})
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"number": n})
}

func (s *adminAPI) adminComment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Author    string `json:"author"`
		Body      string `json:"body"`
		WebEditor bool   `json:"web_editor"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	id, err := s.Comment(r.PathValue("owner"), r.PathValue("repo"), n, req.Author, IssueOptions{Body: req.Body, WebEditor: req.WebEditor})
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
}

func (s *adminAPI) adminAddInstallation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Account      string            `json:"account"`
		Permissions  map[string]string `json:"permissions"`
		Repositories []string          `json:"repositories"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	id, err := s.Install(req.Account, req.Permissions, req.Repositories...)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
}

func (s *adminAPI) adminAddToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User   string   `json:"user"`
		Scopes []string `json:"scopes"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	tok, err := s.AddClassicToken(req.User, req.Scopes...)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "user": req.User, "scopes": req.Scopes})
}
