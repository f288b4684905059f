package jobs

import (
	"context"
	"log/slog"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// routeIssues handles issues and issue_comment events: undo through a report issue's checkboxes and /pkgwarden commands.
func (r *Router) routeIssues(ctx context.Context, log *slog.Logger, id, event string, env webhook.Envelope, body []byte) error {
	log.Info("router: no job for this event yet")
	return nil
}
