package report

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Verb is a command's verb.
type Verb string

// The verbs of /pkgwarden commands.
const (
	// VerbRestore restores deleted versions: "/pkgwarden restore 42 43",
	// "/pkgwarden restore pr-42" (by tag), "/pkgwarden restore
	// sha256:6e7d" (by digest prefix), "/pkgwarden restore all".
	VerbRestore Verb = "restore"
	// VerbForget deletes restored versions again for good:
	// "/pkgwarden forget 42", "/pkgwarden forget pr-42", "/pkgwarden
	// forget sha256:6e7d", "/pkgwarden forget package".
	VerbForget Verb = "forget"
	// VerbHelp asks for the list of commands: "/pkgwarden help".
	VerbHelp Verb = "help"
)

// MaxCommandIDs bounds the ids (and tags and digests) one command may
// name.
const MaxCommandIDs = 20

// How short a digest may be written. A digest prefix names the versions
// whose digest starts with it; one that names several is answered with
// them and does nothing.
const (
	// MinDigestHex is how many hex digits a digest written with its
	// algorithm needs at least: "sha256:6e7d".
	MinDigestHex = 4
	// MinBareDigestHex is how many hex digits a digest written without
	// "sha256:" needs at least ("6e7dc4e"), with at least one letter
	// a-f: a word of digits only is a version id. Such a word is a valid
	// tag too, and a tag of that name wins over a digest starting with it.
	MinBareDigestHex = 7
)

// MaxCommands bounds the commands ParseCommands returns for one comment.
const MaxCommands = 10

// maxCommandText bounds Command.Text, in bytes.
const maxCommandText = 200

// CommandUsage says what the commands are, in Markdown, for answers and
// error messages.
const CommandUsage = "`/pkgwarden restore <id|tag|digest>…|all` restores deleted versions, " +
	"`/pkgwarden forget <id|tag|digest>…|package` deletes restored ones again for good, `/pkgwarden help` explains them"

// The errors of a /pkgwarden line that is not a valid command. Command.Err
// wraps one of them with the details; test with errors.Is.
var (
	// ErrNoVerb: "/pkgwarden" alone.
	ErrNoVerb = errors.New("no verb")
	// ErrUnknownVerb: a verb other than restore, forget and help.
	ErrUnknownVerb = errors.New("unknown verb")
	// ErrBadArgument: a missing or malformed argument, a bad id, "forget
	// all", "restore package", "all" or "package" beside ids, "help" with
	// an argument.
	ErrBadArgument = errors.New("bad argument")
	// ErrTooMany: more than MaxCommandIDs ids, tags and digests.
	ErrTooMany = errors.New("too many ids")
)

// commandError is what is wrong with a /pkgwarden line, in words for the
// person who wrote it (the answer quotes it); Unwrap gives the sentinel.
type commandError struct {
	kind error
	msg  string
}

func (e *commandError) Error() string { return e.msg }
func (e *commandError) Unwrap() error { return e.kind }

// errorf is a commandError of kind.
func errorf(kind error, format string, args ...any) error {
	return &commandError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Command is one /pkgwarden line of a comment.
type Command struct {
	// Line is the 1-based line number in the comment.
	Line int
	// Text is the line as it shows (HTML comments left out), trimmed, at
	// most 200 bytes (cut on a character boundary, ending in "…"), for
	// quoting it back in an answer. It may hold anything a person
	// wrote, Markdown included: quote it with care.
	Text string
	// Verb is "" when the line is not a valid command (Err says why).
	Verb Verb
	// IDs are the version (or package) ids, in order, without duplicates.
	IDs []int64
	// All: "restore all".
	All bool
	// Package: "forget package".
	Package bool
	// Tags name versions by tag ("/pkgwarden restore pr-42"), in order,
	// without duplicates. A tag that is also a bare digest prefix
	// (BareDigestPrefix) names the versions whose digest starts with it
	// when no version carries the tag.
	Tags []string
	// Digests name versions by digest prefix ("sha256:6e7d", in lower
	// case, at least MinDigestHex hex digits), in order, without
	// duplicates.
	Digests []string
	// Err is non-nil for a /pkgwarden line that is not a valid command;
	// Verb, IDs, All, Package, Tags and Digests are then empty.
	Err error
}

// ParseCommands returns every /pkgwarden line of body, valid or not, in
// order, at most MaxCommands of them. body is read as GitHub renders a
// comment's Markdown:
//
//   - lines end with "\r\n", "\r" or "\n" alike;
//   - a command is a line whose first word, after at most 3 spaces of
//     indentation, is "/pkgwarden" (in any case), followed by a verb and its
//     arguments separated by spaces, tabs or commas; a line that mentions
//     /pkgwarden further on is not one;
//   - lines of fenced code blocks (``` or ~~~), of indented code blocks (4
//     spaces or a tab of indentation not continuing a paragraph), of block
//     quotes (">") and of HTML comments ("<!-- ... -->") are not commands.
//     A line indented by 4 or more that continues a paragraph is part of
//     it, and may be a command.
//
// This is CommonMark's block structure simplified: a line after a quote
// without ">" is not read as the quote's lazy continuation, lists are not
// containers (a line indented by 4 after a blank line is code even in a
// list item), and code spans and inline HTML comments are read within one
// line (or, for a comment, within the lines up to a blank line or a new
// block).
func ParseCommands(body string) []Command {
	p := commandParser{lines: splitCommentLines(body), stopFrom: 1, stopAt: 0}
	return p.run()
}

// parseCommandLine reads a line's shown text as a command; ok is false
// when the line does not start with /pkgwarden.
func parseCommandLine(shown string) (c Command, ok bool) {
	text := strings.TrimSpace(shown)
	first, rest := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		first, rest = text[:i], text[i:]
	}
	if !equalFoldASCII(first, "/pkgwarden") {
		return Command{}, false
	}
	c.Text = clipBytes(text, maxCommandText)
	words := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	switch {
	case len(words) == 0:
		c.Err = errorf(ErrNoVerb, "`/pkgwarden` needs a command: %s", CommandUsage)
	case equalFoldASCII(words[0], string(VerbRestore)):
		c.Verb = VerbRestore
	case equalFoldASCII(words[0], string(VerbForget)):
		c.Verb = VerbForget
	case equalFoldASCII(words[0], string(VerbHelp)):
		c.Verb = VerbHelp
	default:
		hint := ""
		if v, ok := nearestVerb(words[0]); ok {
			hint = fmt.Sprintf(" Did you mean `%s`?", v)
		}
		c.Err = errorf(ErrUnknownVerb, "%s is not a command.%s %s", codeWord(words[0]), hint, CommandUsage)
	}
	if c.Err == nil {
		c.Err = c.parseArgs(words[1:])
	}
	if c.Err != nil {
		c = Command{Text: c.Text, Err: c.Err}
	}
	return c, true
}

// verbTakes says what a verb's arguments are.
func verbTakes(v Verb) string {
	if v == VerbForget {
		return "forget takes version ids, tags, digests or package"
	}
	return "restore takes version ids, tags, digests or all"
}

// parseArgs reads the arguments of c.Verb into c.
func (c *Command) parseArgs(args []string) error {
	if c.Verb == VerbHelp {
		if len(args) > 0 {
			return errorf(ErrBadArgument, "help takes no arguments, got %s", codeWord(args[0]))
		}
		return nil
	}
	if len(args) == 0 {
		return errorf(ErrBadArgument, "missing argument: %s", verbTakes(c.Verb))
	}
	tooMany := false
	named := func() int { return len(c.IDs) + len(c.Tags) + len(c.Digests) }
	for _, a := range args {
		switch {
		case equalFoldASCII(a, "all"):
			if c.Verb != VerbRestore {
				return errorf(ErrBadArgument, "%s all is not a command, %s", c.Verb, verbTakes(c.Verb))
			}
			c.All = true
		case equalFoldASCII(a, "package"):
			if c.Verb != VerbForget {
				return errorf(ErrBadArgument, "%s package is not a command, %s", c.Verb, verbTakes(c.Verb))
			}
			c.Package = true
		case isASCIIDigits(a):
			id, err := strconv.ParseInt(a, 10, 64)
			switch {
			case err != nil:
				return errorf(ErrBadArgument, "bad id %s: too large", codeWord(a))
			case id == 0:
				return errorf(ErrBadArgument, "bad id %s: ids start at 1", codeWord(a))
			case slices.Contains(c.IDs, id):
			case named() == MaxCommandIDs:
				tooMany = true
			default:
				c.IDs = append(c.IDs, id)
			}
		case isSignedDigits(a):
			return errorf(ErrBadArgument, "bad id %s: ids are positive whole numbers", codeWord(a))
		case isDigitsAnyScript(a):
			return errorf(ErrBadArgument, "bad id %s: write ids with the digits 0-9", codeWord(a))
		case hasDigestAlgorithm(a):
			d, err := parseDigestPrefix(a)
			switch {
			case err != nil:
				return err
			case slices.Contains(c.Digests, d):
			case named() == MaxCommandIDs:
				tooMany = true
			default:
				c.Digests = append(c.Digests, d)
			}
		case isOCITag(a):
			switch {
			case slices.Contains(c.Tags, a):
			case named() == MaxCommandIDs:
				tooMany = true
			default:
				c.Tags = append(c.Tags, a)
			}
		default:
			return errorf(ErrBadArgument, "%s is not a version id, a tag or a digest; %s", codeWord(a), verbTakes(c.Verb))
		}
	}
	switch {
	case c.All && (named() > 0 || tooMany):
		return errorf(ErrBadArgument, "all cannot be combined with ids, tags or digests")
	case c.Package && (named() > 0 || tooMany):
		return errorf(ErrBadArgument, "package cannot be combined with ids, tags or digests")
	case tooMany:
		return errorf(ErrTooMany, "at most %d ids per command (tags and digests count too)", MaxCommandIDs)
	}
	return nil
}

// digestAlgorithm starts a digest written whole or in part.
const digestAlgorithm = "sha256:"

// hasDigestAlgorithm reports whether word starts with "sha256:", in any
// case.
func hasDigestAlgorithm(word string) bool {
	return len(word) >= len(digestAlgorithm) && equalFoldASCII(word[:len(digestAlgorithm)], digestAlgorithm)
}

// parseDigestPrefix reads "sha256:<hex>" with MinDigestHex to 64 hex
// digits, in lower case.
func parseDigestPrefix(word string) (string, error) {
	hex := word[len(digestAlgorithm):]
	switch {
	case !isHex(hex) || len(hex) > 64:
		return "", errorf(ErrBadArgument, "%s is not a sha256 digest (up to 64 hex digits after sha256:)", codeWord(word))
	case len(hex) < MinDigestHex:
		return "", errorf(ErrBadArgument, "digest %s is too short: write at least %d hex digits after sha256:", codeWord(word), MinDigestHex)
	}
	return digestAlgorithm + strings.ToLower(hex), nil
}

// BareDigestPrefix returns word as a digest prefix ("sha256:" and word
// in lower case) when word may be one written without its algorithm:
// MinBareDigestHex to 64 hex digits, at least one of them a letter.
func BareDigestPrefix(word string) (string, bool) {
	if len(word) < MinBareDigestHex || len(word) > 64 || !isHex(word) || isASCIIDigits(word) {
		return "", false
	}
	return digestAlgorithm + strings.ToLower(word), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// codeWord shows a word a person wrote in an answer: cut to 40 bytes, in
// a code span, so that Markdown, mentions and HTML in it stay text.
func codeWord(s string) string {
	return "`" + quoteLine(clipBytes(s, 40)) + "`"
}

// nearestVerb is the verb word is a likely typo of, in any case: within
// two edits of restore or forget, one of help.
func nearestVerb(word string) (Verb, bool) {
	w := strings.ToLower(word)
	if len(w) > 12 {
		return "", false
	}
	best, bestD := Verb(""), 3
	for _, v := range []Verb{VerbRestore, VerbForget, VerbHelp} {
		// "help" is short: one edit at most, or "hi" would be help.
		limit := 2
		if len(v) < 5 {
			limit = 1
		}
		if d := editDistance(w, string(v)); d <= limit && d < bestD {
			best, bestD = v, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and transpositions of
// two neighbours ("hepl") count one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// equalFoldASCII reports whether s is lower, a lower-case ASCII word, in
// any case of ASCII letters ("/PkgWarden"; not with the Kelvin sign for
// k, which strings.EqualFold would accept).
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isDigitsAnyScript reports whether s is made of decimal digits of any script
// ("٤٢", "４２").
func isDigitsAnyScript(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// isSignedDigits reports whether s is a number with a sign ("-1", "+2").
func isSignedDigits(s string) bool {
	return len(s) > 1 && (s[0] == '-' || s[0] == '+') && isDigitsAnyScript(s[1:])
}

// isOCITag reports whether s is a valid OCI tag:
// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func isOCITag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// clipBytes returns s cut to at most limit bytes, on a character boundary,
// ending in "…" when cut.
func clipBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit - len("…")
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); k++ {
		n--
	}
	return s[:n] + "…"
}
