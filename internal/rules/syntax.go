package rules

import (
	"fmt"
	"strings"
)

// explainLayout looks, when the YAML parser refused data, for the mistake
// people make most: indentation. The parser's own words ("value is not
// allowed in this context", "found character that cannot start any
// token") name its state, not the mistake, and often the line before it.
// It returns the first tab in an indentation, or the first line indented
// in a way no block of the file allows, and nil when the layout looks
// right (the parser's message is kept then).
//
// It reads block mappings and lists line by line and steps over what it
// does not model (flow collections spanning lines, block scalars), so it
// only speaks about lines it understands.
func explainLayout(data []byte) *Error {
	type level = layoutLevel
	var (
		stack []level
		// opener: the line before ends with a key and ":" (or is a
		// lone "-"), so the next may be indented further than openAt.
		opener bool
		openAt int
		// openKey: the opener is a key (a list may follow at its
		// indentation, "rules:\n- a").
		openKey bool
		prev    struct {
			line int
			text string
		}
		flow        int // flow brackets still open
		blockScalar = -1
	)
	lines := strings.Split(string(data), "\n")
	for n, raw := range lines {
		lineNo := n + 1
		line := strings.TrimRight(raw, "\r")
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		content := stripComment(line[i:])
		if blockScalar >= 0 {
			if content == "" || i > blockScalar {
				continue
			}
			blockScalar = -1
		}
		if flow > 0 {
			flow += flowDelta(content)
			continue
		}
		if content == "" || content == "---" || strings.HasPrefix(content, "%") {
			continue
		}
		if t := strings.IndexByte(line[:i], '\t'); t >= 0 {
			return &Error{Line: lineNo, Column: t + 1, Msg: "indented with a tab; YAML needs spaces"}
		}
		dash := content == "-" || strings.HasPrefix(content, "- ")
		switch {
		case len(stack) == 0:
			stack = append(stack, level{indent: i, seq: dash})
		case opener && (i > openAt || i == openAt && dash && openKey):
			stack = append(stack, level{indent: i, seq: dash})
		default:
			top := stack[len(stack)-1]
			if i > top.indent {
				return &Error{Line: lineNo, Column: i + 1, Msg: fmt.Sprintf(
					"indented more than line %d (%s), which already has a value: only the lines under a key ending in \":\" go further right; line it up with the line above",
					prev.line, quoteLine(prev.text))}
			}
			around := indentsOf(stack)
			for len(stack) > 1 && stack[len(stack)-1].indent > i {
				stack = stack[:len(stack)-1]
			}
			top = stack[len(stack)-1]
			if top.indent != i {
				return &Error{Line: lineNo, Column: i + 1, Msg: fmt.Sprintf(
					"this line is indented differently from the lines around it: %d spaces, where the blocks above it use %s; line it up with the keys it belongs with",
					i, around)}
			}
			if top.seq && !dash {
				if len(stack) > 1 && stack[len(stack)-2].indent == i && !stack[len(stack)-2].seq {
					stack = stack[:len(stack)-1] // "rules:\n- a\nnext:": the list ends
				} else {
					return &Error{Line: lineNo, Column: i + 1, Msg: fmt.Sprintf(
						"this line is lined up with the dashes of the list above it (%d spaces): a key of a list entry goes further right, under the first key after its \"- \"", i)}
				}
			}
			if !stack[len(stack)-1].seq && dash {
				return nil // a list where keys are: left to the parser
			}
		}
		// The line's own content: "- " opens a mapping to its right when a
		// key follows.
		rest, at := content, i
		for rest == "-" || strings.HasPrefix(rest, "- ") {
			trimmed := strings.TrimLeft(strings.TrimPrefix(rest, "-"), " ")
			at += len(rest) - len(trimmed)
			rest = trimmed
			if rest == "" {
				break
			}
			stack = append(stack, level{indent: at, seq: strings.HasPrefix(rest, "- ") || rest == "-"})
		}
		value, isKey := keyValue(rest)
		opener, openKey, openAt = false, false, at
		switch {
		case rest == "":
			opener = true // a lone "-": its entry is on the next lines
		case isKey && value == "":
			opener, openKey = true, true
		case isKey && (strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">")):
			blockScalar = i
		default:
			if !isKey {
				value = rest
			}
			flow = max(0, flowDelta(value))
		}
		prev.line, prev.text = lineNo, strings.TrimSpace(line)
	}
	return nil
}

// keyValue splits "key: value" (key plain or quoted), reporting whether s
// is one.
func keyValue(s string) (string, bool) {
	if s == "" || strings.IndexByte("[{", s[0]) >= 0 {
		return "", false
	}
	start := 0
	if q := s[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", false
		}
		start = end + 2
	}
	for j := start; j < len(s); j++ {
		if s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t') {
			return strings.TrimSpace(s[j+1:]), true
		}
	}
	return "", false
}

// stripComment removes a trailing comment (a "#" at the start or after a
// space, outside quotes) and trailing spaces.
func stripComment(s string) string {
	var quote byte
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if j == 0 || strings.IndexByte(" [{,:", s[j-1]) >= 0 {
				quote = c
			}
		case c == '#' && (j == 0 || s[j-1] == ' ' || s[j-1] == '\t'):
			return strings.TrimRight(s[:j], " \t")
		}
	}
	return strings.TrimRight(s, " \t")
}

// flowDelta is how many flow brackets s opens (negative: closes) outside
// quotes.
func flowDelta(s string) int {
	d := 0
	var quote byte
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			d++
		case c == ']' || c == '}':
			d--
		}
	}
	return d
}

// layoutLevel is an open block: a mapping's keys or a list's dashes, at
// their indentation.
type layoutLevel struct {
	indent int
	seq    bool
}

// indentsOf names the indentations of the open blocks, innermost first:
// "4, 2 or 0".
func indentsOf(stack []layoutLevel) string {
	var parts []string
	for j := len(stack) - 1; j >= 0; j-- {
		if j < len(stack)-1 && stack[j].indent == stack[j+1].indent {
			continue
		}
		parts = append(parts, fmt.Sprint(stack[j].indent))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// quoteLine quotes a line of the file for a message, shortened.
func quoteLine(s string) string { return fmt.Sprintf("%q", truncate(s)) }
