package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/internal/report"
	"github.com/pkgwarden/pkgwarden/queue"
)

// DeadLetterReporter tells an owner about the jobs of its packages that
// failed every attempt; *report.Reporter writes the owner's dead-letter
// issue.
type DeadLetterReporter interface {
	DeadLetters(ctx context.Context, installation int64, owner string, letters []report.DeadLetter, total int) (report.Result, error)
}

var _ DeadLetterReporter = (*report.Reporter)(nil)

// Bounds of the look at the dead-letter stream for one owner's issue.
const (
	deadLettersScanned = 500 // newest messages read
	deadLettersShown   = 10  // letters of the owner passed on
)

// reportDeadLetter tells the owner of job's package about it, with the
// owner's other recent dead letters, read back from the stream: the
// stream, not the issue, is the record, so the issue is rewritten whole.
// A job that names no installation (it could not be decoded) has no
// owner to tell: the log says it.
func (p *Pool) reportDeadLetter(ctx context.Context, data []byte, log *slog.Logger) {
	if p.cfg.DeadLetters == nil {
		return
	}
	var job Job
	if err := json.Unmarshal(data, &job); err != nil || job.Target.InstallationID == 0 || job.Target.Owner == "" {
		return
	}
	// One report at a time in a process: two letters of an owner at once
	// would otherwise both find no issue and open two.
	p.dlMu.Lock()
	defer p.dlMu.Unlock()
	// The caller's context is the short one of the ack; the issue may
	// take a few requests.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	letters, total, err := p.ownerDeadLetters(ctx, job.Target.InstallationID, job.Target.Owner)
	if err == nil && len(letters) == 0 {
		err = errors.New("the dead letter just stored is not in the stream")
	}
	if err == nil {
		_, err = p.cfg.DeadLetters.DeadLetters(ctx, job.Target.InstallationID, job.Target.Owner, letters, total)
	}
	if err != nil {
		log.Warn("workers: dead letter not reported to the owner", "err", err)
	}
}

// ownerDeadLetters reads the newest messages of the dead-letter stream and
// returns the owner's, newest first (at most deadLettersShown), and how
// many of the messages read are the owner's.
func (p *Pool) ownerDeadLetters(ctx context.Context, installation int64, owner string) ([]report.DeadLetter, int, error) {
	info, err := p.q.DeadLetters.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("dead letters: %w", err)
	}
	var out []report.DeadLetter
	total := 0
	first := info.State.FirstSeq
	for seq, n := info.State.LastSeq, 0; seq >= first && seq > 0 && n < deadLettersScanned; seq, n = seq-1, n+1 {
		m, err := p.q.DeadLetters.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		var job Job
		if json.Unmarshal(m.Data, &job) != nil || job.Target.InstallationID != installation || !strings.EqualFold(job.Target.Owner, owner) {
			continue
		}
		total++
		if len(out) == deadLettersShown {
			continue
		}
		attempts, _ := strconv.Atoi(m.Header.Get(queue.HeaderAttempts))
		out = append(out, report.DeadLetter{
			Job: job.Type, Package: job.Target.Ref(), Request: job.Undo != nil,
			Attempts: attempts, Error: m.Header.Get(queue.HeaderError), At: m.Time,
		})
	}
	return out, total, nil
}
