package ghsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// packageSide is the state of the registry side that the world model in
// state.go does not hold. Guarded by world.mu.
type packageSide struct {
	// inner is go-containerregistry's in-memory registry: it stores blobs
	// and manifests; the wrapper decides who may see what.
	inner http.Handler
	// grants are the bearer tokens /token handed out.
	grants map[string]*regGrant
	// quiet suppresses webhooks (the demo seed sends none).
	quiet bool
	// restoreWithoutTags: a restored version gets no tags back
	// (Options.RestoreWithoutTags).
	restoreWithoutTags bool
	// staleListing: how long a deleted version stays listed as active
	// (Options.StaleListing).
	staleListing time.Duration
}

// regGrant is what a registry bearer token stands for.
type regGrant struct {
	user         string // lower-cased login; "" for anonymous and installations
	installation int64
	pull, push   bool
	expires      time.Time // wall time
}

// regMaxManifest caps a manifest body, as registries do (ghcr: 4 MiB).
const regMaxManifest = 4 << 20

// regSourceLabel links an image to its repository on ghcr.io.
const regSourceLabel = "org.opencontainers.image.source"

// registryAPI is the part that serves the ghcr.io-like OCI registry (/v2/
// and /token) over the shared world: go-containerregistry's registry keeps
// blobs and manifests, and this part decides who may see what and turns
// pushes into package versions.
type registryAPI struct{ *world }

// newRegistryAPI builds the registry part, and the registry state of w.
func newRegistryAPI(s *world) *registryAPI {
	s.pk.grants = map[string]*regGrant{}
	// The referrers API is off by default in v0.22.1; say so explicitly,
	// since ghcr.io has none and clients must fall back to the
	// sha256-<hex> tag schema.
	s.pk.inner = ggcrregistry.New(
		ggcrregistry.WithReferrersSupport(false),
		ggcrregistry.Logger(log.New(io.Discard, "", 0)),
	)
	return &registryAPI{s}
}

// regError answers in the distribution spec's error shape.
func regError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func (s *registryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	switch {
	case r.URL.Path == "/token":
		s.regToken(w, r)
	case r.URL.Path == "/v2" || r.URL.Path == "/v2/":
		s.mu.Lock()
		g := s.regGrantOf(r)
		s.mu.Unlock()
		if g == nil {
			s.regChallenge(w, r, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(r.URL.Path, "/v2/"):
		s.regV2(w, r)
	default:
		regError(w, http.StatusNotFound, "NOT_FOUND", "not found")
	}
}

// regChallenge answers 401 with the Bearer challenge clients follow to /token.
func (s *registryAPI) regChallenge(w http.ResponseWriter, r *http.Request, scope string) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ch := fmt.Sprintf(`Bearer realm="%s://%s/token",service="ghsim"`, scheme, r.Host)
	if scope != "" {
		ch += fmt.Sprintf(`,scope=%q`, scope)
	}
	w.Header().Set("WWW-Authenticate", ch)
	regError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// regToken is the Docker token endpoint: Basic auth with a classic token
// (any username) gives a bearer token; no credentials give an anonymous
// one that pulls public packages only.
func (s *registryAPI) regToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &regGrant{expires: time.Now().Add(time.Hour)}
	if _, pass, ok := r.BasicAuth(); ok {
		t, found := s.st.tokens[pass]
		switch {
		case !found:
			regError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
			return
		case t.Kind == tokenInstallation && !s.opts.AllowInstallationTokensOnPackages:
			regError(w, http.StatusForbidden, "DENIED", "installation access tokens cannot access the container registry; use a personal access token (classic)")
			return
		case t.Kind == tokenInstallation:
			if !t.ExpiresAt.IsZero() && !s.clock.now().Before(t.ExpiresAt) {
				regError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
				return
			}
			in := s.st.installations[t.Installation]
			g.installation = t.Installation
			g.pull = in != nil && in.Permissions["packages"] != ""
			g.push = in != nil && in.Permissions["packages"] == "write"
		default:
			g.user = t.User
			g.pull = pkHasScope(t, "read:packages")
			g.push = t.has("write:packages")
		}
	} else {
		g.pull = true
	}
	tok := "ghsimreg_" + randomHex(20)
	s.pk.grants[tok] = g
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok, "access_token": tok, "expires_in": 3600,
		"issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

// regGrantOf finds the grant of a request's bearer token, or nil.
// Called with s.mu held.
func (s *registryAPI) regGrantOf(r *http.Request) *regGrant {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil
	}
	g := s.pk.grants[strings.TrimSpace(tok)]
	if g == nil || time.Now().After(g.expires) {
		return nil
	}
	return g
}

// regPath splits /v2/<name>/<kind>/<rest> into the repository name, the
// kind (manifests, blobs, tags, referrers) and the rest.
func regPath(p string) (name, kind, rest string, ok bool) {
	p = strings.TrimPrefix(p, "/v2/")
	best := -1
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.Index(p, k); i > 0 && (best < 0 || i < best) {
			best = i
			kind = strings.Trim(k, "/")
		}
	}
	if best < 0 {
		return "", "", "", false
	}
	return p[:best], kind, p[best+len(kind)+2:], true
}

// regAllowed says whether grant g may pull or push owner's repository
// name. Called with s.mu held.
func (s *registryAPI) regAllowed(g *regGrant, owner *account, p *pkg, push bool) bool {
	if push && !g.push || !push && !g.pull {
		return false
	}
	var member bool
	switch {
	case g.installation != 0:
		in := s.st.installations[g.installation]
		member = in != nil && in.Account == lower(owner.Login)
	case g.user != "":
		member = pkIsMember(owner, g.user)
	}
	if push {
		return member
	}
	return member || p != nil && p.Visibility == "public"
}

func (s *registryAPI) regV2(w http.ResponseWriter, r *http.Request) {
	name, kind, rest, ok := regPath(r.URL.Path)
	if !ok {
		regError(w, http.StatusNotFound, "NOT_FOUND", "unknown endpoint")
		return
	}
	ownerLogin, pkgName, _ := strings.Cut(name, "/")
	push := r.Method != http.MethodGet && r.Method != http.MethodHead
	action := "pull"
	if push {
		action = "push,pull"
	}
	scope := "repository:" + name + ":" + action

	s.mu.Lock()
	g := s.regGrantOf(r)
	if g == nil {
		s.mu.Unlock()
		s.regChallenge(w, r, scope)
		return
	}
	owner := s.st.accounts[lower(ownerLogin)]
	if owner == nil || pkgName == "" || name != strings.ToLower(name) {
		s.mu.Unlock()
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	key := pkgKey{Owner: lower(owner.Login), Type: "container", Name: pkgName}
	p := s.st.packages[key]
	if !s.regAllowed(g, owner, p, push) {
		s.mu.Unlock()
		if g.user == "" && g.installation == 0 {
			s.regChallenge(w, r, scope)
			return
		}
		regError(w, http.StatusForbidden, "DENIED", "permission_denied: The token provided does not match expected scopes.")
		return
	}
	switch {
	case kind == "tags" && r.Method == http.MethodGet:
		tags := []string{}
		if p != nil {
			for _, v := range p.Versions {
				if v.DeletedAt.IsZero() {
					tags = append(tags, v.Tags...)
				}
			}
		}
		s.mu.Unlock()
		if p == nil {
			regError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
			return
		}
		sort.Strings(tags)
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "tags": tags})
		return
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		digest := regResolve(p, rest)
		s.mu.Unlock()
		if p == nil {
			regError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
			return
		}
		if digest == "" {
			regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		// Serve by digest: the inner registry's tag map may disagree with
		// the versions (a restored version got a tag back).
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/v2/" + name + "/manifests/" + digest
		r2.URL.RawPath = ""
		s.pk.inner.ServeHTTP(w, r2)
		return
	case kind == "manifests" && r.Method == http.MethodPut:
		s.mu.Unlock()
		s.regPutManifest(w, r, g, owner, name, pkgName, rest)
		return
	case kind == "manifests" && r.Method == http.MethodDelete:
		s.mu.Unlock()
		// ghcr.io deletes through the Packages API, not the registry.
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "delete versions through the Packages API")
		return
	}
	s.mu.Unlock()
	s.pk.inner.ServeHTTP(w, r)
}

// regResolve maps a tag or digest to the digest of an active version of p,
// or "". Called with s.mu held.
func regResolve(p *pkg, ref string) string {
	if p == nil {
		return ""
	}
	for _, v := range p.Versions {
		if !v.DeletedAt.IsZero() {
			continue
		}
		if v.Name == ref {
			return v.Name
		}
		for _, t := range v.Tags {
			if t == ref {
				return v.Name
			}
		}
	}
	return ""
}

func (s *registryAPI) regPutManifest(w http.ResponseWriter, r *http.Request, g *regGrant, owner *account, name, pkgName, ref string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, regMaxManifest+1))
	if err != nil {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "read manifest: "+err.Error())
		return
	}
	if len(body) > regMaxManifest {
		regError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", "manifest too large")
		return
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if strings.HasPrefix(ref, "sha256:") && ref != digest {
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", "manifest digest does not match "+ref)
		return
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	s.pk.inner.ServeHTTP(rec, r2)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	if rec.Code != http.StatusCreated {
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	img := s.regImageOf(name, body)
	tag := ""
	if !strings.HasPrefix(ref, "sha256:") {
		tag = ref
	}
	s.mu.Lock()
	s.pkRecordContainerPush(owner, pkgName, digest, r.Header.Get("Content-Type"), tag, img, g)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(rec.Body.Bytes())
}

// regImage is what a pushed manifest says about its image, for webhooks
// (container_metadata) and linking: the manifest's size, config and
// layers, and the labels of its image config (an index's or a manifest's
// annotations when it has no config).
type regImage struct {
	Size        int64
	Config      regDescriptor
	Layers      []regDescriptor
	Labels      map[string]string
	Annotations map[string]string
}

// regDescriptor is a descriptor as container_metadata.manifest shows it.
type regDescriptor struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// source is the org.opencontainers.image.source of the manifest's
// annotations, else of the config's labels.
func (im *regImage) source() string {
	if im == nil {
		return ""
	}
	if src := im.Annotations[regSourceLabel]; src != "" {
		return src
	}
	return im.Labels[regSourceLabel]
}

// regImageOf reads a pushed manifest and its image config (from the inner
// registry): its layers and labels. The config's labels win over the
// manifest's annotations, which an index has in their place.
func (s *registryAPI) regImageOf(name string, body []byte) *regImage {
	var m struct {
		Annotations map[string]string `json:"annotations"`
		Config      *regDescriptor    `json:"config"`
		Layers      []regDescriptor   `json:"layers"`
	}
	im := &regImage{Size: int64(len(body)), Labels: map[string]string{}}
	if json.Unmarshal(body, &m) != nil {
		return im
	}
	im.Layers, im.Annotations = m.Layers, m.Annotations
	for k, v := range m.Annotations {
		im.Labels[k] = v
	}
	if m.Config == nil || m.Config.Digest == "" {
		return im
	}
	im.Config = *m.Config
	req := httptest.NewRequest(http.MethodGet, "/v2/"+name+"/blobs/"+m.Config.Digest, nil)
	rec := httptest.NewRecorder()
	s.pk.inner.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return im
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &cfg) != nil {
		return im
	}
	if len(cfg.Config.Labels) > 0 {
		im.Labels = cfg.Config.Labels
	}
	return im
}

// pkRepoFromSource finds the repository a source URL names, if it exists
// under owner ("https://github.com/acme/webapp" → acme/webapp). Called with
// s.mu held.
func (s *registryAPI) pkRepoFromSource(owner *account, source string) string {
	if source == "" {
		return ""
	}
	u, err := url.Parse(source)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return ""
	}
	o, n := parts[len(parts)-2], strings.TrimSuffix(parts[len(parts)-1], ".git")
	if lower(o) != lower(owner.Login) {
		return ""
	}
	full := lower(o + "/" + n)
	if _, ok := s.st.repos[full]; !ok {
		return ""
	}
	return full
}

// pkRecordContainerPush creates or updates the container package and the
// version of digest after a manifest PUT and moves tag onto it. A new
// version sends registry_package (and package) "published"; a tag moved
// onto an existing version "updated"; a push that changes nothing, none.
// Called with s.mu held.
func (s *registryAPI) pkRecordContainerPush(owner *account, pkgName, digest, mediaType, tag string, img *regImage, g *regGrant) {
	now := s.clock.now()
	key := pkgKey{Owner: lower(owner.Login), Type: "container", Name: pkgName}
	p := s.st.packages[key]
	if p == nil {
		p = &pkg{ID: s.st.id(), Key: key, Owner: owner.Login, Visibility: "private", CreatedAt: now, UpdatedAt: now}
		s.st.packages[key] = p
	}
	if p.Repository == "" {
		p.Repository = s.pkRepoFromSource(owner, img.source())
	}
	var v *version
	for _, o := range p.Versions {
		if o.Name == digest && o.DeletedAt.IsZero() {
			v = o
		}
	}
	action := ""
	if v == nil {
		v = &version{ID: s.st.id(), Name: digest, MediaType: mediaType, CreatedAt: now, UpdatedAt: now, Image: img}
		p.Versions = append(p.Versions, v)
		action = "published"
	}
	if tag != "" && !pkContains(v.Tags, tag) {
		for _, o := range p.Versions {
			if o != v && o.DeletedAt.IsZero() {
				o.Tags = pkRemove(o.Tags, tag)
			}
		}
		v.Tags = append(v.Tags, tag)
		v.UpdatedAt = now
		if action == "" {
			action = "updated"
		}
	}
	if action == "" {
		return
	}
	p.UpdatedAt = now
	s.pkEvent(action, p, v, tag, g.user)
}

func pkContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func pkRemove(l []string, s string) []string {
	out := l[:0:0]
	for _, x := range l {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
