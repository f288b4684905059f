package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

// TestKill9DuringStormLosesNothingAccepted: the embedded single-process
// mode is SIGKILLed while four clients are still sending deliveries; after
// a restart on the same data dir, every delivery it answered 202 has been
// processed. Deliveries cut off by the kill got no 202 and promise nothing
// (GitHub records them as failed, and the sweep redelivers them).
func TestKill9DuringStormLosesNothingAccepted(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(t.TempDir(), "record.jsonl")
	env := recordingEnv(dir, record, 2, "5ms", nil)
	p := startServe(t, env)

	var (
		mu       sync.Mutex
		accepted = map[string]bool{} // package names answered 202
		sent     atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := "storm-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				body := packageBody(name)
				req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/webhooks", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("X-GitHub-Event", "registry_package")
				req.Header.Set("X-GitHub-Delivery", name)
				req.Header.Set("X-Hub-Signature-256", handlers.SignatureHeader([]byte(secret), body))
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone: this sender's storm is over
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted[name] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Kill mid-storm: some deliveries routed and processed, some still in
	// the webhooks stream or the jobs stream, some requests in flight.
	testwait.For(t, "the storm to get going", 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) >= 300 && len(readRecord(t, record)) > 0
	})
	p.kill()
	close(stop)
	wg.Wait()
	mu.Lock()
	want := len(accepted)
	mu.Unlock()
	before := map[string]bool{}
	for _, r := range readRecord(t, record) {
		before[r.Package] = true
	}
	if len(before) >= want {
		t.Fatalf("all %d accepted deliveries were processed before the kill; the test proves nothing", want)
	}

	startServe(t, env)
	missing := func() []string {
		seen := map[string]bool{}
		for _, r := range readRecord(t, record) {
			seen[r.Package] = true
		}
		var out []string
		mu.Lock()
		defer mu.Unlock()
		for name := range accepted {
			if !seen[name] {
				out = append(out, name)
			}
		}
		return out
	}
	var m []string
	if !testwait.Until(90*time.Second, func() bool { m = missing(); return len(m) == 0 }) {
		t.Fatalf("%d of %d accepted deliveries never processed after the restart, e.g. %v", len(m), want, m[:min(5, len(m))])
	}
	t.Logf("sent %d, accepted %d, processed before the kill %d, all accepted processed after the restart", sent.Load(), want, len(before))
}
