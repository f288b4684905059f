package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Answers: pkgwarden's reply, in the report issue, to what a person asked
// there (a /pkgwarden comment, a ticked box).

// answerMarker is the hidden last line of the answer of run runID.
func answerMarker(runID string) string {
	return "<!-- pkgwarden:answer " + strings.ReplaceAll(runID, " ", "_") + " -->"
}

// Answer replies to sender on issue of repository ("owner/name"), as the
// job runID, with what became of each command asked (parts, in order). A
// comment among the issue's last ones already carrying runID's marker is
// not added again: a retried job answers once. Result.Commented
// says whether a comment was added.
func (r *Reporter) Answer(ctx context.Context, installation int64, repository string, issue int, sender, runID string, parts []AnswerPart) (Result, error) {
	text := answerText(parts)
	sep := " "
	if strings.Contains(text, "\n") {
		// A list (several lines asked, or notes) starts on a line of its
		// own, or GitHub renders its first item as text.
		sep = "\n\n"
	}
	marker := answerMarker(runID)
	body := fmt.Sprintf("@%s%s%s\n\n%s", sender, sep, text, marker)
	owner, _, _ := strings.Cut(repository, "/")
	repo := pkgref.RepoName(repository)
	p := place{gh: r.clients.InstallationClient(installation), owner: owner, repo: repo}
	res := Result{Issue: Issue{Repository: repository, Number: issue}}
	// The last comments, as for a run's comment: on a long issue the
	// answer is on its last page, not its first.
	seen, err := r.hasComment(ctx, p, issue, marker)
	if err != nil {
		return res, err
	}
	if seen {
		return res, nil
	}
	if err := r.comment(ctx, p, issue, body); err != nil {
		return res, fmt.Errorf("answer: %w", err)
	}
	res.Commented = true
	return res, nil
}

// AnswerPart is what became of one command a person asked: Line is the
// line as written (quoted above its outcomes when a comment asked several),
// Outcomes what became of each thing it asked, one sentence each.
type AnswerPart struct {
	Line     string
	Outcomes []Outcome
}

// answerText words an answer: one line per outcome, and when several
// commands were asked, each command's outcomes as a list under its line.
func answerText(parts []AnswerPart) string {
	var lines []string
	for _, p := range parts {
		if len(parts) > 1 {
			lines = append(lines, "`"+quoteLine(p.Line)+"`:")
		}
		for _, o := range p.Outcomes {
			l := o.sentence()
			if len(parts) > 1 || len(p.Outcomes) > 1 {
				l = "- " + l
			}
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// quoteLine shows a person's text inside a code span of an answer.
func quoteLine(s string) string {
	return strings.NewReplacer("`", "'", "\r", " ", "\n", " ").Replace(s)
}

// An Outcome is what became of one thing a person asked in a report issue
// (a command, a version, a tag). The restore job finds it; report words it
// in the answer. The outcomes are the types of this file.
type Outcome interface {
	sentence() string
}

// Help answers "/pkgwarden help": the commands, and who may use them on
// Repository ("owner/name"), where permissions are read.
type Help struct{ Repository string }

func (o Help) sentence() string {
	return fmt.Sprintf(`the commands, in a comment on this report:
- `+"`/pkgwarden restore <id|tag|digest>…`"+` restores versions pkgwarden deleted, named by id, by tag (`+"`pr-42`"+`) or by digest, whole or its start (`+"`sha256:6e7d`"+`: at least %d hex digits; without `+"`sha256:`"+`, at least %d); `+"`/pkgwarden restore all`"+` restores every deletion listed in the report.
- `+"`/pkgwarden forget <id|tag|digest>…`"+` deletes again a version pkgwarden restored, and never restores it automatically; `+"`/pkgwarden forget package`"+` does so for a restored package.
- `+"`/pkgwarden help`"+` shows this.

A tag or digest that fits several versions is answered with them and does nothing. Restoring needs write access to %s, forgetting admin access.`, MinDigestHex, MinBareDigestHex, oneLine(o.Repository))
}

// TokenTrouble: GitHub stopped the request because of Owner's packages
// token (invalid, lacking a scope, not authorised for SAML SSO), after
// Restored versions came back. The owner's token issue says what is wrong;
// the answer only points to it, since the people asking cannot fix it.
type TokenTrouble struct {
	Owner    string
	Restored int
}

func (o TokenTrouble) sentence() string {
	done := "nothing was restored"
	if o.Restored > 0 {
		done = fmt.Sprintf("only %d %s restored before it stopped", o.Restored, plural(o.Restored, "version was", "versions were"))
	}
	return fmt.Sprintf("GitHub did not accept the packages token pkgwarden uses for %s for this, so %s. The owner is told in the issue \"%s\" of %s's `.github` repository; ask again once it is fixed.",
		oneLine(o.Owner), done, TokenProblemTitle(o.Owner), oneLine(o.Owner))
}

// NotACommand answers a /pkgwarden line that is no command; Problem says
// why ("" for no reason given).
type NotACommand struct{ Problem string }

func (o NotACommand) sentence() string {
	problem := o.Problem
	if problem == "" {
		problem = "not a command"
	}
	if !strings.Contains(problem, CommandUsage) {
		problem += ". " + CommandUsage
	}
	return problem + "."
}

// Refused: the person lacks the permission Verb needs on Repository
// ("owner/name"): write to restore, admin to forget. Nothing was changed.
type Refused struct {
	Verb       Verb
	Repository string
}

func (o Refused) sentence() string {
	if o.Verb == VerbForget {
		return fmt.Sprintf("sorry, only admins of %s can delete versions again with `forget` (GitHub lets only package admins delete), so nothing was changed.", o.Repository)
	}
	return fmt.Sprintf("sorry, only people with write access to %s can restore versions of this package, so nothing was changed.", o.Repository)
}

// TooManyIDs: a command named more than MaxCommandIDs ids and tags;
// nothing was changed.
type TooManyIDs struct{}

func (TooManyIDs) sentence() string {
	return fmt.Sprintf("at most %d ids per request, so nothing was changed; ask again in smaller parts.", MaxCommandIDs)
}

// PackageGone: restoring was asked of a package that is deleted itself.
type PackageGone struct{}

func (PackageGone) sentence() string {
	return "the package is deleted; restore it first (nothing was changed)."
}

// NoSuchName: Name, a tag or digest given to Verb, fits no version the
// command may act on: none pkgwarden deleted from the package (restore),
// none it restored (forget).
type NoSuchName struct {
	Name string
	Verb Verb
}

func (o NoSuchName) sentence() string {
	if o.Verb == VerbForget {
		return fmt.Sprintf("%s: no version pkgwarden restored in this package has this tag or digest.", codeWord(o.Name))
	}
	return fmt.Sprintf("%s: no version pkgwarden deleted from this package has this tag or digest (GitHub keeps deleted versions for 30 days).", codeWord(o.Name))
}

// Candidate is a version a tag or digest given in a command fits.
type Candidate struct {
	ID      int64
	Version string
	Tags    []string
}

// maxCandidates bounds the candidates an Ambiguous answer lists.
const maxCandidates = 5

// Ambiguous: Name fits several versions (Candidates), so nothing was done
// for it.
type Ambiguous struct {
	Name       string
	Candidates []Candidate
}

func (o Ambiguous) sentence() string {
	cs := slices.SortedFunc(slices.Values(o.Candidates), func(a, b Candidate) int { return cmp.Compare(a.ID, b.ID) })
	var list []string
	for i, c := range cs {
		if i == maxCandidates {
			list = append(list, fmt.Sprintf("and %d more", len(cs)-maxCandidates))
			break
		}
		head, in := "untagged", fmt.Sprintf("id %d", c.ID)
		switch {
		case len(c.Tags) > 0:
			var tags []string
			for _, t := range c.Tags[:min(len(c.Tags), 3)] {
				tags = append(tags, codeWord(t))
			}
			head = strings.Join(tags, ", ")
		case !strings.HasPrefix(c.Version, "sha256:"):
			head = codeWord(c.Version)
		}
		if strings.HasPrefix(c.Version, "sha256:") {
			in = codeWord(shortName(c.Version)) + ", " + in
		}
		parts := []string{head + " (" + in + ")"}
		list = append(list, strings.Join(parts, " "))
	}
	return fmt.Sprintf("%s fits %d versions, so nothing was done for it; name one by its id: %s.", codeWord(o.Name), len(cs), strings.Join(list, "; "))
}

// TooLate: version ID, listed in the report, was deleted at DeletedAt, past
// GitHub's restore window.
type TooLate struct {
	ID        int64
	DeletedAt time.Time
}

func (o TooLate) sentence() string {
	return fmt.Sprintf("version %d: too late, it was deleted on %s and GitHub keeps deleted versions for 30 days only.", o.ID, o.DeletedAt.Format("2006-01-02"))
}

// NotDeleted: version ID is active.
type NotDeleted struct{ ID int64 }

func (o NotDeleted) sentence() string { return fmt.Sprintf("version %d is not deleted.", o.ID) }

// NotDeletedHere: ID is no version pkgwarden deleted from the package. The
// same words for an id of another package, of another owner, or of none:
// an answer must not tell them apart.
type NotDeletedHere struct{ ID int64 }

func (o NotDeletedHere) sentence() string {
	return fmt.Sprintf("version %d: not a version pkgwarden deleted from this package (or too late: GitHub keeps deleted versions for 30 days).", o.ID)
}

// DeletedByOthers: version ID is deleted, but not by pkgwarden, so
// pkgwarden does not restore it.
type DeletedByOthers struct{ ID int64 }

func (o DeletedByOthers) sentence() string {
	return fmt.Sprintf("version %d: pkgwarden did not delete it, so it does not restore it; restore it by hand on GitHub, or with a `restore.tags` rule.", o.ID)
}

// NothingToRestore: the command named nothing to restore.
type NothingToRestore struct{}

func (NothingToRestore) sentence() string { return "there was nothing to restore." }

// RestoredVersions: N versions came back (those restored along with them
// included).
type RestoredVersions struct{ N int }

func (o RestoredVersions) sentence() string {
	return fmt.Sprintf("restored %d %s.", o.N, plural(o.N, "version", "versions"))
}

// Ref names what an outcome of forget is about: a version (VersionRef) or
// the package (PackageRef).
type Ref struct {
	pkg  bool
	name string
	id   int64
}

// VersionRef names version id.
func VersionRef(id int64) Ref { return Ref{id: id} }

// PackageRef names the package called name, of id id; "" and 0 leave them
// out.
func PackageRef(name string, id int64) Ref { return Ref{pkg: true, name: name, id: id} }

func (r Ref) String() string {
	if !r.pkg {
		return fmt.Sprintf("version %d", r.id)
	}
	s := "the package"
	if r.name != "" {
		s += " `" + r.name + "`"
	}
	if r.id != 0 {
		s += fmt.Sprintf(" (id %d)", r.id)
	}
	return s
}

// NotRestoredByPkgwarden: forget was asked of What, which pkgwarden did not
// restore; nothing was done.
type NotRestoredByPkgwarden struct{ What Ref }

func (o NotRestoredByPkgwarden) sentence() string {
	return o.What.String() + ": pkgwarden did not restore it, so `forget` does not apply; delete it by hand or with a rule."
}

// HeldBack: version ID was not forgotten, since By holds it.
type HeldBack struct {
	ID int64
	By Hold
}

func (o HeldBack) sentence() string {
	return fmt.Sprintf("version %d: not deleted, %s.", o.ID, o.By)
}

// StaysDeleted: What, deleted already, is forgotten: never restored
// automatically.
type StaysDeleted struct{ What Ref }

func (o StaysDeleted) sentence() string {
	return o.What.String() + " stays deleted and will not be restored automatically."
}

// DeletedAgain: What was deleted again and forgotten.
type DeletedAgain struct{ What Ref }

func (o DeletedAgain) sentence() string {
	return o.What.String() + " deleted again; it will not be restored automatically."
}

// NotDeletedAgain: What is forgotten but not deleted again, since By holds
// everything.
type NotDeletedAgain struct {
	What Ref
	By   Hold
}

func (o NotDeletedAgain) sentence() string {
	return fmt.Sprintf("%s: %s, so it was not deleted again; it will not be restored automatically.", o.What, o.By)
}

// DeleteRefused: What is forgotten, but GitHub refused to delete it again
// (Reason is GitHub's message).
type DeleteRefused struct {
	What   Ref
	Reason string
}

func (o DeleteRefused) sentence() string {
	return fmt.Sprintf("%s: GitHub refused to delete it again (%s); it will not be restored automatically.", o.What, o.Reason)
}

// NothingToForget: the command named nothing to forget.
type NothingToForget struct{}

func (NothingToForget) sentence() string { return "there was nothing to forget." }

// Hold says why pkgwarden may not delete something now. The zero Hold
// holds nothing.
type Hold struct{ why string }

// The holds.
var (
	// HoldPaused: PKGWARDEN_PAUSED is set.
	HoldPaused = Hold{"pkgwarden is paused (PKGWARDEN_PAUSED)"}
	// HoldRulesUnreadable: the rules cannot be read.
	HoldRulesUnreadable = Hold{"the rules cannot be read (see the invalid-configuration issue)"}
	// HoldNoRulesFile: no rules file governs the package.
	HoldNoRulesFile = Hold{"no rules file governs this package"}
	// HoldManifestsUnreadable: the package's manifests cannot be read, so
	// what holds a version is unknown.
	HoldManifestsUnreadable = Hold{"the package's manifests cannot be read now, so pkgwarden cannot tell what holds it; ask again later"}
)

// HoldDryRun: the rules of origin are a dry run.
func HoldDryRun(origin string) Hold { return Hold{"the rules are a dry run (" + origin + ")"} }

// HoldNoRule: no rule of origin governs the package.
func HoldNoRule(origin string) Hold { return Hold{"no rule of " + origin + " governs this package"} }

// HoldIndex: the active index of digest index holds the version, and
// stays.
func HoldIndex(index string) Hold {
	return Hold{fmt.Sprintf("the index `%s` holds it and stays; forget the index to release it", rules.ShortDigest(index))}
}

// Holds reports whether h holds anything.
func (h Hold) Holds() bool { return h.why != "" }

// String words h ("" for the zero Hold).
func (h Hold) String() string { return h.why }
