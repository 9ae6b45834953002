package blacklist

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Defaults are Xvnc's (BlacklistThreshold, BlacklistTimeout), plus the
// bounds Xvnc lacks.
const (
	DefaultThreshold    = 5
	DefaultTimeout      = 10 * time.Second
	DefaultMaxTimeout   = 24 * time.Hour
	DefaultMaxAddresses = 16384
)

// Verdict is how an admitted attempt ended.
type Verdict int

const (
	// Abandoned: the attempt ended before any credentials were judged
	// (the client hung up, timed out or broke the protocol). It counts
	// neither way.
	Abandoned Verdict = iota
	// Failed: the credentials were refused.
	Failed
	// Succeeded: the client logged in; the address is forgotten.
	Succeeded
)

// Ledger keeps the per-address counts. Memory keeps them in this process,
// so replicas behind one load balancer each count on their own and a
// client spreading its attempts over N replicas gets N times the tries;
// a Ledger in the shared store, like E-HPC's RunasUser lockout (PRODUCT.md
// §6), would close that gap, which is why this is an interface.
// Implementations are safe for concurrent use.
type Ledger interface {
	// Admit reserves an attempt by addr at now, to be ended by one call to
	// Settle, or refuses it. A refusal returns the end of the block, or the
	// zero time when addr is not blocked but already has as many attempts
	// in progress as its failures leave it.
	Admit(addr netip.Addr, now time.Time) (ok bool, blockedUntil time.Time)
	// Settle ends an attempt Admit reserved. When this failure blocks
	// addr it returns the end of the block, otherwise the zero time.
	Settle(addr netip.Addr, now time.Time, v Verdict) (blockedUntil time.Time)
}

// Policy is a Ledger's thresholds; zero fields take the defaults.
type Policy struct {
	// Threshold is how many failed authentications block an address.
	Threshold int
	// Timeout is how long the first block lasts; each later one lasts
	// twice as long as the one before, at most MaxTimeout.
	Timeout    time.Duration
	MaxTimeout time.Duration
	// MaxAddresses bounds how many addresses are remembered.
	MaxAddresses int
}

func (p Policy) withDefaults() Policy {
	if p.Threshold <= 0 {
		p.Threshold = DefaultThreshold
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxTimeout <= 0 {
		p.MaxTimeout = DefaultMaxTimeout
	}
	p.MaxTimeout = max(p.MaxTimeout, p.Timeout)
	if p.MaxAddresses <= 0 {
		p.MaxAddresses = DefaultMaxAddresses
	}
	return p
}

// Memory is the in-process Ledger. Its memory is bounded: at most
// MaxAddresses entries of a few dozen bytes each.
type Memory struct {
	policy Policy

	mu    sync.Mutex
	addrs map[netip.Addr]*list.Element // of *entry
	lru   list.List                    // most recently touched first
}

// entry is one address's state. failures counts up to the threshold and
// stays there while the address is in its blocked phase; next is the
// length of the block its next failure starts.
type entry struct {
	addr         netip.Addr
	failures     int
	inProgress   int
	blockedUntil time.Time
	next         time.Duration
}

var _ Ledger = (*Memory)(nil)

// NewMemory returns an empty in-process Ledger.
func NewMemory(p Policy) *Memory {
	return &Memory{policy: p.withDefaults(), addrs: make(map[netip.Addr]*list.Element)}
}

// Admit implements Ledger. Below the threshold an address may have as
// many attempts in progress as it has failures left; once it has reached
// the threshold, one at a time, between blocks.
func (m *Memory) Admit(addr netip.Addr, now time.Time) (bool, time.Time) {
	addr = addr.Unmap()
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.touch(addr)
	if now.Before(e.blockedUntil) {
		return false, e.blockedUntil
	}
	allowed := m.policy.Threshold - e.failures
	if allowed < 1 {
		allowed = 1 // the retry a finished block allows
	}
	if e.inProgress >= allowed {
		return false, time.Time{}
	}
	e.inProgress++
	return true, time.Time{}
}

// Settle implements Ledger.
func (m *Memory) Settle(addr netip.Addr, now time.Time, v Verdict) time.Time {
	addr = addr.Unmap()
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.touch(addr) // a new entry when this one was forgotten meanwhile
	if e.inProgress > 0 {
		e.inProgress--
	}
	switch v {
	case Succeeded:
		m.forget(addr)
		return time.Time{}
	case Failed:
		if now.Before(e.blockedUntil) {
			// Admitted before the block began, which the limit on
			// attempts in progress allows only when the address was
			// forgotten meanwhile.
			return time.Time{}
		}
		if e.failures < m.policy.Threshold {
			e.failures++
			if e.failures < m.policy.Threshold {
				return time.Time{}
			}
			e.next = m.policy.Timeout
		}
		e.blockedUntil = now.Add(e.next)
		e.next = min(2*e.next, m.policy.MaxTimeout)
		return e.blockedUntil
	}
	if e.failures == 0 && e.inProgress == 0 {
		m.forget(addr)
	}
	return time.Time{}
}

// touch returns addr's entry, created if need be, as the most recently
// used; m.mu is held. Creating one beyond MaxAddresses forgets the least
// recently used.
func (m *Memory) touch(addr netip.Addr) *entry {
	if el, ok := m.addrs[addr]; ok {
		m.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	if m.lru.Len() >= m.policy.MaxAddresses {
		m.forget(m.lru.Back().Value.(*entry).addr)
	}
	e := &entry{addr: addr}
	m.addrs[addr] = m.lru.PushFront(e)
	return e
}

// forget drops addr's entry; m.mu is held.
func (m *Memory) forget(addr netip.Addr) {
	if el, ok := m.addrs[addr]; ok {
		m.lru.Remove(el)
		delete(m.addrs, addr)
	}
}

// Len reports how many addresses m remembers.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}
