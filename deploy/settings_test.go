package deploy_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// knownSettings are pkgwarden's environment settings, read from the tags of
// settings.Settings, the struct serve decodes its environment into. The
// deployment files may set only these: a misspelt name would be ignored by
// serve without a word.
var knownSettings = func() []string {
	var names []string
	st := reflect.TypeFor[settings.Settings]()
	for i := range st.NumField() {
		if tag := st.Field(i).Tag.Get("envconfig"); tag != "" {
			names = append(names, settings.Prefix+"_"+tag)
		}
	}
	return names
}()

// checkSettingName reports an environment variable that is not a pkgwarden
// setting; names outside the PKGWARDEN_ prefix are not pkgwarden's business.
func checkSettingName(t *testing.T, where, name string) {
	t.Helper()
	if strings.HasPrefix(name, "PKGWARDEN_") && !slices.Contains(knownSettings, name) {
		t.Errorf("%s: %s is not a pkgwarden setting", where, name)
	}
}

// TestKnownSettings guards the list the deployment files are checked
// against: every field of settings.Settings is an environment setting.
func TestKnownSettings(t *testing.T) {
	st := reflect.TypeFor[settings.Settings]()
	if len(knownSettings) != st.NumField() {
		t.Errorf("%d setting names for %d fields of settings.Settings: a field without an envconfig tag?", len(knownSettings), st.NumField())
	}
	for _, name := range []string{"PKGWARDEN_WEBHOOK_SECRET", "PKGWARDEN_NATS_URL", "PKGWARDEN_PACING_POINTS"} {
		if !slices.Contains(knownSettings, name) {
			t.Errorf("%s is missing from the known settings %v", name, knownSettings)
		}
	}
}
