package ghsim

import (
	"fmt"
	"net/url"
	"strings"
)

// The JSON shapes of packages and versions, shared by the Packages REST
// API (packages.go) and the registry_package webhooks (registry.go).

const pkTimeFormat = "2006-01-02T15:04:05Z"

// pkWebURL is the simulated github.com: the API URL's origin under /web.
func (s *world) pkWebURL() string { return strings.TrimSuffix(s.opts.APIURL, "/") + "/web" }

// pkAccountJSON is the simple-user shape GitHub embeds as owner and sender.
func (s *world) pkAccountJSON(a *account) map[string]any {
	api := strings.TrimSuffix(s.opts.APIURL, "/")
	u := api + "/users/" + a.Login
	return map[string]any{
		"login":               a.Login,
		"id":                  a.ID,
		"node_id":             pkNodeID(a.Type, a.ID),
		"avatar_url":          fmt.Sprintf("%s/avatars/u/%d?v=4", s.pkWebURL(), a.ID),
		"gravatar_id":         "",
		"url":                 u,
		"html_url":            s.pkWebURL() + "/" + a.Login,
		"followers_url":       u + "/followers",
		"following_url":       u + "/following{/other_user}",
		"gists_url":           u + "/gists{/gist_id}",
		"starred_url":         u + "/starred{/owner}{/repo}",
		"subscriptions_url":   u + "/subscriptions",
		"organizations_url":   u + "/orgs",
		"repos_url":           u + "/repos",
		"events_url":          u + "/events{/privacy}",
		"received_events_url": u + "/received_events",
		"type":                a.Type,
		"site_admin":          false,
	}
}

// pkNodeID makes a stable GraphQL-style node id.
func pkNodeID(typ string, id int64) string {
	return fmt.Sprintf("%s_%d", map[string]string{"User": "U", "Organization": "O", "Repository": "R", "Package": "P", "PackageVersion": "PV"}[typ], id)
}

// pkRepoJSON is the minimal-repository shape GitHub embeds in packages and
// webhooks.
func (s *world) pkRepoJSON(r *repo) map[string]any {
	api := strings.TrimSuffix(s.opts.APIURL, "/")
	u := api + "/repos/" + r.fullName()
	owner := s.st.accounts[lower(r.Owner)]
	m := map[string]any{
		"id": r.ID, "node_id": pkNodeID("Repository", r.ID), "name": r.Name, "full_name": r.fullName(),
		"private": r.Private, "html_url": s.pkWebURL() + "/" + r.fullName(), "description": nil, "fork": false,
		"url": u, "default_branch": r.DefaultBranch, "has_issues": r.HasIssues,
	}
	if owner != nil {
		m["owner"] = s.pkAccountJSON(owner)
	}
	for k, suffix := range map[string]string{
		"forks_url": "/forks", "keys_url": "/keys{/key_id}", "collaborators_url": "/collaborators{/collaborator}",
		"teams_url": "/teams", "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}",
		"events_url": "/events", "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
		"tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
		"git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
		"languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
		"subscribers_url": "/subscribers", "subscription_url": "/subscription", "commits_url": "/commits{/sha}",
		"git_commits_url": "/git/commits{/sha}", "comments_url": "/comments{/number}",
		"issue_comment_url": "/issues/comments{/number}", "contents_url": "/contents/{+path}",
		"compare_url": "/compare/{base}...{head}", "merges_url": "/merges",
		"archive_url": "/{archive_format}{/ref}", "downloads_url": "/downloads", "issues_url": "/issues{/number}",
		"pulls_url": "/pulls{/number}", "milestones_url": "/milestones{/number}",
		"notifications_url": "/notifications{?since,all,participating}", "labels_url": "/labels{/name}",
		"releases_url": "/releases{/id}", "deployments_url": "/deployments",
	} {
		m[k] = u + suffix
	}
	return m
}

// pkAPIPath is the API URL of a package: /orgs/… for an organization's,
// /users/… for a user's, whichever route asked, as in the seed's examples.
func (s *world) pkAPIPath(p *pkg) string {
	ns := "users/"
	if a := s.st.accounts[p.Key.Owner]; a != nil && a.Type == "Organization" {
		ns = "orgs/"
	}
	return s.opts.APIURL + ns + p.Owner + "/packages/" + p.Key.Type + "/" + url.PathEscape(p.Key.Name)
}

// pkHTMLURL is the package's page: under the repository when linked and
// not a container, as the seed's examples show.
func (s *world) pkHTMLURL(p *pkg) string {
	if r := s.st.repos[p.Repository]; r != nil && p.Key.Type != "container" {
		return fmt.Sprintf("%s/%s/packages/%d", s.pkWebURL(), r.fullName(), p.ID)
	}
	ns := "users"
	if a := s.st.accounts[p.Key.Owner]; a != nil && a.Type == "Organization" {
		ns = "orgs"
	}
	return fmt.Sprintf("%s/%s/%s/packages/%s/package/%s", s.pkWebURL(), ns, p.Owner, p.Key.Type, url.PathEscape(p.Key.Name))
}

func (s *world) pkPackageJSON(p *pkg) map[string]any {
	m := map[string]any{
		"id":            p.ID,
		"name":          p.Key.Name,
		"package_type":  p.Key.Type,
		"version_count": pkActiveCount(p),
		"visibility":    p.Visibility,
		"url":           s.pkAPIPath(p),
		"created_at":    p.CreatedAt.UTC().Format(pkTimeFormat),
		"updated_at":    p.UpdatedAt.UTC().Format(pkTimeFormat),
		"html_url":      s.pkHTMLURL(p),
	}
	if a := s.st.accounts[p.Key.Owner]; a != nil {
		m["owner"] = s.pkAccountJSON(a)
	}
	// Every package carries the key, null when unlinked, so clients meet
	// the same key set either way (DESIGN.md "The simulator").
	m["repository"] = nil
	if r := s.st.repos[p.Repository]; r != nil {
		m["repository"] = s.pkRepoJSON(r)
	}
	return m
}

func (s *world) pkVersionJSON(p *pkg, v *version) map[string]any {
	pkgHTML := s.pkHTMLURL(p)
	m := map[string]any{
		"id":               v.ID,
		"name":             v.Name,
		"url":              fmt.Sprintf("%s/versions/%d", s.pkAPIPath(p), v.ID),
		"package_html_url": pkgHTML,
		"created_at":       v.CreatedAt.UTC().Format(pkTimeFormat),
		"updated_at":       v.UpdatedAt.UTC().Format(pkTimeFormat),
	}
	meta := map[string]any{"package_type": p.Key.Type}
	if p.Key.Type == "container" || p.Key.Type == "docker" {
		tags := v.Tags
		if !v.DeletedAt.IsZero() {
			tags = v.DeletedTags
		}
		if tags == nil {
			tags = []string{}
		}
		meta[p.Key.Type] = map[string]any{"tags": tags}
		m["html_url"] = fmt.Sprintf("%s/%d", strings.Replace(pkgHTML, "/package/", "/", 1), v.ID)
	} else {
		m["html_url"] = pkgHTML + "?version=" + url.QueryEscape(v.Name)
		m["license"] = v.License
		m["description"] = v.Description
	}
	m["metadata"] = meta
	return m
}
