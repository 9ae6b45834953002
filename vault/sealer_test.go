package vault

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/latchkey/latchkey/core"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newTestSealer(t *testing.T, key []byte) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newTestSealer(t, testKey(1))
	for _, plain := range []string{"", "a", "Abc123", "a much longer secret with ünïcode and 🙂"} {
		sealed, err := s.Seal(core.NewSecret(plain), "ecs/i-1/vnc")
		if err != nil {
			t.Fatal(err)
		}
		if sealed[0] != sealVersion {
			t.Errorf("version byte = %d, want %d", sealed[0], sealVersion)
		}
		if len(sealed) != len(plain)+sealOverhead {
			t.Errorf("len(sealed) = %d, want %d", len(sealed), len(plain)+sealOverhead)
		}
		// Only plaintexts long enough not to occur in random bytes by chance.
		if len(plain) >= 6 && bytes.Contains(sealed, []byte(plain)) {
			t.Error("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed, "ecs/i-1/vnc")
		if err != nil {
			t.Fatal(err)
		}
		if got.Reveal() != plain {
			t.Error("Open did not return the sealed plaintext")
		}
	}
}

func TestSealFreshNonce(t *testing.T) {
	s := newTestSealer(t, testKey(1))
	a, _ := s.Seal(core.NewSecret("same"), "ctx")
	b, _ := s.Seal(core.NewSecret("same"), "ctx")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestOpenWrongContext(t *testing.T) {
	s := newTestSealer(t, testKey(1))
	sealed, _ := s.Seal(core.NewSecret("Abc123"), "ecs/i-1/vnc")
	if _, err := s.Open(sealed, "ecs/i-2/vnc"); core.KindOf(err) != core.KindInternal {
		t.Fatalf("Open with another context: err = %v, want an internal error", err)
	}
}

func TestOpenWrongKey(t *testing.T) {
	sealed, _ := newTestSealer(t, testKey(1)).Seal(core.NewSecret("Abc123"), "ctx")
	if _, err := newTestSealer(t, testKey(2)).Open(sealed, "ctx"); err == nil {
		t.Fatal("Open under another key succeeded")
	}
}

func TestOpenTampered(t *testing.T) {
	s := newTestSealer(t, testKey(1))
	sealed, _ := s.Seal(core.NewSecret("Abc123"), "ctx")
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := s.Open(bad, "ctx"); err == nil {
			t.Errorf("Open succeeded with byte %d flipped", i)
		}
	}
	for n := range sealed {
		if _, err := s.Open(sealed[:n], "ctx"); err == nil {
			t.Errorf("Open succeeded on the first %d bytes", n)
		}
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0), "ctx"); err == nil {
		t.Error("Open succeeded with a byte appended")
	}
}

func TestNewSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestOpenErrorHidesPlaintext(t *testing.T) {
	s := newTestSealer(t, testKey(1))
	sealed, _ := s.Seal(core.NewSecret("Zq9Zq9"), "ctx")
	_, err := s.Open(sealed, "other")
	if err == nil || bytes.Contains([]byte(err.Error()), []byte("Zq9Zq9")) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	s, _ := NewSealerWithRand(testKey(1), rand.Reader)
	p := core.NewSecret("Abc123")
	for b.Loop() {
		if _, err := s.Seal(p, "ecs/i-1/vnc"); err != nil {
			b.Fatal(err)
		}
	}
}
