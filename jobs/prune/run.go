package prune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/report"
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
	// OutcomeTokenProblem: GitHub did not accept the packages token
	// (invalid, a scope missing, SAML SSO); Token says what. The run
	// stopped deleting there: nothing was refused or held for it.
	OutcomeTokenProblem Outcome = "token_problem"
)

// Run is what one prune run of one package found and did: the value
// a Reporter turns into the package's report issue and the run's comment.
type Run struct {
	// ID names the run: the webhook delivery that caused the job (the
	// latest one, when a burst was coalesced). A redelivered job keeps its
	// ID, so a reporter can make one comment per run.
	ID             string
	InstallationID int64
	// Package is the package; its Repository is the linked repository's
	// full name ("owner/name"), empty when linked to none.
	Package rules.Package
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
	// 5,000 downloads, the last version), with GitHub's reason. They are
	// not retried.
	Skipped []rules.Entry
	// Deferred are delete candidates left for the next run by the
	// per-run cap.
	Deferred []rules.Entry
	// Gone are delete candidates found gone already at the re-check, and
	// those an earlier run deleted that GitHub still listed (ghcr.io's
	// listings lag behind deletions; its DELETE then answers 404): no
	// deletion of this run, and not reported again.
	Gone []rules.Entry
	// Storage is what Deleted freed in the registry and the package's
	// size (runStorage).
	Storage rules.Storage
	// AskAgain is when a version in Skipped for GitHub's refusal is asked
	// again (the refusal's time and RefusalMemory), by id.
	AskAgain map[int64]time.Time
	// Next are the versions the rules will delete in the coming 7 days
	// if nothing is pushed meanwhile, besides those of this run: set only
	// when the owner keeps a dashboard (weekAhead).
	Next []rules.Entry
	// ConfigErrors lists the problems of an invalid file (each names
	// repository, file, line and column).
	ConfigErrors rules.ErrorList
	// Problem says, for OutcomeNoToken, what to configure.
	Problem string
	// Token, when set, is what GitHub said about the packages token: the
	// owner's token-problem issue says it. The outcome is
	// OutcomeTokenProblem when it stopped the run.
	Token *report.TokenProblem
	// TokenWorks says the run succeeded with a token that has every scope
	// the package needs: the owner's token-problem issue, if open, closes.
	TokenWorks bool
	// DryRun and Paused say that nothing was deleted on purpose.
	DryRun, Paused    bool
	Started, Finished time.Time
}

// askAgain records when refused version id is asked again.
func (r *Run) askAgain(id int64, at time.Time) {
	if r.AskAgain == nil {
		r.AskAgain = map[int64]time.Time{}
	}
	r.AskAgain[id] = at
}

// Changed reports whether the run deleted anything.
func (r Run) Changed() bool { return len(r.Deleted) > 0 }

// Reporter tells people what a prune run did (the report issue of the
// package, the invalid-config issue, the missing-token issue). An error
// fails the job's attempt: the job runs again, finds nothing more to
// delete, and reports the same run ID again.
type Reporter interface {
	Report(ctx context.Context, run Run) error
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(ctx context.Context, run Run) error

// Report calls f.
func (f ReporterFunc) Report(ctx context.Context, run Run) error { return f(ctx, run) }

// Reporters sends each run to every reporter in turn, stopping at the
// first error.
type Reporters []Reporter

// Report implements Reporter.
func (rs Reporters) Report(ctx context.Context, run Run) error {
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

// BucketRuns is the KV bucket of KVRunStore.
const BucketRuns = "prune_runs"

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
		Bucket:      BucketRuns,
		Description: "pkgwarden: versions each prune run deleted so far, by run",
		History:     1,
		TTL:         ttl,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketRuns, err)
	}
	return &KVRunStore{kv: kv}, nil
}

// A run's progress is kept in chunks of runChunk entries under keys
// derived from the header's: one value of a whole run of thousands of
// deletions would pass NATS's 1 MiB payload limit, and rewriting it after
// each deletion would cost time quadratic in the run. Save writes the
// planned list once and then only the last chunk of deletions.
const runChunk = 256

func chunkKey(runKey, list string, i int) string {
	return queue.Key(runKey) + "." + list + "." + strconv.Itoa(i)
}

func chunks(n int) int { return (n + runChunk - 1) / runChunk }

// Load implements RunStore.
func (s *KVRunStore) Load(ctx context.Context, runKey string) (RunProgress, error) {
	h, ok, err := s.header(ctx, runKey)
	if err != nil || !ok {
		return RunProgress{}, err
	}
	planned, err := s.readList(ctx, runKey, "p", h.Planned)
	if err != nil {
		return RunProgress{}, err
	}
	deleted, err := s.readList(ctx, runKey, "d", h.Deleted)
	if err != nil {
		return RunProgress{}, err
	}
	return RunProgress{RunID: h.RunID, Planned: fromStored(planned), Deleted: fromStored(deleted)}, nil
}

func (s *KVRunStore) header(ctx context.Context, runKey string) (storedProgress, bool, error) {
	e, err := s.kv.Get(ctx, queue.Key(runKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return storedProgress{}, false, nil
	}
	if err != nil {
		return storedProgress{}, false, fmt.Errorf("load run %s: %w", runKey, err)
	}
	var h storedProgress
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return storedProgress{}, false, fmt.Errorf("decode run %s: %w", runKey, err)
	}
	return h, true, nil
}

func (s *KVRunStore) readList(ctx context.Context, runKey, list string, n int) ([]storedEntry, error) {
	out := make([]storedEntry, 0, n)
	for i := range chunks(n) {
		e, err := s.kv.Get(ctx, chunkKey(runKey, list, i))
		if err != nil {
			return nil, fmt.Errorf("load run %s, %s chunk %d: %w", runKey, list, i, err)
		}
		var part []storedEntry
		if err := json.Unmarshal(e.Value(), &part); err != nil {
			return nil, fmt.Errorf("decode run %s, %s chunk %d: %w", runKey, list, i, err)
		}
		out = append(out, part...)
	}
	if len(out) != n {
		return nil, fmt.Errorf("load run %s: %d %s entries, the header says %d", runKey, len(out), list, n)
	}
	return out, nil
}

func (s *KVRunStore) writeChunks(ctx context.Context, runKey, list string, es []rules.Entry, from int) error {
	for i := from; i < chunks(len(es)); i++ {
		part := es[i*runChunk : min(len(es), (i+1)*runChunk)]
		b, err := json.Marshal(toStored(part))
		if err != nil {
			return fmt.Errorf("encode run %s: %w", runKey, err)
		}
		if _, err := s.kv.Put(ctx, chunkKey(runKey, list, i), b); err != nil {
			return fmt.Errorf("save run %s, %s chunk %d: %w", runKey, list, i, err)
		}
	}
	return nil
}

// Save implements RunStore. Deleted only grows during a run, so only the
// chunks from the one the last save ended in are written; the header,
// written last, says how many entries count.
func (s *KVRunStore) Save(ctx context.Context, runKey string, p RunProgress) error {
	h, ok, err := s.header(ctx, runKey)
	if err != nil {
		return err
	}
	if !ok || h.RunID != p.RunID || h.Planned != len(p.Planned) || h.Deleted > len(p.Deleted) {
		h = storedProgress{RunID: p.RunID}
		if err := s.writeChunks(ctx, runKey, "p", p.Planned, 0); err != nil {
			return err
		}
	}
	if err := s.writeChunks(ctx, runKey, "d", p.Deleted, h.Deleted/runChunk); err != nil {
		return err
	}
	b, err := json.Marshal(storedProgress{RunID: p.RunID, Planned: len(p.Planned), Deleted: len(p.Deleted)})
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
	h, ok, err := s.header(ctx, runKey)
	if err != nil || !ok {
		return err
	}
	// The header goes first: without it the chunks are never read, and
	// the bucket's TTL removes any left behind.
	if err := s.kv.Delete(ctx, queue.Key(runKey)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("clear run %s: %w", runKey, err)
	}
	for list, n := range map[string]int{"p": h.Planned, "d": h.Deleted} {
		for i := range chunks(n) {
			if err := s.kv.Delete(ctx, chunkKey(runKey, list, i)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("clear run %s: %w", runKey, err)
			}
		}
	}
	return nil
}

// storedProgress is a run's header: its id and how many entries each
// list holds.
type storedProgress struct {
	RunID   string `json:"run_id"`
	Planned int    `json:"planned"`
	Deleted int    `json:"deleted"`
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
