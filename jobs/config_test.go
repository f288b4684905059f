package jobs

import (
	"testing"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

func TestTouchesConfig(t *testing.T) {
	tests := map[string]struct {
		commits   []*github.HeadCommit
		head      *github.HeadCommit
		ownerRepo bool
		want      bool
	}{
		"a base elsewhere in .github":         {commits: []*github.HeadCommit{{Modified: []string{"shared/base.yaml"}}}, ownerRepo: true, want: true},
		"the same path in another repository": {commits: []*github.HeadCommit{{Modified: []string{"shared/base.yaml"}}}, want: false},
		"no YAML in .github":                  {commits: []*github.HeadCommit{{Modified: []string{"profile/README.md"}}}, ownerRepo: true, want: false},
		"added":                               {commits: []*github.HeadCommit{{Added: []string{rules.Path}}}, want: true},
		"modified":                            {commits: []*github.HeadCommit{{Modified: []string{"README.md"}}, {Modified: []string{rules.Path}}}, want: true},
		"removed":                             {commits: []*github.HeadCommit{{Removed: []string{rules.Path}}}, want: true},
		"only in head_commit":                 {head: &github.HeadCommit{Modified: []string{rules.Path}}, want: true},
		"other files":                         {commits: []*github.HeadCommit{{Added: []string{"pkgwarden.yml", ".github/workflows/ci.yml"}}}, want: false},
		"other case":                          {commits: []*github.HeadCommit{{Added: []string{".github/PKGWARDEN.yml"}}}, want: false},
		"no commits":                          {want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev := &github.PushEvent{Commits: tc.commits, HeadCommit: tc.head}
			if got := touchesConfig(ev, tc.ownerRepo); got != tc.want {
				t.Errorf("touchesConfig = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestConfigTargetNeverCollidesWithAPackage(t *testing.T) {
	ct := ConfigTarget(7, "acme", "app")
	for _, typ := range []string{rules.TypeContainer, "npm", "maven", "rubygems", "nuget", "docker"} {
		pj := Job{Type: TypePrune, Target: ct}
		pj.Target.PackageType = typ
		if pj.LeaseName() == (Job{Type: TypeConfig, Target: ct}).LeaseName() {
			t.Errorf("the config job of acme/app shares its lease with %s package app", typ)
		}
	}
}
