package planner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// BenchmarkPlanPackage plans one container package of 450 versions (100
// two-platform indexes, 100 untagged images, 50 pr-* tags) over loopback
// HTTP: listing (5 pages), manifest reads and the decision. "cached" keeps
// a manifest cache across runs, as serve's KV bucket does; it reports the
// registry reads per plan.
func BenchmarkPlanPackage(b *testing.B) {
	w := newWorld(b)
	w.file("app", rules.Path, appRules)
	for i := range 100 {
		amd, arm := w.image(fmt.Sprintf("amd64-%d", i)), w.image(fmt.Sprintf("arm64-%d", i))
		w.push(index(plat{"linux/amd64", amd, nil}, plat{"linux/arm64", arm, nil}), time.Duration(300-i)*hour)
		w.push(w.image(fmt.Sprintf("u-%d", i)), time.Duration(300-i)*hour)
		if i%2 == 0 {
			w.push(w.image(fmt.Sprintf("pr-%d", i)), time.Duration(300-i)*hour, fmt.Sprintf("pr-%d", i))
		}
	}
	for label, cache := range map[string]registry.Cache{"uncached": nil, "cached": registry.NewMemoryCache()} {
		b.Run(label, func(b *testing.B) {
			var reads int64
			for b.Loop() {
				c, err := (&planner.Access{APIURL: w.srv.URL, RegistryURL: w.srv.URL, Cache: cache}).
					SessionWithToken(githubapi.NewToken("acme", "test", w.token))
				if err != nil {
					b.Fatal(err)
				}
				p, err := planner.New(planner.Options{Packages: c.Packages, Graphs: c.Registry,
					Loader: rules.NewLoader(w.source()), Now: func() time.Time { return w.base }})
				if err != nil {
					b.Fatal(err)
				}
				plan, err := p.PlanOwner(context.Background(), "acme", planner.Filter{Package: "app", Type: "container"})
				if err != nil {
					b.Fatal(err)
				}
				if d := plan.Packages[0]; len(d.Delete)+len(d.Keep) != 450 || d.Untouched != "" {
					b.Fatalf("planned %d+%d versions, untouched %q", len(d.Delete), len(d.Keep), d.Untouched)
				}
				reads += c.Registry.Reads()
			}
			b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
		})
	}
}
