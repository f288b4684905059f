package registry

import (
	"context"
	"testing"
)

// BenchmarkGraph reads the test graph (12 listed digests, one nested index
// followed) from a local go-containerregistry registry, and from a warm
// in-memory cache. Reads/op is the number of manifest GETs sent.
func BenchmarkGraph(b *testing.B) {
	tr := newTestRegistry(b)
	g := push(b, tr, "acme/app")
	listed := []string{g.multi, g.amd64, g.arm64, g.s390x, g.outer, g.riscv, g.sig, g.artifact, g.fallback, g.ghost, g.ghostAMD64, g.neverPushed}
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		cache Cache
	}{{"registry", nil}, {"memory-cache", NewMemoryCache()}} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := NewReader(tr.server.URL, Options{Username: testUser, Token: testToken, Cache: bc.cache})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := r.Graph(ctx, "acme/app", listed); err != nil { // warm token and cache
				b.Fatal(err)
			}
			start := r.Reads()
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := r.Graph(ctx, "acme/app", listed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(r.Reads()-start)/float64(b.N), "reads/op")
		})
	}
}
