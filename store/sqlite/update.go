package sqlite

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// batch is one write transaction shared by the Updates that joined it.
type batch struct {
	members int           // fns that succeeded and wait for the commit
	done    chan struct{} // closed once the transaction has ended
	err     error         // the commit's outcome, set before done closes
}

// Update runs fn in a read-write transaction and returns only once the
// transaction is durable (or has failed).
//
// Updates are serialized: fn runs on the caller's goroutine while it holds
// the Store's single writer, inside a SAVEPOINT of the batch transaction.
// It sees every change of the fns before it in the batch. If fn returns
// an error (or panics), its savepoint is rolled back and the others in the
// batch are unaffected; Update returns fn's error (or re-panics) at once.
// If fn returns nil, Update waits for the batch's COMMIT and returns its
// outcome: nil means the changes are durable; an error means none of them
// happened.
//
// fn must not call Update or View's writes on the same Store (Update would
// deadlock), and must not keep the Tx after it returns. The caller's
// context is checked before fn and before each statement; once fn
// succeeded, Update waits for the commit even if the context is done, so
// that its answer is the truth. After Close, Update fails with
// KindUnavailable.
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	const op = "sqlite.Update"
	if err := ctx.Err(); err != nil {
		return mapErr(op, err)
	}
	s.waiting.Add(1)
	s.mu.Lock()
	s.waiting.Add(-1)
	if s.closed.Load() {
		s.mu.Unlock()
		return errClosed(op)
	}
	if err := ctx.Err(); err != nil {
		s.settleLocked()
		s.mu.Unlock()
		return mapErr(op, err)
	}
	if s.batch == nil {
		if err := s.beginLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	b := s.batch

	if _, err := s.ctl.savepoint.ExecContext(context.Background()); err != nil {
		err = mapErr(op, err)
		s.failLocked(err)
		s.mu.Unlock()
		return err
	}
	t := &tx{s: s, now: s.clock.Now()}
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked or called runtime.Goexit: undo its changes, hand
		// the writer on, and let the panic continue.
		t.done = true
		s.undoLocked()
		s.settleLocked()
		s.mu.Unlock()
	}()
	err := fn(t)
	returned = true
	t.done = true

	switch {
	case s.aborted:
		// The database rolled the whole transaction back (I/O error,
		// disk full): every change of the batch is gone.
		abortErr := &core.Error{Kind: core.KindInternal, Op: op, Message: "the database rolled the transaction back"}
		s.failLocked(abortErr)
		s.mu.Unlock()
		if err == nil {
			err = abortErr
		}
		return err
	case err != nil:
		s.undoLocked()
		s.settleLocked()
		s.mu.Unlock()
		return err
	}
	if _, err := s.ctl.release.ExecContext(context.Background()); err != nil {
		err = mapErr(op, err)
		s.failLocked(err)
		s.mu.Unlock()
		return err
	}
	b.members++
	s.settleLocked()
	s.mu.Unlock()
	<-b.done
	return b.err
}

// beginLocked opens a new batch transaction.
func (s *Store) beginLocked() error {
	s.aborted = false
	if _, err := s.ctl.begin.ExecContext(context.Background()); err != nil {
		return mapErr("sqlite.Update", err)
	}
	s.batch = &batch{done: make(chan struct{})}
	return nil
}

// undoLocked rolls back the current fn's savepoint. If that fails the
// batch cannot go on and fails as a whole.
func (s *Store) undoLocked() {
	if s.batch == nil {
		return
	}
	if s.aborted {
		s.failLocked(&core.Error{Kind: core.KindInternal, Op: "sqlite.Update", Message: "the database rolled the transaction back"})
		return
	}
	ctx := context.Background()
	if _, err := s.ctl.rollbackTo.ExecContext(ctx); err != nil {
		s.failLocked(mapErr("sqlite.Update", err))
		return
	}
	if _, err := s.ctl.release.ExecContext(ctx); err != nil {
		s.failLocked(mapErr("sqlite.Update", err))
	}
}

// settleLocked commits the open batch unless another Update is waiting
// for the writer and the batch has room: then that Update joins the batch
// and settles it in turn. The last Update of a queue therefore commits,
// and no batch stays open while nobody holds the writer — except for the
// instant between a waiter's increment of s.waiting and its Lock, after
// which it settles the batch itself.
func (s *Store) settleLocked() {
	if s.batch == nil {
		return
	}
	if s.waiting.Load() > 0 && s.batch.members < maxBatch {
		return
	}
	s.commitLocked()
}

// commitLocked commits the open batch and releases its members.
func (s *Store) commitLocked() {
	b := s.batch
	s.batch = nil
	if _, err := s.ctl.commit.ExecContext(context.Background()); err != nil {
		// A failed COMMIT may leave the transaction open; end it so the
		// next batch starts clean. Nothing of this batch happened.
		s.ctl.rollback.ExecContext(context.Background())
		b.err = mapErr("sqlite.Update", err)
	} else {
		s.commits.Add(1)
	}
	close(b.done)
}

// failLocked ends the open batch with err: its transaction is rolled back
// (if the database has not done so already) and every member gets err.
func (s *Store) failLocked(err error) {
	b := s.batch
	if b == nil {
		return
	}
	s.batch = nil
	if !s.aborted {
		s.ctl.rollback.ExecContext(context.Background())
	}
	b.err = err
	close(b.done)
}
