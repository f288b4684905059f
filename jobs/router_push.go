package jobs

import (
	"context"
	"log/slog"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// routePush handles a push: a change of .github/pkgwarden.yml on the default branch.
func (r *Router) routePush(ctx context.Context, log *slog.Logger, id string, env webhook.Envelope, body []byte) error {
	log.Info("router: no job for this event yet")
	return nil
}
