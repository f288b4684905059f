package main

import (
	"bytes"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// TestPlanTableBroken: plan prints a line per broken image after the
// package's table, each missing manifest restorable (with the deleted
// version's id) or gone; text from manifests cannot move the terminal.
func TestPlanTableBroken(t *testing.T) {
	d := rules.Decision{
		Package: rules.Package{Owner: "acme", Type: "container", Name: "webapp", Repository: "acme/webapp"},
		Origin:  "acme/webapp:.github/pkgwarden.yml", Rule: 0,
		Keep: []rules.Entry{
			{ID: 1, Version: "sha256:" + hex64('1'), Tags: []string{"v1"}, Reason: "tagged v1", Kind: rules.KindTagged},
			{ID: 2, Version: "sha256:" + hex64('2'), Tags: []string{"v2"}, Reason: "tagged v2", Kind: rules.KindTagged},
		},
		Broken: []rules.BrokenImage{
			{Name: "v1", ID: 1, Version: "sha256:" + hex64('1'), Tags: []string{"v1"}, Kind: rules.BrokenPartial, Missing: []rules.Missing{
				{Digest: "sha256:" + hex64('a'), Platform: "linux/arm64", What: "linux/arm64", State: rules.ChildDeleted, DeletedID: 77},
				{Digest: "sha256:" + hex64('b'), Platform: "linux/s390x", What: "linux/s390x\x1b[2J", State: rules.ChildGone, Via: "sha256:" + hex64('c')},
			}},
			{Name: "v2", ID: 2, Version: "sha256:" + hex64('2'), Tags: []string{"v2"}, Kind: rules.BrokenGhost, Missing: []rules.Missing{
				{Digest: "sha256:" + hex64('d'), Platform: "linux/amd64", What: "linux/amd64", State: rules.ChildGone},
			}},
		},
	}
	var out bytes.Buffer
	view := planView{Plan: planner.Plan{Owner: githubapi.Owner{Login: "acme"}, At: demoAt}, Packages: []packageView{{Decision: d}}}
	if err := writePlanTable(&out, view); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-broken.golden.txt", out.Bytes())
}

func hex64(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }
