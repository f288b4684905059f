package ghsim_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v57/github"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// The app reads a repository's configuration the way pkgwarden does: an
// installation token from ghinstallation, then the contents API.
func Example_installationReadsConfig() {
	sim, err := ghsim.New(ghsim.Options{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim.APIHandler())
	defer srv.Close()
	sim.SetURLs(srv.URL, "http://registry.invalid")

	// The world: an org owned by olga, a private repository holding a
	// config file, and the app installed on the org.
	_, _ = sim.AddUser("olga")
	_, _ = sim.AddOrg("acme", "olga")
	_, _ = sim.AddRepo("acme", "app", ghsim.RepoOptions{Private: true})
	_ = sim.PutFile("acme", "app", "", ".github/pkgwarden.yml", []byte("keep: 10\n"), "olga")
	inst, _ := sim.AddInstallation("acme", map[string]string{"contents": "read", "issues": "write"})

	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sim.AppKey())})
	tr, err := ghinstallation.New(http.DefaultTransport, sim.AppID(), inst, key)
	if err != nil {
		panic(err)
	}
	tr.BaseURL = srv.URL
	gh := github.NewClient(&http.Client{Transport: tr})
	gh.BaseURL, _ = url.Parse(srv.URL + "/")

	ctx := context.Background()
	file, _, _, err := gh.Repositories.GetContents(ctx, "acme", "app", ".github/pkgwarden.yml", nil)
	if err != nil {
		panic(err)
	}
	config, _ := file.GetContent()
	fmt.Printf("config: %q\n", config)

	issue, _, err := gh.Issues.Create(ctx, "acme", "app", &github.IssueRequest{Title: github.String("report")})
	if err != nil {
		panic(err)
	}
	fmt.Println("issue", issue.GetNumber(), "by", issue.GetUser().GetLogin())
	// Output:
	// config: "keep: 10\n"
	// issue 1 by pkgwarden[bot]
}
