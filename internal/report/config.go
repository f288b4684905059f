package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// ReadmeConfigURL is the README's section on .github/pkgwarden.yml, which
// the invalid-config issue points to.
const ReadmeConfigURL = "https://github.com/pkgwarden/pkgwarden#githubpkgwardenyml"

// ConfigPush is the push that changed a configuration file, as the push
// webhook told it. Every field comes from GitHub and is checked before it
// is written into an issue.
type ConfigPush struct {
	// Repo is "owner/repo" pushed to.
	Repo string
	// Commit is the pushed commit (40 hex digits); errors of files in
	// Repo link to their line at it.
	Commit string
	// Pusher is the login GitHub names as the pusher; mentioned only when
	// it is a valid login.
	Pusher string
	// RepoURL is the repository's html_url: GitHub's web address (GitHub
	// Enterprise's too) is taken from it.
	RepoURL string
}

var (
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// validLogin reports whether s is a GitHub login: 1 to 39 letters, digits
// and single hyphens, neither first nor last. "app[bot]" is not one, nor
// a pusher's display name.
func validLogin(s string) bool {
	if len(s) == 0 || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// webRoot is GitHub's web address from the pushed repository's html_url
// ("https://github.example.com/acme/app" → "https://github.example.com"),
// github.com when it does not name that repository.
func (p ConfigPush) webRoot() string {
	u, err := url.Parse(p.RepoURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "https://github.com"
	}
	path := strings.TrimSuffix(u.Path, "/")
	if p.Repo == "" || !strings.HasSuffix(strings.ToLower(path), "/"+strings.ToLower(p.Repo)) {
		return "https://github.com"
	}
	u.Path = path[:len(path)-len(p.Repo)-1]
	u.RawPath = ""
	return strings.TrimSuffix(u.String(), "/")
}

func (p ConfigPush) commit() string {
	if commitRE.MatchString(p.Commit) {
		return p.Commit
	}
	return ""
}

// lineURL links to line of path in repo ("owner/repo"): at the pushed
// commit when the push was to repo, else on the default branch. "" when a
// part cannot be a repository or a path.
func (p ConfigPush) lineURL(repo, path string, line int) string {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !nameRE.MatchString(owner) || !nameRE.MatchString(name) || path == "" {
		return ""
	}
	ref := "HEAD" // GitHub resolves it to the default branch
	if c := p.commit(); c != "" && strings.EqualFold(repo, p.Repo) {
		ref = c
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return ""
		}
		segs[i] = url.PathEscape(s)
	}
	u := fmt.Sprintf("%s/%s/%s/blob/%s/%s", p.webRoot(), owner, name, ref, strings.Join(segs, "/"))
	if line > 0 {
		u += fmt.Sprintf("#L%d", line)
	}
	return u
}

// pusherText is the pusher as a mention, or quoted when GitHub's text is
// no login (a deploy key's name, a bot): never a mention of someone else.
func (p ConfigPush) pusherText() string {
	if validLogin(p.Pusher) {
		return "@" + p.Pusher
	}
	if p.Pusher == "" {
		return ""
	}
	return codeSpan(oneLine(p.Pusher))
}

// pushText says which push, by whom: "@alice's push [`0123abc`](…)".
func (p ConfigPush) pushText() string {
	c := p.commit()
	if c == "" {
		return ""
	}
	link := "`" + c[:7] + "`"
	if owner, name, ok := strings.Cut(p.Repo, "/"); ok && nameRE.MatchString(owner) && nameRE.MatchString(name) {
		link = fmt.Sprintf("[%s](%s/%s/%s/commit/%s)", link, p.webRoot(), owner, name, c)
	}
	if who := p.pusherText(); who != "" {
		return "push " + link + " by " + who
	}
	return "push " + link
}

// codeSpan puts s in a Markdown code span that no backtick in s can
// close: inside, nothing is a link, a mention or markup.
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdText escapes a message that quotes a file (keys, values, lines) for
// Markdown: no markup, link, HTML or mention comes out of it. A code span
// of a plain name, as pkgwarden's messages write keys ("did you mean
// `older_than`?"), stays one; other backticks show as written.
func mdText(s string) string {
	var b strings.Builder
	s = oneLine(s)
	for i := 0; i < len(s); {
		if s[i] == '`' {
			if end := strings.IndexByte(s[i+1:], '`'); end > 0 && codeName.MatchString(s[i+1:i+1+end]) {
				b.WriteString(s[i : i+end+2])
				i += end + 2
				continue
			}
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case c == '@':
			b.WriteString("@\u2060") // a word joiner: no mention
		case strings.ContainsRune("\\`*_[]<>#|~!&", c):
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// codeName is what a code span in a message may hold: a key, a field path.
var codeName = regexp.MustCompile(`^[A-Za-z0-9_.:\[\]]{1,100}$`)

// configFingerprint names a list of errors: an issue listing the same
// errors is left as it is by a report that knows less (no push).
func configFingerprint(errs rules.ErrorList) string {
	sum := sha256.Sum256([]byte(errs.Error()))
	return hex.EncodeToString(sum[:6])
}

const configMarker = "<!-- pkgwarden:config "

// renderConfigBody quotes every error with file, line and column, each
// linked to its line, names the push and its pusher when known, and says
// how to fix and try a file.
func renderConfigBody(owner, repo string, errs rules.ErrorList, push ConfigPush) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s -->\n", configMarker, configFingerprint(errs))
	fmt.Fprintf(&b, "pkgwarden cannot use the configuration of `%s/%s`, so it prunes and restores nothing the file governs until it is fixed.", owner, repo)
	if pt := push.pushText(); pt != "" {
		fmt.Fprintf(&b, " %s%s left it invalid.", strings.ToUpper(pt[:1]), pt[1:])
	}
	fmt.Fprintf(&b, "\n\n%d %s:\n\n", len(errs), plural(len(errs), "problem", "problems"))
	for _, e := range errs {
		file := e.File
		fileRepo := e.Repo
		if fileRepo == "" {
			fileRepo = owner + "/" + repo
		}
		if e.Repo != "" {
			file = e.Repo + ":" + e.File
		}
		where := fmt.Sprintf("%s line %d, column %d", codeSpan(oneLine(file)), e.Line, e.Column)
		if u := push.lineURL(fileRepo, e.File, e.Line); u != "" {
			where = fmt.Sprintf("[%s](%s)", where, u)
		}
		fmt.Fprintf(&b, "- %s: ", where)
		if e.Field != "" {
			fmt.Fprintf(&b, "%s: ", codeSpan(oneLine(e.Field)))
		}
		b.WriteString(mdText(e.Msg) + "\n")
	}
	fmt.Fprintf(&b, "\nEvery key is described in [the README's configuration section](%s). To try a file before pushing it, run\n\n", ReadmeConfigURL)
	fmt.Fprintf(&b, "```sh\npkgwarden plan --owner %s --repo %s --config .github/pkgwarden.yml\n```\n\n", owner, repo)
	b.WriteString("which reads the local file as this repository's and lists what it would delete and keep, deleting nothing. ")
	b.WriteString("This issue closes once a fixed file is pushed and the prunes under it have succeeded.\n")
	return b.String()
}

// renderConfigValidBody is the invalid-config issue once a push made the
// file valid, until a prune under it succeeds.
func renderConfigValidBody(owner, repo string, push ConfigPush) string {
	var b strings.Builder
	b.WriteString(configMarker + "valid -->\n")
	fmt.Fprintf(&b, "The configuration of `%s/%s` is valid again", owner, repo)
	if pt := push.pushText(); pt != "" {
		fmt.Fprintf(&b, " (%s)", pt)
	}
	b.WriteString(". pkgwarden is pruning under it now and closes this issue once a prune has succeeded. ")
	b.WriteString("While it stays open the prune is failing or waiting: the package's report issue or pkgwarden's log says why.\n")
	return b.String()
}

// InvalidConfigAt is InvalidConfig for the errors a push brought: each
// error links to its line at the pushed commit, and the pusher is named.
// Without a push (a prune finding the file invalid), an open issue that
// already lists the same errors is left as a push wrote it.
func (r *Reporter) InvalidConfigAt(ctx context.Context, installation int64, owner, repo string, errs rules.ErrorList, push ConfigPush) (Result, error) {
	if repo == "" {
		repo = rules.OwnerRepo
	}
	if len(errs) == 0 {
		return Result{}, fmt.Errorf("report invalid config of %s/%s: no errors given", owner, repo)
	}
	places := r.places(installation, owner, repo)
	title := func(p place) string { return configTitle(p, repo) }
	if push.commit() == "" {
		if f, p, err := r.findOpen(ctx, places, title); err != nil {
			return Result{}, fmt.Errorf("report invalid config of %s/%s: %w", owner, repo, err)
		} else if f != nil && strings.HasPrefix(f.body, configMarker+configFingerprint(errs)+" -->") {
			return Result{Issue: f.issue(p)}, nil
		}
	}
	res, err := r.ensure(ctx, places, title, renderConfigBody(owner, repo, errs, push))
	if err != nil {
		return res, fmt.Errorf("report invalid config of %s/%s: %w", owner, repo, err)
	}
	r.log.InfoContext(ctx, "invalid config reported", "repository", owner+"/"+repo, "errors", len(errs),
		"issue", res.Issue.Number, "created", res.Created, "updated", res.Updated)
	return res, nil
}

// ConfigValid rewrites the open invalid-config issue of owner/repo, if
// any, to say the file is valid again and the prunes under it are running.
// It leaves the issue open: ConfigFixed closes it once a prune succeeded.
// Result.Issue.Number is 0 when no issue is open.
func (r *Reporter) ConfigValid(ctx context.Context, installation int64, owner, repo string, push ConfigPush) (Result, error) {
	if repo == "" {
		repo = rules.OwnerRepo
	}
	f, p, err := r.findOpen(ctx, r.places(installation, owner, repo), func(p place) string { return configTitle(p, repo) })
	if err != nil || f == nil {
		if err != nil {
			err = fmt.Errorf("invalid config issue of %s/%s: %w", owner, repo, err)
		}
		return Result{}, err
	}
	updated, err := r.update(ctx, p, f, write{body: renderConfigValidBody(owner, repo, push), labels: f.labels}, "")
	if err != nil {
		return Result{}, fmt.Errorf("invalid config issue of %s/%s: %w", owner, repo, err)
	}
	return Result{Issue: f.issue(p), Updated: updated}, nil
}

// findOpen returns the open issue titled title in the first of places
// that takes issues, and that place; nil when there is none.
func (r *Reporter) findOpen(ctx context.Context, places []place, title func(place) string) (*found, place, error) {
	for _, p := range places {
		f, err := r.find(ctx, p, title(p), DefaultLabels[0])
		if errors.Is(err, errNoIssues) {
			continue
		}
		if err != nil {
			return nil, p, err
		}
		if f != nil && f.state == "open" {
			return f, p, nil
		}
	}
	return nil, place{}, nil
}
