package webhook

import (
	"encoding/json"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

func TestTargetRef(t *testing.T) {
	tg := Target{InstallationID: 7, Owner: "Acme", OwnerType: "Organization", PackageType: "container", PackageName: "Team/App", Repository: "Acme/app"}
	want := pkgref.Ref{Owner: "Acme", Type: "container", Name: "Team/App", Repository: "Acme/app"}
	if got := tg.Ref(); got != want {
		t.Errorf("Ref() = %+v, want %+v", got, want)
	}
	if got := tg.String(); got != "7/Acme/container/Team/App" {
		t.Errorf("String() = %q", got)
	}
	// Leases and job subjects of jobs queued before an upgrade use this key.
	if got := tg.Key(); got != "7/acme/container/team/app" {
		t.Errorf("Key() = %q", got)
	}
}

// Jobs queued before an upgrade carry Target under these names.
func TestTargetJSONUnchanged(t *testing.T) {
	stored := `{"installation_id":7,"owner":"acme","owner_type":"Organization","package_type":"container","package_name":"app","repository":"acme/app"}`
	var tg Target
	if err := json.Unmarshal([]byte(stored), &tg); err != nil {
		t.Fatal(err)
	}
	if want := (pkgref.Ref{Owner: "acme", Type: "container", Name: "app", Repository: "acme/app"}); tg.Ref() != want || tg.InstallationID != 7 || tg.OwnerType != "Organization" {
		t.Errorf("decoded %+v", tg)
	}
	if b, err := json.Marshal(tg); err != nil || string(b) != stored {
		t.Errorf("encode = %s, %v; want %s", b, err, stored)
	}
}
