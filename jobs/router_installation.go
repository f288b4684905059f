package jobs

import (
	"context"
	"log/slog"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// routeInstallation handles installation and installation_repositories events.
func (r *Router) routeInstallation(ctx context.Context, log *slog.Logger, id, event string, env webhook.Envelope, body []byte) error {
	log.Info("router: no job for this event yet")
	return nil
}
