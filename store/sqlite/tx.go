package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/tables"
)

// tx implements core.Tx for both kinds of transaction: an Update's, on
// the write connection inside the batch's transaction and the fn's
// savepoint (rtx == nil), and a View's, on a read-only *sql.Tx.
type tx struct {
	s    *Store
	now  time.Time
	rtx  *sql.Tx
	done bool // the fn returned: the Tx must not be used any more
	// written lists the kinds an Update's fn put or deleted documents
	// of (Store.KindVersion).
	written []core.ResourceKind
}

var _ core.Tx = (*tx)(nil)

func (t *tx) Now() time.Time { return t.now }

// enter checks that the Tx may run a statement and returns the context to
// run it with. In an Update, a statement must not be interrupted by its
// caller's context: SQLite answers an interrupted write by rolling back
// the whole transaction, which holds the other callers' changes too. So
// the caller's context is checked before each statement, not during it.
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
	if t.s.aborted {
		return nil, &core.Error{Kind: core.KindInternal, Op: op, Message: "the batch transaction was rolled back by the database"}
	}
	return context.WithoutCancel(ctx), nil
}

// stmt returns the prepared statement pick selects, bound to this Tx.
func (t *tx) stmt(ctx context.Context, pick func(*stmts) *sql.Stmt) *sql.Stmt {
	if t.rtx == nil {
		return pick(&t.s.ws)
	}
	return t.rtx.StmtContext(ctx, pick(&t.s.rs))
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.rtx == nil {
		return t.s.conn.QueryContext(ctx, query, args...)
	}
	return t.rtx.QueryContext(ctx, query, args...)
}

// GetDoc returns the document or an *core.Error of KindNotFound.
func (t *tx) GetDoc(ctx context.Context, kind core.ResourceKind, key string) (core.Doc, error) {
	const op = "sqlite.GetDoc"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return core.Doc{}, err
	}
	if t.rtx == nil {
		if d, found, known := t.s.docs.get(kind, key); known {
			if !found {
				return core.Doc{}, notFound(op, kind, key)
			}
			return d, nil
		}
	}
	d := core.Doc{Kind: kind, Key: key}
	err = t.stmt(ctx, func(s *stmts) *sql.Stmt { return s.getDoc }).
		QueryRowContext(ctx, string(kind), key).Scan(&d.Account, &d.Region, &d.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Doc{}, notFound(op, kind, key)
	}
	if err != nil {
		return core.Doc{}, mapErr(op, err)
	}
	if t.rtx == nil {
		t.s.docs.put(d)
	}
	return d, nil
}

// PrefetchDoc implements core.Tx: SQLite reads from the process's own
// page cache, so there is no round trip to save.
func (t *tx) PrefetchDoc(context.Context, core.ResourceKind, string) {}

// PutDoc inserts d at the end of the insertion order, or replaces the
// document with its kind and key in place, with d's labels. Empty Kind or
// Key is KindInvalid (a CHECK constraint).
func (t *tx) PutDoc(ctx context.Context, d core.Doc) (err error) {
	const op = "sqlite.PutDoc"
	ctx, err = t.enter(ctx, op, true)
	if err != nil {
		return err
	}
	if d.Body == nil {
		d.Body = []byte{} // NOT NULL: an empty body is stored as empty
	}
	defer func() {
		if err != nil {
			t.s.docs.forget(d.Kind, d.Key)
		} else {
			t.s.docs.put(d)
		}
	}()
	t.wrote(d.Kind)
	rows, encoded := tables.Labels(d.Labels)
	args := []any{string(d.Kind), d.Key, string(d.Account), string(d.Region), d.Body, encoded}
	res, err := t.s.ws.updateBody.ExecContext(ctx, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr(op, err)
	} else if n == 1 {
		return nil
	}
	var seq int64
	if err := t.s.ws.upsertDoc.QueryRowContext(ctx, args...).Scan(&seq); err != nil {
		return mapErr(op, err)
	}
	if _, err := t.s.ws.deleteLabels.ExecContext(ctx, seq); err != nil {
		return mapErr(op, err)
	}
	for i := range rows.Names {
		if _, err := t.s.ws.insertLabel.ExecContext(ctx, seq, string(d.Kind), string(d.Account), string(d.Region),
			rows.Names[i], rows.Values[i], rows.From[i], rows.Until[i]); err != nil {
			return mapErr(op, err)
		}
	}
	return nil
}

// DeleteDoc removes the document; deleting a missing one is not an error.
func (t *tx) DeleteDoc(ctx context.Context, kind core.ResourceKind, key string) error {
	const op = "sqlite.DeleteDoc"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return err
	}
	t.wrote(kind)
	if _, err := t.s.ws.deleteDoc.ExecContext(ctx, string(kind), key); err != nil {
		t.s.docs.forget(kind, key)
		return mapErr(op, err)
	}
	t.s.docs.del(kind, key)
	return nil
}

// ListDocs returns the documents q selects in insertion order, with
// their Seq. The Offset of a query of one label and nothing else skips
// whole label buckets (see skipBuckets). An empty q.Kind selects every kind; q.After, Keys and Labels
// then cannot be used (keys are unique only within a kind). An After that
// names no document of q.Kind, or a negative bound, is KindInvalid.
func (t *tx) ListDocs(ctx context.Context, q core.Query) ([]core.Doc, error) {
	const op = "sqlite.ListDocs"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return nil, err
	}
	after, err := t.after(ctx, op, q)
	if err != nil {
		return nil, err
	}
	if q.Offset > 0 && tables.Bucketed(q, after) {
		var within bool
		if q, within, err = t.skipBuckets(ctx, op, q); err != nil || !within {
			return []core.Doc{}, err
		}
	}
	query, args := tables.SelectDocs(dialect, q, after, t.now)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []core.Doc{}
	for rows.Next() {
		var d core.Doc
		if err := rows.Scan(&d.Kind, &d.Key, &d.Account, &d.Region, &d.Seq, &d.Body); err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// CountDocs counts the documents q selects, ignoring Offset and Limit,
// with ListDocs' rules. A query of one label and nothing else is counted
// from the label buckets (see buckets), without reading its label rows.
func (t *tx) CountDocs(ctx context.Context, q core.Query) (int, error) {
	const op = "sqlite.CountDocs"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return 0, err
	}
	after, err := t.after(ctx, op, q)
	if err != nil {
		return 0, err
	}
	if tables.Bucketed(q, after) {
		bs, err := t.buckets(ctx, op, q)
		n := 0
		for _, b := range bs {
			n += int(b.n)
		}
		return n, err
	}
	query, args := tables.CountDocs(dialect, q, after, t.now)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return 0, mapErr(op, err)
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, mapErr(op, err)
		}
	}
	return n, mapErr(op, rows.Err())
}

// after checks q and returns the seq of the document q.After names (0
// when it is unset).
func (t *tx) after(ctx context.Context, op string, q core.Query) (int64, error) {
	if err := tables.CheckDocs(op, q); err != nil {
		return 0, err
	}
	if q.After == "" {
		return 0, nil
	}
	var after int64
	err := t.stmt(ctx, func(s *stmts) *sql.Stmt { return s.seqOf }).
		QueryRowContext(ctx, string(q.Kind), q.After).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, tables.UnknownAfter(op)
	}
	if err != nil {
		return 0, mapErr(op, err)
	}
	return after, nil
}

// dialect is SQLite's: GLOB matches case-sensitively with '*', and its
// other metacharacters are bracketed to stand for themselves.
var dialect = tables.Dialect{
	Ph:          placeholder,
	Glob:        func(col, p string) string { return col + " GLOB " + p },
	GlobPattern: strings.NewReplacer("?", "[?]", "[", "[[]").Replace,
}

// placeholder is SQLite's parameter marker.
func placeholder(int) string { return "?" }

// AppendAudit records ev, in the audit table before the batch commits
// (pendingAudit). An event without a Time gets the transaction's Now;
// times outside the years 1678–2261 are KindInvalid. Times come back
// from QueryAudit in UTC, to the nanosecond.
func (t *tx) AppendAudit(ctx context.Context, ev core.AuditEvent) error {
	const op = "sqlite.AppendAudit"
	if _, err := t.enter(ctx, op, true); err != nil {
		return err
	}
	args, err := tables.AuditArgs(op, ev, t.now)
	if err != nil {
		return err
	}
	t.s.audit.rows = append(t.s.audit.rows, args)
	return nil
}

// QueryAudit returns the events f selects, oldest first (ties in append
// order), at most f.Limit of them when it is positive. A negative Limit is
// KindInvalid.
func (t *tx) QueryAudit(ctx context.Context, f core.AuditFilter) ([]core.AuditEvent, error) {
	const op = "sqlite.QueryAudit"
	ctx, err := t.enter(ctx, op, false)
	if err != nil {
		return nil, err
	}
	if err := tables.CheckAudit(op, f); err != nil {
		return nil, err
	}
	if t.rtx == nil { // an Update sees the events its batch appended
		if err := t.s.flushAudit(ctx); err != nil {
			return nil, err
		}
	}
	query, args := tables.SelectAudit(placeholder, f)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []core.AuditEvent{}
	for rows.Next() {
		var r tables.AuditRow
		if err := rows.Scan(r.Dest()...); err != nil {
			return nil, mapErr(op, err)
		}
		ev, err := r.Event(op)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// RecordNonce implements core.Tx: one upsert that changes a row only when
// the nonce is new or expired at now.
func (t *tx) RecordNonce(ctx context.Context, key core.AccessKeyID, nonce string, now, expires time.Time) (bool, error) {
	const op = "sqlite.RecordNonce"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return false, err
	}
	res, err := t.s.ws.recordNonce.ExecContext(ctx, string(key), nonce, expires.UnixNano(), now.UnixNano())
	if err != nil {
		return false, mapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, mapErr(op, err)
	}
	return n == 1, nil
}

// SweepNonces implements core.Tx.
func (t *tx) SweepNonces(ctx context.Context, now time.Time, limit int) (int, error) {
	const op = "sqlite.SweepNonces"
	ctx, err := t.enter(ctx, op, true)
	if err != nil {
		return 0, err
	}
	res, err := t.s.ws.sweepNonces.ExecContext(ctx, now.UnixNano(), limit)
	if err != nil {
		return 0, mapErr(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(op, err)
}
