package registry

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestTag(t *testing.T) {
	tr := newTestRegistry(t)
	g := push(t, tr, "acme/app")
	tagger, err := NewTagger(tr.server.URL, Options{Username: testUser, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := map[string]struct {
		digest, tag string
		wantErr     error // nil: success
		anyErr      bool
	}{
		"index gets a new tag":     {digest: g.multi, tag: "restored"},
		"image gets a tag":         {digest: g.amd64, tag: "amd64-only"},
		"existing tag moves":       {digest: g.outer, tag: "v1"},
		"deleted manifest":         {digest: g.ghostAMD64, tag: "back", wantErr: ErrManifestUnknown},
		"invalid tag":              {digest: g.multi, tag: "not a tag", anyErr: true},
		"invalid digest":           {digest: "sha256:zz", tag: "x", anyErr: true},
		"mixed-case owner is fine": {digest: g.riscv, tag: "riscv"},
	}
	for tname, tc := range tests {
		t.Run(tname, func(t *testing.T) {
			repoName := "acme/app"
			if tname == "mixed-case owner is fine" {
				repoName = "Acme/app"
			}
			err := tagger.Tag(ctx, repoName, tc.digest, tc.tag)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Tag error %v, want %v", err, tc.wantErr)
				}
				return
			case tc.anyErr:
				if err == nil {
					t.Fatalf("Tag succeeded, want an error")
				}
				return
			case err != nil:
				t.Fatalf("Tag: %v", err)
			}
			ref, err := name.NewTag(tr.host() + "/acme/app:" + tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(ref, tr.pushOpts()...)
			if err != nil || desc.Digest.String() != tc.digest {
				t.Errorf("tag %s points at %v (%v), want %s", tc.tag, desc, err, tc.digest)
			}
		})
	}
}
