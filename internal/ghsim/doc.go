// Package ghsim is a stateful, offline stand-in for GitHub: the Packages REST
// API of the seed document, GitHub App authentication, repositories with
// files, issues and comments, and an OCI registry that behaves like ghcr.io.
// pkgwarden's tests run against it, and users point `pkgwarden plan` at it to
// try rules without risk.
//
// # Behaviours the seed document does not state
//
// Each line: what the simulator does, and where that comes from.
//
//   - Errors are JSON objects {"message", "documentation_url"}, as every
//     GitHub REST error is (GitHub REST docs, "Troubleshooting").
//
// (The engineers filling in each file add their lines here.)
//
// App side (GitHub App auth, repositories, issues):
//
//   - App JWTs must be RS256 with integer iat and exp, exp at most 10
//     minutes after iat, and iss the app id (a number or a string) or its
//     client id (Sim answers it in GET /app); 60 s
//     of clock drift is tolerated (GitHub docs, "Generating a JSON Web Token
//     (JWT) for a GitHub App"). They are checked against wall time, not the
//     simulated clock, so that moving the clock does not lock the app out
//     (simulator's choice). /app, /app/installations…, and the
//     {org,user,repo} installation lookups take only the JWT; anything else
//     is 401 "A JSON web token could not be decoded" (GitHub's message).
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
//     git blob id. ref may be a branch, refs/heads/<branch>, or the head
//     commit of a branch; older commits are not kept (404 "No commit found
//     for the ref …"). A branch without files is 404 "This repository is
//     empty.". Commit ids are hashed like git commits, over a tree id of the
//     simulator's own (simulator's choice). download_url points at
//     /_raw/{owner}/{repo}/{ref}/{path} on the API origin, which serves the
//     bytes under the contents API's access rules (GitHub serves them from
//     raw.githubusercontent.com with a token in the URL).
//   - Repository webhooks (push, issues, issue_comment) go only to the
//     installation covering the repository, and only when it holds the
//     event's permission: contents for push, issues for the others (GitHub
//     docs, "Webhook events and payloads"). The push payload's repository
//     has created_at and pushed_at as Unix seconds, as GitHub's does.
//     PutFile of identical content commits and sends nothing.
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
//   - GET /app/hook/deliveries lists the delivery log newest first, paged
//     by a cursor in the Link header (GitHub docs, "REST API endpoints for
//     GitHub App webhooks"); the cursor is the id below which the next page
//     starts, and duration is always 0 (simulator's choices). GET
//     /app/hook/deliveries/{id} adds the request's headers and payload; its
//     response part is empty. POST /app/hook/deliveries/{id}/attempts sends
//     the payload again with the same guid, answers 202 and logs a
//     delivery with redelivery true.
//   - GET /user, /users/{username} and /orgs/{org} answer account objects
//     (type User, Organization, or Bot for the app's bot); GET /user takes
//     a classic token only (an installation token gets 403 "Resource not
//     accessible by integration", GitHub's answer). Responses to classic
//     tokens on the app side carry X-OAuth-Scopes, as GitHub's do.
//
// # Admin API
//
// Everything under /_admin/ changes the simulated world directly, without
// GitHub's rules; it is how tests and the demo seed set things up. It needs
// no authentication and is documented route by route below.
//
// (Routes are listed here as they are added.)
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
//     "labels"}: opens an issue as a user, with webhooks (CreateIssue).
//   - POST /_admin/installations {"account", "permissions": {name: level},
//     "repositories": [names]}: installs the app, on all repositories when
//     none are named; answers {"id"} (AddInstallation).
//   - POST /_admin/tokens {"user", "scopes": [...]}: a classic token;
//     answers {"token"} (AddClassicToken).
package ghsim
