// Package postgres implements core.Store on PostgreSQL, for several
// latchkey replicas that share one state, with github.com/jackc/pgx/v5.
//
// The schema and the semantics are those of package sqlite, and both run
// the same conformance suite (store/storetest). Resources are documents in
// one table keyed by (kind, key); audit events have a table of their own;
// embedded, numbered migrations are recorded in schema_migrations and
// applied by Open under an advisory lock, so replicas starting together
// migrate once.
//
// Updates are serialized across every replica: each batch transaction
// takes one transaction-scoped advisory lock before any fn runs. Within a
// replica, Updates are group-committed over one write connection (package
// groupcommit): concurrent Updates share one transaction, each fn in its
// own SAVEPOINT, and each returns only after the shared COMMIT, which
// PostgreSQL makes durable (synchronous_commit on, its default: do not
// turn it off for latchkey's database). Views run on a small pool of other
// connections in REPEATABLE READ READ ONLY transactions.
package postgres
