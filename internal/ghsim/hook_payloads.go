package ghsim

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// The payloads of the webhooks about packages and installations, shaped
// after GitHub's example payloads (octokit/webhooks, vendored under
// testdata/github/webhooks/examples; TestWebhookShapes compares every key):
// what doc.go's "Webhooks" section lists.

// pkEvent sends the webhooks of a package version published or updated
// (a tag moved onto it): registry_package to the app installed on the
// owner (with installation) and to the hooks that want it, package to the
// hooks that want it. The app gets no package event: pkgwarden's manifest
// subscribes to registry_package only. Called with s.mu held.
func (s *world) pkEvent(action string, p *pkg, v *version, tag, senderLogin string) {
	if s.pk.quiet {
		return
	}
	owner := s.st.accounts[p.Key.Owner]
	if owner == nil {
		return
	}
	rp := s.st.repos[p.Repository]
	sender := owner.Login
	if a := s.st.accounts[lower(senderLogin)]; a != nil {
		sender = a.Login
	}
	payload := func(key string) map[string]any {
		m := map[string]any{key: s.pkHookPackage(p, v, tag, owner, rp), "sender": s.simpleUser(sender)}
		if owner.Type == "Organization" {
			m["organization"] = s.orgSummary(owner)
		}
		if rp != nil {
			m["repository"] = s.hookRepository(rp)
		}
		return m
	}
	if in := s.installationFor(p.Key.Owner); in != nil {
		m := payload("registry_package")
		m["installation"] = map[string]any{"id": in.ID, "node_id": appNodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", in.ID)}
		s.enqueueWebhook("registry_package", action, m)
	}
	for _, event := range []string{"registry_package", "package"} {
		for _, h := range s.hooksFor(event, rp, owner) {
			s.enqueueDelivery(h, event, action, payload(event))
		}
	}
}

// pkHookPackage is the package object of a package webhook. GitHub's
// shapes, from its examples: namespace "owner/repo" (the linked
// repository; the owner and the package's name without one), ecosystem and
// package_type "CONTAINER" for containers, the registry block
// ("GitHub <type> registry"), the owner as spelled, package_url and
// installation_command "<registry>/<Owner>/<name>:<tag>" (with the
// owner's case, and an empty tag for a push by digest, as GitHub's
// example has them). Called with s.mu held.
func (s *world) pkHookPackage(p *pkg, v *version, tag string, owner *account, rp *repo) map[string]any {
	namespace := owner.Login + "/" + p.Key.Name
	if rp != nil {
		namespace = rp.fullName()
	}
	ecosystem := p.Key.Type
	if p.Key.Type == "container" {
		ecosystem = "CONTAINER"
	}
	return map[string]any{
		"id":              p.ID,
		"name":            p.Key.Name,
		"namespace":       namespace,
		"description":     nil,
		"ecosystem":       ecosystem,
		"package_type":    ecosystem,
		"html_url":        s.pkHTMLURL(p),
		"created_at":      p.CreatedAt.UTC().Format(pkTimeFormat),
		"updated_at":      p.UpdatedAt.UTC().Format(pkTimeFormat),
		"owner":           s.simpleUser(owner.Login),
		"package_version": s.pkHookVersion(p, v, tag, owner, rp),
		"registry":        s.pkHookRegistry(p, owner, ecosystem),
	}
}

// pkHookVersion is the package_version object of a package webhook: the
// keys of GitHub's container example and of its npm example (release,
// author, tag_name, draft, source_url, docker_metadata), and for a
// container, container_metadata: the tag, the labels of the image config
// (source, revision, description, image_url, licenses from the OCI labels,
// all_labels with every label), and the manifest (digest, media_type, uri,
// size, config, layers). Called with s.mu held.
func (s *world) pkHookVersion(p *pkg, v *version, tag string, owner *account, rp *repo) map[string]any {
	created := v.CreatedAt.UTC().Format(pkTimeFormat)
	pv := map[string]any{
		"id":               v.ID,
		"name":             v.Name,
		"version":          v.Name,
		"summary":          v.Description,
		"description":      v.Description,
		"body":             "",
		"body_html":        "",
		"manifest":         "",
		"html_url":         s.pkVersionJSON(p, v).HTMLURL,
		"tag_name":         v.Name,
		"target_commitish": "",
		"target_oid":       "",
		"draft":            false,
		"prerelease":       v.Prerelease,
		"created_at":       created,
		"updated_at":       v.UpdatedAt.UTC().Format(pkTimeFormat),
		"metadata":         []any{},
		"docker_metadata":  []any{},
		"package_files":    []any{},
		"author":           s.simpleUser(owner.Login),
		"source_url":       "",
	}
	release := map[string]any{
		"url": "", "html_url": "", "id": 0, "tag_name": v.Name, "target_commitish": "", "name": v.Name,
		"draft": false, "author": s.simpleUser(owner.Login), "prerelease": v.Prerelease,
		"created_at": created, "published_at": created,
	}
	if rp != nil {
		release["url"] = s.opts.APIURL + "repos/" + rp.fullName() + "/releases/" + fmt.Sprint(v.ID)
		release["html_url"] = s.appHTMLURL(rp.fullName() + "/releases/tag/" + url.PathEscape(v.Name))
		release["id"] = v.ID
	}
	pv["release"] = release
	if p.Key.Type != "container" {
		pv["package_url"] = s.pkHTMLURL(p)
		pv["installation_command"] = ""
		if p.Key.Type == "npm" {
			pv["installation_command"] = "npm install @" + owner.Login + "/" + p.Key.Name + "@" + v.Name
		}
		return pv
	}
	regHost := s.opts.RegistryURL
	if u, err := url.Parse(regHost); err == nil && u.Host != "" {
		regHost = u.Host
	}
	pullRef := regHost + "/" + owner.Login + "/" + p.Key.Name + ":" + tag
	pv["package_url"] = pullRef
	pv["installation_command"] = "docker pull " + pullRef
	pv["source_url"] = pullRef
	im := v.Image
	if im == nil {
		im = &regImage{}
	}
	lab := func(k string) string { return im.Labels["org.opencontainers.image."+k] }
	all := map[string]any{}
	for k, val := range im.Labels {
		all[k] = val
	}
	layers := make([]any, 0, len(im.Layers))
	for _, l := range im.Layers {
		layers = append(layers, map[string]any{"digest": l.Digest, "media_type": l.MediaType, "size": l.Size})
	}
	pv["container_metadata"] = map[string]any{
		"tag": map[string]any{"name": tag, "digest": v.Name},
		"labels": map[string]any{
			"description": lab("description"), "source": lab("source"), "revision": lab("revision"),
			"image_url": lab("url"), "licenses": lab("licenses"), "all_labels": all,
		},
		"manifest": map[string]any{
			"digest":     v.Name,
			"media_type": v.MediaType,
			"uri":        "repositories/" + owner.Login + "/" + p.Key.Name + "/manifests/" + v.Name,
			"size":       im.Size,
			"config":     map[string]any{"digest": im.Config.Digest, "media_type": im.Config.MediaType, "size": im.Config.Size},
			"layers":     layers,
		},
	}
	return pv
}

// pkHookRegistry is the registry block of a package webhook, as GitHub's
// examples spell it ("GitHub CONTAINER registry", "GitHub npm registry",
// the owner's case); a container's url is the simulator's registry.
func (s *world) pkHookRegistry(p *pkg, owner *account, typ string) map[string]any {
	m := map[string]any{"about_url": "https://docs.github.com/packages/learn-github-packages/introduction-to-github-packages",
		"name": "GitHub " + typ + " registry", "type": typ, "vendor": "GitHub Inc",
		"url": "https://" + p.Key.Type + ".pkg.github.com/" + owner.Login}
	switch p.Key.Type {
	case "container":
		m["url"] = s.opts.RegistryURL + "/" + owner.Login
	case "npm":
		m["url"] = "https://npm.pkg.github.com/@" + owner.Login
	}
	return m
}

// hookRepository is the repository object of webhooks: the REST
// repository plus the keys GitHub's webhook examples carry that the REST
// view here leaves out. Called with s.mu held.
func (s *world) hookRepository(rp *repo) map[string]any {
	v := s.fullRepository(rp, nil)
	api := s.opts.APIURL + "repos/" + rp.fullName()
	html := s.appHTMLURL(rp.fullName())
	for k, path := range map[string]string{
		"forks_url": "/forks", "keys_url": "/keys{/key_id}", "teams_url": "/teams",
		"issue_events_url": "/issues/events{/number}", "assignees_url": "/assignees{/user}",
		"tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
		"git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}", "statuses_url": "/statuses/{sha}",
		"languages_url": "/languages", "stargazers_url": "/stargazers", "contributors_url": "/contributors",
		"subscribers_url": "/subscribers", "subscription_url": "/subscription",
		"git_commits_url": "/git/commits{/sha}", "compare_url": "/compare/{base}...{head}",
		"merges_url": "/merges", "downloads_url": "/downloads", "milestones_url": "/milestones{/number}",
		"notifications_url": "/notifications{?since,all,participating}", "releases_url": "/releases{/id}",
		"deployments_url": "/deployments",
	} {
		if _, ok := v[k]; !ok {
			v[k] = api + path
		}
	}
	host := strings.TrimPrefix(strings.TrimPrefix(html, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	v["ssh_url"] = "git@" + host + ":" + rp.fullName() + ".git"
	v["svn_url"] = html
	v["mirror_url"] = nil
	v["web_commit_signoff_required"] = false
	v["custom_properties"] = map[string]any{}
	return v
}

// hookInstallation is the installation object of installation events:
// the REST view with created_at and updated_at in Unix seconds, as
// GitHub's examples have them. Called with s.mu held.
func (s *world) hookInstallation(in *installation) map[string]any {
	v := (&appAPI{s}).installationView(in)
	v["created_at"] = in.CreatedAt.Unix()
	v["updated_at"] = in.CreatedAt.Unix()
	return v
}

// hookRepoSummaries are the repositories of installation events: id,
// node_id, name, full_name, private. Called with s.mu held.
func (s *world) hookRepoSummaries(rps []*repo) []any {
	sort.Slice(rps, func(i, j int) bool { return rps[i].ID < rps[j].ID })
	out := make([]any, 0, len(rps))
	for _, rp := range rps {
		out = append(out, map[string]any{"id": rp.ID, "node_id": appNodeID("R_", rp.ID), "name": rp.Name,
			"full_name": rp.fullName(), "private": rp.Private})
	}
	return out
}

// installationSender is who installs or changes an installation on
// account: the user, or an organization's first owner by login (the
// simulator has no web session to say who clicked). Called with s.mu held.
func (s *world) installationSender(a *account) string {
	if a.Type != "Organization" || len(a.Admins) == 0 {
		return a.Login
	}
	admins := make([]string, 0, len(a.Admins))
	for l := range a.Admins {
		admins = append(admins, l)
	}
	sort.Strings(admins)
	if u := s.st.accounts[admins[0]]; u != nil {
		return u.Login
	}
	return a.Login
}

// installationEvent sends installation created or deleted for in to the
// app (GitHub sends installation events to every app, subscribed or not).
// Called with s.mu held.
func (s *world) installationEvent(action string, in *installation) {
	a := s.st.accounts[in.Account]
	if a == nil {
		return
	}
	var rps []*repo
	for _, rp := range s.st.repos {
		if in.covers(rp) {
			rps = append(rps, rp)
		}
	}
	s.enqueueWebhook("installation", action, map[string]any{
		"installation": s.hookInstallation(in),
		"repositories": s.hookRepoSummaries(rps),
		// No requester: GitHub leaves it out when the installer needed
		// nobody's approval (examples/installation/created.payload.json).
		"sender": s.simpleUser(s.installationSender(a)),
	})
}

// installationReposEvent sends installation_repositories added or removed.
// Called with s.mu held.
func (s *world) installationReposEvent(action string, in *installation, added, removed []*repo) {
	a := s.st.accounts[in.Account]
	if a == nil {
		return
	}
	s.enqueueWebhook("installation_repositories", action, map[string]any{
		"installation":         s.hookInstallation(in),
		"repository_selection": in.selection(),
		"repositories_added":   s.hookRepoSummaries(added),
		"repositories_removed": s.hookRepoSummaries(removed),
		"requester":            nil,
		"sender":               s.simpleUser(s.installationSender(a)),
	})
}
