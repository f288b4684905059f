package main

import (
	"context"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs/sweep"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// The scheduler finds deleted packages through the inventory: every
// package seen for an installation, and only that installation's, becomes
// a sweep target.
func TestPackagesSeenFromInventory(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	inv, err := inventory.Open(ctx, srv.Queue.JS, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := []struct {
		inst int64
		pkg  inventory.Package
	}{
		{7, inventory.Package{ID: 1, Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: "team/app", Repository: "acme/app"}}},
		{7, inventory.Package{ID: 2, Ref: pkgref.Ref{Owner: "acme", Type: "npm", Name: "client"}}},
		{8, inventory.Package{ID: 3, Ref: pkgref.Ref{Owner: "globex", Type: "container", Name: "other"}}},
	}
	for _, s := range seen {
		if err := inv.SeePackage(ctx, s.inst, s.pkg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sweep.InventoryPackages{Store: inv}.PackagesSeen(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := map[webhook.Target]bool{
		{InstallationID: 7, Owner: "acme", PackageType: "container", PackageName: "team/app", Repository: "acme/app"}: true,
		{InstallationID: 7, Owner: "acme", PackageType: "npm", PackageName: "client"}:                                 true,
	}
	if len(got) != len(want) {
		t.Fatalf("PackagesSeen(7) = %+v, want %d targets", got, len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected target %+v", g)
		}
	}
}
