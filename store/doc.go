// Package store is the state chainsts keeps between requests: single-use
// records for replay detection (assertion and client-assertion jti), opaque
// reference tokens with their universal user, the jti deny list of revoked
// JWTs, the IDMappingExtCache entries mapping rules share, and OAuth clients
// created at run time (PRODUCT §7.7, §9.1).
//
// The Store interface is implemented by store/sqlite (the embedded default),
// store/memory (tests) and, for several nodes, a PostgreSQL backend. Every
// operation that must be atomic is one statement (or one critical section)
// in each backend, so two nodes or two goroutines can never both win a
// single-use insert. Backends register themselves with RegisterDriver; the
// "store" app (configuration section `store:`) opens the configured driver
// and shares one open store per driver and path across configuration
// reloads.
//
// Callers treat any error other than the sentinels ErrNotFound and
// ErrAlreadyUsed as a store outage and answer 503 temporarily_unavailable
// (Unavailable): a replay check, a revocation check or an opaque lookup is
// never skipped because the store failed.
package store
