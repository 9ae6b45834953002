package storetest

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// testLocks: a held name makes a second Lock of it wait (here: until its
// context is done, then KindUnavailable) while other names are free; an
// unlocked name is free again; Lock after Close is KindUnavailable.
func testLocks(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	unlockA, err := s.Lock(ctx, "i-a")
	if err != nil {
		t.Fatalf("Lock a: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Lock(done, "i-a"); err == nil {
		t.Fatal("a second Lock of a held name returned with a done context")
	} else {
		wantKind(t, err, core.KindUnavailable, "Lock of a held name, context done")
	}
	unlockB, err := s.Lock(ctx, "i-b")
	if err != nil {
		t.Fatalf("Lock of another name while a is held: %v", err)
	}
	waited := make(chan error, 1)
	released := false
	go func() {
		unlock, err := s.Lock(ctx, "i-a")
		if err == nil {
			if !released {
				t.Error("a second Lock of a held name returned before the holder unlocked")
			}
			unlock()
		}
		waited <- err
	}()
	released = true
	unlockA()
	unlockA() // a second call does nothing
	if err := <-waited; err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	unlockB()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Lock(ctx, "i-a")
	wantKind(t, err, core.KindUnavailable, "Lock after Close")
}

// testLeases: a lease is held once; Release ends it (Lost closed) and
// frees it; Close ends every held lease.
func testLeases(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	l, err := s.TryLease(ctx, "visual")
	if err != nil || l == nil {
		t.Fatalf("TryLease of a free lease = %v, %v", l, err)
	}
	if again, err := s.TryLease(ctx, "visual"); err != nil || again != nil {
		t.Fatalf("TryLease of a held lease = %v, %v, want nil, nil", again, err)
	}
	other, err := s.TryLease(ctx, "other")
	if err != nil || other == nil {
		t.Fatalf("TryLease of another lease = %v, %v", other, err)
	}
	select {
	case <-l.Lost():
		t.Fatal("a held lease is lost")
	default:
	}
	l.Release()
	<-l.Lost()
	l.Release()
	l2, err := s.TryLease(ctx, "visual")
	if err != nil || l2 == nil {
		t.Fatalf("TryLease after Release = %v, %v", l2, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-l2.Lost()
	<-other.Lost()
	_, err = s.TryLease(ctx, "visual")
	wantKind(t, err, core.KindUnavailable, "TryLease after Close")
}
