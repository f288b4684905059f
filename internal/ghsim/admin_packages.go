package ghsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// registerPackageAdmin serves the package side of /_admin/ (routes listed
// in the package doc).
func (s *adminAPI) registerPackageAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /_admin/packages/publish", s.pkAdminPublish)
	mux.HandleFunc("PATCH /_admin/packages/{owner}/{package_type}/{package_name}", s.pkAdminPatchPackage)
	mux.HandleFunc("PATCH /_admin/packages/{owner}/{package_type}/{package_name}/versions/{version}", s.pkAdminPatchVersion)
	mux.HandleFunc("DELETE /_admin/packages/{owner}/{package_type}/{package_name}/versions/{version}", s.pkAdminDeleteVersion)
	mux.HandleFunc("POST /_admin/packages/{owner}/{package_type}/{package_name}/versions/{version}/purge", s.pkAdminPurgeVersion)
	mux.HandleFunc("GET /_admin/clock", s.pkAdminClock)
	mux.HandleFunc("POST /_admin/clock", s.pkAdminClock)
	mux.HandleFunc("GET /_admin/stale-listing", s.pkAdminStaleListing)
	mux.HandleFunc("PUT /_admin/stale-listing", s.pkAdminStaleListing)
}

// pkAdminDecode reads a JSON body into v, answering 400 when it cannot.
func pkAdminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON: "+err.Error())
		return false
	}
	return true
}

func (s *adminAPI) pkAdminPublish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Owner       string    `json:"owner"`
		PackageType string    `json:"package_type"`
		Name        string    `json:"name"`
		Version     string    `json:"version"`
		Repository  string    `json:"repository"`
		Visibility  string    `json:"visibility"`
		Description string    `json:"description"`
		License     string    `json:"license"`
		Prerelease  bool      `json:"prerelease"`
		CreatedAt   time.Time `json:"created_at"`
		Sender      string    `json:"sender"`
	}
	if !pkAdminDecode(w, r, &in) {
		return
	}
	id, err := s.Publish(in.Owner, in.PackageType, in.Name, in.Version, PublishOptions{
		Repository: in.Repository, Visibility: in.Visibility, Description: in.Description,
		License: in.License, Prerelease: in.Prerelease, CreatedAt: in.CreatedAt, Sender: in.Sender,
	})
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
}

func (s *adminAPI) pkAdminPatchPackage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Visibility string    `json:"visibility"`
		CreatedAt  time.Time `json:"created_at"`
		UpdatedAt  time.Time `json:"updated_at"`
	}
	if !pkAdminDecode(w, r, &in) {
		return
	}
	if err := s.SetPackage(r.PathValue("owner"), r.PathValue("package_type"), r.PathValue("package_name"),
		in.Visibility, in.CreatedAt, in.UpdatedAt); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) pkAdminPatchVersion(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Downloads *int64    `json:"downloads"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
		DeletedAt time.Time `json:"deleted_at"`
	}
	if !pkAdminDecode(w, r, &in) {
		return
	}
	owner, typ, name, ref := pkAdminVersionPath(r)
	if in.Downloads != nil {
		if err := s.SetDownloads(owner, typ, name, ref, *in.Downloads); err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
	}
	if err := s.SetVersionTimes(owner, typ, name, ref, in.CreatedAt, in.UpdatedAt, in.DeletedAt); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pkAdminVersionPath reads the package and the version (an id, else a
// digest or version string) of a .../versions/{version} route.
func pkAdminVersionPath(r *http.Request) (owner, typ, name string, ref VersionRef) {
	ref = VersionRef{Name: r.PathValue("version")}
	if id, err := strconv.ParseInt(ref.Name, 10, 64); err == nil {
		ref = VersionRef{ID: id}
	}
	return r.PathValue("owner"), r.PathValue("package_type"), r.PathValue("package_name"), ref
}

// pkAdminDeleteVersion deletes a version as another client's DELETE
// through the Packages API would (restorable for 30 days), without
// GitHub's checks; ?ago= (a Go duration) backdates the deletion.
func (s *adminAPI) pkAdminDeleteVersion(w http.ResponseWriter, r *http.Request) {
	var ago time.Duration
	if a := r.URL.Query().Get("ago"); a != "" {
		d, err := time.ParseDuration(a)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("ago %q: %v", a, err))
			return
		}
		ago = d
	}
	owner, typ, name, ref := pkAdminVersionPath(r)
	if err := s.DeleteVersion(owner, typ, name, ref, ago); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pkAdminPurgeVersion makes a version gone for good (PurgeVersion).
func (s *adminAPI) pkAdminPurgeVersion(w http.ResponseWriter, r *http.Request) {
	owner, typ, name, ref := pkAdminVersionPath(r)
	if err := s.PurgeVersion(owner, typ, name, ref); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminAPI) pkAdminClock(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var in struct {
			Advance string `json:"advance"`
		}
		if !pkAdminDecode(w, r, &in) {
			return
		}
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("advance %q: %v", in.Advance, err))
			return
		}
		s.Advance(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().Format(time.RFC3339)})
}

// pkAdminStaleListing shows, and with PUT sets, Options.StaleListing:
// {"stale_listing": "30s"}.
func (s *adminAPI) pkAdminStaleListing(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		var in struct {
			StaleListing string `json:"stale_listing"`
		}
		if !pkAdminDecode(w, r, &in) {
			return
		}
		d, err := time.ParseDuration(in.StaleListing)
		if err != nil || d < 0 {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("stale_listing %q: want a duration of 0 or more", in.StaleListing))
			return
		}
		s.SetStaleListing(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"stale_listing": s.StaleListing().String()})
}
