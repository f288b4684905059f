// Package pacing keeps pkgwarden's GitHub requests under a token's rate
// limits across every replica. Each token (a hash of it, never the token)
// has one state in the NATS KV bucket "pacing": GCRA budgets of points and
// of mutating requests per window, a shared pause (Retry-After, or the
// primary limit's reset once X-RateLimit-Remaining runs low) and leased
// slots capping mutating requests in flight. Replicas update it with
// optimistic concurrency (compare-and-set on the KV revision) and sleep
// only between reads, never between a read and its write.
//
// The defaults stay well under GitHub's documented secondary limits (REST
// docs, "Rate limits for the REST API": 900 points per minute, 5 per
// mutating request; 100 concurrent requests): 600 points and 100
// mutating requests per minute, 3 mutating requests in flight.
package pacing
