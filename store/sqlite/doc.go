// Package sqlite implements core.Store on SQLite, latchkey's default store
// for a single replica, with the pure-Go modernc.org/sqlite driver.
//
// Resources are JSON documents in one table keyed by (kind, key), their
// labels in doc_labels, counted per bucket of 512 seqs in label_buckets
// (kept by triggers) so that counts and offsets of a label listing cost
// its buckets, not its rows; audit events have a table of their own. The schema is created by embedded,
// numbered migrations recorded in schema_migrations and applied by Open.
//
// Writes go through one connection, one Update at a time, with group
// commit: while one transaction commits (and fsyncs), the Updates that
// arrive queue up, and the next of them opens a transaction that all of
// them join, each fn inside its own SAVEPOINT. The last one in the queue
// commits, and every caller whose fn succeeded returns only after that
// commit, so an Update that returned nil is durable while the fsync cost
// is shared by the whole batch. Reads run on a separate pool of read-only
// connections, concurrently with the writer thanks to WAL.
package sqlite
