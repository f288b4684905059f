package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// memSource serves files from memory, keyed "owner/repo:path", and counts
// reads so tests can see the loader's cache at work.
type memSource struct {
	files map[string]string
	fail  map[string]error
	reads map[string]int
}

func (s *memSource) File(_ context.Context, owner, repo, path string) ([]byte, error) {
	key := owner + "/" + repo + ":" + path
	if s.reads == nil {
		s.reads = map[string]int{}
	}
	s.reads[key]++
	if err, ok := s.fail[key]; ok {
		return nil, err
	}
	data, ok := s.files[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return []byte(data), nil
}

const (
	orgFile  = "acme/.github:.github/pkgwarden.yml"
	appFile  = "acme/app:.github/pkgwarden.yml"
	baseFile = "acme/base:shared/pkgwarden.yml"
)

const orgRules = `report: {labels: [cleanup], assignees: [octocat]}
rules:
  - packages: ["*"]
    prune: {untagged: true, older_than: 30d}
policy:
  max_deletions_per_run: 50
  min_untagged_age: 2h
`

const appRules = `rules:
  - packages: ["app", "app-*"]
    type: container
    prune: {untagged: true, keep_untagged: 5}
`

// summary prints what a test needs to know of a resolved config.
func summary(c *Config) string {
	if c.Inert() {
		return fmt.Sprintf("inert policy=%d/%s/%s notices=%q", c.Policy.MaxDeletionsPerRun, FormatDuration(c.Policy.MinUntaggedAge), c.Policy.RepositoryRules, c.Notices)
	}
	var rules []string
	for _, r := range c.Rules {
		s := r.Packages.String() + "/" + r.Type
		if r.Prune != nil {
			s += fmt.Sprintf("/untagged=%v,keep_untagged=%d,older_than=%s", r.Prune.Untagged, r.Prune.KeepUntagged, FormatDuration(r.Prune.OlderThan))
		}
		rules = append(rules, s)
	}
	return fmt.Sprintf("origin=%s repo=%s dry_run=%v labels=%v assignees=%v rules=[%s] policy=%d/%s/%s notices=%q",
		c.Origin, c.Repository, c.DryRun, c.Report.Labels, c.Report.Assignees, strings.Join(rules, "; "),
		c.Policy.MaxDeletionsPerRun, FormatDuration(c.Policy.MinUntaggedAge), c.Policy.RepositoryRules, c.Notices)
}

func TestLoad(t *testing.T) {
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	loose := Package{Owner: "acme", Type: TypeContainer, Name: "tools"}
	tests := map[string]struct {
		files map[string]string
		pkg   Package
		want  string
		err   string
	}{
		"no file anywhere: inert": {
			pkg:  app,
			want: `inert policy=500/1h/allow notices=[]`,
		},
		"repository file governs its package, bounded by the owner's policy": {
			files: map[string]string{orgFile: orgRules, appFile: appRules},
			pkg:   app,
			want:  `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=false labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=50/2h/allow notices=[]`,
		},
		"a full repository name is read as its name": {
			files: map[string]string{appFile: appRules},
			pkg:   Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "acme/app"},
			want:  `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=false labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=500/1h/allow notices=[]`,
		},
		"repository without a file follows the owner's rules": {
			files: map[string]string{orgFile: orgRules},
			pkg:   app,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[cleanup] assignees=[octocat] rules=[*/any/untagged=true,keep_untagged=0,older_than=30d] policy=50/2h/allow notices=[]`,
		},
		"unlinked package follows the owner's rules": {
			files: map[string]string{orgFile: orgRules, appFile: appRules},
			pkg:   loose,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[cleanup] assignees=[octocat] rules=[*/any/untagged=true,keep_untagged=0,older_than=30d] policy=50/2h/allow notices=[]`,
		},
		"repository file without an owner file": {
			files: map[string]string{appFile: appRules},
			pkg:   app,
			want:  `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=false labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=500/1h/allow notices=[]`,
		},
		"policy deny ignores repository files": {
			files: map[string]string{orgFile: orgRules + "  repository_rules: deny\n", appFile: appRules},
			pkg:   app,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[cleanup] assignees=[octocat] rules=[*/any/untagged=true,keep_untagged=0,older_than=30d] policy=50/2h/deny notices=["acme/app:.github/pkgwarden.yml ignored: policy.repository_rules is deny in acme/.github:.github/pkgwarden.yml"]`,
		},
		"policy deny without owner rules leaves no rule to apply": {
			files: map[string]string{orgFile: "policy: {repository_rules: deny}\n", appFile: appRules},
			pkg:   app,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[pkgwarden] assignees=[] rules=[] policy=500/1h/deny notices=["acme/app:.github/pkgwarden.yml ignored: policy.repository_rules is deny in acme/.github:.github/pkgwarden.yml"]`,
		},
		"policy deny ignores even an invalid repository file": {
			files: map[string]string{orgFile: "policy: {repository_rules: deny}\n", appFile: "rules: {oops: 1}\n"},
			pkg:   app,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[pkgwarden] assignees=[] rules=[] policy=500/1h/deny notices=["acme/app:.github/pkgwarden.yml ignored: policy.repository_rules is deny in acme/.github:.github/pkgwarden.yml"]`,
		},
		"policy dry_run forces a dry run": {
			files: map[string]string{orgFile: "policy: {repository_rules: dry_run}\n", appFile: "dry_run: false\n" + appRules},
			pkg:   app,
			want:  `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=true labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=500/1h/dry_run notices=["dry run forced by policy.repository_rules: dry_run in acme/.github:.github/pkgwarden.yml"]`,
		},
		"policy in a repository file is an error": {
			files: map[string]string{appFile: appRules + "policy:\n  repository_rules: allow\n"},
			pkg:   app,
			err:   `rules for acme/container/app: acme/app: .github/pkgwarden.yml:5:1: policy: only allowed in the owner's acme/.github repository`,
		},
		"_extends merges maps and replaces lists": {
			files: map[string]string{
				orgFile: orgRules,
				appFile: "_extends: acme/base:shared/pkgwarden.yml\nreport: {assignees: [hubot]}\n",
				baseFile: `dry_run: true
report: {labels: [base, shared], assignees: [someone]}
rules:
  - packages: ["*"]
    type: container
    prune: {untagged: true, keep_untagged: 9}
policy: {max_deletions_per_run: 1}
`,
			},
			pkg:  app,
			want: `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=true labels=[base shared] assignees=[hubot] rules=[*/container/untagged=true,keep_untagged=9,older_than=0m] policy=50/2h/allow notices=[]`,
		},
		"_extends replaces rules wholesale and goes one level only": {
			files: map[string]string{
				appFile:  "_extends: acme/base:shared/pkgwarden.yml\n" + appRules,
				baseFile: "_extends: acme/deeper\ndry_run: true\nrules:\n  - {type: npm}\n  - {type: maven}\n",
			},
			pkg:  app,
			want: `origin=acme/app:.github/pkgwarden.yml repo=app dry_run=true labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=500/1h/allow notices=["acme/base:shared/pkgwarden.yml: _extends of acme/deeper:.github/pkgwarden.yml not followed (one level only)"]`,
		},
		"owner file may extend too": {
			files: map[string]string{orgFile: "_extends: acme/base:shared/pkgwarden.yml\npolicy: {min_untagged_age: 3h}\n", baseFile: appRules},
			pkg:   loose,
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[pkgwarden] assignees=[] rules=[app, app-*/container/untagged=true,keep_untagged=5,older_than=0m] policy=500/3h/allow notices=[]`,
		},
		"_extends of a missing file is an error at its line": {
			files: map[string]string{appFile: "dry_run: true\n_extends: acme/nowhere\n"},
			pkg:   app,
			err:   `rules for acme/container/app: acme/app: .github/pkgwarden.yml:2:11: _extends: acme/nowhere:.github/pkgwarden.yml not found`,
		},
		"invalid extended file names itself": {
			files: map[string]string{appFile: "_extends: acme/base:shared/pkgwarden.yml\n", baseFile: "rules: 3\n"},
			pkg:   app,
			err:   `rules for acme/container/app: acme/base: shared/pkgwarden.yml:1:8: rules: must be a list of rules, got integer 3`,
		},
		"invalid owner file stops everything": {
			files: map[string]string{orgFile: "policy: {repository_rules: sometimes}\n", appFile: appRules},
			pkg:   app,
			err:   `rules for acme/container/app: acme/.github: .github/pkgwarden.yml:1:28: policy.repository_rules: must be allow, dry_run or deny, got "sometimes"`,
		},
		"package linked to the .github repository follows the owner file": {
			files: map[string]string{orgFile: orgRules},
			pkg:   Package{Owner: "acme", Type: TypeNPM, Name: "meta", Repository: ".github"},
			want:  `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[cleanup] assignees=[octocat] rules=[*/any/untagged=true,keep_untagged=0,older_than=30d] policy=50/2h/allow notices=[]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLoader(&memSource{files: tc.files})
			cfg, err := l.Load(context.Background(), tc.pkg)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Load error = %v\nwant %s", err, tc.err)
				}
				var list ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("error %T does not wrap an ErrorList", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := summary(cfg); got != tc.want {
				t.Errorf("config:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestLoadCachesAndRetriesTransientErrors(t *testing.T) {
	src := &memSource{
		files: map[string]string{appFile: appRules},
		fail:  map[string]error{orgFile: errors.New("502 bad gateway")},
	}
	l := NewLoader(src)
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	_, err := l.Load(context.Background(), app)
	if err == nil || !strings.Contains(err.Error(), "read acme/.github:.github/pkgwarden.yml: 502 bad gateway") {
		t.Fatalf("Load error = %v, want the transient error with the file named", err)
	}
	var list ErrorList
	if errors.As(err, &list) {
		t.Fatalf("transient error reported as a config error: %v", err)
	}
	delete(src.fail, orgFile)
	for i := 0; i < 3; i++ {
		if _, err := l.Load(context.Background(), app); err != nil {
			t.Fatalf("Load after recovery: %v", err)
		}
	}
	if src.reads[orgFile] != 2 || src.reads[appFile] != 1 {
		t.Errorf("reads = %v, want the failed read retried once and every file read once after", src.reads)
	}
}

func TestOverride(t *testing.T) {
	files := map[string]string{orgFile: orgRules + "  repository_rules: dry_run\n", appFile: "rules: []\n"}
	candidate := []byte(`rules:
  - packages: ["app", "api"]
    type: container
    prune: {untagged: true}
`)
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	api := Package{Owner: "acme", Type: TypeContainer, Name: "api", Repository: "api"}

	l := NewLoader(&memSource{files: files})
	if err := l.Override("acme", "app", "candidate.yml", candidate); err != nil {
		t.Fatalf("Override: %v", err)
	}
	cfg, err := l.Load(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	want := `origin=candidate.yml repo=app dry_run=true labels=[pkgwarden] assignees=[] rules=[app, api/container/untagged=true,keep_untagged=0,older_than=0m] policy=50/2h/dry_run notices=["dry run forced by policy.repository_rules: dry_run in acme/.github:.github/pkgwarden.yml"]`
	if got := summary(cfg); got != want {
		t.Errorf("override for its own package:\n%s\nwant:\n%s", got, want)
	}

	cfg, err = l.Load(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	want = `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[cleanup] assignees=[octocat] rules=[*/any/untagged=true,keep_untagged=0,older_than=30d] policy=50/2h/dry_run notices=["candidate.yml rule 1 names package api, which is linked to acme/api, not acme/app: ignored for it"]`
	if got := summary(cfg); got != want {
		t.Errorf("override for another repository's package:\n%s\nwant:\n%s", got, want)
	}
	// The notice reaches the decision, which follows the owner's rules.
	d := Decide(Input{Config: cfg, Package: api, Now: testNow})
	if len(d.Notices) != 1 || d.Origin != "acme/.github:.github/pkgwarden.yml" {
		t.Errorf("decision origin %q notices %q", d.Origin, d.Notices)
	}

	if err := l.Override("acme", "app", "bad.yml", []byte("policy: {max_deletions_per_run: 5}\n")); err == nil ||
		err.Error() != "bad.yml:1:1: policy: only allowed in the owner's acme/.github repository" {
		t.Errorf("Override with a policy = %v", err)
	}
	if err := l.Override("acme", "app", "bad.yml", []byte("rules: [{type: nope}]\n")); err == nil ||
		err.Error() != `bad.yml:1:16: rules[0].type: must be one of npm, maven, rubygems, nuget, docker, container, any, got "nope"` {
		t.Errorf("Override with a bad file = %v", err)
	}
}

func TestOverrideOwnerFile(t *testing.T) {
	l := NewLoader(&memSource{files: map[string]string{orgFile: orgRules}})
	err := l.Override("acme", ".github", "next-org.yml", []byte("policy: {min_untagged_age: 6h}\nrules:\n  - prune: {untagged: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Load(context.Background(), Package{Owner: "acme", Type: TypeContainer, Name: "tools"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != "next-org.yml" || cfg.Policy.MinUntaggedAge != 6*time.Hour {
		t.Errorf("got %s", summary(cfg))
	}
}

// TestLoadDashboard: report.dashboard and report.per_package are the
// owner's switches, read from the owner's own file whichever file governs.
func TestLoadDashboard(t *testing.T) {
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	loose := Package{Owner: "acme", Type: TypeContainer, Name: "tools"}
	const on = "report: {dashboard: true}\n" + "rules:\n  - prune: {untagged: true}\n"
	const only = "report: {dashboard: true, per_package: false}\n"
	tests := map[string]struct {
		files         map[string]string
		pkg           Package
		dash, onlyOne bool
		notice        string
	}{
		"no file":                     {pkg: loose},
		"owner file without the key":  {files: map[string]string{orgFile: orgRules}, pkg: loose},
		"owner file switches it on":   {files: map[string]string{orgFile: on}, pkg: loose, dash: true},
		"per_package false":           {files: map[string]string{orgFile: only + orgRules[strings.Index(orgRules, "rules:"):]}, pkg: loose, dash: true, onlyOne: true},
		"repository file governs":     {files: map[string]string{orgFile: only, appFile: appRules}, pkg: app, dash: true, onlyOne: true},
		"repository file cannot":      {files: map[string]string{appFile: "report: {dashboard: true}\n" + appRules}, pkg: app, notice: "report.dashboard and report.per_package of acme/app:.github/pkgwarden.yml ignored: only acme/.github:.github/pkgwarden.yml switches the dashboard"},
		"repository file cannot undo": {files: map[string]string{orgFile: on, appFile: "report: {dashboard: false}\n" + appRules}, pkg: app, dash: true, notice: "report.dashboard and report.per_package of acme/app:.github/pkgwarden.yml ignored: only acme/.github:.github/pkgwarden.yml switches the dashboard"},
		"extends gives no dashboard":  {files: map[string]string{orgFile: "_extends: acme/base:shared/pkgwarden.yml\n", baseFile: on}, pkg: loose},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := NewLoader(&memSource{files: tc.files}).Load(context.Background(), tc.pkg)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Report.Dashboard != tc.dash || cfg.Report.DashboardOnly != tc.onlyOne {
				t.Errorf("dashboard=%v only=%v, want %v %v", cfg.Report.Dashboard, cfg.Report.DashboardOnly, tc.dash, tc.onlyOne)
			}
			got := strings.Join(cfg.Notices, "\n")
			if got != tc.notice {
				t.Errorf("notices = %q, want %q", got, tc.notice)
			}
		})
	}
}

func TestOwnerDashboard(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		want  Report
	}{
		"none":           {},
		"off":            {files: map[string]string{orgFile: orgRules}},
		"on":             {files: map[string]string{orgFile: "report: {dashboard: true}\n"}, want: Report{Dashboard: true}},
		"only":           {files: map[string]string{orgFile: "report: {dashboard: true, per_package: false}\n"}, want: Report{Dashboard: true, DashboardOnly: true}},
		"invalid owner":  {files: map[string]string{orgFile: "report: {dashboard: true}\nrules: 3\n"}},
		"repo file only": {files: map[string]string{appFile: "report: {dashboard: true}\n"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := NewLoader(&memSource{files: tc.files}).OwnerDashboard(context.Background(), "acme")
			if got.Dashboard != tc.want.Dashboard || got.DashboardOnly != tc.want.DashboardOnly {
				t.Errorf("OwnerDashboard = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestLoadReviewDeletionsOver: the threshold comes from the owner's
// policy, 100 when it does not say, and binds a repository's packages too.
func TestLoadReviewDeletionsOver(t *testing.T) {
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	for name, tc := range map[string]struct {
		owner string
		want  int
	}{
		"default":          {owner: "rules: []\n", want: 100},
		"owner's policy":   {owner: "policy: {review_deletions_over: 7}\n", want: 7},
		"zero reviews all": {owner: "policy: {review_deletions_over: 0}\n", want: 0},
		"no owner file":    {want: 100},
	} {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{appFile: appRules}
			if tc.owner != "" {
				files[orgFile] = tc.owner
			}
			cfg, err := NewLoader(&memSource{files: files}).Load(context.Background(), app)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Policy.ReviewDeletionsOver != tc.want {
				t.Errorf("ReviewDeletionsOver = %d, want %d", cfg.Policy.ReviewDeletionsOver, tc.want)
			}
		})
	}
}

// TestLoaderRemove: a removed repository file hands its packages to the
// owner's rules without reading the repository.
func TestLoaderRemove(t *testing.T) {
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	src := &memSource{files: map[string]string{orgFile: "rules: []\n", appFile: appRules}}
	l := NewLoader(src)
	l.Remove("acme", "app")
	cfg, err := l.Load(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != orgFile || src.reads[appFile] != 0 {
		t.Errorf("origin %q, %d reads of %s; want the owner's file, none", cfg.Origin, src.reads[appFile], appFile)
	}
}
