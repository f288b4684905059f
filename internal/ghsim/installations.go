package ghsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Changes to an installation after AddInstallation, each sending the app
// the event GitHub sends for it, and the admin routes of webhooks
// (repository and organization hooks, repo_hooks.go) and installations.

func (s *adminAPI) registerHookAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /_admin/hooks", s.adminAddHook)
	mux.HandleFunc("DELETE /_admin/installations/{id}", s.adminRemoveInstallation)
	mux.HandleFunc("PUT /_admin/installations/{id}/repositories", s.adminSetInstallationRepositories)
}

// Install installs the app on account as AddInstallation does, and sends
// the app installation created, as GitHub does when someone installs it.
// AddInstallation, which seeds a world, sends nothing.
func (s *world) Install(account string, permissions map[string]string, repos ...string) (int64, error) {
	id, err := s.AddInstallation(account, permissions, repos...)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.st.installations[id]; in != nil {
		s.installationEvent("created", in)
	}
	return id, nil
}

// RemoveInstallation uninstalls the app: the installation and its tokens
// are gone (GitHub revokes them), and the app is sent installation
// deleted.
func (s *world) RemoveInstallation(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.installations[id]
	if in == nil {
		return fmt.Errorf("ghsim: uninstall: no installation %d", id)
	}
	s.installationEvent("deleted", in)
	delete(s.st.installations, id)
	for v, t := range s.st.tokens {
		if t.Kind == tokenInstallation && t.Installation == id {
			delete(s.st.tokens, v)
		}
	}
	return nil
}

// SetInstallationRepositories changes the repositories installation id
// covers: repos ("name" or "owner/name" under its account), or all of
// the account's when repos is empty. The app is sent
// installation_repositories added for the repositories it gains and
// removed for those it loses (both when both happen, added first); a
// change that changes nothing sends nothing.
func (s *world) SetInstallationRepositories(id int64, repos ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.installations[id]
	if in == nil {
		return fmt.Errorf("ghsim: installation %d: no such installation", id)
	}
	next := map[string]bool{}
	for _, r := range repos {
		full := lower(r)
		if !strings.Contains(full, "/") {
			full = in.Account + "/" + full
		}
		if rp, ok := s.st.repos[full]; !ok || lower(rp.Owner) != in.Account {
			return fmt.Errorf("ghsim: installation %d: no repository %q under %s", id, r, in.Account)
		}
		next[full] = true
	}
	var added, removed []*repo
	for full, rp := range s.st.repos {
		if lower(rp.Owner) != in.Account {
			continue
		}
		was := in.covers(rp)
		now := len(repos) == 0 || next[full]
		switch {
		case was && !now:
			removed = append(removed, rp)
		case !was && now:
			added = append(added, rp)
		}
	}
	in.AllRepos, in.Repos = len(repos) == 0, next
	if len(added) > 0 {
		s.installationReposEvent("added", in, added, nil)
	}
	if len(removed) > 0 {
		s.installationReposEvent("removed", in, nil, removed)
	}
	return nil
}

func (s *adminAPI) adminInstallationID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return 0, false
	}
	return id, true
}

// adminRemoveInstallation serves DELETE /_admin/installations/{id}: 204.
func (s *adminAPI) adminRemoveInstallation(w http.ResponseWriter, r *http.Request) {
	id, ok := s.adminInstallationID(w, r)
	if !ok {
		return
	}
	if err := s.RemoveInstallation(id); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminSetInstallationRepositories serves PUT
// /_admin/installations/{id}/repositories {repositories}: 204.
func (s *adminAPI) adminSetInstallationRepositories(w http.ResponseWriter, r *http.Request) {
	id, ok := s.adminInstallationID(w, r)
	if !ok {
		return
	}
	var req struct {
		Repositories []string `json:"repositories"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	if err := s.SetInstallationRepositories(id, req.Repositories...); err != nil {
		appAdminFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
