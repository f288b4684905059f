package jobs

import (
	"context"
	"errors"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestOneLeasePerPackageWhateverItsCase: GitHub treats owner and package
// names case-insensitively, so a job that names the package ACME/App (an
// undo asked from a report title) and one that names it acme/app (a
// publish) must never hold the package at once, and a burst of either
// coalesces into one pending job.
func TestOneLeasePerPackageWhateverItsCase(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	canonical := webhook.Target{InstallationID: 7, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "app"}
	spellings := map[string]webhook.Target{
		"owner upper":   {InstallationID: 7, Owner: "ACME", OwnerType: "Organization", PackageType: "container", PackageName: "app"},
		"name mixed":    {InstallationID: 7, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "App"},
		"type upper":    {InstallationID: 7, Owner: "acme", OwnerType: "Organization", PackageType: "CONTAINER", PackageName: "app"},
		"all different": {InstallationID: 7, Owner: "AcMe", OwnerType: "Organization", PackageType: "Container", PackageName: "APP"},
	}
	held, err := srv.Queue.Leases.TryAcquire(ctx, Job{Type: TypePrune, Target: canonical}.LeaseName())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	for name, other := range spellings {
		t.Run(name, func(t *testing.T) {
			undo := Job{Type: TypeRestore, Target: other}
			if l, err := srv.Queue.Leases.TryAcquire(ctx, undo.LeaseName()); !errors.Is(err, queue.ErrBusy) {
				if l != nil {
					l.Release(ctx)
				}
				t.Errorf("the lease of %s was free while %s held it (err %v)", other, canonical, err)
			}
			if a, b := (Job{Type: TypePrune, Target: canonical}).Subject(), (Job{Type: TypePrune, Target: other}).Subject(); a != b {
				t.Errorf("prune jobs of %s and %s do not coalesce: subjects %s and %s", canonical, other, a, b)
			}
		})
	}
}
