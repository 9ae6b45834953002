// Package keylock is the in-process half of the stores' named locks
// (core.Locker): a mutex per name, made on first use and dropped when
// its last holder or waiter leaves, so the set stays as small as the
// work in flight.
package keylock

import (
	"context"
	"sync"
)

// Set is a set of named locks. The zero Set is ready to use.
type Set struct {
	mu    sync.Mutex
	locks map[string]*entry
}

// entry is one name's lock: a one-slot channel (full while held), and
// how many callers hold it or wait for it.
type entry struct {
	slot chan struct{}
	refs int
}

// ref returns name's entry, counting the caller in; s.mu must be held.
func (s *Set) ref(name string) *entry {
	if s.locks == nil {
		s.locks = make(map[string]*entry)
	}
	e := s.locks[name]
	if e == nil {
		e = &entry{slot: make(chan struct{}, 1)}
		s.locks[name] = e
	}
	e.refs++
	return e
}

// unref counts the caller out of e, dropping it when nobody is left.
func (s *Set) unref(name string, e *entry) {
	s.mu.Lock()
	if e.refs--; e.refs == 0 {
		delete(s.locks, name)
	}
	s.mu.Unlock()
}

// Lock waits until the caller holds name's lock, or ctx ends (then it
// returns ctx's error). The returned function releases it.
func (s *Set) Lock(ctx context.Context, name string) (unlock func(), err error) {
	s.mu.Lock()
	e := s.ref(name)
	s.mu.Unlock()
	select {
	case e.slot <- struct{}{}:
		return s.unlocker(name, e), nil
	case <-ctx.Done():
		s.unref(name, e)
		return nil, ctx.Err()
	}
}

// TryLock takes name's lock if it is free and reports whether it did.
func (s *Set) TryLock(name string) (unlock func(), ok bool) {
	s.mu.Lock()
	e := s.ref(name)
	s.mu.Unlock()
	select {
	case e.slot <- struct{}{}:
		return s.unlocker(name, e), true
	default:
		s.unref(name, e)
		return nil, false
	}
}

// unlocker returns the release function of e, the held lock of name;
// calls after the first do nothing.
func (s *Set) unlocker(name string, e *entry) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.slot
			s.unref(name, e)
		})
	}
}

// Lease is a core.Lease that ends once, by Release or by its store
// (closing, or losing the connection that held it): either way Lost is
// closed and the release function given to NewLease runs, once.
type Lease struct {
	lost    chan struct{}
	once    sync.Once
	release func()
}

// NewLease returns a held lease whose end runs release.
func NewLease(release func()) *Lease {
	return &Lease{lost: make(chan struct{}), release: release}
}

// Lost implements core.Lease.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Release implements core.Lease.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.release()
		close(l.lost)
	})
}

// Leases is the set of a store's held leases, which it ends when it
// closes or loses them. The zero Leases is ready to use.
type Leases struct {
	mu   sync.Mutex
	held map[*Lease]struct{}
}

// Add records l, and makes its end drop it from the set.
func (ls *Leases) Add(l *Lease) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.held == nil {
		ls.held = make(map[*Lease]struct{})
	}
	ls.held[l] = struct{}{}
	release := l.release
	l.release = func() {
		ls.mu.Lock()
		delete(ls.held, l)
		ls.mu.Unlock()
		release()
	}
}

// EndAll ends every held lease.
func (ls *Leases) EndAll() {
	ls.mu.Lock()
	all := make([]*Lease, 0, len(ls.held))
	for l := range ls.held {
		all = append(all, l)
	}
	ls.mu.Unlock()
	for _, l := range all {
		l.Release()
	}
}

// Len reports how many leases are held.
func (ls *Leases) Len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.held)
}
