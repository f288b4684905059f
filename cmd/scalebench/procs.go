package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/scaleworld"
)

// proc is a subprocess whose end is noticed.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc starts cmd with its stdout and stderr in logPath.
func startProc(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the process to end.
func (p *proc) stop(sig syscall.Signal) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// failure describes a process that ended early, with its log's tail.
func (p *proc) failure() error {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, strings.Join(lines, "\n"))
}

// until polls cond every 50 ms until it holds (nil), it fails, p exits
// or limit passes.
func until(ctx context.Context, p *proc, limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if p != nil && p.exited() {
			return p.failure()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s", what, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// simInfo is what `pkgwarden sim --info-file` writes that scalebench uses.
type simInfo struct {
	APIURL         string           `json:"api_url"`
	RegistryURL    string           `json:"registry_url"`
	AppID          int64            `json:"app_id"`
	PrivateKeyPath string           `json:"private_key_path"`
	WebhookSecret  string           `json:"webhook_secret"`
	Scale          *scaleworld.Info `json:"scale"`
}

// simRateLimits are the simulator's limits: every request counted, none
// refused, and a primary limit so high that serve's pacing never finds it
// running low. "off" would not do: the simulator then still advertises
// GitHub's 15,000 an hour in X-RateLimit-Remaining, and serve pauses the
// token when 50 are left, as it must on GitHub, where a cold sweep of a
// million versions (about 117 primary-limit requests a package, most of
// them deletions) reaches it after about 130 packages.
const simRateLimits = "primary=1000000000/1h,secondary=off,concurrency=off"

// startSim starts the simulator seeded with spec, with simRateLimits and
// without webhooks (the sweeps alone are measured), and waits for its
// info file.
func startSim(ctx context.Context, bin, dir string, spec scaleworld.Spec) (*proc, simInfo, error) {
	infoPath := filepath.Join(dir, "sim.json")
	cmd := exec.Command(bin, "sim", "--listen", "127.0.0.1:0", "--seed", scaleworld.SeedName(spec),
		"--info-file", infoPath, "--rate-limits", simRateLimits)
	p, err := startProc("pkgwarden sim", cmd, filepath.Join(dir, "sim.log"))
	if err != nil {
		return nil, simInfo{}, err
	}
	var info simInfo
	err = until(ctx, p, 30*time.Minute, "the simulator's info file", func() (bool, error) {
		b, err := os.ReadFile(infoPath)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, json.Unmarshal(b, &info)
	})
	if err == nil && info.Scale == nil {
		err = errors.New("the simulator's info file has no scale world")
	}
	if err != nil {
		p.stop(syscall.SIGKILL)
		return nil, info, err
	}
	return p, info, nil
}

// serveEnv is serve's environment: the simulator's App and the admin's
// packages token, the embedded NATS server on natsAddr with its store in
// dataDir, the web and worker roles (scalebench is the scheduler), and
// the pacing budgets.
func serveEnv(cfg config, info simInfo, addr, natsAddr, dataDir string) []string {
	env := os.Environ()
	if cfg.ServeMemLimit != "" {
		env = append(env, "GOMEMLIMIT="+cfg.ServeMemLimit)
	}
	return append(env,
		"PKGWARDEN_APP_ID="+strconv.FormatInt(info.AppID, 10),
		"PKGWARDEN_PRIVATE_KEY_PATH="+info.PrivateKeyPath,
		"PKGWARDEN_WEBHOOK_SECRET="+info.WebhookSecret,
		"PKGWARDEN_PACKAGES_TOKENS="+info.Scale.Org+"="+info.Scale.Token,
		"PKGWARDEN_GITHUB_API_URL="+info.APIURL,
		"PKGWARDEN_REGISTRY_URL="+info.RegistryURL,
		"PKGWARDEN_LISTEN="+addr,
		"PKGWARDEN_DATA_DIR="+dataDir,
		"PKGWARDEN_NATS_LISTEN="+natsAddr,
		"PKGWARDEN_ROLES=web,worker",
		"PKGWARDEN_WORKERS="+strconv.Itoa(cfg.Workers),
		"PKGWARDEN_PACING_MUTATING="+strconv.Itoa(cfg.Mutating),
		"PKGWARDEN_PACING_POINTS="+strconv.Itoa(cfg.Points),
		"PKGWARDEN_PACING_APP_MUTATING="+strconv.Itoa(cfg.AppMutating),
	)
}

// startServe starts serve and waits until its /readyz answers 200; it
// returns how long that took.
func startServe(ctx context.Context, bin string, env []string, addr, logPath string) (*proc, time.Duration, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	start := time.Now()
	p, err := startProc("pkgwarden serve", cmd, logPath)
	if err != nil {
		return nil, 0, err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	err = until(ctx, p, 2*time.Minute, "serve ready (/readyz 200)", func() (bool, error) {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	took := time.Since(start)
	if err != nil {
		p.stop(syscall.SIGKILL)
		return nil, 0, err
	}
	return p, took, nil
}

// dirBytes is the size of the files under dir (what du counts, without
// the blocks' rounding).
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}
