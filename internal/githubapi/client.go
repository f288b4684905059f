package githubapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v57/github"
)

// DefaultAPIURL is GitHub.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// parseBaseURL accepts any absolute http(s) URL and gives it the trailing
// slash go-github requires. Unlike go-github's WithEnterpriseURLs it never
// appends "api/v3/": GitHub Enterprise Server users pass ".../api/v3/"
// themselves, and the simulator serves the API at its root.
func parseBaseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github api url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github api url %q: want http(s)://host[/path]/", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// NewGitHubClient returns a go-github client for the API at baseURL (empty:
// api.github.com) that sends its requests through httpClient (nil: a client
// with the retrying Transport and default policy).
func NewGitHubClient(httpClient *http.Client, baseURL string) (*github.Client, error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Transport: NewTransport(nil, RetryPolicy{}, nil)}
	}
	gh := github.NewClient(httpClient)
	gh.BaseURL = u
	gh.UploadURL = u
	gh.UserAgent = "pkgwarden"
	return gh, nil
}
