package aliyun

import (
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
)

// defaultNonceLimit bounds the nonces remembered at once across all access
// keys when Deps.NonceLimit is zero: about 100 MB at the limit, enough for
// the 30-minute memory at a steady 500 requests per second.
const defaultNonceLimit = 1 << 20

// nonceVerdict is the outcome of nonceCache.use.
type nonceVerdict int

const (
	nonceFresh nonceVerdict = iota // first use: now remembered
	nonceUsed                      // seen within the memory window
	nonceFull                      // the memory is full; refuse rather than forget
)

// nonceCache remembers the signature nonces of accepted requests, per
// access key, for ttl after their use, so a replayed request is refused
// with SignatureNonceUsed. The memory is per process: replicas behind one
// address each keep their own, so a replay sent to another replica is
// not detected (the timestamp window still bounds it).
//
// The cache is bounded: when limit nonces are remembered and none has
// expired, a new one is refused (nonceFull) instead of evicting an older
// one, which would reopen a replay window.
type nonceCache struct {
	ttl   time.Duration
	limit int

	mu    sync.Mutex
	total int
	keys  map[core.AccessKeyID]*nonceSet
}

// nonceSet is one access key's remembered nonces: a set for lookups and a
// queue in order of use for expiry (uses are recorded at now+ttl with a
// clock that does not go backwards, so the queue is in expiry order).
type nonceSet struct {
	seen  map[string]struct{}
	queue []nonceEntry
	head  int
}

type nonceEntry struct {
	nonce   string
	expires time.Time
}

func newNonceCache(ttl time.Duration, limit int) *nonceCache {
	if limit <= 0 {
		limit = defaultNonceLimit
	}
	return &nonceCache{ttl: ttl, limit: limit, keys: make(map[core.AccessKeyID]*nonceSet)}
}

// use records nonce for key at now, unless it was used within ttl.
// Callers call it only after the request's signature verified, so a
// forged request cannot burn a legitimate client's nonce.
func (c *nonceCache) use(key core.AccessKeyID, nonce string, now time.Time) nonceVerdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.keys[key]
	if s == nil {
		s = &nonceSet{seen: make(map[string]struct{})}
		c.keys[key] = s
	}
	c.expire(s, now)
	if _, ok := s.seen[nonce]; ok {
		return nonceUsed
	}
	if c.total >= c.limit {
		for k, other := range c.keys {
			c.expire(other, now)
			if len(other.seen) == 0 && other != s {
				delete(c.keys, k)
			}
		}
		if c.total >= c.limit {
			return nonceFull
		}
	}
	s.seen[nonce] = struct{}{}
	s.queue = append(s.queue, nonceEntry{nonce: nonce, expires: now.Add(c.ttl)})
	c.total++
	return nonceFresh
}

// expire forgets s's nonces whose time has passed. c.mu is held.
func (c *nonceCache) expire(s *nonceSet, now time.Time) {
	for s.head < len(s.queue) && !now.Before(s.queue[s.head].expires) {
		delete(s.seen, s.queue[s.head].nonce)
		s.queue[s.head] = nonceEntry{}
		s.head++
		c.total--
	}
	// Compact once the consumed prefix dominates, keeping appends
	// amortized O(1) and memory proportional to what is remembered.
	if s.head > 64 && s.head*2 >= len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

// size returns how many nonces are remembered (for tests).
func (c *nonceCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}
