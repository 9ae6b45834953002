package service

import "sync"

// keyedMutex serializes work per key (an instance id) inside one process,
// so a console and the store see password changes in the same order.
// Entries are dropped when their last holder unlocks.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock acquires the key's lock and returns its release function.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return k.unlocker(key, e)
}

// tryLock acquires the key's lock if it is free and reports whether it did.
func (k *keyedMutex) tryLock(key string) (unlock func(), ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	if _, busy := k.locks[key]; busy {
		return nil, false
	}
	e := &keyedEntry{refs: 1}
	e.mu.Lock()
	k.locks[key] = e
	return k.unlocker(key, e), true
}

// unlocker returns the release function of e, the held lock of key: it
// unlocks e and drops it from k when no one else holds or waits for it.
func (k *keyedMutex) unlocker(key string, e *keyedEntry) func() {
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
