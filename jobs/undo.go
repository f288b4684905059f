package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/pkgwarden/pkgwarden/queue"
)

// Undo kinds.
const (
	// UndoRestore restores the listed versions (or All restorable ones).
	UndoRestore = "restore"
	// UndoForget deletes the listed versions again and marks them
	// intentional: never restored automatically again.
	UndoForget = "forget"
)

// UndoRequest is what a person asked in a report issue: a ticked restore
// box, a ticked "this deletion was intentional" box, or the /pkgwarden
// lines of a comment. It travels in the job, because the job must check
// who asked.
type UndoRequest struct {
	// Kind, IDs, All and Package are the request of a box (and of jobs
	// queued before comments carried Commands).
	Kind string  `json:"kind,omitempty"`
	IDs  []int64 `json:"ids,omitempty"`
	All  bool    `json:"all,omitempty"`
	// Sender asked; Repository ("owner/repo") holds the report issue
	// Issue.
	Sender     string `json:"sender"`
	Repository string `json:"repository"`
	Issue      int    `json:"issue"`
	// Via says how: "checkbox", "intentional checkbox", "comment".
	Via string `json:"via"`
	// Answer: reply with a comment (always for commands).
	Answer bool `json:"answer,omitempty"`
	// Package asks to forget the package itself (a forget form naming the
	// package rather than its id). An id in IDs that is the package's own
	// id, and no version's, asks the same: that is what the "intentional"
	// box of a package restore carries.
	Package bool `json:"package,omitempty"`
	// Commands are the /pkgwarden lines of a comment, in order, valid or
	// not: each gets an answer.
	Commands []UndoCommand `json:"commands,omitempty"`
}

// UndoCommand is one /pkgwarden line of a comment (report.Command as a job
// carries it).
type UndoCommand struct {
	// Kind is UndoRestore, UndoForget or UndoHelp; "" for a line that is
	// no command (Problem says why).
	Kind    string   `json:"kind,omitempty"`
	IDs     []int64  `json:"ids,omitempty"`
	All     bool     `json:"all,omitempty"`
	Package bool     `json:"package,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	// Digests are digest prefixes ("sha256:6e7d"), as report.Command has
	// them.
	Digests []string `json:"digests,omitempty"`
	// Line is the line as written, for the answer.
	Line    string `json:"line"`
	Problem string `json:"problem,omitempty"`
}

// UndoHelp asks what the commands are.
const UndoHelp = "help"

// List returns what u asks, one command per request.
func (u *UndoRequest) List() []UndoCommand {
	if len(u.Commands) > 0 {
		return u.Commands
	}
	return []UndoCommand{{Kind: u.Kind, IDs: u.IDs, All: u.All, Package: u.Package}}
}

// ForgetsPackage reports whether c forgets the package of id pkgID.
func (c *UndoCommand) ForgetsPackage(pkgID int64) bool {
	return c.Kind == UndoForget && (c.Package || pkgID != 0 && slices.Contains(c.IDs, pkgID))
}

// PublishUndo queues an undo job on a subject of its own (the delivery's):
// undo jobs of one package must not coalesce, since each carries a
// different person's request. They still take the package's lease, so
// they never run beside its prune or sweep.
func PublishUndo(ctx context.Context, q *queue.Queue, job Job) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode undo job for %s: %w", job.Target, err)
	}
	msg := &nats.Msg{Subject: queue.JobSubject(job.Type, job.Target.Key()+"#undo:"+job.DeliveryID), Data: data, Header: nats.Header{}}
	if job.DeliveryID != "" {
		msg.Header.Set(queue.HeaderDelivery, job.DeliveryID)
	}
	if _, err := q.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("queue undo job for %s: %w", job.Target, err)
	}
	return nil
}
