package groupcommit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeConn records the transaction control calls made on it.
type fakeConn struct {
	ops       []string
	commitErr error
	failed    error
	aborted   bool
}

func (c *fakeConn) rec(op string) error { c.ops = append(c.ops, op); return nil }
func (c *fakeConn) Begin() error        { c.aborted = false; return c.rec("begin") }
func (c *fakeConn) Savepoint() error    { return c.rec("sp") }
func (c *fakeConn) Release() error      { return c.rec("release") }
func (c *fakeConn) RollbackTo() error   { c.failed = nil; return c.rec("undo") }
func (c *fakeConn) Commit() error       { c.rec("commit"); return c.commitErr }
func (c *fakeConn) Rollback() error     { return c.rec("rollback") }
func (c *fakeConn) Aborted() bool       { return c.aborted }
func (c *fakeConn) Failed() error       { return c.failed }

func newErr(msg string) error { return errors.New(msg) }

// queue runs first, which holds the writer until n more Do calls wait,
// then returns every call's error.
func queue(t *testing.T, w *Writer, first func() error, rest []func() error) []error {
	t.Helper()
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	errs := make([]error, len(rest)+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = w.Do(ctx, func() error { close(holding); <-release; return first() })
	}()
	<-holding
	for i, fn := range rest {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i+1] = w.Do(ctx, fn) }()
	}
	for w.Waiting() != len(rest) {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	return errs
}

func ok() error { return nil }

func TestOneCommitPerQueue(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	fail := errors.New("fn failed")
	errs := queue(t, w, ok, []func() error{ok, func() error { return fail }, ok})
	if errs[0] != nil || errs[1] != nil || errs[2] != fail || errs[3] != nil {
		t.Fatalf("errors = %v", errs)
	}
	got := strings.Join(c.ops, " ")
	// The queued calls run in any order; count instead.
	if strings.Count(got, "begin") != 1 || strings.Count(got, "commit") != 1 || strings.Count(got, "undo") != 1 ||
		strings.Count(got, "release") != 3 || !strings.HasSuffix(got, "commit") {
		t.Errorf("ops = %s", got)
	}
	if w.Commits() != 1 || w.Updates() != 3 {
		t.Errorf("Commits() = %d, Updates() = %d; want one commit of the 3 that succeeded", w.Commits(), w.Updates())
	}
}

func TestMaxBatch(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 2, newErr)
	queue(t, w, ok, []func() error{ok, ok, ok, ok})
	if w.Commits() < 3 {
		t.Errorf("5 Updates with maxBatch 2 took %d commits, want at least 3", w.Commits())
	}
}

func TestCommitFailureFailsEveryMember(t *testing.T) {
	c := &fakeConn{commitErr: errors.New("disk full")}
	w := New(c, 100, newErr)
	for i, err := range queue(t, w, ok, []func() error{ok, ok}) {
		if err != c.commitErr {
			t.Errorf("Update %d = %v, want the commit's error", i, err)
		}
	}
	if !strings.HasSuffix(strings.Join(c.ops, " "), "commit rollback") {
		t.Errorf("ops = %v: a failed commit must be followed by a rollback", c.ops)
	}
}

func TestFailedStatementFailsItsFn(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	stmtErr := errors.New("statement failed")
	err := w.Do(context.Background(), func() error { c.failed = stmtErr; return nil })
	if err != stmtErr {
		t.Fatalf("Do = %v, want the failed statement's error", err)
	}
	if got := strings.Join(c.ops, " "); got != "begin sp undo commit" {
		t.Errorf("ops = %s", got)
	}
}

func TestAbortFailsTheBatch(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	errs := queue(t, w, ok, []func() error{func() error { c.aborted = true; return nil }})
	for i, err := range errs {
		if err == nil || err.Error() != MsgAborted {
			t.Errorf("Update %d = %v, want %q", i, err, MsgAborted)
		}
	}
	if err := w.Do(context.Background(), ok); err != nil {
		t.Fatalf("Do after an aborted batch: %v", err)
	}
}

func TestPanicReleasesWriter(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v", r)
			}
		}()
		w.Do(context.Background(), func() error { panic("boom") })
	}()
	if err := w.Do(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.ops, " "); got != "begin sp undo commit begin sp release commit" {
		t.Errorf("ops = %s", got)
	}
}

func TestCanceledAndClosed(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Do(ctx, func() error { t.Error("fn ran"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Do(canceled) = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Do(context.Background(), ok); err == nil || err.Error() != MsgClosed {
		t.Errorf("Do after Close = %v", err)
	}
	if len(c.ops) != 0 {
		t.Errorf("ops = %v, want none", c.ops)
	}
}

// TestGoexitInFn: a fn that ends its goroutine (t.FailNow does) ends the
// caller's goroutine too, its changes are dropped, and the writer goes on
// with the next Update on another goroutine.
func TestGoexitInFn(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	returned := make(chan bool, 1)
	go func() {
		defer func() { returned <- false }()
		w.Do(context.Background(), func() error { runtime.Goexit(); return nil })
		returned <- true
	}()
	if <-returned {
		t.Fatal("Do returned after its fn called runtime.Goexit")
	}
	if err := w.Do(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.ops, " "); got != "begin sp undo commit begin sp release commit" {
		t.Errorf("ops = %s", got)
	}
}

// TestGoexitOnTheWritersGoroutine: a queued fn that calls runtime.Goexit
// ends the writer's goroutine; its caller's goroutine ends too, and
// another goroutine takes over the writer, for the fn queued after it.
func TestGoexitOnTheWritersGoroutine(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	returned := make(chan bool, 1)
	errs := queue(t, w, ok, []func() error{
		func() error {
			go func() {
				defer func() { returned <- false }()
				w.Do(context.Background(), func() error { runtime.Goexit(); return nil })
				returned <- true
			}()
			for w.Waiting() == 0 {
				runtime.Gosched()
			}
			return nil
		},
	})
	if <-returned {
		t.Fatal("Do returned after its fn called runtime.Goexit")
	}
	last := w.Do(context.Background(), ok)
	if errs[0] != nil || errs[1] != nil || last != nil {
		t.Fatalf("errors = %v, then %v", errs, last)
	}
	if got := strings.Join(c.ops, " "); strings.Count(got, "undo") != 1 || !strings.HasSuffix(got, "release commit") {
		t.Errorf("ops = %s", got)
	}
}

// TestIdleWriterRunsInline: an Update that finds the writer idle runs its
// fn on its caller's goroutine, below Do's frames; one that queues behind
// it runs on the writer's and joins its batch.
func TestIdleWriterRunsInline(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	onCaller := func() bool {
		buf := make([]byte, 64<<10)
		return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "groupcommit.(*Writer).Do(")
	}
	var first, second bool
	queue(t, w, func() error { first = onCaller(); return nil }, []func() error{func() error { second = onCaller(); return nil }})
	if !first || second {
		t.Errorf("on the caller's goroutine: first fn %v, queued fn %v; want true, false", first, second)
	}
	if w.Commits() != 1 || w.Updates() != 2 {
		t.Errorf("Commits() = %d, Updates() = %d; want the queued fn in the first one's batch", w.Commits(), w.Updates())
	}
}

// TestCloseWaitsForAnInlineFn: Close during an inline fn waits for it and
// commits its batch; later Updates are refused.
func TestCloseWaitsForAnInlineFn(t *testing.T) {
	c := &fakeConn{}
	w := New(c, 100, newErr)
	running, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- w.Do(context.Background(), func() error { close(running); <-release; return nil }) }()
	<-running
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	close(release)
	if err := <-done; err != nil {
		t.Errorf("Do = %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close = %v", err)
	}
	if got := strings.Join(c.ops, " "); got != "begin sp release commit" {
		t.Errorf("ops = %s", got)
	}
	if err := w.Do(context.Background(), ok); err == nil || err.Error() != MsgClosed {
		t.Errorf("Do after Close = %v", err)
	}
}

// BenchmarkIdleDo measures one Update at a time on a Conn whose Commit
// writes 4 KiB and fsyncs it, as a WAL commit does: the fsync plus
// what the Writer adds around a commit that blocks (wake-ups of parked
// threads when a goroutine hands the Update to another). Compare it with
// the store's BenchmarkFsync.
func BenchmarkIdleDo(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "wal"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := New(syncConn{f}, 100, newErr)
	defer w.Close()
	ctx := context.Background()
	for b.Loop() {
		if err := w.Do(ctx, ok); err != nil {
			b.Fatal(err)
		}
	}
}

// syncConn is a Conn whose Commit syncs a page of its file.
type syncConn struct{ f *os.File }

func (syncConn) Begin() error      { return nil }
func (syncConn) Savepoint() error  { return nil }
func (syncConn) Release() error    { return nil }
func (syncConn) RollbackTo() error { return nil }
func (syncConn) Rollback() error   { return nil }
func (syncConn) Aborted() bool     { return false }
func (syncConn) Failed() error     { return nil }

func (c syncConn) Commit() error {
	if _, err := c.f.WriteAt(make([]byte, 4096), 0); err != nil {
		return err
	}
	return c.f.Sync()
}
