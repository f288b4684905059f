package ghsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Shared JSON shapes and paging of the app side (apps, repositories,
// issues). Called with s.mu held.

// simpleUser is the simple user object GitHub embeds everywhere (owner,
// user, sender, account). The app's bot is a user of type Bot.
func (s *world) simpleUser(login string) map[string]any {
	if lower(login) == lower(s.BotLogin()) {
		v := s.accountObject(s.BotLogin(), botUserID, "Bot")
		v["html_url"] = s.appHTMLURL("apps/" + AppSlug)
		return v
	}
	a, ok := s.st.accounts[lower(login)]
	if !ok {
		// A login that is gone from the world still renders, as GitHub
		// renders "ghost" for deleted users.
		return s.accountObject(login, 0, "User")
	}
	return s.accountObject(a.Login, a.ID, a.Type)
}

// orgObject is an organization object for an account outside the world.
func (s *world) orgObject(login string, id int64) map[string]any {
	return s.accountObject(login, id, "Organization")
}

func (s *world) accountObject(login string, id int64, typ string) map[string]any {
	api := s.opts.APIURL + "users/" + login
	prefix := "U_"
	switch typ {
	case "Organization":
		prefix = "O_"
	case "Bot":
		prefix = "BOT_"
	}
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             appNodeID(prefix, id),
		"avatar_url":          fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            s.appHTMLURL(login),
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                typ,
		"site_admin":          false,
	}
}

// appHTMLURL is the web address of path. The simulator serves no web
// pages but the issue page (issues_html.go); it writes them on its own
// origin, as GitHub Enterprise Server serves the web UI beside the API.
func (s *world) appHTMLURL(path string) string {
	base := strings.TrimSuffix(s.opts.APIURL, "/")
	base = strings.TrimSuffix(base, "/api/v3")
	return base + "/" + strings.TrimPrefix(path, "/")
}

// appPaging reads page and per_page as GitHub does: per_page defaults to
// 30 and is capped at 100; values that are not positive numbers are
// ignored.
func appPaging(r *http.Request) (page, perPage int) {
	page, perPage = 1, 30
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	return page, perPage
}

// appPageBounds are the slice bounds of page in a list of n items.
func appPageBounds(n, page, perPage int) (lo, hi int) {
	lo = min((page-1)*perPage, n)
	hi = min(lo+perPage, n)
	return lo, hi
}

// appPageLinks writes GitHub's Link header (prev, next, last, first) for a
// list of total items.
func (s *world) appPageLinks(w http.ResponseWriter, r *http.Request, page, perPage, total int) {
	last := max(1, (total+perPage-1)/perPage)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", s.opts.APIURL, strings.TrimPrefix(r.URL.Path, "/"), q.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(min(page-1, last), "prev"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"))
	}
	if len(parts) > 0 {
		w.Header().Set("Link", strings.Join(parts, ", "))
	}
}
