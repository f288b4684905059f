// Package check runs the config_check job: the pkgwarden check run on a
// pull request that changes a rules file. It reads the proposed file at
// the pull request's head through the base repository (forks included),
// and writes one check run per head commit, updated in place: failure
// with an annotation per error when the file does not decode, else the
// preview of what the change would delete or restore (configdiff),
// success or neutral. Nothing else is written, whatever the file says.
package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/configdiff"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
)

// Name is the check run's name.
const Name = "pkgwarden"

// GitHub's limits on a check run: annotations per request, bytes of the
// output's title, summary and text.
const (
	maxAnnotations = 50
	maxTitle       = 255
	maxOutput      = 65535
	// maxFiles bounds the changed files listed (GitHub lists at most
	// 3,000) and maxRulesFiles the rules files one pull request has
	// evaluated.
	maxFiles      = 3000
	maxRulesFiles = 10
)

// Config configures New.
type Config struct {
	// Access is the way to GitHub (required): the App reads the pull
	// request and its files and writes the check run; the owner's
	// packages token lists the packages the preview decides.
	Access *planner.Access
	Logger *slog.Logger
}

// Handler is the config_check job's handler.
type Handler struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// New checks cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Access.Check(); err != nil {
		return nil, fmt.Errorf("config check handler: %w", err)
	}
	h := &Handler{cfg: cfg, now: cfg.Access.Clock(), log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// changed is one rules file the pull request changes.
type changed struct {
	path    string
	removed bool
}

// result is the check run's conclusion and output.
type result struct {
	conclusion, title, summary, text string
	annotations                      []*github.CheckRunAnnotation
}

// Handle evaluates the job's pull request at the head it carries.
func (h *Handler) Handle(ctx context.Context, job jobs.Job) error {
	pr := job.PullRequest
	if pr == nil || pr.Number <= 0 || pr.HeadSHA == "" {
		job.Logger(h.log).Error("config check: job without a pull request dropped")
		return nil
	}
	t := job.Target
	owner, repo := t.Owner, t.Repository
	if i := strings.IndexByte(repo, '/'); i >= 0 {
		repo = repo[i+1:]
	}
	log := job.Logger(h.log).With("pull_request", pr.Number, "head", pr.HeadSHA)
	gh := h.cfg.Access.App.InstallationClient(t.InstallationID)
	files, err := h.rulesFiles(ctx, gh, owner, repo, pr.Number)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		log.DebugContext(ctx, "config check: no rules file changed, no check run")
		return nil
	}
	res, err := h.evaluate(ctx, gh, owner, repo, pr, files)
	if err != nil {
		return err
	}
	id, err := h.write(ctx, gh, owner, repo, pr.HeadSHA, res)
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "config check: check run written", "check_run", id, "conclusion", res.conclusion, "annotations", len(res.annotations))
	return nil
}

// rulesFiles lists the pull request's changed files (paginated) and keeps
// the rules files: .github/pkgwarden.yml, or in the owner's .github
// repository any YAML file (an _extends base may be at any path) but its
// workflows.
func (h *Handler) rulesFiles(ctx context.Context, gh *github.Client, owner, repo string, number int) ([]changed, error) {
	ownerRepo := strings.EqualFold(repo, rules.OwnerRepo)
	var out []changed
	opts := &github.ListOptions{PerPage: 100}
	for seen := 0; seen < maxFiles; {
		files, resp, err := gh.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, fmt.Errorf("config check of %s/%s#%d: list files: %w", owner, repo, number, err)
		}
		for _, f := range files {
			p := f.GetFilename()
			if isRulesFile(p, ownerRepo) && len(out) < maxRulesFiles {
				out = append(out, changed{path: p, removed: f.GetStatus() == "removed"})
			}
		}
		seen += len(files)
		if resp == nil || resp.NextPage == 0 || len(files) == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

func isRulesFile(p string, ownerRepo bool) bool {
	if p == rules.Path { // git paths are case-sensitive, as GitHub reads them
		return true
	}
	return ownerRepo && !strings.HasPrefix(p, ".github/workflows/") &&
		(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml"))
}

// evaluate reads each changed file at the head and the base, and says
// what the check run shows.
func (h *Handler) evaluate(ctx context.Context, gh *github.Client, owner, repo string, pr *jobs.PullRequest, files []changed) (result, error) {
	src := githubapi.NewContentsSource(gh, h.now)
	head, base := src.At(pr.HeadSHA), src.At(pr.BaseSHA)
	type side struct {
		c        changed
		old, new configdiff.File
	}
	var sides []side
	var res result
	for _, c := range files {
		s := side{c: c}
		var errs rules.ErrorList
		var err error
		if s.new, errs, err = read(ctx, head, owner, repo, c.path, c.removed); err != nil {
			return result{}, err
		}
		if errs == nil && !s.new.Absent {
			errs = validate(owner, repo, c.path, s.new.Data)
		}
		if len(errs) > 0 {
			res.annotations = append(res.annotations, annotations(c.path, errs)...)
			continue
		}
		if pr.BaseSHA == "" {
			s.old = configdiff.File{} // the committed file
		} else if s.old, _, err = read(ctx, base, owner, repo, c.path, false); err != nil {
			return result{}, err
		}
		sides = append(sides, s)
	}
	if len(res.annotations) > 0 {
		n := len(res.annotations)
		res.conclusion = "failure"
		res.title = fmt.Sprintf("%d %s in the rules", n, plural(n, "error"))
		res.summary = fmt.Sprintf("**pkgwarden**: the proposed rules cannot be loaded (%d %s); each is annotated at its line. "+
			"Merged as they are, the packages they govern would be left untouched.", n, plural(n, "error"))
		return res, nil
	}
	session, err := h.cfg.Access.Session(owner)
	if errors.Is(err, planner.ErrNoPackagesToken) {
		return result{conclusion: "neutral", title: "preview needs a packages token",
			summary: "**pkgwarden**: the rules decode. The preview of what they would delete needs a packages token for " +
				mdText(owner) + ", which pkgwarden does not have: configure one to see it here."}, nil
	}
	if err != nil {
		return result{}, fmt.Errorf("config check of %s/%s#%d: %w", owner, repo, pr.Number, err)
	}
	var texts []string
	res.conclusion = "success"
	var heads []string
	for _, s := range sides {
		p, err := planner.New(planner.Options{Packages: session.Packages, Graphs: session.Registry, Loader: rules.NewLoader(src), Now: h.now})
		if err != nil {
			return result{}, err
		}
		f := planner.Filter{Repository: repo}
		ch := configdiff.Change{Repo: repo, Old: s.old, New: s.new}
		if strings.EqualFold(repo, rules.OwnerRepo) {
			f = planner.Filter{}
			ch.Path = s.c.path
		}
		sel, err := p.Select(ctx, owner, f)
		if err != nil {
			return result{}, fmt.Errorf("config check of %s/%s#%d: %w", owner, repo, pr.Number, err)
		}
		d, err := configdiff.Compare(ctx, p, src, sel, ch)
		var invalid *configdiff.InvalidError
		if errors.As(err, &invalid) {
			res.annotations = append(res.annotations, annotations(s.c.path, invalid.Errs)...)
			res.conclusion = "failure"
			continue
		}
		if err != nil {
			return result{}, fmt.Errorf("config check of %s/%s#%d: %w", owner, repo, pr.Number, err)
		}
		if pr.Fork {
			d.Errors = withheld(d.Errors, s.c.path)
			for i := range d.Packages {
				if d.Packages[i].Untouched != "" {
					d.Packages[i].Untouched = "the new rules cannot be used for it; details are withheld for a pull request from a fork"
				}
				d.Packages[i].Notices = nil
			}
		}
		res.annotations = append(res.annotations, annotations(s.c.path, d.Errors)...)
		res.conclusion = worse(res.conclusion, d.Conclusion())
		heads = append(heads, "`"+mdCode(s.c.path)+"`: "+mdText(d.Headline()))
		texts = append(texts, configdiff.Markdown(d))
		if len(sides) == 1 {
			res.title = d.Headline()
		}
	}
	if res.title == "" {
		res.title = fmt.Sprintf("%d rules files changed: %s", len(sides), res.conclusion)
	}
	res.summary = "**pkgwarden**: what merging this change would do, over the current listings; nothing is deleted before it is merged.\n\n" +
		strings.Join(heads, "\n\n")
	res.text = strings.Join(texts, "\n\n---\n\n")
	return res, nil
}

// read reads path at the source's ref: a file the pull request removes,
// or one GitHub does not have there, is Absent; one GitHub will not serve
// as a file is the error list saying why, at line 1.
func read(ctx context.Context, src *githubapi.ContentsSource, owner, repo, path string, removed bool) (configdiff.File, rules.ErrorList, error) {
	if removed {
		return configdiff.File{Name: path, Absent: true}, nil, nil
	}
	data, err := src.File(ctx, owner, repo, path)
	switch {
	case errors.Is(err, rules.ErrNotFound):
		return configdiff.File{Name: path, Absent: true}, nil, nil
	case errors.Is(err, rules.ErrUnreadable):
		return configdiff.File{}, rules.ErrorList{{File: path, Line: 1, Column: 1, Msg: err.Error()}}, nil
	case err != nil:
		return configdiff.File{}, nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return configdiff.File{Name: path, Data: data}, nil, nil
}

// validate decodes a proposed file as the loader would: the rules file
// of repo (a policy only in the owner's), or a base file.
func validate(owner, repo, path string, data []byte) rules.ErrorList {
	var err error
	if path == rules.Path {
		err = rules.NewLoader(nil).Override(owner, repo, path, data)
	} else if len(data) > rules.MaxFileSize {
		return rules.ErrorList{{File: path, Line: 1, Column: 1, Msg: fmt.Sprintf("%s is %d bytes, over the %d MiB limit", path, len(data), rules.MaxFileSize>>20)}}
	} else {
		_, err = rules.Decode(path, data)
	}
	var list rules.ErrorList
	if errors.As(err, &list) {
		return list
	}
	if err != nil {
		return rules.ErrorList{{File: path, Line: 1, Column: 1, Msg: err.Error()}}
	}
	return nil
}

// annotations are one failure annotation per error, at its line and
// column in path (the changed file; an error in another file, such as a
// base _extends names, is put at line 1 and names its file).
func annotations(path string, errs rules.ErrorList) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, 0, len(errs))
	for _, e := range errs {
		line, col := max(e.Line, 1), max(e.Column, 1)
		if e.File != path {
			line, col = 1, 1
		}
		a := &github.CheckRunAnnotation{
			Path: github.String(path), StartLine: github.Int(line), EndLine: github.Int(line),
			StartColumn: github.Int(col), EndColumn: github.Int(col),
			AnnotationLevel: github.String("failure"),
			Title:           github.String("invalid pkgwarden configuration"),
			Message:         github.String(trim(oneLine(e.Error()), maxOutput)),
		}
		out = append(out, a)
	}
	return out
}

// withheld is errs as a check run on a fork's pull request may show them:
// an _extends in a fork's file can name any file of the owner's
// repositories the App reads, private ones included, and the check run is
// as public as the base repository. Errors met in another file, and what
// an _extends found (or did not), are replaced by a sentence that says
// nothing of that file. The packages' reasons and notices go the same way
// (in evaluate).
func withheld(errs rules.ErrorList, path string) rules.ErrorList {
	out := make(rules.ErrorList, 0, len(errs))
	for _, e := range errs {
		switch {
		case e.File != path:
			out = append(out, &rules.Error{File: path, Line: 1, Column: 1,
				Msg: "the rules read another file that cannot be used; details are withheld for a pull request from a fork"})
		case e.Field == "_extends":
			out = append(out, &rules.Error{File: path, Line: e.Line, Column: e.Column, Field: e.Field,
				Msg: "the file it names cannot be used; details are withheld for a pull request from a fork"})
		default:
			out = append(out, e)
		}
	}
	return out
}

// write creates the check run on sha, or updates the one this App already
// wrote there, with at most 50 annotations per request; the rest go in
// further updates. It returns the check run's id.
func (h *Handler) write(ctx context.Context, gh *github.Client, owner, repo, sha string, res result) (int64, error) {
	output := func(batch []*github.CheckRunAnnotation) *github.CheckRunOutput {
		o := &github.CheckRunOutput{Title: github.String(trim(oneLine(res.title), maxTitle)), Summary: github.String(trim(res.summary, maxOutput)), Annotations: batch}
		if res.text != "" {
			o.Text = github.String(trim(res.text, maxOutput))
		}
		return o
	}
	batches := batch(res.annotations)
	id, err := h.find(ctx, gh, owner, repo, sha)
	if err != nil {
		return 0, err
	}
	done := &github.Timestamp{Time: h.now()}
	if id == 0 {
		cr, _, err := gh.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{
			Name: Name, HeadSHA: sha, Status: github.String("completed"), Conclusion: github.String(res.conclusion),
			CompletedAt: done, Output: output(batches[0]),
		})
		if err != nil {
			return 0, fmt.Errorf("config check of %s/%s@%s: create check run: %w", owner, repo, sha, err)
		}
		id = cr.GetID()
	} else {
		// An update replaces the output; annotations add up on GitHub, so
		// those of an earlier evaluation of this head stay listed.
		if _, _, err := gh.Checks.UpdateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{
			Name: Name, Status: github.String("completed"), Conclusion: github.String(res.conclusion),
			CompletedAt: done, Output: output(batches[0]),
		}); err != nil {
			return 0, fmt.Errorf("config check of %s/%s@%s: update check run %d: %w", owner, repo, sha, id, err)
		}
	}
	for _, b := range batches[1:] {
		if _, _, err := gh.Checks.UpdateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{Name: Name, Output: output(b)}); err != nil {
			return 0, fmt.Errorf("config check of %s/%s@%s: annotate check run %d: %w", owner, repo, sha, id, err)
		}
	}
	return id, nil
}

// find is the id of the check run this App wrote on sha, 0 for none.
func (h *Handler) find(ctx context.Context, gh *github.Client, owner, repo, sha string) (int64, error) {
	runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{
		CheckName: github.String(Name), AppID: github.Int64(h.cfg.Access.App.ID()), Filter: github.String("latest"),
	})
	if err != nil {
		return 0, fmt.Errorf("config check of %s/%s@%s: list check runs: %w", owner, repo, sha, err)
	}
	for _, cr := range runs.CheckRuns {
		if cr.GetName() == Name && (cr.GetApp() == nil || cr.GetApp().GetID() == h.cfg.Access.App.ID()) {
			return cr.GetID(), nil
		}
	}
	return 0, nil
}

// batch splits annotations into GitHub's 50 per request; always one
// batch, maybe empty.
func batch(all []*github.CheckRunAnnotation) [][]*github.CheckRunAnnotation {
	out := [][]*github.CheckRunAnnotation{nil}
	for i, a := range all {
		if i > 0 && i%maxAnnotations == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], a)
	}
	return out
}

var rank = map[string]int{"success": 0, "neutral": 1, "failure": 2}

func worse(a, b string) string {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func plural(n int, one string) string {
	if n == 1 {
		return one
	}
	return one + "s"
}

// oneLine keeps text from GitHub on one printable line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "�")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// mdText is text from GitHub as plain markdown: one line, its markup
// characters escaped.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_{}[]()#+-.!|<>~&@:", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return trim(b.String(), 300)
}

// mdCode is text from GitHub inside a code span: no backtick can end it.
func mdCode(s string) string { return trim(strings.ReplaceAll(oneLine(s), "`", "'"), 300) }

// trim cuts s to at most n bytes, at a character boundary, ending it
// with "…" when cut (GitHub counts a check run's output in bytes).
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "…"
	cut := n - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
