package vault

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/latchkey/latchkey/core"
)

// fastParams keep the tests quick; DefaultParams are measured by
// BenchmarkHash.
func fastParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fastParams(), nil)
	hash, err := h.Hash(core.NewSecret("Correct#Horse1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(hash), "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not in PHC form with the hasher's parameters", hash)
	}
	if strings.Contains(string(hash), "Correct#Horse1") {
		t.Fatal("hash contains the plaintext")
	}
	if !h.Verify(hash, core.NewSecret("Correct#Horse1")) {
		t.Error("Verify(right password) = false")
	}
	for _, wrong := range []string{"", "correct#Horse1", "Correct#Horse", "Correct#Horse12"} {
		if h.Verify(hash, core.NewSecret(wrong)) {
			t.Errorf("Verify(%q) = true", wrong)
		}
	}
	again, _ := h.Hash(core.NewSecret("Correct#Horse1"))
	if again == hash {
		t.Error("two hashes of one password are equal: salt reused")
	}
}

func TestVerifyDefaultParams(t *testing.T) {
	h := NewHasher(DefaultParams(), nil)
	hash, err := h.Hash(core.NewSecret("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(hash), "$argon2id$v=19$m=12288,t=3,p=1$") {
		t.Fatalf("hash %q", hash)
	}
	if !h.Verify(hash, core.NewSecret("pw")) || h.Verify(hash, core.NewSecret("pX")) {
		t.Fatal("Verify with default parameters is wrong")
	}
}

// TestVerifyOtherParams checks hashes made elsewhere with other
// parameters, built here with x/crypto directly.
func TestVerifyOtherParams(t *testing.T) {
	h := NewHasher(fastParams(), nil)
	salt := []byte("0123456789abcdefSALT")
	for _, p := range []struct {
		m, t uint32
		p    uint8
		n    uint32
	}{{32, 3, 2, 16}, {128, 1, 4, 64}, {256, 2, 1, 32}} {
		key := argon2.IDKey([]byte("pw"), salt, p.t, p.m, p.p, p.n)
		hash := core.PasswordHash(fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.m, p.t, p.p,
			b64(salt), b64(key)))
		if !h.Verify(hash, core.NewSecret("pw")) {
			t.Errorf("Verify(%s) = false", hash)
		}
		if h.Verify(hash, core.NewSecret("px")) {
			t.Errorf("Verify(%s, wrong) = true", hash)
		}
		if !h.NeedsRehash(hash) {
			t.Errorf("NeedsRehash(%s) = false", hash)
		}
	}
	own, _ := h.Hash(core.NewSecret("pw"))
	if h.NeedsRehash(own) {
		t.Error("NeedsRehash(own hash) = true")
	}
}

// TestVerifyKnownVector checks interoperability with the reference
// implementation: this hash was made by the argon2 command-line tool
// (echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 24 -e,
// Debian package argon2).
func TestVerifyKnownVector(t *testing.T) {
	h := NewHasher(fastParams(), nil)
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$F1jG2CV3/Nr+yRuIsPKw0J9r4s7cJHBU"
	if !h.Verify(ref, core.NewSecret("password")) {
		t.Error("Verify(reference vector) = false")
	}
	if h.Verify(ref, core.NewSecret("Password")) {
		t.Error("Verify(reference vector, wrong) = true")
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(fastParams(), nil)
	good, _ := h.Hash(core.NewSecret("pw"))
	parts := strings.Split(string(good), "$")
	for _, bad := range []string{
		"",
		"pw",
		strings.Replace(string(good), "argon2id", "argon2i", 1),
		strings.Replace(string(good), "v=19", "v=16", 1),
		strings.Replace(string(good), "m=64", "m=4", 1),          // below 8·p
		strings.Replace(string(good), "m=64", "m=4294967295", 1), // above the bound
		strings.Replace(string(good), "t=1", "t=0", 1),
		strings.Replace(string(good), "p=1", "p=0", 1),
		strings.Replace(string(good), ",p=1", "", 1),
		strings.Replace(string(good), "p=1", "p=1,x=2", 1),
		"$" + strings.Join(parts[1:5], "$") + "$",               // empty hash
		"$" + strings.Join(parts[1:4], "$") + "$!!$" + parts[5], // bad base64
		string(good) + "$extra",
	} {
		if h.Verify(core.PasswordHash(bad), core.NewSecret("pw")) {
			t.Errorf("Verify(%q) = true", bad)
		}
	}
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// BenchmarkHash measures one hash with DefaultParams: the latency a
// password change or check adds.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), nil)
	p := core.NewSecret("Correct#Horse1")
	for b.Loop() {
		if _, err := h.Hash(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashParallel measures hashing throughput with every core busy.
func BenchmarkHashParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), nil)
	p := core.NewSecret("Correct#Horse1")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(p); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
