package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
)

// The permission matrix of issue 11: who may ask what of pkgwarden, where.
// Every row is an actor doing something through GitHub's API (the
// simulator), the signed webhooks that GitHub sends forwarded to serve, and
// the effect read off the simulator: the package's versions, and the bot's
// answer to that very delivery.

const trustRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, delete_tags: ["pr-*"], exclude_tags: ["latest", "v*"]}
    restore: {tags: ["v*"]}
`

// Actors. alice is acme's organisation admin (newE2E); the others are
// made by newTrustWorld.
const (
	actOutsider    = "outsider"    // no access at all
	actReader      = "reader"      // read on acme/app
	actTriager     = "triager"     // triage on acme/app
	actOtherWriter = "otherwriter" // write on acme/other only
	actWriter      = "writer"      // write on acme/app
	actMaintainer  = "maintainer"  // maintain on acme/app
	actRepoAdmin   = "repoadmin"   // admin on acme/app
	actOrgAdmin    = "alice"       // acme's admin
	actEve         = "eve"         // admin of evil, another installation
	actBot         = "bot"         // pkgwarden's own bot (the installation's token)
)

var trustActors = []string{actOutsider, actReader, actTriager, actOtherWriter, actWriter, actMaintainer, actRepoAdmin, actOrgAdmin, actEve, actBot}

// Places a report-looking issue can be in.
const (
	placeGenuine = "genuine report"           // pkgwarden's report of app, in acme/app
	placeOther   = "look-alike in acme/other" // opened by otherwriter
	placeEvil    = "look-alike in evil/x"     // opened by eve, another installation
	placeDotGit  = "look-alike in acme/.github"
)

// Entry points.
const (
	entryRestore      = "comment /pkgwarden restore <pkgwarden's deletion>"
	entryForget       = "comment /pkgwarden forget <pkgwarden's restore>"
	entryRestoreTag   = "comment /pkgwarden restore <tag of pkgwarden's deletion>"
	entryRestoreDig   = "comment /pkgwarden restore <digest prefix of pkgwarden's deletion>"
	entryForgetTag    = "comment /pkgwarden forget <tag of pkgwarden's restore>"
	entryForgetPkg    = "comment /pkgwarden forget package"
	entryBox          = "tick the restore box"
	entryIntentional  = "tick the intentional box"
	entryAddLines     = "edit the body adding a ticked line"
	entryRestoreCRLF  = "comment restore, CRLF"
	entryInCode       = "comment forget inside a code block"
	entryInQuote      = "comment forget inside a quote"
	entryOtherOwnerID = "comment restore <another owner's version id>"
	entryUnknownID    = "comment restore <an id of nothing>"
	entryTooMany      = "comment forget with 21 ids"
	entryHelp         = "comment /pkgwarden help"
	entryTypo         = "comment /pkgwarden restor <id>"
)

// Effects.
const (
	effNone     = "nothing changed"
	effRestored = "pr-3 restored"
	effDeleted  = "v4 deleted again"
)

// trustWorld is an e2e world where pkgwarden pruned pr-3 of acme's
// container app, and restored v4.0.0 automatically after someone deleted
// it by hand (restore.tags protects v*): pr-3 is pkgwarden's deletion, v4
// pkgwarden's restore, whose comment has the "intentional" box (a restore
// a person asked for has none).
type trustWorld struct {
	*e2e
	tokens         map[string]string
	pr3, v4        int64
	pr3Digest      string
	v4Digest       string
	evilVersion    int64
	report         int // genuine report issue number in acme/app
	restoreComment int64
	lookAlike      map[string]int // place → issue number
	// webEditor: people write through GitHub's web editor, whose bodies
	// end every line with "\r\n" (the simulator's WebEditorHeader).
	webEditor bool
}

// webEditorTransport sends every request as GitHub's web editor would
// (ghsim.WebEditorHeader).
type webEditorTransport struct{ base http.RoundTripper }

func (t webEditorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(ghsim.WebEditorHeader, "web")
	return t.base.RoundTrip(r)
}

func newTrustWorld(t *testing.T) *trustWorld {
	t.Helper()
	w := &trustWorld{e2e: newE2E(t, nil), tokens: map[string]string{}, lookAlike: map[string]int{}}
	sim := w.sim
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for login, perm := range map[string]string{actReader: "read", actTriager: "triage", actWriter: "write", actMaintainer: "maintain", actRepoAdmin: "admin"} {
		_, err := sim.AddUser(login)
		must(err)
		must(sim.SetCollaborator("acme", "app", login, perm))
	}
	for _, login := range []string{actOutsider, actOtherWriter, "dotwriter"} {
		_, err := sim.AddUser(login)
		must(err)
	}
	must(sim.SetCollaborator("acme", "other", actOtherWriter, "write"))
	must(sim.SetCollaborator("acme", ".github", "dotwriter", "write"))
	// Another organisation with its own installation of the same App.
	_, err := sim.AddUser(actEve)
	must(err)
	_, err = sim.AddOrg("evil", actEve)
	must(err)
	_, err = sim.AddRepo("evil", "x", ghsim.RepoOptions{})
	must(err)
	_, err = sim.AddInstallation("evil", map[string]string{"metadata": "read", "contents": "read", "issues": "write"})
	must(err)
	for _, login := range []string{actOutsider, actReader, actTriager, actOtherWriter, actWriter, actMaintainer, actRepoAdmin, actOrgAdmin, actEve, "dotwriter"} {
		tok, err := sim.AddClassicToken(login, "repo", "read:packages", "write:packages", "delete:packages")
		must(err)
		w.tokens[login] = tok
	}
	// A version of evil's own package, whose id acme's report must not
	// tell apart from an id of nothing.
	_, err = sim.Pusher(actEve, w.tokens[actEve]).PushImage(context.Background(), "evil/tool", w.image("evil"), "v1")
	must(err)
	vs, err := sim.Versions("evil", "container", "tool")
	must(err)
	w.evilVersion = vs[0].ID

	w.file("app", rules.Path, trustRules)
	w.push(w.image("latest"), 2*cfgDay, "latest")
	w.pr3Digest = w.push(w.image("pr-3"), 5*cfgDay, "pr-3")
	w.v4Digest = w.push(w.image("v4"), 5*cfgDay, "v4.0.0")
	w.deliverRun()
	for _, v := range w.all() {
		switch v.Name {
		case w.pr3Digest:
			w.pr3 = v.ID
		case w.v4Digest:
			w.v4 = v.ID
		}
	}
	if !w.deleted(w.pr3) || w.deleted(w.v4) {
		t.Fatal("pkgwarden did not prune pr-3 alone: the world proves nothing")
	}
	for _, is := range w.issuesOf("acme", "app") {
		if is.User == sim.BotLogin() && is.Title == report.Title(rules.Package{Owner: "acme", Type: "container", Name: "app"}) {
			w.report = is.Number
		}
	}
	if w.report == 0 {
		t.Fatal("no report issue")
	}
	// Deleted by hand, and restored by a sweep's restore job.
	w.deleteVersion(w.v4Digest)
	w.sweepRestore(t)
	if w.deleted(w.v4) {
		t.Fatal("the sweep did not restore v4.0.0")
	}
	for _, c := range w.issue("acme", "app", w.report).Comments {
		if c.User == sim.BotLogin() && strings.Contains(c.Body, "<!-- pkgwarden:restore-run ") {
			w.restoreComment = c.ID
		}
	}
	if w.restoreComment == 0 {
		t.Fatal("no restore comment with an intentional box")
	}
	// The look-alikes: pkgwarden's title and body (sealed boxes included,
	// copied), opened by someone else.
	genuine := w.issue("acme", "app", w.report)
	for place, where := range map[string][2]string{placeOther: {actOtherWriter, "acme/other"}, placeEvil: {actEve, "evil/x"}, placeDotGit: {"dotwriter", "acme/.github"}} {
		owner, repo, _ := strings.Cut(where[1], "/")
		is, _, err := w.client(where[0]).Issues.Create(context.Background(), owner, repo, &github.IssueRequest{
			Title: github.String(genuine.Title), Body: github.String(genuine.Body), Labels: &[]string{"pkgwarden"},
		})
		must(err)
		w.lookAlike[place] = is.GetNumber()
		// The copied restore comment, for its intentional box.
		restore := ""
		for _, c := range genuine.Comments {
			if c.ID == w.restoreComment {
				restore = c.Body
			}
		}
		_, _, err = w.client(where[0]).Issues.CreateComment(context.Background(), owner, repo, is.GetNumber(), &github.IssueComment{Body: github.String(restore)})
		must(err)
	}
	w.deliverHeld(t)
	return w
}

// sweepRestore queues the restore job a sweep queues for package app, and
// waits until it is done.
func (w *trustWorld) sweepRestore(t *testing.T) {
	t.Helper()
	key, err := os.ReadFile(w.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: w.sim.AppID(), PrivateKey: key, BaseURL: w.srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	inst, _, err := app.AppClient().Apps.FindOrganizationInstallation(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	job := jobs.Job{Type: jobs.TypeRestore, Reason: sweep.JobReason, QueuedAt: w.sim.Now().UTC(), Target: webhook.Target{
		InstallationID: inst.GetID(), Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "app", Repository: "acme/app"}}
	if err := jobs.Publish(context.Background(), w.q, job); err != nil {
		t.Fatal(err)
	}
	w.waitIdle()
}

func (w *trustWorld) client(login string) *github.Client {
	if login == actBot {
		return w.installationClient()
	}
	var hc *http.Client
	if w.webEditor {
		hc = &http.Client{Transport: webEditorTransport{http.DefaultTransport}}
	}
	gh, err := githubapi.NewGitHubClient(hc, w.srv.URL+"/")
	if err != nil {
		w.t.Fatal(err)
	}
	return gh.WithAuthToken(w.tokens[login])
}

// installationClient writes as pkgwarden's bot: acme's installation.
func (w *trustWorld) installationClient() *github.Client {
	w.t.Helper()
	key, err := os.ReadFile(w.keyPath)
	if err != nil {
		w.t.Fatal(err)
	}
	app, err := githubapi.NewApp(githubapi.AppConfig{AppID: w.sim.AppID(), PrivateKey: key, BaseURL: w.srv.URL + "/"})
	if err != nil {
		w.t.Fatal(err)
	}
	inst, _, err := app.AppClient().Apps.FindOrganizationInstallation(context.Background(), "acme")
	if err != nil {
		w.t.Fatal(err)
	}
	return app.InstallationClient(inst.GetID())
}

// all are every version of acme's app, active and deleted.
func (w *trustWorld) all() []ghsim.PackageVersion {
	vs, err := w.sim.Versions("acme", "container", "app")
	if err != nil {
		w.t.Fatal(err)
	}
	return vs
}

func (w *trustWorld) issuesOf(owner, repo string) []ghsim.Issue {
	list, err := w.sim.Issues(owner, repo)
	if err != nil {
		w.t.Fatal(err)
	}
	return list
}

func (w *trustWorld) issue(owner, repo string, n int) ghsim.Issue {
	for _, is := range w.issuesOf(owner, repo) {
		if is.Number == n {
			return is
		}
	}
	w.t.Fatalf("no issue %s/%s#%d", owner, repo, n)
	return ghsim.Issue{}
}

func (w *trustWorld) deleted(id int64) bool {
	for _, v := range w.all() {
		if v.ID == id {
			return v.Deleted
		}
	}
	w.t.Fatalf("no version %d", id)
	return false
}

// act comments body on owner/repo#n as login and delivers what GitHub sent.
func (w *trustWorld) act(t *testing.T, login, repository string, n int, body string) []string {
	t.Helper()
	owner, repo, _ := strings.Cut(repository, "/")
	if _, _, err := w.client(login).Issues.CreateComment(context.Background(), owner, repo, n, &github.IssueComment{Body: github.String(body)}); err != nil {
		t.Fatalf("%s comments on %s#%d: %v", login, repository, n, err)
	}
	return w.deliverHeld(t)
}

// deliverHeld forwards every webhook held at the gate to serve and waits
// for the positive signal that all were handled: each recorded as
// processed by the router, and no job waiting or running. It returns the
// ids of the issues and issue_comment deliveries.
func (w *trustWorld) deliverHeld(t *testing.T) []string {
	t.Helper()
	if err := w.sim.WaitDeliveries(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	var ours []string
	for _, d := range w.held {
		if ev := d.header.Get("X-GitHub-Event"); ev == "issues" || ev == "issue_comment" {
			ours = append(ours, d.header.Get("X-GitHub-Delivery"))
		}
	}
	w.mu.Unlock()
	forwarded := w.forwardHeld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitIdle(ctx, w.q, w.runs, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range forwarded {
		if slices.Contains(ours, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// answers are the bot's comments answering the deliveries ids, anywhere.
func (w *trustWorld) answers(ids []string) []string {
	var out []string
	for _, where := range [][2]string{{"acme", "app"}, {"acme", "other"}, {"acme", ".github"}, {"evil", "x"}} {
		for _, is := range w.issuesOf(where[0], where[1]) {
			for _, c := range is.Comments {
				for _, id := range ids {
					if c.User == w.sim.BotLogin() && strings.Contains(c.Body, "<!-- pkgwarden:answer "+id+" -->") {
						out = append(out, c.Body)
					}
				}
			}
		}
	}
	return out
}

// keeper of each place puts boxes back as they were between rows: the
// author of a look-alike, acme's admin on the genuine report.
var keeper = map[string]string{placeGenuine: actOrgAdmin, placeOther: actOtherWriter, placeEvil: actEve, placeDotGit: "dotwriter"}

// place returns where the entry is done: repository and issue.
func (w *trustWorld) place(place string) (string, int) {
	switch place {
	case placeGenuine:
		return "acme/app", w.report
	case placeOther:
		return "acme/other", w.lookAlike[placeOther]
	case placeEvil:
		return "evil/x", w.lookAlike[placeEvil]
	default:
		return "acme/.github", w.lookAlike[placeDotGit]
	}
}

// do has actor carry out entry at place through GitHub's API. It returns
// the deliveries GitHub sent, and false when GitHub refused the actor (no
// webhook was sent).
func (w *trustWorld) do(t *testing.T, actor, entry, place string) ([]string, bool) {
	t.Helper()
	repository, n := w.place(place)
	owner, repo, _ := strings.Cut(repository, "/")
	ctx := context.Background()
	gh := w.client(actor)
	comment := func(body string) ([]string, bool) {
		if w.webEditor {
			// A line after the command: its line ends "\r\n".
			body += "\n\nthanks!"
		}
		c, _, err := gh.Issues.CreateComment(ctx, owner, repo, n, &github.IssueComment{Body: github.String(body)})
		if err != nil {
			return nil, false
		}
		w.checkEditor(t, c.GetBody())
		return w.deliverHeld(t), true
	}
	editBody := func(edit func(string) string) ([]string, bool) {
		is := w.issue(owner, repo, n)
		edited, _, err := gh.Issues.Edit(ctx, owner, repo, n, &github.IssueRequest{Body: github.String(edit(is.Body))})
		if err != nil {
			return nil, false
		}
		w.checkEditor(t, edited.GetBody())
		ids := w.deliverHeld(t)
		// Untick again (as the place's keeper, whose edit asks nothing):
		// the next row finds the box as pkgwarden left it.
		is = w.issue(owner, repo, n)
		if _, _, err := w.client(keeper[place]).Issues.Edit(ctx, owner, repo, n, &github.IssueRequest{Body: github.String(strings.ReplaceAll(is.Body, "- [x]", "- [ ]"))}); err != nil {
			t.Fatal(err)
		}
		w.deliverHeld(t)
		return ids, true
	}
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(w.v4 + int64(i))
	}
	// The entries that are a comment, by what it says.
	if body, ok := map[string]string{
		entryRestore:      fmt.Sprintf("/pkgwarden restore %d", w.pr3),
		entryRestoreCRLF:  fmt.Sprintf("/pkgwarden restore %d\r\nthanks!", w.pr3),
		entryForget:       fmt.Sprintf("/pkgwarden forget %d", w.v4),
		entryRestoreTag:   "/pkgwarden restore pr-3",
		entryRestoreDig:   "/pkgwarden restore " + w.pr3Digest[:len("sha256:")+8],
		entryForgetTag:    "/pkgwarden forget v4.0.0",
		entryForgetPkg:    "/pkgwarden forget package",
		entryInCode:       fmt.Sprintf("To delete it for good:\n\n```\n/pkgwarden forget %d\n```\n", w.v4),
		entryInQuote:      fmt.Sprintf("> /pkgwarden forget %d\n\nWho wrote this?", w.v4),
		entryOtherOwnerID: fmt.Sprintf("/pkgwarden restore %d", w.evilVersion),
		entryUnknownID:    fmt.Sprintf("/pkgwarden restore %d", w.evilVersion+1_000_000),
		entryTooMany:      "/pkgwarden forget " + strings.Join(tooMany, " "),
		entryHelp:         "/pkgwarden help",
		entryTypo:         fmt.Sprintf("/pkgwarden restor %d", w.pr3),
	}[entry]; ok {
		return comment(body)
	}
	switch entry {
	case entryBox:
		return editBody(func(body string) string {
			return tickLine(body, fmt.Sprintf("pkgwarden:restore %d ", w.pr3))
		})
	case entryAddLines:
		return editBody(func(body string) string {
			return body + fmt.Sprintf("- [x] `sha256:feed` (pr-3) id %d <!-- pkgwarden:restore %d -->\n", w.pr3, w.pr3)
		})
	case entryIntentional:
		var id int64
		var body string
		for _, c := range w.issue(owner, repo, n).Comments {
			if strings.Contains(c.Body, "pkgwarden:intentional ") {
				id, body = c.ID, c.Body
			}
		}
		c, _, err := gh.Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: github.String(tickLine(body, fmt.Sprintf("pkgwarden:intentional %d ", w.v4)))})
		if err != nil {
			return nil, false
		}
		w.checkEditor(t, c.GetBody())
		ids := w.deliverHeld(t)
		if _, _, err := w.client(keeper[place]).Issues.EditComment(ctx, owner, repo, id, &github.IssueComment{Body: github.String(body)}); err != nil {
			t.Fatal(err)
		}
		w.deliverHeld(t)
		return ids, true
	}
	t.Fatalf("no entry %q", entry)
	return nil, false
}

// checkEditor checks that a body a person wrote through the web editor
// came back with its "\r\n" line endings: the row tests what it says.
func (w *trustWorld) checkEditor(t *testing.T, body string) {
	t.Helper()
	if w.webEditor && (!strings.Contains(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n")) {
		t.Fatalf("a body written with the web editor came back without CRLF line endings: %q", body)
	}
}

// tickLine ticks the box of the line of body containing marker.
func tickLine(body, marker string) string {
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if strings.Contains(l, marker) {
			lines[i] = strings.Replace(l, "[ ]", "[x]", 1)
		}
	}
	return strings.Join(lines, "\n")
}

// effect reads what changed since the world was made.
func (w *trustWorld) effect(t *testing.T) string {
	t.Helper()
	switch {
	case !w.deleted(w.pr3) && w.deleted(w.v4):
		t.Fatal("both pr-3 restored and v4 deleted: one row did two things")
	case !w.deleted(w.pr3):
		return effRestored
	case w.deleted(w.v4):
		return effDeleted
	}
	if len(w.appPkg().Active()) == 0 {
		t.Fatal("the package is gone")
	}
	return effNone
}

type trustRow struct {
	actor, entry, place string
	// crlf: the actor writes through GitHub's web editor (bodies with
	// "\r\n" line endings, the whole body on an edit).
	crlf   bool
	effect string
	// answer is a regular expression the bot's answer to the delivery
	// must match, "" for no answer at all.
	answer string
}

const (
	ansRefusedWrite = `only people with write access to acme/app`
	ansRefusedAdmin = `only admins of acme/app`
	ansNotRestored  = `pkgwarden did not restore it`
	// ansRestored is said by the one comment of a restore: who asked
	// (%s), what came back.
	ansRestored = `@%s asked: restored pr-3 (id `
	ansDeleted  = `deleted again`
)

// trustMatrix is the table: every actor × entry point × place, with the
// effect and the answer expected.
func trustMatrix() []trustRow {
	var rows []trustRow
	mayWrite := map[string]bool{actWriter: true, actMaintainer: true, actRepoAdmin: true, actOrgAdmin: true}
	mayAdmin := map[string]bool{actRepoAdmin: true, actOrgAdmin: true}
	// Who GitHub lets edit someone else's issue body (triage and up on
	// the repository, and on a look-alike its author), and someone else's
	// comment (write and up).
	editsIssue := map[string]bool{actTriager: true, actWriter: true, actMaintainer: true, actRepoAdmin: true, actOrgAdmin: true, actBot: true}
	editsComment := map[string]bool{actWriter: true, actMaintainer: true, actRepoAdmin: true, actOrgAdmin: true, actBot: true}
	for _, actor := range trustActors {
		for _, place := range []string{placeGenuine, placeOther, placeEvil, placeDotGit} {
			for _, entry := range []string{entryRestore, entryRestoreTag, entryRestoreDig, entryForget, entryForgetTag, entryForgetPkg, entryBox, entryIntentional, entryAddLines} {
				r := trustRow{actor: actor, entry: entry, place: place, effect: effNone}
				if place == placeGenuine && actor != actBot {
					switch entry {
					case entryRestore, entryRestoreTag, entryRestoreDig:
						r.answer = ansRefusedWrite
						if mayWrite[actor] {
							r.effect, r.answer = effRestored, fmt.Sprintf(ansRestored, actor)
						}
					case entryForget, entryForgetTag:
						r.answer = ansRefusedAdmin
						if mayAdmin[actor] {
							r.effect, r.answer = effDeleted, ansDeleted
						}
					case entryForgetPkg:
						r.answer = ansRefusedAdmin
						if mayAdmin[actor] {
							r.answer = ansNotRestored
						}
					case entryBox:
						if editsIssue[actor] {
							r.answer = ansRefusedWrite
							if mayWrite[actor] {
								r.effect, r.answer = effRestored, fmt.Sprintf(ansRestored, actor)
							}
						}
					case entryIntentional:
						if editsComment[actor] {
							r.answer = ansRefusedAdmin
							if mayAdmin[actor] {
								r.effect, r.answer = effDeleted, ansDeleted
							}
						}
					}
				}
				rows = append(rows, r)
			}
		}
	}
	// The same on the genuine report through GitHub's web editor, whose
	// bodies end every line with "\r\n": a comment, and the whole report
	// body once a box is ticked there.
	for _, r := range slices.Clone(rows) {
		if r.place == placeGenuine && (r.actor == actWriter || r.actor == actRepoAdmin || r.actor == actTriager) {
			r.crlf = true
			rows = append(rows, r)
		}
	}
	// The special cases, on the genuine report.
	rows = append(rows,
		trustRow{actor: actWriter, entry: entryRestoreCRLF, place: placeGenuine, effect: effRestored, answer: fmt.Sprintf(ansRestored, actWriter)},
		trustRow{actor: actRepoAdmin, entry: entryInCode, place: placeGenuine, effect: effNone},
		trustRow{actor: actRepoAdmin, entry: entryInQuote, place: placeGenuine, effect: effNone},
		trustRow{actor: actRepoAdmin, entry: entryTooMany, place: placeGenuine, effect: effNone, answer: `at most 20 ids per command`},
		trustRow{actor: actWriter, entry: entryHelp, place: placeGenuine, effect: effNone, answer: "`/pkgwarden restore <id|tag|digest>…` restores versions pkgwarden deleted"},
		trustRow{actor: actWriter, entry: entryTypo, place: placeGenuine, effect: effNone, answer: "`restor` is not a command. Did you mean `restore`?"},
		trustRow{actor: actWriter, entry: entryOtherOwnerID, place: placeGenuine, effect: effNone, answer: `not a version pkgwarden deleted from this package`},
		trustRow{actor: actWriter, entry: entryUnknownID, place: placeGenuine, effect: effNone, answer: `not a version pkgwarden deleted from this package`},
		trustRow{actor: actEve, entry: entryOtherOwnerID, place: placeEvil, effect: effNone},
	)
	return rows
}

func (r trustRow) name() string {
	name := r.actor + " / " + r.entry + " / " + r.place
	if r.crlf {
		name = "web editor (CRLF): " + name
	}
	return name
}

// TestPermissionMatrix runs the matrix: rows that change nothing share one
// world, one after the other; each row that restores or deletes gets a
// world of its own.
func TestPermissionMatrix(t *testing.T) {
	rows := trustMatrix()
	shared := newTrustWorld(t)
	for _, r := range rows {
		if r.effect != effNone {
			continue
		}
		t.Run(r.name(), func(t *testing.T) {
			shared.check(t, r)
		})
	}
	for _, r := range rows {
		if r.effect == effNone {
			continue
		}
		t.Run(r.name(), func(t *testing.T) {
			// A world of its own each (the row changes it): two at a
			// time, since most of a row is waiting for its jobs.
			t.Parallel()
			newTrustWorld(t).check(t, r)
		})
	}
}

// botComments counts pkgwarden's comments on the genuine report (the
// bot's, with pkgwarden's hidden marker: not a command the bot actor
// wrote).
func (w *trustWorld) botComments() int {
	n := 0
	for _, c := range w.issue("acme", "app", w.report).Comments {
		if c.User == w.sim.BotLogin() && strings.Contains(c.Body, "<!-- pkgwarden:") {
			n++
		}
	}
	return n
}

func (w *trustWorld) check(t *testing.T, r trustRow) {
	t.Helper()
	before := w.botComments()
	w.webEditor = r.crlf
	ids, sent := w.do(t, r.actor, r.entry, r.place)
	w.webEditor = false
	// One comment per request that is answered (a restore's says who
	// asked and what came back), none otherwise.
	want := 0
	if r.answer != "" && r.place == placeGenuine {
		want = 1
	}
	if got := w.botComments() - before; got != want {
		t.Errorf("the bot added %d comments to the report, want %d", got, want)
	}
	if got := w.effect(t); got != r.effect {
		t.Errorf("effect: %s, want %s", got, r.effect)
	}
	answers := w.answers(ids)
	switch {
	case !sent && r.answer != "":
		t.Errorf("GitHub refused %s the action, want an answer %q", r.actor, r.answer)
	case r.answer == "" && len(answers) > 0:
		t.Errorf("answered %q, want no answer", answers)
	case r.answer != "" && (len(answers) != 1 || !regexp.MustCompile(regexp.QuoteMeta(r.answer)).MatchString(answers[0])):
		t.Errorf("answers %q, want one matching %q", answers, r.answer)
	}
}

// TestAnswersDoNotTellOwnersApart: the answer to an id of another owner's
// package is the answer to an id of nothing.
func TestAnswersDoNotTellOwnersApart(t *testing.T) {
	w := newTrustWorld(t)
	a, _ := w.do(t, actWriter, entryOtherOwnerID, placeGenuine)
	b, _ := w.do(t, actWriter, entryUnknownID, placeGenuine)
	norm := func(ids []string) string {
		got := w.answers(ids)
		if len(got) != 1 {
			t.Fatalf("answers %q, want one", got)
		}
		return regexp.MustCompile(`\d+`).ReplaceAllString(got[0][:strings.Index(got[0], "<!--")], "N")
	}
	if x, y := norm(a), norm(b); x != y {
		t.Errorf("another owner's id answered\n%q\nan id of nothing\n%q", x, y)
	}
}
