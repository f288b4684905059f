package jobs

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// TestSimulatorWebhooksRoute drives the webhooks the simulator sends as
// GitHub does (installation created and deleted,
// installation_repositories, registry_package published and updated, the
// package event of an organization hook, a push to an organization's
// repository, whose repository.organization is a string) through the real intake and the
// router, one step at a time, and checks what each delivery became.
func TestSimulatorWebhooksRoute(t *testing.T) {
	ctx := context.Background()
	srv := queuetest.Start(t, "", queuetest.Config())
	inv, err := inventory.Open(ctx, srv.Queue.JS, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(sim.APIHandler())
	reg := httptest.NewServer(sim.RegistryHandler())
	t.Cleanup(func() { api.Close(); reg.Close(); sim.Close() })
	sim.SetURLs(api.URL, reg.URL)

	logs := newLogCapture()
	logger := slog.New(logs)
	intake := httptest.NewServer(handlers.NewIntake(sim.WebhookSecret(), srv.Queue, handlers.NewIntakeMetrics(prometheus.NewRegistry()), logger))
	t.Cleanup(intake.Close)
	sim.SetWebhookURL(intake.URL)
	rctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go NewRouter(srv.Queue, RouterConfig{OwnBotLogin: sim.BotLogin(), Inventory: inv}, logger).Run(rctx)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = sim.AddUser("alice")
	must(err)
	_, err = sim.AddOrg("Acme", "alice")
	must(err)
	_, err = sim.AddRepo("Acme", "webapp", ghsim.RepoOptions{})
	must(err)
	_, err = sim.AddRepo("Acme", "other", ghsim.RepoOptions{})
	must(err)
	// An organization hook pointed at pkgwarden too: its package events
	// carry no installation.
	_, err = sim.AddOrgHook("acme", intake.URL, sim.WebhookSecret(), "package")
	must(err)
	tok, err := sim.AddClassicToken("alice", "read:packages", "write:packages", "repo")
	must(err)
	img, err := ghsim.DemoImage(sim.WebURL()+"/Acme/webapp", "routes")
	must(err)
	push := sim.Pusher("alice", tok)
	var inst int64

	steps := []struct {
		name string
		do   func() error
		want []string // per delivery, in order: "event/action: outcome"
	}{
		{"install", func() (err error) {
			inst, err = sim.Install("acme", map[string]string{"packages": "read", "issues": "write", "contents": "read"})
			return err
		}, []string{"installation/created: none: router: installation event needs no job"}},
		{"push by digest", func() error {
			_, err := push.PushImage(ctx, "acme/app", img)
			return err
		}, []string{
			"registry_package/published: prune {inst}/Acme/container/app",
			"package/published: none: router: package event dropped (package event is incomplete: no installation id)",
		}},
		{"tag moved onto it", func() error {
			_, err := push.PushImage(ctx, "acme/app", img, "v1")
			return err
		}, []string{
			"registry_package/updated: prune {inst}/Acme/container/app",
			"package/updated: none: router: package event dropped (package event is incomplete: no installation id)",
		}},
		{"npm publish", func() error {
			_, err := sim.Publish("acme", "npm", "client", "1.0.0", ghsim.PublishOptions{Repository: "webapp", Sender: "alice"})
			return err
		}, []string{
			"registry_package/published: prune {inst}/Acme/npm/client",
			"package/published: none: router: package event dropped (package event is incomplete: no installation id)",
		}},
		{"push of the rules to an organization's repository", func() error {
			return sim.PutFile("Acme", "webapp", "", ".github/pkgwarden.yml", []byte("rules: []\n"), "alice")
		}, []string{"push/: config {inst}/Acme/repository/webapp"}},
		{"narrow the installation", func() error { return sim.SetInstallationRepositories(inst, "webapp") },
			[]string{"installation_repositories/removed: none: router: installation event needs no job"}},
		{"uninstall", func() error {
			// Something remembered, for the uninstall to clear.
			must(inv.SeePackage(ctx, inst, inventory.Package{Ref: pkgref.Ref{Owner: "Acme", Type: "container", Name: "app"}}))
			return sim.RemoveInstallation(inst)
		}, []string{"installation/deleted: none: router: installation deleted, inventory cleared"}},
	}
	seen := 0
	for _, st := range steps {
		must(st.do())
		must(sim.WaitDeliveries(ctx))
		ds := sim.Deliveries()[seen:]
		seen += len(ds)
		var got []string
		for _, d := range ds {
			if d.StatusCode != 202 {
				t.Fatalf("%s: %s %s answered %d (%s)", st.name, d.Event, d.GUID, d.StatusCode, d.Status)
			}
			testwait.For(t, st.name+": "+d.Event+" routed", 10*time.Second, func() bool {
				_, err := srv.Queue.Deliveries.Get(ctx, queue.Key(d.GUID))
				return err == nil
			})
			got = append(got, d.Event+"/"+d.Action+": "+exampleOutcome(t, srv.Queue, logs, d.GUID, inst))
		}
		if strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("%s:\n%s\nwant:\n%s", st.name, strings.Join(got, "\n"), strings.Join(st.want, "\n"))
		}
	}
	if pkgs, err := inv.Packages(ctx, inst, ""); err != nil || len(pkgs) != 0 {
		t.Errorf("inventory of the uninstalled installation: %v, %v", pkgs, err)
	}
}
