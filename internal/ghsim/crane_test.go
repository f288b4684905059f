package ghsim

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
)

// TestCrane drives the registry with crane, as a user would from a shell.
func TestCrane(t *testing.T) {
	w := newPkWorld(t, Options{})
	host := strings.TrimPrefix(w.reg.URL, "http://")
	opts := []crane.Option{crane.Insecure, crane.WithAuth(&authn.Basic{Username: "alice", Password: w.tokens["alice"]})}
	img, err := DemoImage("", "crane")
	if err != nil {
		t.Fatal(err)
	}
	if err := crane.Push(img, host+"/acme/tools:1.0", opts...); err != nil {
		t.Fatalf("crane push: %v", err)
	}
	if err := crane.Copy(host+"/acme/tools:1.0", host+"/acme/tools:stable", opts...); err != nil {
		t.Fatalf("crane copy: %v", err)
	}
	d, err := crane.Digest(host+"/acme/tools:stable", opts...)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d != want.String() {
		t.Errorf("digest %s, want %s", d, want)
	}
	tags, err := crane.ListTags(host+"/acme/tools", opts...)
	if err != nil || strings.Join(tags, ",") != "1.0,stable" {
		t.Errorf("tags %v %v", tags, err)
	}
	vs, err := w.sim.Versions("acme", "container", "tools")
	if err != nil || len(vs) != 1 || strings.Join(vs[0].Tags, ",") != "1.0,stable" {
		t.Errorf("versions %+v %v", vs, err)
	}
}
