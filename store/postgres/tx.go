package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/tables"
)

// sqlGetDoc reads one document.
const sqlGetDoc = `SELECT account, region, body FROM docs WHERE kind = $1 AND key = $2`

// tx implements core.Tx for an Update (on the write connection, inside
// the batch transaction and the fn's savepoint: rtx == nil) and for a
// View (rtx).
type tx struct {
	s    *Store
	now  time.Time
	rtx  *readTx
	done bool
}

// readTx is a View's transaction on a read connection. Its BEGIN is sent
// with its first statement, in one round trip, and a View that runs no
// statement never begins one.
type readTx struct {
	conn  *pgx.Conn
	begun bool
}

// sqlBeginRead opens a View's transaction: one snapshot for all its
// statements, and writes refused by the server.
const sqlBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// end ends the transaction, if one was begun. A failed ROLLBACK leaves the
// connection out of the idle state, and Store.release then closes it.
func (r *readTx) end(ctx context.Context) {
	if r.begun {
		r.conn.Exec(ctx, "ROLLBACK")
	}
}

var _ core.Tx = (*tx)(nil)

func (t *tx) Now() time.Time { return t.now }

// enter checks that the Tx may run a statement and returns the context to
// run it with. In an Update the caller's context is checked before each
// statement and never interrupts one: pgx answers a canceled context by
// closing the connection, which would end the whole batch.
func (t *tx) enter(ctx context.Context, op string, write bool) (context.Context, error) {
	if t.done {
		return nil, &core.Error{Kind: core.KindInternal, Op: op, Message: "transaction used after its fn returned"}
	}
	if err := ctx.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	if t.rtx != nil {
		if write {
			return nil, &core.Error{Kind: core.KindInternal, Op: op, Message: "write in a read-only transaction (View)"}
		}
		return ctx, nil
	}
	if t.s.failed != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: op, Message: "an earlier statement of this transaction failed", Err: t.s.failed}
	}
	return context.WithoutCancel(ctx), nil
}

// fail records a statement error of an Update: PostgreSQL has spoiled the
// savepoint, and the fn fails with the first such error.
func (t *tx) fail(op string, err error) error {
	err = mapErr(op, err)
	if t.rtx == nil && err != nil && t.s.failed == nil {
		t.s.failed = err
	}
	return err
}

// scanRow, query and exec run a statement in the transaction. In an
// Update they first send the writer's pending control statements (see
// writeConn), in the same round trip where they can.
func (t *tx) scanRow(ctx context.Context, sql string, args []any, dest ...any) error {
	if t.rtx != nil {
		if t.rtx.begun {
			return t.rtx.conn.QueryRow(ctx, sql, args...).Scan(dest...)
		}
		t.rtx.begun = true
		b := &pgx.Batch{}
		b.Queue(sqlBeginRead)
		b.Queue(sql, args...).QueryRow(func(r pgx.Row) error { return r.Scan(dest...) })
		return t.rtx.conn.SendBatch(ctx, b).Close()
	}
	if len(t.s.pending) == 0 {
		return t.s.wconn.QueryRow(ctx, sql, args...).Scan(dest...)
	}
	return t.s.sendPending(ctx, func(b *pgx.Batch) {
		b.Queue(sql, args...).QueryRow(func(r pgx.Row) error { return r.Scan(dest...) })
	})
}

func (t *tx) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.rtx != nil {
		if !t.rtx.begun {
			t.rtx.begun = true
			if _, err := t.rtx.conn.Exec(ctx, sqlBeginRead); err != nil {
				return nil, err
			}
		}
		return t.rtx.conn.Query(ctx, sql, args...)
	}
	if err := t.s.sendPending(ctx, nil); err != nil {
		return nil, err
	}
	return t.s.wconn.Query(ctx, sql, args...)
}

// write queues a write of an Update whose outcome the fn does not need:
// it goes out with the fn's next statement, or at the fn's end (see
// writeConn.Failed), so that a fn's last writes share one round trip. A
// failure then surfaces at that next statement, or fails the fn when it
// ends: PostgreSQL has spoiled the savepoint either way, and the fn fails
// with the first error.
func (t *tx) write(sql string, args ...any) {
	t.s.pending = append(t.s.pending, pendingStmt{sql: sql, args: args})
	t.s.written = true
}

func (t *tx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(t.s.pending) == 0 {
		return t.s.wconn.Exec(ctx, sql, args...)
	}
	var tag pgconn.CommandTag
	err := t.s.sendPending(ctx, func(b *pgx.Batch) {
		b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	})
	return tag, err
}

// Updates of several replicas are ordered by transaction-scoped advisory
// locks that the statements of an Update take, pipelined with them (no
// extra round trip), and that its COMMIT releases:
//   - every GetDoc, PutDoc and DeleteDoc locks the document's key, present
//     or not, exclusively: two Updates that read, then write one document
//     run one after the other, and "absent, so create" is decided once;
//   - every PutDoc and DeleteDoc also takes its kind's lock, and the lock
//     of all kinds, shared: writers of a kind do not wait for each other;
//   - a ListDocs inside an Update takes the kind's lock (or, for every
//     kind, the lock of all kinds) exclusively, so no document of that kind
//     appears or goes while the Update decides from the listing (choosing
//     a free login address, settling, resetting).
// A View takes no lock. Two batches that lock the same keys in opposite
// orders deadlock; PostgreSQL then fails one statement, and its fn
// fails as KindUnavailable while the rest of the batch goes on.

// lockKey and lockKind queue the advisory locks above, to be sent with
// the next statement, unless the batch transaction holds the lock
// already (Store.held; a shared lock counts only for shared requests).
// hashtextextended maps the names onto the lock space; the "doc:",
// "kind:" and "all" prefixes keep them apart.
func (t *tx) lockKey(kind core.ResourceKind, key string) {
	t.lock("doc:"+docName(kind, key), false)
}

func (t *tx) lockKind(kind core.ResourceKind, shared bool) {
	name := "all"
	if kind != "" {
		name = "kind:" + string(kind)
	}
	t.lock(name, shared)
}

func (t *tx) lock(name string, shared bool) {
	if mode, ok := t.s.held[name]; ok && (shared || mode == lockExclusive) {
		return
	}
	fn, mode := "pg_advisory_xact_lock", lockExclusive
	if shared {
		fn, mode = "pg_advisory_xact_lock_shared", lockShared
	}
	t.s.pending = append(t.s.pending, pendingStmt{sql: "SELECT " + fn + "(hashtextextended($1, 0))", args: []any{name}})
	if t.s.held[name] != lockExclusive {
		t.s.held[name] = mode
	}
}

// lockMode is how the batch transaction holds an advisory lock.
type lockMode uint8

const (
	lockShared lockMode = iota + 1
	lockExclusive
)

// lockWrite queues the locks of a write of (kind, key).
func (t *tx) lockWrite(kind core.ResourceKind, key string) {
	t.lockKind("", true)
	t.lockKind(kind, true)
	t.lockKey(kind, key)
}

// prefetch is a read of one document sent ahead of its GetDoc.
type prefetch struct {
	sent    bool // its statement went out and answered
	missing bool
	d       core.Doc
}

// docName names a document in Store.prefetched and its advisory lock.
func docName(kind core.ResourceKind, key string) string { return string(kind) + "/" + key }

// PrefetchDoc implements core.Tx: in an Update, the document's lock and
// read are queued like the writer's pending statements, so that they go
// out with the fn's next statement; GetDoc then takes the answer. A write
// of the document drops it (the read went out before the write). In a
// View it does nothing: a View's reads are its own.
func (t *tx) PrefetchDoc(ctx context.Context, kind core.ResourceKind, key string) {
	if t.done || t.rtx != nil || t.s.failed != nil || ctx.Err() != nil {
		return
	}
	name := docName(kind, key)
	if _, ok := t.s.prefetched[name]; ok {
		return
	}
	t.lockKey(kind, key)
	p := &prefetch{d: core.Doc{Kind: kind, Key: key}}
	t.s.prefetched[name] = p
	t.s.pending = append(t.s.pending, pendingStmt{sql: sqlGetDoc, args: []any{string(kind), key}, scan: func(r pgx.Row) error {
		err := r.Scan(&p.d.Account, &p.d.Region, &p.d.Body)
		if errors.Is(err, pgx.ErrNoRows) {
			p.missing, err = true, nil
		}
		p.sent = err == nil
		return err
	}})
}

// takePrefetched returns the prefetched read of the document, sending it
// first if it is still pending, and forgets it; ok is false when there is
// none.
func (t *tx) takePrefetched(ctx context.Context, op string, kind core.ResourceKind, key string) (d core.Doc, ok bool, err error) {
	name := docName(kind, key)
	p := t.s.prefetched[name]
	if p == nil {
		return core.Doc{}, false, nil
	}
	delete(t.s.prefetched, name)
	if !p.sent { // still pending: the batch that sends it also answers it, or fails
		if err := t.s.sendPending(ctx, nil); err != nil {
			return core.Doc{}, true, t.fail(op, err)
		}
	}
	if p.missing {
		return core.Doc{}, true, notFound(op, kind, key)
	}
	return p.d, true, nil
}

// GetDoc returns the document or an *core.Error of KindNotFound.
func (t *tx) GetDoc(ctx context.Context, kind core.ResourceKind, key string) (core.Doc, error) {
	const op = "postgres.GetDoc"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return core.Doc{}, err
	}
	if t.rtx == nil {
		if d, ok, err := t.takePrefetched(ctx, op, kind, key); ok {
			return d, err
		}
		t.lockKey(kind, key)
	}
	d := core.Doc{Kind: kind, Key: key}
	err = t.scanRow(ctx, sqlGetDoc,
		[]any{string(kind), key}, &d.Account, &d.Region, &d.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.Doc{}, notFound(op, kind, key)
	}
	if err != nil {
		return core.Doc{}, t.fail(op, err)
	}
	return d, nil
}

// PutDoc inserts d at the end of the insertion order, or replaces the
// document with its kind and key in place. Empty Kind or Key is
// KindInvalid; it is checked here rather than left to the CHECK
// constraint, which would spoil the transaction.
func (t *tx) PutDoc(ctx context.Context, d core.Doc) error {
	const op = "postgres.PutDoc"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return err
	}
	if d.Kind == "" || d.Key == "" {
		return &core.Error{Kind: core.KindInvalid, Op: op, Message: "document kind and key must not be empty"}
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	t.lockWrite(d.Kind, d.Key)
	delete(t.s.prefetched, docName(d.Kind, d.Key))
	// One round trip: the upsert keeps seq on conflict, and the label
	// rows are written again only when the account, region or labels
	// change (old sees the row as it was before the statement).
	// PostgreSQL updates in place (HOT) when account, region and labels
	// keep their values, so the common write touches no index and no
	// label row.
	rows, encoded := tables.Labels(d.Labels)
	t.write(`WITH old AS (
			SELECT 1 FROM docs WHERE kind = $1 AND key = $2 AND account = $3 AND region = $4 AND labels = $6
		), up AS (
			INSERT INTO docs (kind, key, account, region, body, labels) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (kind, key) DO UPDATE SET account = EXCLUDED.account, region = EXCLUDED.region,
				body = EXCLUDED.body, labels = EXCLUDED.labels
			RETURNING seq
		), changed AS (
			SELECT seq FROM up WHERE NOT EXISTS (SELECT 1 FROM old)
		), gone AS (
			DELETE FROM doc_labels WHERE seq IN (SELECT seq FROM changed)
		)
		INSERT INTO doc_labels (seq, kind, account, region, name, value, from_ns, until_ns)
		SELECT changed.seq, $1, $3, $4, l.name, l.value, l.from_ns, l.until_ns
		FROM changed, unnest($7::text[], $8::text[], $9::bigint[], $10::bigint[]) AS l(name, value, from_ns, until_ns)`,
		string(d.Kind), d.Key, string(d.Account), string(d.Region), d.Body, encoded,
		nonNil(rows.Names), nonNil(rows.Values), nonNil(rows.From), nonNil(rows.Until))
	return nil
}

// nonNil returns s, or an empty slice for nil: pgx sends a nil slice as
// NULL, which unnest would not take as empty.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DeleteDoc removes the document; deleting a missing one is not an error.
func (t *tx) DeleteDoc(ctx context.Context, kind core.ResourceKind, key string) error {
	const op = "postgres.DeleteDoc"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return err
	}
	t.lockWrite(kind, key)
	delete(t.s.prefetched, docName(kind, key))
	// The document's label rows go with it (ON DELETE CASCADE).
	t.write(`DELETE FROM docs WHERE kind = $1 AND key = $2`, string(kind), key)
	return nil
}

// ListDocs returns the documents q selects in insertion order, with
// their Seq, with the rules of sqlite's ListDocs: empty Kind selects
// every kind and then forbids After, Keys and Labels; an After that names
// no document, or a negative bound, is KindInvalid.
func (t *tx) ListDocs(ctx context.Context, q core.Query) ([]core.Doc, error) {
	const op = "postgres.ListDocs"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return nil, err
	}
	after, err := t.after(ctx, op, q)
	if err != nil {
		return nil, err
	}
	query, args := tables.SelectDocs(dialect, q, after, t.now)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, t.fail(op, err)
	}
	out := []core.Doc{}
	for rows.Next() {
		var d core.Doc
		if err := rows.Scan(&d.Kind, &d.Key, &d.Account, &d.Region, &d.Seq, &d.Body); err != nil {
			rows.Close()
			return nil, t.fail(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

// CountDocs counts the documents q selects, ignoring Offset and Limit,
// with ListDocs' rules and locks. It counts over the index with COUNT(*):
// PostgreSQL keeps no label buckets as SQLite does, since counter rows
// that every writer of a label updates would order the writers of all
// replicas and deadlock their batches.
func (t *tx) CountDocs(ctx context.Context, q core.Query) (int, error) {
	const op = "postgres.CountDocs"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return 0, err
	}
	after, err := t.after(ctx, op, q)
	if err != nil {
		return 0, err
	}
	query, args := tables.CountDocs(dialect, q, after, t.now)
	var n int64
	if err := t.scanRow(ctx, query, args, &n); err != nil {
		return 0, t.fail(op, err)
	}
	return int(n), nil
}

// after checks q, takes a listing's locks in an Update (the kind's lock
// exclusively, see lockKey: no document of the kind appears or goes, or
// changes its labels, while the Update decides from the listing), and
// returns the seq of the document q.After names (0 when it is unset).
func (t *tx) after(ctx context.Context, op string, q core.Query) (int64, error) {
	if err := tables.CheckDocs(op, q); err != nil {
		return 0, err
	}
	if t.rtx == nil {
		t.lockKind("", q.Kind != "")
		if q.Kind != "" {
			t.lockKind(q.Kind, false)
		}
	}
	if q.After == "" {
		return 0, nil
	}
	var after int64
	err := t.scanRow(ctx, `SELECT seq FROM docs WHERE kind = $1 AND key = $2`, []any{string(q.Kind), q.After}, &after)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, tables.UnknownAfter(op)
	}
	if err != nil {
		return 0, t.fail(op, err)
	}
	return after, nil
}

// dialect is PostgreSQL's: LIKE, with '*' as '%' and its own
// metacharacters escaped by the default escape character, '\'; label
// values are COLLATE "C", so the match is bytewise and case-sensitive.
var dialect = tables.Dialect{
	Ph:          placeholder,
	Glob:        func(col, p string) string { return col + " LIKE " + p },
	GlobPattern: strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, "*", "%").Replace,
}

// placeholder is PostgreSQL's parameter marker: $1, $2, …
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// AppendAudit records ev; an event without a Time gets the transaction's
// Now. Times come back in UTC, to the nanosecond.
func (t *tx) AppendAudit(ctx context.Context, ev core.AuditEvent) error {
	const op = "postgres.AppendAudit"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return err
	}
	args, err := tables.AuditArgs(op, ev, t.now)
	if err != nil {
		return err
	}
	t.write(`INSERT INTO audit (time, request_id, account, user_name, access_key_id, source_ip,
		product, action, resource, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...)
	return nil
}

// QueryAudit returns the events f selects, oldest first (ties in append
// order), at most f.Limit when it is positive.
func (t *tx) QueryAudit(ctx context.Context, f core.AuditFilter) ([]core.AuditEvent, error) {
	const op = "postgres.QueryAudit"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return nil, err
	}
	if err := tables.CheckAudit(op, f); err != nil {
		return nil, err
	}
	query, args := tables.SelectAudit(placeholder, f)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, t.fail(op, err)
	}
	out := []core.AuditEvent{}
	for rows.Next() {
		var r tables.AuditRow
		if err := rows.Scan(r.Dest()...); err != nil {
			rows.Close()
			return nil, t.fail(op, err)
		}
		ev, err := r.Event(op)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

// RecordNonce implements core.Tx: one upsert that changes a row only when
// the nonce is new or expired at now. A concurrent insert of the same
// nonce waits on the primary key for the other transaction's end.
func (t *tx) RecordNonce(ctx context.Context, key core.AccessKeyID, nonce string, now, expires time.Time) (bool, error) {
	const op = "postgres.RecordNonce"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return false, err
	}
	tag, err := t.exec(ctx, `INSERT INTO nonces (access_key, nonce, expires) VALUES ($1, $2, $3)
		ON CONFLICT (access_key, nonce) DO UPDATE SET expires = EXCLUDED.expires WHERE nonces.expires <= $4`,
		string(key), nonce, expires.UnixNano(), now.UnixNano())
	if err != nil {
		return false, t.fail(op, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SweepNonces implements core.Tx. Rows another transaction is recording
// anew are skipped, not waited for.
func (t *tx) SweepNonces(ctx context.Context, now time.Time, limit int) (int, error) {
	const op = "postgres.SweepNonces"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return 0, err
	}
	tag, err := t.exec(ctx, `DELETE FROM nonces WHERE (access_key, nonce) IN
		(SELECT access_key, nonce FROM nonces WHERE expires <= $1 ORDER BY expires LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		now.UnixNano(), limit)
	if err != nil {
		return 0, t.fail(op, err)
	}
	return int(tag.RowsAffected()), nil
}
