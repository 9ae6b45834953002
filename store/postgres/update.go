package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/groupcommit"
)

// Update runs fn in a read-write transaction and returns only once the
// transaction is durable (or has failed). The contract is sqlite.Store's
// Update's, and it holds across replicas through advisory locks taken by
// the statements themselves (see lockDoc): Updates that touch the same
// document are serialized, Updates of different documents of different
// replicas run at once.
//
// PostgreSQL, unlike SQLite, spoils a transaction at the first failing
// statement: after a statement error, the fn's later statements fail, and
// the fn fails with that first error even if it returns nil.
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	err := s.writer.Do(ctx, func() error {
		t := &tx{s: s, now: s.clock.Now()}
		defer func() { t.done = true }()
		return fn(t)
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return mapErr("postgres.Update", err)
	}
	return err
}

// writeConn is the transaction control of the write connection.
//
// Each control statement costs a round trip, and an Update has several
// (BEGIN and the lock for a batch, SAVEPOINT and RELEASE for each fn), so
// they are not sent at once: they wait in Store.pending and go out in one
// pipeline with the fn's next statement, or with the COMMIT. The fn's
// writes wait there too (tx.write), and those still pending when it ends
// go out then, in one round trip. A password change then costs three
// round trips (the nonce, the read, the write with its audit record)
// instead of seven to nine. A pending statement's error surfaces at that
// next statement, or at the fn's end, and fails the fn as its own error
// would.
type writeConn struct{ s *Store }

var _ groupcommit.Conn = writeConn{}

// pendingStmt is a statement waiting to be sent; scan, if set, takes its
// row.
type pendingStmt struct {
	sql  string
	args []any
	scan func(pgx.Row) error
}

// sendPending sends the pending control statements, and the statement add
// queues, in one round trip.
func (s *Store) sendPending(ctx context.Context, add func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	for _, p := range s.pending {
		q := b.Queue(p.sql, p.args...)
		if p.scan != nil {
			q.QueryRow(p.scan)
		}
	}
	s.pending = s.pending[:0]
	s.beginPending = false
	s.written = false
	s.fnStart = -1
	if add != nil {
		add(b)
	}
	return s.wconn.SendBatch(ctx, b).Close()
}

func (c writeConn) queue(sql string, args ...any) {
	c.s.pending = append(c.s.pending, pendingStmt{sql: sql, args: args})
}

// exec sends the pending statements and runs sql. Control statements are
// never canceled: pgx answers a canceled context by closing the
// connection, which would lose the whole batch.
func (c writeConn) exec(sql string) error {
	err := c.s.sendPending(context.Background(), func(b *pgx.Batch) { b.Queue(sql) })
	return mapErr("postgres.Update", err)
}

// Begin opens the batch transaction (sent with the first statement),
// reconnecting first if the write connection broke.
func (c writeConn) Begin() error {
	c.s.failed = nil
	c.s.pending = c.s.pending[:0]
	if c.s.wconn == nil || c.s.wconn.IsClosed() {
		conn, err := pgx.ConnectConfig(context.Background(), c.s.cfg.Copy())
		if err != nil {
			return mapErr("postgres.Update", err)
		}
		c.s.wconn = conn
	}
	c.queue("BEGIN")
	clear(c.s.held)
	clear(c.s.prefetched)
	c.s.beginPending = true
	return nil
}

func (c writeConn) Savepoint() error {
	c.s.failed = nil
	clear(c.s.prefetched)
	c.s.fnStart = len(c.s.pending)
	c.queue("SAVEPOINT fn")
	return nil
}

func (c writeConn) Release() error {
	c.queue("RELEASE SAVEPOINT fn")
	return nil
}

// RollbackTo undoes the fn's changes, also after a failed statement (it
// clears PostgreSQL's failed-transaction state), and ends the savepoint.
// The fn's statements still pending are dropped, and with them the
// savepoint if it was never sent.
func (c writeConn) RollbackTo() error {
	c.s.failed = nil
	c.s.written = false
	// The savepoint's locks may go with it: take them again if needed.
	clear(c.s.held)
	if c.s.fnStart >= 0 {
		c.s.pending = c.s.pending[:c.s.fnStart]
		c.s.fnStart = -1
		return nil
	}
	c.s.pending = c.s.pending[:0] // all of them the fn's: the savepoint went out
	// The simple protocol: in a failed transaction PostgreSQL refuses to
	// prepare statements, which the extended protocol may need to do.
	_, err := c.s.wconn.PgConn().Exec(context.Background(), "ROLLBACK TO SAVEPOINT fn; RELEASE SAVEPOINT fn").ReadAll()
	return mapErr("postgres.Update", err)
}

// Commit commits the batch. PostgreSQL answers COMMIT of a failed
// transaction with a ROLLBACK and no error, so the command tag is checked.
func (c writeConn) Commit() error {
	if c.s.beginPending {
		// No fn ran a statement: there is nothing to commit.
		c.s.pending = c.s.pending[:0]
		c.s.beginPending = false
		return nil
	}
	var tag pgconn.CommandTag
	err := c.s.sendPending(context.Background(), func(b *pgx.Batch) {
		b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	})
	if err != nil {
		return mapErr("postgres.Update", err)
	}
	if tag.String() != "COMMIT" {
		return &core.Error{Kind: core.KindInternal, Op: "postgres.Update", Message: "the database rolled the transaction back at COMMIT"}
	}
	return nil
}

func (c writeConn) Rollback() error {
	c.s.pending = c.s.pending[:0]
	c.s.beginPending = false
	if c.s.wconn.IsClosed() || c.s.wconn.PgConn().TxStatus() == 'I' {
		return nil
	}
	_, err := c.s.wconn.Exec(context.Background(), "ROLLBACK")
	return mapErr("postgres.Update", err)
}

// Aborted reports a batch transaction that is gone: the connection broke,
// or the server is no longer in a transaction that was begun.
func (c writeConn) Aborted() bool {
	if c.s.wconn.IsClosed() {
		return true
	}
	return !c.s.beginPending && c.s.wconn.PgConn().TxStatus() == 'I'
}

// Failed sends the fn's pending writes (tx.write), so that their errors
// are the fn's, and returns the first statement error of the fn.
func (c writeConn) Failed() error {
	if c.s.failed == nil && c.s.written {
		if err := c.s.sendPending(context.Background(), nil); err != nil {
			c.s.failed = mapErr("postgres.Update", err)
		}
	}
	return c.s.failed
}

func newWriteErr(msg string) error {
	if msg == groupcommit.MsgClosed {
		return errClosed("postgres.Update")
	}
	return &core.Error{Kind: core.KindInternal, Op: "postgres.Update", Message: msg}
}
