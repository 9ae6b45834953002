package blacklist

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Defaults are Xvnc's (BlacklistThreshold, BlacklistTimeout), plus the
// bounds Xvnc lacks.
const (
	DefaultThreshold    = 5
	DefaultTimeout      = 10 * time.Second
	DefaultMaxTimeout   = 24 * time.Hour
	DefaultMaxAddresses = 16384
	DefaultHold         = 2 * time.Minute
	DefaultForgetAfter  = 24 * time.Hour
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

// Admission is a Ledger's answer to Admit.
type Admission struct {
	// OK: the attempt may go on; Ticket is what Settle needs to end it.
	OK     bool
	Ticket uint64
	// BlockedUntil is the end of the block that refused the attempt; the
	// zero time when it was refused because the source already has as
	// many attempts in progress as its failures leave it.
	BlockedUntil time.Time
}

// Ledger keeps the per-source counts. A source is what Source makes of a
// client's address: one IPv4 address, or one IPv6 /64. Store keeps them
// in the shared store, so that every replica refuses a source blocked
// through any of them. Implementations are safe for concurrent use.
type Ledger interface {
	// Admit reserves an attempt by src at now, to be ended by one call to
	// Settle with the Admission's Ticket, or refuses it.
	Admit(ctx context.Context, src netip.Prefix, now time.Time) (Admission, error)
	// Settle ends an attempt Admit reserved. When this failure blocks
	// src it returns the end of the block, otherwise the zero time.
	Settle(ctx context.Context, src netip.Prefix, ticket uint64, now time.Time, v Verdict) (blockedUntil time.Time, err error)
}

// Source is the key under which addr's attempts are counted: the address
// itself (/32) for IPv4, an IPv4-mapped IPv6 address counting as its IPv4
// address, and the /64 for IPv6, the smallest network a host is given, so
// that a client rotating its addresses within its /64 stays one source.
// An invalid addr gives the invalid Prefix.
func Source(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	switch {
	case addr.Is4():
		return netip.PrefixFrom(addr, 32)
	case addr.Is6():
		p, _ := addr.Prefix(64)
		return p
	}
	return netip.Prefix{}
}

// Policy is a Ledger's thresholds; zero fields take the defaults.
type Policy struct {
	// Threshold is how many failed authentications block a source.
	Threshold int
	// Timeout is how long the first block lasts; each later one lasts
	// twice as long as the one before, at most MaxTimeout.
	Timeout    time.Duration
	MaxTimeout time.Duration
	// MaxAddresses bounds how many sources are remembered.
	MaxAddresses int
	// Hold is how long an admitted attempt counts as in progress when it
	// is never settled (its process died): after Hold its place is free
	// again. It must exceed every surface's authentication deadline.
	Hold time.Duration
	// ForgetAfter is how long a source that is neither blocked nor
	// attempting is remembered after its last attempt.
	ForgetAfter time.Duration
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
	if p.Hold <= 0 {
		p.Hold = DefaultHold
	}
	if p.ForgetAfter <= 0 {
		p.ForgetAfter = DefaultForgetAfter
	}
	return p
}

// block is how long a source's block lasts after offences earlier ones.
func (p Policy) block(offences int) time.Duration {
	d := p.Timeout
	for range offences {
		if d >= p.MaxTimeout {
			break
		}
		d *= 2
	}
	return min(d, p.MaxTimeout)
}

// record is one source's state, as the store holds it.
// Failures counts up to the threshold and stays there while the source is
// in its blocked phase; Offences is how many blocks it has had since its
// last success, which sets the length of the next.
type record struct {
	Failures     int       `json:"failures"`
	Offences     int       `json:"offences,omitempty"`
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
	Pending      []pending `json:"pending,omitempty"`
	Seen         time.Time `json:"seen"`
}

// pending is an attempt in progress, until it is settled or Until passes.
type pending struct {
	Ticket uint64    `json:"ticket"`
	Until  time.Time `json:"until"`
}

// prune drops the attempts in progress whose hold is over.
func (r *record) prune(now time.Time) {
	r.Pending = slices.DeleteFunc(r.Pending, func(p pending) bool { return !now.Before(p.Until) })
}

// admit decides an attempt at now. Below the threshold a source may have
// as many attempts in progress as it has failures left; once it has
// reached the threshold, one at a time, between blocks.
func (r *record) admit(p Policy, now time.Time) Admission {
	r.prune(now)
	r.Seen = now
	if now.Before(r.BlockedUntil) {
		return Admission{BlockedUntil: r.BlockedUntil}
	}
	allowed := max(p.Threshold-r.Failures, 1) // 1: the retry a finished block allows
	if len(r.Pending) >= allowed {
		return Admission{}
	}
	t := rand.Uint64() | 1 // never 0, the ticket of nothing
	r.Pending = append(r.Pending, pending{Ticket: t, Until: now.Add(p.Hold)})
	return Admission{OK: true, Ticket: t}
}

// settle ends the attempt ticket with v. It returns the end of the block
// a failure started, and whether the source is to be forgotten.
func (r *record) settle(p Policy, ticket uint64, now time.Time, v Verdict) (time.Time, bool) {
	r.Pending = slices.DeleteFunc(r.Pending, func(x pending) bool { return x.Ticket == ticket })
	r.prune(now)
	r.Seen = now
	switch v {
	case Succeeded:
		return time.Time{}, true
	case Failed:
		if now.Before(r.BlockedUntil) {
			// Admitted before the block began, which the limit on
			// attempts in progress allows only when the source was
			// forgotten meanwhile or its hold ran out.
			return time.Time{}, false
		}
		if r.Failures < p.Threshold {
			r.Failures++
			if r.Failures < p.Threshold {
				return time.Time{}, false
			}
		}
		r.BlockedUntil = now.Add(p.block(r.Offences))
		r.Offences++
		return r.BlockedUntil, false
	}
	return time.Time{}, r.Failures == 0 && len(r.Pending) == 0
}

// stale reports whether a source may be forgotten at now: nothing in
// progress, no block running, and no attempt for forgetAfter.
func (r *record) stale(now time.Time, forgetAfter time.Duration) bool {
	r.prune(now)
	return len(r.Pending) == 0 && !now.Before(r.BlockedUntil) && now.Sub(r.Seen) >= forgetAfter
}
