package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// routeInstallation handles installation and installation_repositories
// events: an installation deleted (the App uninstalled) forgets its
// inventory, so nothing is restored there from stale memory.
func (r *Router) routeInstallation(ctx context.Context, log *slog.Logger, id, event string, env webhook.Envelope, body []byte) error {
	if event != webhook.EventInstallation || env.Action != "deleted" {
		log.Debug("router: installation event needs no job")
		return nil
	}
	if r.cfg.Inventory == nil {
		log.Info("router: installation deleted; no inventory to clear")
		return nil
	}
	n, err := r.cfg.Inventory.ClearInstallation(ctx, env.InstallationID())
	if err != nil {
		return fmt.Errorf("installation %d deleted: %w", env.InstallationID(), err)
	}
	log.Info("router: installation deleted, inventory cleared", "keys", n)
	return nil
}
