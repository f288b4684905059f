// Package report writes pkgwarden's results back to GitHub as issues: one
// report issue per package, one issue per invalid configuration file and one
// per owner without a packages token. It talks to GitHub only through an
// installation's go-github client; rendering is pure and deterministic.
//
// # The package report issue
//
// A package has at most one open report issue, titled Title(pkg) ("pkgwarden:
// container acme/webapp"), or DryRunTitle(pkg) ("… (dry run)") while its
// rules run as a dry run, and labelled with the config's report.labels. It is
// found again by listing the repository's issues filtered by the first label
// (all states, paging) and matching either title exactly, among the issues
// pkgwarden's own bot wrote (WithBot; a look-alike someone else opened is
// never adopted); an open one wins (changing the first of report.labels
// therefore starts a new issue). A package whose file turns dry_run off goes
// on in the same issue, retitled. A closed one is reopened (not replaced) by
// a run that changed something, so its restorable deletions and history stay
// in one place; a run that changed nothing leaves a closed issue closed. No
// issue is opened for a package until there is something to say (a
// deletion, a preview, a refusal, a reason it was left untouched, or a
// notice).
//
// The body is the current state, top to bottom:
//
//   - one summary line, in the words the terminal uses too (Counts.Line):
//     "Deleted 7 · 5 restorable · restored 2 · refused 1 · kept 13 — rule 1
//     of .github/pkgwarden.yml", the file linked to the rule's line on
//     GitHub; "Deleted" is what the last deleting run deleted, a dry run or
//     a paused run says "would delete" instead, each after its mark;
//   - for a dry run, a paused run or an untouched package, a callout saying
//     so, and the notices of the rules;
//   - the restorable deletions, one checkbox line each, newest first, tag
//     first, then age and short digest, the id and the box's seal in a
//     hidden marker and the deletion time on a hidden batch line above:
//     "- [ ] `pr-12` · 3 days ago · `6b51d431df5d` <!-- pkgwarden:restore 12345 Ab3_x-9kQ2Z -->";
//   - the versions pkgwarden restored ("Restored"), until they are no
//     longer listed or 30 days have passed;
//   - what a dry run would delete (or a paused run held back), each version
//     with its reason;
//   - what GitHub refused to delete, each version once, with GitHub's
//     reason and when pkgwarden asks again (Run.AskAgain);
//   - what was kept and why, counted by reason, folded in <details>.
//
// No version is listed twice: each listed version's line ends with a hidden
// marker naming its id (restore, restored, refused, would), and
// internal/report/reporttest checks the rendered bodies. The body's first
// line names the package ("<!-- pkgwarden:report container acme/webapp
// -->"), and the list is rebuilt from the body itself on the next run
// (ParseRestorable): the issue is self-contained and nothing else has to be
// stored. Lines written by earlier versions (the digest first under visible
// batch lines, or a long marker holding id, time, version and tags) are
// still read, and rewritten in the current format. Entries leave the list
// when GitHub's 30-day restore window has passed, when restored
// (Run.Restored, MarkRestored, Note: they move to "Restored"), or, oldest
// first and said so in a note, as a last resort when the body would still
// exceed GitHub's 65,536 characters; past the first FoldAfter entries the
// rest is folded in a <details> block. Ticked boxes stay ticked across
// rewrites. Seal.NewlyTicked reads the boxes pkgwarden wrote that a person
// ticked, comparing changes.body.from with the new body (Ticked and
// NewlyTicked read every box, sealed or not); Recognise tells pkgwarden's
// report issue and its package from anything else (ParseCommands reads the
// commands of its comments).
//
// The body carries no run id and no time but the ages of its entries,
// which change once a day: a run that changes nothing (or a redelivered
// run) renders the same body and nothing is written.
//
// Labels people add by hand stay; configured assignees are added, never
// removed, and an assignee GitHub refuses (422) is left out rather than
// failing the report.
//
// # Comments
//
// A run adds one comment only when it has news: it deleted something,
// GitHub refused a deletion the body did not show yet, or (dry run, paused)
// its preview differs from the body's. A refusal already shown is not news,
// nor is an unchanged preview. The comment says what changed, with the
// reasons, and names the run by RunName ("run-1a2b3c4d"), the one short
// form of a run id shown to people; it starts with a hidden marker holding
// the full run id, and before posting the last comments (up to two pages of
// 100) are searched for it, so a redelivered job does not comment twice.
// The body keeps the id of the last run with news in a hidden marker, so a
// run retried after writing its body still adds its comment.
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
// column and message of each rules.Error, InvalidConfigAt with links to the
// lines at a push's commit and its pusher; ConfigValid says the file is valid
// again, and ConfigFixed closes it with a comment once a prune succeeded. These two are not serialised by a lease: two jobs reporting the
// same invalid file at the same instant could open two issues. MissingToken
// opens one issue in the owner's ".github" repository saying what to configure,
// or, when the owner has none (or it takes no issues), in the repository of the
// package that triggered the job; TokenConfigured finds it in either and closes
// it. None of them ever contains a token.
package report
