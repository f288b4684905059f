package sweep

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/clock"
	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/internal/rules"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/jobs"
	"github.com/pkgwarden/pkgwarden/queue"
)

// JobReason is the Reason of every job a sweep queues.
const JobReason = "sweep"

// sweepPackageTypes are the package types GitHub lists one at a time.
var sweepPackageTypes = []string{
	rules.TypeContainer, rules.TypeDocker, rules.TypeNPM, rules.TypeMaven, rules.TypeRubyGems, rules.TypeNuGet,
}

// State is the sweep's progress, kept in BucketSchedulerState so that
// a new leader continues the sweep in progress and does not start one
// before the interval since the last has passed.
type State struct {
	// Started is when the current (or last) sweep started; the next one
	// starts an interval later.
	Started time.Time `json:"started"`
	// InProgress is true until every job of the sweep was queued.
	InProgress bool `json:"in_progress"`
	// Through is the position in the sweep's order (offset, then package)
	// up to which jobs are queued.
	ThroughOffset time.Duration `json:"through_offset"`
	ThroughKey    string        `json:"through_key,omitempty"`
	// Queued counts the packages queued by this sweep so far.
	Queued int `json:"queued"`
	// LastCompleted is when the last completed sweep finished queueing;
	// LastStarted when it started, LastQueued how many packages it queued.
	LastCompleted time.Time `json:"last_completed,omitzero"`
	LastStarted   time.Time `json:"last_started,omitzero"`
	LastQueued    int       `json:"last_queued,omitempty"`
	// DeliveriesScanned is when the hook deliveries were last listed.
	DeliveriesScanned time.Time `json:"deliveries_scanned,omitzero"`
}

// LoadState reads the sweep's progress (the zero state if none).
func LoadState(ctx context.Context, state jetstream.KeyValue) (State, uint64, error) {
	e, err := state.Get(ctx, sweepStateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, 0, nil
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("read sweep state: %w", err)
	}
	var st State
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return State{}, 0, fmt.Errorf("decode sweep state: %w", err)
	}
	return st, e.Revision(), nil
}

func (s *Scheduler) loadState(ctx context.Context) (State, uint64, error) {
	return LoadState(ctx, s.state)
}

// saveState writes st at revision rev (0: only if absent), so a leader that
// lost its lease cannot overwrite its successor's progress.
func (s *Scheduler) saveState(ctx context.Context, st State, rev uint64) (uint64, error) {
	val, _ := json.Marshal(st)
	var (
		next uint64
		err  error
	)
	if rev == 0 {
		next, err = s.state.Create(ctx, sweepStateKey, val)
	} else {
		next, err = s.state.Update(ctx, sweepStateKey, val, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("write sweep state: %w", err)
	}
	return next, nil
}

// Offset is when, after a sweep's start, the jobs of the package t
// are queued: a deterministic point within the interval, so the jobs of
// many packages spread evenly and a new leader finds the same order.
func Offset(t webhook.Target, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	sum := sha256.Sum256([]byte(t.Key()))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(interval))
}

// sweepItem is one package of a sweep and the job types it gets.
type sweepItem struct {
	target webhook.Target
	key    string
	offset time.Duration
	types  []string
}

// after reports whether the item comes after the position (offset, key).
func (it sweepItem) after(offset time.Duration, key string) bool {
	if it.offset != offset {
		return it.offset > offset
	}
	return it.key > key
}

// sweep runs (or continues) the sweep st describes: redeliver failed
// webhooks once per sweep, then queue each package's jobs at its offset.
func (s *Scheduler) sweep(ctx context.Context, st *State, rev *uint64) error {
	log := s.log.With("sweep_started", st.Started)
	if st.DeliveriesScanned.Before(st.Started) {
		scanAt := s.now().UTC()
		if _, err := s.RedeliverFailed(ctx, st.DeliveriesScanned); err != nil {
			if errors.Is(err, queue.ErrNotLeader) {
				return err
			}
			// Deliveries are one part of a sweep; packages still go.
			log.Warn("scheduler: redeliver failed webhooks", "err", err)
		} else {
			st.DeliveriesScanned = scanAt
			var err error
			if *rev, err = s.saveState(ctx, *st, *rev); err != nil {
				return err
			}
		}
	}
	items, err := s.plan(ctx)
	if err != nil {
		return err
	}
	log.Info("scheduler: sweeping", "packages", len(items), "already_queued", st.Queued)
	for _, it := range items {
		if st.Queued > 0 || st.ThroughKey != "" {
			if !it.after(st.ThroughOffset, st.ThroughKey) {
				continue // queued before a change of leader
			}
		}
		if wait := st.Started.Add(it.offset).Sub(s.now()); wait > 0 {
			clock.Sleep(ctx, wait)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.el.Check(ctx); err != nil {
			return err
		}
		for _, typ := range it.types {
			job := jobs.Job{Type: typ, Target: it.target, Reason: JobReason, QueuedAt: s.now().UTC()}
			if err := jobs.Publish(ctx, s.q, job); err != nil {
				return err
			}
		}
		st.ThroughOffset, st.ThroughKey = it.offset, it.key
		st.Queued++
		if *rev, err = s.saveState(ctx, *st, *rev); err != nil {
			return err
		}
	}
	st.InProgress = false
	st.LastCompleted, st.LastStarted, st.LastQueued = s.now().UTC(), st.Started, st.Queued
	if *rev, err = s.saveState(ctx, *st, *rev); err != nil {
		return err
	}
	log.Info("scheduler: sweep complete", "packages", st.Queued)
	return nil
}

// plan lists every installation's packages: the active ones get a prune
// and a restore job, the ones only the inventory knows (deleted) a
// restore job. It is sorted by offset, then package.
func (s *Scheduler) plan(ctx context.Context) ([]sweepItem, error) {
	insts, err := s.installations(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*sweepItem{}
	add := func(t webhook.Target, types ...string) {
		k := t.Key()
		if it, ok := byKey[k]; ok {
			for _, typ := range types {
				if !slices.Contains(it.types, typ) {
					it.types = append(it.types, typ)
				}
			}
			return
		}
		byKey[k] = &sweepItem{target: t, key: k, offset: Offset(t, s.cfg.Interval), types: types}
	}
	for _, in := range insts {
		pkgs, err := s.packages(ctx, in)
		if err != nil {
			if errors.Is(err, githubapi.ErrNoPackagesToken) {
				s.log.Info("scheduler: owner has no packages token, skipped", "owner", in.owner, "installation", in.id)
			} else {
				// One owner's failure must not stop every other's sweep.
				s.log.Warn("scheduler: list packages", "owner", in.owner, "installation", in.id, "err", err)
			}
		}
		for _, t := range pkgs {
			add(t, jobs.TypePrune, jobs.TypeRestore)
		}
		if s.cfg.Inventory != nil {
			seen, err := s.cfg.Inventory.PackagesSeen(ctx, in.id)
			if err != nil {
				s.log.Warn("scheduler: packages seen", "owner", in.owner, "installation", in.id, "err", err)
			}
			for _, t := range seen {
				t.InstallationID = in.id
				add(t, jobs.TypeRestore)
			}
		}
	}
	items := make([]sweepItem, 0, len(byKey))
	for _, it := range byKey {
		items = append(items, *it)
	}
	slices.SortFunc(items, func(a, b sweepItem) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.key, b.key))
	})
	return items, nil
}

type sweepInstallation struct {
	id        int64
	owner     string
	ownerType string
}

// installations lists the App's installations, every page.
//
// GET /app/installations
func (s *Scheduler) installations(ctx context.Context) ([]sweepInstallation, error) {
	gh := s.cfg.Access.App.AppClient()
	opts := &github.ListOptions{PerPage: 100}
	var out []sweepInstallation
	for {
		page, resp, err := gh.Apps.ListInstallations(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list installations, page %d: %w", max(opts.Page, 1), err)
		}
		for _, in := range page {
			if in.GetSuspendedAt().Time.IsZero() {
				out = append(out, sweepInstallation{id: in.GetID(), owner: in.GetAccount().GetLogin(), ownerType: in.GetAccount().GetType()})
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// packages lists the active packages of every type of an installation's
// owner with the owner's packages token.
func (s *Scheduler) packages(ctx context.Context, in sweepInstallation) ([]webhook.Target, error) {
	session, err := s.cfg.Access.Session(in.owner)
	if err != nil {
		return nil, err
	}
	pc := session.Packages
	owner, err := pc.ResolveOwner(ctx, in.owner)
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", in.owner, err)
	}
	var out []webhook.Target
	var failed error
	var refused []string // types GitHub refused to list for the token
	var problem githubapi.TokenProblem
	for _, typ := range sweepPackageTypes {
		pkgs, err := pc.ListPackages(ctx, owner, typ, "")
		if tp, ok := githubapi.TokenProblemOf(err); ok {
			// The token, not the type: the other types may still be
			// listed (a token without repo is refused docker only).
			refused, problem = append(refused, typ), tp
			s.log.Warn("scheduler: packages token refused for a listing", "owner", in.owner, "type", typ, "kind", string(tp.Kind), "err", err)
			continue
		}
		if err != nil {
			// One type's failure must not stop the other types' sweep.
			failed = errors.Join(failed, fmt.Errorf("sweep %s %s: %w", in.owner, typ, err))
			continue
		}
		for _, p := range pkgs {
			out = append(out, webhook.Target{
				InstallationID: in.id,
				Owner:          owner.Login,
				OwnerType:      string(owner.Kind),
				PackageType:    cmp.Or(p.Type, typ),
				PackageName:    p.Name,
				Repository:     p.Repository,
			})
		}
	}
	if len(refused) > 0 && s.cfg.TokenProblems != nil {
		tp := report.TokenProblem{TokenProblem: problem, Types: refused}
		if _, err := s.cfg.TokenProblems.TokenProblem(ctx, in.id, in.owner, "", tp); err != nil {
			s.log.Warn("scheduler: token problem not reported", "owner", in.owner, "err", err)
		}
	}
	return out, failed
}

// SweepNow queues the jobs of one sweep at once, without the spread,
// without leadership and without touching the sweep's progress: for a
// single process that wants a sweep's effect now (the demo, a one-shot
// command). Jobs it queues coalesce with any pending for the same package.
// It returns how many jobs were queued.
func (s *Scheduler) SweepNow(ctx context.Context) (int, error) {
	items, err := s.plan(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		for _, typ := range it.types {
			job := jobs.Job{Type: typ, Target: it.target, Reason: JobReason, QueuedAt: s.now().UTC()}
			if err := jobs.Publish(ctx, s.q, job); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
