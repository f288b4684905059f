package rules

import (
	"fmt"
	"strings"
)

// Limits on patterns, chosen far above any real configuration so that a
// hostile or broken file cannot make matching expensive.
const (
	maxPatterns      = 100 // entries of one glob list
	maxPatternLength = 256 // bytes of one glob
)

// Patterns is a list of globs with "!" exclusions. A value matches when it
// matches at least one positive glob and no excluded one; a list made only of
// exclusions matches everything it does not exclude.
//
// Glob syntax: "*" matches any run of characters (including "/"), "?" any
// single character; everything else is literal. Regular expressions
// ("/.../") are refused on purpose, see the package documentation.
type Patterns struct {
	include []string
	exclude []string
	// foldCase makes matching case-insensitive (package names are; tags are not).
	foldCase bool
}

// parsePatterns checks every glob and returns the list, or a message saying
// what is wrong with the entry at the returned index.
func parsePatterns(globs []string, foldCase bool) (Patterns, int, error) {
	p := Patterns{foldCase: foldCase}
	if len(globs) > maxPatterns {
		return Patterns{}, maxPatterns, fmt.Errorf("at most %d patterns, got %d", maxPatterns, len(globs))
	}
	for i, g := range globs {
		neg := strings.HasPrefix(g, "!")
		body := strings.TrimPrefix(g, "!")
		if err := checkGlob(body); err != nil {
			return Patterns{}, i, err
		}
		if foldCase {
			body = strings.ToLower(body)
		}
		if neg {
			p.exclude = append(p.exclude, body)
		} else {
			p.include = append(p.include, body)
		}
	}
	return p, 0, nil
}

func checkGlob(g string) error {
	switch {
	case g == "":
		return fmt.Errorf("empty pattern")
	case len(g) > maxPatternLength:
		return fmt.Errorf("pattern longer than %d bytes", maxPatternLength)
	case len(g) >= 2 && strings.HasPrefix(g, "/") && strings.HasSuffix(g, "/"):
		return fmt.Errorf("regular expressions are not supported, use the globs * and ?: %q", g)
	}
	for _, r := range g {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._-/@+*?", r):
		default:
			return fmt.Errorf("invalid character %q in pattern %q: allowed are letters, digits, . _ - / @ + and the wildcards * ?", r, g)
		}
	}
	return nil
}

// Empty reports whether the list has no pattern at all.
func (p Patterns) Empty() bool { return len(p.include) == 0 && len(p.exclude) == 0 }

// Match reports whether s matches the list.
func (p Patterns) Match(s string) bool {
	_, ok := p.Which(s)
	return ok
}

// Which is Match that also returns the positive glob that matched ("*" when
// the list holds exclusions only).
func (p Patterns) Which(s string) (string, bool) {
	if p.foldCase {
		s = strings.ToLower(s)
	}
	for _, g := range p.exclude {
		if globMatch(g, s) {
			return "", false
		}
	}
	if len(p.include) == 0 {
		return "*", len(p.exclude) > 0
	}
	for _, g := range p.include {
		if globMatch(g, s) {
			return g, true
		}
	}
	return "", false
}

// Literals returns the positive patterns without wildcards: names a rule
// spells out, as opposed to names it happens to match.
func (p Patterns) Literals() []string {
	var out []string
	for _, g := range p.include {
		if !strings.ContainsAny(g, "*?") {
			out = append(out, g)
		}
	}
	return out
}

// String renders the list as it was written (lower-cased when folding).
func (p Patterns) String() string {
	parts := append([]string(nil), p.include...)
	for _, g := range p.exclude {
		parts = append(parts, "!"+g)
	}
	return strings.Join(parts, ", ")
}

// globMatch matches s against g with "*" and "?". The classic greedy
// algorithm with one backtrack point runs in O(len(g)*len(s)) at worst.
func globMatch(g, s string) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case gi < len(g) && (g[gi] == '?' || g[gi] == s[si]):
			gi++
			si++
		case gi < len(g) && g[gi] == '*':
			star, mark = gi, si
			gi++
		case star >= 0:
			gi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}
