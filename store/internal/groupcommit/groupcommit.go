// Package groupcommit serializes a store's Updates over its one write
// connection and commits them in batches, so that many concurrent Updates
// share one durable commit (one fsync) while each still succeeds or fails
// on its own.
//
// The fns run one after another on the Writer's own goroutine, each inside
// a savepoint of the batch's transaction, while their callers wait. After
// each fn the writer looks whether another Update is queued: if so (and
// the batch has room) it leaves the transaction open and runs that one
// next; otherwise it commits. Each caller whose fn succeeded returns only
// after that commit. While a commit runs, new Updates queue up and form
// the next batch, so batches grow with load and no timer is needed.
//
// The fns run on one goroutine, not each on its caller's, so that the
// serial part of the store is the fns and the commits alone: handing the
// writer from caller to caller cost a wake-up and a reschedule per Update,
// and under load that was a fifth of the writer's time. The exception is
// an Update that finds the writer idle (nothing queued, nothing running):
// it runs its fn, and commits, on its own goroutine, saving the two
// wake-ups of a round trip through the writer's goroutine, which at low
// load are a tenth of an Update's latency. Updates that queue behind it
// meanwhile join its batch, which the writer's goroutine then takes over.
package groupcommit

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Conn is the write connection's transaction control. The Writer calls it
// only from its goroutine, one call at a time. Errors it returns are what
// the callers of Do see.
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

	commits atomic.Int64
	updates atomic.Int64 // the successful fns of the committed batches

	mu      sync.Mutex
	queue   []*call // Do calls whose fn has not started, oldest first
	state   state   // who runs the fns; parked implies an empty queue
	closed  bool
	wake    chan struct{} // a call was queued, or Close was called (capacity 1)
	stopped chan struct{} // closed when the writer goroutine has ended for good
	lastErr error         // the outcome of the batch committed at Close

	// The open batch: touched only by the writer goroutine.
	batch []*call // the fns that succeeded and wait for its commit
	open  bool
}

// state says who runs the fns and commits: nobody (parked), a caller of
// Do on its own goroutine (inline), or the writer's goroutine (busy).
// Only the holder of inline or busy touches the Conn and the open batch.
type state int

const (
	parked state = iota
	inline
	busy
)

// call is one Do: its fn, and where the writer sends the outcome.
type call struct {
	ctx context.Context
	fn  func() error
	out chan outcome // capacity 1: the writer never waits for the caller
}

type outcome struct {
	err    error
	panic  any  // fn panicked with this value
	goexit bool // fn called runtime.Goexit
}

// New returns a Writer over conn that puts at most maxBatch successful fns
// in one transaction, and starts its goroutine. newErr makes the errors
// the Writer reports itself (store closed, transaction aborted by the
// database), in the store's error vocabulary, given MsgClosed or
// MsgAborted.
func New(conn Conn, maxBatch int, newErr func(msg string) error) *Writer {
	w := &Writer{conn: conn, maxBatch: maxBatch, errOp: newErr,
		wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// Errors the Writer reports, passed to newErr.
const (
	MsgClosed  = "store is closed"
	MsgAborted = "the database rolled the transaction back"
)

// Do runs fn as one Update: serialized with every other Do, inside its own
// savepoint of the batch transaction, seeing the changes of the fns before
// it in the batch. fn runs on the Writer's goroutine, and Do waits for it;
// when the Writer is idle, fn runs on the caller's goroutine instead.
//
// If fn returns an error, its savepoint is rolled back and Do returns the
// error at once; the rest of the batch is unaffected. If fn panics, or
// calls runtime.Goexit, its savepoint is rolled back too and Do panics
// with the same value (or calls runtime.Goexit) on the caller's goroutine.
// If fn returns nil, Do returns after the batch's commit with its outcome:
// nil means fn's changes are durable, an error means none of them
// happened. ctx is checked before fn runs; once fn has succeeded Do waits
// for the commit whatever ctx says, so that its answer is the truth. fn
// must not call Do.
func (w *Writer) Do(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{ctx: ctx, fn: fn, out: make(chan outcome, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.errOp(MsgClosed)
	}
	if w.state == parked {
		w.state = inline
		w.mu.Unlock()
		w.inline(c)
	} else {
		w.queue = append(w.queue, c)
		w.mu.Unlock()
		w.signal()
	}
	o := <-c.out
	switch {
	case o.goexit:
		runtime.Goexit()
	case o.panic != nil:
		panic(o.panic)
	}
	return o.err
}

// signal wakes the writer's goroutine.
func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default: // the writer has a wake-up pending already
	}
}

// inline runs c on the caller's goroutine, the Writer being idle, as the
// writer's goroutine would, then hands the Writer back: to the writer's
// goroutine if calls queued meanwhile (they join c's batch if it is still
// open) or Close was called, else to nobody. If c's fn calls
// runtime.Goexit, run hands the Writer back instead.
func (w *Writer) inline(c *call) {
	o, send := w.run(c, true)
	w.settle()
	w.handBack()
	if send {
		c.out <- o
	}
}

// handBack ends an inline run.
func (w *Writer) handBack() {
	w.mu.Lock()
	if len(w.queue) == 0 && !w.closed {
		w.state = parked
		w.mu.Unlock()
		return
	}
	w.state = busy
	w.mu.Unlock()
	w.signal()
}

// loop runs the queued calls until Close. It is restarted by run when a
// fn ends the goroutine with runtime.Goexit.
func (w *Writer) loop() {
	for {
		w.mu.Lock()
		if w.state != busy {
			if w.state == inline || !w.closed {
				w.mu.Unlock()
				<-w.wake
				continue
			}
			w.state = busy // parked, and Close was called
		}
		if len(w.queue) == 0 {
			closed := w.closed
			w.mu.Unlock()
			err := w.settle()
			if closed {
				w.lastErr = err
				close(w.stopped)
				return
			}
			w.mu.Lock()
			if len(w.queue) == 0 && !w.closed {
				w.state = parked
			}
			w.mu.Unlock()
			continue
		}
		c := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		closed := w.closed
		w.mu.Unlock()
		if closed {
			c.out <- outcome{err: w.errOp(MsgClosed)}
			continue
		}
		o, send := w.run(c, false)
		w.settle()
		if send {
			c.out <- o
		}
	}
}

// run runs one call's fn in its savepoint of the open batch (opening the
// batch first if need be), on the caller's goroutine if onCaller. When the
// fn succeeded, the call joins the batch and waits for its commit;
// otherwise run returns what to tell the caller once the batch is settled
// (send).
func (w *Writer) run(c *call, onCaller bool) (o outcome, send bool) {
	if err := c.ctx.Err(); err != nil {
		return outcome{err: err}, true
	}
	if !w.open {
		if err := w.conn.Begin(); err != nil {
			return outcome{err: err}, true
		}
		w.open = true
	}
	if err := w.conn.Savepoint(); err != nil {
		w.fail(err)
		return outcome{err: err}, true
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked or called runtime.Goexit (recover returns nil):
		// drop its changes and pass the panic or the exit on to the
		// caller. An exit ends this goroutine: inline, that is the
		// caller's, which hands the Writer back on its way out;
		// otherwise another goroutine takes over the writer's.
		v := recover()
		w.undo()
		if v != nil {
			o, send = outcome{panic: v}, true
			return
		}
		w.settle()
		if onCaller {
			w.handBack()
			return
		}
		c.out <- outcome{goexit: true}
		go w.loop()
	}()
	err := c.fn()
	returned = true

	if w.conn.Aborted() {
		abortErr := w.errOp(MsgAborted)
		w.fail(abortErr)
		if err == nil {
			err = abortErr
		}
		return outcome{err: err}, true
	}
	if err == nil {
		err = w.conn.Failed()
	}
	if err != nil {
		w.undo()
		return outcome{err: err}, true
	}
	if err := w.conn.Release(); err != nil {
		w.fail(err)
		return outcome{err: err}, true
	}
	w.batch = append(w.batch, c)
	return outcome{}, false
}

// undo rolls back the current fn's savepoint; if that fails, the batch
// cannot go on and fails as a whole.
func (w *Writer) undo() {
	if !w.open {
		return
	}
	if w.conn.Aborted() {
		w.fail(w.errOp(MsgAborted))
		return
	}
	if err := w.conn.RollbackTo(); err != nil {
		w.fail(err)
	}
}

// settle commits the open batch unless more calls are queued and it has
// room for them, and returns the commit's error.
func (w *Writer) settle() error {
	if !w.open {
		return nil
	}
	w.mu.Lock()
	more := len(w.queue) > 0
	w.mu.Unlock()
	if more && len(w.batch) < w.maxBatch {
		return nil
	}
	members := w.batch
	w.batch, w.open = nil, false
	err := w.conn.Commit()
	if err != nil {
		// A failed COMMIT may leave the transaction open; end it so the
		// next batch starts clean.
		w.conn.Rollback()
	} else {
		w.commits.Add(1)
		w.updates.Add(int64(len(members)))
	}
	for _, c := range members {
		c.out <- outcome{err: err}
	}
	return err
}

// fail ends the open batch with err: its transaction is rolled back and
// every member gets err.
func (w *Writer) fail(err error) {
	if !w.open {
		return
	}
	members := w.batch
	w.batch, w.open = nil, false
	w.conn.Rollback()
	for _, c := range members {
		c.out <- outcome{err: err}
	}
}

// Close waits for the running fn, commits the open batch, fails the
// calls still queued with MsgClosed and refuses later ones. It returns
// that commit's error, if any.
func (w *Writer) Close() error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.stopped
	if already {
		return nil
	}
	return w.lastErr
}

// Waiting returns how many Updates are queued and have not started (for
// tests).
func (w *Writer) Waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// Commits returns how many batches committed.
func (w *Writer) Commits() int64 { return w.commits.Load() }

// Updates returns how many Updates the committed batches carried: with
// Commits, the average batch size.
func (w *Writer) Updates() int64 { return w.updates.Load() }
