package blacklist

import (
	"net/netip"
	"testing"
	"time"
)

var (
	t0   = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	addr = netip.MustParseAddr("192.0.2.7")
)

// fail admits one attempt by a at now and settles it Failed, and returns
// the end of the block it started.
func fail(t *testing.T, m *Memory, a netip.Addr, now time.Time) time.Time {
	t.Helper()
	if ok, until := m.Admit(a, now); !ok {
		t.Fatalf("at %v: attempt refused (blocked until %v), want admitted", now.Sub(t0), until)
	}
	return m.Settle(a, now, Failed)
}

func wantRefused(t *testing.T, m *Memory, a netip.Addr, now, until time.Time) {
	t.Helper()
	if ok, got := m.Admit(a, now); ok || !got.Equal(until) {
		t.Fatalf("at %v: Admit = %v, blocked until %v; want refused until %v", now.Sub(t0), ok, got, until)
	}
}

// TestFifthFailureBlocksAndBlocksDouble follows TigerVNC's blacklist:
// five failures block the address for 10 s; once a block is over one more
// attempt is allowed, and its failure blocks for twice as long as before.
func TestFifthFailureBlocksAndBlocksDouble(t *testing.T) {
	m := NewMemory(Policy{})
	now := t0
	for i := 1; i < DefaultThreshold; i++ {
		if until := fail(t, m, addr, now); !until.IsZero() {
			t.Fatalf("failure %d blocked the address until %v", i, until)
		}
		now = now.Add(time.Second)
	}
	until := fail(t, m, addr, now)
	if want := now.Add(10 * time.Second); !until.Equal(want) {
		t.Fatalf("fifth failure: blocked until %v, want %v", until, want)
	}
	wantRefused(t, m, addr, now, until)
	wantRefused(t, m, addr, until.Add(-time.Nanosecond), until)

	// Each block is twice as long as the one before.
	for _, d := range []time.Duration{20 * time.Second, 40 * time.Second, 80 * time.Second} {
		now = until
		if ok, _ := m.Admit(addr, now); !ok {
			t.Fatal("the attempt after a block ended was refused")
		}
		// One attempt at a time between blocks.
		wantRefused(t, m, addr, now, time.Time{})
		until = m.Settle(addr, now, Failed)
		if want := now.Add(d); !until.Equal(want) {
			t.Fatalf("failure after a block: blocked until %v, want %v later", until.Sub(now), d)
		}
		wantRefused(t, m, addr, now, until)
	}

	// A success forgets the address: five more failures are allowed.
	now = until
	if ok, _ := m.Admit(addr, now); !ok {
		t.Fatal("the attempt after the last block was refused")
	}
	m.Settle(addr, now, Succeeded)
	if m.Len() != 0 {
		t.Fatalf("a success left %d addresses remembered", m.Len())
	}
	for i := 1; i < DefaultThreshold; i++ {
		if until := fail(t, m, addr, now); !until.IsZero() {
			t.Fatalf("after a success, failure %d blocked the address", i)
		}
	}
	if until := fail(t, m, addr, now); !until.Equal(now.Add(DefaultTimeout)) {
		t.Fatalf("after a success, the fifth failure blocked until %v, want %v", until, now.Add(DefaultTimeout))
	}
}

func TestSuccessResetsTheCount(t *testing.T) {
	m := NewMemory(Policy{})
	for round := 0; round < 3; round++ {
		for i := 1; i < DefaultThreshold; i++ {
			if until := fail(t, m, addr, t0); !until.IsZero() {
				t.Fatalf("round %d, failure %d blocked the address", round, i)
			}
		}
		if ok, _ := m.Admit(addr, t0); !ok {
			t.Fatalf("round %d: refused after %d failures", round, DefaultThreshold-1)
		}
		m.Settle(addr, t0, Succeeded)
	}
}

// TestAttemptsInProgressCount: connections opened at once cannot try more
// passwords than the threshold allows in a row; attempts that end without
// a verdict cost nothing.
func TestAttemptsInProgressCount(t *testing.T) {
	m := NewMemory(Policy{})
	fail(t, m, addr, t0)
	fail(t, m, addr, t0)
	for i := 0; i < DefaultThreshold-2; i++ {
		if ok, _ := m.Admit(addr, t0); !ok {
			t.Fatalf("attempt %d in progress refused", i+1)
		}
	}
	wantRefused(t, m, addr, t0, time.Time{})
	m.Settle(addr, t0, Abandoned)
	if ok, _ := m.Admit(addr, t0); !ok {
		t.Fatal("an abandoned attempt's place was not freed")
	}
	// All three fail: the block starts with the fifth failure only.
	if until := m.Settle(addr, t0, Failed); !until.IsZero() {
		t.Fatal("the third failure blocked the address")
	}
	if until := m.Settle(addr, t0, Failed); !until.IsZero() {
		t.Fatal("the fourth failure blocked the address")
	}
	if until := m.Settle(addr, t0, Failed); until.IsZero() {
		t.Fatal("the fifth failure did not block the address")
	}
	// Abandoned attempts alone leave nothing behind.
	other := netip.MustParseAddr("2001:db8::1")
	for range 100 {
		if ok, _ := m.Admit(other, t0); !ok {
			t.Fatal("an address without failures was refused")
		}
		m.Settle(other, t0, Abandoned)
	}
	if m.Len() != 1 {
		t.Fatalf("%d addresses remembered, want only the failing one", m.Len())
	}
}

// TestFailureAdmittedBeforeTheBlock: an attempt admitted before its
// address's block began (possible when the address was forgotten and
// remembered again meanwhile) and failing during the block neither
// extends nor doubles it.
func TestFailureAdmittedBeforeTheBlock(t *testing.T) {
	m := NewMemory(Policy{MaxAddresses: 1})
	if ok, _ := m.Admit(addr, t0); !ok { // in progress throughout
		t.Fatal("first attempt refused")
	}
	fail(t, m, netip.MustParseAddr("192.0.2.8"), t0) // forgets addr
	var until time.Time
	for range DefaultThreshold {
		until = fail(t, m, addr, t0)
	}
	if got := m.Settle(addr, t0.Add(time.Second), Failed); !got.IsZero() {
		t.Fatalf("a failure during the block started another, until %v", got)
	}
	wantRefused(t, m, addr, t0.Add(time.Second), until)
	if ok, _ := m.Admit(addr, until); !ok {
		t.Fatal("refused once the block was over")
	}
	if got := m.Settle(addr, until, Failed); !got.Equal(until.Add(2 * DefaultTimeout)) {
		t.Fatalf("the block after the first lasts %v, want %v", got.Sub(until), 2*DefaultTimeout)
	}
}

func TestMappedAddressesAreOneAddress(t *testing.T) {
	m := NewMemory(Policy{Threshold: 1})
	mapped := netip.AddrFrom16(addr.As16())
	until := fail(t, m, mapped, t0)
	wantRefused(t, m, addr, t0, until)
}

func TestBlocksStopDoublingAtMaxTimeout(t *testing.T) {
	m := NewMemory(Policy{Threshold: 1, Timeout: time.Minute, MaxTimeout: 3 * time.Minute})
	now := t0
	var got []time.Duration
	for range 5 {
		until := fail(t, m, addr, now)
		got = append(got, until.Sub(now))
		now = until
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute, 3 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("blocks last %v, want %v", got, want)
		}
	}
}

// TestMemoryIsBounded: however many addresses fail, at most MaxAddresses
// are remembered, the least recently seen forgotten first.
func TestMemoryIsBounded(t *testing.T) {
	m := NewMemory(Policy{MaxAddresses: 64})
	for i := range 10000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		fail(t, m, a, t0)
		if m.Len() > 64 {
			t.Fatalf("%d addresses remembered, want at most 64", m.Len())
		}
	}
	// The address touched last is still there; the first is forgotten.
	last := netip.AddrFrom4([4]byte{10, 0, 39, 15}) // 9999
	first := netip.AddrFrom4([4]byte{10, 0, 0, 0})
	for range DefaultThreshold - 2 {
		fail(t, m, last, t0)
	}
	if until := fail(t, m, last, t0); until.IsZero() {
		t.Fatal("the most recent address lost its failures")
	}
	if until := fail(t, m, first, t0); !until.IsZero() {
		t.Fatal("the oldest address kept its failures")
	}
}
