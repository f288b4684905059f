package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// The owner's issues: problems of the owner's setup, which no repository's
// maintainers can fix, said once in the owner's .github repository (or,
// where that takes no issues, in the repository of the package that met
// them) and rewritten in place, never commented on. The missing-token
// issue is in notices.go.

// TokenProblemTitle is the title of the issue saying what is wrong with an
// owner's packages token (invalid, lacking a scope, not authorised for
// SAML SSO).
func TokenProblemTitle(owner string) string {
	return "pkgwarden: the packages token of " + owner + " needs attention"
}

// DeadLettersTitle is the title of the issue listing an owner's jobs that
// failed every attempt.
func DeadLettersTitle(owner string) string {
	return "pkgwarden: jobs of " + owner + " that failed every attempt"
}

// TokenProblem describes a packages token problem for the owner's issue.
type TokenProblem struct {
	githubapi.TokenProblem
	// Types are the package types the token was used for when GitHub
	// answered: they decide whether repo is among the scopes asked for.
	Types []string
	// Deleting says whether pkgwarden stopped deleting because of it.
	Deleting bool
}

// TokenProblem opens or rewrites the owner's token-problem issue: in the
// owner's .github repository, else in repo (the package's repository). A
// call with the same problem changes nothing; another problem rewrites the
// body; a closed issue is reopened. It never comments.
func (r *Reporter) TokenProblem(ctx context.Context, installation int64, owner, repo string, p TokenProblem) (Result, error) {
	places := r.tokenPlaces(installation, owner, repo)
	web := ""
	if len(places) > 0 {
		web = r.webURL(places[0])
	}
	res, err := r.ensure(ctx, places,
		func(place) string { return TokenProblemTitle(owner) }, renderTokenProblemBody(owner, web, p))
	if err != nil {
		return res, fmt.Errorf("report packages token problem of %s: %w", owner, err)
	}
	if res.Created || res.Updated || res.Reopened {
		r.log.InfoContext(ctx, "packages token problem reported", "owner", owner, "kind", string(p.Kind),
			"missing", strings.Join(p.Missing, ","), "issue", res.Issue.Number, "created", res.Created)
	}
	return res, nil
}

// tokenWorksNote is the comment closing the token-problem issue.
const tokenWorksNote = "<!-- pkgwarden:token-works -->\nA run succeeded with the packages token and it has every scope pkgwarden needs: pkgwarden deletes and restores again.\n"

// TokenWorks closes the owner's token-problem issue, if open, wherever
// TokenProblem put it: a run succeeded with a token that has every scope
// needed.
func (r *Reporter) TokenWorks(ctx context.Context, installation int64, owner string) (Result, error) {
	res, err := r.settleOwnerIssue(ctx, installation, owner, TokenProblemTitle(owner), tokenWorksNote)
	if err != nil {
		return res, fmt.Errorf("close packages token problem issue of %s: %w", owner, err)
	}
	return res, nil
}

// settleOwnerIssue closes the owner-level issue titled title with note:
// in the owner's .github when it takes issues, else wherever it went (the
// installation's repositories of owner with open issues), as
// TokenConfigured does.
func (r *Reporter) settleOwnerIssue(ctx context.Context, installation int64, owner, title, note string) (Result, error) {
	res, err := r.settleIn(ctx, r.ownerPlace(installation, owner), title, note)
	if !errors.Is(err, errNoIssues) {
		return res, err
	}
	places, err := r.installationPlaces(ctx, installation, owner)
	if err != nil {
		return Result{}, err
	}
	return r.settle(ctx, places, func(place) string { return title }, note)
}

// renderTokenProblemBody says what GitHub said about the token and how to
// fix it. It never contains a token: it is written without seeing one.
// Scope names come from githubapi's fixed list, never from GitHub's text.
func renderTokenProblemBody(owner, web string, p TokenProblem) string {
	if web == "" {
		web = "https://github.com"
	}
	need := githubapi.ScopesFor(p.Types...)
	form := githubapi.TokenFormURL(web, scopeUnion(need, p.Missing))
	var b strings.Builder
	b.WriteString("<!-- pkgwarden:token-problem -->\n")
	o := ownerCode(owner)
	switch p.Kind {
	case githubapi.TokenInvalid:
		fmt.Fprintf(&b, "**GitHub does not accept the packages token of %s** (401 Bad credentials): it is wrong, expired or revoked.\n\n", o)
	case githubapi.TokenSSO:
		fmt.Fprintf(&b, "**%s enforces SAML single sign-on, and its packages token is not authorised for it**: GitHub refuses every package request made with it.\n\n", o)
	default:
		fmt.Fprintf(&b, "**The packages token of %s lacks the %s %s**: GitHub refused a request that needs %s.",
			o, ownerCodes(p.Missing), plural(len(p.Missing), "scope", "scopes"), plural(len(p.Missing), "it", "them"))
		if p.Have != nil {
			have := "none"
			if len(p.Have) > 0 {
				have = ownerCodes(p.Have)
			}
			fmt.Fprintf(&b, " Its scopes, as GitHub lists them: %s.", have)
		}
		b.WriteString("\n\n")
	}
	if p.Deleting {
		fmt.Fprintf(&b, "Until it is fixed pkgwarden deletes nothing of %s's packages. No version is marked as refused or held for it: the next run after the fix deletes what the rules say.\n\n", o)
	} else {
		fmt.Fprintf(&b, "Until it is fixed pkgwarden cannot do all its work on %s's packages; nothing is marked as refused or held for it.\n\n", o)
	}
	b.WriteString("To fix it (as the token's owner, an admin of the packages):\n\n")
	switch p.Kind {
	case githubapi.TokenInvalid:
		fmt.Fprintf(&b, "1. Create a classic token with the scopes pkgwarden needs ticked: %s\n", form)
		fmt.Fprintf(&b, "2. Give it to pkgwarden where it runs (not here): `PKGWARDEN_PACKAGES_TOKENS=%s=<token>` (or the file `packages-tokens/%s` in its data directory), and restart it.\n", oneLine(owner), oneLine(owner))
	case githubapi.TokenSSO:
		fmt.Fprintf(&b, "1. On %s/settings/tokens, next to the token, choose **Configure SSO** and **Authorize** %s.\n", web, o)
		b.WriteString("2. Nothing changes in pkgwarden: the same token works from the next run on.\n")
	default:
		fmt.Fprintf(&b, "1. On %s/settings/tokens, open the token and tick %s; the token stays the same, nothing changes in pkgwarden.\n", web, ownerCodes(p.Missing))
		fmt.Fprintf(&b, "2. Or create a new token with the scopes ticked, %s, and give it to pkgwarden as `PKGWARDEN_PACKAGES_TOKENS=%s=<token>` (then restart it).\n", form, oneLine(owner))
	}
	fmt.Fprintf(&b, "\npkgwarden needs %s", ownerCodes(need))
	if !slices.Contains(need, "repo") {
		b.WriteString(", and `repo` too when the owner has maven or docker packages")
	}
	b.WriteString(". This issue is rewritten when the problem changes and closes by itself once a run succeeds with a good token. **Never paste a token into this issue.**\n")
	return b.String()
}

// DeadLetter is one job that failed its last attempt, as the owner's
// dead-letter issue lists it.
type DeadLetter struct {
	// Job is the job type: prune, restore or config.
	Job string
	// Package is the job's package (for a config job, Name is the
	// repository and Type "repository").
	Package pkgref.Ref
	// Request is true for a restore someone asked on a report.
	Request  bool
	Attempts int
	// Error is the last attempt's error: pkgwarden's text, which quotes
	// GitHub's; it is shown on one line, bounded.
	Error string
	At    time.Time
}

// maxDeadLettersShown bounds the list; the count says how many more.
const maxDeadLettersShown = 10

// DeadLetters opens or rewrites the owner's dead-letter issue with
// letters, the owner's most recent dead letters first, and total, how
// many the stream holds for the owner. A closed issue is reopened: a new
// dead letter is news. It never comments.
func (r *Reporter) DeadLetters(ctx context.Context, installation int64, owner string, letters []DeadLetter, total int) (Result, error) {
	if len(letters) == 0 {
		return Result{}, fmt.Errorf("report dead letters of %s: none given", owner)
	}
	repo := letters[0].Package.Repository
	res, err := r.ensure(ctx, r.tokenPlaces(installation, owner, repo),
		func(place) string { return DeadLettersTitle(owner) }, renderDeadLettersBody(owner, letters, total))
	if err != nil {
		return res, fmt.Errorf("report dead letters of %s: %w", owner, err)
	}
	return res, nil
}

// renderDeadLettersBody lists the dead letters and says how each kind of
// job runs again.
func renderDeadLettersBody(owner string, letters []DeadLetter, total int) string {
	var b strings.Builder
	b.WriteString("<!-- pkgwarden:dead-letters -->\n")
	total = max(total, len(letters))
	fmt.Fprintf(&b, "**%d %s of %s failed every attempt** and %s set aside in the `dead_letters` stream (kept 30 days). pkgwarden does not run a dead letter again by itself.\n\n",
		total, plural(total, "job", "jobs"), ownerCode(owner), plural(total, "was", "were"))
	if total > len(letters) {
		fmt.Fprintf(&b, "The %d most recent:\n\n", len(letters))
	}
	kinds := map[string]bool{}
	for i, l := range letters {
		if i == maxDeadLettersShown {
			break
		}
		what := "a " + ownerCode(l.Job) + " of " + deadLetterTarget(l)
		switch {
		case l.Request:
			what, kinds["request"] = "a restore asked on the report of "+deadLetterTarget(l), true
		case l.Job == "prune" || l.Job == "restore":
			kinds["package"] = true
		case l.Job == "config":
			what, kinds["config"] = "re-reading the configuration of "+deadLetterTarget(l), true
		default:
			kinds["other"] = true
		}
		fmt.Fprintf(&b, "- %s · %s, after %d %s: %s\n", l.At.UTC().Format("2006-01-02 15:04 UTC"), what,
			l.Attempts, plural(l.Attempts, "attempt", "attempts"), ownerCode(l.Error))
	}
	b.WriteString("\nTo run them again, fix the cause the error names first (a token, a rate limit, GitHub down), then:\n\n")
	if kinds["package"] {
		b.WriteString("- a prune or restore of a package runs again at the next sweep (every `PKGWARDEN_SWEEP_INTERVAL`, 1h by default), or at once when a version of the package is published;\n")
	}
	if kinds["request"] {
		b.WriteString("- a restore someone asked for runs again when they comment the same `/pkgwarden` command on the package's report;\n")
	}
	if kinds["config"] {
		b.WriteString("- re-reading a configuration runs again with the next push that changes `.github/pkgwarden.yml`;\n")
	}
	if kinds["other"] {
		b.WriteString("- a job of a type this pkgwarden does not know runs nowhere: a newer pkgwarden wrote it, run that version;\n")
	}
	b.WriteString("- the operator can read the letters with the NATS CLI (`nats stream view dead_letters`) on pkgwarden's NATS server.\n\n")
	b.WriteString("This issue is rewritten with each new dead letter, never commented on; close it once handled, and the next dead letter reopens it.\n")
	return b.String()
}

func deadLetterTarget(l DeadLetter) string {
	if l.Job == "config" {
		return ownerCode(l.Package.Owner + "/" + l.Package.Name)
	}
	return ownerCode(l.Package.Type+" "+l.Package.Owner+"/"+l.Package.Name) + ownerRepoSuffix(l.Package.Repository)
}

func ownerRepoSuffix(repo string) string {
	if repo == "" {
		return ""
	}
	return " (" + ownerCode(repo) + ")"
}

// ownerCode puts text of unknown origin in a code span on one line: bounded by
// oneLine, its backticks turned into quotes so that it cannot leave the
// span (nothing in a span is a mention, a link or HTML).
func ownerCode(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", "'")
	if s == "" {
		return "``"
	}
	return "`" + s + "`"
}

// ownerCodes lists names as code spans: "`a`, `b` and `c`".
func ownerCodes(names []string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, ownerCode(n))
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// scopeUnion is a and b, sorted, without repeats.
func scopeUnion(a, b []string) []string {
	out := append(append([]string(nil), a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
