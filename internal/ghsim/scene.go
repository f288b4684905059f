package ghsim

import (
	"fmt"
)

// Setting the scene from Go, for tests and worlds built outside the
// simulator: files that were always there, the simulated web's URL.

// SeedFile writes content at path on the default branch of owner/repo as
// if it had always been there: no commit, no push webhook, whatever the
// installations. PutFile is the push a user makes.
func (s *Sim) SeedFile(owner, repoName, path, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.repos[lower(owner+"/"+repoName)]
	if r == nil {
		return fmt.Errorf("ghsim: seed file %s: no repo %s/%s", path, owner, repoName)
	}
	if r.Files[r.DefaultBranch] == nil {
		r.Files[r.DefaultBranch] = map[string][]byte{}
	}
	r.Files[r.DefaultBranch][path] = []byte(content)
	return nil
}

// WebURL is the simulated github.com (the API URL + "/web"): html_url
// links and packages' sources (DemoImage's source) point under it.
func (s *Sim) WebURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pkWebURL()
}
