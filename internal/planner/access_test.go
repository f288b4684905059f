package planner_test

import (
	"errors"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
)

func TestAccessSession(t *testing.T) {
	toks, err := githubapi.ParsePackagesTokens("acme=ghp_acme", "")
	if err != nil {
		t.Fatal(err)
	}
	a := &planner.Access{Tokens: toks, APIURL: "http://127.0.0.1:1", RegistryURL: "http://127.0.0.1:1"}
	if err := a.Check(); err == nil {
		t.Error("Check passed an Access without an App")
	}
	s, err := a.Session("ACME")
	if err != nil {
		t.Fatal(err)
	}
	if s.Token.Owner() != "acme" || s.Packages == nil || s.Registry == nil || s.Tagger == nil {
		t.Errorf("session %+v: want acme's token and all three clients", s)
	}
	if _, err := a.Session("other"); !errors.Is(err, planner.ErrNoPackagesToken) {
		t.Errorf("session of an owner without a token: %v, want ErrNoPackagesToken", err)
	}
	if a.SharedOwners() != a.SharedOwners() || a.SharedOwners() == nil {
		t.Error("sessions do not share one owner cache")
	}
}
