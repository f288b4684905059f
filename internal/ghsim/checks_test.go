package ghsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
)

func annotations(n, line int) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{
			Path: github.String(".github/pkgwarden.yml"), StartLine: github.Int(line + i), EndLine: github.Int(line + i),
			AnnotationLevel: github.String("failure"), Message: github.String("bad rule"),
		}
	}
	return out
}

func TestCheckRunLifecycle(t *testing.T) {
	w := newPRWorld(t)
	ctx := context.Background()
	run, resp, err := w.inst.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name: "pkgwarden", HeadSHA: w.main, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("checking"), Summary: github.String("reading the rules"), Annotations: annotations(50, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || run.GetStatus() != "in_progress" || run.Conclusion != nil || run.GetHeadSHA() != w.main ||
		run.GetOutput().GetAnnotationsCount() != 50 || run.GetApp().GetID() != w.f.sim.AppID() ||
		run.GetDetailsURL() != "https://github.com/pkgwarden/pkgwarden" {
		t.Fatalf("created %d: %+v", resp.StatusCode, run)
	}

	// Updates in place: a conclusion completes it, annotations accumulate,
	// the output's text is replaced.
	run, _, err = w.inst.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), github.UpdateCheckRunOptions{
		Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("3 errors"), Summary: github.String("the file does not decode"),
			Text: github.String("details"), Annotations: annotations(2, 51)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.GetStatus() != "completed" || run.GetConclusion() != "failure" || run.CompletedAt == nil ||
		run.GetOutput().GetTitle() != "3 errors" || run.GetOutput().GetText() != "details" || run.GetOutput().GetAnnotationsCount() != 52 {
		t.Errorf("updated: %s %s %v %+v", run.GetStatus(), run.GetConclusion(), run.CompletedAt, run.GetOutput())
	}
	var admin []CheckRun
	if resp := w.f.raw(t, "GET", "/_admin/repos/acme/app/check-runs", "", "", &admin); resp.StatusCode != http.StatusOK ||
		len(admin) != 1 || admin[0].Conclusion != "failure" || len(admin[0].Annotations) != 52 || admin[0].Annotations[51].StartLine != 52 {
		t.Errorf("admin check runs %d: %+v", resp.StatusCode, admin)
	}
	var got []*github.CheckRunAnnotation
	opt := &github.ListOptions{PerPage: 30}
	for {
		page, resp, err := w.inst.Checks.ListCheckRunAnnotations(ctx, "acme", "app", run.GetID(), opt)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if len(got) != 52 || got[0].GetStartLine() != 1 || got[51].GetStartLine() != 52 || got[51].GetAnnotationLevel() != "failure" {
		t.Errorf("annotations: %d, first line %d, last line %d", len(got), got[0].GetStartLine(), got[len(got)-1].GetStartLine())
	}

	// A second run of the same name on the commit: latest lists the newer
	// only, all lists both; by sha or by branch.
	second, _, err := w.inst.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name: "pkgwarden", HeadSHA: w.main, Conclusion: github.String("success"),
		Output: &github.CheckRunOutput{Title: github.String("ok"), Summary: github.String("fine")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.GetStatus() != "completed" || second.GetCheckSuite().GetID() != run.GetCheckSuite().GetID() {
		t.Errorf("second run: status %s, suite %d (first %d)", second.GetStatus(), second.GetCheckSuite().GetID(), run.GetCheckSuite().GetID())
	}
	tests := map[string]struct {
		ref  string
		opts *github.ListCheckRunsOptions
		want []int64
	}{
		"latest by sha":    {ref: w.main, want: []int64{second.GetID()}},
		"latest by branch": {ref: "main", want: []int64{second.GetID()}},
		"all":              {ref: w.main, opts: &github.ListCheckRunsOptions{Filter: github.String("all")}, want: []int64{second.GetID(), run.GetID()}},
		"by name":          {ref: w.main, opts: &github.ListCheckRunsOptions{CheckName: github.String("other")}, want: nil},
		"by status":        {ref: w.main, opts: &github.ListCheckRunsOptions{Filter: github.String("all"), Status: github.String("completed")}, want: []int64{second.GetID(), run.GetID()}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, _, err := w.inst.Checks.ListCheckRunsForRef(ctx, "acme", "app", tc.ref, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range res.CheckRuns {
				ids = append(ids, r.GetID())
			}
			if res.GetTotal() != len(tc.want) || len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) {
				t.Errorf("total %d, ids %v, want %v", res.GetTotal(), ids, tc.want)
			}
		})
	}
}

func TestCheckRunLimitsAndPermissions(t *testing.T) {
	w := newPRWorld(t)
	f, ctx := w.f, context.Background()
	// An installation without checks: write, and a classic token of the
	// organization's admin.
	if _, err := f.sim.AddOrg("beta", "olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sim.AddRepo("beta", "x", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.PutFile("beta", "x", "", "a", []byte("a\n"), "olga"); err != nil {
		t.Fatal(err)
	}
	betaHead, _ := f.sim.HeadCommit("beta", "x", "")
	betaID, err := f.sim.AddInstallation("beta", map[string]string{"contents": "read", "pull_requests": "read", "checks": "read"})
	if err != nil {
		t.Fatal(err)
	}
	beta, _ := f.installationClient(t, betaID)
	tok, err := f.sim.AddClassicToken("olga", "repo")
	if err != nil {
		t.Fatal(err)
	}
	existing, _, err := w.inst.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "pkgwarden", HeadSHA: w.main,
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Annotations: annotations(1, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	output := func(summary string, n int) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: github.String("t"), Summary: github.String(summary), Annotations: annotations(n, 1)}
	}
	long := strings.Repeat("x", 65536)
	type call func() (*github.Response, error)
	create := func(c *github.Client, owner, repo string, o github.CreateCheckRunOptions) call {
		return func() (*github.Response, error) {
			_, resp, err := c.Checks.CreateCheckRun(ctx, owner, repo, o)
			return resp, err
		}
	}
	update := func(o github.UpdateCheckRunOptions) call {
		return func() (*github.Response, error) {
			_, resp, err := w.inst.Checks.UpdateCheckRun(ctx, "acme", "app", existing.GetID(), o)
			return resp, err
		}
	}
	badLevel := annotations(1, 1)
	badLevel[0].AnnotationLevel = github.String("error")
	noLine := annotations(1, 1)
	noLine[0].StartLine = nil
	tests := map[string]struct {
		call    call
		status  int
		message string
	}{
		"51 annotations on create": {create(w.inst, "acme", "app", github.CreateCheckRunOptions{Name: "c", HeadSHA: w.main, Output: output("s", 51)}),
			422, "No more than 50 items are allowed; 51 were supplied."},
		"51 annotations on update": {update(github.UpdateCheckRunOptions{Output: output("s", 51)}),
			422, "No more than 50 items are allowed; 51 were supplied."},
		"summary over 65535 bytes": {create(w.inst, "acme", "app", github.CreateCheckRunOptions{Name: "c", HeadSHA: w.main, Output: output(long, 0)}),
			422, "Validation Failed"},
		"text over 65535 bytes": {update(github.UpdateCheckRunOptions{Output: &github.CheckRunOutput{Summary: github.String("s"), Text: github.String(long)}}),
			422, "Validation Failed"},
		"unknown annotation level": {update(github.UpdateCheckRunOptions{Output: &github.CheckRunOutput{Summary: github.String("s"), Annotations: badLevel}}),
			422, `"error" is not one of ["notice", "warning", "failure"]`},
		"annotation without start_line": {update(github.UpdateCheckRunOptions{Output: &github.CheckRunOutput{Summary: github.String("s"), Annotations: noLine}}),
			422, `"start_line" wasn't supplied.`},
		"completed without conclusion": {update(github.UpdateCheckRunOptions{Status: github.String("completed")}),
			422, `"conclusion" wasn't supplied.`},
		"completed_at without conclusion": {update(github.UpdateCheckRunOptions{CompletedAt: &github.Timestamp{Time: time.Now()}}),
			422, `"conclusion" wasn't supplied.`},
		"unknown commit": {create(w.inst, "acme", "app", github.CreateCheckRunOptions{Name: "c", HeadSHA: strings.Repeat("a", 40)}),
			422, "No commit found for SHA: " + strings.Repeat("a", 40)},
		"installation without checks: write": {create(beta, "beta", "x", github.CreateCheckRunOptions{Name: "c", HeadSHA: betaHead}),
			403, "Resource not accessible by integration"},
		"installation not covering the repository": {create(beta, "acme", "app", github.CreateCheckRunOptions{Name: "c", HeadSHA: w.main}),
			403, "Resource not accessible by integration"},
		"classic token": {create(f.client(tok), "acme", "app", github.CreateCheckRunOptions{Name: "c", HeadSHA: w.main}),
			403, "You must authenticate via a GitHub App."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := tc.call()
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || resp.StatusCode != tc.status || !strings.Contains(ge.Message, tc.message) {
				t.Errorf("got %v, want %d %q", err, tc.status, tc.message)
			}
		})
	}
	// Refused requests changed nothing.
	got, _, err := w.inst.Checks.GetCheckRun(ctx, "acme", "app", existing.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOutput().GetAnnotationsCount() != 1 || got.GetStatus() != "queued" || got.GetOutput().GetSummary() != "s" {
		t.Errorf("after refusals: %s, %+v", got.GetStatus(), got.GetOutput())
	}
	res, _, err := w.inst.Checks.ListCheckRunsForRef(ctx, "acme", "app", w.main, &github.ListCheckRunsOptions{Filter: github.String("all")})
	if err != nil || res.GetTotal() != 1 {
		t.Errorf("runs on main after refusals: %d (%v), want 1", res.GetTotal(), err)
	}
	// checks: read lists.
	if _, _, err := beta.Checks.ListCheckRunsForRef(ctx, "beta", "x", "main", nil); err != nil {
		t.Errorf("checks: read cannot list: %v", err)
	}
}
