package ghsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Packages REST API of the seed document: organization, user and
// authenticated-user namespaces, each with list/get/delete/restore of
// packages and of versions.

// Package types of the seed, and which of them only support
// repository-scoped permissions (their tokens also need the repo scope).
var (
	pkTypes         = map[string]bool{"npm": true, "maven": true, "rubygems": true, "docker": true, "nuget": true, "container": true}
	pkRepoScoped    = map[string]bool{"maven": true, "docker": true}
	pkVisibilities  = map[string]bool{"public": true, "private": true, "internal": true}
	pkRestoreWindow = 30 * 24 * time.Hour
)

// Limits a public version's downloads may reach before GitHub refuses to
// delete it (seed: "more than 5,000 downloads").
const pkMaxDeletableDownloads = 5000

// pkScope says which namespace a route addresses.
type pkScope int

const (
	pkOrg  pkScope = iota + 1 // /orgs/{org}
	pkUser                    // /users/{username}
	pkSelf                    // /user
)

// pkOp is what a request wants to do; it decides the scopes needed.
type pkOp int

const (
	pkRead pkOp = iota + 1
	pkDelete
	pkRestore
)

// packagesAPI is the part that serves the Packages REST API over the
// shared world.
type packagesAPI struct{ *world }

// register serves the 24 Packages endpoints of the seed.
func (s *packagesAPI) register(mux *http.ServeMux) {
	prefixes := map[pkScope]string{pkOrg: "/orgs/{org}", pkUser: "/users/{username}", pkSelf: "/user"}
	for scope, pre := range prefixes {
		base := pre + "/packages/{package_type}/{package_name}"
		mux.HandleFunc("GET "+pre+"/packages", s.pkHandle(scope, pkRead, s.pkListPackages))
		mux.HandleFunc("GET "+base, s.pkHandle(scope, pkRead, s.pkGetPackage))
		mux.HandleFunc("DELETE "+base, s.pkHandle(scope, pkDelete, s.pkDeletePackage))
		mux.HandleFunc("POST "+base+"/restore", s.pkHandle(scope, pkRestore, s.pkRestorePackage))
		mux.HandleFunc("GET "+base+"/versions", s.pkHandle(scope, pkRead, s.pkListVersions))
		mux.HandleFunc("GET "+base+"/versions/{package_version_id}", s.pkHandle(scope, pkRead, s.pkGetVersion))
		mux.HandleFunc("DELETE "+base+"/versions/{package_version_id}", s.pkHandle(scope, pkDelete, s.pkDeleteVersion))
		mux.HandleFunc("POST "+base+"/versions/{package_version_id}/restore", s.pkHandle(scope, pkRestore, s.pkRestoreVersion))
	}
}

// pkReq is one authenticated package request, resolved to its namespace.
type pkReq struct {
	w     http.ResponseWriter
	r     *http.Request
	p     *principal
	scope pkScope
	op    pkOp
	owner *account // the namespace's account
	typ   string   // package_type of the path ("" on list routes)
	name  string   // package_name, unescaped
}

// pkHandle wraps a package handler: it takes the lock, authenticates,
// refuses installation tokens, resolves the owner and checks the scopes.
func (s *packagesAPI) pkHandle(scope pkScope, op pkOp, h func(*pkReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, status, msg := s.authenticate(r)
		if status != 0 {
			writeError(w, status, msg)
			return
		}
		if p == nil {
			writeError(w, http.StatusUnauthorized, msgRequiresAuth)
			return
		}
		q := &pkReq{w: w, r: r, p: p, scope: scope, op: op,
			typ: r.PathValue("package_type"), name: r.PathValue("package_name")}
		switch p.Kind {
		case principalApp:
			// An app JWT only reaches /app endpoints on GitHub.
			writeError(w, http.StatusForbidden, "A JSON web token cannot be used to access this endpoint")
			return
		case principalInstallation:
			if !s.opts.AllowInstallationTokensOnPackages {
				writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
				return
			}
		}
		switch scope {
		case pkOrg:
			a, ok := s.st.accounts[lower(r.PathValue("org"))]
			if !ok || a.Type != "Organization" {
				writeError(w, http.StatusNotFound, msgNotFound)
				return
			}
			q.owner = a
		case pkUser:
			a, ok := s.st.accounts[lower(r.PathValue("username"))]
			if !ok {
				writeError(w, http.StatusNotFound, msgNotFound)
				return
			}
			q.owner = a
		case pkSelf:
			a, ok := s.st.accounts[p.login()]
			if !ok {
				// An installation token has no user behind it.
				writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
				return
			}
			q.owner = a
		}
		if q.typ != "" && !pkTypes[q.typ] {
			writeError(w, http.StatusNotFound, msgNotFound)
			return
		}
		typ := q.typ
		if typ == "" {
			typ = r.URL.Query().Get("package_type")
		}
		if !s.pkCheckScopes(q, typ) {
			return
		}
		h(q)
	}
}

// pkCheckScopes answers 403 when a classic token lacks a scope the
// operation needs, and reports whether the request may go on.
func (s *packagesAPI) pkCheckScopes(q *pkReq, typ string) bool {
	if q.p.Kind != principalClassic {
		return true
	}
	need := []string{"read:packages"}
	switch q.op {
	case pkDelete:
		need = append(need, "delete:packages")
	case pkRestore:
		need = append(need, "write:packages")
	}
	if pkRepoScoped[typ] {
		need = append(need, "repo")
	}
	q.w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(need, ", "))
	q.w.Header().Set("X-OAuth-Scopes", pkScopeList(q.p.Token))
	if q.owner != nil && q.owner.SAMLEnforced && !q.p.Token.SSOAuthorized[lower(q.owner.Login)] {
		// GitHub's REST docs ("Troubleshooting", "Authenticating"): a
		// classic token not authorised for an organisation that enforces
		// SAML SSO gets 403 with X-GitHub-SSO naming the page that
		// authorises it (valid an hour).
		q.w.Header().Set("X-GitHub-SSO", fmt.Sprintf("required; url=%s/orgs/%s/sso?authorization_request=%s", s.pkWebURL(), q.owner.Login, randomHex(8)))
		writeError(q.w, http.StatusForbidden, msgSAMLEnforced)
		return false
	}
	for _, sc := range need {
		if !pkHasScope(q.p.Token, sc) {
			writeError(q.w, http.StatusForbidden, fmt.Sprintf("You need at least %s scope to %s.", sc, pkOpWords(q)))
			return false
		}
	}
	return true
}

// msgSAMLEnforced is GitHub's message to a token not authorised for an
// organisation's SAML single sign-on.
const msgSAMLEnforced = "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization."

// pkOpWords ends GitHub's missing-scope message ("You need at least
// read:packages scope to list packages.").
func pkOpWords(q *pkReq) string {
	isVersion := q.r.PathValue("package_version_id") != "" || strings.HasSuffix(q.r.URL.Path, "/versions")
	switch {
	case q.op == pkDelete && isVersion:
		return "delete a package version"
	case q.op == pkDelete:
		return "delete a package"
	case q.op == pkRestore && isVersion:
		return "restore a package version"
	case q.op == pkRestore:
		return "restore a package"
	case q.typ == "":
		return "list packages"
	case isVersion:
		return "get a package's versions"
	}
	return "get a package"
}

// pkHasScope applies GitHub's scope implications: write:packages includes
// read:packages.
func pkHasScope(t *token, scope string) bool {
	if t.has(scope) {
		return true
	}
	return scope == "read:packages" && t.has("write:packages")
}

func pkScopeList(t *token) string {
	l := make([]string, 0, len(t.Scopes))
	for sc, ok := range t.Scopes {
		if ok {
			l = append(l, sc)
		}
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}

// pkIsMember says whether login belongs to the namespace of a: the user
// itself, or a member or admin of the organization.
func pkIsMember(a *account, login string) bool {
	if login == "" {
		return false
	}
	if a.Type == "User" {
		return lower(a.Login) == login
	}
	return a.Admins[login] || a.Members[login]
}

// pkIsAdmin says whether login may delete and restore in a's namespace.
func pkIsAdmin(a *account, login string) bool {
	if a.Type == "User" {
		return lower(a.Login) == login
	}
	return a.Admins[login]
}

// pkCanSee says whether the caller may see package p at all. Installation
// tokens (with the switch on) see their installation's account.
func (s *packagesAPI) pkCanSee(q *pkReq, p *pkg) bool {
	if p.Visibility == "public" {
		return true
	}
	return s.pkCallerIsMember(q)
}

func (s *packagesAPI) pkCallerIsMember(q *pkReq) bool {
	if q.p.Kind == principalInstallation {
		in := s.st.installations[q.p.Token.Installation]
		return in != nil && in.Account == lower(q.owner.Login)
	}
	return pkIsMember(q.owner, q.p.login())
}

func (s *packagesAPI) pkCallerIsAdmin(q *pkReq) bool {
	if q.p.Kind == principalInstallation {
		in := s.st.installations[q.p.Token.Installation]
		return in != nil && in.Account == lower(q.owner.Login) && in.Permissions["packages"] == "write"
	}
	return pkIsAdmin(q.owner, q.p.login())
}

// pkLive finds the live, visible package of the path, or answers 404.
func (s *packagesAPI) pkLive(q *pkReq) *pkg {
	p := s.st.packages[pkgKey{Owner: lower(q.owner.Login), Type: q.typ, Name: q.name}]
	if p == nil || !s.pkCanSee(q, p) {
		writeError(q.w, http.StatusNotFound, msgPackageNotFound)
		return nil
	}
	return p
}

// pkVersion finds the version of the path in p, active or deleted (deleted
// ones only within the restore window), or answers 404.
func (s *packagesAPI) pkVersion(q *pkReq, p *pkg) *version {
	id, err := strconv.ParseInt(q.r.PathValue("package_version_id"), 10, 64)
	if err == nil {
		for _, v := range p.Versions {
			if v.ID == id && s.pkVersionExists(v) {
				return v
			}
		}
	}
	writeError(q.w, http.StatusNotFound, msgPackageNotFound)
	return nil
}

// pkListedActive says whether listings show v as active at now: while
// it is, or, with Options.StaleListing, for that long after its deletion
// (ghcr.io's listings lag behind its deletions). A stale version is in no
// state=deleted listing yet, and shows the tags it had.
func (s *packagesAPI) pkListedActive(v *version, now time.Time) bool {
	return v.DeletedAt.IsZero() || s.pk.staleListing > 0 && now.Before(v.DeletedAt.Add(s.pk.staleListing))
}

// pkVersionExists is false for a version deleted longer ago than the
// restore window: GitHub purges it.
func (s *packagesAPI) pkVersionExists(v *version) bool { return pkVersionLive(v, s.clock.now()) }

// pkVersionLive says whether v is active or deleted within the restore
// window at now: what GitHub still knows of.
func pkVersionLive(v *version, now time.Time) bool {
	return v.DeletedAt.IsZero() || now.Sub(v.DeletedAt) <= pkRestoreWindow
}

// pkParseList reads page and per_page as GitHub does: defaults 1 and 30,
// per_page capped at 100. It answers 422 for a value that is not a number.
func pkParseList(q *pkReq) (page, perPage int, ok bool) {
	page, perPage = 1, 30
	v := q.r.URL.Query()
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(q.w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'page', \""+s+"\" is not an integer.")
			return 0, 0, false
		}
		if n > 0 {
			page = n
		}
	}
	if s := v.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(q.w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'per_page', \""+s+"\" is not an integer.")
			return 0, 0, false
		}
		switch {
		case n > 100:
			perPage = 100
		case n > 0:
			perPage = n
		}
	}
	return page, perPage, true
}

// pkPage slices n items for page/perPage and writes the Link header.
func (s *packagesAPI) pkPage(q *pkReq, n, page, perPage int) (lo, hi int) {
	last := (n + perPage - 1) / perPage
	if last < 1 {
		last = 1
	}
	link := func(p int, rel string) string {
		u := *q.r.URL
		vals := u.Query()
		vals.Set("page", strconv.Itoa(p))
		vals.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = vals.Encode()
		return fmt.Sprintf("<%s%s?%s>; rel=%q", strings.TrimSuffix(s.opts.APIURL, "/"), u.EscapedPath(), u.RawQuery, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		q.w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = (page - 1) * perPage
	if lo > n {
		lo = n
	}
	hi = min(lo+perPage, n)
	return lo, hi
}

func (s *packagesAPI) pkListPackages(q *pkReq) {
	vals := q.r.URL.Query()
	typ := vals.Get("package_type")
	switch {
	case typ == "":
		writeError(q.w, http.StatusBadRequest, "The package_type parameter is required.")
		return
	case !pkTypes[typ]:
		writeError(q.w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q is not a valid package_type: npm, maven, rubygems, docker, nuget, container.", typ))
		return
	}
	vis := vals.Get("visibility")
	if vis != "" && !pkVisibilities[vis] {
		writeError(q.w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q is not a valid visibility: public, private, internal.", vis))
		return
	}
	page, perPage, ok := pkParseList(q)
	if !ok {
		return
	}
	var out []*pkg
	for k, p := range s.st.packages {
		if k.Owner != lower(q.owner.Login) || k.Type != typ || !s.pkCanSee(q, p) {
			continue
		}
		if vis != "" && pkEffectiveVisibility(p) != pkEffectiveVisibilityOf(typ, vis) {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	lo, hi := s.pkPage(q, len(out), page, perPage)
	body := make([]*pkPackage, 0, hi-lo)
	for _, p := range out[lo:hi] {
		body = append(body, s.pkPackageJSON(p))
	}
	pkWriteOK(q, body)
}

// pkEffectiveVisibility folds internal into private for registries without
// granular permissions, as the seed's visibility parameter describes.
func pkEffectiveVisibility(p *pkg) string { return pkEffectiveVisibilityOf(p.Key.Type, p.Visibility) }

func pkEffectiveVisibilityOf(typ, vis string) string {
	if vis == "internal" && pkRepoScoped[typ] {
		return "private"
	}
	return vis
}

func (s *packagesAPI) pkGetPackage(q *pkReq) {
	if p := s.pkLive(q); p != nil {
		pkWriteOK(q, s.pkPackageJSON(p))
	}
}

func (s *packagesAPI) pkDeletePackage(q *pkReq) {
	p := s.pkLive(q)
	if p == nil {
		return
	}
	if !s.pkCallerIsAdmin(q) {
		writeError(q.w, http.StatusForbidden, msgMustBeAdmin)
		return
	}
	if p.Visibility == "public" {
		for _, v := range p.Versions {
			if v.DeletedAt.IsZero() && v.Downloads > pkMaxDeletableDownloads {
				writeError(q.w, http.StatusForbidden, msgTooManyDownloads)
				return
			}
		}
	}
	now := s.clock.now()
	p.DeletedAt = now
	delete(s.st.packages, p.Key)
	s.st.deletedPkgs = append(s.st.deletedPkgs, p)
	q.w.WriteHeader(http.StatusNoContent)
}

// Messages of refusals (see the package doc for their sources).
const (
	msgMustBeAdmin      = "You must be an admin of this package's namespace to delete or restore it."
	msgTooManyDownloads = "Publicly visible package versions with more than 5000 downloads cannot be deleted. Contact GitHub support for further assistance."
	msgLastVersion      = "You cannot delete the last version of a package. You must delete the package instead."
	msgNamespaceReused  = "A package with this name was created since this one was deleted. Delete the new package first to restore this one."
	// msgPackageNotFound is GitHub's 404 message on the package endpoints,
	// for a package and for a version alike (see the package doc).
	msgPackageNotFound = "Package not found."
)

func (s *packagesAPI) pkRestorePackage(q *pkReq) {
	// The token query parameter ("package token") is accepted and ignored:
	// the seed does not say what it checks.
	key := pkgKey{Owner: lower(q.owner.Login), Type: q.typ, Name: q.name}
	now := s.clock.now()
	idx := -1
	for i := len(s.st.deletedPkgs) - 1; i >= 0; i-- {
		p := s.st.deletedPkgs[i]
		if p.Key == key && now.Sub(p.DeletedAt) <= pkRestoreWindow {
			idx = i
			break
		}
	}
	if idx < 0 || !s.pkCallerIsMember(q) {
		writeError(q.w, http.StatusNotFound, msgPackageNotFound)
		return
	}
	if !s.pkCallerIsAdmin(q) {
		writeError(q.w, http.StatusForbidden, msgMustBeAdmin)
		return
	}
	if _, taken := s.st.packages[key]; taken {
		writeError(q.w, http.StatusForbidden, msgNamespaceReused)
		return
	}
	p := s.st.deletedPkgs[idx]
	s.st.deletedPkgs = append(s.st.deletedPkgs[:idx], s.st.deletedPkgs[idx+1:]...)
	p.DeletedAt = time.Time{}
	s.st.packages[key] = p
	q.w.WriteHeader(http.StatusNoContent)
}

func (s *packagesAPI) pkListVersions(q *pkReq) {
	p := s.pkLive(q)
	if p == nil {
		return
	}
	state := q.r.URL.Query().Get("state")
	switch state {
	case "":
		state = "active"
	case "active", "deleted":
	default:
		writeError(q.w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q is not a valid state: active, deleted.", state))
		return
	}
	page, perPage, ok := pkParseList(q)
	if !ok {
		return
	}
	var out []*version
	now := s.clock.now()
	for _, v := range p.Versions {
		if (state == "active") != s.pkListedActive(v, now) || !s.pkVersionExists(v) {
			continue
		}
		out = append(out, v)
	}
	pkSortVersions(out)
	lo, hi := s.pkPage(q, len(out), page, perPage)
	body := make([]*pkVersion, 0, hi-lo)
	for _, v := range out[lo:hi] {
		body = append(body, s.pkVersionJSON(p, v))
	}
	pkWriteOK(q, body)
}

// pkSortVersions orders versions newest first, as GitHub lists them.
func pkSortVersions(vs []*version) {
	sort.SliceStable(vs, func(i, j int) bool {
		if !vs[i].CreatedAt.Equal(vs[j].CreatedAt) {
			return vs[i].CreatedAt.After(vs[j].CreatedAt)
		}
		return vs[i].ID > vs[j].ID
	})
}

func (s *packagesAPI) pkGetVersion(q *pkReq) {
	p := s.pkLive(q)
	if p == nil {
		return
	}
	if v := s.pkVersion(q, p); v != nil {
		pkWriteOK(q, s.pkVersionJSON(p, v))
	}
}

func (s *packagesAPI) pkDeleteVersion(q *pkReq) {
	p := s.pkLive(q)
	if p == nil {
		return
	}
	v := s.pkVersion(q, p)
	if v == nil {
		return
	}
	if !v.DeletedAt.IsZero() {
		// Deleted already, though a stale listing may still show it
		// (Options.StaleListing): GitHub answers as for any version it
		// does not have.
		writeError(q.w, http.StatusNotFound, msgPackageNotFound)
		return
	}
	if !s.pkCallerIsAdmin(q) {
		writeError(q.w, http.StatusForbidden, msgMustBeAdmin)
		return
	}
	if p.Visibility == "public" && v.Downloads > pkMaxDeletableDownloads {
		writeError(q.w, http.StatusForbidden, msgTooManyDownloads)
		return
	}
	if pkActiveCount(p) <= 1 {
		writeError(q.w, http.StatusBadRequest, msgLastVersion)
		return
	}
	pkDeleteVersionState(p, v, s.clock.now())
	q.w.WriteHeader(http.StatusNoContent)
}

// pkDeleteVersionState marks v deleted; its tags move to DeletedTags so
// that state=deleted listings still show them and a restore can give them
// back.
func pkDeleteVersionState(p *pkg, v *version, now time.Time) {
	v.DeletedAt = now
	v.DeletedTags = v.Tags
	v.Tags = nil
	p.UpdatedAt = now
}

func pkActiveCount(p *pkg) int {
	n := 0
	for _, v := range p.Versions {
		if v.DeletedAt.IsZero() {
			n++
		}
	}
	return n
}

func (s *packagesAPI) pkRestoreVersion(q *pkReq) {
	p := s.pkLive(q)
	if p == nil {
		return
	}
	v := s.pkVersion(q, p)
	if v == nil {
		return
	}
	if !s.pkCallerIsAdmin(q) {
		writeError(q.w, http.StatusForbidden, msgMustBeAdmin)
		return
	}
	if v.DeletedAt.IsZero() {
		// Restoring an active version changes nothing; GitHub answers 204.
		q.w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, o := range p.Versions {
		if o != v && o.DeletedAt.IsZero() && o.Name == v.Name {
			writeError(q.w, http.StatusForbidden, msgNamespaceReused)
			return
		}
	}
	pkRestoreVersionState(p, v, s.clock.now(), !s.pk.restoreWithoutTags)
	q.w.WriteHeader(http.StatusNoContent)
}

// pkRestoreVersionState brings v back with the tags no active version
// holds now, or with none when withTags is false
// (Options.RestoreWithoutTags).
func pkRestoreVersionState(p *pkg, v *version, now time.Time, withTags bool) {
	held := map[string]bool{}
	for _, o := range p.Versions {
		if o.DeletedAt.IsZero() {
			for _, t := range o.Tags {
				held[t] = true
			}
		}
	}
	var tags []string
	for _, t := range v.DeletedTags {
		if withTags && !held[t] {
			tags = append(tags, t)
		}
	}
	v.Tags = tags
	v.DeletedTags = nil
	v.DeletedAt = time.Time{}
	p.UpdatedAt = now
}

// ---- JSON shapes ----

// pkWriteOK answers 200 with v as JSON and a weak ETag of the body, or
// 304 Not Modified when If-None-Match names that ETag, as GitHub does for
// conditional requests (GitHub REST docs, "Best practices": conditional
// requests do not count against the rate limit when they answer 304).
func pkWriteOK(q *pkReq, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(q.w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	q.w.Header().Set("ETag", etag)
	for _, cand := range strings.Split(q.r.Header.Get("If-None-Match"), ",") {
		if c := strings.TrimSpace(cand); c == etag || c == strings.TrimPrefix(etag, "W/") {
			q.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write(append(body, '\n'))
}
