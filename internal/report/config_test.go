package report

import (
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// pushedErrors are what the decoder says of a file with the usual
// mistakes, one of them quoting hostile text.
func pushedErrors(t *testing.T) rules.ErrorList {
	t.Helper()
	errs := rules.ErrorList{
		{Repo: "acme/webapp", File: rules.Path, Line: 4, Column: 7, Field: "rules[0].prune.older_then", Msg: "unknown key; did you mean `older_than`?"},
		{Repo: "acme/webapp", File: rules.Path, Line: 7, Column: 1, Field: "policy", Msg: "only allowed in the owner's acme/.github repository"},
		{Repo: "acme/webapp", File: rules.Path, Line: 9, Column: 11, Field: "rules[1].type", Msg: "must be one of npm, maven, rubygems, nuget, docker, container, any, got \"@acme/admins [x](https://evil.example) <img src=x>\""},
		{Repo: "acme/webapp", File: rules.Path, Line: 11, Column: 3, Field: "rules[1].`x` @bob", Msg: "unknown key (known: packages, type, prune, restore)"},
		{Repo: "acme/shared-config", File: "base/pkgwarden.yml", Line: 2, Column: 1, Msg: "indented with a tab; YAML needs spaces"},
	}
	return errs
}

// TestGoldenInvalidConfig: the invalid-config issue after a push (each
// error linked to its line at the pushed commit, or on the default branch
// for another repository's file, the pusher mentioned) and without one,
// and once the file is valid again. Run with -update to rewrite.
func TestGoldenInvalidConfig(t *testing.T) {
	push := ConfigPush{Repo: "acme/webapp", Commit: "0123abcd0123abcd0123abcd0123abcd0123abcd", Pusher: "alice", RepoURL: "https://github.com/acme/webapp"}
	body := renderConfigBody("acme", "webapp", pushedErrors(t), push)
	golden(t, "invalid_config_push.body.md", body)
	for _, want := range []string{
		"https://github.com/acme/webapp/blob/0123abcd0123abcd0123abcd0123abcd0123abcd/.github/pkgwarden.yml#L4",
		"https://github.com/acme/shared-config/blob/HEAD/base/pkgwarden.yml#L2",
		"by @alice",
		ReadmeConfigURL,
		"pkgwarden plan --owner acme --repo webapp --config .github/pkgwarden.yml",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	// Quoted text is escaped, the key with a backtick and a mention is a
	// code span of its own.
	if !strings.Contains(body, "`` rules[1].`x` @bob ``") {
		t.Error("the key holding a backtick is not a code span of its own")
	}
	for _, bad := range []string{"@acme/admins", " <img", "[x]("} {
		if strings.Contains(body, bad) {
			t.Errorf("body lets %q through", bad)
		}
	}
	golden(t, "invalid_config_valid.body.md", renderConfigValidBody("acme", "webapp", push))
}

func TestConfigPushParts(t *testing.T) {
	tests := map[string]struct {
		push   ConfigPush
		pusher string
		root   string
	}{
		"github.com":          {push: ConfigPush{Repo: "acme/app", Pusher: "alice", RepoURL: "https://github.com/acme/app"}, pusher: "@alice", root: "https://github.com"},
		"enterprise":          {push: ConfigPush{Repo: "acme/app", Pusher: "a-b", RepoURL: "https://ghe.example.org/acme/app"}, pusher: "@a-b", root: "https://ghe.example.org"},
		"simulator":           {push: ConfigPush{Repo: "acme/app", Pusher: "x1", RepoURL: "http://127.0.0.1:8090/web/acme/app"}, pusher: "@x1", root: "http://127.0.0.1:8090/web"},
		"url of another repo": {push: ConfigPush{Repo: "acme/app", RepoURL: "https://evil.example/other/repo"}, root: "https://github.com"},
		"url with userinfo":   {push: ConfigPush{Repo: "acme/app", RepoURL: "https://u:p@evil.example/acme/app"}, root: "https://github.com"},
		"javascript url":      {push: ConfigPush{Repo: "acme/app", RepoURL: "javascript:alert(1)//acme/app"}, root: "https://github.com"},
		"bot pusher":          {push: ConfigPush{Pusher: "github-actions[bot]"}, pusher: "`github-actions[bot]`", root: "https://github.com"},
		"display name":        {push: ConfigPush{Pusher: "Alice @bob Smith"}, pusher: "`Alice @bob Smith`", root: "https://github.com"},
		"leading hyphen":      {push: ConfigPush{Pusher: "-alice"}, pusher: "`-alice`", root: "https://github.com"},
		"double hyphen":       {push: ConfigPush{Pusher: "a--b"}, pusher: "`a--b`", root: "https://github.com"},
		"too long":            {push: ConfigPush{Pusher: strings.Repeat("a", 40)}, pusher: "`" + strings.Repeat("a", 40) + "`", root: "https://github.com"},
		"backtick in a name":  {push: ConfigPush{Pusher: "a`b"}, pusher: "`` a`b ``", root: "https://github.com"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.push.pusherText(); got != tc.pusher {
				t.Errorf("pusherText = %q, want %q", got, tc.pusher)
			}
			if got := tc.push.webRoot(); got != tc.root {
				t.Errorf("webRoot = %q, want %q", got, tc.root)
			}
		})
	}
	p := ConfigPush{Repo: "acme/app", Commit: "not-a-sha", RepoURL: "https://github.com/acme/app"}
	if got := p.lineURL("acme/app", ".github/pkgwarden.yml", 3); got != "https://github.com/acme/app/blob/HEAD/.github/pkgwarden.yml#L3" {
		t.Errorf("lineURL with a bad commit = %s, want the default branch", got)
	}
	if got := p.lineURL("acme/app", "../x", 3); got != "" {
		t.Errorf("lineURL of ../x = %s, want none", got)
	}
}
