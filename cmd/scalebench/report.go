package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// kinds are a sweep's requests by kind, from the simulator's counters.
type kinds struct {
	Total, API, Registry int
	// Primary are the REST API requests that count against GitHub's
	// primary rate limit: every answer but 304.
	Primary, NotModified int
	// Listings are pages of active versions (304s included),
	// DeletedListings of deleted ones.
	Listings, Listing304, DeletedListings int
	Deletions, Restores                   int
	ManifestReads                         int
	// ReportWrites are issues and comments created or edited.
	ReportWrites int
}

func kindsOf(rs ghsim.RouteStats) kinds {
	var k kinds
	for route, c := range rs {
		method, path, _ := strings.Cut(route, " ")
		n := c.Total()
		k.Total += n
		if rs.Registry(route) {
			k.Registry += n
			if path == "/v2/{name}/manifests/{reference}" && (method == "GET" || method == "HEAD") {
				k.ManifestReads += n
			}
			continue
		}
		k.API += n
		k.NotModified += c.NotModified
		k.Primary += n - c.NotModified
		switch {
		case method == "GET" && strings.HasSuffix(path, "/versions"):
			k.Listings += n
			k.Listing304 += c.NotModified
		case method == "GET" && strings.HasSuffix(path, "/versions?state=deleted"):
			k.DeletedListings += n
		case method == "DELETE" && strings.Contains(path, "/versions/"):
			k.Deletions += c.OK
		case method == "POST" && strings.HasSuffix(path, "/restore"):
			k.Restores += c.OK
		case (method == "POST" || method == "PATCH") && strings.Contains(path, "/issues"):
			k.ReportWrites += n
		}
	}
	return k
}

// bound is the cold sweep's lower bound: each listing page once, each
// deletion and restore, one manifest read per digest never seen, and
// the report's writes (as made: their number is the report's design).
func (r result) bound(cold kinds) int {
	return r.Expected.ListingPages + r.Expected.Deleted + r.Expected.Restored + r.Expected.Active + cold.ReportWrites
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

func pct(a, b int) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

// n formats an integer with thousands separators.
func n(v int) string {
	s := fmt.Sprint(v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func report(out io.Writer, cfg config, r result) {
	cold, warm := kindsOf(r.Cold.Routes), kindsOf(r.Warm.Routes)
	pk := r.Spec.Packages
	fmt.Fprintf(out, "\n%d packages × %d versions (seed %d): %s versions seeded, %s active before the sweep (%s listing pages), rules delete %s; %d broken releases restorable, %d gone for good\n",
		pk, r.Spec.Versions, r.Spec.Seed, n(r.Expected.Versions), n(r.Expected.Active), n(r.Expected.ListingPages), n(r.Expected.Deleted), r.Expected.Restored, r.Expected.Gone)
	fmt.Fprintf(out, "machine: %d cores, load average %s at the end (shared: times are noisy)\n\n", r.Cores, r.Load)

	row := func(name string, c, w string) { fmt.Fprintf(out, "| %-52s | %18s | %18s |\n", name, c, w) }
	row("", "cold", "warm")
	fmt.Fprintf(out, "|%s|%s:|%s:|\n", strings.Repeat("-", 54), strings.Repeat("-", 19), strings.Repeat("-", 19))
	row("wall time (SweepNow → jobs stream drained)", r.Cold.Took.Round(time.Millisecond).String(), r.Warm.Took.Round(time.Millisecond).String())
	hwm := func(f sweepFigures) string {
		if !f.HWMReset {
			return mib(f.HWMKiB) + " (not reset)"
		}
		return mib(f.HWMKiB)
	}
	row("serve's peak RSS (VmHWM, reset before the sweep)", hwm(r.Cold), hwm(r.Warm))
	row("requests (REST API + registry)", n(cold.Total), n(warm.Total))
	row("  REST API", n(cold.API), n(warm.API))
	row("  … counting against the primary limit (not 304)", n(cold.Primary), n(warm.Primary))
	row("  … per package", fmt.Sprintf("%.2f", float64(cold.Primary)/float64(pk)), fmt.Sprintf("%.2f", float64(warm.Primary)/float64(pk)))
	row("  … answered 304", n(cold.NotModified), n(warm.NotModified))
	row("  registry (manifest reads, tokens, challenges)", n(cold.Registry), n(warm.Registry))
	row("listing pages, active (of them 304)", fmt.Sprintf("%s (%s)", n(cold.Listings), n(cold.Listing304)), fmt.Sprintf("%s (%s)", n(warm.Listings), n(warm.Listing304)))
	row("  beyond one read of each page (re-checks, restore)", fmt.Sprintf("%s (%s)", n(cold.Listings-r.Expected.ListingPages), pct(cold.Listings-r.Expected.ListingPages, cold.Total)),
		fmt.Sprintf("%s (%s)", n(warm.Listings-r.Expected.ListingPages), pct(warm.Listings-r.Expected.ListingPages, warm.Total)))
	row("listing pages, deleted", n(cold.DeletedListings), n(warm.DeletedListings))
	row("manifest reads", n(cold.ManifestReads), n(warm.ManifestReads))
	row("deletions", n(cold.Deletions), n(warm.Deletions))
	row("restores (healed platforms)", n(cold.Restores), n(warm.Restores))
	row("report writes (issues, comments)", n(cold.ReportWrites), n(warm.ReportWrites))
	jobs := func(f sweepFigures) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(f.Jobs)) {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, f.Jobs[k]))
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(out, "\njobs (serve's pkgwarden_jobs_total): cold %s; warm %s; dead letters %d\n", jobs(r.Cold), jobs(r.Warm), r.Warm.DeadLetters)

	bound := r.bound(cold)
	fmt.Fprintf(out, "\ncold lower bound: %s listing pages + %s deletions + %s restores + %s manifest reads (one per digest never seen) + %s report writes = %s; actual %s (%+d, %s over)\n",
		n(r.Expected.ListingPages), n(r.Expected.Deleted), n(r.Expected.Restored), n(r.Expected.Active), n(cold.ReportWrites), n(bound), n(cold.Total), cold.Total-bound, pct(cold.Total-bound, bound))
	perMin := float64(cold.Deletions+cold.Restores) / r.Cold.Took.Minutes()
	paced := time.Duration(float64(cold.Deletions+cold.Restores) / float64(cfg.Mutating) * float64(time.Minute))
	fmt.Fprintf(out, "pacing: %.0f deletions+restores/min against a budget of %d/min (%.2f of it); the budget alone would take %s, the sweep took %s (pacing's share %.2f)\n",
		perMin, cfg.Mutating, perMin/float64(cfg.Mutating), paced.Round(time.Millisecond), r.Cold.Took.Round(time.Millisecond), paced.Seconds()/r.Cold.Took.Seconds())
	fmt.Fprintf(out, "NATS store on disk after both sweeps: %.1f MiB; serve's restart on it (killed, started again, /readyz 200): %s (first start %s); peak RSS before the sweeps %s\n",
		float64(r.StoreBytes)/(1<<20), r.Restart.Round(time.Millisecond), r.Started.Round(time.Millisecond), mib(r.StartHWMKiB))

	fmt.Fprintf(out, "\nrequests by route [2xx / 304 / other] (the simulator's GET /_admin/requests):\n")
	routes := map[string]bool{}
	for k := range r.Cold.Routes {
		routes[k] = true
	}
	for k := range r.Warm.Routes {
		routes[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(routes)) {
		c, w := r.Cold.Routes[k], r.Warm.Routes[k]
		fmt.Fprintf(out, "  %-78s cold %8s / %7s / %4s   warm %7s / %7s / %4s\n", k, n(c.OK), n(c.NotModified), n(c.Other+c.Limited), n(w.OK), n(w.NotModified), n(w.Other+w.Limited))
	}

	e := r.End
	fmt.Fprintf(out, "\nend state: %d packages, %s versions checked: %s not as the rules leave them\n", e.Packages, n(e.Versions), n(e.WrongCount))
	for _, w := range e.Wrong {
		fmt.Fprintf(out, "  wrong: %s\n", w)
	}
	sampled := "every package"
	if e.PulledPackages < e.Packages {
		sampled = fmt.Sprintf("the first %d packages (a sample: -pull-sample)", e.PulledPackages)
	}
	fmt.Fprintf(out, "pulls (%s): %s kept tags and %s platforms pulled; %d platforms gone for good answered 404 as expected; %d failures\n",
		sampled, n(e.TagsPulled), n(e.ChildrenPulled), e.BrokenAsExpected, e.PullFailCount)
	for _, f := range e.PullFailures {
		fmt.Fprintf(out, "  pull failed: %s\n", f)
	}
	if e.Err != nil {
		fmt.Fprintf(out, "end-state check failed: %v\n", e.Err)
	}

	verdict := "end state OK"
	if !e.OK() {
		verdict = "END STATE WRONG"
	}
	fmt.Fprintf(out, "\ntargets (issue 17): peak RSS < 256 MiB: %s; cold requests = lower bound: %+d; re-check listings < 5%%: %s; warm ≤ 1 primary request/package: %.2f; warm manifest reads 0: %d; restart < 10 s: %s\n",
		mib(max(r.Cold.HWMKiB, r.Warm.HWMKiB, r.StartHWMKiB)), cold.Total-bound, pct(cold.Listings-r.Expected.ListingPages, cold.Total),
		float64(warm.Primary)/float64(pk), warm.ManifestReads, r.Restart.Round(time.Millisecond))
	fmt.Fprintf(out, "scalebench %s: cold %s, %s requests (bound %s, re-check listings %s), %.0f deletions/min (%.2f of the budget); warm %s, %.2f primary requests/package, %d manifest reads; peak RSS %s; store %.1f MiB; restart %s; %s\n",
		r.Spec, r.Cold.Took.Round(100*time.Millisecond), n(cold.Total), n(bound), pct(cold.Listings-r.Expected.ListingPages, cold.Total), perMin, perMin/float64(cfg.Mutating),
		r.Warm.Took.Round(100*time.Millisecond), float64(warm.Primary)/float64(pk), warm.ManifestReads,
		mib(max(r.Cold.HWMKiB, r.Warm.HWMKiB, r.StartHWMKiB)), float64(r.StoreBytes)/(1<<20), r.Restart.Round(time.Millisecond), verdict)
}
