package rules

import "testing"

func TestPatterns(t *testing.T) {
	tests := map[string]struct {
		globs    []string
		foldCase bool
		match    []string
		miss     []string
	}{
		"star crosses slashes": {globs: []string{"team/*"}, match: []string{"team/app", "team/a/b", "team/"}, miss: []string{"team", "other/app"}},
		"question mark":        {globs: []string{"v?"}, match: []string{"v1", "vx"}, miss: []string{"v", "v10"}},
		"literal":              {globs: []string{"latest"}, match: []string{"latest"}, miss: []string{"latest2", "Latest"}},
		"exclusion wins":       {globs: []string{"*", "!legacy-*"}, match: []string{"app", "legacy"}, miss: []string{"legacy-api"}},
		"exclusions only":      {globs: []string{"!pr-*"}, match: []string{"v1", "main"}, miss: []string{"pr-1"}},
		"several stars":        {globs: []string{"*-rc*-*"}, match: []string{"1.0-rc1-amd64", "x-rc-y"}, miss: []string{"1.0-rc1", "rc-1"}},
		"star alone":           {globs: []string{"*"}, match: []string{"", "anything/at/all"}},
		"case folded names":    {globs: []string{"App-*"}, foldCase: true, match: []string{"app-web", "APP-WEB"}, miss: []string{"web"}},
		"tags keep their case": {globs: []string{"V*"}, match: []string{"V1"}, miss: []string{"v1"}},
		"backtracking":         {globs: []string{"a*a*a*a*b"}, match: []string{"aaaaaaaaab"}, miss: []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, _, err := parsePatterns(tc.globs, tc.foldCase)
			if err != nil {
				t.Fatalf("parsePatterns(%q): %v", tc.globs, err)
			}
			for _, s := range tc.match {
				if !p.Match(s) {
					t.Errorf("%q does not match %q", tc.globs, s)
				}
			}
			for _, s := range tc.miss {
				if p.Match(s) {
					t.Errorf("%q matches %q", tc.globs, s)
				}
			}
		})
	}
}

func TestPatternsRefused(t *testing.T) {
	tests := map[string]struct {
		globs []string
		index int
		err   string
	}{
		"regex":     {globs: []string{"ok", "/^v[0-9]+$/"}, index: 1, err: `regular expressions are not supported, use the globs * and ?: "/^v[0-9]+$/"`},
		"class":     {globs: []string{"v[12]"}, err: `invalid character '[' in pattern "v[12]": allowed are letters, digits, . _ - / @ + and the wildcards * ?`},
		"brace":     {globs: []string{"{a,b}"}, err: `invalid character '{' in pattern "{a,b}": allowed are letters, digits, . _ - / @ + and the wildcards * ?`},
		"space":     {globs: []string{"a b"}, err: `invalid character ' ' in pattern "a b": allowed are letters, digits, . _ - / @ + and the wildcards * ?`},
		"empty":     {globs: []string{""}, err: "empty pattern"},
		"bare bang": {globs: []string{"!"}, err: "empty pattern"},
		"double":    {globs: []string{"!!a"}, err: `invalid character '!' in pattern "!a": allowed are letters, digits, . _ - / @ + and the wildcards * ?`},
		"too long":  {globs: []string{string(make([]byte, 257))}, err: "pattern longer than 256 bytes"},
		"too many":  {globs: make([]string, 101), index: 100, err: "at most 100 patterns, got 101"},
		"non-ascii": {globs: []string{"café"}, err: `invalid character 'é' in pattern "café": allowed are letters, digits, . _ - / @ + and the wildcards * ?`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, i, err := parsePatterns(tc.globs, false)
			if err == nil || err.Error() != tc.err || i != tc.index {
				t.Fatalf("parsePatterns error = %v at %d, want %q at %d", err, i, tc.err, tc.index)
			}
		})
	}
}
