package prune_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/report/reporttest"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// deleteByAPI deletes a version of acme/app through the REST API with
// alice's token, as another tool (actions/delete-package-versions) does.
func deleteByAPI(t *testing.T, w *jobstest.World, digest string) int64 {
	t.Helper()
	var id int64
	for _, v := range w.Active() {
		if v.Name == digest {
			id = v.ID
		}
	}
	if id == 0 {
		t.Fatalf("no active version %s", digest)
	}
	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/orgs/acme/packages/container/app/versions/%d", w.Server.URL, id), nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+w.Token)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete version %d: %s %s", id, resp.Status, b)
	}
	return id
}

func digestOfImage(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	must(t, err)
	return d.String()
}

// TestPruneBrokenImages: a tagged multi-arch image whose arm64 platform
// another client deleted is reported as broken, that platform restorable
// while GitHub keeps it and gone once past the 30 days (or purged); only
// what cannot be healed goes into the report issue, in its own section;
// prune.ghost_images and prune.partial_images delete such an image only
// when set, and only when it is what they name.
func TestPruneBrokenImages(t *testing.T) {
	tests := map[string]struct {
		extra string // more keys of the prune block
		gone  bool   // the arm64 platform is past GitHub's window
		both  bool   // amd64 is gone too (a ghost)
		// state is arm64's state in the decision; deleted says whether the
		// run deletes the image (with what remains of it); section whether
		// the report has the broken section.
		state   rules.ChildState
		deleted bool
		section bool
	}{
		"deleted by another client: restorable, reported by plan only": {state: rules.ChildDeleted},
		"restorable, partial_images on: healing's, not deleted":        {extra: ", partial_images: true", state: rules.ChildDeleted},
		"gone: reported, kept by default":                              {gone: true, state: rules.ChildGone, section: true},
		"gone, ghost_images on: a partial image stays":                 {extra: ", ghost_images: true", gone: true, state: rules.ChildGone, section: true},
		"gone, partial_images on: deleted with its remaining platform": {extra: ", partial_images: true", gone: true, state: rules.ChildGone, deleted: true},
		"ghost, ghost_images on: deleted":                              {extra: ", ghost_images: true", gone: true, both: true, state: rules.ChildGone, deleted: true},
		"ghost, partial_images on: a ghost is not partial":             {extra: ", partial_images: true", gone: true, both: true, state: rules.ChildGone, section: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := jobstest.NewWorld(t)
			w.File("app", "rules:\n  - packages: [\"app\"]\n    type: container\n    prune: {untagged: true, exclude_tags: [\"latest\"]"+tc.extra+"}\n")
			// latest keeps the package alive: GitHub refuses to delete
			// its last version.
			w.Push(w.Image("latest"), 3*jobstest.Day, "latest")
			amd, arm := w.Image("amd64"), w.Image("arm64")
			v1d := w.Push(jobstest.Index(amd, arm), 3*jobstest.Day, "v1")
			armD, amdD := digestOfImage(t, arm), digestOfImage(t, amd)
			if tc.gone {
				must(t, w.Sim.DeleteVersion("acme", "container", "app", ghsim.VersionRef{Name: armD}, 31*jobstest.Day))
				if tc.both {
					must(t, w.Sim.DeleteVersion("acme", "container", "app", ghsim.VersionRef{Name: amdD}, 31*jobstest.Day))
				}
			} else {
				deleteByAPI(t, w, armD)
			}
			issues := report.New(w.App, nil, slog.New(slog.DiscardHandler), jobstest.ReportOptions(w.Sim)...)
			rep := &jobstest.Reports{}
			if err := w.Pruner(prune.Reporters{prune.IssueReporter{Issues: issues}, rep}, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
				t.Fatalf("handle: %v", err)
			}
			run := rep.Last(t)
			if gotDeleted := !slices.Contains(w.ActiveDigests(), v1d); gotDeleted != tc.deleted {
				t.Fatalf("v1 deleted = %t, want %t (decision %+v)", gotDeleted, tc.deleted, run.Decision)
			}
			if tc.deleted {
				if slices.Contains(w.ActiveDigests(), amdD) {
					t.Error("v1's remaining platform stayed behind")
				}
				if len(run.Decision.Broken) != 0 {
					t.Errorf("a deleted image is still reported broken: %+v", run.Decision.Broken)
				}
				return
			}
			if len(run.Decision.Broken) != 1 {
				t.Fatalf("broken %+v, want v1", run.Decision.Broken)
			}
			b := run.Decision.Broken[0]
			var arm64 *rules.Missing
			for i, m := range b.Missing {
				if m.Digest == armD {
					arm64 = &b.Missing[i]
				}
			}
			if b.Name != "v1" || arm64 == nil || arm64.State != tc.state || arm64.Platform != "linux/arm64" || (tc.state == rules.ChildDeleted) != (arm64.DeletedID != 0) {
				t.Errorf("broken %+v, want v1 missing linux/arm64 %s", b, tc.state)
			}

			all, err := w.Sim.Issues("acme", "app")
			must(t, err)
			if !tc.section {
				// Healing's to mend: nothing for the report, which has
				// nothing else to say.
				if len(all) != 0 {
					t.Errorf("%d issues in acme/app, want none: %s", len(all), all[0].Body)
				}
				return
			}
			if len(all) != 1 {
				t.Fatalf("%d issues in acme/app, want the report", len(all))
			}
			body := all[0].Body
			reporttest.CheckBody(t, "report", body)
			line := "- `v1` (`" + strings.TrimPrefix(v1d, "sha256:")[:12] + "`) is broken: "
			if !strings.Contains(body, "### Broken images (1)") || !strings.Contains(body, line) || !strings.Contains(body, "`linux/arm64`") {
				t.Errorf("the section does not name v1's arm64:\n%s", body)
			}
		})
	}
}
