package groupcommit

import (
	"context"
	"errors"
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
