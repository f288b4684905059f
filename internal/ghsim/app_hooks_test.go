package ghsim

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-github/v57/github"
)

func TestHookDeliveries(t *testing.T) {
	w := newAppWorld(t)
	f, ctx := w.f, context.Background()
	f.hook.failNext(1)
	for _, c := range []string{"a", "b", "c"} {
		if err := f.sim.PutFile("acme", "app", "", c, []byte(c), "olga"); err != nil {
			t.Fatal(err)
		}
	}
	f.waitHooks(t)
	first := f.hook.take()
	if len(first) != 3 {
		t.Fatalf("%d deliveries, want 3", len(first))
	}
	app := f.appClient(t)

	// Walk the log with the cursor, newest first.
	var all []*github.HookDelivery
	opts := &github.ListCursorOptions{PerPage: 2}
	for {
		page, resp, err := app.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	if len(all) != 3 || all[0].GetGUID() != first[2].Delivery || all[2].GetGUID() != first[0].Delivery {
		t.Fatalf("log of %d deliveries, not newest first: %v", len(all), all)
	}
	failed := all[2]
	if failed.GetStatusCode() != 500 || failed.GetStatus() != "Invalid HTTP Response: 500" || all[0].GetStatus() != "OK" {
		t.Errorf("statuses %d %q / %q", failed.GetStatusCode(), failed.GetStatus(), all[0].GetStatus())
	}
	if failed.GetInstallationID() != w.orgInst || failed.GetRepositoryID() == 0 || failed.GetEvent() != "push" {
		t.Errorf("failed delivery: installation %d repository %d event %s", failed.GetInstallationID(), failed.GetRepositoryID(), failed.GetEvent())
	}

	// Redelivered: same guid, logged as a redelivery, received again.
	// GitHub answers 202, which go-github reports as an AcceptedError.
	_, resp, err := app.Apps.RedeliverHookDelivery(ctx, failed.GetID())
	var accepted *github.AcceptedError
	if resp == nil || resp.StatusCode != http.StatusAccepted || !errors.As(err, &accepted) {
		t.Fatalf("redeliver: %v, want 202", err)
	}
	f.waitHooks(t)
	again := f.hook.take()
	if len(again) != 1 || again[0].Delivery != failed.GetGUID() || !again[0].Valid || string(again[0].Body) != string(first[0].Body) {
		t.Fatalf("redelivery received %d, guid %v", len(again), again)
	}
	latest, _, err := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	if err != nil || len(latest) != 1 || !latest[0].GetRedelivery() || latest[0].GetGUID() != failed.GetGUID() || latest[0].GetStatus() != "OK" {
		t.Errorf("latest delivery %v: %v", latest, err)
	}

	if _, resp, _ := app.Apps.RedeliverHookDelivery(ctx, 999999); resp == nil || resp.StatusCode != 404 {
		t.Errorf("redeliver a missing delivery: %v, want 404", resp)
	}
	if _, resp, _ := f.client("").Apps.ListHookDeliveries(ctx, nil); resp == nil || resp.StatusCode != 401 {
		t.Errorf("without the JWT: %v, want 401", resp)
	}
}
