package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/groupcommit"
)

// Update runs fn in a read-write transaction and returns only once the
// transaction is durable (or has failed).
//
// Updates are serialized: fn runs under the Store's single writer (on its
// goroutine while the caller waits, or on the caller's when the writer is
// idle), inside a SAVEPOINT of the batch transaction (see package
// groupcommit). It sees every change of the fns before it in
// the batch. If fn returns an error (or panics), its savepoint is rolled
// back, the others in the batch are unaffected, and Update returns fn's
// error (or re-panics on the caller's goroutine) at once. If fn returns nil, Update waits for the
// batch's COMMIT and returns its outcome: nil means the changes are
// durable; an error means none of them happened.
//
// fn must not call Update on the same Store (it would deadlock) and must
// not keep the Tx after it returns. The caller's context is checked
// before fn and before each statement, never during one (see tx.enter).
// After Close, Update fails with KindUnavailable. The versions of the
// kinds fn wrote move on before Update returns (core.KindVersions).
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	var t *tx
	err := s.writer.Do(ctx, func() error {
		t = &tx{s: s, now: s.clock.Now()}
		defer func() { t.done = true }()
		return fn(t)
	})
	if t != nil {
		s.versions.bump(t.written) // after the commit, before the answer
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return mapErr("sqlite.Update", err)
	}
	return err
}

// writeConn is the transaction control of the write connection.
type writeConn struct{ s *Store }

var _ groupcommit.Conn = writeConn{}

func run(st *sql.Stmt) error {
	_, err := st.ExecContext(context.Background())
	return mapErr("sqlite.Update", err)
}

func (c writeConn) Begin() error {
	c.s.aborted = false
	c.s.audit.reset()
	c.s.docs.rollback()
	return run(c.s.ctl.begin)
}

func (c writeConn) Savepoint() error {
	c.s.audit.savepoint()
	return run(c.s.ctl.savepoint)
}

func (c writeConn) Release() error {
	if err := run(c.s.ctl.release); err != nil {
		return err
	}
	c.s.docs.release()
	return nil
}

// Commit inserts the batch's queued audit rows, then commits; if the
// insert fails, nothing is committed (the Writer then rolls back).
func (c writeConn) Commit() error {
	err := c.s.flushAudit(context.Background())
	c.s.audit.reset()
	if err != nil {
		return err
	}
	if err := run(c.s.ctl.commit); err != nil {
		return err
	}
	c.s.docs.commit()
	return nil
}

func (c writeConn) Rollback() error {
	c.s.audit.reset()
	c.s.docs.rollback()
	return run(c.s.ctl.rollback)
}

// RollbackTo undoes the fn's changes and ends its savepoint: ROLLBACK TO
// leaves the savepoint open, RELEASE closes it. The fn's audit rows go
// with them.
func (c writeConn) RollbackTo() error {
	c.s.audit.rollbackTo()
	c.s.docs.rollbackTo()
	if err := run(c.s.ctl.rollbackTo); err != nil {
		return err
	}
	return run(c.s.ctl.release)
}

func (c writeConn) Aborted() bool { return c.s.aborted }

// Failed is always nil: SQLite aborts only the failing statement of a
// constraint violation, and reports the other failures through Aborted.
func (c writeConn) Failed() error { return nil }

func newWriteErr(msg string) error {
	if msg == groupcommit.MsgClosed {
		return errClosed("sqlite.Update")
	}
	return &core.Error{Kind: core.KindInternal, Op: "sqlite.Update", Message: msg}
}
