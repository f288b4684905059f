package testwait_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
)

func TestUntilReturnsOnceCondHolds(t *testing.T) {
	var calls atomic.Int32
	start := time.Now()
	if !testwait.Until(10*time.Second, func() bool { return calls.Add(1) >= 3 }) {
		t.Fatal("Until reported a timeout for a condition that held")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("cond called %d times, want 3 (stop at the first true)", n)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s for a condition true at the third look", took)
	}
}

func TestUntilTimesOut(t *testing.T) {
	var calls atomic.Int32
	start := time.Now()
	if testwait.Until(50*time.Millisecond, func() bool { calls.Add(1); return false }) {
		t.Fatal("Until reported success for a condition that never held")
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("gave up after %s, before the 50ms limit", took)
	}
	if calls.Load() < 2 {
		t.Errorf("cond called %d times, want a look at the start and one after the limit", calls.Load())
	}
}

func TestUntilLooksOnceWithNoTimeLeft(t *testing.T) {
	if !testwait.Until(-time.Second, func() bool { return true }) {
		t.Fatal("a condition already true must be seen even with no time left")
	}
}

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestForNamesWhatItWaitedFor(t *testing.T) {
	f := &fakeTB{TB: t}
	testwait.For(f, "the thing", 20*time.Millisecond, func() bool { return false })
	if want := "timed out after 20ms waiting for the thing"; f.failed != want {
		t.Errorf("failure %q, want %q", f.failed, want)
	}
	f = &fakeTB{TB: t}
	testwait.For(f, "the thing", time.Second, func() bool { return true })
	if f.failed != "" {
		t.Errorf("For failed (%q) for a condition that held", f.failed)
	}
}
