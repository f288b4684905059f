// Package report writes pkgwarden's results back to GitHub as issues: one
// report issue per package, one issue per invalid configuration file and one
// per owner without a packages token. It talks to GitHub only through an
// installation's go-github client; rendering is pure and deterministic.
//
// # The package report issue
//
// A package has at most one open report issue, titled Title(pkg) ("pkgwarden:
// container acme/webapp") and labelled with the config's report.labels. It is
// found again by listing the repository's issues filtered by the first label
// (all states, paging) and matching the title exactly, among the issues
// pkgwarden's own bot wrote (WithBot; a look-alike someone else opened is
// never adopted); an open one wins
// (changing the first of report.labels therefore starts a new issue). A
// closed one is reopened (not replaced) by a run that changed something, so
// its restorable deletions and history stay in one place; a run that changed
// nothing leaves a closed issue closed. No issue is opened for a package
// until there is something to say (a deletion, a preview, a refusal, a reason
// it was left untouched, or a notice).
//
// The body is the current state: the last run's summary (kept, skipped,
// and for a dry run or a paused run what would be deleted, counted by
// reason; or why the package was left untouched), what the last deleting
// run deleted, and the restorable deletions, one checkbox line each, newest
// first, under a line giving the time of each batch of deletions:
//
//	"**Deleted 2026-11-25 10:00 UTC** <!-- pkgwarden:batch 2026-11-25T10:00:00Z -->"
//	"- [ ] `sha256:0a1b2c3d4e5f…` (pr-12) id 12345 <!-- pkgwarden:restore 12345 Ab3_x-9kQ2Z -->"
//
// The body's first line names the package ("<!-- pkgwarden:report container
// acme/webapp -->"). The hidden markers carry the version id, the box's seal
// (Seal: only a box pkgwarden wrote counts when ticked) and the deletion
// time, so the list
// is rebuilt from the body itself on the next run (ParseRestorable): the
// issue is self-contained and nothing else has to be stored. A line is kept
// short (about 90 characters) so that well over the default 500 deletions of
// a run fit; lines written by earlier versions, whose marker also held the
// full version and tags, are still read. Entries leave the list when GitHub's
// 30-day restore window has passed, when restored (Run.Restored), or, oldest
// first and said so in a note, as a last resort when the body would still
// exceed GitHub's 65,536 characters; past the first FoldAfter entries the
// rest is folded in a <details> block. Ticked boxes stay ticked across
// rewrites. Seal.NewlyTicked reads the boxes pkgwarden wrote that a person
// ticked, comparing changes.body.from with the new body (Ticked and
// NewlyTicked read every box, sealed or not); MarkRestored takes restored
// versions off the list; Recognise tells pkgwarden's report issue and its
// package from anything else (ParseCommands reads the commands of its
// comments).
//
// The summary carries no run id or time, and the "last deletions" block is
// copied from the previous body unless the run deleted versions not listed
// yet, so a run that changes nothing (or a redelivered run) renders the same
// body and nothing is written.
//
// Labels people add by hand stay; configured assignees are added, never
// removed, and an assignee GitHub refuses (422) is left out rather than
// failing the report.
//
// # Comments
//
// A run that deleted something (or, for a dry run or a paused run, whose
// preview differs from the body's, or whose refusals are new) adds one
// comment listing what it deleted with the reasons and what it skipped and
// why. The comment starts with a hidden marker holding the run id; before
// posting, the last comments (up to two pages of 100) are searched for it, so a
// redelivered job does not comment twice.
//
// A restore run that brought something back, or met a problem, adds its
// one comment through NoteRestore (a RestoreRun: what came back and why).
// A restore a person asked for says who asked and what came back ("@alice
// asked: restored pr-57 (id 124).") with what else became of the request,
// and carries the answer's marker: it is the request's answer. An
// automatic restore says so and, under every version or package restored
// on its own, has a "this deletion was intentional" box whose hidden
// marker carries the id and its seal (BoxIntentional);
// Seal.NewlyTickedIntentional reads the ones a person ticked. Answer
// replies to a person's request that restored nothing (a /pkgwarden
// comment, a ticked box) with a comment ending in a marker holding the
// job's id, so a retried job answers once. The restore job says what became of each
// command as Outcomes (Refused, TooLate, DeletedAgain, NotDeletedAgain with
// its Hold, ...), and report words them: one sentence each, a list under
// each quoted line when a comment asked several.
//
// # Where issues go
//
// A package linked to a repository reports there; a package linked to no
// repository, or whose repository has issues disabled (GitHub answers 410),
// reports to the owner's ".github" repository. When even that is impossible
// the error wraps ErrNowhere.
//
// # Other issues
//
// InvalidConfig opens (or updates, or reopens) one issue quoting file, line,
// column and message of each rules.Error; ConfigFixed closes it with a
// comment. These two are not serialised by a lease: two jobs reporting the
// same invalid file at the same instant could open two issues. MissingToken
// opens one issue in the owner's ".github" repository saying what to configure,
// or, when the owner has none (or it takes no issues), in the repository of the
// package that triggered the job; TokenConfigured finds it in either and closes
// it. None of them ever contains a token.
package report
