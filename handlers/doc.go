// Package handlers is pkgwarden's HTTP side. Nothing here decides or
// deletes anything; each handler does one small, bounded thing and hands
// the rest to the queue or to the caller.
//
//   - Intake (POST /webhooks) checks a delivery's X-Hub-Signature-256
//     against the App's webhook secret in constant time, and stores the
//     verified body durably through a Publisher (JetStream, deduplicated by
//     X-GitHub-Delivery) before answering: 202 once stored (or for an
//     event pkgwarden does not handle), 200 for a repeat or a ping, 401
//     for a bad signature, 400 for a malformed delivery, 503 with
//     Retry-After when the queue cannot take it. Routing and jobs happen
//     later, in package jobs, so a slow GitHub or a busy worker never makes
//     GitHub's ten-second delivery timeout. It counts deliveries in
//     pkgwarden_webhooks_total{event,result}.
//   - Healthz, Readyz and Metrics: /healthz says the process is alive,
//     /readyz that its Readiness (NATS connected, streams present) holds,
//     /metrics serves a Prometheus gatherer. NewMux puts the four together
//     as `serve` exposes them.
//   - Register is the page of `pkgwarden register`: it posts
//     app-manifest.yml to GitHub's app-creation URL (under the web URL,
//     which differs from the API URL on Enterprise Server) for a user or an
//     organisation, checks the state GitHub brings back, exchanges the code
//     (POST /app-manifests/{code}/conversions) and writes the App's id,
//     slug, private key (0600) and webhook secret into the data dir, where
//     internal/settings reads them.
//
// Sign and SignatureHeader compute GitHub's signature, for tests, the
// simulator and benchmarks that must send deliveries serve accepts.
package handlers
