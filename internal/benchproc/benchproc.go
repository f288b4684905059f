// Package benchproc is what the benchmark commands (cmd/intakebench,
// cmd/scalebench) need to run pkgwarden as a child process and measure it
// from outside: a pkgwarden binary, a free local port, and the process's
// memory as Linux reports it.
package benchproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// BuildPkgwarden returns bin, or a pkgwarden built into dir when bin is "".
func BuildPkgwarden(bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "pkgwarden")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pkgwarden/pkgwarden/cmd/pkgwarden").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build pkgwarden: %w\n%s", err, out)
	}
	return bin, nil
}

// FreePort is a loopback address no one listens on at the moment.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StatusKiB reads a field of /proc/<pid>/status given in kB, such as VmRSS
// (resident set size) or VmHWM (its peak).
func StatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// ResetPeakRSS sets a process's VmHWM back to its RSS (Linux: 5 written to
// clear_refs), so that the next peak read is that of what ran since. It
// reports whether the kernel took it.
func ResetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}
