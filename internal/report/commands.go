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
	// "/pkgwarden restore pr-42" (by tag), "/pkgwarden restore all".
	VerbRestore Verb = "restore"
	// VerbForget deletes restored versions again for good:
	// "/pkgwarden forget 42", "/pkgwarden forget package".
	VerbForget Verb = "forget"
	// VerbHelp asks for the list of commands: "/pkgwarden help".
	VerbHelp Verb = "help"
)

// MaxCommandIDs bounds the ids (and tags) one command may name.
const MaxCommandIDs = 20

// MaxCommands bounds the commands ParseCommands returns for one comment.
const MaxCommands = 10

// maxCommandText bounds Command.Text, in bytes.
const maxCommandText = 200

// CommandUsage says what the commands are, in Markdown, for answers and
// error messages.
const CommandUsage = "`/pkgwarden restore <id>…|<tag>…|all` restores deleted versions, " +
	"`/pkgwarden forget <id>…|package` deletes restored ones again for good, `/pkgwarden help` lists the commands"

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
	// ErrTooMany: more than MaxCommandIDs ids and tags.
	ErrTooMany = errors.New("too many ids")
)

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
	// Tags name versions to restore by tag ("/pkgwarden restore pr-42"),
	// in order, without duplicates.
	Tags []string
	// Err is non-nil for a /pkgwarden line that is not a valid command;
	// Verb, IDs, All, Package and Tags are then empty.
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

// splitCommentLines splits s on "\r\n", "\r" and "\n". A line ending at the end
// of s starts no further line.
func splitCommentLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

type commandParser struct {
	lines []string
	// stopFrom and stopAt remember the last answer of inlineCommentEnd's
	// search: no line in [stopFrom, stopAt) ends a paragraph or holds
	// "-->", and stopAt does (or is len(lines)). The searches go forward,
	// so the body is scanned once however many comments open.
	stopFrom, stopAt int
}

func (p *commandParser) run() []Command {
	var (
		out []Command
		// para: a paragraph is open, which a line indented by 4 or more
		// continues (rather than starting an indented code block).
		para bool
		// fenceLen > 0 inside a fenced code block opened by fenceLen
		// fenceChar.
		fenceChar byte
		fenceLen  int
		// blockComment: inside an HTML block opened by a line starting
		// with "<!--"; it ends with the line holding "-->".
		blockComment bool
		// commentEnd >= 0: inside a comment opened in a paragraph, which
		// ends on line commentEnd.
		commentEnd = -1
	)
	for i, line := range p.lines {
		if len(out) == MaxCommands {
			break
		}
		switch {
		case fenceLen > 0:
			if closesFence(line, fenceChar, fenceLen) {
				fenceLen = 0
			}
			continue
		case blockComment:
			blockComment = !strings.Contains(line, "-->")
			continue
		case commentEnd > i:
			continue
		case commentEnd == i:
			// The rest of the line continues the paragraph, not a line
			// start: never a command, but it may open another comment.
			commentEnd = -1
			rest := line[strings.Index(line, "-->")+3:]
			if _, open := stripComments(rest); open >= 0 {
				commentEnd = p.inlineCommentEnd(i + 1)
			}
			para = true
			continue
		}
		col, off := mdIndent(line)
		if off == len(line) {
			para = false
			continue
		}
		if col >= 4 && !para {
			continue // indented code
		}
		content := line[off:]
		if col < 4 {
			if c, n, ok := openingFence(content); ok {
				fenceChar, fenceLen, para = c, n, false
				continue
			}
			if content[0] == '>' {
				para = false
				continue
			}
			if strings.HasPrefix(content, "<!--") {
				para = false
				blockComment = !strings.Contains(content[2:], "-->")
				continue
			}
			if endsParagraph(content, para) {
				para = false
				continue
			}
		}
		para = true
		shown, open := stripComments(content)
		if open >= 0 {
			if commentEnd = p.inlineCommentEnd(i + 1); commentEnd < 0 {
				// Never closed in its paragraph: GitHub shows it as text.
				shown += content[open:]
			}
		}
		if c, ok := parseCommandLine(shown); ok {
			c.Line = i + 1
			out = append(out, c)
		}
	}
	return out
}

// inlineCommentEnd returns the line, from line from on, where a comment
// opened in a paragraph ends: the first line holding "-->", when no line
// before it (nor it) ends the paragraph. It returns -1 when the paragraph
// ends first: the "<!--" is then text.
func (p *commandParser) inlineCommentEnd(from int) int {
	if from < p.stopFrom || from > p.stopAt {
		j := from
		for j < len(p.lines) && !stopsParagraph(p.lines[j]) && !strings.Contains(p.lines[j], "-->") {
			j++
		}
		p.stopFrom, p.stopAt = from, j
	}
	if j := p.stopAt; j < len(p.lines) && !stopsParagraph(p.lines[j]) {
		return j
	}
	return -1
}

// mdIndent returns the column of line's first character that is not a
// space or a tab (tabs stop every 4 columns) and its byte offset.
func mdIndent(line string) (col, off int) {
	for off < len(line) {
		switch line[off] {
		case ' ':
			col++
		case '\t':
			col += 4 - col%4
		default:
			return col, off
		}
		off++
	}
	return col, off
}

// leadingRun returns how many times c repeats at the start of s.
func leadingRun(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// openingFence reports whether content (a line without its indentation of
// at most 3) opens a fenced code block, and with which character and
// length.
func openingFence(content string) (byte, int, bool) {
	c := content[0]
	if c != '`' && c != '~' {
		return 0, 0, false
	}
	n := leadingRun(content, c)
	if n < 3 || c == '`' && strings.IndexByte(content[n:], '`') >= 0 {
		return 0, 0, false
	}
	return c, n, true
}

// closesFence reports whether line closes a fenced code block opened by n
// times c.
func closesFence(line string, c byte, n int) bool {
	col, off := mdIndent(line)
	if col >= 4 {
		return false
	}
	m := leadingRun(line[off:], c)
	return m >= n && strings.Trim(line[off+m:], " \t") == ""
}

// endsParagraph reports whether content (a non-blank line without its
// indentation of at most 3) is a block of its own that no indented line
// continues: an ATX heading, a thematic break, or, when a paragraph is
// open, a setext heading's underline.
func endsParagraph(content string, para bool) bool {
	if n := leadingRun(content, '#'); n >= 1 && n <= 6 && (n == len(content) || content[n] == ' ' || content[n] == '\t') {
		return true
	}
	rest := strings.TrimRight(content, " \t")
	if para {
		if n := leadingRun(rest, rest[0]); (rest[0] == '=' || rest[0] == '-') && n == len(rest) {
			return true
		}
	}
	switch c := content[0]; c {
	case '*', '-', '_':
		n := 0
		for i := 0; i < len(content); i++ {
			switch content[i] {
			case c:
				n++
			case ' ', '\t':
			default:
				return false
			}
		}
		return n >= 3
	}
	return false
}

// stopsParagraph reports whether line ends an open paragraph rather than
// continuing it: a blank line, or the start of a block that interrupts a
// paragraph (fence, quote, HTML comment, heading, thematic break, list
// item).
func stopsParagraph(line string) bool {
	col, off := mdIndent(line)
	if off == len(line) {
		return true
	}
	if col >= 4 {
		return false
	}
	content := line[off:]
	if _, _, ok := openingFence(content); ok {
		return true
	}
	if content[0] == '>' || strings.HasPrefix(content, "<!--") || endsParagraph(content, true) {
		return true
	}
	// A list item: a bullet, or "1." or "1)", then a space and text.
	rest := ""
	switch {
	case content[0] == '-' || content[0] == '+' || content[0] == '*':
		rest = content[1:]
	case strings.HasPrefix(content, "1.") || strings.HasPrefix(content, "1)"):
		rest = content[2:]
	default:
		return false
	}
	return (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")) && strings.Trim(rest, " \t") != ""
}

// stripComments returns s without its HTML comments, outside code spans
// and backslash escapes. When a comment opens and does not close within s,
// open is the offset of its "<!--" and shown stops there; otherwise open
// is -1.
func stripComments(s string) (shown string, open int) {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(asciiPunct, s[i+1]) >= 0:
			i += 2
		case c == '`':
			n := leadingRun(s[i:], '`')
			i += n
			if end := closingRun(s[i:], n); end >= 0 {
				i += end + n
			}
		case c == '<' && strings.HasPrefix(s[i:], "<!--"):
			b.WriteString(s[last:i])
			// "<!-->" and "<!--->" are (empty) comments too.
			end := strings.Index(s[i+2:], "-->")
			if end < 0 {
				return b.String(), i
			}
			i += 2 + end + 3
			last = i
		default:
			i++
		}
	}
	if last == 0 {
		return s, -1
	}
	b.WriteString(s[last:])
	return b.String(), -1
}

// asciiPunct are the characters a backslash escapes in Markdown.
const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// closingRun returns the offset in s of the first run of exactly n
// backticks, or -1.
func closingRun(s string, n int) int {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '`')
		if j < 0 {
			return -1
		}
		i += j
		m := leadingRun(s[i:], '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
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
		c.Err = fmt.Errorf("%w: %s", ErrNoVerb, CommandUsage)
	case equalFoldASCII(words[0], string(VerbRestore)):
		c.Verb = VerbRestore
	case equalFoldASCII(words[0], string(VerbForget)):
		c.Verb = VerbForget
	case equalFoldASCII(words[0], string(VerbHelp)):
		c.Verb = VerbHelp
	default:
		c.Err = fmt.Errorf("%w: %q; %s", ErrUnknownVerb, clipBytes(words[0], 40), CommandUsage)
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
		return "forget takes version ids or package"
	}
	return "restore takes version ids, tags or all"
}

// parseArgs reads the arguments of c.Verb into c.
func (c *Command) parseArgs(args []string) error {
	if c.Verb == VerbHelp {
		if len(args) > 0 {
			return fmt.Errorf("%w: help takes no arguments, got %q", ErrBadArgument, clipBytes(args[0], 40))
		}
		return nil
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: missing argument: %s", ErrBadArgument, verbTakes(c.Verb))
	}
	tooMany := false
	named := func() int { return len(c.IDs) + len(c.Tags) }
	for _, a := range args {
		switch {
		case equalFoldASCII(a, "all"):
			if c.Verb != VerbRestore {
				return fmt.Errorf("%w: %s all is not a command, %s", ErrBadArgument, c.Verb, verbTakes(c.Verb))
			}
			c.All = true
		case equalFoldASCII(a, "package"):
			if c.Verb != VerbForget {
				return fmt.Errorf("%w: %s package is not a command, %s", ErrBadArgument, c.Verb, verbTakes(c.Verb))
			}
			c.Package = true
		case isASCIIDigits(a):
			id, err := strconv.ParseInt(a, 10, 64)
			switch {
			case err != nil:
				return fmt.Errorf("%w: bad id %q: too large", ErrBadArgument, clipBytes(a, 40))
			case id == 0:
				return fmt.Errorf("%w: bad id %q: ids start at 1", ErrBadArgument, a)
			case slices.Contains(c.IDs, id):
			case named() == MaxCommandIDs:
				tooMany = true
			default:
				c.IDs = append(c.IDs, id)
			}
		case isSignedDigits(a):
			return fmt.Errorf("%w: bad id %q: ids are positive whole numbers", ErrBadArgument, clipBytes(a, 40))
		case isDigitsAnyScript(a):
			return fmt.Errorf("%w: bad id %q: write ids with the digits 0-9", ErrBadArgument, clipBytes(a, 40))
		case c.Verb == VerbRestore && isOCITag(a):
			switch {
			case slices.Contains(c.Tags, a):
			case named() == MaxCommandIDs:
				tooMany = true
			default:
				c.Tags = append(c.Tags, a)
			}
		case c.Verb == VerbRestore:
			return fmt.Errorf("%w: %q is not a version id, a tag or all", ErrBadArgument, clipBytes(a, 40))
		default:
			return fmt.Errorf("%w: bad id %q: %s", ErrBadArgument, clipBytes(a, 40), verbTakes(c.Verb))
		}
	}
	switch {
	case c.All && (named() > 0 || tooMany):
		return fmt.Errorf("%w: all cannot be combined with ids or tags", ErrBadArgument)
	case c.Package && (named() > 0 || tooMany):
		return fmt.Errorf("%w: package cannot be combined with ids", ErrBadArgument)
	case tooMany:
		return fmt.Errorf("%w: at most %d ids per command (tags count too)", ErrTooMany, MaxCommandIDs)
	}
	return nil
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
