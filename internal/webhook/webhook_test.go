package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodePackageEvent(t *testing.T) {
	tests := map[string]struct {
		event, fixture string
		want           Target
		wantTag        string
		triggers       bool
	}{
		"registry_package published, tagged, org": {
			event: EventRegistryPackage, fixture: "registry_package_published.json",
			want:    Target{InstallationID: 31337, Owner: "acme", OwnerType: "Organization", PackageType: "container", PackageName: "app", Repository: "acme/app"},
			wantTag: "v1.2.3", triggers: true,
		},
		"registry_package untagged, user, slash in name": {
			event: EventRegistryPackage, fixture: "registry_package_untagged_user.json",
			want:     Target{InstallationID: 31337, Owner: "octocat", OwnerType: "User", PackageType: "container", PackageName: "team/app"},
			triggers: true,
		},
		"package updated, npm": {
			event: EventPackage, fixture: "package_updated.json",
			want:     Target{InstallationID: 31337, Owner: "acme", OwnerType: "Organization", PackageType: "npm", PackageName: "left-pad", Repository: "acme/app"},
			triggers: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev, err := DecodePackageEvent(tc.event, readFixture(t, tc.fixture))
			if err != nil {
				t.Fatalf("DecodePackageEvent: %v", err)
			}
			got, err := ev.Target()
			if err != nil {
				t.Fatalf("Target: %v", err)
			}
			if got != tc.want {
				t.Errorf("Target = %+v, want %+v", got, tc.want)
			}
			if ev.Triggers() != tc.triggers {
				t.Errorf("Triggers = %t", ev.Triggers())
			}
			if tc.wantTag != "" {
				cm := ev.Package.PackageVersion.ContainerMetadata
				if cm == nil || cm.Tag.Name != tc.wantTag || cm.Tag.Digest == "" || len(cm.Manifest) == 0 {
					t.Errorf("container metadata = %+v", cm)
				}
			}
		})
	}
}

func TestDecodePackageEventErrors(t *testing.T) {
	tests := map[string]struct {
		event   string
		body    string
		wantErr error // nil: any error
		decodes bool  // decoding succeeds, Target fails
	}{
		"not json":            {event: EventRegistryPackage, body: `{`},
		"wrong event":         {event: EventPush, body: `{}`},
		"missing package key": {event: EventRegistryPackage, body: `{"action":"published","package":{}}`},
		"null package":        {event: EventPackage, body: `{"package":null}`},
		"package not object":  {event: EventPackage, body: `{"package":"x"}`},
		"no installation":     {event: EventPackage, body: `{"package":{"name":"a","package_type":"npm","owner":{"login":"o"}}}`, decodes: true, wantErr: ErrIncomplete},
		"no name":             {event: EventPackage, body: `{"installation":{"id":1},"package":{"package_type":"npm","owner":{"login":"o"}}}`, decodes: true, wantErr: ErrIncomplete},
		"no type":             {event: EventPackage, body: `{"installation":{"id":1},"package":{"name":"a","owner":{"login":"o"}}}`, decodes: true, wantErr: ErrIncomplete},
		"no owner":            {event: EventPackage, body: `{"installation":{"id":1},"package":{"name":"a","package_type":"npm"}}`, decodes: true, wantErr: ErrIncomplete},
		"installation wrong":  {event: EventPackage, body: `{"installation":{"id":"1"},"package":{"name":"a"}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev, err := DecodePackageEvent(tc.event, []byte(tc.body))
			if !tc.decodes {
				if err == nil {
					t.Fatalf("DecodePackageEvent succeeded on %s", tc.body)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodePackageEvent: %v", err)
			}
			if _, err := ev.Target(); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Target error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestEnvelope(t *testing.T) {
	env, err := DecodeEnvelope(readFixture(t, "registry_package_published.json"))
	if err != nil {
		t.Fatal(err)
	}
	if env.InstallationID() != 31337 || env.Owner() != "acme" || env.RepositoryFullName() != "acme/app" || env.SenderLogin() != "octocat" || env.Action != "published" {
		t.Errorf("envelope = %+v", env)
	}
	if !Handled(EventRegistryPackage) || Handled(EventPing) || Handled("star") {
		t.Error("Handled is wrong")
	}
}

// FuzzDecode checks that ValidJSON agrees with encoding/json.Valid, that
// no delivery body makes the decoders panic, and
// that whatever decodes into a target names a complete package whose
// normalised type is lower case.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"registry_package_published.json", "registry_package_untagged_user.json", "package_updated.json"} {
		b := readFixture(f, name)
		f.Add(EventRegistryPackage, b)
		f.Add(EventPackage, b)
	}
	// Shapes that exercise the JSON validator's corners.
	for _, s := range []string{`[0,-0,1.5,-2e10,3E+2,4e-3]`, `"\" \\ \/ \b \u00e9"`, "\"\xff\"", `{"a":1,}`, `01`, `1.`, `"\u12g4"`, "\"a\x01\"", `tru`, ` {"a" : [ ] } `} {
		f.Add(EventPackage, []byte(s))
	}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		if ValidJSON(body) != json.Valid(body) {
			t.Fatalf("ValidJSON = %t, encoding/json.Valid = %t for %q", ValidJSON(body), json.Valid(body), body)
		}
		_, _ = DecodeEnvelope(body)
		ev, err := DecodePackageEvent(event, body)
		if err != nil {
			return
		}
		if ev.Package == nil {
			t.Fatal("decoded without a package")
		}
		tg, err := ev.Target()
		if err != nil {
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("Target error %v is not ErrIncomplete", err)
			}
			return
		}
		if tg.InstallationID <= 0 || tg.Owner == "" || tg.PackageName == "" || tg.PackageType == "" {
			t.Fatalf("incomplete target %+v", tg)
		}
		if strings.ContainsAny(tg.PackageType, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("type %q not normalised", tg.PackageType)
		}
		if !strings.Contains(tg.String(), tg.PackageName) {
			t.Fatalf("String %q does not name the package", tg.String())
		}
	})
}
