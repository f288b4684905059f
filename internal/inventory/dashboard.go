package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkgwarden/pkgwarden/queue"
)

// The owner dashboard's rows: one value per package, under its owner, so
// that the dashboard of an owner is one filtered read and each package's
// run writes only its own key (under the package's lease: one writer per
// key at a time).
//
//	i<installation>.d.<owner key>.<package key>   dashboard row (JSON, the report package's)

// dashboardPrefix is what the keys of owner's rows start with.
func dashboardPrefix(installation int64, owner string) string {
	return inst(installation) + ".d." + queue.Key(strings.ToLower(owner)) + "."
}

// SetDashboardRow stores pkg's row of its owner's dashboard.
func (s *Store) SetDashboardRow(ctx context.Context, installation int64, pkg Package, row []byte) error {
	if _, err := s.kv.Put(ctx, dashboardPrefix(installation, pkg.Owner)+pkgKey(pkg), row); err != nil {
		return fmt.Errorf("inventory: dashboard row of %s: %w", pkg, err)
	}
	return nil
}

// DashboardRow returns pkg's row, if any.
func (s *Store) DashboardRow(ctx context.Context, installation int64, pkg Package) ([]byte, bool, error) {
	e, err := s.kv.Get(ctx, dashboardPrefix(installation, pkg.Owner)+pkgKey(pkg))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inventory: dashboard row of %s: %w", pkg, err)
	}
	return e.Value(), true, nil
}

// DashboardRows returns every row of owner's dashboard (case-insensitive
// owner), in no particular order.
func (s *Store) DashboardRows(ctx context.Context, installation int64, owner string) ([][]byte, error) {
	var out [][]byte
	err := s.each(ctx, dashboardPrefix(installation, owner)+"*", func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: dashboard rows of %s in installation %d: %w", owner, installation, err)
	}
	return out, nil
}

// ClearDashboardRow forgets pkg's row (the package is gone).
func (s *Store) ClearDashboardRow(ctx context.Context, installation int64, pkg Package) error {
	if err := s.kv.Purge(ctx, dashboardPrefix(installation, pkg.Owner)+pkgKey(pkg)); err != nil {
		return fmt.Errorf("inventory: clear dashboard row of %s: %w", pkg, err)
	}
	return nil
}
