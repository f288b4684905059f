package benchproc_test

import (
	"net"
	"os"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/benchproc"
)

// TestStatusKiB: this process's VmRSS and VmHWM are read, the peak at least
// the resident size; an unknown field and an unknown process are errors.
func TestStatusKiB(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	pid := os.Getpid()
	rss, err := benchproc.StatusKiB(pid, "VmRSS")
	if err != nil || rss <= 0 {
		t.Fatalf("VmRSS = %d, %v", rss, err)
	}
	hwm, err := benchproc.StatusKiB(pid, "VmHWM")
	if err != nil || hwm < rss {
		t.Fatalf("VmHWM = %d (VmRSS %d), %v", hwm, rss, err)
	}
	if _, err := benchproc.StatusKiB(pid, "NoSuchField"); err == nil {
		t.Error("an unknown field read without error")
	}
	if _, err := benchproc.StatusKiB(-1, "VmRSS"); err == nil {
		t.Error("an unknown process read without error")
	}
}

// TestFreePort: the address is free: one can listen on it.
func TestFreePort(t *testing.T) {
	addr, err := benchproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
}
