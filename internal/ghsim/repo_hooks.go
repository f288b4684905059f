package ghsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Repository and organization webhooks: besides the app's webhook, a
// repository or an organization can have hooks of its own (GitHub's
// "Types of webhooks"). The simulator sends them the package events
// (registry_package and package) of the packages linked to the repository
// or owned by the organization; deliveries name their hook in
// X-GitHub-Hook-Installation-Target-Type ("repository", "organization").

// repoHook is a repository's or an organization's webhook.
type repoHook struct {
	ID       int64
	Kind     string // "repository" or "organization"
	Target   string // lower("owner/name") of the repository, lower(login) of the organization
	TargetID int64
	URL      string
	Secret   string
	Events   []string // "*" is every event
}

func (h *repoHook) wants(event string) bool {
	return slices.Contains(h.Events, "*") || slices.Contains(h.Events, event)
}

func (h *repoHook) target() HookTarget {
	return HookTarget{ID: h.ID, TargetType: h.Kind, TargetID: h.TargetID, URL: h.URL, secret: h.Secret}
}

// AddRepoHook adds a webhook to the repository owner/name that receives
// events (the event names, "*" for all) at url, signed with secret. It
// returns the hook's id.
func (s *world) AddRepoHook(owner, name, url, secret string, events ...string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return 0, fmt.Errorf("ghsim: add hook: no repository %s/%s", owner, name)
	}
	return s.addHook("repository", lower(rp.fullName()), rp.ID, url, secret, events)
}

// AddOrgHook adds a webhook to the organization org, as AddRepoHook does
// to a repository.
func (s *world) AddOrgHook(org, url, secret string, events ...string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(org)]
	if !ok || a.Type != "Organization" {
		return 0, fmt.Errorf("ghsim: add hook: no organization %q", org)
	}
	return s.addHook("organization", lower(a.Login), a.ID, url, secret, events)
}

// addHook is AddRepoHook's and AddOrgHook's. Called with s.mu held.
func (s *world) addHook(kind, target string, targetID int64, url, secret string, events []string) (int64, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return 0, fmt.Errorf("ghsim: add hook to %s: url %q is not an http(s) URL", target, url)
	}
	if len(events) == 0 {
		// GitHub's default for a new hook.
		events = []string{"push"}
	}
	h := &repoHook{ID: s.st.id(), Kind: kind, Target: target, TargetID: targetID, URL: url, Secret: secret, Events: slices.Clone(events)}
	s.st.hooks = append(s.st.hooks, h)
	return h.ID, nil
}

// hooksFor lists the hooks that want event about repository rp (nil for
// none) of the account owner: rp's hooks, then the owner's if it is an
// organization. Called with s.mu held.
func (s *world) hooksFor(event string, rp *repo, owner *account) []HookTarget {
	var out []HookTarget
	for _, h := range s.st.hooks {
		if !h.wants(event) {
			continue
		}
		if (h.Kind == "repository" && rp != nil && h.Target == lower(rp.fullName())) ||
			(h.Kind == "organization" && owner != nil && owner.Type == "Organization" && h.Target == lower(owner.Login)) {
			out = append(out, h.target())
		}
	}
	return out
}

// adminAddHook serves POST /_admin/hooks {repository or organization,
// url, secret, events}: 201 {"id"}.
func (s *adminAPI) adminAddHook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Repository   string   `json:"repository"`
		Organization string   `json:"organization"`
		URL          string   `json:"url"`
		Secret       string   `json:"secret"`
		Events       []string `json:"events"`
	}
	if !appAdminDecode(w, r, &req) {
		return
	}
	var id int64
	var err error
	switch owner, name, ok := strings.Cut(req.Repository, "/"); {
	case req.Repository != "" && req.Organization != "", req.Repository == "" && req.Organization == "":
		err = fmt.Errorf("ghsim: add hook: give one of repository and organization")
	case req.Repository != "" && !ok:
		err = fmt.Errorf("ghsim: add hook: repository %q is not owner/name", req.Repository)
	case req.Repository != "":
		id, err = s.AddRepoHook(owner, name, req.URL, req.Secret, req.Events...)
	default:
		id, err = s.AddOrgHook(req.Organization, req.URL, req.Secret, req.Events...)
	}
	if err != nil {
		appAdminFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
}
