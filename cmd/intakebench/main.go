// Command intakebench measures the webhook intake: signed registry_package
// deliveries of about 18 KB, each with a unique delivery id, posted over
// loopback to `pkgwarden serve` (PKGWARDEN_ROLES=web, so the webhooks stream
// keeps every message) and to a bare baseline that only verifies the HMAC
// and publishes to the same kind of embedded JetStream. Both servers run as
// subprocesses so that each peak RSS (VmHWM) is the server's own. After
// each run the stream must hold exactly the deliveries answered 202.
//
//	go run ./cmd/intakebench -duration 5s
//
// With -slow N it measures instead what slow senders cost serve: N
// connections each announce a 25 MiB body and send it a byte at a time
// while signed deliveries keep coming; it prints serve's RSS before and
// after, the body bytes in flight, and the deliveries taken meanwhile.
//
//	go run ./cmd/intakebench -slow 100 -duration 10s
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/handlers"
	"github.com/pkgwarden/pkgwarden/internal/benchproc"
	"github.com/pkgwarden/pkgwarden/queue"
)

const secret = "bench-secret"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline-server" {
		if err := baselineServer(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	duration := flag.Duration("duration", 3*time.Second, "load time per run")
	rounds := flag.Int("rounds", 2, "runs per server and mode, alternating which server goes first")
	conc := flag.Int("concurrency", 16, "concurrent connections")
	size := flag.Int("size", 18*1024, "approximate delivery size in bytes")
	bin := flag.String("pkgwarden", "", "pkgwarden binary (default: go build ./cmd/pkgwarden)")
	slow := flag.Int("slow", 0, "slow-sender mode: connections announcing 25 MiB and trickling a byte at a time, held while deliveries are sent for -duration")
	trickle := flag.Duration("trickle", 100*time.Millisecond, "slow-sender mode: interval between two bytes on each slow connection")
	flag.Parse()
	run := func() error { return bench(*duration, *rounds, *conc, *size, *bin) }
	if *slow > 0 {
		run = func() error { return slowBench(*slow, *trickle, *duration, *conc, *size, *bin) }
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "intakebench:", err)
		os.Exit(1)
	}
}

type result struct {
	name     string
	sent     int64
	accepted int64
	other    map[int]int64
	rate     float64
	p50, p99 time.Duration
	hwmKiB   int64
	stored   uint64
	lat      []time.Duration
	elapsed  time.Duration
}

// merge adds one run's figures to r.
func (r *result) merge(o result) {
	r.sent += o.sent
	r.accepted += o.accepted
	r.stored += o.stored
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
	r.hwmKiB = max(r.hwmKiB, o.hwmKiB)
	for k, v := range o.other {
		r.other[k] += v
	}
}

// finish computes the rate and percentiles over every merged run.
func (r *result) finish() result {
	slices.Sort(r.lat)
	r.rate = float64(r.sent) / r.elapsed.Seconds()
	r.p50 = r.lat[len(r.lat)*50/100]
	r.p99 = r.lat[len(r.lat)*99/100]
	return *r
}

func bench(duration time.Duration, rounds, conc, size int, bin string) error {
	tmp, err := os.MkdirTemp("", "intakebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin, err = benchproc.BuildPkgwarden(bin, tmp); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bodies := makeBodies(64, size)
	fmt.Printf("deliveries of %d bytes, %d connections, %d rounds of %s per server and mode (alternating order), %d cores\n\n", len(bodies[0].body), conc, rounds, duration, numCPU())
	var results []result
	for _, sync := range []bool{false, true} {
		// The machine is shared and noisy: alternate which server runs
		// first and merge the rounds, so neither gets the quieter slot.
		byKind := map[string]*result{}
		for round := range rounds {
			order := []string{"baseline", "serve"}
			if round%2 == 1 {
				order = []string{"serve", "baseline"}
			}
			for _, kind := range order {
				name := kind
				if sync {
					name += " SyncAlways"
				}
				dir := filepath.Join(tmp, strings.ReplaceAll(name, " ", "-")+"-"+strconv.Itoa(round))
				natsAddr, err := benchproc.FreePort()
				if err != nil {
					return err
				}
				var cmd *exec.Cmd
				if kind == "serve" {
					cmd = serveCmd(bin, dir, natsAddr, sync)
				} else {
					cmd = exec.Command(self, "baseline-server", "-dir", dir, "-nats", natsAddr, "-sync="+strconv.FormatBool(sync))
				}
				r, err := runOne(name, cmd, natsAddr, bodies, duration, conc)
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				if uint64(r.accepted) != r.stored {
					return fmt.Errorf("%s round %d: %d answered 202 but the stream holds %d", name, round, r.accepted, r.stored)
				}
				if byKind[kind] == nil {
					byKind[kind] = &result{name: name, other: map[int]int64{}}
				}
				byKind[kind].merge(r)
			}
		}
		for _, kind := range []string{"baseline", "serve"} {
			results = append(results, byKind[kind].finish())
		}
	}
	fmt.Printf("%-20s %10s %10s %9s %9s %10s %10s %s\n", "server", "deliv/s", "202s", "p50", "p99", "peak RSS", "stored", "other statuses")
	for _, r := range results {
		fmt.Printf("%-20s %10.0f %10d %9s %9s %7.1f MiB %10d %v\n", r.name, r.rate, r.accepted, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), float64(r.hwmKiB)/1024, r.stored, r.other)
	}
	fmt.Println()
	var failed []string
	for i := 0; i+1 < len(results); i += 2 {
		base, srv := results[i], results[i+1]
		ratio := srv.rate / base.rate
		fmt.Printf("%s: %.2fx the baseline's rate (target >= 0.8), p99 %s (target < 25ms), peak RSS %.1f MiB (target < 128 MiB)\n",
			srv.name, ratio, srv.p99.Round(10*time.Microsecond), float64(srv.hwmKiB)/1024)
		// The targets are for the default durability (the kernel's page
		// cache survives a killed process); SyncAlways is reported only,
		// its fsync per write is bounded by the disk, not by pkgwarden.
		if i == 0 && (ratio < 0.8 || srv.p99 >= 25*time.Millisecond || srv.hwmKiB >= 128*1024) {
			failed = append(failed, srv.name+" misses a target")
		}
	}
	for _, r := range results {
		if uint64(r.accepted) != r.stored {
			failed = append(failed, fmt.Sprintf("%s: %d answered 202 but the stream holds %d", r.name, r.accepted, r.stored))
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	fmt.Println("nothing lost: every stream holds exactly the deliveries answered 202")
	return nil
}

// serveCmd is `pkgwarden serve` with the web role only, so the webhooks
// stream keeps every delivery.
func serveCmd(bin, dir, natsAddr string, sync bool) *exec.Cmd {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"PKGWARDEN_WEBHOOK_SECRET="+secret,
		"PKGWARDEN_ROLES=web",
		"PKGWARDEN_LISTEN=127.0.0.1:0",
		"PKGWARDEN_DATA_DIR="+dir,
		"PKGWARDEN_NATS_LISTEN="+natsAddr,
		"PKGWARDEN_NATS_SYNC_ALWAYS="+strconv.FormatBool(sync),
	)
	return cmd
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

type signed struct {
	body []byte
	sig  string
}

// makeBodies builds n distinct registry_package deliveries of about size
// bytes, as GitHub sends them for a container push with its labels.
func makeBodies(n, size int) []signed {
	out := make([]signed, n)
	for i := range out {
		digest := fmt.Sprintf("sha256:%064x", i)
		labels := map[string]string{}
		for j := 0; len(fmt.Sprint(labels)) < size-2500; j++ {
			labels[fmt.Sprintf("org.example.label.%03d", j)] = strings.Repeat("v", 90)
		}
		ev := map[string]any{
			"action": "published",
			"registry_package": map[string]any{
				"id": 9001, "name": "app", "namespace": "acme", "ecosystem": "CONTAINER", "package_type": "CONTAINER",
				"html_url": "https://github.com/orgs/acme/packages/container/package/app",
				"owner":    map[string]any{"login": "acme", "id": 1001, "type": "Organization"},
				"package_version": map[string]any{
					"id": 7000 + i, "version": digest, "name": digest,
					"container_metadata": map[string]any{
						"tag":      map[string]any{"name": "", "digest": digest},
						"labels":   map[string]any{"all_labels": labels, "source": "https://github.com/acme/app"},
						"manifest": map[string]any{"digest": digest, "media_type": "application/vnd.oci.image.manifest.v1+json", "size": 1609},
					},
					"package_url": "ghcr.io/acme/app@" + digest,
				},
				"registry": map[string]any{"name": "GitHub CONTAINER registry", "type": "CONTAINER", "url": "https://ghcr.io/acme", "vendor": "GitHub Inc"},
			},
			"repository":   map[string]any{"id": 2001, "name": "app", "full_name": "acme/app", "owner": map[string]any{"login": "acme", "type": "Organization"}},
			"organization": map[string]any{"login": "acme", "id": 1001},
			"sender":       map[string]any{"login": "octocat", "id": 583231, "type": "User"},
			"installation": map[string]any{"id": 31337},
		}
		b, _ := json.Marshal(ev)
		out[i] = signed{body: b, sig: handlers.SignatureHeader([]byte(secret), b)}
	}
	return out
}

// runOne starts the server, loads it, reads its peak RSS and stream, and
// stops it.
func runOne(name string, cmd *exec.Cmd, natsAddr string, bodies []signed, duration time.Duration, conc int) (result, error) {
	addr, stop, err := start(cmd)
	if err != nil {
		return result{name: name}, err
	}
	defer stop()
	url := "http://" + addr + "/webhooks"
	transport := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()

	// Warm up connections and the server.
	post(client, url, bodies[0], name+"-warmup")
	r := load(client, url, bodies, duration, conc, name)
	r.accepted++ // the warm-up delivery
	r.hwmKiB, err = benchproc.StatusKiB(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return r, err
	}
	r.stored, err = storedDeliveries(natsAddr)
	return r, err
}

// start starts a server and returns its HTTP address, read from its
// "http listening" log line, and a function that stops it.
func start(cmd *exec.Cmd) (string, func(), error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct {
				Msg, Addr string
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "http listening" {
				addrCh <- rec.Addr
			}
		}
	}()
	select {
	case addr := <-addrCh:
		return addr, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, errors.New("server did not start")
	}
}

// load posts deliveries with conc connections for duration, each with a
// delivery id of its own.
func load(client *http.Client, url string, bodies []signed, duration time.Duration, conc int, name string) result {
	r := result{name: name, other: map[int]int64{}}
	var seq atomic.Int64
	var accepted atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 1<<16)
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			other := map[int]int64{}
			for i := w; time.Now().Before(stop); i++ {
				n := seq.Add(1)
				t0 := time.Now()
				code := post(client, url, bodies[i%len(bodies)], fmt.Sprintf("%s-%d", name, n))
				local = append(local, time.Since(t0))
				if code == http.StatusAccepted {
					accepted.Add(1)
				} else {
					other[code]++
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range other {
				r.other[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.sent = int64(len(lat))
	r.accepted = accepted.Load()
	r.lat = lat
	return r
}

// storedDeliveries counts the messages of the server's webhooks stream.
func storedDeliveries(natsAddr string) (uint64, error) {
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		return 0, fmt.Errorf("connect to the server's nats: %w", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), queue.StreamWebhooks)
	if err != nil {
		return 0, err
	}
	return queue.CountMessages(context.Background(), s)
}

func post(c *http.Client, url string, d signed, id string) int {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "registry_package")
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", d.sig)
	resp, err := c.Do(req)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// baselineServer is the bare comparison: read the body, verify the HMAC,
// publish to an embedded JetStream stream like serve's, answer 202.
func baselineServer(args []string) error {
	fs := flag.NewFlagSet("baseline-server", flag.ContinueOnError)
	dir := fs.String("dir", "", "data dir")
	natsAddr := fs.String("nats", "", "nats client address")
	syncAlways := fs.Bool("sync", false, "SyncAlways")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	emb, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: *dir, Listen: *natsAddr, SyncAlways: *syncAlways, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer emb.Shutdown()
	nc, err := emb.Connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: queue.StreamWebhooks, Subjects: []string{queue.WebhooksSubject + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute,
	}); err != nil {
		return err
	}
	key := []byte(secret)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		sig, _ := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if !hmac.Equal(sig, mac.Sum(nil)) {
			w.WriteHeader(401)
			return
		}
		msg := &nats.Msg{Subject: queue.WebhooksSubject + "." + r.Header.Get("X-GitHub-Event"), Data: body,
			Header: nats.Header{jetstream.MsgIDHeader: []string{r.Header.Get("X-GitHub-Delivery")}}}
		if _, err := js.PublishMsg(r.Context(), msg); err != nil {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(202)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	line, _ := json.Marshal(map[string]string{"msg": "http listening", "addr": ln.Addr().String()})
	fmt.Fprintln(os.Stderr, string(line))
	<-ctx.Done()
	return srv.Close()
}

// slowBench holds n slow connections on serve, each announcing a 25 MiB
// body (GitHub's cap) and sending it a byte every trickle, while conc
// connections post signed deliveries for duration; it reports serve's RSS
// before and after, the body bytes the intake holds, and what the
// deliveries and the slow connections were answered.
func slowBench(n int, trickle, duration time.Duration, conc, size int, bin string) error {
	tmp, err := os.MkdirTemp("", "intakebench-slow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin, err = benchproc.BuildPkgwarden(bin, tmp); err != nil {
		return err
	}
	natsAddr, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	cmd := serveCmd(bin, filepath.Join(tmp, "data"), natsAddr, false)
	addr, stop, err := start(cmd)
	if err != nil {
		return err
	}
	defer stop()
	pid := cmd.Process.Pid
	base := "http://" + addr
	transport := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	bodies := makeBodies(64, size)
	fmt.Printf("serve pid %d; deliveries of %d bytes on %d connections; %d slow connections announcing %d bytes, a byte every %s; %d cores\n\n",
		pid, len(bodies[0].body), conc, n, handlers.MaxBodyBytes, trickle, numCPU())

	// Warm-up: serve's pools, JetStream and the connections.
	warm := load(client, base+"/webhooks", bodies, time.Second, conc, "warm")
	rssBefore, err := benchproc.StatusKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	hwmBefore, _ := benchproc.StatusKiB(pid, "VmHWM")
	m, err := scrape(base)
	if err != nil {
		return err
	}
	fdsBefore := m["process_open_fds"]

	// The slow connections: headers, the body's first byte, then a byte
	// every trickle. A reader per connection notes serve's answer, if any.
	conns := make([]net.Conn, 0, n)
	answers := make(chan int, n)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("slow connection %d: %w", i, err)
		}
		defer c.Close()
		head := fmt.Sprintf("POST /webhooks HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
			"X-GitHub-Event: registry_package\r\nX-GitHub-Delivery: slow-%d\r\nX-Hub-Signature-256: sha256=%s\r\n\r\n{",
			addr, handlers.MaxBodyBytes, i, strings.Repeat("0", 64))
		if _, err := io.WriteString(c, head); err != nil {
			return fmt.Errorf("slow connection %d: %w", i, err)
		}
		conns = append(conns, c)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- 0 // closed without an answer
				return
			}
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	// serve has accepted every slow connection.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if m, err = scrape(base); err != nil {
			return err
		}
		if m["process_open_fds"] >= fdsBefore+float64(n) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serve holds %v fds, want at least %v with the slow connections", m["process_open_fds"], fdsBefore+float64(n))
		}
		time.Sleep(10 * time.Millisecond)
	}
	trickled := make(chan struct{})
	stopTrickle := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(trickle)
		defer tick.Stop()
		for {
			select {
			case <-stopTrickle:
				return
			case <-tick.C:
			}
			for _, c := range conns {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte(" "))
			}
		}
	}()

	// What the slow connections alone cost, once each has trickled a
	// few bytes more.
	time.Sleep(3 * trickle)
	rssHeld, err := benchproc.StatusKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	inFlightHeld := -1.0
	if m, err := scrape(base); err == nil {
		if v, ok := m[inFlightMetric]; ok {
			inFlightHeld = v
		}
	}

	// Deliveries while the slow connections are held; the highest body
	// bytes in flight is sampled meanwhile.
	sampled := make(chan float64)
	loaded := make(chan struct{})
	go func() {
		var peak float64
		for {
			if m, err := scrape(base); err == nil {
				peak = max(peak, m[inFlightMetric])
			}
			select {
			case <-loaded:
				sampled <- peak
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	phase := load(client, base+"/webhooks", bodies, duration, conc, "during")
	phase.finish()
	close(loaded)
	peakInFlight := <-sampled
	rssAfter, err := benchproc.StatusKiB(pid, "VmRSS")
	if err != nil {
		return err
	}
	hwmAfter, _ := benchproc.StatusKiB(pid, "VmHWM")
	held, err := scrape(base)
	if err != nil {
		return err
	}
	close(stopTrickle)
	<-trickled
	statuses := map[int]int{}
	for open := true; open; {
		select {
		case code := <-answers:
			statuses[code]++
		default:
			open = false
		}
	}
	answered := 0
	for _, v := range statuses {
		answered += v
	}
	for _, c := range conns {
		c.Close()
	}
	// Once the slow clients are gone, their budget comes back.
	_, gauged := held[inFlightMetric]
	released := "n/a (this serve has no " + inFlightMetric + ")"
	if gauged {
		released = "no"
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if m, err := scrape(base); err == nil && m[inFlightMetric] == 0 {
				released = "yes, 0 bytes in flight"
				break
			}
		}
	}
	stored, err := storedDeliveries(natsAddr)
	if err != nil {
		return err
	}

	mib := func(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
	fmt.Printf("serve RSS before the slow connections: VmRSS %s, VmHWM %s (after %d warm-up deliveries)\n", mib(rssBefore), mib(hwmBefore), warm.accepted)
	fmt.Printf("serve RSS with %d slow connections held, before the deliveries: VmRSS %s (%+.1f MiB)\n", n, mib(rssHeld), float64(rssHeld-rssBefore)/1024)
	fmt.Printf("serve RSS with %d slow connections, after %s of deliveries: VmRSS %s (%+.1f MiB), VmHWM %s\n", n, duration, mib(rssAfter), float64(rssAfter-rssBefore)/1024, mib(hwmAfter))
	if gauged {
		fmt.Printf("body bytes in flight: %.2f MiB with the slow connections alone, %.2f MiB at the end, %.2f MiB at the highest sample\n",
			inFlightHeld/(1<<20), held[inFlightMetric]/(1<<20), peakInFlight/(1<<20))
	} else {
		fmt.Printf("body bytes in flight: n/a (this serve has no %s)\n", inFlightMetric)
	}
	fmt.Printf("deliveries meanwhile (%s): %d sent, %d answered 202 (%.0f/s), p50 %s, p99 %s, other statuses %v\n",
		duration, phase.sent, phase.accepted, float64(phase.accepted)/phase.elapsed.Seconds(),
		phase.p50.Round(10*time.Microsecond), phase.p99.Round(10*time.Microsecond), phase.other)
	fmt.Printf("slow connections answered while held: %d of %d %v; refused as unavailable in all: %.0f\n",
		answered, n, statuses, sumSeries(held, `pkgwarden_webhooks_total{`, `result="unavailable"`))
	fmt.Printf("budget back after the slow clients left: %s\n", released)
	accepted := uint64(warm.accepted + phase.accepted)
	fmt.Printf("stream holds %d deliveries, %d answered 202\n", stored, accepted)
	if stored != accepted {
		return fmt.Errorf("%d answered 202 but the stream holds %d", accepted, stored)
	}
	return nil
}

const inFlightMetric = "pkgwarden_webhook_body_bytes_in_flight"

// scrape reads serve's /metrics into series → value; a series is written
// as in the exposition, name{labels}.
func scrape(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sumSeries adds the series whose name starts with prefix and that
// contain label.
func sumSeries(m map[string]float64, prefix, label string) float64 {
	var sum float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) && strings.Contains(k, label) {
			sum += v
		}
	}
	return sum
}
