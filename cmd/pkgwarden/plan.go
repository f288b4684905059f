package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

const planUsage = `Usage: pkgwarden plan --owner OWNER [flags]

Shows what pkgwarden's rules would delete, keep and restore in the packages
of OWNER, and why: a dry run against GitHub or the simulator.
plan NEVER deletes, restores or changes anything; it only reads packages,
versions (active and deleted), manifests and .github/pkgwarden.yml files.

Each package's versions are listed by action (delete, defer: beyond the
policy's max_deletions_per_run, so left to a later run; restore: deleted
versions restore.tags protects; keep), oldest first within an action, with
their age. Restores are judged on the tags GitHub lists for the deleted
versions: the restore sweep also leaves alone the versions pkgwarden deleted
itself and those whose deletion a person marked intentional, records plan
cannot read; a deleted package (restore.package) is not listed at all.

The packages token is the one pkgwarden serve would use for OWNER
(PKGWARDEN_PACKAGES_TOKENS, PKGWARDEN_PACKAGES_TOKEN, or the file
packages-tokens/OWNER in PKGWARDEN_DATA_DIR), else GITHUB_TOKEN: a classic
token with read:packages (and repo for private repositories, maven and
docker packages).

--package NAME plans one package, asked for by name rather than found in
listings of every type of the owner's packages: of --type's type, or else
the first of container, npm, maven, nuget, rubygems and docker that has a
package of that name (give --type for a package of the same name of a
later type). It reads that package, its versions (the deleted ones too
when restore.tags or a broken image needs them), its manifests, the
owner's .github/pkgwarden.yml (its policy bounds every file) and the file
of the repository it is linked to (and what that file _extends).

--config FILE evaluates FILE as if it were committed as the
.github/pkgwarden.yml of a repository: --repo if given, else the repository
--package is linked to, else the owner's .github repository (the owner's
defaults and policy). The owner's policy still bounds a repository's file,
and a repository's file still governs only that repository's packages.

--config NEW --against OLD (or --config NEW --diff: against the file
committed where NEW would go) prints what the change would do instead of
the plan: per package the versions NEW would delete that OLD keeps (+) and
the reverse (-), the restores that would start or stop, the packages that
change hands between a repository's rules and the owner's, the totals under
max_deletions_per_run, and whether the new deletions exceed the old
policy's review_deletions_over, as the pull request check shows it. GitHub
is read once for both files. --json prints it as JSON.

--now TIME evaluates the rules as of another moment, e.g. next week's date
to see what will go by then.

Flags:
`

// runPlan is `pkgwarden plan`: the dry run of the rules.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runPlanEnv(ctx, args, stdout, stderr, os.Getenv)
}

// runPlanEnv is runPlan reading the environment through getenv, so tests
// need not change the process's environment.
func runPlanEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), planUsage)
		fs.PrintDefaults()
	}
	owner := fs.String("owner", "", "organisation or user whose packages to plan (required)")
	pkgName := fs.String("package", "", "plan only this package, whatever repository it is linked to (of --type, else the first type that has it: see above)")
	repo := fs.String("repo", "", "plan only the packages linked to this repository; with --config, the repository the file stands for")
	pkgType := fs.String("type", "", "plan only packages of this type: "+strings.Join(planner.PackageTypes(), ", "))
	asJSON := fs.Bool("json", false, `print {"packages": [...]} as JSON instead of a table`)
	configFile := fs.String("config", "", "evaluate this file instead of the committed .github/pkgwarden.yml (see above)")
	againstFile := fs.String("against", "", "with --config: print what changing this file into --config's would do")
	diffCommitted := fs.Bool("diff", false, "with --config: print what changing the committed file into --config's would do")
	nowFlag := fs.String("now", "", "evaluate as of this moment: RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01, midnight UTC); default now")
	apiURL := fs.String("api-url", envOr(getenv, "PKGWARDEN_GITHUB_API_URL", githubapi.DefaultAPIURL), "GitHub REST API (the simulator's api_url to try rules offline)")
	registryURL := fs.String("registry-url", envOr(getenv, "PKGWARDEN_REGISTRY_URL", planner.DefaultRegistryURL), "container registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: plan takes no arguments, got %q", errUsage, fs.Args())
	}
	if *owner == "" {
		fs.Usage()
		return errors.New("--owner is required")
	}
	if (*againstFile != "" || *diffCommitted) && *configFile == "" {
		return fmt.Errorf("%w: --against and --diff compare --config's file with another: give --config", errUsage)
	}
	at := time.Now()
	if *nowFlag != "" {
		t, err := parseNow(*nowFlag)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		at = t
	}

	// Errors are returned without a "plan:" of their own: main prints
	// "pkgwarden plan: " before them.
	tok, err := planToken(getenv, *owner)
	if err != nil {
		return err
	}
	session, err := (&planner.Access{APIURL: *apiURL, RegistryURL: *registryURL}).SessionWithToken(tok)
	if err != nil {
		return err
	}
	pkgs := newAgeRecorder(session.Packages)
	gh, err := githubapi.NewGitHubClient(nil, *apiURL)
	if err != nil {
		return err
	}
	src := githubapi.NewContentsSource(gh.WithAuthToken(tok.Secret()), nil)
	loader := rules.NewLoader(src)
	bar := newPlanProgress(stderr)
	defer bar.done()
	p, err := planner.New(planner.Options{
		Packages: pkgs, Graphs: session.Registry, Loader: loader,
		Now: func() time.Time { return at }, Progress: bar.report,
	})
	if err != nil {
		return err
	}
	sel, err := p.Select(ctx, *owner, planner.Filter{Type: *pkgType, Package: *pkgName, Repository: *repo})
	if err != nil {
		return err // "plan OWNER: ...", named by the planner
	}
	if *againstFile != "" || *diffCommitted {
		err := planDiff(ctx, stdout, p, src, sel, diffArgs{repo: *repo, pkg: *pkgName, config: *configFile, against: *againstFile, json: *asJSON})
		bar.done()
		return err
	}
	if *configFile != "" {
		data, err := os.ReadFile(*configFile)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		target, err := configTarget(*repo, *pkgName, sel)
		if err != nil {
			return fmt.Errorf("--config %s: %w", *configFile, err)
		}
		if err := loader.Override(sel.Owner.Login, target, *configFile, data); err != nil {
			return fmt.Errorf("--config %s: %w", *configFile, err)
		}
	}
	plan, err := p.PlanSelection(ctx, sel)
	if err != nil {
		bar.done()
		return err // "plan OWNER/TYPE/NAME: ...", named by the planner
	}
	warnTokenScopes(stderr, session.Packages, plan)
	view, err := viewPlan(ctx, plan, loader, pkgs)
	bar.done()
	if err != nil {
		return err
	}
	if *asJSON {
		return writePlanJSON(stdout, view)
	}
	return writePlanTable(stdout, view)
}

// configTarget is the repository whose file --config stands for: --repo;
// else, with --package, the repository the package is linked to; else
// the owner's .github repository (the owner's defaults and policy).
func configTarget(repo, pkgName string, sel planner.Selection) (string, error) {
	if repo != "" {
		return pkgref.RepoName(repo), nil
	}
	if pkgName == "" || len(sel.Packages) == 0 {
		return rules.OwnerRepo, nil
	}
	target := pkgref.RepoName(sel.Packages[0].Repository)
	for _, pkg := range sel.Packages[1:] {
		if r := pkgref.RepoName(pkg.Repository); !strings.EqualFold(r, target) {
			return "", fmt.Errorf("packages named %s are linked to different repositories (%q, %q): say which file this is with --repo", pkgName, target, r)
		}
	}
	if target == "" {
		// Linked to no repository: the owner's file governs it.
		return rules.OwnerRepo, nil
	}
	return target, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}

// parseNow reads --now: RFC 3339, or a date meaning midnight UTC.
func parseNow(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-12-01T09:00:00Z) nor a date (2026-12-01)", s)
}

// planToken finds the owner's packages token as serve would, then falls
// back to GITHUB_TOKEN. Without either the error wraps
// githubapi.ErrNoPackagesToken: no other owner's token is ever guessed.
func planToken(getenv func(string) string, owner string) (githubapi.Token, error) {
	tokens, err := githubapi.ParsePackagesTokens(getenv("PKGWARDEN_PACKAGES_TOKENS"), getenv("PKGWARDEN_PACKAGES_TOKEN"))
	if err != nil {
		return githubapi.Token{}, err
	}
	if err := tokens.LoadTokenDir(envOr(getenv, "PKGWARDEN_DATA_DIR", "./data")); err != nil {
		return githubapi.Token{}, err
	}
	tok, err := tokens.Token(owner)
	if err == nil {
		return tok, nil
	}
	if gt := strings.TrimSpace(getenv("GITHUB_TOKEN")); gt != "" {
		return githubapi.NewToken(owner, "GITHUB_TOKEN", gt), nil
	}
	return githubapi.Token{}, fmt.Errorf("%w, or GITHUB_TOKEN", err)
}

// planProgress draws a progress bar on a terminal and nothing elsewhere, so
// that logs and pipes stay clean.
type planProgress struct {
	bar *progressbar.ProgressBar
	max int
}

func newPlanProgress(w io.Writer) *planProgress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &planProgress{}
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("listing packages"),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(80*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionFullWidth(),
	)
	return &planProgress{bar: bar, max: -1}
}

func (p *planProgress) report(pr planner.Progress) {
	if p.bar == nil {
		return
	}
	if pr.Total > 0 && pr.Total != p.max {
		p.max = pr.Total
		p.bar.ChangeMax(pr.Total)
	}
	switch pr.Stage {
	case planner.StageListPackages:
		p.bar.Describe("listing packages")
	case planner.StageListVersions, planner.StageReadGraph:
		p.bar.Describe(fmt.Sprintf("%s: %s (%d versions, %d pages)", pr.Package, pr.Stage, pr.Versions, pr.Pages))
	case planner.StageDecided:
		_ = p.bar.Set(pr.Done)
	}
}

func (p *planProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
