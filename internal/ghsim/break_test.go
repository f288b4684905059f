package ghsim

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestBreakImage breaks a tagged multi-arch index as other tools do: its
// linux/arm64 manifest is deleted through the Packages API (restorable for
// 30 days) or made gone for good (past the window), through the admin API
// and the Go API. Everything is then checked over HTTP: the index still
// pulls by tag and names the child, the registry answers 404
// MANIFEST_UNKNOWN for the child, the state=deleted listing shows the
// child only while it is restorable, and restore answers 204 (the child
// pulls again) or 404 (it stays gone).
func TestBreakImage(t *testing.T) {
	const pkgName = "multi"
	tests := map[string]struct {
		// breakChild breaks the child of digest d and id id.
		breakChild func(t *testing.T, w *pkWorld, d string, id int64)
		restorable bool
	}{
		"API DELETE by another client": {
			breakChild: func(t *testing.T, w *pkWorld, _ string, id int64) {
				r, err := w.client(t, "alice").Organizations.PackageDeleteVersion(context.Background(), "acme", "container", pkgName, id)
				if pkStatusOf(t, r, err) != http.StatusNoContent {
					t.Fatalf("delete: %v", err)
				}
			},
			restorable: true,
		},
		"admin delete": {
			breakChild: func(t *testing.T, w *pkWorld, d string, _ int64) {
				adminStatus(t, w, "DELETE", "/_admin/packages/acme/container/multi/versions/"+d+"?ago=72h", http.StatusNoContent)
			},
			restorable: true,
		},
		"Go delete": {
			breakChild: func(t *testing.T, w *pkWorld, d string, _ int64) {
				if err := w.sim.DeleteVersion("acme", "container", pkgName, VersionRef{Name: d}, 29*24*time.Hour); err != nil {
					t.Fatal(err)
				}
			},
			restorable: true,
		},
		"admin purge of an active child": {
			breakChild: func(t *testing.T, w *pkWorld, d string, _ int64) {
				adminStatus(t, w, "POST", "/_admin/packages/acme/container/multi/versions/"+d+"/purge", http.StatusNoContent)
			},
		},
		"admin delete, then purge by id": {
			breakChild: func(t *testing.T, w *pkWorld, d string, id int64) {
				adminStatus(t, w, "DELETE", "/_admin/packages/acme/container/multi/versions/"+d, http.StatusNoContent)
				adminStatus(t, w, "POST", "/_admin/packages/acme/container/multi/versions/"+itoa(id)+"/purge", http.StatusNoContent)
			},
		},
		"Go purge": {
			breakChild: func(t *testing.T, w *pkWorld, _ string, id int64) {
				if err := w.sim.PurgeVersion("acme", "container", pkgName, VersionRef{ID: id}); err != nil {
					t.Fatal(err)
				}
			},
		},
		"Go delete past the window": {
			breakChild: func(t *testing.T, w *pkWorld, d string, _ int64) {
				if err := w.sim.DeleteVersion("acme", "container", pkgName, VersionRef{Name: d}, 31*24*time.Hour); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			w := newPkWorld(t, Options{})
			ctx := context.Background()
			alice := w.auth("alice")
			idx, err := DemoIndex(w.sim.pkWebURL() + "/acme/webapp")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.sim.Pusher("alice", w.tokens["alice"]).PushIndex(ctx, "acme/"+pkgName, idx, "v1"); err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			child := im.Manifests[1].Digest.String() // linux/arm64
			var id int64
			vs, _ := w.sim.Versions("acme", "container", pkgName)
			for _, v := range vs {
				if v.Name == child {
					id = v.ID
				}
			}

			tc.breakChild(t, w, child, id)

			// The index still pulls by tag and names the child; the
			// child answers 404 MANIFEST_UNKNOWN, its siblings pull.
			pulled, err := remote.Index(w.regRef(t, "acme/"+pkgName+":v1"), alice)
			if err != nil {
				t.Fatalf("index by tag: %v", err)
			}
			if pm, err := pulled.IndexManifest(); err != nil || len(pm.Manifests) != 3 || pm.Manifests[1].Digest.String() != child {
				t.Fatalf("index manifest changed: %v %v", pm, err)
			}
			wantChildPull(t, w, child, http.StatusNotFound)
			wantChildPull(t, w, im.Manifests[0].Digest.String(), http.StatusOK)

			if _, ok := w.apiVersions(t, "alice", "acme", pkgName, "active")[child]; ok {
				t.Errorf("child still listed active")
			}
			if _, ok := w.apiVersions(t, "alice", "acme", pkgName, "deleted")[child]; ok != tc.restorable {
				t.Errorf("child listed with state=deleted: %t, want %t", ok, tc.restorable)
			}
			_, r, err := w.client(t, "alice").Organizations.PackageGetVersion(ctx, "acme", "container", pkgName, id)
			if got, want := pkStatusOf(t, r, err), statusIf(tc.restorable, http.StatusOK, http.StatusNotFound); got != want {
				t.Errorf("GET of the child: %d, want %d", got, want)
			}
			vs, _ = w.sim.Versions("acme", "container", pkgName)
			for _, v := range vs {
				if v.Name == child && (!v.Deleted || v.Purged == tc.restorable) {
					t.Errorf("Go view of the child: deleted %t purged %t, want deleted, purged %t", v.Deleted, v.Purged, !tc.restorable)
				}
			}

			r, err = w.client(t, "alice").Organizations.PackageRestoreVersion(ctx, "acme", "container", pkgName, id)
			if got, want := pkStatusOf(t, r, err), statusIf(tc.restorable, http.StatusNoContent, http.StatusNotFound); got != want {
				t.Fatalf("restore of the child: %d, want %d", got, want)
			}
			wantChildPull(t, w, child, statusIf(tc.restorable, http.StatusOK, http.StatusNotFound))
		})
	}
}

// TestBreakAdminErrors: the admin routes that break images answer 404 for
// what does not exist or is already deleted, 422 for a bad ago.
func TestBreakAdminErrors(t *testing.T) {
	w := newPkWorld(t, Options{})
	vs, err := w.sim.Versions("acme", "container", orgContainer)
	if err != nil || len(vs) < 2 {
		t.Fatalf("versions: %v %v", vs, err)
	}
	base := "/_admin/packages/acme/container/team%2Fapp/versions/"
	steps := []struct {
		label, method, path string
		status              int
	}{
		{"unknown package", "DELETE", "/_admin/packages/acme/container/nope/versions/1", 404},
		{"unknown version", "DELETE", base + "sha256:0000", 404},
		{"bad ago", "DELETE", base + vs[0].Name + "?ago=three+days", 422},
		{"delete", "DELETE", base + vs[0].Name, 204},
		{"delete again", "DELETE", base + vs[0].Name, 404},
		{"purge unknown", "POST", base + "999999/purge", 404},
		{"purge the deleted one", "POST", base + itoa(vs[0].ID) + "/purge", 204},
		{"purge again", "POST", base + itoa(vs[0].ID) + "/purge", 204},
	}
	for _, st := range steps {
		adminStatusLabel(t, w, st.label, st.method, st.path, st.status)
	}
}

func adminStatus(t *testing.T, w *pkWorld, method, path string, want int) {
	t.Helper()
	adminStatusLabel(t, w, method+" "+path, method, path, want)
}

func adminStatusLabel(t *testing.T, w *pkWorld, label, method, path string, want int) {
	t.Helper()
	if status, body := pkAdminDo(t, w.api.URL, method, path, ""); status != want {
		t.Fatalf("%s: %d %s, want %d", label, status, body, want)
	}
}

// wantChildPull pulls acme/multi@d from the registry and checks the
// status: 200, or 404 with the code MANIFEST_UNKNOWN as ghcr.io answers.
func wantChildPull(t *testing.T, w *pkWorld, d string, want int) {
	t.Helper()
	_, err := remote.Get(w.regRef(t, "acme/multi@"+d), w.auth("alice"))
	var te *transport.Error
	switch {
	case err == nil && want == http.StatusOK:
	case errors.As(err, &te) && te.StatusCode == want && want == http.StatusNotFound:
		if len(te.Errors) != 1 || te.Errors[0].Code != transport.ManifestUnknownErrorCode || te.Errors[0].Message != "manifest unknown" {
			t.Errorf("pull %s: %v, want MANIFEST_UNKNOWN manifest unknown", d, te.Errors)
		}
	default:
		t.Errorf("pull %s: %v, want status %d", d, err, want)
	}
}

func statusIf(ok bool, yes, no int) int {
	if ok {
		return yes
	}
	return no
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
