package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is a ```sh block of README.md with the HTML comment before
// it: <!-- readme-test session=NAME expect="TEXT" --> runs it, with the
// other blocks of its session, in one bash as a reader pasting them would,
// and expects TEXT in its output; <!-- readme-test skip="WHY" --> says why
// it is not run.
type readmeBlock struct {
	line            int // of the opening fence, 1-based
	code            string
	session, expect string
	skip            string
}

var (
	readmeMarker = regexp.MustCompile(`^<!--\s*readme-test\b(.*?)-->\s*$`)
	readmeAttr   = regexp.MustCompile(`(\w+)=(?:"([^"]*)"|'([^']*)'|([^\s"']+))`)
)

// readmeBlocks returns every ```sh block of the markdown text. A block
// without a readme-test comment right before it is an error: each block
// is either run or said not to be.
func readmeBlocks(text string) ([]readmeBlock, error) {
	lines := strings.Split(text, "\n")
	var blocks []readmeBlock
	var errs []string
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		b := readmeBlock{line: i + 1}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		b.code = strings.Join(lines[i+1:end], "\n") + "\n"
		m := []string(nil)
		if i > 0 {
			m = readmeMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1]))
		}
		if m == nil {
			errs = append(errs, fmt.Sprintf("README.md:%d: a ```sh block without <!-- readme-test session=NAME expect=\"...\" --> (run it) or <!-- readme-test skip=\"why\" --> right before it", b.line))
		} else {
			for _, a := range readmeAttr.FindAllStringSubmatch(m[1], -1) {
				v := a[2] + a[3] + a[4]
				switch a[1] {
				case "session":
					b.session = v
				case "expect":
					b.expect = v
				case "skip":
					b.skip = v
				default:
					errs = append(errs, fmt.Sprintf("README.md:%d: unknown readme-test attribute %q", i, a[1]))
				}
			}
			if (b.skip == "") == (b.session == "") {
				errs = append(errs, fmt.Sprintf("README.md:%d: a readme-test comment needs either session= or skip=", i))
			}
		}
		blocks = append(blocks, b)
		i = end
	}
	if len(errs) > 0 {
		return blocks, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

// TestReadmeBlocks runs the README's command blocks, each session in a
// fresh bash with the pkgwarden TestMain built first on PATH, in a
// temporary directory: the addresses 127.0.0.1:8090 and 127.0.0.1:8080
// are replaced by free ports and /tmp/ by that directory, so that it runs
// beside anything else on the machine. Each block must end with status 0
// and print its expected text; after the session, what it started must
// have stopped (its ports closed). Blocks marked skip are not run: the
// demo (TestDemoRun), the test command, the install line, and those
// needing GitHub, a NATS cluster or GitHub Enterprise.
func TestReadmeBlocks(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's blocks need %s (apt-get install %s; .ci/run installs it): %v", tool, tool, err)
		}
	}
	var order []string
	sessions := map[string][]readmeBlock{}
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		if sessions[b.session] == nil {
			order = append(order, b.session)
		}
		sessions[b.session] = append(sessions[b.session], b)
	}
	if len(order) == 0 {
		t.Fatal("no README block is marked to run")
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) { runReadmeSession(t, sessions[name]) })
	}
}

func runReadmeSession(t *testing.T, blocks []readmeBlock) {
	dir := t.TempDir()
	ports := map[string]string{"127.0.0.1:8090": freeAddr(t), "127.0.0.1:8080": freeAddr(t)}
	subst := func(s string) string {
		for from, to := range ports {
			s = strings.ReplaceAll(s, from, to)
		}
		return strings.ReplaceAll(s, "/tmp/", dir+"/")
	}
	var script strings.Builder
	for i, b := range blocks {
		fmt.Fprintf(&script, "echo '<<<readme-block %d>>>'\n%s\necho \"<<<readme-block %d status $?>>>\"\n", i, subst(b.code), i)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}
	// Its own process group, so that whatever a block left running is
	// ended with it (after the check that the blocks stopped it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	out := stdout.String()
	report := func() string {
		return fmt.Sprintf("script:\n%s\nstdout:\n%s\nstderr:\n%s\nsim.log:\n%s\nserve.log (tail):\n%s",
			script.String(), out, stderr.String(), readTail(filepath.Join(dir, "sim.log")), readTail(filepath.Join(dir, "serve.log")))
	}
	if runErr != nil {
		t.Errorf("bash: %v (timeout 50s)", runErr)
	}
	for i, b := range blocks {
		start := strings.Index(out, fmt.Sprintf("<<<readme-block %d>>>", i))
		endRe := regexp.MustCompile(fmt.Sprintf(`<<<readme-block %d status (\d+)>>>`, i))
		loc := endRe.FindStringSubmatchIndex(out)
		if start < 0 || loc == nil {
			t.Errorf("README.md:%d: the block did not finish", b.line)
			continue
		}
		status, _ := strconv.Atoi(out[loc[2]:loc[3]])
		if status != 0 {
			t.Errorf("README.md:%d: the block ended with status %d", b.line, status)
		}
		if want := subst(b.expect); !strings.Contains(out[start:loc[0]], want) {
			t.Errorf("README.md:%d: the block's output lacks %q", b.line, want)
		}
	}
	// The session's last block stops what it started: nothing listens on
	// its ports any more.
	for _, addr := range ports {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after the session: a block left a process running", addr)
		}
	}
	if pid != 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if t.Failed() {
		t.Log(report())
	}
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func TestReadmeBlocksParse(t *testing.T) {
	tests := map[string]struct {
		md      string
		want    []readmeBlock
		wantErr string
	}{
		"run": {
			md:   "text\n<!-- readme-test session=a expect='\"x\": 1' -->\n```sh\necho 1\n```\n",
			want: []readmeBlock{{line: 3, code: "echo 1\n", session: "a", expect: `"x": 1`}},
		},
		"skip": {
			md:   "<!-- readme-test skip=\"needs GitHub\" -->\n```sh\nx\ny\n```\n```yaml\nz\n```\n",
			want: []readmeBlock{{line: 2, code: "x\ny\n", skip: "needs GitHub"}},
		},
		"unmarked":          {md: "```sh\nx\n```\n", wantErr: "README.md:1: a ```sh block without"},
		"neither":           {md: "<!-- readme-test expect=\"a\" -->\n```sh\nx\n```\n", wantErr: "needs either session= or skip="},
		"unknown attribute": {md: "<!-- readme-test sesion=\"a\" -->\n```sh\nx\n```\n", wantErr: `unknown readme-test attribute "sesion"`},
	}
	for label, tc := range tests {
		t.Run(label, func(t *testing.T) {
			got, err := readmeBlocks(tc.md)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("blocks = %+v, want %+v", got, tc.want)
			}
		})
	}
}
