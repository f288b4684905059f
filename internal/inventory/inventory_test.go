package inventory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/queue"
)

// dotted is an npm package whose owner has a capital and whose name has a
// scope, a slash and a dot: every character a key must carry.
var dotted = Package{Ref: pkgref.Ref{Owner: "Acme", Type: "npm", Name: "@acme/web.client"}}

// acmeContainer is acme's container package name.
func acmeContainer(name string) Package {
	return Package{Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: name}}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	e, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown() })
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, js, 1, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInventory(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	webapp := Package{Ref: pkgref.Ref{Owner: "acme", Type: "container", Name: "webapp", Repository: "acme/webapp"}}
	other := Package{Ref: pkgref.Ref{Owner: "beta", Type: "container", Name: "webapp"}}
	for inst, pkgs := range map[int64][]Package{1: {webapp, dotted}, 2: {other}} {
		for _, p := range pkgs {
			if err := s.SeePackage(ctx, inst, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.SeeVersions(ctx, 1, webapp, []Version{{ID: 7, Name: "sha256:aa", Tags: []string{"v1", "latest"}}, {ID: 8, Name: "sha256:bb"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMark(ctx, 1, webapp, MarkDeleted, 7); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		inst  int64
		owner string
		want  []string
	}{
		"owner, case-insensitive": {inst: 1, owner: "ACME", want: []string{"Acme/npm/@acme/web.client", "acme/container/webapp"}},
		"all owners":              {inst: 1, owner: "", want: []string{"Acme/npm/@acme/web.client", "acme/container/webapp"}},
		"other installation":      {inst: 2, owner: "beta", want: []string{"beta/container/webapp"}},
		"owner not seen":          {inst: 1, owner: "beta", want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Packages(ctx, tc.inst, tc.owner)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.String())
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.want) {
				t.Errorf("Packages = %v, want %v", names, tc.want)
			}
		})
	}

	v, ok, err := s.Version(ctx, 1, webapp, 7)
	if err != nil || !ok || v.Name != "sha256:aa" || !slices.Equal(v.Tags, []string{"v1", "latest"}) || v.SeenAt.IsZero() {
		t.Errorf("Version 7 = %+v %v %v", v, ok, err)
	}
	if m, _ := s.Marked(ctx, 1, webapp, MarkDeleted, 7); !m {
		t.Error("mark deleted on 7 lost")
	}
	if m, _ := s.Marked(ctx, 1, webapp, MarkIntentional, 7); m {
		t.Error("intentional mark on 7 never set")
	}
	// AddMark tells a mark already there (7, set above) from a new one
	// (8), after a ClearMark too.
	for _, step := range []struct {
		id    int64
		clear bool
		had   bool
	}{{7, false, true}, {8, false, false}, {8, false, true}, {8, true, false}} {
		if step.clear {
			if err := s.ClearMark(ctx, 1, webapp, MarkRestored, step.id); err != nil {
				t.Fatal(err)
			}
		}
		mark := MarkDeleted
		if step.id == 8 {
			mark = MarkRestored
		}
		had, err := s.AddMark(ctx, 1, webapp, mark, step.id)
		if err != nil || had != step.had {
			t.Errorf("AddMark(%s %d) = %t, %v; want %t", mark, step.id, had, err, step.had)
		}
		if m, _ := s.Marked(ctx, 1, webapp, mark, step.id); !m {
			t.Errorf("AddMark(%s %d) left no mark", mark, step.id)
		}
	}
	if err := s.ClearMark(ctx, 1, webapp, MarkRestored, 8); err != nil {
		t.Fatal(err)
	}

	n, err := s.ClearInstallation(ctx, 1)
	if err != nil || n != 5 {
		t.Fatalf("ClearInstallation = %d, %v; want 5 keys (2 packages, 2 versions, 1 mark)", n, err)
	}
	if got, _ := s.Packages(ctx, 1, ""); len(got) != 0 {
		t.Errorf("installation 1 still has %v", got)
	}
	if _, ok, _ := s.Version(ctx, 1, webapp, 7); ok {
		t.Error("version 7 outlived its installation")
	}
	if got, _ := s.Packages(ctx, 2, ""); len(got) != 1 {
		t.Errorf("installation 2 lost its package: %v", got)
	}
}

// TestManyVersions: 10,000 versions of one package fit, one key each.
func TestManyVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 keys")
	}
	ctx := context.Background()
	s := openStore(t)
	p := acmeContainer("big")
	vs := make([]Version, 10000)
	for i := range vs {
		vs[i] = Version{ID: int64(i + 1), Name: fmt.Sprintf("sha256:%064x", i), Tags: []string{fmt.Sprintf("build-%d", i)}}
	}
	if err := s.SeeVersions(ctx, 1, p, vs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Versions(ctx, 1, p)
	if err != nil || len(got) != len(vs) {
		t.Fatalf("Versions = %d, %v; want %d", len(got), err, len(vs))
	}
}

// BenchmarkSeeVersions records a package of 1,000 versions per op, the
// prune and restore jobs' hook after each listing, and reports the time
// per version: "changed" retags every version each op (every record is
// written), "unchanged" sees the same versions again (one read of the
// package's records, no write).
func BenchmarkSeeVersions(b *testing.B) {
	for _, changed := range []bool{true, false} {
		name := map[bool]string{true: "changed", false: "unchanged"}[changed]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			e, err := queue.StartEmbedded(ctx, queue.EmbeddedOptions{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Shutdown()
			nc, err := e.Connect()
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				b.Fatal(err)
			}
			s, err := Open(ctx, js, 1, nil)
			if err != nil {
				b.Fatal(err)
			}
			p := acmeContainer("big")
			vs := make([]Version, 1000)
			retag := func(round int) {
				for i := range vs {
					vs[i] = Version{ID: int64(i + 1), Name: fmt.Sprintf("sha256:%064x", i), Tags: []string{fmt.Sprintf("build-%d-%d", i, round)}}
				}
			}
			retag(0)
			if err := s.SeeVersions(ctx, 1, p, vs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if changed {
					b.StopTimer()
					retag(i + 1)
					b.StartTimer()
				}
				if err := s.SeeVersions(ctx, 1, p, vs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(vs)), "µs/version")
		})
	}
}

// SeeVersions writes a version's record only when it changed or its SeenAt
// is older than SeenRefresh: a sweep that changes nothing writes nothing.
func TestSeeVersionsWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	pkg := acmeContainer("webapp")
	revision := func(id int64) uint64 {
		t.Helper()
		e, err := s.kv.Get(ctx, inst(1)+".v."+pkgKey(pkg)+"."+fmt.Sprint(id))
		if err != nil {
			t.Fatalf("version %d: %v", id, err)
		}
		return e.Revision()
	}
	see := func(vs ...Version) {
		t.Helper()
		if err := s.SeeVersions(ctx, 1, pkg, vs); err != nil {
			t.Fatal(err)
		}
	}
	v7, v8 := Version{ID: 7, Name: "sha256:aa", Tags: []string{"v1"}}, Version{ID: 8, Name: "sha256:bb"}
	see(v7, v8)
	r7, r8 := revision(7), revision(8)

	steps := []struct {
		name           string
		advance        time.Duration
		see            []Version
		write7, write8 bool
	}{
		{"unchanged", time.Hour, []Version{v7, v8}, false, false},
		{"a tag added to 7", time.Minute, []Version{{ID: 7, Name: "sha256:aa", Tags: []string{"v1", "latest"}}, v8}, true, false},
		{"unchanged again", time.Minute, []Version{{ID: 7, Name: "sha256:aa", Tags: []string{"v1", "latest"}}, v8}, false, false},
		{"stale after a day", SeenRefresh, []Version{{ID: 7, Name: "sha256:aa", Tags: []string{"v1", "latest"}}, v8}, true, true},
	}
	for _, st := range steps {
		clock = clock.Add(st.advance)
		see(st.see...)
		n7, n8 := revision(7), revision(8)
		if (n7 != r7) != st.write7 || (n8 != r8) != st.write8 {
			t.Errorf("%s: version 7 written %t, 8 written %t; want %t, %t", st.name, n7 != r7, n8 != r8, st.write7, st.write8)
		}
		r7, r8 = n7, n8
	}
	v, _, err := s.Version(ctx, 1, pkg, 8)
	if err != nil || !v.SeenAt.Equal(clock) {
		t.Errorf("version 8 SeenAt = %v (%v), want the refresh's %v", v.SeenAt, err, clock)
	}
	// Nothing known yet: the one-pass read ends at once with nothing.
	if vs, err := s.Versions(ctx, 2, pkg); err != nil || len(vs) != 0 {
		t.Errorf("Versions of an installation never seen = %+v (%v), want none", vs, err)
	}
	see(Version{ID: 9, Name: "sha256:cc"})
	if vs, err := s.Versions(ctx, 1, pkg); err != nil || len(vs) != 3 {
		t.Errorf("Versions = %+v (%v), want 7, 8 and the new 9", vs, err)
	}
}

// TestRefusals: a refusal is recorded per version with GitHub's answer,
// read back per package (not another package's, not a mark), replaced by a
// later refusal of the same version, and forgotten when cleared.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	app, other := acmeContainer("app"), acmeContainer("other")
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		pkg Package
		r   Refusal
	}{
		{app, Refusal{ID: 1, At: at, Status: 403, Message: "more than 5000 downloads", Listed: 3}},
		{app, Refusal{ID: 2, Status: 400, Message: "last version", Listed: 1}},
		{app, Refusal{ID: 1, At: at.Add(time.Hour), Status: 403, Message: "still too many", Listed: 2}},
		{other, Refusal{ID: 9, Status: 403, Message: "other package"}},
	} {
		if err := s.SetRefusal(ctx, 1, step.pkg, step.r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetMark(ctx, 1, app, MarkDeleted, 5); err != nil {
		t.Fatal(err)
	}
	got, err := s.Refusals(ctx, 1, app)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b Refusal) int { return int(a.ID - b.ID) })
	want := []Refusal{
		{ID: 1, At: at.Add(time.Hour), Status: 403, Message: "still too many", Listed: 2},
		{ID: 2, At: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Status: 400, Message: "last version", Listed: 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refusals = %+v, want %+v", got, want)
	}
	if err := s.ClearRefusal(ctx, 1, app, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearRefusal(ctx, 1, app, 77); err != nil {
		t.Fatalf("clearing an unknown refusal: %v", err)
	}
	if got, err = s.Refusals(ctx, 1, app); err != nil || len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("after clear: %+v, %v", got, err)
	}
	if got, err = s.Refusals(ctx, 2, app); err != nil || len(got) != 0 {
		t.Fatalf("another installation: %+v, %v", got, err)
	}
}

// TestMarkedIDs: the versions of one package that carry one mark, and no
// other package's, mark's or installation's.
func TestMarkedIDs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	app, appx := acmeContainer("app"), acmeContainer("app.x")
	for _, m := range []struct {
		inst int64
		pkg  Package
		mark Mark
		id   int64
	}{
		{1, app, MarkRestored, 3}, {1, app, MarkRestored, 41}, {1, app, MarkDeleted, 5},
		{1, appx, MarkRestored, 6}, {2, app, MarkRestored, 7}, {1, dotted, MarkRestored, 8},
	} {
		if err := s.SetMark(ctx, m.inst, m.pkg, m.mark, m.id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		inst int64
		pkg  Package
		mark Mark
		want []int64
	}{
		{1, app, MarkRestored, []int64{3, 41}},
		{1, app, MarkDeleted, []int64{5}},
		{1, app, MarkIntentional, nil},
		{1, appx, MarkRestored, []int64{6}},
		{2, app, MarkRestored, []int64{7}},
		{1, dotted, MarkRestored, []int64{8}},
	}
	for _, tc := range tests {
		got, err := s.MarkedIDs(ctx, tc.inst, tc.pkg, tc.mark)
		if err != nil {
			t.Fatal(err)
		}
		ids := slices.Sorted(maps.Keys(got))
		if !slices.Equal(ids, tc.want) {
			t.Errorf("MarkedIDs(%d, %s, %s) = %v, want %v", tc.inst, tc.pkg, tc.mark, ids, tc.want)
		}
	}
}
