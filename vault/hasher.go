package vault

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/latchkey/latchkey/core"
)

// Params are argon2id's cost parameters and output sizes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the parameters Hash uses for an interactive server on
// two cores: m=12288 KiB (12 MiB), t=3, p=1, a 16-byte salt and a 32-byte
// hash. OWASP lists this among its equivalent argon2id settings (with
// m=19 MiB, t=2); on this project's two-core reference machine it is the
// faster of the two, about 35–40 ms per hash against 55–85 ms,
// because less fresh memory is touched per hash (BenchmarkHash measures
// it). One lane, not two: a server hashes for many requests at once, and
// lanes would only make them fight over the same two cores.
func DefaultParams() Params {
	return Params{Memory: 12 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on the parameters Verify accepts from a stored hash, so that a
// corrupted or hostile hash cannot make one check allocate gigabytes or
// run for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Hasher implements core.Hasher with argon2id. Hashes are PHC strings:
//
//	$argon2id$v=19$m=12288,t=3,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Verify accepts any
// parameters within sane bounds, so hashes made before a change of
// DefaultParams keep verifying; NeedsRehash tells which ones to upgrade.
//
// At most Slots hashes (Hash or Verify) run at once; the others wait. That
// bounds memory to Slots × Params.Memory however many requests arrive.
// A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	rand   io.Reader
	slots  chan struct{}
}

var _ core.Hasher = (*Hasher)(nil)

// NewHasher returns a Hasher that hashes with p, draws salts from random
// (crypto/rand.Reader when nil) and runs at most GOMAXPROCS hashes at once.
func NewHasher(p Params, random io.Reader) *Hasher {
	if random == nil {
		random = rand.Reader
	}
	return &Hasher{params: p, rand: random, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Params returns the parameters Hash uses.
func (h *Hasher) Params() Params { return h.params }

// Hash returns a new argon2id hash of plain with a fresh random salt.
// Errors are of KindInternal.
func (h *Hasher) Hash(plain core.Secret) (core.PasswordHash, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", &core.Error{Kind: core.KindInternal, Op: "vault.Hash", Message: "no randomness for the salt", Err: err}
	}
	key := h.derive(plain, salt, h.params)
	enc := base64.RawStdEncoding
	return core.PasswordHash(fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))), nil
}

// Verify reports whether plain matches hash. A malformed hash, or one
// whose parameters are out of bounds, matches nothing. The comparison of
// the derived keys takes constant time.
func (h *Hasher) Verify(hash core.PasswordHash, plain core.Secret) bool {
	p, salt, want, err := parsePHC(string(hash))
	if err != nil {
		return false
	}
	got := h.derive(plain, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NeedsRehash reports whether hash was made with parameters other than
// the Hasher's (or cannot be parsed): the caller should store a new hash
// the next time it holds the plaintext.
func (h *Hasher) NeedsRehash(hash core.PasswordHash) bool {
	p, _, _, err := parsePHC(string(hash))
	return err != nil || p != h.params
}

func (h *Hasher) derive(plain core.Secret, salt []byte, p Params) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(plain.Reveal()), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// parsePHC splits an argon2id PHC string into its parameters, salt and
// hash. Params.SaltLen and KeyLen are set from the decoded lengths.
func parsePHC(s string) (Params, []byte, []byte, error) {
	var p Params
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, nil, nil, errMalformed("not an argon2id PHC string")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errMalformed("unsupported argon2 version")
	}
	seen := 0
	for _, kv := range strings.Split(f[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errMalformed("malformed parameter")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errMalformed("malformed parameter value")
		}
		switch k {
		case "m":
			p.Memory, seen = uint32(n), seen|1
		case "t":
			p.Time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return p, nil, nil, errMalformed("too many lanes")
			}
			p.Threads, seen = uint8(n), seen|4
		default:
			return p, nil, nil, errMalformed("unknown parameter")
		}
	}
	if seen != 7 {
		return p, nil, nil, errMalformed("missing parameter")
	}
	// argon2 requires m >= 8·p.
	if p.Threads < 1 || p.Time < 1 || p.Time > maxTime || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB {
		return p, nil, nil, errMalformed("parameters out of bounds")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(f[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, errMalformed("malformed salt")
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(f[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, errMalformed("malformed hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

func errMalformed(msg string) error {
	return &core.Error{Kind: core.KindInvalid, Op: "vault.Verify", Message: msg}
}
