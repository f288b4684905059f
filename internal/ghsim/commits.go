package ghsim

import (
	"fmt"
	"strconv"
	"strings"
)

// commit is one commit a repository holds: its parent and the files of
// the tree it points at. Snapshots are never changed once made, so forks
// and pull requests share them.
type commit struct {
	Parent string
	Files  map[string][]byte
	// Seeded are, for a commit without parent, the files its branch held
	// before it: those SeedFile put there "as if always there". A pull
	// request whose head and base share no commit is compared with them.
	Seeded map[string][]byte
}

// recordCommit keeps the snapshot of files as commit sha of rp; the
// commit changed path p, which held old before (had). Called with s.mu
// held.
func recordCommit(rp *repo, sha, parent string, files map[string][]byte, p string, old []byte, had bool) {
	if rp.Commits == nil {
		rp.Commits = map[string]*commit{}
	}
	snap := make(map[string][]byte, len(files))
	for k, v := range files {
		snap[k] = v
	}
	c := &commit{Parent: parent, Files: snap}
	if parent == "" {
		c.Seeded = make(map[string][]byte, len(files))
		for k, v := range files {
			c.Seeded[k] = v
		}
		delete(c.Seeded, p)
		if had {
			c.Seeded[p] = old
		}
	}
	rp.Commits[sha] = c
}

// rootOf is the first commit of sha's history.
func rootOf(commits map[string]*commit, sha string) *commit {
	var root *commit
	for c := sha; c != ""; {
		cm := commits[c]
		if cm == nil {
			break
		}
		root, c = cm, cm.Parent
	}
	return root
}

// refFiles finds the files at ref: a branch name (or refs/heads/...),
// refs/pull/{number}/head, or the sha of a commit the repository holds
// (a pull request's head commits included, those from forks too, as
// GitHub serves them from the base repository). "" is the default
// branch. name is the branch, or the sha for a commit.
func refFiles(rp *repo, ref string) (name string, files map[string][]byte, ok bool) {
	if ref == "" {
		return rp.DefaultBranch, rp.Files[rp.DefaultBranch], true
	}
	if rest, found := strings.CutPrefix(ref, "refs/pull/"); found {
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "/head")); err == nil && strings.HasSuffix(rest, "/head") {
			for _, pr := range rp.Pulls {
				if pr.Number == n {
					ref = pr.HeadSHA
				}
			}
		}
	}
	b := strings.TrimPrefix(ref, "refs/heads/")
	if f, found := rp.Files[b]; found {
		return b, f, true
	}
	// A branch's head is its files (they include what SeedFile put
	// there after the commit), an older commit its snapshot.
	for br, sha := range rp.Heads {
		if sha == ref {
			return br, rp.Files[br], true
		}
	}
	if c, found := rp.Commits[ref]; found {
		return ref, c.Files, true
	}
	return "", nil, false
}

// mergeBase is the newest ancestor of head that is also an ancestor of
// base (each counting itself), or "" when they share none.
func mergeBase(commits map[string]*commit, base, head string) string {
	seen := map[string]bool{}
	for c := base; c != ""; {
		seen[c] = true
		cm := commits[c]
		if cm == nil {
			break
		}
		c = cm.Parent
	}
	for c := head; c != ""; {
		if seen[c] {
			return c
		}
		cm := commits[c]
		if cm == nil {
			break
		}
		c = cm.Parent
	}
	return ""
}

// AddFork makes forkOwner/name a fork of owner/name, as GitHub's "Fork"
// button does: a repository of forkOwner (which must exist) with the same
// branches, files and commits, its own from then on.
func (s *world) AddFork(owner, name, forkOwner string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.st.repos[lower(owner+"/"+name)]
	if !ok {
		return 0, fmt.Errorf("ghsim: fork %s/%s: no such repository", owner, name)
	}
	a, ok := s.st.accounts[lower(forkOwner)]
	if !ok {
		return 0, fmt.Errorf("ghsim: fork %s/%s: no account %q", owner, name, forkOwner)
	}
	full := lower(a.Login + "/" + src.Name)
	if _, ok := s.st.repos[full]; ok {
		return 0, fmt.Errorf("ghsim: fork %s/%s: repo %s exists", owner, name, full)
	}
	r := &repo{
		ID: s.st.id(), Owner: a.Login, Name: src.Name, Private: src.Private, HasIssues: false,
		DefaultBranch: src.DefaultBranch,
		Files:         map[string]map[string][]byte{},
		Collaborators: map[string]string{},
		Labels:        map[string]*label{},
		CreatedAt:     s.clock.now(),
		Heads:         map[string]string{},
		Commits:       map[string]*commit{},
		ForkOf:        lower(src.fullName()),
	}
	for b, files := range src.Files {
		cp := make(map[string][]byte, len(files))
		for k, v := range files {
			cp[k] = v
		}
		r.Files[b] = cp
	}
	for b, sha := range src.Heads {
		r.Heads[b] = sha
	}
	for sha, c := range src.Commits {
		r.Commits[sha] = c
	}
	s.st.repos[full] = r
	return r.ID, nil
}
