package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeLoggerDurations: serve's log lines write durations as people
// read them, at the top level and in groups, and leave other values alone,
// in both formats.
func TestServeLoggerDurations(t *testing.T) {
	tests := map[string]struct {
		format string
		check  func(t *testing.T, line string)
	}{
		"json": {format: "json", check: func(t *testing.T, line string) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not one JSON line: %v: %s", err, line)
			}
			job, _ := rec["job"].(map[string]any)
			if got := job["retry_in"]; got != "1.5s" {
				t.Errorf("retry_in = %#v, want \"1.5s\" (line %s)", got, line)
			}
			if got := job["attempt"]; got != float64(2) {
				t.Errorf("attempt = %#v, want 2", got)
			}
			if rec["component"] != "workers" || job["err"] != "boom" {
				t.Errorf("other attributes changed: %s", line)
			}
		}},
		"text": {format: "text", check: func(t *testing.T, line string) {
			for _, want := range []string{`level=WARN`, `msg="workers: job failed, will retry"`, `component=workers`, `job.retry_in=1.5s`, `job.attempt=2`, `job.err=boom`} {
				if !strings.Contains(line, want) {
					t.Errorf("line lacks %s: %s", want, line)
				}
			}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			newServeLogger(&buf, tc.format).With("component", "workers").WithGroup("job").
				Warn("workers: job failed, will retry", "retry_in", 1500*time.Millisecond, "attempt", 2, "err", errors.New("boom"))
			line := strings.TrimSuffix(buf.String(), "\n")
			if strings.Contains(line, "\n") {
				t.Fatalf("more than one line: %q", buf.String())
			}
			tc.check(t, line)
		})
	}
}

var reTextLine = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)

// TestServeLogFormatText: serve with PKGWARDEN_LOG_FORMAT=text writes
// slog's key=value lines, and no JSON, up to the positive signals that
// it is ready and serves HTTP.
func TestServeLogFormatText(t *testing.T) {
	cmd := exec.Command(binary, "serve")
	cmd.Env = baseEnv(map[string]string{
		"PKGWARDEN_DATA_DIR": t.TempDir(), "PKGWARDEN_WEBHOOK_SECRET": secret,
		"PKGWARDEN_LISTEN": "127.0.0.1:0", "PKGWARDEN_LOG_FORMAT": "text",
	})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before serving:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if !reTextLine.MatchString(line) {
				t.Errorf("not a text log line: %s", line)
			}
			// Both signals, in either order (the HTTP server logs from
			// its own goroutine).
			all := strings.Join(seen, "\n")
			if strings.Contains(all, `msg="pkgwarden ready"`) && strings.Contains(all, `msg="http listening" addr=127.0.0.1:`) {
				return
			}
		case <-timeout:
			t.Fatalf("serve not ready after 30s:\n%s", strings.Join(seen, "\n"))
		}
	}
}
