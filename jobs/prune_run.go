package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/queue"
)

// Outcome says how a prune run ended, for the report.
type Outcome string

// Outcomes of a prune run.
const (
	// OutcomePruned: the plan was carried out (some candidates may have
	// been kept by the re-check or refused by GitHub).
	OutcomePruned Outcome = "pruned"
	// OutcomeNothingToDo: the plan deletes nothing.
	OutcomeNothingToDo Outcome = "nothing_to_do"
	// OutcomeDryRun: the configuration asks only for a report.
	OutcomeDryRun Outcome = "dry_run"
	// OutcomePaused: PKGWARDEN_PAUSED stopped every deletion.
	OutcomePaused Outcome = "paused"
	// OutcomeUntouched: nothing of the package may be deleted
	// (Decision.Untouched says why: an unreadable manifest, ...).
	OutcomeUntouched Outcome = "untouched"
	// OutcomeInvalidConfig: the governing file is invalid; ConfigErrors
	// says where. Nothing was touched.
	OutcomeInvalidConfig Outcome = "invalid_config"
	// OutcomeNoToken: the owner has no packages token; Problem says what
	// to configure. Nothing was touched.
	OutcomeNoToken Outcome = "no_token"
)

// PruneRun is what one prune run of one package found and did: the value
// a Reporter turns into the package's report issue and the run's comment.
type PruneRun struct {
	// ID names the run: the webhook delivery that caused the job (the
	// latest one, when a burst was coalesced). A redelivered job keeps its
	// ID, so a reporter can make one comment per run.
	ID             string
	InstallationID int64
	// Package is the package; its Repository is the name of the linked
	// repository without owner, empty when linked to none.
	Package rules.Package
	// Repository is the linked repository's full name ("owner/name"),
	// empty when the package is linked to none.
	Repository string
	// Report is the governing file's report block (labels, assignees).
	Report rules.Report
	// Reason is why the job exists ("registry_package published").
	Reason  string
	Outcome Outcome
	// Decision is the plan the run acted on: every listed version with
	// its verdict. Zero for OutcomeNoToken and OutcomeInvalidConfig.
	Decision rules.Decision
	// Deleted are the versions this run deleted, in the order deleted,
	// earlier attempts of the same run included.
	Deleted []rules.Entry
	// Kept are delete candidates the run kept after all, with the reason:
	// the re-check found them tagged or referenced since the plan, or a
	// version they live and die with was not deleted.
	Kept []rules.Entry
	// Skipped are delete candidates GitHub refused to delete (more than
	// 5,000 downloads, the last version), with GitHub's reason, or found
	// gone already. They are not retried.
	Skipped []rules.Entry
	// Deferred are delete candidates left for the next run by the
	// per-run cap.
	Deferred []rules.Entry
	// ConfigErrors lists the problems of an invalid file (each names
	// repository, file, line and column).
	ConfigErrors rules.ErrorList
	// Problem says, for OutcomeNoToken, what to configure.
	Problem string
	// DryRun and Paused say that nothing was deleted on purpose.
	DryRun, Paused    bool
	Started, Finished time.Time
}

// Changed reports whether the run deleted anything.
func (r PruneRun) Changed() bool { return len(r.Deleted) > 0 }

// Reporter tells people what a prune run did (the report issue of the
// package, the invalid-config issue, the missing-token issue). An error
// fails the job's attempt: the job runs again, finds nothing more to
// delete, and reports the same run ID again.
type Reporter interface {
	Report(ctx context.Context, run PruneRun) error
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(ctx context.Context, run PruneRun) error

// Report calls f.
func (f ReporterFunc) Report(ctx context.Context, run PruneRun) error { return f(ctx, run) }

// Reporters sends each run to every reporter in turn, stopping at the
// first error.
type Reporters []Reporter

// Report implements Reporter.
func (rs Reporters) Report(ctx context.Context, run PruneRun) error {
	for _, r := range rs {
		if err := r.Report(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// RunProgress is what the attempts of one run planned and deleted so far.
type RunProgress struct {
	// RunID is the run's id, kept until the run is reported.
	RunID string
	// Planned is the first attempt's delete list, in order.
	Planned []rules.Entry
	// Deleted is what was deleted, in order.
	Deleted []rules.Entry
}

// RunStore remembers the progress of a run, so that the attempt after a
// crash finishes what the first one started (the children of an index it
// deleted), reports the whole run, and stays under the per-run cap.
type RunStore interface {
	// Load returns the progress of a run, the zero value when unknown.
	Load(ctx context.Context, runKey string) (RunProgress, error)
	Save(ctx context.Context, runKey string, p RunProgress) error
	// Clear forgets a run once it is reported.
	Clear(ctx context.Context, runKey string) error
}

// BucketPruneRuns is the KV bucket of KVRunStore.
const BucketPruneRuns = "prune_runs"

// KVRunStore is a RunStore in a NATS KV bucket shared by every process, so
// the worker that takes over a dead worker's job knows what it did.
type KVRunStore struct{ kv jetstream.KeyValue }

// OpenKVRunStore creates the bucket if needed (idempotent). Entries expire
// after ttl (0: 7 days, the life of a processed delivery id).
func OpenKVRunStore(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration) (*KVRunStore, error) {
	if replicas <= 0 {
		replicas = 1
	}
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketPruneRuns,
		Description: "pkgwarden: versions each prune run deleted so far, by run",
		History:     1,
		TTL:         ttl,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketPruneRuns, err)
	}
	return &KVRunStore{kv: kv}, nil
}

// Load implements RunStore.
func (s *KVRunStore) Load(ctx context.Context, runKey string) (RunProgress, error) {
	e, err := s.kv.Get(ctx, queue.Key(runKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return RunProgress{}, nil
	}
	if err != nil {
		return RunProgress{}, fmt.Errorf("load run %s: %w", runKey, err)
	}
	var sp storedProgress
	if err := json.Unmarshal(e.Value(), &sp); err != nil {
		return RunProgress{}, fmt.Errorf("decode run %s: %w", runKey, err)
	}
	return RunProgress{RunID: sp.RunID, Planned: fromStored(sp.Planned), Deleted: fromStored(sp.Deleted)}, nil
}

// Save implements RunStore.
func (s *KVRunStore) Save(ctx context.Context, runKey string, p RunProgress) error {
	b, err := json.Marshal(storedProgress{RunID: p.RunID, Planned: toStored(p.Planned), Deleted: toStored(p.Deleted)})
	if err != nil {
		return fmt.Errorf("encode run %s: %w", runKey, err)
	}
	if _, err := s.kv.Put(ctx, queue.Key(runKey), b); err != nil {
		return fmt.Errorf("save run %s: %w", runKey, err)
	}
	return nil
}

// Clear implements RunStore.
func (s *KVRunStore) Clear(ctx context.Context, runKey string) error {
	if err := s.kv.Delete(ctx, queue.Key(runKey)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("clear run %s: %w", runKey, err)
	}
	return nil
}

type storedProgress struct {
	RunID   string        `json:"run_id"`
	Planned []storedEntry `json:"planned"`
	Deleted []storedEntry `json:"deleted"`
}

func toStored(es []rules.Entry) []storedEntry {
	out := make([]storedEntry, len(es))
	for i, e := range es {
		out[i] = storedEntry{ID: e.ID, Version: e.Version, Tags: e.Tags, Reason: e.Reason, With: e.With}
	}
	return out
}

func fromStored(ss []storedEntry) []rules.Entry {
	if len(ss) == 0 {
		return nil
	}
	out := make([]rules.Entry, len(ss))
	for i, se := range ss {
		out[i] = rules.Entry{ID: se.ID, Version: se.Version, Tags: se.Tags, Reason: se.Reason, With: se.With}
	}
	return out
}

// storedEntry is rules.Entry with With kept (Entry's JSON leaves it out).
type storedEntry struct {
	ID      int64    `json:"id"`
	Version string   `json:"version"`
	Tags    []string `json:"tags,omitempty"`
	Reason  string   `json:"reason"`
	With    []int64  `json:"with,omitempty"`
}
