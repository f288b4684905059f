package deploy_test

import (
	"slices"
	"strings"
	"testing"
)

// knownSettings are pkgwarden's environment settings, as DESIGN.md "Commands and
// settings" lists them. The deployment files may set only these: a misspelt
// name would be ignored by serve without a word.
var knownSettings = []string{
	"PKGWARDEN_APP_ID",
	"PKGWARDEN_PRIVATE_KEY_PATH",
	"PKGWARDEN_WEBHOOK_SECRET",
	"PKGWARDEN_PACKAGES_TOKEN",
	"PKGWARDEN_PACKAGES_TOKENS",
	"PKGWARDEN_LISTEN",
	"PKGWARDEN_GITHUB_API_URL",
	"PKGWARDEN_REGISTRY_URL",
	"PKGWARDEN_GITHUB_URL",
	"PKGWARDEN_NATS_URL",
	"PKGWARDEN_NATS_LISTEN",
	"PKGWARDEN_NATS_CREDS",
	"PKGWARDEN_NATS_REPLICAS",
	"PKGWARDEN_DATA_DIR",
	"PKGWARDEN_ROLES",
	"PKGWARDEN_WORKERS",
	"PKGWARDEN_SWEEP_INTERVAL",
	"PKGWARDEN_PAUSED",
}

// checkSettingName reports an environment variable that is not a pkgwarden
// setting; names outside the PKGWARDEN_ prefix are not pkgwarden's business.
func checkSettingName(t *testing.T, where, name string) {
	t.Helper()
	if strings.HasPrefix(name, "PKGWARDEN_") && !slices.Contains(knownSettings, name) {
		t.Errorf("%s: %s is not a pkgwarden setting", where, name)
	}
}
