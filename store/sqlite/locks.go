package sqlite

import (
	"context"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/keylock"
)

// One process owns a SQLite database (latchkey's single-server store),
// so the locks and leases of core.Locker need not leave it: they are
// the Store's own, and a lease, once taken, is only lost by Release or
// Close.

// Lock implements core.Locker.
func (s *Store) Lock(ctx context.Context, name string) (func(), error) {
	const op = "sqlite.Lock"
	if s.closed.Load() {
		return nil, errClosed(op)
	}
	unlock, err := s.locks.Lock(ctx, "lock:"+name)
	if err != nil {
		return nil, mapErr(op, err)
	}
	return unlock, nil
}

// TryLease implements core.Locker.
func (s *Store) TryLease(_ context.Context, name string) (core.Lease, error) {
	if s.closed.Load() {
		return nil, errClosed("sqlite.TryLease")
	}
	unlock, ok := s.locks.TryLock("lease:" + name)
	if !ok {
		return nil, nil
	}
	l := keylock.NewLease(unlock)
	s.leases.Add(l)
	return l, nil
}
