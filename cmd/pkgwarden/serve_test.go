package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// binary is the pkgwarden built once for the subprocess tests, with the
// test instrumentation of testhooks.go (PKGWARDEN_TEST_*) compiled in.
var binary string

// testHooksTag is the build tag that compiles testhooks.go in.
const testHooksTag = "pkgwardentest"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pkgwarden-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pkgwarden")
	out, err := exec.Command("go", "build", "-tags", testHooksTag, "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const secret = "test-secret"

// proc is a running `pkgwarden serve`.
type proc struct {
	cmd    *exec.Cmd
	addr   string // HTTP address
	done   chan struct{}
	stderr *bytes.Buffer
	mu     *sync.Mutex
}

// baseEnv is a clean environment with only PATH and HOME kept.
func baseEnv(extra map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// recordingEnv is the environment of a serve over data dir dir whose
// workers record every job they run in record, each job taking jobSleep;
// extra adds to it.
func recordingEnv(dir, record string, workers int, jobSleep string, extra map[string]string) map[string]string {
	env := map[string]string{
		"PKGWARDEN_DATA_DIR":       dir,
		"PKGWARDEN_WORKERS":        strconv.Itoa(workers),
		"PKGWARDEN_TEST_RECORD":    record,
		"PKGWARDEN_TEST_JOB_SLEEP": jobSleep,
	}
	maps.Copy(env, extra)
	return env
}

// startServe starts serve and waits until /readyz answers 200.
func startServe(t *testing.T, env map[string]string) *proc {
	t.Helper()
	full := map[string]string{
		"PKGWARDEN_WEBHOOK_SECRET": secret,
		"PKGWARDEN_LISTEN":         "127.0.0.1:0",
		"PKGWARDEN_LEASE_TTL":      "2s",
	}
	for k, v := range env {
		full[k] = v
	}
	cmd := exec.Command(binary, "serve")
	cmd.Env = baseEnv(full)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &proc{cmd: cmd, done: make(chan struct{}), stderr: &bytes.Buffer{}, mu: &sync.Mutex{}}
	addrCh := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "http listening" {
				addrCh <- rec.Addr
			}
		}
	}()
	// done closes once the process exited and its last log line was read,
	// so a test reading the log after done sees everything.
	go func() { cmd.Wait(); <-logDone; close(p.done) }()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		t.Fatalf("serve exited early:\n%s", p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", p.log())
	}
	ready := testwait.Until(30*time.Second, func() bool {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if !ready {
		t.Fatalf("serve not ready:\n%s", p.log())
	}
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// get returns the body of a GET on the HTTP server.
func (p *proc) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(b)
}

// kill sends SIGKILL and waits.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// send posts a signed delivery and returns the status.
func (p *proc) send(t *testing.T, event, delivery string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/webhooks", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", handlers.SignatureHeader([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", delivery, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func packageBody(name string) []byte {
	return fmt.Appendf(nil, `{"action":"published","installation":{"id":7},"organization":{"login":"acme"},
		"registry_package":{"name":%q,"package_type":"CONTAINER","owner":{"login":"acme","type":"Organization"}}}`, name)
}

// readRecord reads the lines the test handler wrote.
func readRecord(t *testing.T, path string) []recordLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []recordLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var r recordLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("record line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

func TestServeRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		env  map[string]string
		want string
	}{
		"no webhook secret":      {env: map[string]string{"PKGWARDEN_DATA_DIR": dir}, want: "PKGWARDEN_WEBHOOK_SECRET"},
		"unreadable private key": {env: map[string]string{"PKGWARDEN_DATA_DIR": dir, "PKGWARDEN_WEBHOOK_SECRET": "s", "PKGWARDEN_APP_ID": "12", "PKGWARDEN_PRIVATE_KEY_PATH": filepath.Join(dir, "missing.pem")}, want: "PKGWARDEN_PRIVATE_KEY_PATH"},
		"bad replicas":           {env: map[string]string{"PKGWARDEN_DATA_DIR": dir, "PKGWARDEN_WEBHOOK_SECRET": "s", "PKGWARDEN_NATS_REPLICAS": "2"}, want: "PKGWARDEN_NATS_REPLICAS"},
		"log format xml":         {env: map[string]string{"PKGWARDEN_DATA_DIR": dir, "PKGWARDEN_WEBHOOK_SECRET": "s", "PKGWARDEN_LOG_FORMAT": "xml"}, want: `PKGWARDEN_LOG_FORMAT must be json or text, not "xml"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(binary, "serve")
			cmd.Env = baseEnv(tc.env)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("stderr = %q, want one line naming %s", out, tc.want)
			}
		})
	}
}

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	a := startServe(t, map[string]string{"PKGWARDEN_DATA_DIR": dir})

	cmd := exec.Command(binary, "serve")
	cmd.Env = baseEnv(map[string]string{"PKGWARDEN_DATA_DIR": dir, "PKGWARDEN_WEBHOOK_SECRET": secret, "PKGWARDEN_LISTEN": "127.0.0.1:0"})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("a second serve on the same data dir started")
	}
	want := fmt.Sprintf("is locked by pid %d", a.cmd.Process.Pid)
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("second serve said %q, want it to contain %q", stderr.String(), want)
	}

	a.kill() // kill -9: no chance to unlock
	b := startServe(t, map[string]string{"PKGWARDEN_DATA_DIR": dir})
	if code := b.send(t, "registry_package", "after-kill", packageBody("app")); code != http.StatusAccepted {
		t.Fatalf("delivery after restart: %d", code)
	}
}

// TestSIGTERMStopsCleanly stops serve with SIGTERM: it exits 0 after
// draining, and a new serve can take the data dir at once.
func TestSIGTERMStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, map[string]string{"PKGWARDEN_DATA_DIR": dir})
	if code := p.send(t, "registry_package", "term-1", packageBody("app")); code != http.StatusAccepted {
		t.Fatalf("delivery: %d", code)
	}
	// The job of that delivery shows in the metrics, with every other
	// metric serve owns.
	testwait.For(t, "the job in /metrics", 10*time.Second, func() bool {
		return strings.Contains(p.get(t, "/metrics"), `pkgwarden_jobs_total{result="success",type="prune"} 1`)
	})
	metrics := p.get(t, "/metrics")
	for _, name := range []string{
		`pkgwarden_webhooks_total{event="registry_package",result="accepted"} 1`,
		`pkgwarden_job_duration_seconds_count{type="prune"} 1`,
		`pkgwarden_queue_pending 0`,
		`pkgwarden_dead_letters 0`,
	} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop after SIGTERM:\n%s", p.log())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), `"msg":"pkgwarden stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", p.log())
	}
	startServe(t, map[string]string{"PKGWARDEN_DATA_DIR": dir})
}

// TestKill9KeepsAcceptedJobs sends deliveries, kills serve with SIGKILL
// while their jobs are running, restarts it, and expects every package
// processed.
func TestKill9KeepsAcceptedJobs(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(t.TempDir(), "record.jsonl")
	env := recordingEnv(dir, record, 1, "100ms", nil)
	p := startServe(t, env)
	const n = 20
	for i := range n {
		if code := p.send(t, "registry_package", "kill-"+strconv.Itoa(i), packageBody("pkg-"+strconv.Itoa(i))); code != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, code)
		}
	}
	// Kill in the middle of the work: some jobs done, one running, the
	// rest queued.
	testwait.For(t, "the first job", 10*time.Second, func() bool { return len(readRecord(t, record)) > 0 })
	p.kill()
	before := len(readRecord(t, record))
	if before >= n {
		t.Fatalf("all %d jobs ran before the kill; the test proves nothing", n)
	}
	startServe(t, env)
	testwait.For(t, "every package processed after the restart", 60*time.Second, func() bool {
		seen := map[string]bool{}
		for _, r := range readRecord(t, record) {
			seen[r.Package] = true
		}
		return len(seen) == n
	})
	t.Logf("%d of %d jobs ran before the kill", before, n)
}

// TestTwoProcessesNeverOverlap runs two serve processes on one NATS (the
// first embeds it with a client port, the second connects to it), three
// or more workers in all, over 100 deliveries for 5 packages.
func TestTwoProcessesNeverOverlap(t *testing.T) {
	record := filepath.Join(t.TempDir(), "record.jsonl")
	natsAddr := freePort(t)
	a := startServe(t, recordingEnv(t.TempDir(), record, 2, "30ms", map[string]string{
		"PKGWARDEN_NATS_LISTEN": natsAddr,
	}))
	b := startServe(t, recordingEnv(t.TempDir(), record, 2, "30ms", map[string]string{
		"PKGWARDEN_NATS_URL": "nats://" + natsAddr,
		"PKGWARDEN_ROLES":    "worker",
	}))
	lastDelivery := map[string]string{}
	for i := range 100 {
		name := "pkg-" + strconv.Itoa(i%5)
		id := "two-" + strconv.Itoa(i)
		if code := a.send(t, "registry_package", id, packageBody(name)); code != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d", i, code)
		}
		lastDelivery[name] = id
		time.Sleep(5 * time.Millisecond) // on purpose: deliver while the workers run
	}
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	count := func(name string) uint64 { return queuetest.Stored(t, js, name) }
	testwait.For(t, "all deliveries routed and all jobs done", 60*time.Second, func() bool {
		return count(queue.StreamWebhooks) == 0 && count(queue.StreamJobs) == 0
	})
	// Every delivery recorded as processed, and nothing pending with the
	// router or the workers: a stray run has been recorded by then.
	deliveries, err := js.KeyValue(context.Background(), queue.BucketDeliveries)
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "every delivery recorded as processed, the router and the workers idle", 30*time.Second, func() bool {
		for i := range 100 {
			if _, err := deliveries.Get(context.Background(), queue.Key("two-"+strconv.Itoa(i))); err != nil {
				return false
			}
		}
		return queuetest.ConsumersIdle(t, js)
	})
	runs := readRecord(t, record)
	byPkg := map[string][]recordLine{}
	pids := map[int]int{}
	for _, r := range runs {
		byPkg[r.Package] = append(byPkg[r.Package], r)
		pids[r.PID]++
	}
	if len(byPkg) != 5 {
		t.Fatalf("runs for %d packages, want 5", len(byPkg))
	}
	for name, rs := range byPkg {
		ranLast := false
		for i := range rs {
			ranLast = ranLast || rs[i].Delivery == lastDelivery[name]
			for j := i + 1; j < len(rs); j++ {
				if rs[i].Start.Before(rs[j].End) && rs[j].Start.Before(rs[i].End) {
					t.Errorf("%s: runs overlap: pid %d [%s, %s] and pid %d [%s, %s]", name,
						rs[i].PID, rs[i].Start.Format(time.StampMicro), rs[i].End.Format(time.StampMicro),
						rs[j].PID, rs[j].Start.Format(time.StampMicro), rs[j].End.Format(time.StampMicro))
				}
			}
		}
		// Coalescing may skip jobs in the middle of a burst, never the
		// last one: nothing newer can replace it.
		if !ranLast {
			t.Errorf("%s: its last delivery %s never ran", name, lastDelivery[name])
		}
	}
	if pids[a.cmd.Process.Pid] == 0 || pids[b.cmd.Process.Pid] == 0 {
		t.Errorf("runs per process = %v: both processes should have worked", pids)
	}
	if n := count(queue.StreamDeadLetters); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	t.Logf("%d runs for 100 deliveries, per process %v", len(runs), pids)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestDispatcher(t *testing.T) {
	tests := map[string]struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		"no args":         {args: nil, wantCode: 2, wantErr: "usage: pkgwarden"},
		"help":            {args: []string{"help"}, wantCode: 0, wantErr: "serve"},
		"unknown":         {args: []string{"frobnicate"}, wantCode: 2, wantErr: `unknown command "frobnicate"`},
		"version":         {args: []string{"version"}, wantCode: 0, wantOut: "pkgwarden "},
		"serve with args": {args: []string{"serve", "extra"}, wantCode: 2, wantErr: "serve takes no arguments"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
			}
		})
	}
}
