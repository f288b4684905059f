package ghsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// ContainerManifest is one manifest for AddContainerManifests.
type ContainerManifest struct {
	// MediaType is the manifest's media type, as a push sends it in
	// Content-Type.
	MediaType string
	// Body is the manifest as stored; its sha256 is the version's digest.
	Body []byte
	// Tags are moved onto the version, as pushes of these tags would.
	Tags []string
	// CreatedAt backdates the version (zero: now).
	CreatedAt time.Time
}

// AddContainerManifests stores manifests in the registry as owner/pkgName
// and creates a version per new digest, in order (an index after its
// children, which the registry checks), creating the package on first use
// and linking a new one to repository ("owner/name", which must exist; ""
// for none). It sends no webhooks, counts against no rate limit and does
// not check that image manifests' blobs exist: it seeds packages of
// thousands of versions for benchmarks in a fraction of the time pushes
// take. It returns the digests, in order.
func (s *world) AddContainerManifests(owner, pkgName, repository string, ms []ContainerManifest) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[lower(owner)]
	if !ok {
		return nil, fmt.Errorf("ghsim: add manifests to %s/%s: no account %q", owner, pkgName, owner)
	}
	linked := ""
	if repository != "" {
		linked = lower(repository)
		if !strings.Contains(linked, "/") {
			linked = lower(a.Login + "/" + repository)
		}
		if _, ok := s.st.repos[linked]; !ok {
			return nil, fmt.Errorf("ghsim: add manifests to %s/%s: no repository %q", owner, pkgName, repository)
		}
	}
	now := s.clock.now()
	key := pkgKey{Owner: lower(a.Login), Type: "container", Name: pkgName}
	p := s.st.packages[key]
	if p == nil {
		p = &pkg{ID: s.st.id(), Key: key, Owner: a.Login, Visibility: "private", Repository: linked, CreatedAt: now, UpdatedAt: now}
		s.st.packages[key] = p
	}
	active := map[string]*version{}
	for _, v := range p.Versions {
		if v.DeletedAt.IsZero() {
			active[v.Name] = v
		}
	}
	name := lower(a.Login) + "/" + pkgName
	digests := make([]string, 0, len(ms))
	for i, m := range ms {
		sum := sha256.Sum256(m.Body)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		// The inner registry has its own lock and never calls back into
		// the simulator, so holding s.mu here is safe.
		for _, ref := range append([]string{digest}, m.Tags...) {
			req := httptest.NewRequest(http.MethodPut, "/v2/"+name+"/manifests/"+ref, strings.NewReader(string(m.Body)))
			req.Header.Set("Content-Type", m.MediaType)
			rec := httptest.NewRecorder()
			s.pk.inner.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				return digests, fmt.Errorf("ghsim: add manifest %d (%s) to %s: registry answered %d: %s", i, digest, name, rec.Code, strings.TrimSpace(rec.Body.String()))
			}
		}
		created := m.CreatedAt
		if created.IsZero() {
			created = now
		}
		v := active[digest]
		if v == nil {
			v = &version{ID: s.st.id(), Name: digest, MediaType: m.MediaType, CreatedAt: created, UpdatedAt: created}
			p.Versions = append(p.Versions, v)
			active[digest] = v
		}
		for _, tag := range m.Tags {
			if pkContains(v.Tags, tag) {
				continue
			}
			for _, o := range active {
				if o != v {
					o.Tags = pkRemove(o.Tags, tag)
				}
			}
			v.Tags = append(v.Tags, tag)
		}
		digests = append(digests, digest)
	}
	p.UpdatedAt = now
	return digests, nil
}
