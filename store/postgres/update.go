package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/groupcommit"
)

// Update runs fn in a read-write transaction and returns only once the
// transaction is durable (or has failed). The contract is sqlite.Store's
// Update's, and it holds across replicas: batches of different replicas
// are serialized by an advisory lock.
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
type writeConn struct{ s *Store }

var _ groupcommit.Conn = writeConn{}

// exec runs a control statement. Control statements are never canceled:
// pgx answers a canceled context by closing the connection, which would
// lose the whole batch.
func (c writeConn) exec(sql string, args ...any) error {
	_, err := c.s.wconn.Exec(context.Background(), sql, args...)
	return mapErr("postgres.Update", err)
}

// Begin opens the batch transaction and takes the writers' advisory lock,
// reconnecting first if the write connection broke.
func (c writeConn) Begin() error {
	c.s.failed = nil
	if c.s.wconn == nil || c.s.wconn.IsClosed() {
		conn, err := pgx.ConnectConfig(context.Background(), c.s.cfg.Copy())
		if err != nil {
			return mapErr("postgres.Update", err)
		}
		c.s.wconn = conn
	}
	if err := c.exec("BEGIN"); err != nil {
		return err
	}
	if err := c.exec("SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
		c.exec("ROLLBACK")
		return err
	}
	return nil
}

func (c writeConn) Savepoint() error {
	c.s.failed = nil
	return c.exec("SAVEPOINT fn")
}

func (c writeConn) Release() error { return c.exec("RELEASE SAVEPOINT fn") }

// RollbackTo undoes the fn's changes, also after a failed statement (it
// clears PostgreSQL's failed-transaction state), and ends the savepoint.
func (c writeConn) RollbackTo() error {
	c.s.failed = nil
	if err := c.exec("ROLLBACK TO SAVEPOINT fn"); err != nil {
		return err
	}
	return c.exec("RELEASE SAVEPOINT fn")
}

// Commit commits the batch. PostgreSQL answers COMMIT of a failed
// transaction with a ROLLBACK and no error, so the command tag is checked.
func (c writeConn) Commit() error {
	tag, err := c.s.wconn.Exec(context.Background(), "COMMIT")
	if err != nil {
		return mapErr("postgres.Update", err)
	}
	if tag.String() != "COMMIT" {
		return &core.Error{Kind: core.KindInternal, Op: "postgres.Update", Message: "the database rolled the transaction back at COMMIT"}
	}
	return nil
}

func (c writeConn) Rollback() error {
	if c.s.wconn.IsClosed() {
		return nil
	}
	return c.exec("ROLLBACK")
}

// Aborted reports a batch transaction that is gone: the connection broke,
// or the server is no longer in a transaction.
func (c writeConn) Aborted() bool {
	return c.s.wconn.IsClosed() || c.s.wconn.PgConn().TxStatus() == 'I'
}

func (c writeConn) Failed() error { return c.s.failed }

func newWriteErr(msg string) error {
	if msg == groupcommit.MsgClosed {
		return errClosed("postgres.Update")
	}
	return &core.Error{Kind: core.KindInternal, Op: "postgres.Update", Message: msg}
}
