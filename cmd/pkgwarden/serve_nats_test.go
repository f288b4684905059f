package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/settings"
)

// TestEmbeddedNATSStartsWithoutWarnings: serve's embedded NATS server, at
// default settings, logs no warning (it used to warn at every start about
// payloads over 8 MB). The log is captured at debug level, where the
// server's notices go; the positive signal is connectNATS returning a
// connected client and the server's own "ready" notice in the capture.
func TestEmbeddedNATSStartsWithoutWarnings(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := settings.Settings{DataDir: t.TempDir(), NATSReplicas: 1}
	nc, emb, err := connectNATS(ctx, s, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { nc.Close(); _ = emb.Shutdown() }()
	if !nc.IsConnected() {
		t.Fatalf("not connected: %s", nc.Status())
	}
	out := logs.String()
	if !strings.Contains(out, "Server is ready") {
		t.Fatalf("the server's start was not captured:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("embedded NATS start logged: %s", line)
		}
	}
}
