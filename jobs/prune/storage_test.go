package prune_test

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/jobs/jobstest"
	"github.com/pkgwarden/pkgwarden/jobs/prune"
)

// TestPruneMeasuresStorage: two images in the simulator's registry share
// a base layer; the prune deletes the old one, and the run says it freed
// that image's own config and layer, not the base the kept v1 still
// uses, with the package's size after the run: real manifests read
// through the registry, no extra reads.
func TestPruneMeasuresStorage(t *testing.T) {
	w := jobstest.NewWorld(t)
	w.File("app", jobstest.PruneRules)
	base := layer(t, 4096)
	old := withLayers(t, w.Image("old"), base, layer(t, 2048))
	v1img := withLayers(t, w.Image("v1"), base, layer(t, 1024))
	w.Push(old, 3*jobstest.Day)
	w.Push(v1img, 3*jobstest.Day, "v1")

	rep := &jobstest.Reports{}
	if err := w.Pruner(rep, false, "acme="+w.Token).Handle(context.Background(), w.Job()); err != nil {
		t.Fatalf("handle: %v", err)
	}
	run := rep.Last(t)
	if run.Outcome != prune.OutcomePruned || len(run.Deleted) != 1 {
		t.Fatalf("outcome %s, deleted %v; want the old image pruned", run.Outcome, run.Deleted)
	}
	oldBlobs, v1Blobs := blobs(t, old), blobs(t, v1img)
	var frees, after int64
	for d, size := range oldBlobs {
		if _, shared := v1Blobs[d]; !shared {
			frees += size
		}
	}
	for _, size := range v1Blobs {
		after += size
	}
	s := run.Storage
	if !s.Known || s.Frees != frees || s.After != after || s.Before != after+frees {
		t.Errorf("storage = %+v; want known, frees %d, after %d", s, frees, after)
	}
	line := report.CountRun(prune.ReportRun(run)).Line()
	if !strings.HasSuffix(line, " · frees ≈ "+report.Bytes(frees)) {
		t.Errorf("summary line %q does not end with what the run freed", line)
	}
}

func layer(t *testing.T, size int64) v1.Layer {
	t.Helper()
	l, err := random.Layer(size, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func withLayers(t *testing.T, img v1.Image, layers ...v1.Layer) v1.Image {
	t.Helper()
	out, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// blobs are an image's config and layers by digest, as its manifest
// names them.
func blobs(t *testing.T, img v1.Image) map[string]int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{m.Config.Digest.String(): m.Config.Size}
	for _, l := range m.Layers {
		out[l.Digest.String()] = l.Size
	}
	return out
}
