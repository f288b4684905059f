// Package testwait is test support: the one way the module's tests wait
// for a condition to become true. It is for tests only; production code
// must not import it (it is a plain package, not a _test.go file, so that
// the tests of every package can import it).
//
// A test that has to show something did not happen waits first for a
// positive sign that the thing which could have happened has been dealt
// with (a delivery recorded as processed, a consumer with nothing pending,
// a counter reaching its value), and only then looks for the absence: a
// fixed sleep followed by the check passes silently on a slow machine.
package testwait

import (
	"testing"
	"time"
)

// The pause between two looks starts at firstPause and doubles up to
// maxPause: a condition that holds soon is seen soon, and a long wait
// costs few looks.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// Until calls cond until it returns true or limit has passed, and reports
// whether it returned true. cond is always called at least once, and once
// more after the limit has passed, so a slow cond is not cut short. cond
// runs on the caller's goroutine: it may call t.Fatal.
func Until(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	pause := firstPause
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return cond()
		}
		time.Sleep(min(pause, max(time.Until(deadline), time.Millisecond)))
		pause = min(2*pause, maxPause)
	}
}

// For waits, as Until does, for cond to return true, and fails t with
// "timed out after <limit> waiting for <what>" if it does not within
// limit.
func For(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	if !Until(limit, cond) {
		t.Fatalf("timed out after %s waiting for %s", limit, what)
	}
}
