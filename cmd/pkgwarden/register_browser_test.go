package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium; .ci/run installs it when missing.
const chromiumPath = "/usr/bin/chromium"

// TestRegisterInBrowser clicks through registration in headless Chromium
// as a person would: pkgwarden's page, the simulator's "Create GitHub App"
// page (renaming the App, since "pkgwarden" is taken), and the callback
// page; then the command exits and the data dir holds a working App.
func TestRegisterInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("headless browser test skipped: %s not found (Debian package chromium: apt-get install -y chromium)", chromiumPath)
	}
	run := startRegister(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root; the pages are our own
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	fail := func(step string, err error) {
		t.Helper()
		t.Fatalf("browser, %s: %v\nstdout:\n%s\nstderr:\n%s", step, err, run.stdout.String(), run.stderr.String())
	}
	// do runs steps in the browser; read runs a query there and returns
	// what it read. Either fails the test naming step.
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, steps...); err != nil {
			fail(step, err)
		}
	}
	read := func(step string, query chromedp.Action[string]) string {
		t.Helper()
		s, err := chromedp.Run(browser, query)
		if err != nil {
			fail(step, err)
		}
		return s
	}
	do("open the register page", chromedp.Navigate(run.pageURL+"/"))
	intro := read("read the register page", chromedp.Text(chromedp.CSS("h1")))
	// To GitHub's (the simulator's) confirmation page.
	do("post the manifest",
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("create")),
	)
	simTitle := read("read the confirmation page", chromedp.Text(chromedp.CSS("h1")))
	simName := read("read the app name", chromedp.Value(chromedp.ID("name")))
	// Back to pkgwarden's callback page.
	do("create the app",
		chromedp.SetValue(chromedp.ID("name"), "pkgwarden-browser"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("done")),
	)
	done := read("read the callback page", chromedp.Text(chromedp.CSS("body")))
	install, err := chromedp.Run(browser, chromedp.AttributeValue(chromedp.ID("install"), "href"))
	if err != nil {
		fail("read the install link", err)
	}
	if !strings.Contains(intro, "Register pkgwarden") {
		t.Errorf("register page heading %q", intro)
	}
	if simTitle != "Create GitHub App for ghsim-web" || simName != "pkgwarden" {
		t.Errorf("simulator page %q with name %q, want the manifest's name", simTitle, simName)
	}
	for _, want := range []string{"Registered GitHub App pkgwarden-browser", "private-key.pem", "webhook_secret", "app_id", "app_slug", "pkgwarden serve"} {
		if !strings.Contains(done, want) {
			t.Errorf("callback page lacks %q:\n%s", want, done)
		}
	}
	if want := run.api.URL + "/apps/pkgwarden-browser/installations/new"; install.Value != want {
		t.Errorf("install link %q, want %q", install.Value, want)
	}
	if err := run.wait(t); err != nil {
		t.Fatalf("register: %v\n%s", err, run.stderr.String())
	}
	run.checkRegistered(t, "pkgwarden-browser")
}
