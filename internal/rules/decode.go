package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// Limits of a file. Real files are a few hundred bytes with a handful of
// rules; these bounds only stop absurd or hostile input.
const (
	MaxFileSize   = 1 << 20                  // bytes of one file
	maxRules      = 100                      // entries of "rules"
	maxKeep       = 100_000                  // keep_* counts
	maxDeletions  = 100_000                  // policy.max_deletions_per_run, policy.review_deletions_over
	maxDuration   = 520 * 7 * 24 * time.Hour // ten years
	maxLabels     = 20                       // report.labels
	maxAssignees  = 10                       // report.assignees (GitHub's own limit)
	maxErrors     = 20                       // errors reported for one file
	maxNodes      = 100_000                  // YAML nodes visited, aliases expanded
	maxNameLength = 100                      // labels, logins, repository names
	// maxDepth bounds nesting (indentation, "- - -" and flow brackets)
	// before the YAML parser sees the file: the parser's cost grows with
	// the square of the depth (measured: 20,000 "[" take 0.5 s and 800 MB
	// of allocations, 100,000 take 40 s and 15 GB; 500,000, which fit in
	// a 1 MB file, ran past 5 minutes), while a real config nests five
	// levels.
	maxDepth = 32
	// maxItems bounds the YAML items (lines, flow entries, block
	// indicators) before parsing: 300,000 "[]," in a 1 MB file cost the
	// parser 0.7 s and 480 MB, a real config has a few dozen.
	maxItems = 10_000

	// minUntaggedAgeFloor is the least policy.min_untagged_age may say:
	// the floor can be lowered, never switched off.
	minUntaggedAgeFloor = time.Minute
)

// Error is one problem of a file, with where it is.
type Error struct {
	// Repo is "owner/repo" holding the file, when known (set by Loader).
	Repo   string
	File   string
	Line   int
	Column int
	// Field is the path of the key concerned ("rules[0].prune.keep_untagged"),
	// empty for a YAML syntax error.
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Repo != "" {
		b.WriteString(e.Repo + ": ")
	}
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a file (at most 20), in file order.
// Loading returns it (wrapped) when a file is invalid: nothing the file
// governs may be touched until it is fixed.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// File is one decoded pkgwarden.yml before resolution: what it sets, with
// unset keys told apart from empty ones so that _extends can merge.
type File struct {
	name      string
	dryRun    *bool
	labels    *[]string
	assignees *[]string
	// dashboard and perPackage are report.dashboard and
	// report.per_package, honoured in the owner's file only.
	dashboard, perPackage *bool
	rules                 *[]Rule
	policy                *filePolicy
	extends               *extendsRef
}

// Name is the name the file was decoded under, used in every message.
func (f *File) Name() string { return f.name }

type filePolicy struct {
	line, column   int
	maxDeletions   *int
	minUntaggedAge *time.Duration
	repoRules      *string
	reviewOver     *int
}

type extendsRef struct {
	owner, repo, path string
	line, column      int
}

func (r extendsRef) String() string { return r.owner + "/" + r.repo + ":" + r.path }

// Decode parses one pkgwarden.yml strictly: unknown keys, wrong types, bad
// durations, globs or numbers are errors carrying name, line and column.
// The returned error is an ErrorList.
func Decode(name string, data []byte) (*File, error) {
	f, errs := decode(name, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// decode is Decode that also returns what it read of an invalid file (nil
// when it could not be parsed), so that where its policy block stands can
// be reported with its other errors.
func decode(name string, data []byte) (*File, ErrorList) {
	if len(data) > MaxFileSize {
		return nil, ErrorList{{File: name, Line: 1, Column: 1, Msg: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxFileSize)}}
	}
	// The parser silently drops documents after two consecutive "---"
	// markers; a config has one document, so a second marker is refused
	// before parsing.
	if line := secondDocumentMarker(data); line > 0 {
		return nil, ErrorList{{File: name, Line: line, Column: 1, Msg: "only one YAML document is allowed"}}
	}
	if e := checkShape(data, maxDepth, maxItems); e != nil {
		e.File = name
		return nil, ErrorList{e}
	}
	tree, err := parse(data)
	if err != nil {
		e := &Error{File: name, Line: 1, Column: 1, Msg: "invalid YAML: " + err.Error()}
		var yerr yaml.Error
		if errors.As(err, &yerr) {
			e.Msg = "invalid YAML: " + yerr.GetMessage()
			if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
				e.Line, e.Column = tk.Position.Line, tk.Position.Column
			}
		}
		if le := explainLayout(data); le != nil {
			// The parser names its state, often on the line before:
			// the layout mistake says what to fix and where.
			e = le
			e.File = name
		}
		return nil, ErrorList{e}
	}
	d := &decoder{name: name, anchors: map[string]ast.Node{}}
	f := &File{name: name}
	var body ast.Node
	for _, doc := range tree.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorf(doc.Body, "", "only one YAML document is allowed")
			break
		}
		body = doc.Body
	}
	if body != nil {
		d.top(f, body)
	}
	return f, d.errs
}

// secondDocumentMarker returns the line of the second "---" document
// marker, or 0.
func secondDocumentMarker(data []byte) int {
	seen := false
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			if seen {
				return i + 1
			}
			seen = true
		}
	}
	return 0
}

// checkShape refuses, before the YAML parser runs, a file nesting deeper
// than depthLimit or holding more than itemLimit items: the parser's cost
// grows with both (with the square of the depth), and no hand-written
// config comes near either. It returns the error at the first place
// past a limit, nil when there is none.
//
// Depth is estimated by block levels of indentation, compact block
// indicators ("- - x", "? "), and open flow brackets outside quoted
// scalars and comments; items are content lines, flow brackets and
// commas, and block indicators. Both may overcount (brackets or commas in
// a plain or block scalar) but do not undercount what the parser builds,
// so only a file no one writes by hand is refused by mistake.
func checkShape(data []byte, depthLimit, itemLimit int) *Error {
	items := 0
	tooMany := func(line, col int) *Error {
		return &Error{Line: line, Column: col, Msg: fmt.Sprintf("more than %d YAML items: not a hand-written config", itemLimit)}
	}
	tooDeep := func(line, col int) *Error {
		return &Error{Line: line, Column: col, Msg: fmt.Sprintf("nested more than %d levels deep", depthLimit)}
	}
	var (
		indents []int // open block levels by indentation
		flow    int   // open [ and {
		quote   byte  // the open quoted scalar's quote, or 0
		// base is the block depth of the line the open flow collection
		// started on: indentation means nothing inside brackets.
		base int
	)
	for lineNo, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		i := 0
		block := 0
		if quote == 0 && flow == 0 {
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i == len(line) || line[i] == '#' {
				continue // blank or comment: no level
			}
			if items++; items > itemLimit {
				return tooMany(lineNo+1, i+1)
			}
			for len(indents) > 0 && indents[len(indents)-1] > i {
				indents = indents[:len(indents)-1]
			}
			if len(indents) == 0 || indents[len(indents)-1] < i {
				indents = append(indents, i)
			}
			if len(indents) > depthLimit {
				return tooDeep(lineNo+1, i+1)
			}
			// Compact nesting on one line: "- - - x", "? ? x".
			for i < len(line) && strings.IndexByte("-?:", line[i]) >= 0 && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t') {
				block++
				i++
				for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
					i++
				}
				if len(indents)+block > depthLimit {
					return tooDeep(lineNo+1, i+1)
				}
				if items++; items > itemLimit {
					return tooMany(lineNo+1, i+1)
				}
			}
		}
		if flow == 0 && quote == 0 {
			base = len(indents) + block
		}
		// prev is the last character that was not a space: a quote opens
		// a quoted scalar only where a value starts.
		prev := byte(0)
		for ; i < len(line); i++ {
			c := line[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++ // the escaped character
				case c == quote && quote == '\'' && i+1 < len(line) && line[i+1] == '\'':
					i++ // '' inside single quotes
				case c == quote:
					quote = 0
					prev = c
				}
				continue
			}
			switch c {
			case ' ', '\t':
				continue
			case '#':
				if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
					i = len(line)
					continue
				}
			case '"', '\'':
				if prev == 0 || strings.IndexByte("[{,:-?", prev) >= 0 {
					quote = c
					continue
				}
			case '[', '{':
				flow++
				if base+flow > depthLimit {
					return tooDeep(lineNo+1, i+1)
				}
				if items++; items > itemLimit {
					return tooMany(lineNo+1, i+1)
				}
			case ',':
				if flow > 0 {
					if items++; items > itemLimit {
						return tooMany(lineNo+1, i+1)
					}
				}
			case ']', '}':
				if flow > 0 {
					flow--
				}
			}
			prev = c
		}
	}
	return nil
}

// parse runs the YAML parser. It recovers from a panic inside the parser so
// that no input, however malformed, can bring a worker down.
func parse(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

type decoder struct {
	name    string
	errs    ErrorList
	anchors map[string]ast.Node
	nodes   int
}

func pos(n ast.Node) (int, int) {
	if n == nil {
		return 1, 1
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 1, 1
	}
	return tk.Position.Line, tk.Position.Column
}

func (d *decoder) errorf(n ast.Node, field, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	line, col := pos(n)
	d.errs = append(d.errs, &Error{File: d.name, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// resolve unwraps anchors (remembering them) and aliases, and refuses
// YAML features a config has no use for. It returns nil after an error.
func (d *decoder) resolve(n ast.Node, field string) ast.Node {
	for depth := 0; n != nil; depth++ {
		d.nodes++
		if d.nodes > maxNodes || depth > 16 {
			d.errorf(n, field, "document too large or too deeply aliased")
			return nil
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			if name, ok := anchorName(v.Name); ok {
				d.anchors[name] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			name, _ := anchorName(v.Value)
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(n, field, "unknown alias *%s", name)
				return nil
			}
			n = target
		case *ast.TagNode:
			d.errorf(n, field, "YAML tags are not supported")
			return nil
		case *ast.MappingValueNode:
			// A mapping of one pair, as some parser paths return it.
			return &ast.MappingNode{BaseNode: v.BaseNode, Start: v.GetToken(), Values: []*ast.MappingValueNode{v}}
		default:
			return n
		}
	}
	return nil
}

func anchorName(n ast.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	tk := n.GetToken()
	if tk == nil {
		return "", false
	}
	return tk.Value, true
}

// fields walks a mapping and calls set for every known key; unknown keys,
// non-string keys and merge keys are errors. A null value is no mapping.
func (d *decoder) fields(n ast.Node, field string, known []string, set func(key string, value ast.Node, keyNode ast.Node)) {
	n = d.resolve(n, field)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.errorf(n, field, "must be a mapping, got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if _, isMerge := mv.Key.(*ast.MergeKeyNode); isMerge {
			d.errorf(mv.Key, field, "merge keys (<<) are not supported")
			continue
		}
		keyNode := d.resolve(mv.Key, field)
		ks, ok := keyNode.(*ast.StringNode)
		if !ok {
			d.errorf(mv.Key, field, "keys must be strings, got %s", describe(keyNode))
			continue
		}
		key := ks.Value
		sub := join(field, key)
		if !contains(known, key) {
			d.errorf(mv.Key, sub, "%s", unknownKeyMsg(field, key, known))
			continue
		}
		if seen[key] {
			d.errorf(mv.Key, sub, "duplicate key")
			continue
		}
		seen[key] = true
		set(key, mv.Value, mv.Key)
	}
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// describe names the YAML kind of a node for messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case nil:
		return "nothing"
	case *ast.NullNode:
		return "null"
	case *ast.BoolNode:
		return fmt.Sprintf("boolean %v", v.Value)
	case *ast.IntegerNode:
		return "integer " + v.GetToken().Value
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + n.GetToken().Value
	case *ast.StringNode:
		return fmt.Sprintf("string %q", truncate(v.Value))
	case *ast.LiteralNode:
		return "a block string"
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return n.Type().String()
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (d *decoder) boolean(n ast.Node, field string) (bool, bool) {
	n = d.resolve(n, field)
	if n == nil {
		return false, false
	}
	b, ok := n.(*ast.BoolNode)
	if !ok {
		d.errorf(n, field, "must be true or false, got %s", describe(n))
		return false, false
	}
	return b.Value, true
}

func (d *decoder) str(n ast.Node, field string) (string, bool) {
	n = d.resolve(n, field)
	if n == nil {
		return "", false
	}
	s, ok := n.(*ast.StringNode)
	if !ok {
		d.errorf(n, field, "must be a string, got %s", describe(n))
		return "", false
	}
	return s.Value, true
}

func (d *decoder) integer(n ast.Node, field string, min, max int) (int, bool) {
	n = d.resolve(n, field)
	if n == nil {
		return 0, false
	}
	in, ok := n.(*ast.IntegerNode)
	if !ok {
		d.errorf(n, field, "must be an integer, got %s", describe(n))
		return 0, false
	}
	var v int64
	switch x := in.Value.(type) {
	case int64:
		v = x
	case uint64:
		if x > math.MaxInt64 {
			v = math.MaxInt64
		} else {
			v = int64(x)
		}
	}
	if v < int64(min) {
		d.errorf(n, field, "must be >= %d, got %s", min, in.GetToken().Value)
		return 0, false
	}
	if v > int64(max) {
		d.errorf(n, field, "must be <= %d, got %s", max, in.GetToken().Value)
		return 0, false
	}
	return int(v), true
}

var durationRE = regexp.MustCompile(`^([0-9]{1,9})([mhdw])$`)

// ParseDuration reads the durations of a file: a whole number and one unit
// of m (minutes), h (hours), d (days) or w (weeks), such as 30m, 12h, 7d, 2w.
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("must be a duration such as 30m, 12h, 7d or 2w, got %q", truncate(s))
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as 30m, 12h, 7d or 2w, got %q", s)
	}
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if n > int64(maxDuration/unit) {
		return 0, fmt.Errorf("must be at most %s, got %s", FormatDuration(maxDuration), s)
	}
	return time.Duration(n) * unit, nil
}

func (d *decoder) duration(n ast.Node, field string) (time.Duration, bool) {
	n = d.resolve(n, field)
	if n == nil {
		return 0, false
	}
	var text string
	switch v := n.(type) {
	case *ast.StringNode:
		text = v.Value
	case *ast.IntegerNode, *ast.FloatNode:
		text = v.GetToken().Value
	default:
		d.errorf(n, field, "must be a duration such as 30m, 12h, 7d or 2w, got %s", describe(n))
		return 0, false
	}
	dur, err := ParseDuration(text)
	if err != nil {
		d.errorf(n, field, "%s", err.Error())
		return 0, false
	}
	return dur, true
}

// strings reads a list of strings; a single string is refused so that a
// missing dash is noticed rather than guessed. It returns each item's node.
func (d *decoder) strings(n ast.Node, field string, max int) ([]string, []ast.Node, bool) {
	n = d.resolve(n, field)
	if n == nil {
		return nil, nil, false
	}
	if _, ok := n.(*ast.NullNode); ok {
		return []string{}, nil, true
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(n, field, "must be a list of strings, got %s", describe(n))
		return nil, nil, false
	}
	if len(seq.Values) > max {
		d.errorf(n, field, "at most %d entries, got %d", max, len(seq.Values))
		return nil, nil, false
	}
	out := make([]string, 0, len(seq.Values))
	nodes := make([]ast.Node, 0, len(seq.Values))
	good := true
	for i, item := range seq.Values {
		s, ok := d.str(item, fmt.Sprintf("%s[%d]", field, i))
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
		nodes = append(nodes, item)
	}
	return out, nodes, good
}

func (d *decoder) patterns(n ast.Node, field string, foldCase bool) (Patterns, bool) {
	list, nodes, ok := d.strings(n, field, maxPatterns)
	if !ok {
		return Patterns{}, false
	}
	p, i, err := parsePatterns(list, foldCase)
	if err != nil {
		at := n
		if i < len(nodes) {
			at = nodes[i]
		}
		d.errorf(at, fmt.Sprintf("%s[%d]", field, i), "%s", err.Error())
		return Patterns{}, false
	}
	return p, true
}

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// names reads labels or logins; login checks them as GitHub logins.
func (d *decoder) names(n ast.Node, field string, max int, login bool) (*[]string, bool) {
	list, nodes, ok := d.strings(n, field, max)
	if !ok {
		return nil, false
	}
	for i, s := range list {
		switch {
		case len(s) == 0 || len(s) > maxNameLength:
			d.errorf(nodes[i], fmt.Sprintf("%s[%d]", field, i), "must be 1 to %d characters", maxNameLength)
			return nil, false
		case login && !ownerRE.MatchString(s):
			d.errorf(nodes[i], fmt.Sprintf("%s[%d]", field, i), "not a GitHub login: %q", truncate(s))
			return nil, false
		}
	}
	return &list, true
}

var topKeys = []string{"_extends", "dry_run", "report", "rules", "policy"}
var reportKeys = []string{"labels", "assignees", "dashboard", "per_package"}

func (d *decoder) top(f *File, body ast.Node) {
	d.fields(body, "", topKeys, func(key string, v, k ast.Node) {
		switch key {
		case "dry_run":
			if b, ok := d.boolean(v, key); ok {
				f.dryRun = &b
			}
		case "report":
			var perPackageOff ast.Node
			d.fields(v, key, reportKeys, func(key string, v, _ ast.Node) {
				field := "report." + key
				switch key {
				case "dashboard", "per_package":
					b, ok := d.boolean(v, field)
					if !ok {
						return
					}
					if key == "dashboard" {
						f.dashboard = &b
					} else if f.perPackage = &b; !b {
						perPackageOff = v
					}
				case "labels":
					if l, ok := d.names(v, field, maxLabels, false); ok {
						f.labels = l
					}
				case "assignees":
					if l, ok := d.names(v, field, maxAssignees, true); ok {
						f.assignees = l
					}
				}
			})
			if perPackageOff != nil && (f.dashboard == nil || !*f.dashboard) {
				// Without the dashboard nothing would report at all.
				d.errorf(perPackageOff, "report.per_package", "false needs report.dashboard: true in the same file (the dashboard is then the only report)")
			}
		case "rules":
			d.rules(f, v)
		case "policy":
			d.policy(f, v, k)
		case "_extends":
			d.extends(f, v)
		}
	})
}

func (d *decoder) extends(f *File, v ast.Node) {
	s, ok := d.str(v, "_extends")
	if !ok {
		return
	}
	ref, err := parseExtends(s)
	if err != nil {
		d.errorf(v, "_extends", "%s", err.Error())
		return
	}
	ref.line, ref.column = pos(v)
	f.extends = &ref
}

// parseExtends reads "owner/repo[:path]"; path defaults to Path.
func parseExtends(s string) (extendsRef, error) {
	target, path, hasPath := strings.Cut(s, ":")
	owner, repo, ok := strings.Cut(target, "/")
	bad := fmt.Errorf("must be owner/repo or owner/repo:path, got %q", truncate(s))
	if !ok || !ownerRE.MatchString(owner) || !repoRE.MatchString(repo) || repo == "." || repo == ".." || len(owner) > maxNameLength || len(repo) > maxNameLength {
		return extendsRef{}, bad
	}
	if !hasPath {
		path = Path
	}
	if path == "" || len(path) > 256 || strings.HasPrefix(path, "/") || strings.Contains(path, "\\") {
		return extendsRef{}, bad
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return extendsRef{}, bad
		}
	}
	return extendsRef{owner: owner, repo: repo, path: path}, nil
}

var ruleKeys = []string{"packages", "type", "prune", "restore"}
var pruneKeys = []string{"untagged", "older_than", "keep_untagged", "delete_tags", "keep_tagged", "exclude_tags", "keep_latest", "prerelease_only", "ghost_images", "partial_images"}
var restoreKeys = []string{"tags", "package", "broken"}
var policyKeys = []string{"max_deletions_per_run", "min_untagged_age", "repository_rules", "review_deletions_over"}
var containerOnly = []string{"untagged", "keep_untagged", "delete_tags", "keep_tagged", "exclude_tags", "ghost_images", "partial_images"}
var versionedOnly = []string{"keep_latest", "prerelease_only"}

func (d *decoder) rules(f *File, v ast.Node) {
	v = d.resolve(v, "rules")
	if v == nil {
		return
	}
	if _, ok := v.(*ast.NullNode); ok {
		empty := []Rule{}
		f.rules = &empty
		return
	}
	seq, ok := v.(*ast.SequenceNode)
	if !ok {
		d.errorf(v, "rules", "must be a list of rules, got %s", describe(v))
		return
	}
	if len(seq.Values) > maxRules {
		d.errorf(v, "rules", "at most %d rules, got %d", maxRules, len(seq.Values))
		return
	}
	out := make([]Rule, 0, len(seq.Values))
	for i, item := range seq.Values {
		field := fmt.Sprintf("rules[%d]", i)
		line, _ := pos(item)
		r := Rule{Type: TypeAny, Line: line}
		// Keys only valid for some types are checked once the type is known.
		typed := map[string]ast.Node{}
		d.fields(item, field, ruleKeys, func(key string, v, k ast.Node) {
			sub := field + "." + key
			switch key {
			case "packages":
				if p, ok := d.patterns(v, sub, true); ok {
					r.Packages = p
				}
			case "type":
				if s, ok := d.str(v, sub); ok {
					switch s {
					case TypeNPM, TypeMaven, TypeRubyGems, TypeNuGet, TypeDocker, TypeContainer, TypeAny:
						r.Type = s
					default:
						d.errorf(v, sub, "must be one of npm, maven, rubygems, nuget, docker, container, any, got %q", truncate(s))
					}
				}
			case "prune":
				r.Prune = &Prune{}
				d.prune(r.Prune, v, sub, typed)
			case "restore":
				r.Restore = &Restore{}
				d.fields(v, sub, restoreKeys, func(key string, v, _ ast.Node) {
					switch key {
					case "tags":
						if p, ok := d.patterns(v, sub+".tags", false); ok {
							r.Restore.Tags = p
						}
					case "package":
						if b, ok := d.boolean(v, sub+".package"); ok {
							r.Restore.Package = b
						}
					case "broken":
						if b, ok := d.boolean(v, sub+".broken"); ok {
							r.Restore.LeaveBroken = !b
						}
					}
				})
			}
		})
		for _, key := range pruneKeys {
			k, ok := typed[key]
			if !ok {
				continue
			}
			if contains(containerOnly, key) && isVersionedType(r.Type) {
				d.errorf(k, field+".prune."+key, "applies to container and docker packages only, not to type %s", r.Type)
			}
			if contains(versionedOnly, key) && pkgref.IsContainerType(r.Type) {
				d.errorf(k, field+".prune."+key, "applies to npm, maven, rubygems and nuget packages only, not to type %s", r.Type)
			}
		}
		out = append(out, r)
	}
	f.rules = &out
}

func (d *decoder) prune(p *Prune, v ast.Node, field string, typed map[string]ast.Node) {
	d.fields(v, field, pruneKeys, func(key string, v, k ast.Node) {
		typed[key] = k
		sub := field + "." + key
		switch key {
		case "untagged":
			p.Untagged, _ = d.boolean(v, sub)
		case "prerelease_only":
			p.PrereleaseOnly, _ = d.boolean(v, sub)
		case "ghost_images":
			p.GhostImages, _ = d.boolean(v, sub)
		case "partial_images":
			p.PartialImages, _ = d.boolean(v, sub)
		case "older_than":
			p.OlderThan, _ = d.duration(v, sub)
		case "keep_untagged":
			p.KeepUntagged, _ = d.integer(v, sub, 0, maxKeep)
		case "keep_tagged":
			p.KeepTagged, _ = d.integer(v, sub, 0, maxKeep)
		case "keep_latest":
			p.KeepLatest, _ = d.integer(v, sub, 0, maxKeep)
		case "delete_tags":
			p.DeleteTags, _ = d.patterns(v, sub, false)
		case "exclude_tags":
			p.ExcludeTags, _ = d.patterns(v, sub, false)
		}
	})
}

func (d *decoder) policy(f *File, v, k ast.Node) {
	line, col := pos(k)
	p := &filePolicy{line: line, column: col}
	d.fields(v, "policy", policyKeys, func(key string, v, _ ast.Node) {
		sub := "policy." + key
		switch key {
		case "max_deletions_per_run":
			if n, ok := d.integer(v, sub, 1, maxDeletions); ok {
				p.maxDeletions = &n
			}
		case "min_untagged_age":
			if dur, ok := d.duration(v, sub); ok {
				if dur < minUntaggedAgeFloor {
					d.errorf(v, sub, "must be at least %s: the floor protects images being pushed", FormatDuration(minUntaggedAgeFloor))
					return
				}
				p.minUntaggedAge = &dur
			}
		case "review_deletions_over":
			if n, ok := d.integer(v, sub, 0, maxDeletions); ok {
				p.reviewOver = &n
			}
		case "repository_rules":
			if s, ok := d.str(v, sub); ok {
				switch s {
				case RepositoryRulesAllow, RepositoryRulesDryRun, RepositoryRulesDeny:
					p.repoRules = &s
				default:
					d.errorf(v, sub, "must be allow, dry_run or deny, got %q", truncate(s))
				}
			}
		}
	})
	f.policy = p
}
