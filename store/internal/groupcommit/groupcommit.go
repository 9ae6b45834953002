// Package groupcommit serializes a store's Updates over its one write
// connection and commits them in batches, so that many concurrent Updates
// share one durable commit (one fsync) while each still succeeds or fails
// on its own.
//
// An Update holds the writer while its fn runs on the caller's goroutine,
// inside a savepoint of the batch's transaction. When it is done it looks
// whether another Update is waiting for the writer: if so (and the batch
// has room) it leaves the transaction open for that one to join;
// otherwise it commits. The last Update of a queue therefore commits for
// all of them, and each caller whose fn succeeded returns only after that
// commit. While a commit runs, new Updates queue up and form the next
// batch, so batches grow with load and no timer is needed.
package groupcommit

import (
	"context"
	"sync"
	"sync/atomic"
)

// Conn is the write connection's transaction control. The Writer calls it
// only while it holds the writer, one call at a time. Errors it returns
// are what the callers of Do see.
type Conn interface {
	Begin() error      // open the batch transaction
	Savepoint() error  // open the fn's savepoint
	Release() error    // keep the fn's changes in the batch
	RollbackTo() error // drop the fn's changes, keep the batch
	Commit() error     // make the batch durable; on error nothing of it happened
	Rollback() error   // drop the batch
	// Aborted reports whether the database ended the batch transaction
	// by itself (an I/O error, a lost connection): nothing of the batch
	// survives and no statement may run until the next Begin.
	Aborted() bool
	// Failed returns the error of a statement that failed inside the
	// current savepoint and left it unusable, or nil. A fn that returned
	// nil after such a failure is treated as having returned it.
	Failed() error
}

// Writer batches Updates over a Conn. It is safe for concurrent use.
type Writer struct {
	conn     Conn
	maxBatch int
	errOp    func(msg string) error // builds the errors the Writer itself reports

	// waiting counts Do calls that want mu. The holder commits the open
	// batch only when nobody waits (or the batch is full); otherwise the
	// next holder joins the batch and inherits the decision. Between a
	// waiter's increment and its Lock the batch stays open: the waiter
	// will settle it.
	waiting atomic.Int32
	commits atomic.Int64
	updates atomic.Int64 // the successful fns of the committed batches

	mu     sync.Mutex
	batch  *batch
	closed bool
}

type batch struct {
	members int           // fns that succeeded and wait for the commit
	done    chan struct{} // closed once the transaction has ended
	err     error         // the outcome, set before done closes
}

// New returns a Writer over conn that puts at most maxBatch successful fns
// in one transaction. newErr makes the errors the Writer reports itself
// (store closed, transaction aborted by the database), in the store's
// error vocabulary, given MsgClosed or MsgAborted.
func New(conn Conn, maxBatch int, newErr func(msg string) error) *Writer {
	return &Writer{conn: conn, maxBatch: maxBatch, errOp: newErr}
}

// Errors the Writer reports, passed to newErr.
const (
	MsgClosed  = "store is closed"
	MsgAborted = "the database rolled the transaction back"
)

// Do runs fn as one Update: serialized with every other Do, inside its own
// savepoint of the batch transaction, seeing the changes of the fns before
// it in the batch.
//
// If fn returns an error or panics, its savepoint is rolled back and Do
// returns the error (or lets the panic continue) at once; the rest of the
// batch is unaffected. If fn returns nil, Do returns after the batch's
// commit with its outcome: nil means fn's changes are durable, an error
// means none of them happened. ctx is checked before fn runs; once fn has
// succeeded Do waits for the commit whatever ctx says, so that its answer
// is the truth. fn must not call Do.
func (w *Writer) Do(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.waiting.Add(1)
	w.mu.Lock()
	w.waiting.Add(-1)
	if w.closed {
		w.mu.Unlock()
		return w.errOp(MsgClosed)
	}
	if err := ctx.Err(); err != nil {
		w.settleLocked()
		w.mu.Unlock()
		return err
	}
	if w.batch == nil {
		if err := w.conn.Begin(); err != nil {
			w.mu.Unlock()
			return err
		}
		w.batch = &batch{done: make(chan struct{})}
	}
	b := w.batch
	if err := w.conn.Savepoint(); err != nil {
		w.failLocked(err)
		w.mu.Unlock()
		return err
	}

	returned := false
	defer func() {
		if !returned {
			// fn panicked or called runtime.Goexit: drop its
			// changes, pass the writer on, let the panic go on.
			w.undoLocked()
			w.settleLocked()
			w.mu.Unlock()
		}
	}()
	err := fn()
	returned = true

	if w.conn.Aborted() {
		abortErr := w.errOp(MsgAborted)
		w.failLocked(abortErr)
		w.mu.Unlock()
		if err == nil {
			err = abortErr
		}
		return err
	}
	if err == nil {
		err = w.conn.Failed()
	}
	if err != nil {
		w.undoLocked()
		w.settleLocked()
		w.mu.Unlock()
		return err
	}
	if err := w.conn.Release(); err != nil {
		w.failLocked(err)
		w.mu.Unlock()
		return err
	}
	b.members++
	w.settleLocked()
	w.mu.Unlock()
	<-b.done
	return b.err
}

// undoLocked rolls back the current fn's savepoint; if that fails, the
// batch cannot go on and fails as a whole.
func (w *Writer) undoLocked() {
	if w.batch == nil {
		return
	}
	if w.conn.Aborted() {
		w.failLocked(w.errOp(MsgAborted))
		return
	}
	if err := w.conn.RollbackTo(); err != nil {
		w.failLocked(err)
	}
}

func (w *Writer) settleLocked() {
	if w.batch == nil {
		return
	}
	if w.waiting.Load() > 0 && w.batch.members < w.maxBatch {
		return
	}
	w.commitLocked()
}

func (w *Writer) commitLocked() {
	b := w.batch
	w.batch = nil
	if err := w.conn.Commit(); err != nil {
		// A failed COMMIT may leave the transaction open; end it so the
		// next batch starts clean.
		w.conn.Rollback()
		b.err = err
	} else {
		w.commits.Add(1)
		w.updates.Add(int64(b.members))
	}
	close(b.done)
}

// failLocked ends the open batch with err: its transaction is rolled back
// and every member gets err.
func (w *Writer) failLocked(err error) {
	b := w.batch
	if b == nil {
		return
	}
	w.batch = nil
	w.conn.Rollback()
	b.err = err
	close(b.done)
}

// Close waits for the Update holding the writer, commits the open batch
// and refuses later Updates. It returns the commit's error, if any.
func (w *Writer) Close() error {
	w.waiting.Add(1)
	w.mu.Lock()
	w.waiting.Add(-1)
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.batch == nil {
		return nil
	}
	b := w.batch
	w.commitLocked()
	return b.err
}

// Waiting returns how many Updates wait for the writer (for tests).
func (w *Writer) Waiting() int { return int(w.waiting.Load()) }

// Commits returns how many batches committed.
func (w *Writer) Commits() int64 { return w.commits.Load() }

// Updates returns how many Updates the committed batches carried: with
// Commits, the average batch size.
func (w *Writer) Updates() int64 { return w.updates.Load() }
