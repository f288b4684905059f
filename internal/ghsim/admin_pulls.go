package ghsim

import (
	"net/http"
	"strconv"
)

// registerPullAdmin serves forks, pull requests and check runs under
// /_admin/: the same operations as AddFork, OpenPullRequest,
// SetPullRequestState and CheckRuns.
// Pushing to a pull request's head is PUT .../files/{path} with its branch.
func (s *adminAPI) registerPullAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /_admin/repos/{owner}/{repo}/forks", s.adminFork)
	mux.HandleFunc("POST /_admin/repos/{owner}/{repo}/pulls", s.adminOpenPull)
	mux.HandleFunc("PATCH /_admin/repos/{owner}/{repo}/pulls/{number}", s.adminSetPullState)
	mux.HandleFunc("GET /_admin/repos/{owner}/{repo}/check-runs", s.adminCheckRuns)
}

func (s *adminAPI) adminCheckRuns(w http.ResponseWriter, r *http.Request) {
	list, err := s.CheckRuns(r.PathValue("owner"), r.PathValue("repo"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *adminAPI) adminFork(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Owner string `json:"owner"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	id, err := s.AddFork(r.PathValue("owner"), r.PathValue("repo"), req.Owner)
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "full_name": req.Owner + "/" + r.PathValue("repo")})
}

func (s *adminAPI) adminOpenPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Head  string `json:"head"`
		Base  string `json:"base"`
		Title string `json:"title"`
		Body  string `json:"body"`
		User  string `json:"user"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	n, err := s.OpenPullRequest(r.PathValue("owner"), r.PathValue("repo"), PullRequestOptions{
		Head: req.Head, Base: req.Base, Title: req.Title, Body: req.Body, User: req.User,
	})
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"number": n})
}

func (s *adminAPI) adminSetPullState(w http.ResponseWriter, r *http.Request) {
	var req struct {
		State string `json:"state"`
		User  string `json:"user"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if err := s.SetPullRequestState(r.PathValue("owner"), r.PathValue("repo"), n, req.State, req.User); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
