package report

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// IsReport reports whether body is a package report body written by
// pkgwarden (the restore work ignores other issues' edits).
func IsReport(body string) bool { return strings.HasPrefix(body, bodyMarker) }

// ParseTitle reads a package back from a report issue's title (Title's
// inverse); the repository is not in the title and stays empty.
func ParseTitle(title string) (rules.Package, bool) {
	rest, ok := strings.CutPrefix(title, "pkgwarden: ")
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
	if labels == nil {
		labels = DefaultLabels
	}
	label := ""
	if len(labels) > 0 {
		label = labels[0]
	}
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
		i := strings.Index(f.body, listHeading)
		if i < 0 {
			return res, nil
		}
		list := mergeRestorable(ParseRestorable(f.body), nil, ids, r.now().UTC())
		body, _ := finishBody(f.body[:i+len(listHeading)], list)
		if res.Updated, err = r.update(ctx, p, f, write{body: body, labels: f.labels}, ""); err != nil {
			return res, fmt.Errorf("mark restored in report of %s: %w", pkg, err)
		}
		return res, nil
	}
	return Result{}, nil
}
