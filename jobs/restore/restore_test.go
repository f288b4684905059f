package restore_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
	"github.com/pkgwarden/pkgwarden/internal/ghsim/simtest"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/inventory"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/registry"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
	"github.com/pkgwarden/pkgwarden/jobs/restore"
)

const restoreRules = `rules:
  - packages: ["app"]
    type: container
    prune: {untagged: true, delete_tags: ["pr-*"], exclude_tags: ["latest", "v*"]}
    restore: {tags: ["v*", "latest"], package: true}
`

// restoreWorld is a pruneWorld with the inventory and a restorer.
type restoreWorld struct {
	*jobstest.World
	inv      *inventory.Store
	restorer *restore.Restorer
}

func newRestoreWorld(t *testing.T) *restoreWorld {
	t.Helper()
	w := &restoreWorld{World: jobstest.NewWorld(t)}
	var err error
	if w.inv, err = inventory.Open(context.Background(), w.NATS.Queue.JS, 1, w.Sim.Now); err != nil {
		t.Fatal(err)
	}
	w.newRestorer(t)
	w.File("app", restoreRules)
	return w
}

// newRestorer builds the restorer, with a new App client: moving the
// simulator's clock expires the installation tokens the old one cached.
func (w *restoreWorld) newRestorer(t *testing.T) {
	t.Helper()
	w.newRestorerWith(t, nil)
}

// newRestorerWith is newRestorer with a change to the configuration.
func (w *restoreWorld) newRestorerWith(t *testing.T, change func(*restore.Config)) {
	t.Helper()
	ctx := context.Background()
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(simtest.AppKey())})
	var err error
	if w.App, err = githubapi.NewApp(githubapi.AppConfig{AppID: w.Sim.AppID(), PrivateKey: keyPEM, BaseURL: w.Server.URL}); err != nil {
		t.Fatal(err)
	}
	toks, err := githubapi.ParsePackagesTokens("acme="+w.Token, "")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := registry.OpenKVCache(ctx, w.NATS.Queue.JS, "manifests", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := restore.Config{
		Access:    &planner.Access{Tokens: toks, App: w.App, APIURL: w.Server.URL, RegistryURL: w.Server.URL, Cache: cache, Now: w.Sim.Now},
		Inventory: w.inv, Issues: report.New(w.App, w.Sim.Now, nil, jobstest.ReportOptions(w.Sim)...),
	}
	if change != nil {
		change(&cfg)
	}
	if w.restorer, err = restore.New(cfg); err != nil {
		t.Fatal(err)
	}
}

// prune runs a prune job with the inventory, as serve does.
func (w *restoreWorld) prune(t *testing.T) {
	t.Helper()
	w.pruneWith(t, nil)
}

// pruneWith is prune with a change to the pruner's configuration.
func (w *restoreWorld) pruneWith(t *testing.T, change func(*prune.Config)) {
	t.Helper()
	toks, _ := githubapi.ParsePackagesTokens("acme="+w.Token, "")
	cache, _ := registry.OpenKVCache(context.Background(), w.NATS.Queue.JS, "manifests", 1)
	cfg := prune.Config{
		Access:    &planner.Access{Tokens: toks, App: w.App, APIURL: w.Server.URL, RegistryURL: w.Server.URL, Cache: cache, Now: w.Sim.Now},
		Inventory: w.inv, Reporter: prune.IssueReporter{Issues: report.New(w.App, w.Sim.Now, nil, jobstest.ReportOptions(w.Sim)...)},
	}
	if change != nil {
		change(&cfg)
	}
	p, err := prune.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), w.Job()); err != nil {
		t.Fatal(err)
	}
}

func (w *restoreWorld) sweep(t *testing.T) {
	t.Helper()
	job := w.Job()
	job.Type, job.Reason, job.DeliveryID = jobs.TypeRestore, "sweep", ""
	if err := w.restorer.Handle(context.Background(), job); err != nil {
		t.Fatal(err)
	}
}

func (w *restoreWorld) undo(t *testing.T, delivery string, u jobs.UndoRequest) {
	t.Helper()
	job := w.Job()
	job.Type, job.DeliveryID, job.Undo = jobs.TypeRestore, delivery, &u
	if err := w.restorer.Handle(context.Background(), job); err != nil {
		t.Fatal(err)
	}
}

// deleteIndexByHand deletes index idx (version digest d) and its platform
// manifests through the simulator, as deleteByHand does, and returns the
// index's manifest.
func (w *restoreWorld) deleteIndexByHand(t *testing.T, idx v1.ImageIndex, d string) *v1.IndexManifest {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	w.deleteByHand(t, d)
	for _, m := range im.Manifests {
		w.deleteByHand(t, m.Digest.String())
	}
	return im
}

// deleteByHand deletes the version holding tag (or digest) through the
// simulator: someone else's deletion.
func (w *restoreWorld) deleteByHand(t *testing.T, digest string) {
	t.Helper()
	if err := w.Sim.DeleteVersion("acme", "container", "app", ghsim.VersionRef{Name: digest}, time.Hour); err != nil {
		t.Fatal(err)
	}
}

func (w *restoreWorld) version(t *testing.T, digest string) ghsim.PackageVersion {
	t.Helper()
	vs, err := w.Sim.Versions("acme", "container", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == digest {
			return v
		}
	}
	t.Fatalf("no version %s", digest)
	return ghsim.PackageVersion{}
}

// pull reads tag's manifest from the registry over HTTP, and for an index
// every platform's image and config: what `docker pull` needs.
func (w *restoreWorld) pull(tag string) error {
	host := strings.TrimPrefix(w.Server.URL, "http://")
	ref, err := name.NewTag(host+"/acme/app:"+tag, name.Insecure)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: w.Token})}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return err
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return err
		}
		_, err = img.ConfigFile()
		return err
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		img, err := remote.Image(ref.Context().Digest(m.Digest.String()), opts...)
		if err != nil {
			return fmt.Errorf("platform %s: %w", m.Platform, err)
		}
		if _, err := img.ConfigFile(); err != nil {
			return fmt.Errorf("platform %s: %w", m.Platform, err)
		}
	}
	return nil
}

// comments returns every comment of acme/app's issues.
func (w *restoreWorld) comments(t *testing.T) []string {
	t.Helper()
	issues, err := w.Sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, is := range issues {
		for _, c := range is.Comments {
			out = append(out, c.Body)
		}
	}
	return out
}

func anyContains(list []string, parts ...string) bool {
	return slices.ContainsFunc(list, func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	})
}

// TestRestoreSweep: deletions by hand of protected tags come back on the
// next sweep and pull; unprotected ones, pkgwarden's own deletions and
// intentional ones stay deleted.
func TestRestoreSweep(t *testing.T) {
	tests := map[string]struct {
		tag string
		// before runs between the deletion and the sweep.
		before      func(t *testing.T, w *restoreWorld, id int64)
		wantRestore bool
	}{
		"protected tag":   {tag: "v1.0.0", wantRestore: true},
		"unprotected tag": {tag: "build-7"},
		"intentional": {tag: "v1.1.0", before: func(t *testing.T, w *restoreWorld, id int64) {
			w.undo(t, "d-forget", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{id}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "comment", Answer: true})
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			d := w.Push(w.Image(tc.tag), 5*jobstest.Day, tc.tag)
			w.prune(t) // the inventory sees the tag; nothing to prune
			w.deleteByHand(t, d)
			if tc.before != nil {
				tc.before(t, w, w.version(t, d).ID)
			}
			w.sweep(t)
			v := w.version(t, d)
			if v.Deleted == tc.wantRestore {
				t.Fatalf("%s deleted = %t after the sweep, want %t", tc.tag, v.Deleted, !tc.wantRestore)
			}
			err := w.pull(tc.tag)
			if tc.wantRestore && err != nil {
				t.Errorf("pull %s after restore: %v", tc.tag, err)
			}
			if !tc.wantRestore && err == nil {
				t.Errorf("pull %s succeeded, want it deleted", tc.tag)
			}
			restoredNote := anyContains(w.comments(t), "Restored automatically", fmt.Sprintf("%s (id %d)", tc.tag, v.ID), "this deletion was intentional")
			if restoredNote != tc.wantRestore {
				t.Errorf("restore comment present = %t, want %t: %q", restoredNote, tc.wantRestore, w.comments(t))
			}
			// The next sweep changes nothing.
			before := len(w.comments(t))
			w.sweep(t)
			if got := len(w.comments(t)); got != before {
				t.Errorf("second sweep added %d comments", got-before)
			}
		})
	}
}

// TestIntentionalAfterRestore: a sweep restores a protected version, its
// "intentional" box is ticked, the version is deleted again, and the next
// sweep leaves it deleted.
func TestIntentionalAfterRestore(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	d := w.Push(w.Image("v1.1.0"), 5*jobstest.Day, "v1.1.0")
	w.prune(t)
	w.deleteByHand(t, d)
	w.sweep(t)
	if w.version(t, d).Deleted {
		t.Fatal("v1.1.0 not restored by the sweep")
	}
	id := w.version(t, d).ID
	w.undo(t, "d-intentional", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{id}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "intentional checkbox", Answer: true})
	if !w.version(t, d).Deleted {
		t.Fatal("v1.1.0 not deleted again")
	}
	if !anyContains(w.comments(t), "@alice", fmt.Sprintf("version %d deleted again", id)) {
		t.Errorf("forget not answered: %q", w.comments(t))
	}
	w.sweep(t)
	if !w.version(t, d).Deleted {
		t.Error("the next sweep restored an intentional deletion")
	}
	if err := w.pull("v1.1.0"); err == nil {
		t.Error("v1.1.0 pulls after an intentional deletion")
	}
}

// reportIssue returns acme/app's report issue number, opening one with a
// restore note if there is none yet.
func (w *restoreWorld) reportIssue(t *testing.T) int {
	t.Helper()
	issues, err := w.Sim.Issues("acme", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		if strings.HasPrefix(is.Title, "pkgwarden: container acme/app") {
			return is.Number
		}
	}
	res, err := report.New(w.App, w.Sim.Now, nil, jobstest.ReportOptions(w.Sim)...).Note(context.Background(), w.Installation,
		rules.Package{Owner: "acme", Type: "container", Name: "app", Repository: "app"}, nil, nil, "<!-- test -->", "<!-- test -->\nopened by the test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Issue.Number
}

// TestRestorePrunedStaysDeleted: what pkgwarden pruned is never restored
// by a sweep, even when its tag is protected now.
func TestRestorePrunedStaysDeleted(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	d := w.Push(w.Image("pr-9"), 5*jobstest.Day, "pr-9")
	w.prune(t)
	if !w.version(t, d).Deleted {
		t.Fatal("pr-9 not pruned")
	}
	w.File("app", strings.Replace(restoreRules, `tags: ["v*", "latest"]`, `tags: ["v*", "latest", "pr-*"]`, 1))
	w.sweep(t)
	if !w.version(t, d).Deleted {
		t.Error("the sweep restored what pkgwarden pruned")
	}
}

// TestRestoreIndex: a deleted multi-arch index comes back with its deleted
// children, and the tag pulls on every platform; the children, restored
// untagged, are not pruned afterwards.
func TestRestoreIndex(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	idx := jobstest.Index(w.Image("amd64"), w.Image("arm64"))
	d := w.Push(idx, 5*jobstest.Day, "v2.0.0")
	w.prune(t)
	im := w.deleteIndexByHand(t, idx, d)
	if err := w.pull("v2.0.0"); err == nil {
		t.Fatal("pull of a deleted index succeeded")
	}
	w.sweep(t)
	if w.version(t, d).Deleted {
		t.Fatal("index not restored")
	}
	for _, m := range im.Manifests {
		if w.version(t, m.Digest.String()).Deleted {
			t.Errorf("child %s (%s) not restored", m.Digest, m.Platform.Architecture)
		}
	}
	if err := w.pull("v2.0.0"); err != nil {
		t.Errorf("pull v2.0.0 on every platform: %v", err)
	}
	if !anyContains(w.comments(t), "child of restored index") {
		t.Errorf("children not reported: %q", w.comments(t))
	}
	w.prune(t)
	for _, m := range im.Manifests {
		if w.version(t, m.Digest.String()).Deleted {
			t.Errorf("restored child %s pruned", m.Digest)
		}
	}

	// The deletion was intentional after all: the index goes again, and
	// its children, no longer protected, go with the next prune.
	w.undo(t, "d-forget-index", jobs.UndoRequest{Kind: jobs.UndoForget, IDs: []int64{w.version(t, d).ID}, Sender: "alice", Repository: "acme/app", Issue: w.reportIssue(t), Via: "intentional checkbox", Answer: true})
	if !w.version(t, d).Deleted {
		t.Fatal("index not deleted again")
	}
	w.prune(t)
	for _, m := range im.Manifests {
		if !w.version(t, m.Digest.String()).Deleted {
			t.Errorf("child %s of the forgotten index still there", m.Digest)
		}
	}
	w.sweep(t)
	if w.version(t, d).Deleted != true {
		t.Error("the sweep restored the forgotten index")
	}
}

// TestRestoreReferrers: a signature deleted with the version it signs
// comes back with it.
func TestRestoreReferrers(t *testing.T) {
	w := newRestoreWorld(t)
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	d := w.Push(w.Image("v5"), 5*jobstest.Day, "v5.0.0")
	sig := w.Push(w.Image("signature of v5"), 5*jobstest.Day, registry.ReferrerTag(d, registry.ReferrerSignature))
	w.prune(t)
	w.deleteByHand(t, d)
	w.deleteByHand(t, sig)
	w.sweep(t)
	if w.version(t, d).Deleted || w.version(t, sig).Deleted {
		t.Fatalf("v5.0.0 deleted %t, its signature deleted %t; want both back", w.version(t, d).Deleted, w.version(t, sig).Deleted)
	}
	if err := w.pull(registry.ReferrerTag(d, registry.ReferrerSignature)); err != nil {
		t.Errorf("pull signature: %v", err)
	}
	if !anyContains(w.comments(t), "sig of restored") {
		t.Errorf("signature not reported: %q", w.comments(t))
	}
}

// tagTakenWhileDeleted pushes latest and an old version tagged tag, aged
// age; a prune runs; someone deletes the old version and pushes a new one
// tagged tag; the restore sweep runs (restore.tags protects v*). It returns
// the two versions' digests.
func (w *restoreWorld) tagTakenWhileDeleted(t *testing.T, tag string, age time.Duration) (old, fresh string) {
	t.Helper()
	w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
	old = w.Push(w.Image(tag+"-old"), age, tag)
	w.prune(t)
	w.deleteByHand(t, old)
	fresh = w.Push(w.Image(tag+"-new"), 0, tag)
	w.sweep(t)
	return old, fresh
}

// TestRestoreTagHeldElsewhere: a restored version does not take back a
// tag another version holds now.
func TestRestoreTagHeldElsewhere(t *testing.T) {
	w := newRestoreWorld(t)
	old, fresh := w.tagTakenWhileDeleted(t, "v3.0.0", 5*jobstest.Day)
	if w.version(t, old).Deleted {
		t.Fatal("old v3.0.0 not restored")
	}
	if tags := w.version(t, old).Tags; len(tags) != 0 {
		t.Errorf("restored version took tags %v, held by %s", tags, fresh)
	}
	if tags := w.version(t, fresh).Tags; !slices.Equal(tags, []string{"v3.0.0"}) {
		t.Errorf("new version's tags = %v, want v3.0.0", tags)
	}
}

// TestRestorePackage: a deleted package with restore.package comes back;
// when a new package took its name, that is reported and nothing is
// overwritten.
func TestRestorePackage(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reused=%t", reuse), func(t *testing.T) {
			w := newRestoreWorld(t)
			old := w.Push(w.Image("v1"), 5*jobstest.Day, "v1.0.0")
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			w.prune(t)
			w.deletePackage(t)
			var fresh string
			if reuse {
				fresh = w.Push(w.Image("new"), 0, "new")
			}
			w.sweep(t)
			vs, err := w.Sim.Versions("acme", "container", "app")
			if err != nil && !reuse {
				t.Fatalf("package not restored: %v", err)
			}
			var names []string
			for _, v := range vs {
				names = append(names, v.Name)
			}
			if reuse {
				if !slices.Equal(names, []string{fresh}) {
					t.Errorf("versions = %v, want the new package's %s only", names, fresh)
				}
				if !anyContains(w.comments(t), "Not restored", "new package of the same name") {
					t.Errorf("reused namespace not reported: %q", w.comments(t))
				}
				return
			}
			if !slices.Contains(names, old) {
				t.Errorf("versions = %v, want the old %s back", names, old)
			}
			if err := w.pull("v1.0.0"); err != nil {
				t.Errorf("pull v1.0.0: %v", err)
			}
			if !anyContains(w.comments(t), "the package `app`", "restore.package") {
				t.Errorf("package restore not reported: %q", w.comments(t))
			}
		})
	}
}

// TestUndo: a writer's checkbox and comment restore, a reader is refused,
// past 30 days the answer is "too late".
func TestUndo(t *testing.T) {
	tests := map[string]struct {
		user, perm string
		via        string
		advance    time.Duration
		all        bool
		restored   bool
		answer     string
	}{
		"checkbox by writer":  {user: "bob", perm: "write", via: "checkbox", restored: true},
		"comment by maintain": {user: "bob", perm: "maintain", via: "comment", restored: true},
		"all by admin":        {user: "bob", perm: "admin", via: "comment", all: true, restored: true},
		"comment by reader":   {user: "bob", perm: "read", via: "comment", answer: "only people with write access"},
		"checkbox by reader":  {user: "bob", perm: "read", via: "checkbox", answer: "only people with write access"},
		"too late":            {user: "bob", perm: "write", via: "comment", advance: 31 * jobstest.Day, answer: "too late"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newRestoreWorld(t)
			if _, err := w.Sim.AddUser(tc.user); err != nil {
				t.Fatal(err)
			}
			if err := w.Sim.SetCollaborator("acme", "app", tc.user, tc.perm); err != nil {
				t.Fatal(err)
			}
			w.Push(w.Image("latest"), 2*jobstest.Day, "latest")
			d := w.Push(w.Image("pr-3"), 5*jobstest.Day, "pr-3")
			w.prune(t) // pkgwarden deletes pr-3 and lists it in the report
			if !w.version(t, d).Deleted {
				t.Fatal("pr-3 not pruned")
			}
			id := w.version(t, d).ID
			issue := w.reportIssue(t)
			if tc.advance > 0 {
				w.Sim.Advance(tc.advance)
				w.newRestorer(t)
			}
			ids := []int64{id}
			if tc.all {
				ids = nil
			}
			before := len(w.comments(t))
			w.undo(t, "d-"+name, jobs.UndoRequest{Kind: jobs.UndoRestore, IDs: ids, All: tc.all, Sender: tc.user, Repository: "acme/app", Issue: issue, Via: tc.via, Answer: tc.via == "comment"})
			added := w.comments(t)[before:]
			vs, _ := w.Sim.Versions("acme", "container", "app")
			back := slices.ContainsFunc(vs, func(v ghsim.PackageVersion) bool { return v.ID == id && !v.Deleted })
			if back != tc.restored {
				t.Errorf("restored = %t, want %t", back, tc.restored)
			}
			if tc.restored {
				if err := w.pull("pr-3"); err != nil {
					t.Errorf("pull pr-3: %v", err)
				}
				// One comment says who asked and what came back; a person
				// who asked has no "intentional" box to tick.
				asked := fmt.Sprintf("@%s asked: restored pr-3 (id %d).", tc.user, id)
				if len(added) != 1 || !strings.Contains(added[0], asked) || strings.Contains(added[0], "intentional") {
					t.Errorf("comments added %q, want one saying %q without an intentional box", added, asked)
				}
				issues, _ := w.Sim.Issues("acme", "app")
				for _, is := range issues {
					if slices.ContainsFunc(report.ParseRestorable(is.Body), func(e report.Restorable) bool { return e.ID == id }) {
						t.Errorf("restored %d still listed as restorable", id)
					}
				}
			}
			if tc.answer != "" && !anyContains(w.comments(t), "@"+tc.user, tc.answer) {
				t.Errorf("no answer %q to @%s: %q", tc.answer, tc.user, w.comments(t))
			}
		})
	}
}

// TestIntentionalBox: parsing the "intentional" boxes of a restore
// comment; only boxes pkgwarden wrote (their seal verifies) count.
func TestIntentionalBox(t *testing.T) {
	app := rules.Package{Owner: "acme", Type: "container", Name: "app"}
	box := func(tick string, id int64, sig string) string {
		if sig != "" {
			sig = " " + sig
		}
		return fmt.Sprintf("  - [%s] this deletion was intentional <!-- pkgwarden:intentional %d%s -->\n", tick, id, sig)
	}
	from := "- id 5 `x`: r\n" + box(" ", 5, jobstest.Seal.Sign(report.BoxIntentional, app, 5)) + box("x", 6, jobstest.Seal.Sign(report.BoxIntentional, app, 6))
	tests := map[string]struct {
		to   string
		want []int64
	}{
		"ticked":                     {to: strings.Replace(from, "[ ]", "[x]", 1), want: []int64{5}},
		"ticked, CRLF":               {to: strings.ReplaceAll(strings.Replace(from, "[ ]", "[x]", 1), "\n", "\r\n"), want: []int64{5}},
		"unticked":                   {to: strings.Replace(from, "[x]", "[ ]", 1), want: nil},
		"same":                       {to: from, want: nil},
		"a box added without a seal": {to: from + box("x", 7, ""), want: nil},
		"a box added with another package's seal": {to: from + box("x", 7, jobstest.Seal.Sign(report.BoxIntentional, rules.Package{Owner: "acme", Type: "container", Name: "other"}, 7)), want: nil},
		"a restore box's seal":                    {to: from + box("x", 7, jobstest.Seal.Sign(report.BoxRestore, app, 7)), want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := jobstest.Seal.NewlyTickedIntentional(app, from, tc.to); !slices.Equal(got, tc.want) {
				t.Errorf("NewlyTickedIntentional = %v, want %v", got, tc.want)
			}
		})
	}
}
