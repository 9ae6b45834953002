package blacklist_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
	"github.com/latchkey/latchkey/store/postgres"
	"github.com/latchkey/latchkey/store/sqlite"
)

var (
	t0  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src = blacklist.Source(netip.MustParseAddr("192.0.2.7"))
)

// ledgers are the stores every behaviour test runs against; PostgreSQL
// is TestStoreIsSharedByReplicas's.
var ledgers = []struct {
	name string
	open func(t *testing.T) core.Store
}{
	{"sqlite", openSQLite},
}

func openSQLite(t *testing.T) core.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"), core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func eachLedger(t *testing.T, p blacklist.Policy, f func(t *testing.T, l *ledger)) {
	for _, c := range ledgers {
		t.Run(c.name, func(t *testing.T) { f(t, &ledger{t: t, l: blacklist.NewStore(c.open(t), p)}) })
	}
}

// ledger drives a Ledger in a test, failing it on any error.
type ledger struct {
	t *testing.T
	l blacklist.Ledger
}

func (l *ledger) admit(s netip.Prefix, now time.Time) blacklist.Admission {
	l.t.Helper()
	a, err := l.l.Admit(context.Background(), s, now)
	if err != nil {
		l.t.Fatal(err)
	}
	return a
}

func (l *ledger) mustAdmit(s netip.Prefix, now time.Time) uint64 {
	l.t.Helper()
	a := l.admit(s, now)
	if !a.OK {
		l.t.Fatalf("at %v: attempt refused (blocked until %v), want admitted", now.Sub(t0), a.BlockedUntil)
	}
	return a.Ticket
}

func (l *ledger) settle(s netip.Prefix, ticket uint64, now time.Time, v blacklist.Verdict) time.Time {
	l.t.Helper()
	until, err := l.l.Settle(context.Background(), s, ticket, now, v)
	if err != nil {
		l.t.Fatal(err)
	}
	return until
}

// fail admits one attempt by s at now and settles it Failed, and returns
// the end of the block it started.
func (l *ledger) fail(s netip.Prefix, now time.Time) time.Time {
	l.t.Helper()
	return l.settle(s, l.mustAdmit(s, now), now, blacklist.Failed)
}

func (l *ledger) wantRefused(s netip.Prefix, now, until time.Time) {
	l.t.Helper()
	if a := l.admit(s, now); a.OK || !a.BlockedUntil.Equal(until) {
		l.t.Fatalf("at %v: Admit = %+v; want refused until %v", now.Sub(t0), a, until)
	}
}

// TestFifthFailureBlocksAndBlocksDouble follows TigerVNC's blacklist:
// five failures block the address for 10 s; once a block is over one more
// attempt is allowed, and its failure blocks for twice as long as before.
func TestFifthFailureBlocksAndBlocksDouble(t *testing.T) {
	eachLedger(t, blacklist.Policy{}, func(t *testing.T, l *ledger) {
		now := t0
		for i := 1; i < blacklist.DefaultThreshold; i++ {
			if until := l.fail(src, now); !until.IsZero() {
				t.Fatalf("failure %d blocked the address until %v", i, until)
			}
			now = now.Add(time.Second)
		}
		until := l.fail(src, now)
		if want := now.Add(10 * time.Second); !until.Equal(want) {
			t.Fatalf("fifth failure: blocked until %v, want %v", until, want)
		}
		l.wantRefused(src, now, until)
		l.wantRefused(src, until.Add(-time.Nanosecond), until)

		// Each block is twice as long as the one before.
		for _, d := range []time.Duration{20 * time.Second, 40 * time.Second, 80 * time.Second} {
			now = until
			ticket := l.mustAdmit(src, now)
			// One attempt at a time between blocks.
			l.wantRefused(src, now, time.Time{})
			until = l.settle(src, ticket, now, blacklist.Failed)
			if want := now.Add(d); !until.Equal(want) {
				t.Fatalf("failure after a block: blocked for %v, want %v", until.Sub(now), d)
			}
			l.wantRefused(src, now, until)
		}

		// A success forgets the address: five more failures are allowed.
		now = until
		l.settle(src, l.mustAdmit(src, now), now, blacklist.Succeeded)
		for i := 1; i < blacklist.DefaultThreshold; i++ {
			if until := l.fail(src, now); !until.IsZero() {
				t.Fatalf("after a success, failure %d blocked the address", i)
			}
		}
		if until := l.fail(src, now); !until.Equal(now.Add(blacklist.DefaultTimeout)) {
			t.Fatalf("after a success, the fifth failure blocked until %v, want %v", until, now.Add(blacklist.DefaultTimeout))
		}
	})
}

func TestSuccessResetsTheCount(t *testing.T) {
	eachLedger(t, blacklist.Policy{}, func(t *testing.T, l *ledger) {
		for round := range 3 {
			for i := 1; i < blacklist.DefaultThreshold; i++ {
				if until := l.fail(src, t0); !until.IsZero() {
					t.Fatalf("round %d, failure %d blocked the address", round, i)
				}
			}
			l.settle(src, l.mustAdmit(src, t0), t0, blacklist.Succeeded)
		}
	})
}

// TestAttemptsInProgressCount: connections opened at once cannot try more
// passwords than the threshold allows in a row; attempts that end without
// a verdict cost nothing.
func TestAttemptsInProgressCount(t *testing.T) {
	eachLedger(t, blacklist.Policy{}, func(t *testing.T, l *ledger) {
		l.fail(src, t0)
		l.fail(src, t0)
		var tickets []uint64
		for range blacklist.DefaultThreshold - 2 {
			tickets = append(tickets, l.mustAdmit(src, t0))
		}
		l.wantRefused(src, t0, time.Time{})
		l.settle(src, tickets[0], t0, blacklist.Abandoned)
		tickets[0] = l.mustAdmit(src, t0) // the abandoned attempt's place was freed
		// All three fail: the block starts with the fifth failure only.
		for i, tk := range tickets {
			until := l.settle(src, tk, t0, blacklist.Failed)
			if last := i == len(tickets)-1; until.IsZero() == last {
				t.Fatalf("failure %d: blocked until %v", i+3, until)
			}
		}
	})
}

// TestConcurrentAttemptsAreBounded: of many attempts opened at once by a
// source with two failures, three are admitted.
func TestConcurrentAttemptsAreBounded(t *testing.T) {
	eachLedger(t, blacklist.Policy{}, func(t *testing.T, l *ledger) {
		l.fail(src, t0)
		l.fail(src, t0)
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				a, err := l.l.Admit(context.Background(), src, t0)
				if err != nil {
					t.Error(err)
				}
				if a.OK {
					admitted.Add(1)
				}
			})
		}
		wg.Wait()
		if n := admitted.Load(); n != blacklist.DefaultThreshold-2 {
			t.Fatalf("%d of 20 concurrent attempts admitted, want %d", n, blacklist.DefaultThreshold-2)
		}
	})
}

// TestSettledTwiceCountsOnce: settling a ticket that is no longer in
// progress frees nobody else's place.
func TestSettledTwiceCountsOnce(t *testing.T) {
	eachLedger(t, blacklist.Policy{Threshold: 2}, func(t *testing.T, l *ledger) {
		a := l.mustAdmit(src, t0)
		l.mustAdmit(src, t0)
		l.settle(src, a, t0, blacklist.Abandoned)
		l.mustAdmit(src, t0)
		l.settle(src, a, t0, blacklist.Abandoned)
		l.wantRefused(src, t0, time.Time{})
	})
}

// TestUnsettledAttemptsExpire: an attempt its process never settles (it
// died) holds its place for Hold only.
func TestUnsettledAttemptsExpire(t *testing.T) {
	eachLedger(t, blacklist.Policy{Threshold: 1, Hold: time.Minute}, func(t *testing.T, l *ledger) {
		l.mustAdmit(src, t0)
		l.wantRefused(src, t0.Add(time.Minute-time.Nanosecond), time.Time{})
		l.mustAdmit(src, t0.Add(time.Minute))
	})
}

// TestFailureAdmittedBeforeTheBlock: an attempt admitted before its
// source's block began (possible when its hold ran out) and failing
// during the block neither extends nor doubles it.
func TestFailureAdmittedBeforeTheBlock(t *testing.T) {
	eachLedger(t, blacklist.Policy{Hold: time.Second}, func(t *testing.T, l *ledger) {
		early := l.mustAdmit(src, t0) // in progress throughout
		now := t0.Add(time.Second)
		var until time.Time
		for range blacklist.DefaultThreshold {
			until = l.fail(src, now)
		}
		if got := l.settle(src, early, now.Add(time.Second), blacklist.Failed); !got.IsZero() {
			t.Fatalf("a failure during the block started another, until %v", got)
		}
		l.wantRefused(src, now.Add(time.Second), until)
		tk := l.mustAdmit(src, until)
		if got := l.settle(src, tk, until, blacklist.Failed); !got.Equal(until.Add(2 * blacklist.DefaultTimeout)) {
			t.Fatalf("the block after the first lasts %v, want %v", got.Sub(until), 2*blacklist.DefaultTimeout)
		}
	})
}

func TestBlocksStopDoublingAtMaxTimeout(t *testing.T) {
	eachLedger(t, blacklist.Policy{Threshold: 1, Timeout: time.Minute, MaxTimeout: 3 * time.Minute}, func(t *testing.T, l *ledger) {
		now := t0
		var got []time.Duration
		for range 5 {
			until := l.fail(src, now)
			got = append(got, until.Sub(now))
			now = until
		}
		want := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute, 3 * time.Minute}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("blocks last %v, want %v", got, want)
			}
		}
	})
}

// TestSourceKeys: an IPv4-mapped address is its IPv4 address, and every
// address of one IPv6 /64 is one source.
func TestSourceKeys(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		if got := blacklist.Source(netip.MustParseAddr(c.addr)); got.String() != c.want {
			t.Errorf("Source(%s) = %v, want %s", c.addr, got, c.want)
		}
	}
	if got := blacklist.Source(netip.Addr{}); got.IsValid() {
		t.Errorf("Source of the invalid address = %v, want the invalid prefix", got)
	}
	if blacklist.Source(netip.MustParseAddr("2001:db8:1:2::1")) == blacklist.Source(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("two /64s are one source")
	}
}

// TestStoreSweepBoundsTheDocuments: a sweep forgets the sources that are
// stale, then the least recently seen beyond MaxAddresses, and keeps the
// blocked ones and those in progress.
func TestStoreSweepBoundsTheDocuments(t *testing.T) {
	st := openSQLite(t)
	s := blacklist.NewStore(st, blacklist.Policy{Threshold: 1, MaxAddresses: 8, ForgetAfter: time.Hour})
	l := &ledger{t: t, l: s}
	v4 := func(i int) netip.Prefix {
		return blacklist.Source(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	count := func() int {
		t.Helper()
		var n int
		if err := st.View(context.Background(), func(tx core.Tx) error {
			docs, err := tx.ListDocs(context.Background(), core.Query{Kind: blacklist.Kind})
			n = len(docs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	l.fail(v4(0), t0) // blocked for 10 s
	for i := 1; i <= 20; i++ {
		l.fail(v4(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	// The blacklist is swept at the first Admit (and then once a minute):
	// by now, 21 sources; the oldest is blocked.
	if n := count(); n != 21 {
		t.Fatalf("%d sources stored, want 21", n)
	}
	remain, err := s.Sweep(context.Background(), t0.Add(time.Second))
	if err != nil || remain != 8 || count() != 8 {
		t.Fatalf("Sweep = %d, %v with %d stored; want 8 left", remain, err, count())
	}
	// The least recently seen went first, even blocked: 13..20 remain.
	l.wantRefused(v4(20), t0.Add(time.Second), t0.Add(20*time.Millisecond+blacklist.DefaultTimeout))
	if !l.admit(v4(0), t0.Add(time.Second)).OK {
		t.Fatal("a forgotten source is still refused")
	}
	// After ForgetAfter without attempts, and once their blocks are over,
	// every source goes.
	remain, err = s.Sweep(context.Background(), t0.Add(2*time.Hour))
	if err != nil || remain != 0 || count() != 0 {
		t.Fatalf("Sweep after ForgetAfter = %d, %v with %d stored; want none", remain, err, count())
	}
}

// TestStoreIsSharedByReplicas: two Ledgers on one PostgreSQL database, as
// two replicas have, count the same failures and the same attempts in
// progress.
func TestStoreIsSharedByReplicas(t *testing.T) {
	pg := pgtest.Need(t)
	var replicas [2]*ledger
	for i := range replicas {
		st, err := postgres.Open(context.Background(), pg.URL(), core.SystemClock{}, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		replicas[i] = &ledger{t: t, l: blacklist.NewStore(st, blacklist.Policy{})}
	}
	for i := range blacklist.DefaultThreshold {
		until := replicas[i%2].fail(src, t0)
		if last := i == blacklist.DefaultThreshold-1; until.IsZero() == last {
			t.Fatalf("failure %d: blocked until %v", i+1, until)
		}
	}
	for _, r := range replicas {
		r.wantRefused(src, t0, t0.Add(blacklist.DefaultTimeout))
	}

	// Attempts in progress count across replicas: of 20 opened at once
	// through both by a source without failures, 5 are admitted.
	other := blacklist.Source(netip.MustParseAddr("2001:db8::7"))
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			a, err := replicas[i%2].l.Admit(context.Background(), other, t0)
			if err != nil {
				t.Error(err)
			}
			if a.OK {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != blacklist.DefaultThreshold {
		t.Fatalf("%d of 20 concurrent attempts admitted through two replicas, want %d", n, blacklist.DefaultThreshold)
	}
}

// BenchmarkAttempt measures one login attempt's cost in the blacklist:
// an Admit and its Settle, for a source that fails now and then and
// succeeds (a viewer mistyping once in a while).
func BenchmarkAttempt(b *testing.B) {
	for _, c := range []struct {
		name string
		new  func(b *testing.B) blacklist.Ledger
	}{
		{"sqlite", func(b *testing.B) blacklist.Ledger {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "latchkey.db"), core.SystemClock{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return blacklist.NewStore(st, blacklist.Policy{})
		}},
		{"postgres", func(b *testing.B) blacklist.Ledger {
			st, err := postgres.Open(context.Background(), pgtest.Need(b).URL(), core.SystemClock{}, 2)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return blacklist.NewStore(st, blacklist.Policy{})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := c.new(b)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				a, err := l.Admit(ctx, src, now)
				if err != nil || !a.OK {
					b.Fatalf("Admit = %+v, %v", a, err)
				}
				v := blacklist.Succeeded
				if i%3 == 0 {
					v = blacklist.Failed
				}
				if _, err := l.Settle(ctx, src, a.Ticket, now, v); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
