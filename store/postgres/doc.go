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
// Updates of different replicas are ordered by the documents they touch,
// not by one lock: each statement of an Update takes a transaction-scoped
// advisory lock on its document's key (and its kind's, shared for writes,
// exclusive for a listing), so two replicas' Updates of one document run
// one after the other and Updates of different documents run at once (see
// tx.go). Documents keep their insertion order (seq), but with concurrent
// replicas seq order is no longer exactly commit order: a listing that
// pages with After may miss a document another replica was inserting
// under a lower seq at that moment. Within a replica, Updates are
// group-committed over one write connection (package
// groupcommit): concurrent Updates share one transaction, each fn in its
// own SAVEPOINT, and each returns only after the shared COMMIT, which
// PostgreSQL makes durable (synchronous_commit on, its default: do not
// turn it off for latchkey's database). Views run on a small pool of other
// connections in REPEATABLE READ READ ONLY transactions.
package postgres
