// Package rules reads `.github/pkgwarden.yml` and decides, for every version
// of a package, whether it is kept or deleted and why. It is pure: files
// come through a Source, versions and the OCI graph are given, time is a
// parameter; nothing here touches the network.
//
// # Using it
//
//	l := rules.NewLoader(src)                // one per run; caches files
//	cfg, err := l.Load(ctx, pkg)             // ErrorList inside err: report it
//	d := rules.Decide(rules.Input{Config: cfg, Package: pkg,
//		Versions: versions, Graph: graph, Now: now,
//		Held: held})                         // versions to keep for now, or nil
//	// d.Untouched != "": delete nothing. Otherwise delete d.Delete in order
//	// (unless d.DryRun) and report d.Keep with their reasons.
//
// `plan --config FILE` calls Loader.Override before Load.
//
// # Where rules come from
//
// A package linked to a repository follows that repository's file (Path,
// default branch); packages linked to no repository, and repositories with
// no file, follow the owner's file in its OwnerRepo (".github")
// repository. The owner's policy block bounds every file: repository_rules
// deny ignores repository files (with a notice), dry_run forces a dry run,
// min_untagged_age (default 1h, at least 1m) is a floor under which no
// version of any kind is deleted, max_deletions_per_run (default 500) caps a run. A
// policy block anywhere but the owner's own file is an error. No file at
// all: the configuration is inert and nothing is deleted.
//
// _extends: owner/repo[:path] merges another file under this one: keys set
// here win, report merges key by key, lists (rules, labels, assignees) are
// replaced whole. One level only: the extended file's own _extends is not
// followed (a notice says so) and its policy is never taken.
//
// A repository's file governs only packages linked to that repository:
// Decide refuses a Config from another repository's file (the decision is
// untouched, with a notice), and an overriding file that names another
// repository's package is reported in that package's notices.
//
// # Decoding
//
// Decoding is strict. An unknown key, a wrong type (a quoted "true", a
// single string where a list is expected), a bad duration, glob or number
// is an Error with file, line and column; Decode returns up to 20 of them
// as an ErrorList. YAML anchors and aliases are accepted; tags (!!str),
// merge keys (<<) and several documents are not. Limits: files of at most
// 1 MiB, 100 rules, 100 globs per list of 256 bytes each, keep_* counts up
// to 100000, max_deletions_per_run from 1 to 100000, durations up to 520w,
// 20 labels, 10 assignees.
//
// Durations are a whole number and one unit: m, h, d or w (30m, 12h, 7d,
// 2w). Seconds, compound durations (1h30m) and negative values are refused.
//
// Globs: "*" matches any run of characters, "/" included ("team/*"), "?"
// one character; a leading "!" excludes. A value matches a list when it
// matches a positive glob and no exclusion; a list of exclusions only
// matches everything else. Package names match case-insensitively, tags
// exactly. Globs may use letters, digits and . _ - / @ + only.
//
// Regular expressions are not accepted: a pattern written /like this/ is an
// error rather than a literal. Globs cover real tag and package schemes,
// are obvious to review in a pull request, and cannot be written to match
// far more than intended, which matters for a file that directs deletions.
//
// # Deciding
//
// The first rule whose packages and type match governs the package.
// Container and docker packages:
//
//   - a tagged version is a candidate only when every one of its tags
//     matches delete_tags; a tag matching exclude_tags (or the rule's
//     restore.tags, which would only undo the deletion) keeps it. The
//     newest keep_tagged candidates stay. So exclude_tags beats keep_tagged
//     beats delete_tags.
//   - untagged versions are candidates when untagged is true; the newest
//     keep_untagged of them stay.
//   - older_than then keeps candidates younger than it (ages from
//     created_at), and min_untagged_age keeps anything younger than it.
//   - children of an image index (nested too) and referrers (OCI 1.1
//     subject, the "sha256-<hex>" tag-schema index, cosign
//     "sha256-<hex>.sig|.att|.sbom" tags) are not judged on their own nor
//     counted: they stay while any index or subject holding them stays, and
//     go with them, after them. A referrer whose subject is not listed goes
//     (under any prune rule, subject to the age limits). Referrer tags are
//     never tags of their own for the rules.
//   - a listed version whose manifest is unreadable (or absent from the
//     Graph) leaves the whole package untouched; digests an index names but
//     nobody lists are simply gone.
//
// npm, maven, rubygems and nuget packages: the newest keep_latest versions
// stay; with prerelease_only only semver pre-releases (1.2.0-rc.1,
// 1.0-SNAPSHOT) may go; older_than and min_untagged_age keep young ones. At
// least one of keep_latest and older_than must be set for anything to go.
//
// Deletions are ordered oldest group first, a group being a version and
// what goes with it (parents before children, subjects before referrers);
// beyond max_deletions_per_run whole groups are kept as "deferred to next
// run". Output is sorted and does not depend on the listing order.
package rules
