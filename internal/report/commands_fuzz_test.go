package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParseCommands checks what holds for any comment: commands are well
// formed, quoting or fencing a body hides all of its commands, and line
// endings do not matter.
func FuzzParseCommands(f *testing.F) {
	for _, tc := range commandCases {
		f.Add(tc.body)
	}
	for _, s := range []string{
		"/pkgwarden restore 1\n```\n/pkgwarden restore 2\n````\n/pkgwarden forget 3",
		"x <!-- a --> <!-- b\n/pkgwarden restore 1\nc --> /pkgwarden restore 2\n/pkgwarden restore 3",
		"   ~~~~\n~~~\n/pkgwarden restore 1\n    ~~~~\n/pkgwarden restore 2\n ~~~~~ \n/pkgwarden restore 3",
		"para\n    /pkgwarden restore 1\n\n    /pkgwarden restore 2\n\t\n /pkgwarden restore 3",
		"> a\n> ```\n/pkgwarden restore 1\n> ```",
		"`` ` `` <!-- `\n/pkgwarden restore 1\n` -->\n/pkgwarden help",
		"/pkgwarden restore 1\r\r\n\n/pkgwarden restore 2\r",
		"<!-->\n/pkgwarden restore 1\n<!--->\n/pkgwarden restore 2",
		"/pkgwarden restore \xff\xfe 1",
		"/pkgwarden restore " + strings.Repeat("1,", 30),
		"/pkgwarden restore pr-42 sha256:6e7d 6e7dc4e8\n/pkgwarden forget v1.0 SHA256:ABCDEF 12",
		"/pkgwarden restore sha256:6e7 sha256:\n/pkgwarden forget sha256:zz\n/pkgwarden restor 120\n/pkgwarden hepl",
		"/pkgwarden forget " + strings.Repeat("sha256:abcd ", 25),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := ParseCommands(body)
		checkCommands(t, body, got)

		// Lines ending in "\n", "\r\n" or "\r" alike.
		lf := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
		for _, variant := range []string{lf, strings.ReplaceAll(lf, "\n", "\r\n"), strings.ReplaceAll(lf, "\n", "\r")} {
			if other := ParseCommands(variant); !sameCommands(got, other) {
				t.Fatalf("%q gives %s\nbut %q gives %s", body, showCommands(got), variant, showCommands(other))
			}
		}

		// Quoted, every line: nothing.
		lines := strings.Split(lf, "\n")
		quoted := "> " + strings.Join(lines, "\n> ")
		if c := ParseCommands(quoted); len(c) > 0 {
			t.Fatalf("quoted %q gives %s", quoted, showCommands(c))
		}

		// In a fence longer than any run of backticks in body: nothing.
		longest := 0
		for _, run := range strings.FieldsFunc(body, func(r rune) bool { return r != '`' }) {
			longest = max(longest, len(run))
		}
		fence := strings.Repeat("`", max(3, longest+1))
		fenced := fence + "\n" + body + "\n" + fence
		if c := ParseCommands(fenced); len(c) > 0 {
			t.Fatalf("fenced %q gives %s", fenced, showCommands(c))
		}
		// An unclosed fence hides as much.
		if c := ParseCommands(fence + "\r\n" + body); len(c) > 0 {
			t.Fatalf("after an unclosed fence, %q gives %s", body, showCommands(c))
		}
	})
}

// checkCommands checks that got, read from body, is well formed.
func checkCommands(t *testing.T, body string, got []Command) {
	t.Helper()
	lf := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	lineCount := strings.Count(lf, "\n")
	if !strings.HasSuffix(lf, "\n") {
		lineCount++
	}
	if len(got) > MaxCommands {
		t.Fatalf("%d commands, more than %d", len(got), MaxCommands)
	}
	prev := 0
	for _, c := range got {
		switch {
		case c.Line <= prev || c.Line > lineCount:
			t.Fatalf("line %d after line %d of %d lines: %s", c.Line, prev, lineCount, showCommands(got))
		case len(c.Text) > maxCommandText:
			t.Fatalf("text of %d bytes: %q", len(c.Text), c.Text)
		case !equalFoldASCII(c.Text[:min(len(c.Text), len("/pkgwarden"))], "/pkgwarden"):
			t.Fatalf("text %q does not start with /pkgwarden", c.Text)
		case (c.Verb != "") == (c.Err != nil):
			t.Fatalf("verb %q and error %v", c.Verb, c.Err)
		case c.Verb != "" && c.Verb != VerbRestore && c.Verb != VerbForget && c.Verb != VerbHelp:
			t.Fatalf("verb %q", c.Verb)
		case c.Err != nil && !errors.Is(c.Err, ErrNoVerb) && !errors.Is(c.Err, ErrUnknownVerb) && !errors.Is(c.Err, ErrBadArgument) && !errors.Is(c.Err, ErrTooMany):
			t.Fatalf("error %v wraps no sentinel", c.Err)
		case c.Err != nil && (c.IDs != nil || c.Tags != nil || c.Digests != nil || c.All || c.Package):
			t.Fatalf("invalid command with arguments: %s", showCommands([]Command{c}))
		case len(c.IDs)+len(c.Tags)+len(c.Digests) > MaxCommandIDs:
			t.Fatalf("%d ids, %d tags and %d digests", len(c.IDs), len(c.Tags), len(c.Digests))
		case c.All && (c.Verb != VerbRestore || len(c.IDs)+len(c.Tags)+len(c.Digests) > 0),
			c.Package && (c.Verb != VerbForget || len(c.IDs)+len(c.Tags)+len(c.Digests) > 0),
			c.Verb == VerbHelp && (c.IDs != nil || c.Tags != nil || c.Digests != nil || c.All || c.Package),
			c.Verb != "" && c.Verb != VerbHelp && len(c.IDs)+len(c.Tags)+len(c.Digests) == 0 && !c.All && !c.Package:
			t.Fatalf("arguments do not fit the verb: %s", showCommands([]Command{c}))
		}
		for i, id := range c.IDs {
			if id <= 0 || slices.Contains(c.IDs[:i], id) {
				t.Fatalf("ids %v", c.IDs)
			}
		}
		for i, tag := range c.Tags {
			if !isOCITag(tag) || isASCIIDigits(tag) || slices.Contains(c.Tags[:i], tag) {
				t.Fatalf("tags %q", c.Tags)
			}
		}
		for i, d := range c.Digests {
			hex, ok := strings.CutPrefix(d, "sha256:")
			if !ok || len(hex) < MinDigestHex || len(hex) > 64 || strings.ToLower(hex) != hex || !isHex(hex) || slices.Contains(c.Digests[:i], d) {
				t.Fatalf("digests %q", c.Digests)
			}
		}
		prev = c.Line
	}
}

// sameCommands reports whether a and b say the same.
func sameCommands(a, b []Command) bool {
	return slices.EqualFunc(a, b, func(x, y Command) bool {
		return x.Line == y.Line && x.Text == y.Text && x.Verb == y.Verb && slices.Equal(x.IDs, y.IDs) &&
			slices.Equal(x.Tags, y.Tags) && slices.Equal(x.Digests, y.Digests) && x.All == y.All && x.Package == y.Package &&
			(x.Err == nil) == (y.Err == nil) && (x.Err == nil || x.Err.Error() == y.Err.Error())
	})
}
