package githubapi

import (
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

func TestPackageRef(t *testing.T) {
	p := Package{ID: 7, Name: "team/app", Type: "container", Visibility: "private", Owner: "acme", Repository: "acme/app", VersionCount: 3}
	want := pkgref.Ref{Owner: "acme", Type: "container", Name: "team/app", Repository: "acme/app"}
	if got := p.RefOf(Owner{Login: "acme"}); got != want {
		t.Errorf("RefOf(acme) = %+v, want %+v", got, want)
	}
}
