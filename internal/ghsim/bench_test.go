package ghsim

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim/ratelimit"
)

// BenchmarkListVersions reads all 1,000 versions of a package, 100 per
// page, over HTTP: the listing a prune job does for a busy package. Rate
// limits are off: the figure is the simulator's speed, not GitHub's limits.
func BenchmarkListVersions(b *testing.B) {
	off, _ := ratelimit.Parse("off")
	w := newPkWorld(b, Options{RateLimits: off})
	for i := range 1000 {
		if _, err := w.sim.Publish("acme", "npm", "big", fmt.Sprintf("1.0.%d", i), PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for page := 1; page <= 10; page++ {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/orgs/acme/packages/npm/big/versions?per_page=100&page=%d", w.api.URL, page), nil)
			req.Header.Set("Authorization", "Bearer "+w.tokens["alice"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("page %d: %d", page, resp.StatusCode)
			}
		}
	}
}
