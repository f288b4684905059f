package main

// The three-node nats-server cluster of the cluster test: built from the
// nats-server module go.mod pins (nothing is downloaded), configured from
// the shipped deploy/nats files with ports and store dirs moved into the
// test's temporary directory.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clusterNode is one nats-server process; it can be killed and started
// again on the same config and store.
type clusterNode struct {
	name, bin, conf, url string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer
}

func (n *clusterNode) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.Write(p)
}

func (n *clusterNode) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

func (n *clusterNode) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(n.bin, "-c", n.conf)
	cmd.Stdout, cmd.Stderr = n, n
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server %s: %v", n.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
}

// kill sends SIGKILL: no lame duck, no flush.
func (n *clusterNode) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// buildClusterNATS compiles nats-server from the module, without -race:
// the subprocesses only need to be the real server, not instrumented.
func buildClusterNATS(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	t.Logf("built nats-server in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

var clusterAddrRE = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)

// startNATSCluster starts n1, n2 and n3 from ../../deploy/nats with every
// loopback port moved to a free one and every store dir under dir.
func startNATSCluster(t *testing.T, bin, dir string) []*clusterNode {
	t.Helper()
	src := filepath.Join("..", "..", "deploy", "nats")
	common, err := os.ReadFile(filepath.Join(src, "common.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "common.conf"), common, 0o644); err != nil {
		t.Fatal(err)
	}
	names := []string{"n1", "n2", "n3"}
	raws := map[string]string{}
	moved := map[string]string{} // old address → new
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(src, name+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		raws[name] = string(b)
		for _, m := range clusterAddrRE.FindAllString(string(b), -1) {
			if _, ok := moved[m]; !ok {
				moved[m] = ""
			}
		}
	}
	// The ports are released before the servers bind them; a clash with
	// another process is unlikely and shows as a bind error in the log.
	var held []net.Listener
	for old := range moved {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		moved[old] = ln.Addr().String()
		held = append(held, ln)
	}
	for _, ln := range held {
		ln.Close()
	}
	var nodes []*clusterNode
	for _, name := range names {
		text := clusterAddrRE.ReplaceAllStringFunc(raws[name], func(a string) string { return moved[a] })
		text = strings.ReplaceAll(text, "/var/lib/nats/"+name, filepath.Join(dir, "store", name))
		if strings.Contains(text, "/var/lib/nats") {
			t.Fatalf("%s.conf: a store dir was not moved", name)
		}
		conf := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		listen := regexp.MustCompile(`(?m)^listen:\s*(\S+)`).FindStringSubmatch(text)
		if listen == nil {
			t.Fatalf("%s.conf: no client listen address", name)
		}
		nodes = append(nodes, &clusterNode{name: name, bin: bin, conf: conf, url: "nats://" + listen[1]})
	}
	for _, n := range nodes {
		n.start(t)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill()
		}
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("--- nats-server %s log (tail) ---\n%s", n.name, tail(n.logText(), 4000))
			}
		}
	})
	return nodes
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// clusterURL is the comma-separated form PKGWARDEN_NATS_URL takes.
func clusterURL(nodes []*clusterNode) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url)
	}
	return strings.Join(urls, ",")
}

func (n *clusterNode) String() string { return fmt.Sprintf("nats-server %s (%s)", n.name, n.url) }
