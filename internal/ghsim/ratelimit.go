package ghsim

import (
	"net/http"
	"strconv"
	"time"
)

// pkRateLimit is the fixed primary budget the simulator advertises. It is
// generous on purpose: real rate limiting (counting, secondary limits with
// Retry-After) comes later (DESIGN.md, "Added as later work needs them").
const pkRateLimit = 15000

// withRateHeaders adds GitHub's primary rate-limit headers to every API
// answer, so that a client can tell a refusal (403 with
// X-RateLimit-Remaining above 0 and no Retry-After) from a rate limit.
// Windows follow wall time, not the simulated clock.
func (s *Sim) withRateHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		reset := time.Now().Truncate(time.Hour).Add(time.Hour)
		h.Set("X-RateLimit-Limit", strconv.Itoa(pkRateLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(pkRateLimit-1))
		h.Set("X-RateLimit-Used", "1")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		next.ServeHTTP(w, r)
	})
}
