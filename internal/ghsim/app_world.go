package ghsim

import "fmt"

// World builders of the app side beyond world.go: organization members,
// repository settings.

// AddOrgMember makes user a member of org, or an owner (admin) when admin
// is true. Making an owner a plain member demotes them.
func (s *world) AddOrgMember(org, user string, admin bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.accounts[lower(org)]
	if !ok || o.Type != "Organization" {
		return fmt.Errorf("ghsim: add member to %q: not an organization", org)
	}
	u, ok := s.st.accounts[lower(user)]
	if !ok || u.Type != "User" {
		return fmt.Errorf("ghsim: add member %q to %s: not a user", user, org)
	}
	o.Members[lower(user)] = true
	if admin {
		o.Admins[lower(user)] = true
	} else {
		delete(o.Admins, lower(user))
	}
	return nil
}

// RepoUpdate changes settings of a repository; nil fields stay as they are.
type RepoUpdate struct {
	Private       *bool   `json:"private"`
	HasIssues     *bool   `json:"has_issues"`
	DefaultBranch *string `json:"default_branch"`
}

// UpdateRepo changes settings of owner/name. A new default branch must
// exist already (it gets one by a PutFile on it).
func (s *world) UpdateRepo(owner, name string, u RepoUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return fmt.Errorf("ghsim: update %s/%s: no such repository", owner, name)
	}
	if u.DefaultBranch != nil {
		if _, ok := rp.Files[*u.DefaultBranch]; !ok {
			return fmt.Errorf("ghsim: update %s: no branch %q", rp.fullName(), *u.DefaultBranch)
		}
		rp.DefaultBranch = *u.DefaultBranch
	}
	if u.Private != nil {
		rp.Private = *u.Private
	}
	if u.HasIssues != nil {
		rp.HasIssues = *u.HasIssues
	}
	return nil
}

// HeadCommit is the sha of the head commit of branch ("" for the default
// branch) of owner/name, "" before the first commit.
func (s *world) HeadCommit(owner, name, branch string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return "", fmt.Errorf("ghsim: head of %s/%s: no such repository", owner, name)
	}
	if branch == "" {
		branch = rp.DefaultBranch
	}
	return rp.Heads[branch], nil
}
