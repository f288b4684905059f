package report

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// IsReport reports whether body starts as a package report body does. It
// says nothing of who wrote it: Recognise does.
func IsReport(body string) bool {
	return strings.HasPrefix(body, bodyMarker) || strings.HasPrefix(body, markerPrefix)
}

// titlePrefix starts every report title.
const titlePrefix = "pkgwarden: "

// ParseTitle reads a package back from a report issue's title (Title's
// inverse); the repository is not in the title and stays empty.
func ParseTitle(title string) (rules.Package, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(title, dryRunSuffix), titlePrefix)
	if !ok {
		return rules.Package{}, false
	}
	typ, full, ok := strings.Cut(rest, " ")
	switch typ {
	case rules.TypeNPM, rules.TypeMaven, rules.TypeRubyGems, rules.TypeNuGet, rules.TypeDocker, rules.TypeContainer:
	default:
		return rules.Package{}, false
	}
	if !ok {
		return rules.Package{}, false
	}
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(full, " \t") {
		return rules.Package{}, false
	}
	return rules.Package{Owner: owner, Type: typ, Name: name}, true
}

// MarkRestored removes restored versions from the package's report body,
// leaving the rest of the body as it is (no comment, no reopening): the
// restore work calls it after restoring. labels are the config's
// report.labels (nil: DefaultLabels). Result.Updated says whether the body
// changed; no issue at all is not an error.
func (r *Reporter) MarkRestored(ctx context.Context, installation int64, pkg rules.Package, labels []string, ids []int64) (Result, error) {
	labels, label := labelsOr(labels)
	title := Title(pkg)
	for _, p := range r.places(installation, pkg.Owner, pkg.Repository) {
		f, err := r.find(ctx, p, title, label)
		if errors.Is(err, errNoIssues) {
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("mark restored in report of %s: %w", pkg, err)
		}
		if f == nil {
			continue
		}
		res := Result{Issue: f.issue(p)}
		body, ok := relistBody(f.body, pkg, r.seal, ids, r.now().UTC())
		if !ok {
			return res, nil
		}
		if res.Updated, err = r.update(ctx, p, f, write{body: body, labels: f.labels}, ""); err != nil {
			return res, fmt.Errorf("mark restored in report of %s: %w", pkg, err)
		}
		return res, nil
	}
	return Result{}, nil
}

// Note adds comment to the package's report issue, opening the issue
// (with an empty report body) when there is none, and drops ids from its
// restorable deletions as MarkRestored does. marker is a hidden line the
// comment must contain: a comment already carrying it is not added again,
// so a retried job comments once. The restore work uses it to say what it
// restored and why.
func (r *Reporter) Note(ctx context.Context, installation int64, pkg rules.Package, labels, assignees []string, marker, comment string, restored []int64) (Result, error) {
	labels, label := labelsOr(labels)
	title := Title(pkg)
	var tried []string
	for _, p := range r.places(installation, pkg.Owner, pkg.Repository) {
		f, err := r.find(ctx, p, title, label)
		if errors.Is(err, errNoIssues) {
			tried = append(tried, p.String())
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("note in report of %s: %w", pkg, err)
		}
		var res Result
		if f == nil {
			body := emptyBody(pkg)
			if f, err = r.create(ctx, p, write{title: title, body: body, labels: labels, assignees: assignees}); errors.Is(err, errNoIssues) {
				tried = append(tried, p.String())
				continue
			} else if err != nil {
				return Result{}, fmt.Errorf("note in report of %s: %w", pkg, err)
			}
			res.Created = true
		}
		res.Issue = f.issue(p)
		if body, ok := relistBody(f.body, pkg, r.seal, restored, r.now().UTC()); ok && len(restored) > 0 {
			if res.Updated, err = r.update(ctx, p, f, write{body: body, labels: f.labels}, ""); err != nil {
				return res, fmt.Errorf("note in report of %s: %w", pkg, err)
			}
		}
		seen := false
		if !res.Created {
			if seen, err = r.hasComment(ctx, p, f.number, marker); err != nil {
				return res, fmt.Errorf("note in report of %s: %w", pkg, err)
			}
		}
		if !seen {
			if err := r.comment(ctx, p, f.number, comment); err != nil {
				return res, fmt.Errorf("note in report of %s: %w", pkg, err)
			}
			res.Commented = true
		}
		return res, nil
	}
	return Result{}, fmt.Errorf("note in report of %s: tried %s: %w", pkg, strings.Join(tried, ", "), ErrNowhere)
}
