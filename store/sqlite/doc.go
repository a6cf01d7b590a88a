// Package sqlite is the embedded default store.Store: one SQLite file in the
// data directory, opened with the pure-Go modernc driver (no cgo), in WAL
// mode with a busy timeout, schema migrations embedded in the binary and
// applied at open. Writes go through one connection (SQLite has one writer
// anyway, and this turns lock contention into queueing rather than
// SQLITE_BUSY); reads use a small pool of read-only connections that WAL
// lets run beside the writer.
//
// Single-use operations are single statements guarded by unique keys
// (INSERT ... ON CONFLICT DO UPDATE ... WHERE expired, DELETE ... RETURNING),
// so they stay atomic across processes sharing the file.
//
// It registers the "sqlite" driver; the DSN is the file path.
package sqlite
