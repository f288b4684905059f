package ghsim

import (
	"fmt"
	"net/url"
	"strings"
)

// The JSON shapes of packages and versions, shared by the Packages REST
// API (packages.go) and the registry_package webhooks (registry.go). The
// fields of each type are in the order of their JSON names, as the maps
// these types replaced encoded them, so bodies (and their ETags) are the
// same byte for byte.

const pkTimeFormat = "2006-01-02T15:04:05Z"

// pkWebURL is the simulated github.com: the API URL's origin under /web.
func (s *world) pkWebURL() string { return strings.TrimSuffix(s.opts.APIURL, "/") + "/web" }

// pkAccount is the simple-user shape GitHub embeds as owner and sender.
type pkAccount struct {
	AvatarURL         string `json:"avatar_url"`
	EventsURL         string `json:"events_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	GravatarID        string `json:"gravatar_id"`
	HTMLURL           string `json:"html_url"`
	ID                int64  `json:"id"`
	Login             string `json:"login"`
	NodeID            string `json:"node_id"`
	OrganizationsURL  string `json:"organizations_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	ReposURL          string `json:"repos_url"`
	SiteAdmin         bool   `json:"site_admin"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	Type              string `json:"type"`
	URL               string `json:"url"`
}

func (s *world) pkAccountJSON(a *account) *pkAccount {
	api := strings.TrimSuffix(s.opts.APIURL, "/")
	u := api + "/users/" + a.Login
	return &pkAccount{
		Login:             a.Login,
		ID:                a.ID,
		NodeID:            pkNodeID(a.Type, a.ID),
		AvatarURL:         fmt.Sprintf("%s/avatars/u/%d?v=4", s.pkWebURL(), a.ID),
		URL:               u,
		HTMLURL:           s.pkWebURL() + "/" + a.Login,
		FollowersURL:      u + "/followers",
		FollowingURL:      u + "/following{/other_user}",
		GistsURL:          u + "/gists{/gist_id}",
		StarredURL:        u + "/starred{/owner}{/repo}",
		SubscriptionsURL:  u + "/subscriptions",
		OrganizationsURL:  u + "/orgs",
		ReposURL:          u + "/repos",
		EventsURL:         u + "/events{/privacy}",
		ReceivedEventsURL: u + "/received_events",
		Type:              a.Type,
	}
}

// pkNodeID makes a stable GraphQL-style node id.
func pkNodeID(typ string, id int64) string {
	return fmt.Sprintf("%s_%d", map[string]string{"User": "U", "Organization": "O", "Repository": "R", "Package": "P", "PackageVersion": "PV"}[typ], id)
}

// pkRepo is the minimal-repository shape GitHub embeds in packages and
// webhooks.
type pkRepo struct {
	ArchiveURL       string     `json:"archive_url"`
	AssigneesURL     string     `json:"assignees_url"`
	BlobsURL         string     `json:"blobs_url"`
	BranchesURL      string     `json:"branches_url"`
	CollaboratorsURL string     `json:"collaborators_url"`
	CommentsURL      string     `json:"comments_url"`
	CommitsURL       string     `json:"commits_url"`
	CompareURL       string     `json:"compare_url"`
	ContentsURL      string     `json:"contents_url"`
	ContributorsURL  string     `json:"contributors_url"`
	DefaultBranch    string     `json:"default_branch"`
	DeploymentsURL   string     `json:"deployments_url"`
	Description      *string    `json:"description"`
	DownloadsURL     string     `json:"downloads_url"`
	EventsURL        string     `json:"events_url"`
	Fork             bool       `json:"fork"`
	ForksURL         string     `json:"forks_url"`
	FullName         string     `json:"full_name"`
	GitCommitsURL    string     `json:"git_commits_url"`
	GitRefsURL       string     `json:"git_refs_url"`
	GitTagsURL       string     `json:"git_tags_url"`
	HasIssues        bool       `json:"has_issues"`
	HooksURL         string     `json:"hooks_url"`
	HTMLURL          string     `json:"html_url"`
	ID               int64      `json:"id"`
	IssueCommentURL  string     `json:"issue_comment_url"`
	IssueEventsURL   string     `json:"issue_events_url"`
	IssuesURL        string     `json:"issues_url"`
	KeysURL          string     `json:"keys_url"`
	LabelsURL        string     `json:"labels_url"`
	LanguagesURL     string     `json:"languages_url"`
	MergesURL        string     `json:"merges_url"`
	MilestonesURL    string     `json:"milestones_url"`
	Name             string     `json:"name"`
	NodeID           string     `json:"node_id"`
	NotificationsURL string     `json:"notifications_url"`
	Owner            *pkAccount `json:"owner,omitempty"`
	Private          bool       `json:"private"`
	PullsURL         string     `json:"pulls_url"`
	ReleasesURL      string     `json:"releases_url"`
	StargazersURL    string     `json:"stargazers_url"`
	StatusesURL      string     `json:"statuses_url"`
	SubscribersURL   string     `json:"subscribers_url"`
	SubscriptionURL  string     `json:"subscription_url"`
	TagsURL          string     `json:"tags_url"`
	TeamsURL         string     `json:"teams_url"`
	TreesURL         string     `json:"trees_url"`
	URL              string     `json:"url"`
}

func (s *world) pkRepoJSON(r *repo) *pkRepo {
	api := strings.TrimSuffix(s.opts.APIURL, "/")
	u := api + "/repos/" + r.fullName()
	out := &pkRepo{
		ArchiveURL:       u + "/{archive_format}{/ref}",
		AssigneesURL:     u + "/assignees{/user}",
		BlobsURL:         u + "/git/blobs{/sha}",
		BranchesURL:      u + "/branches{/branch}",
		CollaboratorsURL: u + "/collaborators{/collaborator}",
		CommentsURL:      u + "/comments{/number}",
		CommitsURL:       u + "/commits{/sha}",
		CompareURL:       u + "/compare/{base}...{head}",
		ContentsURL:      u + "/contents/{+path}",
		ContributorsURL:  u + "/contributors",
		DefaultBranch:    r.DefaultBranch,
		DeploymentsURL:   u + "/deployments",
		DownloadsURL:     u + "/downloads",
		EventsURL:        u + "/events",
		ForksURL:         u + "/forks",
		FullName:         r.fullName(),
		GitCommitsURL:    u + "/git/commits{/sha}",
		GitRefsURL:       u + "/git/refs{/sha}",
		GitTagsURL:       u + "/git/tags{/sha}",
		HasIssues:        r.HasIssues,
		HooksURL:         u + "/hooks",
		HTMLURL:          s.pkWebURL() + "/" + r.fullName(),
		ID:               r.ID,
		IssueCommentURL:  u + "/issues/comments{/number}",
		IssueEventsURL:   u + "/issues/events{/number}",
		IssuesURL:        u + "/issues{/number}",
		KeysURL:          u + "/keys{/key_id}",
		LabelsURL:        u + "/labels{/name}",
		LanguagesURL:     u + "/languages",
		MergesURL:        u + "/merges",
		MilestonesURL:    u + "/milestones{/number}",
		Name:             r.Name,
		NodeID:           pkNodeID("Repository", r.ID),
		NotificationsURL: u + "/notifications{?since,all,participating}",
		Private:          r.Private,
		PullsURL:         u + "/pulls{/number}",
		ReleasesURL:      u + "/releases{/id}",
		StargazersURL:    u + "/stargazers",
		StatusesURL:      u + "/statuses/{sha}",
		SubscribersURL:   u + "/subscribers",
		SubscriptionURL:  u + "/subscription",
		TagsURL:          u + "/tags",
		TeamsURL:         u + "/teams",
		TreesURL:         u + "/git/trees{/sha}",
		URL:              u,
	}
	if owner := s.st.accounts[lower(r.Owner)]; owner != nil {
		out.Owner = s.pkAccountJSON(owner)
	}
	return out
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

// pkPackage is a package object.
type pkPackage struct {
	CreatedAt   string     `json:"created_at"`
	HTMLURL     string     `json:"html_url"`
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Owner       *pkAccount `json:"owner,omitempty"`
	PackageType string     `json:"package_type"`
	// Repository is on every package, null when unlinked, so clients meet
	// the same key set either way (DESIGN.md "The simulator").
	Repository   *pkRepo `json:"repository"`
	UpdatedAt    string  `json:"updated_at"`
	URL          string  `json:"url"`
	VersionCount int     `json:"version_count"`
	Visibility   string  `json:"visibility"`
}

func (s *world) pkPackageJSON(p *pkg) *pkPackage {
	out := &pkPackage{
		ID:           p.ID,
		Name:         p.Key.Name,
		PackageType:  p.Key.Type,
		VersionCount: pkActiveCount(p),
		Visibility:   p.Visibility,
		URL:          s.pkAPIPath(p),
		CreatedAt:    p.CreatedAt.UTC().Format(pkTimeFormat),
		UpdatedAt:    p.UpdatedAt.UTC().Format(pkTimeFormat),
		HTMLURL:      s.pkHTMLURL(p),
	}
	if a := s.st.accounts[p.Key.Owner]; a != nil {
		out.Owner = s.pkAccountJSON(a)
	}
	if r := s.st.repos[p.Repository]; r != nil {
		out.Repository = s.pkRepoJSON(r)
	}
	return out
}

// pkVersion is a package version object. Description and License are
// there for other packages than containers (and docker), set or empty.
type pkVersion struct {
	CreatedAt      string            `json:"created_at"`
	Description    *string           `json:"description,omitempty"`
	HTMLURL        string            `json:"html_url"`
	ID             int64             `json:"id"`
	License        *string           `json:"license,omitempty"`
	Metadata       pkVersionMetadata `json:"metadata"`
	Name           string            `json:"name"`
	PackageHTMLURL string            `json:"package_html_url"`
	UpdatedAt      string            `json:"updated_at"`
	URL            string            `json:"url"`
}

// pkVersionMetadata holds the version's tags under the key of its type,
// for containers and docker.
type pkVersionMetadata struct {
	Container   *pkTags `json:"container,omitempty"`
	Docker      *pkTags `json:"docker,omitempty"`
	PackageType string  `json:"package_type"`
}

type pkTags struct {
	Tags []string `json:"tags"`
}

func (s *world) pkVersionJSON(p *pkg, v *version) *pkVersion {
	pkgHTML := s.pkHTMLURL(p)
	out := &pkVersion{
		ID:             v.ID,
		Name:           v.Name,
		URL:            fmt.Sprintf("%s/versions/%d", s.pkAPIPath(p), v.ID),
		PackageHTMLURL: pkgHTML,
		CreatedAt:      v.CreatedAt.UTC().Format(pkTimeFormat),
		UpdatedAt:      v.UpdatedAt.UTC().Format(pkTimeFormat),
		Metadata:       pkVersionMetadata{PackageType: p.Key.Type},
	}
	if p.Key.Type == "container" || p.Key.Type == "docker" {
		tags := v.Tags
		if !v.DeletedAt.IsZero() {
			tags = v.DeletedTags
		}
		if tags == nil {
			tags = []string{}
		}
		if p.Key.Type == "container" {
			out.Metadata.Container = &pkTags{Tags: tags}
		} else {
			out.Metadata.Docker = &pkTags{Tags: tags}
		}
		out.HTMLURL = fmt.Sprintf("%s/%d", strings.Replace(pkgHTML, "/package/", "/", 1), v.ID)
	} else {
		out.HTMLURL = pkgHTML + "?version=" + url.QueryEscape(v.Name)
		license, description := v.License, v.Description
		out.License, out.Description = &license, &description
	}
	return out
}
