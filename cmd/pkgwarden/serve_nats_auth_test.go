package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// A NATS server that refuses pkgwarden's credentials makes serve exit with
// the reason, instead of retrying in silence forever.
func TestServeStopsOnNATSAuthorizationFailure(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "pkgwarden", Password: "not-what-serve-sends", NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = baseEnv(map[string]string{
		"PKGWARDEN_DATA_DIR": t.TempDir(), "PKGWARDEN_WEBHOOK_SECRET": "s", "PKGWARDEN_LISTEN": "127.0.0.1:0",
		"PKGWARDEN_NATS_URL": ns.ClientURL(),
	})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("serve still running after 60 s against a NATS that refuses it; stderr:\n%s", tail(stderr.String(), 3000))
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if out := stderr.String(); !strings.Contains(strings.ToLower(out), "authorization") {
		t.Errorf("stderr does not say why:\n%s", tail(out, 3000))
	}
}
