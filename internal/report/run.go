package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// Run is what one prune run did to one package: the plan it followed and
// the outcome of each planned deletion.
type Run struct {
	// ID names the run; it must stay the same when a job is redelivered,
	// because it is what keeps the run to one comment.
	ID           string
	Installation int64
	// Package is the package (Repository empty when linked to none);
	// Decision.Package when left zero.
	Package rules.Package
	// Report is the config's report block (labels and assignees); nil
	// labels mean DefaultLabels.
	Report rules.Report
	// Decision is the plan. With Decision.DryRun or Paused, Decision.Delete
	// is what would have been deleted and Deleted must be empty.
	Decision rules.Decision
	// Paused is true when PKGWARDEN_PAUSED held every deletion back.
	Paused bool
	// Deleted are the versions deleted (a 404 on delete counts), with the
	// reasons from the plan.
	Deleted []rules.Entry
	// Skipped are the planned versions GitHub refused to delete, Reason
	// saying why in GitHub's words (more than 5,000 downloads, last
	// version, ...): the report's "refused".
	Skipped []rules.Entry
	// AskAgain is when pkgwarden asks GitHub again to delete a refused
	// version, by id; a refusal without one is shown without a time.
	AskAgain map[int64]time.Time
	// Kept are planned versions the run kept after all (the re-check found
	// them tagged or referenced, the per-run cap deferred them), with the
	// reason: kept, like Decision.Keep.
	Kept []rules.Entry
	// Restored are version ids restored since: they leave the restorable
	// deletions for the "Restored" section.
	Restored []int64
	// Storage is what Deleted freed and the package's size
	// (rules.MeasureStorage); zero means Decision.Storage, the plan's.
	Storage rules.Storage
}

// Report writes the run into the package's report issue: it finds (or
// opens, or reopens) the issue, rewrites the body when the state changed,
// and adds one comment when the run changed something. Calling it again
// with the same run changes nothing.
func (r *Reporter) Report(ctx context.Context, run Run) (Result, error) {
	if run.Package == (rules.Package{}) {
		run.Package = run.Decision.Package
	}
	pkg := run.Package
	if run.ID == "" {
		return Result{}, fmt.Errorf("report %s: run has no id", pkg)
	}
	if pkg.Owner == "" || pkg.Name == "" {
		return Result{}, fmt.Errorf("report %s: package needs an owner and a name", pkg)
	}
	labels, label := labelsOr(run.Report.Labels)
	title := Title(pkg)
	if run.mode() == modeDryRun {
		title = DryRunTitle(pkg)
	}
	now := r.now().UTC()
	log := r.log.With("package", pkg.String(), "run", RunName(run.ID))

	var tried []string
	for _, p := range r.places(run.Installation, pkg.Owner, pkg.Repository) {
		f, err := r.find(ctx, p, title, label)
		if errors.Is(err, errNoIssues) {
			log.InfoContext(ctx, "repository takes no issues, trying the owner's .github", "repository", p.String(), "err", err)
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("report %s: %w", pkg, err)
		}
		res, err := r.write(ctx, p, f, &run, title, labels, now)
		if errors.Is(err, errNoIssues) {
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("report %s: %w", pkg, err)
		}
		return res, nil
	}
	return Result{}, fmt.Errorf("report %s: tried %s: %w", pkg, strings.Join(tried, ", "), ErrNowhere)
}

// places lists where a package's report may go, in order.
func (r *Reporter) places(installation int64, owner, repo string) []place {
	repo = pkgref.RepoName(repo)
	gh := r.clients.InstallationClient(installation)
	var out []place
	if repo != "" && !strings.EqualFold(repo, rules.OwnerRepo) {
		out = append(out, place{gh: gh, owner: owner, repo: repo})
	}
	return append(out, place{gh: gh, owner: owner, repo: rules.OwnerRepo})
}

// write brings the issue f (nil: none yet) in p up to date with run.
func (r *Reporter) write(ctx context.Context, p place, f *found, run *Run, title string, labels []string, now time.Time) (Result, error) {
	oldBody := ""
	if f != nil {
		oldBody = f.body
	}
	next := nextReport(oldBody, run, r.seal, r.webURL(p), now)
	body, list, restored, v, commentWanted := next.body, next.list, next.restored, next.verdicts, next.commentWanted

	w := write{title: title, body: body, labels: labels, assignees: run.Report.Assignees}
	var res Result
	if f == nil {
		worth := commentWanted || run.mode() == modeUntouched || len(v.refused) > 0 ||
			len(run.Decision.Notices) > 0 || len(list) > 0 || len(restored) > 0 ||
			len(unhealable(run)) > 0 // a broken image is news worth an issue
		if !worth {
			return Result{}, nil
		}
		nf, err := r.create(ctx, p, w)
		if err != nil {
			return Result{}, err
		}
		f, res.Created = nf, true
	} else {
		state := ""
		if f.state != "open" && commentWanted {
			state, res.Reopened = "open", true
		}
		updated, err := r.update(ctx, p, f, w, state)
		if err != nil {
			return Result{}, err
		}
		res.Updated = updated
	}
	res.Issue, res.Restorable = f.issue(p), len(list)
	if commentWanted {
		marker := runMarker(run.ID)
		seen := false
		if !res.Created {
			var err error
			if seen, err = r.hasComment(ctx, p, f.number, marker); err != nil {
				return res, err
			}
		}
		if !seen {
			if err := r.comment(ctx, p, f.number, next.comment); err != nil {
				return res, err
			}
			res.Commented = true
		}
	}
	level := slog.LevelDebug
	if res.Created || res.Updated || res.Reopened || res.Commented {
		level = slog.LevelInfo
		r.prime(ctx, p, f.number)
	}
	r.log.Log(ctx, level, "package report written", "package", run.Package.String(), "run", RunName(run.ID),
		"repository", p.String(), "issue", f.number, "created", res.Created, "updated", res.Updated,
		"reopened", res.Reopened, "commented", res.Commented, "restorable", len(list))
	return res, nil
}

// nextState is a report issue after a run: its body and, when the run
// has news, its comment.
type nextState struct {
	body          string
	list          []Restorable
	restored      []restoredEntry
	verdicts      verdicts
	commentWanted bool
	comment       string
}

// nextReport renders the report of run over the issue's body so far (""
// for none). It is pure: the Reporter writes what it returns.
func nextReport(oldBody string, run *Run, seal Seal, web string, now time.Time) nextState {
	old, oldRestored := ParseRestorable(oldBody), parseRestored(oldBody)
	v := classify(run)
	deleted := make([]Restorable, 0, len(v.deleted))
	// The body keeps times to the second: entries read back sort as they
	// were written.
	deletedAt := now.Truncate(time.Second)
	for _, e := range v.deleted {
		deleted = append(deleted, Restorable{ID: e.ID, Version: e.Version, Tags: e.Tags, DeletedAt: deletedAt})
	}
	list := sealed(seal, run.Package, mergeRestorable(old, deleted, run.Restored, now))
	restored := mergeRestored(oldRestored, old, run.Restored, listedIDs(run), now)
	named(restored, run)

	// News is a deletion, a refusal the body did not show, or a preview
	// that differs from the body's. A run retried after it wrote its body
	// finds its own id in the news marker and still comments (once: the
	// comment's marker is looked for).
	var newRefusals []rules.Entry
	shown := markedIDs(refusedMarker, oldBody)
	for id := range markedIDs(oldRefusedLine, oldBody) {
		shown[id] = true
	}
	for _, e := range v.refused {
		if !shown[e.ID] {
			newRefusals = append(newRefusals, e)
		}
	}
	previewChanged := false
	if m := run.mode(); (m == modeDryRun || m == modePaused) && len(v.would) > 0 {
		was := markedIDs(wouldMarker, oldBody)
		n := 0
		for _, e := range v.would {
			if n == maxListed {
				break
			}
			n++
			previewChanged = previewChanged || !was[e.ID]
		}
		previewChanged = previewChanged || n != len(was)
	}
	news := ""
	if m := newsMarker.FindStringSubmatch(oldBody); m != nil {
		news = m[1]
	}
	retried := news != "" && news == idOf(run.ID)
	wanted := len(v.deleted) > 0 || len(newRefusals) > 0 || previewChanged || retried
	if retried && len(newRefusals) == 0 {
		newRefusals = v.refused
	}
	if wanted {
		news = run.ID
	}
	// A run that deleted nothing shows what the last one deleted, while
	// its deletions are listed: an unchanged state renders the same body.
	lastDeleted, lastFrees := 0, (*Freed)(nil)
	if run.mode() == modeRun && len(v.deleted) == 0 && len(list) > 0 {
		last := summaryCounts(oldBody)
		lastDeleted, lastFrees = last.Deleted, last.Frees
	}
	storage := parseStorageTotal(oldBody).addRun(run, len(v.deleted))
	body, list := renderBody(bodyParts{run: run, web: web, list: list, restored: restored, news: news, now: now,
		lastDeleted: lastDeleted, lastFrees: lastFrees, storage: storage})
	next := nextState{body: body, list: list, restored: restored, verdicts: v, commentWanted: wanted}
	if wanted {
		next.comment = renderComment(run, now, newRefusals)
	}
	return next
}

// named gives restored versions known only by id (restored by a restore
// job while not listed as restorable) their version and tags from the
// run's plan, which lists them again.
func named(restored []restoredEntry, run *Run) {
	byID := map[int64]rules.Entry{}
	for _, e := range run.Decision.Keep {
		byID[e.ID] = e
	}
	for i, e := range restored {
		if p, ok := byID[e.ID]; ok && e.Version == "" {
			restored[i].Version, restored[i].Tags, restored[i].shown = p.Version, p.Tags, ""
		}
	}
}

// listedIDs is every version the run's plan saw; nil when it saw none (a
// body written without a plan).
func listedIDs(run *Run) map[int64]bool {
	d := &run.Decision
	if len(d.Keep)+len(d.Delete) == 0 {
		return nil
	}
	out := map[int64]bool{}
	for _, list := range [][]rules.Entry{d.Keep, d.Delete, run.Deleted, run.Skipped, run.Kept} {
		for _, e := range list {
			out[e.ID] = true
		}
	}
	return out
}

// relistBody takes ids off the restorable deletions of a report body and
// lists them as restored, leaving the rest of the body as it is but for
// the summary line's counts. ok is false when body holds no list.
func relistBody(body string, pkg rules.Package, seal Seal, ids []int64, now time.Time) (string, bool) {
	var head, tail string
	if i := strings.Index(body, boxesOpen); i >= 0 {
		j := strings.Index(body[i:], boxesClose)
		if j < 0 {
			return body, false
		}
		head, tail = strings.TrimSuffix(body[:i], "\n"), strings.TrimPrefix(body[i+j+len(boxesClose):], "\n")
	} else if i := strings.Index(body, listHeading); i >= 0 {
		// A body of the format before: its list ends the body.
		head = body[:i]
	} else {
		return body, false
	}
	old := ParseRestorable(body)
	list := sealed(seal, pkg, mergeRestorable(old, nil, ids, now))
	restored := mergeRestored(parseRestored(body), old, ids, nil, now)
	head = withMarker(head, pkg)
	boxes, kept := renderBoxes(list, restored, now, bodyBudget-runes(head)-runes(tail))
	if first, rest, ok := strings.Cut(head, "\n"); ok {
		line, after, _ := strings.Cut(rest, "\n")
		if l, ok := relineSummary(line, len(kept), len(restored)); ok {
			head = first + "\n" + l + "\n" + after
		}
	}
	return head + boxes + tail, true
}

// listHeading started the list of restorable deletions of bodies written
// before the list was enclosed in boxesOpen and boxesClose.
const listHeading = "\n### Restorable deletions\n\n"

// emptyBody is the body of a report issue opened to hold a comment before
// any run reported on the package.
func emptyBody(pkg rules.Package) string {
	body, _ := renderBody(bodyParts{run: &Run{Package: pkg, Decision: rules.Decision{Package: pkg, Rule: -1}}, noPlan: true})
	return body
}

func allListed(list, want []Restorable) bool {
	have := make(map[int64]bool, len(list))
	for _, e := range list {
		have[e.ID] = true
	}
	for _, e := range want {
		if !have[e.ID] {
			return false
		}
	}
	return true
}

// labelsOr is labels, or DefaultLabels when nil, and the first of them: the
// label a report issue is found again by ("" for none).
func labelsOr(labels []string) ([]string, string) {
	if labels == nil {
		labels = DefaultLabels
	}
	if len(labels) == 0 {
		return labels, ""
	}
	return labels, labels[0]
}
