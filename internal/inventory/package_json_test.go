package inventory

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
)

// Package records stored before Package embedded pkgref.Ref read the same
// and are written back byte for byte.
func TestPackageJSONUnchanged(t *testing.T) {
	seen := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		stored string
		want   Package
	}{
		{`{"id":42,"owner":"acme","type":"container","name":"team/webapp","repo":"acme/webapp","seen":"2024-05-01T12:00:00Z"}`,
			Package{ID: 42, Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: "team/webapp", Repository: "acme/webapp"}, SeenAt: seen}},
		{`{"owner":"Acme","type":"npm","name":"@acme/web.client","seen":"2024-05-01T12:00:00Z"}`,
			Package{Ref: pkgref.Ref{Owner: "Acme", Type: "npm", Name: "@acme/web.client"}, SeenAt: seen}},
	} {
		var got Package
		if err := json.Unmarshal([]byte(tc.stored), &got); err != nil {
			t.Fatalf("decode %s: %v", tc.stored, err)
		}
		if got != tc.want {
			t.Errorf("decode %s = %+v, want %+v", tc.stored, got, tc.want)
		}
		b, err := json.Marshal(got)
		if err != nil || string(b) != tc.stored {
			t.Errorf("encode %+v = %s, %v; want %s", got, b, err, tc.stored)
		}
	}
}
