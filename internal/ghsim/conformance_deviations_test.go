package ghsim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// This file is the one place where the simulator, or GitHub's own
// description of itself, is allowed to differ from what the conformance
// tests check (openapi_conformance_test.go against
// testdata/github/rest/openapi.json, webhook_conformance_test.go against
// testdata/github/webhooks/schema.json, hook_shapes_test.go against
// GitHub's example payloads, key by key). Every difference those tests find
// must match an entry below, and every entry must match at least one
// difference of the run: a fixed deviation makes its entry fail, so the
// list cannot rot. Delete the entry when that happens.

// deviation is one difference kept on purpose.
type deviation struct {
	// Kind is the test that finds it: "rest" (a REST answer), "webhook"
	// (a delivery the simulator sent) or "example" (one of GitHub's own
	// example payloads).
	Kind string
	// Where: for rest, operations as "METHOD /path/{template}" of the
	// OpenAPI document; for webhook, "event.action" (or "event" for an
	// event without actions); for example, the file under
	// webhooks/examples/. The entry must be met at every one of them.
	Where []string
	// At is where in the answer or payload: "status 404", "header ETag",
	// "header X-GitHub-Hook-Installation-Target-ID", or a JSON pointer
	// into the body ("" for the body itself) in which "*" stands for any
	// one segment (an array index).
	At string
	// What is a piece of the validator's message that must occur in it.
	What string
	// Why it is kept.
	Why string
}

// Finding is one difference a conformance test met.
type Finding struct {
	Kind, Where, At, What string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s at %q: %s", f.Kind, f.Where, f.At, f.What)
}

func (d deviation) matches(f Finding) bool {
	if d.Kind != f.Kind || !strings.Contains(f.What, d.What) || !pointerMatch(d.At, f.At) {
		return false
	}
	for _, w := range d.Where {
		if w == f.Where {
			return true
		}
	}
	return false
}

// pointerMatch compares At patterns segment by segment, "*" matching any
// one segment.
func pointerMatch(pattern, at string) bool {
	if !strings.HasPrefix(pattern, "/") || !strings.HasPrefix(at, "/") {
		return pattern == at
	}
	ps, as := strings.Split(pattern, "/"), strings.Split(at, "/")
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != as[i] {
			return false
		}
	}
	return true
}

// CheckDeviations (exported for the conformance tests of package
// ghsim_test) fails the test for every Finding no deviation allows,
// and for every (entry, place) of kind that no finding met.
func CheckDeviations(t *testing.T, kind string, found []Finding) {
	t.Helper()
	unexpected, unused := reconcile(deviations, kind, found)
	for _, u := range unexpected {
		t.Errorf("not conformant, and not in conformance_deviations_test.go: %s", u)
	}
	for _, u := range unused {
		t.Errorf("deviation no longer met, delete it from conformance_deviations_test.go: %s", u)
	}
}

// reconcile returns the findings no deviation of list allows, and the
// (entry, place) pairs of kind no finding met or that lack a reason.
func reconcile(list []deviation, kind string, found []Finding) (unexpected, unused []string) {
	used := map[string]bool{} // index/where
	seen := map[string]bool{}
	for _, f := range found {
		ok := false
		for i, d := range list {
			if d.matches(f) {
				used[fmt.Sprintf("%d/%s", i, f.Where)] = true
				ok = true
			}
		}
		if !ok && !seen[f.String()] {
			seen[f.String()] = true
			unexpected = append(unexpected, f.String())
		}
	}
	sort.Strings(unexpected)
	for i, d := range list {
		if d.Kind != kind {
			continue
		}
		if d.Why == "" || d.What == "" || len(d.Where) == 0 {
			unused = append(unused, fmt.Sprintf("entry %d (%s %q) lacks Where, What or Why", i, d.Kind, d.At))
		}
		for _, w := range d.Where {
			if !used[fmt.Sprintf("%d/%s", i, w)] {
				unused = append(unused, fmt.Sprintf("%s %s at %q: %s", d.Kind, w, d.At, d.What))
			}
		}
	}
	return unexpected, unused
}

// TestReconcile: the allow-list lets through exactly what it names, and
// reports an entry, or one place of an entry, that nothing met.
func TestReconcile(t *testing.T) {
	list := []deviation{
		{Kind: "rest", Where: []string{"GET /a", "GET /b"}, At: "/items/*/name", What: "missing", Why: "because"},
		{Kind: "rest", Where: []string{"GET /a"}, At: "status 404", What: "not documented", Why: "because"},
		{Kind: "webhook", Where: []string{"push"}, At: "header X", What: "missing", Why: "because"},
		{Kind: "rest", Where: []string{"GET /c"}, At: "", What: "x"},
	}
	tests := []struct {
		name             string
		found            []Finding
		unexpected, left int
	}{
		{"every place met", []Finding{
			{"rest", "GET /a", "/items/0/name", "property missing"}, {"rest", "GET /b", "/items/12/name", "missing"},
			{"rest", "GET /a", "status 404", "status 404 not documented"}, {"rest", "GET /c", "", "x"},
		}, 0, 1}, // the entry without a reason
		{"one place of an entry unmet", []Finding{
			{"rest", "GET /a", "/items/0/name", "missing"}, {"rest", "GET /a", "status 404", "not documented"},
			{"rest", "GET /c", "", "x"},
		}, 0, 2},
		{"another pointer, operation, message or kind", []Finding{
			{"rest", "GET /a", "/items/0/title", "missing"}, {"rest", "GET /d", "status 404", "not documented"},
			{"rest", "GET /a", "status 404", "malformed"}, {"webhook", "GET /a", "status 404", "not documented"},
			{"rest", "GET /a", "/items/name", "missing"},
		}, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			unexpected, unused := reconcile(list, "rest", tc.found)
			if len(unexpected) != tc.unexpected || len(unused) != tc.left {
				t.Errorf("unexpected %d %q, unused %d %q; want %d and %d", len(unexpected), unexpected, len(unused), unused, tc.unexpected, tc.left)
			}
		})
	}
}

// atEach is d once per field under base, for one difference met alike at
// many fields; each place must still be met.
func atEach(d deviation, base string, fields ...string) []deviation {
	out := make([]deviation, len(fields))
	for i, f := range fields {
		out[i] = d
		out[i].At = base + "/" + f
	}
	return out
}

// deviations are the differences kept on purpose, each with its reason.
var deviations = slices.Concat(restDeviations, webhookDeviations)

// The webhooks the simulator sends today, by kind of delivery.
var (
	issueHooks = []string{"issues.assigned", "issues.closed", "issues.edited", "issues.labeled", "issues.opened",
		"issues.reopened", "issues.unlabeled"}
	commentHooks = []string{"issue_comment.created", "issue_comment.edited"}
	pullHooks    = []string{"pull_request.closed", "pull_request.opened", "pull_request.reopened", "pull_request.synchronize"}
	allHooks     = concat(issueHooks, commentHooks, pullHooks, []string{"push", "registry_package.published"})
)

var webhookDeviations = slices.Concat(
	atEach(deviation{
		Kind: "webhook", Where: pullHooks, What: "missing (required)",
		Why: "as for /repository: the pull request's base and head repositories lack the same two newer fields",
	}, "/pull_request/base/repo", "web_commit_signoff_required", "custom_properties"),
	atEach(deviation{
		Kind: "webhook", Where: pullHooks, What: "missing (required)",
		Why: "as for /repository: the pull request's base and head repositories lack the same two newer fields",
	}, "/pull_request/head/repo", "web_commit_signoff_required", "custom_properties"),
	[]deviation{
		{
			Kind: "webhook", Where: concat(issueHooks, commentHooks), At: "/issue/reactions", What: "missing (required)",
			Why: "the simulator keeps no reactions; pkgwarden reads none (its commands are comment text)",
		},
		{
			Kind: "webhook", Where: commentHooks, At: "/comment/reactions", What: "missing (required)",
			Why: "the simulator keeps no reactions; pkgwarden reads none (its commands are comment text)",
		},
		{
			Kind: "webhook", Where: concat(issueHooks, commentHooks), At: "/issue/closed_by", What: "not in the schema",
			Why: "the payload's issue is the simulator's REST issue object, which has closed_by; GitHub's webhook schema " +
				"leaves it out; pkgwarden ignores it",
		},
	},
	[]deviation{{
		Kind: "webhook", Where: []string{"registry_package.published", "registry_package.updated"},
		At: "/registry_package/package_version/container_metadata/labels/image_url", What: "is not valid uri",
		Why: "an image without an org.opencontainers.image.url label gets \"\" (GitHub's own example sends \"\" for the " +
			"labels its image lacks: licenses, revision), though the schema says uri; pkgwarden reads no label",
	}},
)

var restDeviations = []deviation{
	// --- REST: statuses GitHub sends that its description leaves out.
	{
		Kind: "rest", At: "status 401", What: "not documented",
		Where: concat([]string{"GET /app", "GET /app/installations", "GET /repos/{owner}/{repo}", "GET /user/packages"},
			pkOps("GET", "/{package_type}/{package_name}")),
		Why: "the description lists 401 on some operations only; GitHub answers 401 \"Requires authentication\" or " +
			"\"Bad credentials\" on every one (REST docs, \"Troubleshooting\"), and pkgwarden takes any 401 as a bad credential",
	},
	{
		Kind: "rest", At: "status 404", What: "not documented",
		Where: concat([]string{"GET /orgs/{org}/installation", "GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
			"GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
			"PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", "POST /app/hook/deliveries/{delivery_id}/attempts"},
			pkOps("GET", "/{package_type}/{package_name}"), pkOps("GET", "/{package_type}/{package_name}/versions/{package_version_id}")),
		Why: "the description documents only the success of these operations; GitHub answers 404 for what does not exist or " +
			"the caller may not see (REST docs, \"Troubleshooting\"), and pkgwarden takes a package's or version's 404 as gone",
	},
	{
		Kind: "rest", At: "status 304", What: "not documented",
		Where: concat(pkOps("GET", "/{package_type}/{package_name}"), pkOps("GET", "/{package_type}/{package_name}/versions"),
			pkOps("GET", "/{package_type}/{package_name}/versions/{package_version_id}")),
		Why: "GitHub answers 304 to a conditional GET (REST docs, \"Best practices\": conditional requests) though the " +
			"description lists 304 on few operations; pkgwarden's listings (githubapi/etag.go) depend on it",
	},
	{
		Kind: "rest", At: "status 422", What: "not documented",
		Where: concat(pkOps("GET", ""), []string{"GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
			"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", "POST /repos/{owner}/{repo}/check-runs"}),
		Why: "GitHub refuses invalid parameters and bodies with 422 (REST docs, \"Troubleshooting\"; \"No commit found for SHA\" " +
			"as users quote it); the description lists 422 on few operations. pkgwarden never sends these on purpose",
	},
	{
		Kind: "rest", At: "status 403", What: "not documented",
		Where: []string{"GET /user/packages", "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
			"POST /repos/{owner}/{repo}/check-runs"},
		Why: "GitHub refuses a token without the scope or kind an operation needs with 403 (a classic token without " +
			"read:packages, without push access to read a permission, on the check runs API that only Apps may write); " +
			"the description omits it here while it lists it on the other namespaces' package operations",
	},
	{
		Kind: "rest", At: "status 429", What: "not documented",
		Where: []string{"GET /user", "GET /users/{username}/packages"},
		Why: "a secondary rate limit is answered 403 or 429 on any operation (REST docs, \"Rate limits for the REST API\": " +
			"exceeding the rate limit); the description documents 429 nowhere. pkgwarden handles both",
	},
	// --- REST: the description's own quirk.
	{
		Kind: "rest", Where: []string{"GET /app/installations"}, At: "/0/account", What: `property "name" is missing`,
		Why: "the description's account schema is allOf Simple User and Enterprise, so it asks every account for an " +
			"enterprise's name and slug; GitHub's own example of this answer has neither (an account is one or the other)",
	},
	// --- REST: headers.
	{
		Kind: "rest", At: "header ETag", What: "missing on a GET answered 200",
		Where: []string{"GET /app", "GET /app/hook/deliveries", "GET /app/installations", "GET /installation/repositories",
			"GET /orgs/{org}/installation", "GET /repos/{owner}/{repo}", "GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
			"GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
			"GET /repos/{owner}/{repo}/commits/{ref}/check-runs", "GET /repos/{owner}/{repo}/pulls/{pull_number}",
			"GET /repos/{owner}/{repo}/pulls/{pull_number}/files", "GET /user", "GET /users/{username}"},
		Why: "the simulator gives ETags (and 304s) only where pkgwarden sends If-None-Match: the Packages API " +
			"(githubapi/etag.go), rules files (githubapi.ContentsSource.Cached) and report issues (report.WithCache); " +
			"nothing else of pkgwarden makes conditional requests",
	},
	{
		Kind: "rest", At: "header X-OAuth-Scopes", What: "missing on an answer to a classic token (status 4",
		Where: []string{"GET /user", "GET /users/{username}/packages"},
		Why: "rate-limited answers come from the rate-limit middleware (ghsim/ratelimit), before any token is looked up; " +
			"GitHub does not say whether its rate-limit answers carry X-OAuth-Scopes, and pkgwarden keeps the scopes of the " +
			"last answer that had them (githubapi/packages.go)",
	},
}

// pkOps are an operation of the three Packages namespaces, for entries
// that hold for all of them.
func pkOps(method, tail string) []string {
	var out []string
	for _, pre := range []string{"/orgs/{org}", "/user", "/users/{username}"} {
		out = append(out, method+" "+pre+"/packages"+tail)
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// --- The key-by-key comparison of every webhook the simulator sends with
// GitHub's example of the same event and action (hook_shapes_test.go,
// TestWebhookShapes), stricter than the schema: its kept differences.

// hookShapeDeviations are the differences from GitHub's examples kept on
// purpose, by event/action and path, each with its reason. Anything else
// the comparison finds fails the test, and so does an entry here that no
// longer matches a difference.
var hookShapeDeviations = map[string]string{
	// GitHub's container example has, under body, an object describing the
	// README blob of the repository (repository, info, attributes); the
	// npm example a string. The simulator has no README blobs and sends the
	// empty string of the schema's string form; pkgwarden reads neither.
	"registry_package/published .registry_package.package_version.body": "README blob object; string form sent",
	"registry_package/updated .registry_package.package_version.body":   "README blob object; string form sent",
	"package/published .package.package_version.body":                   "README blob object; string form sent",
	"package/updated .package.package_version.body":                     "README blob object; string form sent",
}

// hookDataMaps are objects of GitHub's examples whose keys are data, not
// shape: the image's own labels, the installation's own permissions. The
// comparison checks that they are objects and leaves their keys alone.
var hookDataMaps = []string{
	".registry_package.package_version.container_metadata.labels.all_labels",
	".package.package_version.container_metadata.labels.all_labels",
	".installation.permissions",
}

// hookNullable are keys GitHub sends as null when unset (nullable in the
// schema) although its examples show them set: the simulated organization
// has no description, the simulated repository no language, the app no
// single-file permission (single_file_name), and no installation was
// requested by someone else than the owner (requester).
var hookNullable = map[string]bool{
	".organization.description": true, ".repository.language": true,
	".installation.single_file_name": true, ".requester": true,
}
