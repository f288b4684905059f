package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// slowResult is what a slow client saw: the status of an answer (0 for
// none) and whether the server closed the connection.
type slowResult struct {
	status int
	closed bool
	after  time.Duration
}

// trickle writes head, then body, every piece separated by gap: headers
// byte by byte when slowHead, else the body a few bytes at a time. It
// reports what the server did within wait.
// sent, if not nil, is called once the first piece is written.
func trickle(t *testing.T, addr string, head, body []byte, slowHead bool, gap, wait time.Duration, sent func()) slowResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		// Called from goroutines: no Fatal here.
		t.Errorf("dial %s: %v", addr, err)
		return slowResult{}
	}
	defer conn.Close()
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var pieces [][]byte
		if slowHead {
			for i := range head {
				pieces = append(pieces, head[i:i+1])
			}
		} else {
			pieces = append(pieces, head)
		}
		for len(body) > 0 {
			n := min(5, len(body))
			pieces = append(pieces, body[:n])
			body = body[n:]
		}
		for i, p := range pieces {
			if i > 0 {
				select {
				case <-stop:
					return
				case <-time.After(gap):
				}
			}
			if _, err := conn.Write(p); err != nil {
				return // the server closed it: what the test waits for
			}
			if i == 0 && sent != nil {
				sent()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	_ = conn.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(conn)
	var res slowResult
	if resp, err := http.ReadResponse(br, nil); err == nil {
		res.status = resp.StatusCode
		_ = resp.Body.Close()
	} else if isTimeout(err) {
		return res
	}
	// Whatever came, the connection must end, not idle on.
	_, err = io.Copy(io.Discard, br)
	res.closed = !isTimeout(err)
	res.after = time.Since(start)
	return res
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// webhookHead is the head of a signed delivery of body whose
// Content-Length promises the whole body.
func webhookHead(delivery string, body []byte, sig string) []byte {
	return fmt.Appendf(nil, "POST /webhooks HTTP/1.1\r\nHost: pkgwarden\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: registry_package\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\n"+
		"Content-Length: %d\r\n\r\n", delivery, sig, len(body))
}

// TestHostileClients runs a web-only serve (nothing consumes the webhooks
// stream, so everything that got in stays there to be counted) against
// slow senders and a wrongly signed body, and checks that honest
// deliveries keep flowing and only they reach the stream.
func TestHostileClients(t *testing.T) {
	natsAddr := freePort(t)
	p := startServe(t, map[string]string{
		"PKGWARDEN_DATA_DIR":                 t.TempDir(),
		"PKGWARDEN_NATS_LISTEN":              natsAddr,
		"PKGWARDEN_ROLES":                    "web",
		"PKGWARDEN_HTTP_READ_HEADER_TIMEOUT": "300ms",
		"PKGWARDEN_HTTP_READ_TIMEOUT":        "1s",
	})
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	inStream := func() uint64 {
		t.Helper()
		return queuetest.Stored(t, js, queue.StreamWebhooks)
	}

	body := packageBody("slow-pkg")
	good := handlers.SignatureHeader([]byte(secret), body)
	// Each slow sender would take about 4 s to finish; the server's
	// timeouts are far shorter, and the test waits at most 15 s.
	tests := map[string]struct {
		head     []byte
		body     []byte
		slowHead bool
		gap      time.Duration
	}{
		"headers slower than the header timeout": {
			head: webhookHead("slow-head", body, good), body: body, slowHead: true, gap: 15 * time.Millisecond,
		},
		"body slower than the read timeout": {
			head: webhookHead("slow-body", body, good), body: body, gap: 100 * time.Millisecond,
		},
		"headers sent, body never": {
			head: webhookHead("no-body", body, good), gap: time.Hour,
		},
	}
	var wg sync.WaitGroup
	results := make(map[string]slowResult, len(tests))
	var mu sync.Mutex
	// Several of each at once, to see the server stay responsive.
	const copies = 5
	var started atomic.Int32
	for name, tc := range tests {
		for i := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := trickle(t, p.addr, tc.head, tc.body, tc.slowHead, tc.gap, 15*time.Second, func() { started.Add(1) })
				mu.Lock()
				defer mu.Unlock()
				if i == 0 || !r.closed || r.status/100 == 2 {
					results[name] = r
				}
			}()
		}
	}
	// While the slow senders hold their connections, honest requests are
	// answered.
	testwait.For(t, "every slow sender to have sent its first bytes", 10*time.Second, func() bool {
		return started.Load() == int32(copies*len(tests))
	})
	if got := p.get(t, "/healthz"); got == "" {
		t.Errorf("/healthz answered nothing while slow clients were connected")
	}
	if code := p.send(t, "registry_package", "honest-1", packageBody("honest")); code != http.StatusAccepted {
		t.Errorf("honest delivery during slow clients: %d, want 202", code)
	}
	wg.Wait()
	for name := range tests {
		r := results[name]
		t.Run(name, func(t *testing.T) {
			if !r.closed {
				t.Fatalf("server kept the connection open (answer %d)", r.status)
			}
			if r.status/100 == 2 {
				t.Fatalf("slow request answered %d", r.status)
			}
			t.Logf("closed after %s, answer %d (0: none)", r.after.Round(time.Millisecond), r.status)
		})
	}

	t.Run("body signed with another secret", func(t *testing.T) {
		before := inStream()
		req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/webhooks", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-GitHub-Event", "registry_package")
		req.Header.Set("X-GitHub-Delivery", "forged-1")
		req.Header.Set("X-Hub-Signature-256", handlers.SignatureHeader([]byte("not-"+secret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d, want 401", resp.StatusCode)
		}
		if after := inStream(); after != before {
			t.Fatalf("stream went from %d to %d messages on a forged delivery", before, after)
		}
	})

	// Only the honest delivery reached the stream.
	if n := inStream(); n != 1 {
		t.Fatalf("webhooks stream holds %d messages, want 1 (the honest delivery)", n)
	}
	if code := p.send(t, "registry_package", "honest-2", packageBody("honest")); code != http.StatusAccepted {
		t.Fatalf("honest delivery after the hostile ones: %d, want 202", code)
	}
}
