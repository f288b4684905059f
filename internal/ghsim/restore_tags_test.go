package ghsim

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRestoreWithoutTags: with Options.RestoreWithoutTags a restored
// version comes back by digest with no tags, in the API and in the
// registry; SetRestoreWithoutTags(false) brings the default back.
func TestRestoreWithoutTags(t *testing.T) {
	on, off := true, false
	tests := map[string]struct {
		opt bool // Options.RestoreWithoutTags
		// set, when not nil, is passed to SetRestoreWithoutTags after New.
		set      *bool
		wantTags string
	}{
		"option on":           {opt: true, wantTags: ""},
		"switched on":         {set: &on, wantTags: ""},
		"option switched off": {opt: true, set: &off, wantTags: "stable"},
		"default":             {wantTags: "stable"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newPkWorld(t, Options{RestoreWithoutTags: tc.opt})
			if tc.set != nil {
				w.sim.SetRestoreWithoutTags(*tc.set)
			}
			ctx := context.Background()
			alice := w.auth("alice")
			img, _ := DemoImage("", "restored")
			d, err := w.sim.Pusher("alice", w.tokens["alice"]).PushImage(ctx, "acme/"+orgContainer, img, "stable")
			if err != nil {
				t.Fatal(err)
			}
			var id int64
			vs, _ := w.sim.Versions("acme", "container", orgContainer)
			for _, v := range vs {
				if v.Name == d.String() {
					id = v.ID
				}
			}
			c := w.client(t, "alice")
			if r, err := c.Organizations.PackageDeleteVersion(ctx, "acme", "container", pkURLEscape(orgContainer), id); pkStatusOf(t, r, err) != 204 {
				t.Fatal(err)
			}
			if r, err := c.Organizations.PackageRestoreVersion(ctx, "acme", "container", pkURLEscape(orgContainer), id); pkStatusOf(t, r, err) != 204 {
				t.Fatal(err)
			}
			tags, ok := w.apiVersions(t, "alice", "acme", orgContainer, "active")[d.String()]
			if !ok {
				t.Fatal("restored version not active")
			}
			if got := strings.Join(tags, ","); got != tc.wantTags {
				t.Errorf("restored tags %q, want %q", got, tc.wantTags)
			}
			if _, err := remote.Head(w.regRef(t, "acme/"+orgContainer+"@"+d.String()), alice); err != nil {
				t.Errorf("restored manifest by digest: %v", err)
			}
			_, err = remote.Head(w.regRef(t, "acme/"+orgContainer+":stable"), alice)
			if (err == nil) != (tc.wantTags != "") {
				t.Errorf("stable resolves = %t, want %t (%v)", err == nil, tc.wantTags != "", err)
			}
		})
	}
}
