// Package githubapi holds the clients pkgwarden drives GitHub with: the
// packages client (a classic personal access token per owner, because App
// installation tokens cannot delete package versions), the App client
// (installation tokens for webhooks, config files and issues), the transport
// that retries idempotent requests and counts them, and the classification
// of GitHub's answers into refusals, rate limits and plain errors.
package githubapi
