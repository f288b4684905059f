// Package jobs defines pkgwarden's job types and runs them: the router that
// turns webhook deliveries into jobs, and the worker pool that runs each job
// with the handler registered for its type, one job per package at a time
// across every process, with retries and a dead-letter stream.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
)

// Job types.
const (
	// TypePrune applies a package's prune rules.
	TypePrune = "prune"
	// TypeRestore brings back a package's deleted versions that its
	// restore rules protect, or that someone asked back from the report.
	TypeRestore = "restore"
)

// TypeConfig re-reads a repository's configuration after a push changed
// it: it reports or settles the invalid-config issue at once, then queues
// a prune of every package the file governs, so new rules apply without
// waiting for the next publish.
const TypeConfig = "config"

// ConfigTargetType is the PackageType of a config job's Target: no package
// type is spelled so, so the lease of a repository's config job
// ("installation/owner/repository/name") never collides with a package's.
const ConfigTargetType = "repository"

// ConfigTarget is the Target of the config job of repository owner/repo
// (repo without owner; ".github" for the owner's defaults and policy).
func ConfigTarget(installationID int64, owner, repo string) webhook.Target {
	return webhook.Target{
		InstallationID: installationID, Owner: owner,
		PackageType: ConfigTargetType, PackageName: repo, Repository: owner + "/" + repo,
	}
}

// TypeDashboard rewrites an owner's dashboard issue from the rows the
// owner's prune runs stored. One subject and one lease per owner
// (DashboardTarget): runs finishing at once on several workers each queue
// one, the burst coalesces into one waiting job, and the lease lets one
// writer at a time rewrite the body from every row stored before it began.
const TypeDashboard = "dashboard"

// DashboardTargetType is the PackageType of a dashboard job's Target: no
// package type is spelled so, so its lease never collides with a
// package's or a config job's.
const DashboardTargetType = "dashboard"

// DashboardTarget is the Target of owner's dashboard job.
func DashboardTarget(installationID int64, owner string) webhook.Target {
	return webhook.Target{InstallationID: installationID, Owner: owner, PackageType: DashboardTargetType, PackageName: owner}
}

// Job is one unit of work on one package.
type Job struct {
	Type   string         `json:"type"`
	Target webhook.Target `json:"target"`
	// DeliveryID is the webhook delivery that caused the job, if any. A
	// coalesced job carries the latest one.
	DeliveryID string `json:"delivery_id,omitempty"`
	// Reason says why the job exists ("registry_package published").
	Reason   string    `json:"reason,omitempty"`
	QueuedAt time.Time `json:"queued_at"`
	// Undo is what a person asked in a report issue (restore jobs only);
	// such a job is published on a subject of its own (PublishUndo).
	Undo *UndoRequest `json:"undo,omitempty"`
	// Push is the push a config job comes from (config jobs only).
	Push *Push `json:"push,omitempty"`
	// PullRequest is the pull request a config check is for (config
	// check jobs only).
	PullRequest *PullRequest `json:"pull_request,omitempty"`
}

// LeaseName is what the per-package lease is taken on: every job type of
// one package shares it, so a prune never runs beside a restore.
func (j Job) LeaseName() string { return j.Target.Key() }

// RunID is the id of the run a job makes: its delivery, else its type and
// queue time.
func (j Job) RunID() string {
	if j.DeliveryID != "" {
		return j.DeliveryID
	}
	return j.Type + "@" + j.QueuedAt.UTC().Format(time.RFC3339Nano)
}

// Subject is where the job is published; one subject per type and package
// is what coalesces a burst into one pending job.
func (j Job) Subject() string { return queue.JobSubject(j.Type, j.Target.Key()) }

// Logger returns logger with the job's fields, so every line of a job can
// be traced back to its webhook.
func (j Job) Logger(logger *slog.Logger) *slog.Logger {
	return logger.With(
		"job", j.Type,
		"delivery", j.DeliveryID,
		"installation", j.Target.InstallationID,
		"owner", j.Target.Owner,
		"package_type", j.Target.PackageType,
		"package", j.Target.PackageName,
		"repo", j.Target.Repository,
	)
}

// Handler runs jobs of one type. An error means the attempt failed and the
// job is retried with backoff; the context ends when the process stops or
// the package lease is lost, and the handler should then return promptly.
type Handler interface {
	Handle(ctx context.Context, job Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, job Job) error { return f(ctx, job) }

// Registry maps job types to their handlers. It is filled at start and
// read-only afterwards.
type Registry struct {
	handlers map[string]Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]Handler{}} }

// Register sets the handler of a job type, replacing any earlier one.
func (r *Registry) Register(typ string, h Handler) { r.handlers[typ] = h }

// Lookup returns the handler of a job type.
func (r *Registry) Lookup(typ string) (Handler, bool) {
	h, ok := r.handlers[typ]
	return h, ok
}

// Publish queues a job. A job already waiting for the same type and package
// is replaced (see queue.StreamJobs).
func Publish(ctx context.Context, q *queue.Queue, job Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode %s job for %s: %w", job.Type, job.Target, err)
	}
	msg := &nats.Msg{Subject: job.Subject(), Data: data, Header: nats.Header{}}
	if job.DeliveryID != "" {
		msg.Header.Set(queue.HeaderDelivery, job.DeliveryID)
	}
	if _, err := q.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("queue %s job for %s: %w", job.Type, job.Target, err)
	}
	return nil
}
