package report

import "strings"

// Which lines of a comment GitHub shows as text, where a /pkgwarden
// command counts: CommonMark's block structure, simplified (see
// ParseCommands).

// lf returns body with GitHub's web editor's "\r\n" line endings as "\n".
// GitHub stores a body as it was sent: "\n" from pkgwarden and API
// clients, "\r\n" once a person edits it on github.com (ticking a box
// included), the whole body. Every body read from GitHub goes through it
// before it is parsed or rewritten (toFound for the issues the Reporter
// reads; ParseRestorable, parseRestored and tickedIntentional for bodies
// that come in webhooks), so no parser needs to know, and pkgwarden
// writes back its own format, not a mix. ParseCommands splits lines
// itself, lone "\r" included, and markerPackage reads the first line only.
func lf(body string) string {
	if !strings.Contains(body, "\r\n") {
		return body
	}
	return strings.ReplaceAll(body, "\r\n", "\n")
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
