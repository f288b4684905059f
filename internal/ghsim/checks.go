package ghsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checksAPI is the part that serves check runs over the shared world: POST
// /repos/{owner}/{repo}/check-runs, GET and PATCH .../check-runs/{id}, GET
// .../check-runs/{id}/annotations and GET
// .../commits/{ref}/check-runs, with GitHub's limits (doc.go).
type checksAPI struct{ *world }

func (s *checksAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.handleCreateCheckRun)
	mux.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}", s.handleGetCheckRun)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.handleUpdateCheckRun)
	mux.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}/annotations", s.handleListAnnotations)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.handleListCheckRunsForRef)
}

// GitHub's limits on check runs (REST docs, "Check runs": "maximum of 50
// per API request", "Maximum length: 65535 characters", measured in bytes
// as github/docs#35252 shows).
const (
	maxAnnotationsPerRequest = 50
	maxCheckOutputBytes      = 65535
)

const msgChecksNeedApp = "You must authenticate via a GitHub App."

type checkRun struct {
	ID          int64
	SuiteID     int64
	Name        string
	HeadSHA     string
	ExternalID  string
	DetailsURL  string
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	Annotations []checkAnnotation
}

// checkAnnotation is an annotation as GitHub lists it.
type checkAnnotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     *int   `json:"start_column"`
	EndColumn       *int   `json:"end_column"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title"`
	Message         string `json:"message"`
	RawDetails      string `json:"raw_details"`
	BlobHRef        string `json:"blob_href"`
}

// checkRunRequest is the body of create and update; every field is
// optional in an update.
type checkRunRequest struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string `json:"title"`
		Summary     *string `json:"summary"`
		Text        *string `json:"text"`
		Annotations []struct {
			Path            *string `json:"path"`
			StartLine       *int    `json:"start_line"`
			EndLine         *int    `json:"end_line"`
			StartColumn     *int    `json:"start_column"`
			EndColumn       *int    `json:"end_column"`
			AnnotationLevel *string `json:"annotation_level"`
			Message         *string `json:"message"`
			Title           string  `json:"title"`
			RawDetails      string  `json:"raw_details"`
		} `json:"annotations"`
	} `json:"output"`
}

// invalidRequest answers 422 as GitHub's schema validation does.
func invalidRequest(w http.ResponseWriter, detail string) {
	writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+detail)
}

// checksWriter resolves the repository of a check-run write: only an
// installation token covering it with checks: write may write (GitHub:
// "OAuth apps and personal access tokens (classic) cannot use this
// endpoint"). Called with s.mu held.
func (s *checksAPI) checksWriter(w http.ResponseWriter, r *http.Request) (*repo, bool) {
	c, ok := s.resolveRepo(w, r)
	if !ok {
		return nil, false
	}
	switch {
	case c.p == nil:
		writeError(w, http.StatusUnauthorized, msgRequiresAuth)
		return nil, false
	case c.p.Kind != principalInstallation:
		writeError(w, http.StatusForbidden, msgChecksNeedApp)
		return nil, false
	case !c.covered(s.world) || installPermRank(s.tokenPermission(c.p.Token, "checks")) < installPermRank("write"):
		writeError(w, http.StatusForbidden, msgNotAccessibleByIntegration)
		return nil, false
	}
	return c.rp, true
}

func (s *checksAPI) handleCreateCheckRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.checksWriter(w, r)
	if !ok {
		return
	}
	var req checkRunRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	switch {
	case req.Name == nil || *req.Name == "":
		invalidRequest(w, `"name" wasn't supplied.`)
		return
	case req.HeadSHA == nil || *req.HeadSHA == "":
		invalidRequest(w, `"head_sha" wasn't supplied.`)
		return
	}
	if _, ok := rp.Commits[*req.HeadSHA]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+*req.HeadSHA)
		return
	}
	run := &checkRun{ID: s.st.id(), Name: *req.Name, HeadSHA: *req.HeadSHA, Status: "queued", StartedAt: s.clock.now()}
	for _, o := range rp.CheckRuns {
		if o.HeadSHA == run.HeadSHA {
			run.SuiteID = o.SuiteID
		}
	}
	if run.SuiteID == 0 {
		run.SuiteID = s.st.id()
	}
	if !s.applyCheckRun(w, rp, run, &req, true) {
		return
	}
	rp.CheckRuns = append(rp.CheckRuns, run)
	writeJSON(w, http.StatusCreated, s.checkRunView(rp, run))
}

func (s *checksAPI) handleUpdateCheckRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.checksWriter(w, r)
	if !ok {
		return
	}
	run := findCheckRun(rp, r.PathValue("id"))
	if run == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	var req checkRunRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	// Validate on a copy so that a refused update changes nothing.
	next := *run
	next.Annotations = append([]checkAnnotation(nil), run.Annotations...)
	if !s.applyCheckRun(w, rp, &next, &req, false) {
		return
	}
	*run = next
	writeJSON(w, http.StatusOK, s.checkRunView(rp, run))
}

// applyCheckRun validates req against GitHub's rules and applies it to
// run, answering 422 itself when it is refused.
func (s *checksAPI) applyCheckRun(w http.ResponseWriter, rp *repo, run *checkRun, req *checkRunRequest, create bool) bool {
	if req.Name != nil && *req.Name != "" {
		run.Name = *req.Name
	}
	if req.DetailsURL != nil {
		run.DetailsURL = *req.DetailsURL
	}
	if req.ExternalID != nil {
		run.ExternalID = *req.ExternalID
	}
	if req.StartedAt != nil {
		run.StartedAt = req.StartedAt.UTC()
	}
	if req.Status != nil {
		switch *req.Status {
		case "queued", "in_progress", "completed":
		default:
			invalidRequest(w, fmt.Sprintf(`For 'properties/status', %q is not one of ["queued", "in_progress", "completed"].`, *req.Status))
			return false
		}
		run.Status = *req.Status
	}
	if req.Conclusion != nil {
		switch *req.Conclusion {
		case "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out":
		default:
			invalidRequest(w, fmt.Sprintf(`For 'properties/conclusion', %q is not one of ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"].`, *req.Conclusion))
			return false
		}
		// Giving a conclusion completes the run (REST docs: "Providing
		// conclusion will automatically set the status parameter to
		// completed").
		run.Conclusion, run.Status = *req.Conclusion, "completed"
	}
	if (run.Status == "completed" || req.CompletedAt != nil) && run.Conclusion == "" {
		// REST docs: conclusion is "Required if you provide completed_at
		// or a status of completed".
		invalidRequest(w, `"conclusion" wasn't supplied.`)
		return false
	}
	if run.Status == "completed" {
		if req.CompletedAt != nil {
			run.CompletedAt = req.CompletedAt.UTC()
		} else if run.CompletedAt.IsZero() {
			run.CompletedAt = s.clock.now()
		}
	}
	if o := req.Output; o != nil {
		if create && (o.Title == nil || *o.Title == "") {
			invalidRequest(w, `"title" wasn't supplied.`)
			return false
		}
		if o.Summary == nil {
			invalidRequest(w, `"summary" wasn't supplied.`)
			return false
		}
		if len(o.Annotations) > maxAnnotationsPerRequest {
			invalidRequest(w, fmt.Sprintf("No more than %d items are allowed; %d were supplied.", maxAnnotationsPerRequest, len(o.Annotations)))
			return false
		}
		for field, v := range map[string]*string{"summary": o.Summary, "text": o.Text} {
			if v != nil && len(*v) > maxCheckOutputBytes {
				writeValidationFailed(w, "CheckRun", field, "custom", fmt.Sprintf("%s exceeds a maximum bytesize of %d", field, maxCheckOutputBytes))
				return false
			}
		}
		var added []checkAnnotation
		for _, a := range o.Annotations {
			for _, need := range []struct {
				name    string
				missing bool
			}{
				{"path", a.Path == nil}, {"start_line", a.StartLine == nil}, {"end_line", a.EndLine == nil},
				{"annotation_level", a.AnnotationLevel == nil}, {"message", a.Message == nil},
			} {
				if need.missing {
					invalidRequest(w, fmt.Sprintf("%q wasn't supplied.", need.name))
					return false
				}
			}
			switch *a.AnnotationLevel {
			case "notice", "warning", "failure":
			default:
				invalidRequest(w, fmt.Sprintf(`For 'properties/annotation_level', %q is not one of ["notice", "warning", "failure"].`, *a.AnnotationLevel))
				return false
			}
			if *a.StartLine < 1 || *a.EndLine < *a.StartLine {
				writeValidationFailed(w, "CheckRun", "annotations", "custom", "end_line must be greater than or equal to start_line")
				return false
			}
			if (a.StartColumn != nil || a.EndColumn != nil) && *a.StartLine != *a.EndLine {
				writeValidationFailed(w, "CheckRun", "annotations", "custom", "start_column and end_column may only be given when start_line and end_line are the same")
				return false
			}
			added = append(added, checkAnnotation{
				Path: *a.Path, StartLine: *a.StartLine, EndLine: *a.EndLine, StartColumn: a.StartColumn, EndColumn: a.EndColumn,
				AnnotationLevel: *a.AnnotationLevel, Title: a.Title, Message: *a.Message, RawDetails: a.RawDetails,
				BlobHRef: s.appHTMLURL(rp.fullName() + "/blob/" + run.HeadSHA + "/" + *a.Path),
			})
		}
		if o.Title != nil {
			run.Title = *o.Title
		}
		run.Summary = *o.Summary
		if o.Text != nil {
			run.Text = *o.Text
		}
		// Annotations accumulate across updates (REST docs: "annotations
		// are appended to the list of annotations that already exist").
		run.Annotations = append(run.Annotations, added...)
	}
	return true
}

func findCheckRun(rp *repo, id string) *checkRun {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, run := range rp.CheckRuns {
		if run.ID == n {
			return run
		}
	}
	return nil
}

// checkReader resolves the repository of a check-run read. Called with
// s.mu held.
func (s *checksAPI) checkReader(w http.ResponseWriter, r *http.Request) (*repo, bool) {
	c, ok := s.resolveRepo(w, r)
	if !ok || !s.canRead(w, c, "checks") {
		return nil, false
	}
	return c.rp, true
}

func (s *checksAPI) handleGetCheckRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.checkReader(w, r)
	if !ok {
		return
	}
	run := findCheckRun(rp, r.PathValue("id"))
	if run == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.checkRunView(rp, run))
}

func (s *checksAPI) handleListAnnotations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.checkReader(w, r)
	if !ok {
		return
	}
	run := findCheckRun(rp, r.PathValue("id"))
	if run == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, appPage(s.world, w, r, run.Annotations, func(a checkAnnotation) checkAnnotation { return a }))
}

// handleListCheckRunsForRef lists the check runs of a commit (a sha, a
// branch or refs/heads/...), newest first; filter=latest (the default)
// keeps the newest run of each name, filter=all every run.
func (s *checksAPI) handleListCheckRunsForRef(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.checkReader(w, r)
	if !ok {
		return
	}
	ref := r.PathValue("ref")
	sha := ref
	if h, ok := rp.Heads[strings.TrimPrefix(ref, "refs/heads/")]; ok && h != "" {
		sha = h
	} else if _, ok := rp.Commits[ref]; !ok {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref)
		return
	}
	q := r.URL.Query()
	filter := q.Get("filter")
	if filter != "" && filter != "latest" && filter != "all" {
		invalidRequest(w, fmt.Sprintf(`For 'filter', %q is not one of ["latest", "all"].`, filter))
		return
	}
	var runs []*checkRun
	for _, run := range rp.CheckRuns {
		if run.HeadSHA != sha || (q.Get("check_name") != "" && run.Name != q.Get("check_name")) ||
			(q.Get("status") != "" && run.Status != q.Get("status")) ||
			(q.Get("app_id") != "" && q.Get("app_id") != strconv.FormatInt(s.opts.AppID, 10)) {
			continue
		}
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	if filter != "all" {
		seen := map[string]bool{}
		latest := runs[:0:0]
		for _, run := range runs {
			if !seen[run.Name] {
				seen[run.Name] = true
				latest = append(latest, run)
			}
		}
		runs = latest
	}
	page := appPage(s.world, w, r, runs, func(run *checkRun) map[string]any { return s.checkRunView(rp, run) })
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": page})
}

// checkRunView is the check run object of GitHub's REST API. Called with
// s.mu held.
func (s *world) checkRunView(rp *repo, run *checkRun) map[string]any {
	api := s.opts.APIURL + "repos/" + rp.fullName()
	id := strconv.FormatInt(run.ID, 10)
	var conclusion, completed, external, details any
	if run.Conclusion != "" {
		conclusion = run.Conclusion
	}
	if !run.CompletedAt.IsZero() {
		completed = run.CompletedAt
	}
	if run.ExternalID != "" {
		external = run.ExternalID
	}
	if run.DetailsURL != "" {
		details = run.DetailsURL
	}
	html := s.appHTMLURL(rp.fullName() + "/runs/" + id)
	app := s.appView()
	if details == nil {
		// REST docs: "If the integrator does not provide this, then the
		// homepage of the GitHub app is used."
		details = app["external_url"]
	}
	// pull_requests lists the open pull requests of this repository whose
	// head is the run's commit; pull requests from forks are left out, as
	// GitHub leaves them out.
	prs := []map[string]any{}
	for _, pr := range rp.Pulls {
		if pr.State != "open" || pr.HeadSHA != run.HeadSHA || pr.HeadRepo != lower(rp.fullName()) {
			continue
		}
		repoRef := map[string]any{"id": rp.ID, "url": api, "name": rp.Name}
		prs = append(prs, map[string]any{
			"id": pr.ID, "number": pr.Number, "url": api + "/pulls/" + strconv.Itoa(pr.Number),
			"head": map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "repo": repoRef},
			"base": map[string]any{"ref": pr.BaseRef, "sha": rp.Heads[pr.BaseRef], "repo": repoRef},
		})
	}
	output := map[string]any{
		"title": nilIfEmpty(run.Title), "summary": nilIfEmpty(run.Summary), "text": nilIfEmpty(run.Text),
		"annotations_count": len(run.Annotations),
		"annotations_url":   api + "/check-runs/" + id + "/annotations",
	}
	return map[string]any{
		"id":            run.ID,
		"node_id":       appNodeID("CR_", run.ID),
		"head_sha":      run.HeadSHA,
		"external_id":   external,
		"url":           api + "/check-runs/" + id,
		"html_url":      html,
		"details_url":   details,
		"status":        run.Status,
		"conclusion":    conclusion,
		"started_at":    run.StartedAt,
		"completed_at":  completed,
		"output":        output,
		"name":          run.Name,
		"check_suite":   map[string]any{"id": run.SuiteID},
		"app":           app,
		"pull_requests": prs,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CheckRun is a check run as tests see it (CheckRuns).
type CheckRun struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	HeadSHA     string            `json:"head_sha"`
	Status      string            `json:"status"`
	Conclusion  string            `json:"conclusion"`
	Title       string            `json:"title"`
	Summary     string            `json:"summary"`
	Text        string            `json:"text"`
	Annotations []CheckAnnotation `json:"annotations"`
}

// CheckAnnotation is one annotation of a CheckRun.
type CheckAnnotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     int    `json:"start_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Title           string `json:"title,omitempty"`
	Message         string `json:"message"`
}

// CheckRuns returns copies of the check runs of owner/repo, oldest first,
// with all their annotations.
func (s *world) CheckRuns(owner, repoName string) ([]CheckRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, ok := s.st.repos[lower(owner+"/"+repoName)]
	if !ok {
		return nil, fmt.Errorf("ghsim: check runs of %s/%s: no such repository", owner, repoName)
	}
	out := make([]CheckRun, 0, len(rp.CheckRuns))
	for _, run := range rp.CheckRuns {
		c := CheckRun{ID: run.ID, Name: run.Name, HeadSHA: run.HeadSHA, Status: run.Status, Conclusion: run.Conclusion,
			Title: run.Title, Summary: run.Summary, Text: run.Text, Annotations: []CheckAnnotation{}}
		for _, a := range run.Annotations {
			ca := CheckAnnotation{Path: a.Path, StartLine: a.StartLine, EndLine: a.EndLine, AnnotationLevel: a.AnnotationLevel, Title: a.Title, Message: a.Message}
			if a.StartColumn != nil {
				ca.StartColumn = *a.StartColumn
			}
			c.Annotations = append(c.Annotations, ca)
		}
		out = append(out, c)
	}
	return out, nil
}
