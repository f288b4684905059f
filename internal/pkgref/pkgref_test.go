package pkgref

import (
	"encoding/json"
	"testing"
)

func TestRef(t *testing.T) {
	r := Ref{Owner: "Acme", Type: "container", Name: "Team/App", Repository: "Acme/app"}
	if got := r.String(); got != "Acme/container/Team/App" {
		t.Errorf("String() = %q", got)
	}
	if got := r.Key(); got != "acme/container/team/app" {
		t.Errorf("Key() = %q", got)
	}
	if got := r.RepoName(); got != "app" {
		t.Errorf("RepoName() = %q", got)
	}
	if got := (Ref{Owner: "acme", Type: "npm", Name: "web"}).RepoName(); got != "" {
		t.Errorf("RepoName() of an unlinked package = %q, want empty", got)
	}
	if !r.IsContainer() || (Ref{Type: "npm"}).IsContainer() {
		t.Error("IsContainer: want true for container, false for npm")
	}
}

func TestRepoName(t *testing.T) {
	for in, want := range map[string]string{"acme/app": "app", "app": "app", "": "", "acme/.github": ".github"} {
		if got := RepoName(in); got != want {
			t.Errorf("RepoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsContainerType(t *testing.T) {
	for typ, want := range map[string]bool{"container": true, "CONTAINER": true, "docker": true, "Docker": true, "npm": false, "maven": false, "": false} {
		if got := IsContainerType(typ); got != want {
			t.Errorf("IsContainerType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// The names are the inventory's stored ones: records written before Ref
// existed read the same.
func TestRefJSON(t *testing.T) {
	for _, tc := range []struct {
		ref  Ref
		want string
	}{
		{Ref{Owner: "acme", Type: "container", Name: "app", Repository: "acme/app"}, `{"owner":"acme","type":"container","name":"app","repo":"acme/app"}`},
		{Ref{Owner: "acme", Type: "npm", Name: "web"}, `{"owner":"acme","type":"npm","name":"web"}`},
	} {
		b, err := json.Marshal(tc.ref)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tc.ref, b, err, tc.want)
		}
		var back Ref
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil || back != tc.ref {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", tc.want, back, err, tc.ref)
		}
	}
}
