package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

var natsNodes = []string{"n1", "n2", "n3"}

// loadNATSNode parses a shipped node file with nats-server's own config loader,
// so the test sees exactly what the binary would.
func loadNATSNode(t *testing.T, path string) *server.Options {
	t.Helper()
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return opts
}

func TestNATSConfigNodes(t *testing.T) {
	clusterAddrs := map[string]bool{}
	seen := map[string]map[string]string{"server_name": {}, "store_dir": {}, "client": {}, "http": {}, "cluster": {}}
	all := map[string]*server.Options{}
	for _, node := range natsNodes {
		opts := loadNATSNode(t, filepath.Join("nats", node+".conf"))
		all[node] = opts
		clusterAddrs[net.JoinHostPort(opts.Cluster.Host, strconv.Itoa(opts.Cluster.Port))] = true
	}
	for _, node := range natsNodes {
		t.Run(node, func(t *testing.T) {
			opts := all[node]
			if opts.ServerName != node {
				t.Errorf("server_name = %q, want %q", opts.ServerName, node)
			}
			if !opts.JetStream {
				t.Error("jetstream is not enabled")
			}
			if want := "/var/lib/nats/" + node; opts.StoreDir != want {
				t.Errorf("jetstream store_dir = %q, want %q", opts.StoreDir, want)
			}
			if opts.JetStreamMaxMemory <= 0 || opts.JetStreamMaxStore <= 0 {
				t.Errorf("jetstream limits not set: max_memory_store=%d max_file_store=%d", opts.JetStreamMaxMemory, opts.JetStreamMaxStore)
			}
			if opts.JetStreamMaxStore < 1<<30 {
				t.Errorf("max_file_store = %d, want at least 1 GiB for pkgwarden's streams", opts.JetStreamMaxStore)
			}
			// Deliveries larger than a message go through the object
			// store; above 8 MiB nats-server warns at every start.
			if opts.MaxPayload < 1<<20 || opts.MaxPayload > 8<<20 {
				t.Errorf("max_payload = %d, want between 1 and 8 MiB (queue.MaxPayload)", opts.MaxPayload)
			}
			if opts.Cluster.Name != "pkgwarden" {
				t.Errorf("cluster name = %q, want pkgwarden", opts.Cluster.Name)
			}
			if opts.HTTPPort == 0 {
				t.Error("monitoring port (http) not set; the README's health check uses it")
			}
			routes := map[string]bool{}
			for _, r := range opts.Routes {
				routes[r.Host] = true
			}
			for addr := range clusterAddrs {
				if !routes[addr] {
					t.Errorf("routes %v miss cluster address %s", opts.Routes, addr)
				}
			}
			for key, val := range map[string]string{
				"server_name": opts.ServerName,
				"store_dir":   opts.StoreDir,
				"client":      net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)),
				"http":        net.JoinHostPort(opts.HTTPHost, strconv.Itoa(opts.HTTPPort)),
				"cluster":     net.JoinHostPort(opts.Cluster.Host, strconv.Itoa(opts.Cluster.Port)),
			} {
				if other, dup := seen[key][val]; dup {
					t.Errorf("%s %q is also used by %s", key, val, other)
				}
				seen[key][val] = node
			}
		})
	}
}

// natsNode is one nats-server process of the trial cluster.
type natsNode struct {
	name      string
	clientURL string
	cmd       *exec.Cmd
	log       *lockedBuffer
	done      chan struct{}
}

// lockedBuffer collects a child's output while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildNATSServer compiles nats-server from the module version go.mod pins, so
// the test runs the same server code pkgwarden embeds and downloads nothing.
func buildNATSServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	// The machine is shared and a cold build compiles the whole server: be generous.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	// Same environment as this test's own build, so the server packages it
	// already compiled come from the build cache and only main is linked.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	t.Logf("built nats-server in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// freeLoopbackPorts reserves n distinct ports on 127.0.0.1. They are released
// before the servers bind them; a clash with another process is unlikely and
// shows up as a bind error in the node's log.
func freeLoopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve a loopback port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// rewriteNATSConfigs copies the shipped node files into dir, moving every
// loopback port to a free one and every store dir under dir, and returns the
// new paths and client URLs by node.
func rewriteNATSConfigs(t *testing.T, dir string) (confs, urls map[string]string) {
	t.Helper()
	common, err := os.ReadFile(filepath.Join("nats", "common.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "common.conf"), common, 0o644); err != nil {
		t.Fatal(err)
	}

	ports := freeLoopbackPorts(t, 3*len(natsNodes))
	replace := map[string]string{}
	urls = map[string]string{}
	for i, node := range natsNodes {
		opts := loadNATSNode(t, filepath.Join("nats", node+".conf"))
		for j, addr := range []struct {
			host string
			port int
		}{{opts.Host, opts.Port}, {opts.HTTPHost, opts.HTTPPort}, {opts.Cluster.Host, opts.Cluster.Port}} {
			if addr.host != "127.0.0.1" {
				t.Fatalf("%s: listens on %s, the trial config should use loopback only", node, addr.host)
			}
			replace[fmt.Sprintf("127.0.0.1:%d", addr.port)] = fmt.Sprintf("127.0.0.1:%d", ports[3*i+j])
		}
		replace[opts.StoreDir] = filepath.Join(dir, "store", node)
		urls[node] = fmt.Sprintf("nats://127.0.0.1:%d", ports[3*i])
	}

	var pairs []string
	for from, to := range replace {
		pairs = append(pairs, from, to)
	}
	// One pass, so a new port never gets rewritten again.
	rewrite := strings.NewReplacer(pairs...)
	confs = map[string]string{}
	for _, node := range natsNodes {
		raw, err := os.ReadFile(filepath.Join("nats", node+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		text := rewrite.Replace(string(raw))
		path := filepath.Join(dir, node+".conf")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// The rewrite must have moved everything: a port or path the shipped
		// file spells differently would silently stay on the real one.
		moved := loadNATSNode(t, path)
		if moved.StoreDir != filepath.Join(dir, "store", node) {
			t.Fatalf("%s: store_dir %q not rewritten", node, moved.StoreDir)
		}
		for _, r := range moved.Routes {
			if _, stale := replace[r.Host]; stale {
				t.Fatalf("%s: route %s not rewritten", node, r)
			}
		}
		confs[node] = path
	}
	return confs, urls
}

func startNATSNode(t *testing.T, bin, name, conf, url string) *natsNode {
	t.Helper()
	n := &natsNode{name: name, clientURL: url, log: &lockedBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, "-c", conf)
	n.cmd.Stdout = n.log
	n.cmd.Stderr = n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nats-server %s: %v", name, err)
	}
	go func() {
		n.cmd.Wait()
		close(n.done)
	}()
	return n
}

// stop asks the node to shut down and kills it if it does not within the grace.
func (n *natsNode) stop(grace time.Duration) {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.done:
	case <-time.After(grace):
		n.cmd.Process.Kill()
		<-n.done
	}
}

func TestNATSClusterThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node nats-server cluster; skipped with -short")
	}
	bin := buildNATSServer(t)
	dir := t.TempDir()
	confs, urls := rewriteNATSConfigs(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	begin := time.Now()
	nodes := map[string]*natsNode{}
	var allURLs []string
	for _, name := range natsNodes {
		nodes[name] = startNATSNode(t, bin, name, confs[name], urls[name])
		allURLs = append(allURLs, urls[name])
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.stop(10 * time.Second)
		}
		if t.Failed() {
			for _, name := range natsNodes {
				t.Logf("--- %s log ---\n%s", name, nodes[name].log.String())
			}
		}
	})

	// The comma-separated form is what PKGWARDEN_NATS_URL takes.
	nc, err := nats.Connect(strings.Join(allURLs, ","),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.Timeout(2*time.Second),
	)
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream context: %v", err)
	}

	// Until the JetStream meta leader is elected, stream creation answers
	// "temporarily unavailable"; an R3 stream needs all three nodes to join.
	cfg := jetstream.StreamConfig{
		Name:     "deploy-trial",
		Subjects: []string{"trial.>"},
		Replicas: 3,
		Storage:  jetstream.FileStorage,
	}
	// retry calls call, each try given 3s, until it succeeds or ctx's
	// deadline passes, and returns its last error: nil once it succeeded.
	// Every retry below gives up when ctx does.
	ctxDeadline, _ := ctx.Deadline()
	retry := func(call func(ctx context.Context) error) error {
		var err error
		testwait.Until(time.Until(ctxDeadline), func() bool {
			callCtx, callCancel := context.WithTimeout(ctx, 3*time.Second)
			defer callCancel()
			err = call(callCtx)
			return err == nil
		})
		return err
	}
	var stream jetstream.Stream
	if err := retry(func(ctx context.Context) (err error) {
		stream, err = js.CreateStream(ctx, cfg)
		return err
	}); err != nil {
		t.Fatalf("cluster did not form: create R3 stream: %v", err)
	}
	formed := time.Since(begin)

	publish := func(data, id string) *jetstream.PubAck {
		t.Helper()
		var ack *jetstream.PubAck
		if err := retry(func(ctx context.Context) (err error) {
			// The message id makes a retried publish after a lost ack land once.
			ack, err = js.Publish(ctx, "trial.delivery", []byte(data), jetstream.WithMsgID(id))
			return err
		}); err != nil {
			t.Fatalf("publish %q: %v", data, err)
		}
		return ack
	}
	readBack := func(seq uint64, want string) {
		t.Helper()
		var msg *jetstream.RawStreamMsg
		if err := retry(func(ctx context.Context) (err error) {
			msg, err = stream.GetMsg(ctx, seq)
			return err
		}); err != nil {
			t.Fatalf("read message %d: %v", seq, err)
		}
		if string(msg.Data) != want {
			t.Fatalf("message %d = %q, want %q", seq, msg.Data, want)
		}
	}

	if ack := publish("before", "d-1"); ack.Sequence != 1 {
		t.Fatalf("first publish got sequence %d, want 1", ack.Sequence)
	}
	readBack(1, "before")

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("stream has no cluster leader: %+v", info.Cluster)
	}
	if got := 1 + len(info.Cluster.Replicas); got != 3 {
		t.Fatalf("stream placed on %d nodes, want 3", got)
	}

	// Kill the stream's leader without a chance to hand over: the harder case.
	victim := nodes[info.Cluster.Leader]
	if victim == nil {
		t.Fatalf("stream leader %q is not one of %v", info.Cluster.Leader, natsNodes)
	}
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", victim.name, err)
	}
	<-victim.done

	if ack := publish("after", "d-2"); ack.Sequence != 2 {
		t.Fatalf("publish with %s down got sequence %d, want 2", victim.name, ack.Sequence)
	}
	failover := time.Since(killed)
	readBack(1, "before")
	readBack(2, "after")

	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info after the kill: %v", err)
	}
	if info.Cluster.Leader == victim.name || info.Cluster.Leader == "" {
		t.Errorf("stream leader after killing %s = %q", victim.name, info.Cluster.Leader)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2", info.State.Msgs)
	}
	var errs []error
	for _, name := range natsNodes {
		if nodes[name] == victim {
			continue
		}
		select {
		case <-nodes[name].done:
			errs = append(errs, fmt.Errorf("node %s exited", name))
		default:
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster formed in %v; killed leader %s, next publish acknowledged after %v",
		formed.Round(time.Millisecond), victim.name, failover.Round(time.Millisecond))
}
