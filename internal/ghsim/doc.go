// Package ghsim is a stateful, offline stand-in for GitHub: the Packages REST
// API of the seed document, GitHub App authentication, repositories with
// files, issues and comments, and an OCI registry that behaves like ghcr.io.
// pkgwarden's tests run against it, and users point `pkgwarden plan` at it to
// try rules without risk.
//
// # Parts
//
// After go-containerregistry's pkg/registry: Sim (sim.go) is a small entry
// point. New builds the shared world (world.go: options, clock and state
// behind one mutex, the webhook outbox, and the Go API tests and the demo
// seed build the world with, which Sim exposes by embedding it), then the
// parts, each a small type over the world that registers its own routes:
//
//   - packagesAPI (packages.go): the Packages REST API, under /orgs/{org},
//     /users/{username} and /user, each with .../packages (list) and
//     .../packages/{package_type}/{package_name} GET and DELETE, /restore,
//     /versions, /versions/{package_version_id} GET and DELETE, and
//     /versions/{package_version_id}/restore.
//   - appAPI (app.go, app_hooks.go, manifest.go): GET /app, GET
//     /app/installations, POST /app/installations/{id}/access_tokens, GET
//     /orgs/{org}/installation, GET /installation/repositories, GET
//     /app/hook/deliveries, POST /app/hook/deliveries/{id}/attempts, the
//     manifest pages GET and POST /settings/apps/new and
//     /organizations/{org}/settings/apps/new (and .../confirm), and POST
//     /app-manifests/{code}/conversions.
//   - reposAPI (repos.go, app_users.go): GET /repos/{owner}/{repo}, its
//     /contents and /contents/{path...}, GET
//     /repos/{owner}/{repo}/collaborators/{username}/permission, the raw
//     file host GET /_raw/{owner}/{repo}/{ref}/{path...} (the contents'
//     download_url), GET /user and GET /users/{username}.
//   - issuesAPI (issues.go): GET and POST /repos/{owner}/{repo}/issues, GET
//     and PATCH .../issues/{number}, GET and POST .../issues/{number}/comments,
//     PATCH .../issues/comments/{id}.
//   - pullsAPI (pulls.go, commits.go): GET
//     /repos/{owner}/{repo}/pulls/{pull_number} and .../files; forks and
//     pull requests are made through the Go API and /_admin/.
//   - checksAPI (checks.go): POST /repos/{owner}/{repo}/check-runs, GET
//     and PATCH .../check-runs/{check_run_id}, GET
//     .../check-runs/{check_run_id}/annotations and GET
//     /repos/{owner}/{repo}/commits/{ref}/check-runs.
//   - adminAPI (admin*.go): /_admin/, below.
//   - registryAPI (registry.go): the OCI registry, /v2/ and /token, on a
//     handler of its own (RegistryHandler).
//
// The middleware are packages of their own that know nothing of the world:
// faults (in front of everything but /_admin/, and of the registry only
// when asked) and ratelimit (behind faults, on the REST API without
// /_admin/ and /_raw/; sim.go names the caller of a request). Both are
// described below. Routes no client calls are not served: pkgwarden, its
// tests and the demo are the clients, and the Packages API is served whole
// because the seed document is its contract (conformance_test.go).
//
// # Conformance with GitHub's own descriptions
//
// testdata/github holds what GitHub publishes about the parts pkgwarden
// uses (its README says from where, and how to regenerate them). Three
// tests of the package's test command check the simulator against them
// over real HTTP, so that a wrong idea of GitHub shared by pkgwarden and
// the simulator fails a test instead of a first real installation:
//
//   - TestOpenAPIConformance (openapi_conformance_test.go) drives every
//     operation of rest/openapi.json, a success and an error each (401,
//     403, 404, 410, 422, 304 with If-None-Match, the primary and both
//     secondary rate-limit answers), and validates each answer with
//     kin-openapi: the status documented for the operation, the body
//     against its schema, the headers it declares. Then the headers
//     GitHub's REST docs describe: X-RateLimit-Limit, -Remaining, -Used,
//     -Reset and -Resource on every answer, Remaining 0 on a spent primary
//     limit and Retry-After on a secondary one, ETag on a GET answered 200,
//     Link well formed and leading on when there is another page,
//     X-OAuth-Scopes on answers to classic tokens, and GitHub's message
//     for a package that does not exist.
//   - TestWebhookConformance (webhook_conformance_test.go) makes the
//     simulator send every webhook it can and validates each delivery, at
//     a real receiver, against webhooks/schema.json (draft-07, with
//     santhosh-tekuri/jsonschema), the definition chosen by the
//     X-GitHub-Event header and the action: whatever the simulator sends
//     is checked, and an event or action without a schema fails. Its
//     headers are checked against GitHub's delivery headers, and a
//     container's registry_package against the keys GitHub's example
//     shows. TestWebhookExamples validates GitHub's example payloads
//     (webhooks/examples) against the same schema, as a check of the
//     validator.
//   - Differences kept on purpose, of the simulator or of GitHub's
//     description against GitHub itself, are listed in
//     conformance_deviations_test.go, each with the operation or event,
//     the place (status, header or JSON pointer), the message and the
//     reason. Anything else fails, and so does an entry no run meets
//     (delete it then).
//
// # Behaviours the seed document does not state
//
// Each line: what the simulator does, and where that comes from.
//
//   - Errors are JSON objects {"message", "documentation_url"}, as every
//     GitHub REST error is (GitHub REST docs, "Troubleshooting").
//
// Packages API (packages.go; the seed is the contract, these fill its gaps):
//
//   - List packages without package_type: 400 "The package_type parameter
//     is required."; an unknown package_type, visibility or state: 422
//     "Invalid request. ..." (GitHub validates query enums with 422; the
//     seed marks package_type required but gives no status). A non-integer
//     page or per_page: 422. per_page above 100 is capped at 100, below 1
//     means 30 (GitHub REST docs, "Using pagination").
//   - An unknown package_type in a path and an unknown org or user: 404
//     "Not Found". A package or version that does not exist (or no
//     longer: deleted, purged, or past the restore window), and a private
//     or internal package the caller cannot see: 404 "Package not found."
//     (GitHub answers 404, not 403, for what a caller may not see; REST
//     docs, "Troubleshooting"; the message is the one the package
//     endpoints answer, as users of actions/delete-package-versions quote
//     it, e.g. issues #105 and #115 "get versions API failed. Package not
//     found."; for a missing version GitHub's wording is not documented,
//     and the simulator answers the same message).
//     Private and internal packages are visible to the owning user and to
//     an organization's members; public ones to any authenticated caller.
//   - Every answer to a classic token carries X-OAuth-Scopes (its scopes)
//     and X-Accepted-OAuth-Scopes (what the endpoint checks for) (GitHub
//     docs, "Scopes for OAuth apps"). A classic token lacking one: 403 "You
//     need at least <scope> scope to <list packages|get a package|get a
//     package's versions|delete a package version|...>." (GitHub's wording
//     as users quote it). Listing and reading need read:packages, deleting
//     delete:packages, restoring write:packages (REST docs, "Packages");
//     write:packages implies read:packages (same page). maven and docker
//     also need repo (seed, "repository-scoped"). SetTokenScopes changes
//     a token's scopes in place.
//   - An organization enforcing SAML SSO (EnforceSAML) refuses a classic
//     token not authorised for it (AuthorizeSSO): 403 "Resource protected
//     by organization SAML enforcement. ..." with "X-GitHub-SSO: required;
//     url=<web>/orgs/<org>/sso?authorization_request=..." (REST docs,
//     "Authenticating to the REST API": PATs and SAML SSO). It is checked
//     before the scopes.
//   - Installation tokens: 403 "Resource not accessible by integration" on
//     every package endpoint unless Options.AllowInstallationTokensOnPackages
//     (DESIGN.md "Credentials"; the message is GitHub's usual refusal of
//     integrations). An app JWT: 403.
//   - Deleting or restoring without admin rights (an organization admin, or
//     the user itself for /user and /users/{username}): 403 "You must be an
//     admin of this package's namespace ..." (seed: admin needed; wording
//     the simulator's).
//   - A public package version with more than 5,000 downloads (exactly 5,000
//     is deletable), or a public package with such a version: 403
//     "Publicly visible package versions with more than 5000 downloads
//     cannot be deleted. ..." (seed rule; 403 is the seed's documented
//     refusal and DESIGN.md pins refusals to 403).
//   - Deleting the last active version: 400 "You cannot delete the last
//     version of a package. You must delete the package instead." (message
//     reported from the real API in actions/delete-package-versions#231 and
//     SmartsquareGmbH/delete-old-packages#33; the status is not shown there,
//     400 is the simulator's assumption).
//   - Restoring a version or package deleted more than 30 days ago
//     (simulated clock): 404, and such versions vanish from state=deleted
//     listings (GitHub purges them; seed: "within 30 days").
//   - Restoring a package while a new package holds its namespace, or a
//     version whose digest was pushed again as a new version: 403 "A
//     package with this name was created since this one was deleted. ..."
//     (seed rule; status and wording the simulator's).
//   - GET of a version deleted less than 30 days ago answers 200 with its
//     tags (an assumption: the seed does not say).
//   - Restoring an active version: 204 and nothing changes. Deleting a
//     deleted version: 404 "Package not found.". Restore's token parameter
//     is accepted and ignored (the seed only calls it "package token").
//   - Stale listings (Options.StaleListing, Sim.SetStaleListing, PUT
//     /_admin/stale-listing, `pkgwarden sim --stale-listing 30s`; off by
//     default): for that long after its deletion (simulated clock), a
//     version stays in state=active listings as it was, tags included,
//     and is in no state=deleted listing yet; deleting it again meanwhile
//     answers 404 "Package not found.", since it is deleted. GET of the
//     version, restore and the Go API (Versions) see the truth. This is
//     ghcr.io's known lag: a just-deleted version listed as active for a
//     while, whose deletion answers 404; dataaxiom/ghcr-cleanup-action
//     tolerates exactly this (its package-repo.ts ignores a 404 to a
//     delete that follows a successful one). The length of the lag is not
//     documented; it is the test's to choose.
//   - Deleted versions keep their tags in state=deleted listings; a restored
//     version gets back the tags no active version holds now (DESIGN.md
//     assumption; GitHub shows no deleted_at and neither does the simulator).
//     Options.RestoreWithoutTags (or Sim.SetRestoreWithoutTags) switches
//     that off: a restored version comes back by digest with no tags.
//     GitHub's docs do not say that a restored container version gets its
//     tags back, so clients must cope with either; the switch lets a test
//     show that they re-tag through the registry themselves. Go only, no
//     admin route.
//   - Order: packages by creation; versions newest first (created_at, then
//     id). version_count counts active versions.
//   - Link headers carry prev, next, last and first (those that apply) with
//     absolute URLs and page/per_page, like GitHub's.
//   - html_url values point at a simulated github.com under <APIURL>/web.
//   - Every package object carries repository: the minimal repository when
//     linked, null when not (DESIGN.md: responses carry the examples' keys,
//     repository on every package).
//   - 200 answers of the package GETs carry a weak ETag of the body; a
//     request whose If-None-Match names it gets 304 with no body (GitHub
//     REST docs, "Best practices", conditional requests).
//
// Rate limits (package ratelimit, the middleware; sim.go names the caller
// and leaves /_admin/ and /_raw/ out. GitHub REST docs, "Rate limits for
// the REST API", its sections on primary and secondary rate limits and
// "Calculating points for the secondary rate limit"; and "Best practices
// for using the REST API" for conditional requests). Options.RateLimits,
// the admin route below and `pkgwarden sim --rate-limits` set them:
//
//   - Counted per caller: each classic or installation token on its own,
//     the app's JWTs together ("app"), requests without credentials
//     together ("anonymous"; GitHub counts those by IP). The registry
//     (/v2/, /token), /_admin/ and /_raw/ are not counted and carry no
//     X-RateLimit-* headers.
//   - Primary: PrimaryLimit requests per PrimaryWindow (default 15000 per
//     hour, GitHub's figure for Enterprise Cloud tokens and the ceiling of
//     installations; GitHub.com classic tokens get 5000). A window opens
//     with the caller's first request and resets when it ends. Every
//     counted answer carries X-RateLimit-Limit, -Remaining, -Used, -Reset
//     (Unix seconds, rounded up to the window's end) and -Resource (core).
//     When spent: 403, X-RateLimit-Remaining: 0, no Retry-After, message
//     "API rate limit exceeded for user ID <n>." (GitHub's wording; the
//     id is a stand-in derived from the token).
//   - A 304 answer (If-None-Match naming the current ETag) does not count
//     against the primary limit (GitHub: "Making a conditional request
//     does not count against your primary rate limit if a 304 response is
//     returned"). A spent primary limit answers 403 even then
//     (simulator's choice: GitHub does not say).
//   - Secondary, points: GET, HEAD and OPTIONS cost 1 point, POST, PATCH,
//     PUT and DELETE 5 (GitHub: "most REST API" requests of each kind);
//     at most SecondaryPoints per SecondaryWindow (default 900 per
//     minute, GitHub's REST figure; GitHub counts per endpoint, the
//     simulator per caller, which is stricter). The window opens with the
//     first request. Over it: SecondaryStatus (403 by default, or 429:
//     GitHub sends either) with Retry-After, the seconds until the window
//     ends rounded up, the primary headers (remaining above 0 unless it
//     is spent too) and the message "You have exceeded a secondary rate
//     limit. Please wait a few minutes before you try again. ..."
//     (GitHub's). RateLimits.SecondaryWithoutRetryAfter leaves Retry-After
//     out, as GitHub documents it may: then only the message tells the
//     403 from a refusal, and a client waits at least a minute.
//   - Secondary, concurrency: more than MaxConcurrent requests of one
//     caller in flight (default 100, GitHub's figure) get the same answer
//     with Retry-After: 1 (the simulator's choice; GitHub names no time).
//   - A request answered with a rate limit counts against no limit and is
//     not handled (simulator's choice). Windows follow wall time: the
//     admin clock moves ages, not rate-limit windows.
//   - Sim.RequestStats (and GET /_admin/ratelimits) count, per caller,
//     requests by method, 304 answers, primary and secondary rate-limit
//     answers, and the most requests (and mutating requests) seen in
//     flight at once. RateLimits.Latency delays every counted request
//     while in flight so tests can observe concurrency.
//
// Faults (package faults, the middleware; sim.go puts it outside the rate
// limits and leaves /_admin/ out), GitHub's bad days on demand;
// Options.Faults, Sim.SetFaults, the admin route below and `pkgwarden sim --faults` set
// them, per run:
//
//   - Each request in scope draws once, from a source seeded by
//     Faults.Seed (0: random), so a seed replays the same faults for the
//     same sequence of requests: dropped (DropRate), answered 500, 502 or
//     503 (ErrorRate; GitHub's JSON error body, "Server Error" or "Service
//     Unavailable"), or handled and then its answer lost (LostRate). Every
//     request in scope is first delayed by Latency plus a uniform draw of
//     up to Jitter.
//   - Dropped: the connection is hijacked and closed before the request is
//     handled; a client sees an error (io.EOF), never a status. net/http
//     replays a GET (or HEAD, OPTIONS) whose reused connection closed this
//     way by itself, so only fresh connections and other methods let every
//     drop reach the caller.
//   - A 5xx or a drop is injected before the request reaches the rate
//     limits or the handler: it changed nothing and counted against no
//     limit (GitHub's front end fails the same way).
//   - Answer lost: the handler runs (rate limits counted, the change
//     applied, webhooks sent) into a buffer that is thrown away, then the
//     connection is closed. A DELETE retried after this meets 404, which
//     pkgwarden must take as done.
//   - Scope: by default every REST API request (and /_raw/);
//     Faults.MutatingOnly narrows to POST, PUT, PATCH and DELETE,
//     Faults.Paths to requests under one of the path prefixes, and
//     Faults.Registry extends them to the registry (/v2/, /token). /_admin/
//     is never faulted, nor is the in-process Pusher.
//   - Sim.FaultStats (and GET /_admin/faults) count requests in scope,
//     injected errors by status, drops, lost answers, delayed requests and
//     their total delay.
//
// Registry (registry.go):
//
//   - go-containerregistry's pkg/registry with its referrers API off
//     (WithReferrersSupport(false); also its default in v0.22.1), so OCI 1.1
//     clients fall back to the sha256-<hex> tag schema, as with ghcr.io.
//   - GET /v2/ without a bearer token: 401 with WWW-Authenticate: Bearer
//     realm="<scheme>://<host>/token",service="ghsim". GET /token with Basic
//     auth (any username, a classic token as password) gives a bearer token
//     (1 h, wall time) that pulls with read:packages (or write:packages) and
//     pushes with write:packages; without credentials an anonymous token
//     that pulls public packages only. Unknown credentials: 401
//     UNAUTHORIZED. Installation tokens: 403 DENIED unless the switch is on
//     (DESIGN.md "Credentials").
//   - Pulling needs membership of the owner (or a public package); pushing
//     needs membership and write:packages. Refusals are 403 DENIED, or a 401
//     challenge for anonymous callers. Repository names must be lower case
//     (ghcr.io's rule): 404 NAME_UNKNOWN otherwise.
//   - /v2/<owner>/<name...>: the first segment is the owner, the rest the
//     package name (acme/team/app is package team/app of acme). A new
//     container package is private (GitHub docs: new packages start
//     private) and is linked to the repository its
//     org.opencontainers.image.source names (index or manifest annotation,
//     else the image config label) when that repository exists under the
//     owner; a linked package stays linked.
//   - A manifest PUT creates the version named by its digest, or moves the
//     pushed tag onto it (a tag lives on one active version, as on ghcr.io).
//     Pushing a deleted digest again creates a new version.
//   - Sim.AddContainerManifests (Go only, no admin route) seeds a container
//     package in bulk: it stores raw manifests in the registry and creates
//     their versions and tags directly, without webhooks, rate limits or a
//     check of image blobs (an index's children must be stored first), so
//     a benchmark can make 10,000 versions in seconds.
//   - Manifests of deleted versions and packages answer 404
//     (MANIFEST_UNKNOWN / NAME_UNKNOWN) by digest and by tag; tags resolve
//     through the versions, so a restored version's tags serve its digest.
//     tags/list lists the tags of active versions. DELETE of a manifest:
//     405 UNSUPPORTED (ghcr.io deletes through the Packages API).
//   - Breaking an image as other tools do: deleting a child of an index (a
//     platform manifest, an attestation) through the Packages API, or with
//     DeleteVersion and the admin DELETE route, leaves the index active and
//     tagged; its tag still pulls the index, and the child's digest answers
//     404 MANIFEST_UNKNOWN "manifest unknown", as ghcr.io does for an image
//     whose untagged platforms actions/delete-package-versions deleted. The
//     child is listed with state=deleted and restorable for 30 days.
//     PurgeVersion and the admin purge route make a version gone for good,
//     as GitHub has purged it 30 days after its deletion: it is backdated
//     past the window (deleted first when active), so no listing shows it,
//     and GET and restore answer 404 (the restore endpoints document 404;
//     docs "Deleting and restoring a package": restorable only within 30
//     days of the deletion). Nothing tells an index that its children are
//     gone, on GitHub either.
//
// Webhooks of the package side (what they carry is under "Webhooks"
// below):
//
//   - A manifest push that creates a version sends registry_package and
//     package "published"; one that moves a tag onto an existing version
//     (pushing a tag to a digest already there) sends them "updated"; a
//     push that changes nothing sends none. Publish and the admin publish
//     route send "published". The app gets registry_package only, when it
//     is installed on the owner; repository and organization hooks get
//     both, whether the app is installed or not.
//   - With SetQuiet(true) none are sent (the demo world, internal/demoworld,
//     seeds that way).
//
// App side (GitHub App auth, repositories, issues):
//
//   - Issue and comment bodies are stored and sent (answers, webhooks)
//     as written. GitHub's web editor sends them with "\r\n" line
//     endings (a browser submits a textarea's line breaks as CRLF, HTML's
//     form submission rules) and GitHub keeps them: bodies people edit on
//     github.com, ticked boxes included, come back with "\r\n" in
//     webhooks and API answers (issue 16; GitHub's docs do not say).
//     A request carrying the simulator's own header "X-Ghsim-Editor: web"
//     (WebEditorHeader) on an issue or comment create or edit has its body
//     stored so: every line ending, "\n" or "\r", becomes "\r\n". The
//     Go API takes IssueOptions.WebEditor (OpenIssue, Comment), the admin
//     routes "web_editor". Without them, "\r\n" sent by a client is kept
//     as sent.
//   - App JWTs must be RS256 with integer iat and exp, exp at most 10
//     minutes after iat, and iss the app id (a number or a string) or its
//     client id (Sim answers it in GET /app); 60 s
//     of clock drift is tolerated (GitHub docs, "Generating a JSON Web Token
//     (JWT) for a GitHub App"). They are checked against wall time, not the
//     simulated clock, so that moving the clock does not lock the app out
//     (simulator's choice). /app, /app/installations…, /app/hook/… and
//     the organization installation lookup take only the JWT; anything
//     else is 401 "A JSON web token could not be decoded" (GitHub's
//     message).
//   - Installation tokens look like GitHub's ("ghs_…") and expire one hour
//     after creation on the simulated clock; the request body may narrow
//     them to some repositories (names or ids) and permissions, and asking
//     for more than the installation has is 422 with GitHub's messages.
//     Every installation holds metadata: read (GitHub docs, "Permissions
//     required for GitHub Apps").
//   - What an installation token does is done by the bot user
//     AppSlug+"[bot]" (type Bot, Sim.BotLogin), as on GitHub.
//   - A private repository is 404 to whoever cannot see it, including
//     classic tokens without the repo scope; public ones are readable by
//     anyone. Installation tokens see the repositories of their
//     installation; a write outside them, or a request without the
//     permission it needs (contents or issues: read on private
//     repositories, issues: write to write), is 403 "Resource not
//     accessible by integration" (GitHub's message).
//   - Roles: the owner of a user repository and an organization's owners
//     are admin, organization members get the default base role read,
//     collaborators their role, and everyone read on a public repository.
//     The permission endpoint maps maintain to write and triage to read
//     (GitHub docs) and needs push access from a classic token (403 "Must
//     have push access to view collaborator permission.", GitHub's message).
//   - Contents are base64 in lines of 60 characters, each ending in a
//     newline (Ruby's Base64.encode64, as GitHub returns them); sha is the
//     git blob id. ref may be a branch, refs/heads/<branch>,
//     refs/pull/{number}/head, or any commit the repository holds (every
//     commit of its branches, and the head commits of pull requests into
//     it, those from forks included: GitHub keeps them in the base
//     repository, so an installation of the base reads a fork's head
//     there); anything else is 404 "No commit found for the ref …". A branch without files is 404 "This repository is
//     empty.". Commit ids are hashed like git commits, over a tree id of the
//     simulator's own (simulator's choice). download_url points at
//     /_raw/{owner}/{repo}/{ref}/{path} on the API origin, which serves the
//     bytes under the contents API's access rules (GitHub serves them from
//     raw.githubusercontent.com with a token in the URL).
//   - Repository webhooks (push, issues, issue_comment) go only to the
//     installation covering the repository, and only when it holds the
//     event's permission: contents for push, issues for the others (GitHub
//     docs, "Webhook events and payloads"). The push payload's repository
//     has created_at and pushed_at as Unix seconds, as GitHub's does, and
//     in an organization's repository organization as the login string
//     (GitHub's push example push/1.payload.json), where the other events
//     have an object.
//     PutFile of identical content commits and sends nothing.
//
// Pull requests (pulls.go, commits.go; GitHub REST docs, "Pulls", and
// "Webhook events and payloads", pull_request):
//
//   - A fork (AddFork) is a repository of another owner with a copy of the
//     branches, files and commits of its parent at that time, fork: true;
//     from then on its own. Commits are snapshots with a parent, hashed as
//     before, so a fork shares its parent's history.
//   - OpenPullRequest takes head as "branch" or "owner:branch" (a fork of
//     the base; GitHub's syntax) and a base branch (default branch when
//     empty). Refused, with no webhook: a missing branch, head equal to
//     base, a head repository that is not a fork of the base, no commits
//     between base and head, an author who is not a user. Pull requests
//     and issues share one number sequence, as on GitHub.
//   - Changed files and the commit count are the head commit against the
//     merge base of head and base (GitHub's three-dot diff; with no
//     shared commit, the files seeded without a commit that the head's
//     first commit started from: SeedFile's "always there"), sorted by
//     file name; status added, modified or removed (renames show as a
//     removal and an addition: simulator's choice); additions and
//     deletions count lines as multisets, close to git's but not a diff;
//     no patch field. At most 3000 files (GitHub's documented ceiling).
//     /files pages like every list (per_page up to 100, Link header).
//   - A push to a pull request's head branch (PutFile, DeleteFile) moves
//     its head sha and sends, after the push webhook, pull_request
//     "synchronize" with before and after; SetPullRequestState sends
//     "closed" and "reopened" (a reopened pull request takes its branch's
//     head). Payloads carry action, number, pull_request (head and base
//     with ref, sha, label, user and repo), repository (the base),
//     organization, installation and sender, and go only to an
//     installation covering the base that holds pull_requests: read
//     (GitHub delivers the event only with that permission). Reading a
//     private repository's pull requests needs pull_requests: read.
//   - mergeable is always true, nothing is ever merged, and reviews,
//     labels and comments of pull requests are not simulated.
//
// Check runs (checks.go; GitHub REST docs, "Check runs"):
//
//   - Creating and updating need an installation token covering the
//     repository with checks: write; without it 403 "Resource not
//     accessible by integration" (GitHub's message). Classic tokens: 403
//     "You must authenticate via a GitHub App." (the docs say they cannot
//     use these endpoints; the wording is the simulator's). Reading needs
//     checks: read on private repositories.
//   - name and head_sha are required; head_sha must be a commit the
//     repository holds (a fork's pull request head included), else 422
//     "No commit found for SHA: …". status is queued (default),
//     in_progress or completed; conclusion is one of GitHub's eight and
//     completes the run ("Providing conclusion will automatically set the
//     status parameter to completed"); completed or completed_at without
//     a conclusion is 422. completed_at is set when it completes;
//     details_url defaults to the App's homepage (REST docs).
//   - output needs summary (and title on create). More than 50
//     annotations in one request: 422 "Invalid request.\n\nNo more than
//     50 items are allowed; N were supplied." (GitHub's answer, as users
//     quote it); summary or text over 65535 bytes: 422 Validation Failed,
//     "summary exceeds a maximum bytesize of 65535" (GitHub counts bytes,
//     github/docs#35252). An annotation needs path, start_line, end_line,
//     annotation_level (notice, warning or failure) and message; columns
//     only on one line. Other schema refusals are 422 "Invalid request.
//     …" in GitHub's style. A refused request changes nothing.
//   - Annotations accumulate across updates ("appended to the list of
//     annotations that already exist"); title, summary and text given in
//     an update replace the old ones.
//   - GET .../commits/{ref}/check-runs takes a sha, a branch or
//     refs/heads/<branch> (unknown: 422 "No commit found for SHA: …"),
//     check_name, status, app_id and filter (latest, the default: the
//     newest run of each name; all); newest first, paged, with
//     total_count. Runs of one commit share a check suite id.
//     pull_requests lists the open pull requests of the same repository
//     whose head is the run's commit; those from forks are left out, as
//     GitHub leaves them out. No check_run or check_suite webhooks.
//   - Conditional GETs beyond the Packages API (conditional.go): a 200 of
//     a file's contents, an issue listing, an issue or its comments
//     carries a weak ETag of the body, and If-None-Match naming it is
//     answered 304 with no body, not counted against the primary limit
//     (GitHub REST docs, "Best practices for using the REST API":
//     conditional requests; GitHub sends ETags on its GETs). A 404 has
//     none.
//   - Issues: with has_issues false every issue endpoint is 410 "Issues are
//     disabled for this repo"; labels and assignees set by someone below
//     triage are dropped silently, and unknown labels are created with
//     colour ededed (GitHub docs, "Create an issue"); assignees must be the
//     owner, members or collaborators (else 422); bodies over 65536
//     characters are 422 (GitHub's limit). Editing someone else's issue
//     below triage, or their comment below write, is 403 "Must have admin
//     rights to Repository."; a classic token without repo (or public_repo
//     on a public repository) gets 404 on writes (both simulator's choices).
//   - Issue webhooks: opened, then labeled and assigned for each label and
//     assignee; edited with changes.title.from and changes.body.from;
//     closed and reopened; labeled and unlabeled; issue_comment created and
//     edited (changes.body.from). Lists sort newest first and filter as
//     GitHub documents (state default open, labels all matching, creator,
//     assignee incl. none and *, since).
//   - An issue's html_url (<origin>/{owner}/{repo}/issues/{number}) opens a
//     read-only HTML page of it (issues_html.go; simulator's choice, GitHub
//     serves its web UI): title, state, body and comments rendered as
//     GitHub-flavoured Markdown by goldmark. Raw HTML shows as text but for
//     <details>, <summary> and comments, as GitHub's sanitiser keeps the
//     first two and hides the last; visibility is the API's (a private
//     repository's page is 404 without a token). It answers only paths no
//     API route takes, and is neither faulted nor rate-limited.
//   - GET /app/hook/deliveries lists the delivery log newest first, paged
//     by a cursor in the Link header (GitHub docs, "REST API endpoints for
//     GitHub App webhooks"); the cursor is the id below which the next page
//     starts, and duration is always 0 (simulator's choices). POST
//     /app/hook/deliveries/{id}/attempts sends the payload again with the
//     same guid, answers 202 and logs a delivery with redelivery true.
//   - GET /user and /users/{username} answer account objects
//     (type User, Organization, or Bot for the app's bot); GET /user takes
//     a classic token only (an installation token gets 403 "Resource not
//     accessible by integration", GitHub's answer). Responses to classic
//     tokens on the app side carry X-OAuth-Scopes, as GitHub's do.
//
// App manifests (manifest.go; GitHub docs, "Registering a GitHub App from a
// manifest"):
//
//   - GET or POST /settings/apps/new and
//     /organizations/{org}/settings/apps/new take the manifest JSON in the
//     form field (or query parameter) "manifest" and the optional "state",
//     and show a confirmation page: a "GitHub App name" field holding the
//     manifest's name and a "Create GitHub App" button that posts to the
//     same path + "/confirm". An organization that does not exist is 404.
//   - Validation, shown on the page with 422: name required (after the
//     person's edit), url and hook_attributes.url absolute http(s) URLs, as
//     are redirect_url, setup_url and callback_urls when given;
//     default_permissions names and levels from GitHub's permission list;
//     default_events known, each with the permission it needs (issues for
//     issues and issue_comment, contents for push, packages for
//     registry_package and package; GitHub's "Default events unsupported").
//     A slug already held (the hosted app's "pkgwarden" or a created app's)
//     is "Name … is already in use": app names are global on GitHub.
//   - The simulator has no web sign-in: apps created for a user belong to
//     the user ghsim-web (outside the world, like the hosted app's owner);
//     for an organization, to it.
//   - Confirming creates an app: a new id from the world's id sequence, the
//     slug from the name (lower case, other runs of characters one dash),
//     a new 2048-bit RSA key, a generated webhook secret (manifests have no
//     secret field), client id and secret, metadata: read added to its
//     permissions. It redirects (302) to redirect_url with code and state;
//     without redirect_url it answers 201 with the code in plain text.
//   - POST /app-manifests/{code}/conversions needs no authentication and
//     answers 201 with id, slug, node_id, owner, name, description,
//     external_url, html_url, created_at, updated_at, permissions, events,
//     installations_count, client_id, client_secret, webhook_secret and pem
//     (PKCS#1). A code works once and for one hour on the simulated clock;
//     used, expired and unknown codes are 404 "Not Found" (simulator's
//     choice: GitHub documents 404 and 422 without saying which).
//   - A created app is an additional app; the hosted app (Options.AppID)
//     is unchanged. JWTs signed with a created app's key (iss its id or
//     client id) authenticate: GET /app answers the created app, GET
//     /app/installations and /app/hook/deliveries an empty list (it has no
//     installations and sends no webhooks), the other app routes 404.
//
// # Webhooks
//
// Where deliveries go, what they carry and where each shape comes from
// (hooks.go, repo_hooks.go, hook_payloads.go, installations.go).
//
//   - Targets: the app's webhook (Options.WebhookURL, SetWebhookURL,
//     signed with Options.WebhookSecret), and repository and organization
//     webhooks (AddRepoHook, AddOrgHook, POST /_admin/hooks), each with its
//     URL, secret and events ("*" for all; GitHub's default, push, when
//     none are named). Only the package events go to repository and
//     organization hooks: a repository's for the packages linked to it, an
//     organization's for the packages it owns (GitHub docs, "Types of
//     webhooks"). The app's delivery log (GET /app/hook/deliveries,
//     redelivery) holds the app's deliveries only; Deliveries lists all,
//     each with its Hook.
//   - Headers (GitHub docs, "Webhook events and payloads", delivery
//     headers): X-GitHub-Event, X-GitHub-Delivery (a new GUID per delivery,
//     the same on a redelivery), X-GitHub-Hook-ID (1 for the app's hook,
//     the hook's id otherwise), X-GitHub-Hook-Installation-Target-Type
//     ("integration" for the app's hook, "repository" or "organization")
//     and -Target-ID (the app's, the repository's or the organization's
//     id), X-Hub-Signature (HMAC-SHA1 of the body, which GitHub still sends
//     for old receivers; SignSHA1) and X-Hub-Signature-256 (Sign), both
//     under the hook's secret, User-Agent GitHub-Hookshot/<hex> and
//     Content-Type application/json.
//   - Payload shapes follow GitHub's example payloads (octokit/webhooks,
//     vendored in testdata/github/webhooks/examples); TestWebhookShapes
//     checks that every key of the example of each event/action sent is
//     there with the same JSON type. registry_package and package: the
//     package object with id, name, namespace ("owner/repo" of the linked
//     repository as GitHub sends it, owner/name for an unlinked package:
//     simulator's choice), ecosystem and package_type ("CONTAINER" for
//     containers, the lower-case type otherwise), html_url, owner (the
//     account object, the login as the owner spells it), registry (about_url,
//     name "GitHub CONTAINER registry" or "GitHub <type> registry", type,
//     url: the simulator's registry for containers, https://npm.pkg.github.com/@Owner
//     for npm, as GitHub's examples, https://<type>.pkg.github.com/Owner
//     otherwise; vendor "GitHub Inc") and package_version with the keys
//     of both GitHub examples (the container one and the npm one: release,
//     author, tag_name, draft, docker_metadata, source_url, ...), the
//     empty strings and lists the simulator has nothing for, and
//     package_url and installation_command "<registry>/<Owner>/<name>:<tag>"
//     (the owner's case kept and, for a push by digest, the tag empty, as
//     in GitHub's example; neither is a pullable reference then). For a
//     container, container_metadata: tag {name, digest}; labels from the
//     image config's labels (an index's annotations when it has no config)
//     with description, source, revision, image_url, licenses from the
//     org.opencontainers.image.* labels and all_labels holding every
//     label; manifest {digest, media_type, uri
//     "repositories/<Owner>/<name>/manifests/<digest>", size (the manifest's
//     bytes), config {digest, media_type, size}, layers [{digest,
//     media_type, size}]} read from the pushed manifest (empty config and
//     layers for an index). repository is the REST repository with every
//     key of GitHub's webhook examples; organization and sender as in
//     them (the repository of every repository webhook is this one).
//     Kept different, with the reason, in the test's list: GitHub's
//     container example has under package_version.body an object
//     describing a README blob; the simulator sends the schema's string
//     form, "".
//   - installation "created" (Install, POST /_admin/installations) and
//     "deleted" (RemoveInstallation, DELETE /_admin/installations/{id}),
//     sent to the app's hook whatever it subscribes to, as GitHub does:
//     installation as GET /app/installations shows it but with created_at
//     and updated_at in Unix seconds (GitHub's examples), repositories
//     ({id, node_id, name, full_name, private} of those covered), requester
//     null and sender the account, or an organization's first owner by
//     login (simulator's choice: nobody clicked). AddInstallation, which
//     seeds worlds, sends nothing. installation_repositories "added" and
//     "removed" (SetInstallationRepositories, PUT
//     /_admin/installations/{id}/repositories) carry repository_selection,
//     repositories_added and repositories_removed; a change both adding and
//     removing sends both, added first. Uninstalling revokes the
//     installation's tokens.

// # Admin API
//
// Everything under /_admin/ changes the simulated world directly, without
// GitHub's rules; it is how tests and the demo seed set things up. It needs
// no authentication and is documented route by route below.
//
// Package side (admin_packages.go); bodies are JSON, unknown fields are a
// 400, times are RFC 3339:
//
//   - POST /_admin/packages/publish {owner, package_type, name, version,
//     repository, visibility, description, license, prerelease, created_at,
//     sender}: publishes a non-container version (creating the package) and
//     sends registry_package published; 201 {"id"}, 422 on a bad request.
//   - PATCH /_admin/packages/{owner}/{package_type}/{package_name}
//     {visibility, created_at, updated_at}: changes a live package; 204.
//     Names with "/" are escaped as %2F.
//   - PATCH /_admin/packages/{owner}/{package_type}/{package_name}/versions/{id or name}
//     {downloads, created_at, updated_at, deleted_at}: sets a version's
//     download count and backdates it (deleted_at only for a deleted
//     version); a name is a digest or a version string; 204.
//   - DELETE /_admin/packages/{owner}/{package_type}/{package_name}/versions/{id or name}?ago=72h:
//     deletes an active version as another client's DELETE through the
//     Packages API would, without GitHub's checks (last version, 5,000
//     downloads); ago (a Go duration, optional) backdates the deletion.
//     Restorable for 30 days; 204, 404 for a version that does not exist
//     or is deleted already, 422 for a bad ago (DeleteVersion).
//   - POST /_admin/packages/{owner}/{package_type}/{package_name}/versions/{id or name}/purge:
//     makes the version gone for good, past the 30-day window (deleting it
//     first when active); 204, 404 when it does not exist (PurgeVersion).
//   - GET /_admin/clock: {"now"}. POST /_admin/clock {"advance": "72h"}:
//     moves the simulated clock (Go durations, negative allowed); {"now"}.
//   - GET /_admin/stale-listing: {"stale_listing": "30s"}. PUT
//     /_admin/stale-listing {"stale_listing": "30s"} sets how long deleted
//     versions stay listed as active ("0s" switches it off); 422 for a
//     bad or negative duration (SetStaleListing).
//   - GET /_admin/ratelimits: {"limits": {primary_limit, primary_window,
//     secondary_points, secondary_window, secondary_status,
//     max_concurrent, latency}, "callers": [{caller, requests (by
//     method), not_modified, primary_limited, secondary_limited,
//     max_in_flight, max_in_flight_mutating}], "limited": total
//     rate-limit answers}; the caller is the token itself, "app" or
//     "anonymous" (simulated tokens are not secrets).
//   - PUT /_admin/ratelimits with the "limits" object (durations as Go
//     durations, "1m"): replaces every limit, omitted fields taking the
//     defaults and -1 switching a limit off; counts already made stay;
//     answers {"limits"}, 422 for a status other than 403/429.
//   - DELETE /_admin/ratelimits/stats: forgets every caller's windows and
//     counters; 204.
//   - GET /_admin/faults: {"faults": {error_rate, drop_rate, lost_rate,
//     latency, jitter, registry, scope ("all" or "mutating"), paths, seed},
//     "stats": {seen, errors (by status), dropped, lost, delayed,
//     delay_ns}, "injected": answers not given truly}.
//   - PUT /_admin/faults with the "faults" object: replaces the faults
//     (omitted fields are zero: {} switches them off) and restarts their
//     random source from seed; answers {"faults"}, 422 for rates outside
//     0..1 or adding up to more than 1, bad durations or scope.
//   - DELETE /_admin/faults/stats: zeroes the fault counters; 204.
//   - GET /_admin/requests: {"routes": [{route, ok, not_modified, limited,
//     other}]}, every REST API and registry request answered since the
//     start or the last DELETE, by route ("GET /v2/{name}/manifests/{reference}",
//     the API mux's pattern; "?state=deleted" marks listings of deleted
//     versions) and answer (Sim.RouteStats; /_admin/ and web pages are not
//     counted). DELETE /_admin/requests zeroes them; 204. cmd/scalebench
//     reads them to split a sweep's requests by kind.
//
// Container versions are created by pushing to the registry; Pusher pushes
// in-process.
//
// App side; bodies are JSON, answers 201/200/204, 400 for a bad body, 422
// when the world refuses (e.g. an unknown owner):
//
//   - POST /_admin/users {"login"}: a user (AddUser).
//   - POST /_admin/orgs {"login", "admins": [logins]}: an organization
//     whose owners are the given users (AddOrg).
//   - PUT /_admin/orgs/{org}/members/{user} {"role": "admin"|"member"}
//     (AddOrgMember).
//   - POST /_admin/repos {"owner", "name", "private", "has_issues"
//     (default true), "default_branch" (default main)} (AddRepo).
//   - PATCH /_admin/repos/{owner}/{repo} {"private", "has_issues",
//     "default_branch"}: fields given change (UpdateRepo).
//   - PUT /_admin/repos/{owner}/{repo}/files/{path} {"branch", "content" or
//     "content_base64", "pusher"}: commits the file and sends a push
//     webhook; answers {"commit": sha} (PutFile).
//   - DELETE /_admin/repos/{owner}/{repo}/files/{path}?branch=&pusher=:
//     removes it, with a push webhook (DeleteFile).
//   - PUT /_admin/repos/{owner}/{repo}/collaborators/{user} {"permission":
//     admin|maintain|write|triage|read}; DELETE removes (SetCollaborator).
//   - GET /_admin/repos/{owner}/{repo}/issues: every issue with its
//     comments, as []Issue (Issues).
//   - POST /_admin/repos/{owner}/{repo}/issues {"author", "title", "body",
//     "labels", "web_editor"}: opens an issue as a user, with webhooks
//     (OpenIssue; web_editor sends the body with "\r\n" line endings, as
//     GitHub's web editor does).
//   - POST /_admin/repos/{owner}/{repo}/issues/{number}/comments
//     {"author", "body", "web_editor"}: comments as a user, with the
//     issue_comment webhook, without GitHub's permission checks; answers
//     {"id"} (Comment).
//   - POST /_admin/repos/{owner}/{repo}/forks {"owner"}: forks it to
//     owner; answers {"id", "full_name"} (AddFork).
//   - POST /_admin/repos/{owner}/{repo}/pulls {"head" ("branch" or
//     "owner:branch"), "base", "title", "body", "user"}: opens a pull
//     request with its webhook; answers {"number"} (OpenPullRequest).
//     Pushing to it is PUT .../files/{path} on the head repository and
//     branch.
//   - PATCH /_admin/repos/{owner}/{repo}/pulls/{number} {"state": "open" or
//     "closed", "user"} (SetPullRequestState).
//   - GET /_admin/repos/{owner}/{repo}/check-runs: every check run, oldest
//     first, with all its annotations, as []CheckRun (CheckRuns).
//   - POST /_admin/installations {"account", "permissions": {name: level},
//     "repositories": [names]}: installs the app, on all repositories when
//     none are named, and sends installation created; answers {"id"}
//     (Install).
//   - DELETE /_admin/installations/{id}: uninstalls the app, with
//     installation deleted; 204, 404 for an unknown id (RemoveInstallation).
//   - PUT /_admin/installations/{id}/repositories {"repositories": [names]}:
//     the repositories the installation covers (all when none are named),
//     with installation_repositories added and removed; 204, 422 for a
//     repository not under its account (SetInstallationRepositories).
//   - POST /_admin/hooks {"repository": "owner/name" or "organization",
//     "url", "secret", "events": [names or "*"]}: a repository's or an
//     organization's webhook; answers {"id"} (AddRepoHook, AddOrgHook).
//   - POST /_admin/tokens {"user", "scopes": [...]}: a classic token;
//     answers {"token"} (AddClassicToken).
package ghsim
