package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wantCommand is what a test expects of one Command.
type wantCommand struct {
	line int
	// text is checked when not "".
	text   string
	verb   Verb
	ids    []int64
	tags   []string
	digs   []string
	all    bool
	pkg    bool
	err    error  // the sentinel Err wraps, nil for a valid command
	errHas string // a part of Err's message, checked when not ""
}

func restoreCmd(line int, ids ...int64) wantCommand {
	return wantCommand{line: line, verb: VerbRestore, ids: ids}
}

func forgetCmd(line int, ids ...int64) wantCommand {
	return wantCommand{line: line, verb: VerbForget, ids: ids}
}

func badCmd(line int, err error, has string) wantCommand {
	return wantCommand{line: line, err: err, errHas: has}
}

// joinedIDs returns the ids from..to as a command's arguments.
func joinedIDs(from, to int, sep string) string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return strings.Join(s, sep)
}

func idsFromTo(from, to int64) []int64 {
	var ids []int64
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return ids
}

// commandCases are the bodies of TestParseCommands; they seed
// FuzzParseCommands too.
var commandCases = []struct {
	name string
	body string
	want []wantCommand
}{
	{"empty", "", nil},
	{"plain", "/pkgwarden restore 42", []wantCommand{{line: 1, text: "/pkgwarden restore 42", verb: VerbRestore, ids: []int64{42}}}},
	{"CRLF", "/pkgwarden restore 42\r\nthanks", []wantCommand{{line: 1, text: "/pkgwarden restore 42", verb: VerbRestore, ids: []int64{42}}}},
	{"bare CR", "thanks\r/pkgwarden restore 42\r", []wantCommand{{line: 2, text: "/pkgwarden restore 42", verb: VerbRestore, ids: []int64{42}}}},
	{"mixed line endings", "a\r\n\rb\n/pkgwarden forget 7\r\n", []wantCommand{forgetCmd(4, 7)}},
	{"trailing spaces and tabs", "/pkgwarden forget 5 \t \t\n", []wantCommand{{line: 1, text: "/pkgwarden forget 5", verb: VerbForget, ids: []int64{5}}}},
	{"trailing text on other lines", "Oops, that one was still needed.\n/pkgwarden restore 42\nThanks!\n", []wantCommand{restoreCmd(2, 42)}},
	{"two commands", "/pkgwarden restore 1\n\nand\n/pkgwarden forget 2\n", []wantCommand{restoreCmd(1, 1), forgetCmd(4, 2)}},
	{"at most MaxCommands", strings.Repeat("/pkgwarden restore 1\n", MaxCommands+3), func() []wantCommand {
		var w []wantCommand
		for i := 1; i <= MaxCommands; i++ {
			w = append(w, restoreCmd(i, 1))
		}
		return w
	}()},

	// Code, quotes and comments.
	{"backtick fence", "```\n/pkgwarden restore 1\n```\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"tilde fence with info string", "~~~ text\n/pkgwarden restore 1\n~~~\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"fence with info string", "```sh\n/pkgwarden restore 1\n```\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"indented fence", "   ```\n/pkgwarden restore 1\n  ```\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"fence interrupts a paragraph", "like this:\n```\n/pkgwarden restore 1\n```\n/pkgwarden restore 2", []wantCommand{restoreCmd(5, 2)}},
	{"longer closing fence", "```\n/pkgwarden restore 1\n`````  \n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"shorter fence does not close", "````\n```\n/pkgwarden restore 1\n````\n/pkgwarden restore 2", []wantCommand{restoreCmd(5, 2)}},
	{"other fence character does not close", "~~~\n```\n/pkgwarden restore 1\n", nil},
	{"fence with text after it does not close", "```\n``` x\n/pkgwarden restore 1\n", nil},
	{"unclosed fence", "/pkgwarden restore 1\n```\n/pkgwarden restore 2\n\nbye", []wantCommand{restoreCmd(1, 1)}},
	{"fence in CRLF", "```\r\n/pkgwarden restore 1\r\n```\r\n/pkgwarden restore 2\r\n", []wantCommand{restoreCmd(4, 2)}},
	{"backticks with a backtick after them are no fence", "``` a`b\n/pkgwarden restore 1", []wantCommand{restoreCmd(2, 1)}},
	{"fence indented by 4 is code", "    ```\n/pkgwarden restore 1\n", []wantCommand{restoreCmd(2, 1)}},
	{"indented code", "see:\n\n    /pkgwarden restore 1\n\n/pkgwarden restore 2", []wantCommand{restoreCmd(5, 2)}},
	{"indented code first", "    /pkgwarden restore 1\n    /pkgwarden restore 2", nil},
	{"tab indented code", "\t/pkgwarden restore 1\n  \t/pkgwarden restore 2", nil},
	{"leading 3 spaces", "   /pkgwarden restore 1", []wantCommand{{line: 1, text: "/pkgwarden restore 1", verb: VerbRestore, ids: []int64{1}}}},
	{"leading 4 spaces is code", "    /pkgwarden restore 1", nil},
	{"4 spaces continuing a paragraph", "please\n    /pkgwarden restore 1", []wantCommand{{line: 2, text: "/pkgwarden restore 1", verb: VerbRestore, ids: []int64{1}}}},
	{"indented after a heading is code", "# Restore\n    /pkgwarden restore 1\ntitle\n---\n    /pkgwarden restore 2", nil},
	{"quote", "> /pkgwarden restore 1\n\n/pkgwarden restore 2", []wantCommand{restoreCmd(3, 2)}},
	{"nested quote", "> > /pkgwarden restore 1\n>> /pkgwarden forget 2\n   >/pkgwarden restore 3\n>\n> > /pkgwarden help", nil},
	{"indented after a quote", "> you wrote\n    /pkgwarden restore 1", nil},
	{"line after a quote (no lazy continuation)", "> you wrote\n/pkgwarden restore 2", []wantCommand{restoreCmd(2, 2)}},
	{"HTML comment", "<!--\n/pkgwarden restore 1\n-->\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"HTML comment with blank lines", "  <!-- template:\n\n/pkgwarden restore 1\n\n   -->\n/pkgwarden restore 2", []wantCommand{restoreCmd(6, 2)}},
	{"unclosed HTML comment", "/pkgwarden forget 1\n<!-- draft\n/pkgwarden restore 1", []wantCommand{forgetCmd(1, 1)}},
	{"one-line HTML comment", "<!-- note -->\n/pkgwarden restore 2", []wantCommand{restoreCmd(2, 2)}},
	{"HTML comment starting in a paragraph", "thanks <!-- hidden\n/pkgwarden restore 1\n-->\n/pkgwarden restore 2", []wantCommand{restoreCmd(4, 2)}},
	{"HTML comment not closed in its paragraph is text", "a <!-- b\n/pkgwarden restore 1\n\nc -->\n/pkgwarden restore 2", []wantCommand{restoreCmd(2, 1), restoreCmd(5, 2)}},
	{"HTML comment on the command line", "/pkgwarden restore 1 <!-- from the report --> 2", []wantCommand{{line: 1, text: "/pkgwarden restore 1  2", verb: VerbRestore, ids: []int64{1, 2}}}},
	{"comment marker in a code span", "the `<!--` marker\n/pkgwarden restore 1", []wantCommand{restoreCmd(2, 1)}},
	{"escaped comment marker", "the \\<!-- marker\n/pkgwarden restore 1", []wantCommand{restoreCmd(2, 1)}},
	{"mid-sentence mention", "please run /pkgwarden restore 1 for me\nor `/pkgwarden restore 2`\n- /pkgwarden restore 3\n# /pkgwarden restore 4\n**/pkgwarden restore 5**", nil},
	{"not the word", "/pkgwarden: restore 1\n/pkgwardens restore 1\n/pkgwarden,restore 1\npkgwarden restore 1\n/p\u212agwarden restore 1", nil},

	// Verbs and arguments.
	{"unknown verb", "/pkgwarden restor 1", []wantCommand{{line: 1, text: "/pkgwarden restor 1", err: ErrUnknownVerb, errHas: "`restor` is not a command. Did you mean `restore`?"}}},
	{"typos", "/pkgwarden forgt 1\n/pkgwarden hepl\n/pkgwarden Restored 2\n/pkgwarden undo 3\n/pkgwarden hi",
		[]wantCommand{badCmd(1, ErrUnknownVerb, "Did you mean `forget`?"), badCmd(2, ErrUnknownVerb, "Did you mean `help`?"),
			badCmd(3, ErrUnknownVerb, "Did you mean `restore`?"), badCmd(4, ErrUnknownVerb, "`undo` is not a command. `/pkgwarden restore"),
			badCmd(5, ErrUnknownVerb, "`hi` is not a command. `/pkgwarden restore")}},
	{"a mention or HTML as the verb stays text", "/pkgwarden @bob\n/pkgwarden <!--x`y", []wantCommand{badCmd(1, ErrUnknownVerb, "`@bob` is not a command"), badCmd(2, ErrUnknownVerb, "`<!--x'y` is not a command")}},
	{"pkgwarden alone", "hi\n/pkgwarden\n/PKGWARDEN  \t", []wantCommand{badCmd(2, ErrNoVerb, "`/pkgwarden` needs a command: `/pkgwarden restore <id"), badCmd(3, ErrNoVerb, "/pkgwarden help")}},
	{"help", "/pkgwarden help\n/pkgwarden HELP\n/pkgwarden help me", []wantCommand{{line: 1, verb: VerbHelp}, {line: 2, verb: VerbHelp}, badCmd(3, ErrBadArgument, "no arguments")}},
	{"restore all", "/pkgwarden restore all\n/pkgwarden Restore ALL all", []wantCommand{{line: 1, verb: VerbRestore, all: true}, {line: 2, verb: VerbRestore, all: true}}},
	{"forget package", "/pkgwarden forget package", []wantCommand{{line: 1, verb: VerbForget, pkg: true}}},
	{"forget all", "/pkgwarden forget all", []wantCommand{badCmd(1, ErrBadArgument, "forget all")}},
	{"restore package", "/pkgwarden restore package", []wantCommand{badCmd(1, ErrBadArgument, "restore package")}},
	{"missing argument", "/pkgwarden restore\n/pkgwarden forget ,", []wantCommand{badCmd(1, ErrBadArgument, "missing argument"), badCmd(2, ErrBadArgument, "missing argument")}},
	{"unicode digits", "/pkgwarden restore ４２\n/pkgwarden forget ٤٢\n/pkgwarden restore 4٢", []wantCommand{badCmd(1, ErrBadArgument, "bad id"), badCmd(2, ErrBadArgument, "bad id"), badCmd(3, ErrBadArgument, "bad id")}},
	{"zero", "/pkgwarden restore 0\n/pkgwarden forget 1 000", []wantCommand{badCmd(1, ErrBadArgument, "bad id"), badCmd(2, ErrBadArgument, "bad id")}},
	{"overflow", "/pkgwarden restore 9223372036854775808\n/pkgwarden restore 99999999999999999999999\n/pkgwarden restore 9223372036854775807", []wantCommand{badCmd(1, ErrBadArgument, "bad id"), badCmd(2, ErrBadArgument, "bad id"), restoreCmd(3, 9223372036854775807)}},
	{"negative", "/pkgwarden forget -1\n/pkgwarden restore +2", []wantCommand{badCmd(1, ErrBadArgument, "bad id"), badCmd(2, ErrBadArgument, "bad id")}},
	{"leading zeros", "/pkgwarden restore 007", []wantCommand{restoreCmd(1, 7)}},
	{"duplicate ids", "/pkgwarden restore 3 1 3 1 2 03", []wantCommand{restoreCmd(1, 3, 1, 2)}},
	{"comma lists", "/pkgwarden restore 1,2, 3 ,4\t5,,6\n/pkgwarden forget 7,8", []wantCommand{restoreCmd(1, 1, 2, 3, 4, 5, 6), forgetCmd(2, 7, 8)}},
	{"comma after the verb", "/pkgwarden restore,9", []wantCommand{restoreCmd(1, 9)}},
	{"tags", "/pkgwarden restore pr-42 v1.0 42 pr-42 _x latest", []wantCommand{{line: 1, verb: VerbRestore, ids: []int64{42}, tags: []string{"pr-42", "v1.0", "_x", "latest"}}}},
	{"tag-like word that is not a tag", "/pkgwarden restore .hidden\n/pkgwarden restore -rc\n/pkgwarden restore 42 thanks!", []wantCommand{badCmd(1, ErrBadArgument, ".hidden"), badCmd(2, ErrBadArgument, "-rc"), badCmd(3, ErrBadArgument, "thanks!")}},
	{"tag of 128 and of 129 characters", "/pkgwarden restore a" + strings.Repeat("b", 127) + "\n/pkgwarden restore a" + strings.Repeat("b", 128), []wantCommand{{line: 1, verb: VerbRestore, tags: []string{"a" + strings.Repeat("b", 127)}}, badCmd(2, ErrBadArgument, "not a version id")}},
	{"forget by tag", "/pkgwarden forget pr-42", []wantCommand{{line: 1, verb: VerbForget, tags: []string{"pr-42"}}}},
	{"digest prefixes", "/pkgwarden restore sha256:6e7d SHA256:6E7DC4E8 sha256:6e7d 7 pr-1\n/pkgwarden forget sha256:" + strings.Repeat("ab", 32),
		[]wantCommand{{line: 1, verb: VerbRestore, ids: []int64{7}, tags: []string{"pr-1"}, digs: []string{"sha256:6e7d", "sha256:6e7dc4e8"}},
			{line: 2, verb: VerbForget, digs: []string{"sha256:" + strings.Repeat("ab", 32)}}}},
	{"bare hex is a tag, which may be a digest prefix", "/pkgwarden restore 6e7dc4e8 6e7d 1234567", []wantCommand{{line: 1, verb: VerbRestore, ids: []int64{1234567}, tags: []string{"6e7dc4e8", "6e7d"}}}},
	{"bad digests", "/pkgwarden restore sha256:6e7\n/pkgwarden restore sha256:\n/pkgwarden forget sha256:xyz1\n/pkgwarden restore sha256:" + strings.Repeat("a", 65) + "\n/pkgwarden restore sha512:abcd",
		[]wantCommand{badCmd(1, ErrBadArgument, "too short: write at least 4 hex digits"), badCmd(2, ErrBadArgument, "is not a sha256 digest"),
			badCmd(3, ErrBadArgument, "`sha256:xyz1` is not a sha256 digest"), badCmd(4, ErrBadArgument, "is not a sha256 digest"), badCmd(5, ErrBadArgument, "`sha512:abcd` is not a version id, a tag or a digest")}},
	{"digests with all or package", "/pkgwarden restore all sha256:abcd\n/pkgwarden forget package 6e7dc4e8", []wantCommand{badCmd(1, ErrBadArgument, "all cannot"), badCmd(2, ErrBadArgument, "package cannot")}},
	{"too many ids, tags and digests", "/pkgwarden forget " + joinedIDs(1, 10, " ") + " a b c d e sha256:0001 sha256:0002 sha256:0003 sha256:0004 sha256:0005 sha256:0006", []wantCommand{badCmd(1, ErrTooMany, "at most 20 ids per command")}},
	{"20 ids", "/pkgwarden restore " + joinedIDs(1, 20, " "), []wantCommand{{line: 1, verb: VerbRestore, ids: idsFromTo(1, 20)}}},
	{"20 ids and duplicates", "/pkgwarden forget " + joinedIDs(1, 20, ",") + "," + joinedIDs(1, 20, ","), []wantCommand{{line: 1, verb: VerbForget, ids: idsFromTo(1, 20)}}},
	{"too many ids", "/pkgwarden restore " + joinedIDs(1, 21, " "), []wantCommand{badCmd(1, ErrTooMany, "at most 20 ids per command")}},
	{"too many ids and tags", "/pkgwarden restore " + joinedIDs(1, 15, " ") + " a b c d e f", []wantCommand{badCmd(1, ErrTooMany, "at most 20 ids per command")}},
	{"all with ids", "/pkgwarden restore all 1\n/pkgwarden restore 1 all\n/pkgwarden restore all pr-1", []wantCommand{badCmd(1, ErrBadArgument, "all"), badCmd(2, ErrBadArgument, "all"), badCmd(3, ErrBadArgument, "all")}},
	{"package with ids", "/pkgwarden forget package 1", []wantCommand{badCmd(1, ErrBadArgument, "package")}},
	{"case variants", "/PKGWARDEN RESTORE 1\n/PkgWarden Forget Package\n/pkgWarden fOrGeT 2", []wantCommand{restoreCmd(1, 1), {line: 2, verb: VerbForget, pkg: true}, forgetCmd(3, 2)}},
	{"no-break spaces", "/pkgwarden\u00a0restore\u00a01", []wantCommand{restoreCmd(1, 1)}},
	{"a bad command among good ones", "/pkgwarden restore 1\n/pkgwarden restore x y!\n/pkgwarden forget 2", []wantCommand{restoreCmd(1, 1), badCmd(2, ErrBadArgument, "`y!`"), forgetCmd(3, 2)}},
}

func TestParseCommands(t *testing.T) {
	for _, tc := range commandCases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseCommands(tc.body)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d commands, want %d: %s", len(got), len(tc.want), showCommands(got))
			}
			for i, w := range tc.want {
				g := got[i]
				switch {
				case g.Line != w.line, g.Verb != w.verb, !slices.Equal(g.IDs, w.ids), !slices.Equal(g.Tags, w.tags), !slices.Equal(g.Digests, w.digs),
					g.All != w.all, g.Package != w.pkg, w.text != "" && g.Text != w.text:
					t.Errorf("command %d: got %s, want %+v", i, showCommands(got[i:i+1]), w)
				case w.err == nil && g.Err != nil:
					t.Errorf("command %d: unexpected error %v", i, g.Err)
				case w.err != nil && !errors.Is(g.Err, w.err):
					t.Errorf("command %d: error %v, want one wrapping %v", i, g.Err, w.err)
				case w.err != nil && !strings.Contains(g.Err.Error(), w.errHas):
					t.Errorf("command %d: error %q does not say %q", i, g.Err, w.errHas)
				}
			}
		})
	}
}

func showCommands(cs []Command) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  {Line:%d Text:%q Verb:%q IDs:%v Tags:%q Digests:%q All:%v Package:%v Err:%v}", c.Line, c.Text, c.Verb, c.IDs, c.Tags, c.Digests, c.All, c.Package, c.Err)
	}
	return b.String()
}

func TestParseCommandsText(t *testing.T) {
	long := "/pkgwarden restore " + strings.Repeat("é", 150)
	got := ParseCommands("  " + long + "  ")
	if len(got) != 1 {
		t.Fatalf("got %s", showCommands(got))
	}
	text := got[0].Text
	if len(text) > 200 || !strings.HasSuffix(text, "…") || !strings.HasPrefix(long, strings.TrimSuffix(text, "…")) {
		t.Errorf("text %q (%d bytes) is not %q cut to 200 bytes", text, len(text), long)
	}
	if !errors.Is(got[0].Err, ErrBadArgument) || len(got[0].Err.Error()) > 200 {
		t.Errorf("error %v", got[0].Err)
	}
}

func TestParseCommandsLongBodies(t *testing.T) {
	// Bodies that a careless parser would read in quadratic time: each
	// must stay linear (or close to it).
	bodies := map[string]string{
		"open comments":     strings.Repeat("a <!--\n", 50000) + "/pkgwarden restore 1",
		"closed comments":   strings.Repeat("a <!-- b\nc --> <!-- d\n", 20000) + "\n/pkgwarden restore 1",
		"backtick runs":     "/pkgwarden restore 1 " + strings.Repeat("` ``", 30000),
		"many ids":          "/pkgwarden restore " + strings.Repeat("1 2 3 ", 100000),
		"many tags":         "/pkgwarden restore " + strings.Repeat("a ", 100000),
		"long line of ids":  "/pkgwarden restore " + joinedIDs(1, 50000, ","),
		"blank then indent": strings.Repeat("\n    x", 100000) + "\n\n/pkgwarden restore 1",
	}
	for name, body := range bodies {
		got := ParseCommands(body)
		if len(got) != 1 {
			t.Errorf("%s: got %d commands", name, len(got))
		}
	}
}

func TestCommandUsage(t *testing.T) {
	for _, s := range []string{"/pkgwarden restore <id|tag|digest>…|all", "/pkgwarden forget <id|tag|digest>…|package", "/pkgwarden help"} {
		if !strings.Contains(CommandUsage, s) {
			t.Errorf("CommandUsage does not say %q", s)
		}
	}
	if strings.Count(CommandUsage, "\n") > 1 {
		t.Errorf("CommandUsage is longer than two lines")
	}
	// Every verb the usage names is one the parser knows.
	for _, v := range []Verb{VerbRestore, VerbForget, VerbHelp} {
		if c := ParseCommands("/pkgwarden " + string(v)); len(c) != 1 || c[0].Verb == "" && !errors.Is(c[0].Err, ErrBadArgument) {
			t.Errorf("verb %s: %s", v, showCommands(c))
		}
	}
}
