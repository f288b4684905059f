package report

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// FuzzMarkers feeds report bodies and titles, as anyone may write them, to
// the parsers that decide what pkgwarden acts upon: Recognise, ParseTitle,
// ParseRestorable and the sealed boxes. None panics; \r\n reads as \n; a
// box counts only with the seal pkgwarden computes for it; an issue is a
// report only as its title and first line name one package.
func FuzzMarkers(f *testing.F) {
	seal := NewSeal([]byte("fuzz secret"))
	pkg := rules.Package{Owner: "acme", Type: "container", Name: "app"}
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	list := sealed(seal, pkg, []Restorable{
		{ID: 11, Version: "sha256:" + strings.Repeat("a", 64), Tags: []string{"pr-1"}, DeletedAt: at},
		{ID: 12, Version: "sha256:" + strings.Repeat("b", 64), DeletedAt: at},
	})
	body, _ := renderBody(bodyParts{run: &Run{Package: pkg}, list: list, now: at})
	f.Add("pkgwarden: container acme/app", body, strings.Replace(body, "[ ]", "[x]", 1))
	f.Add("pkgwarden: container ACME/app", strings.ReplaceAll(body, "\n", "\r\n"), strings.ReplaceAll(strings.Replace(body, "[ ]", "[x]", 2), "\n", "\r\n"))
	f.Add("pkgwarden: npm acme/@scope/lib", "<!-- pkgwarden:report npm acme/@scope/lib -->\n", "<!-- pkgwarden:report npm acme/@scope/lib -->\n- [x] x <!-- pkgwarden:restore ٤٢ AAAAAAAAAAA -->\n")
	f.Add("pkgwarden: container acme/app", body, body+"\n```\n- [x] x <!-- pkgwarden:restore 11 "+seal.Sign(BoxRestore, pkg, 11)+" -->\n```\n")
	f.Add("pkgwarden: container acme/app", body, "> "+strings.ReplaceAll(strings.Replace(body, "[ ]", "[x]", 1), "\n", "\n> "))
	f.Add("", "", "- [x] <!-- pkgwarden:restore 99999999999999999999 -->")
	f.Fuzz(func(t *testing.T, title, from, to string) {
		crlf := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n") }
		lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

		// Boxes: every id counted has, in to, a ticked line carrying its
		// seal; line endings change nothing.
		got := seal.NewlyTicked(pkg, from, to)
		for _, id := range got {
			want := "pkgwarden:restore " + strconv.FormatInt(id, 10) + " " + seal.Sign(BoxRestore, pkg, id) + " "
			if !strings.Contains(to, want) {
				t.Fatalf("id %d counted without its seal in %q", id, to)
			}
		}
		if again := seal.NewlyTicked(pkg, lf(from), lf(to)); !slices.Equal(again, seal.NewlyTicked(pkg, crlf(from), crlf(to))) {
			t.Fatalf("CRLF changes the boxes: %v vs %v", again, seal.NewlyTicked(pkg, crlf(from), crlf(to)))
		}
		if (Seal{}).NewlyTicked(pkg, from, to) != nil || len((Seal{}).Sealed(pkg, to)) != 0 {
			t.Fatal("the zero Seal verified a box")
		}
		for _, e := range ParseRestorable(to) {
			if e.ID <= 0 {
				t.Fatalf("entry with id %d", e.ID)
			}
		}

		// Recognition: only the bot, only the package both name, and the
		// same with either line ending.
		for _, author := range []string{"pkgwarden[bot]", "mallory"} {
			facts := IssueFacts{RepoOwner: "acme", Author: author, Title: title, Body: to}
			p, err := Recognise("pkgwarden[bot]", facts)
			facts.Body = crlf(to)
			p2, err2 := Recognise("pkgwarden[bot]", facts)
			if (err == nil) != (err2 == nil) || p != p2 {
				t.Fatalf("CRLF changes recognition: %v %v / %v %v", p, err, p2, err2)
			}
			if err != nil {
				continue
			}
			if author != "pkgwarden[bot]" {
				t.Fatalf("an issue by %s recognised as a report", author)
			}
			tp, ok := ParseTitle(title)
			if !ok || tp.Key() != p.Key() || p.Owner != "acme" {
				t.Fatalf("recognised %v from title %q", p, title)
			}
		}
	})
}
