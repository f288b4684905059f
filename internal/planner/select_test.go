package planner_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// TestSelectOnePackage: a package asked for by name is found whatever its
// type and its owner's kind (an organisation, a user's own packages, or
// another user's); container names in any case; other names in another
// case through the listings; when two types have a package of that name,
// the first type of container, npm, maven, nuget, rubygems, docker (or
// --type's); a name nobody has is ErrNotFound.
func TestSelectOnePackage(t *testing.T) {
	w := newWorld(t)
	w.push(w.image("app"), day)
	for _, p := range []struct{ owner, typ, name string }{
		{"acme", "npm", "app"}, {"acme", "npm", "client"}, {"acme", "nuget", "Acme.Lib"}, {"alice", "npm", "dotfiles"},
	} {
		if _, err := w.sim.Publish(p.owner, p.typ, p.name, "1.0.0", ghsim.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.sim.AddUser("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.Publish("bob", "rubygems", "gem", "1.0.0", ghsim.PublishOptions{Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		owner string
		f     planner.Filter
		want  string // owner kind, self, owner/type/name
		err   error
	}{
		"a container, upper case":                {"acme", planner.Filter{Package: "APP"}, "Organization acme/container/app", nil},
		"an npm package":                         {"acme", planner.Filter{Package: "client"}, "Organization acme/npm/client", nil},
		"another case, listed":                   {"acme", planner.Filter{Package: "CLIENT"}, "Organization acme/npm/client", nil},
		"nuget":                                  {"acme", planner.Filter{Package: "Acme.Lib"}, "Organization acme/nuget/Acme.Lib", nil},
		"two types: the container":               {"acme", planner.Filter{Package: "app"}, "Organization acme/container/app", nil},
		"two types: --type npm":                  {"acme", planner.Filter{Package: "app", Type: "npm"}, "Organization acme/npm/app", nil},
		"the owner in another case":              {"ACME", planner.Filter{Package: "client"}, "Organization acme/npm/client", nil},
		"the owner in another case, found first": {"ACME", planner.Filter{Package: "app"}, "Organization acme/container/app", nil},
		"a user's own":                           {"alice", planner.Filter{Package: "dotfiles"}, "User self alice/npm/dotfiles", nil},
		"another user's":                         {"bob", planner.Filter{Package: "gem"}, "User bob/rubygems/gem", nil},
		"nobody's":                               {"acme", planner.Filter{Package: "nope"}, "", githubapi.ErrNotFound},
		"nobody's, typed":                        {"acme", planner.Filter{Package: "nope", Type: "maven"}, "", githubapi.ErrNotFound},
		"no such owner":                          {"nobody", planner.Filter{Package: "app"}, "", githubapi.ErrNotFound},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			sel, err := w.planner(rules.NewLoader(w.source()), 0).Select(context.Background(), tc.owner, tc.f)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range sel.Packages {
				self := ""
				if sel.Owner.Self {
					self = "self "
				}
				got = append(got, fmt.Sprintf("%s %s%s/%s/%s", sel.Owner.Kind, self, sel.Owner.Login, p.Type, p.Name))
			}
			if want := []string{tc.want}; !reflect.DeepEqual(got, want) {
				t.Errorf("selected %v, want %v", got, want)
			}
			if len(sel.Notices) > 0 {
				t.Errorf("notices %s", strings.Join(sel.Notices, "; "))
			}
		})
	}
}

// TestSelectOnePackageRefused: a token without the repo scope cannot see
// maven packages; a nuget package asked for by name is found after them,
// with a notice that a maven package of that name may exist, as listing
// every type said before.
func TestSelectOnePackageRefused(t *testing.T) {
	w := newWorld(t)
	if _, err := w.sim.Publish("acme", "nuget", "Acme.Lib", "1.0.0", ghsim.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := w.sim.AddClassicToken("alice", "read:packages")
	if err != nil {
		t.Fatal(err)
	}
	s, err := (&planner.Access{APIURL: w.srv.URL, RegistryURL: w.srv.URL}).SessionWithToken(githubapi.NewToken("acme", "test", tok))
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.New(planner.Options{Packages: s.Packages, Loader: rules.NewLoader(w.source())})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := p.Select(context.Background(), "acme", planner.Filter{Package: "Acme.Lib"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Packages) != 1 || sel.Packages[0].Type != "nuget" {
		t.Fatalf("selected %+v", sel.Packages)
	}
	if len(sel.Notices) != 1 || !strings.HasPrefix(sel.Notices[0], "maven packages not looked at: ") {
		t.Errorf("notices %q, want one about maven", sel.Notices)
	}
}
