package rules

import "context"

// ownerDashboard sets the dashboard switches of cfg from the owner's own
// file (nil: none), whichever file governs: the dashboard is the owner's.
func ownerDashboard(cfg *Config, owner *File) {
	if owner == nil {
		return
	}
	cfg.Report.Dashboard = owner.dashboard != nil && *owner.dashboard
	cfg.Report.DashboardOnly = cfg.Report.Dashboard && owner.perPackage != nil && !*owner.perPackage
}

// OwnerDashboard returns owner's dashboard switches (Report.Dashboard and
// DashboardOnly; the labels are not read) when the configuration of one
// of its packages cannot be resolved: an invalid repository file is still
// shown on the owner's dashboard. An owner file that is missing, invalid
// or unreadable keeps no dashboard.
func (l *Loader) OwnerDashboard(ctx context.Context, owner string) Report {
	f, err := l.file(ctx, owner, OwnerRepo, Path)
	if err != nil || f == nil {
		return Report{}
	}
	var cfg Config
	ownerDashboard(&cfg, f)
	return cfg.Report
}
