package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"io"

	"github.com/latchkey/latchkey/core"
)

// KeySize is the length in bytes of the master key (AES-256).
const KeySize = 32

// sealVersion is the first byte of every sealed value. It names the format
// that follows: version 1 is nonce (12 bytes) || AES-256-GCM ciphertext and
// tag (16 bytes), with additional data = version byte || context. A new
// algorithm or key gets a new version, and Open keeps reading the old ones.
const sealVersion byte = 1

const (
	nonceSize = 12
	tagSize   = 16
	// sealOverhead is the size of a sealed value minus its plaintext.
	sealOverhead = 1 + nonceSize + tagSize
)

// Sealer implements core.Sealer with AES-256-GCM under one master key. Each
// Seal draws a fresh random 96-bit nonce, which is safe for far more seals
// than one key will see (NIST SP 800-38D allows 2^32 random nonces per key).
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

var _ core.Sealer = (*Sealer)(nil)

// NewSealer returns a Sealer under key, which must be KeySize bytes. It
// draws nonces from crypto/rand.
func NewSealer(key []byte) (*Sealer, error) {
	return NewSealerWithRand(key, rand.Reader)
}

// NewSealerWithRand is NewSealer with an explicit source of nonces; tests
// use it to make sealing reproducible. random must be cryptographically
// secure in production.
func NewSealerWithRand(key []byte, random io.Reader) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, &core.Error{Kind: core.KindInternal, Op: "vault.NewSealer", Message: "master key must be 32 bytes"}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "vault.NewSealer", Err: err}
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "vault.NewSealer", Err: err}
	}
	return &Sealer{aead: aead, rand: random}, nil
}

// Seal encrypts plain and binds the result to context: Open succeeds only
// with the same context. Errors are of KindInternal.
func (s *Sealer) Seal(plain core.Secret, context string) (core.Sealed, error) {
	p := plain.Reveal()
	out := make([]byte, 1+nonceSize, sealOverhead+len(p))
	out[0] = sealVersion
	if _, err := io.ReadFull(s.rand, out[1:1+nonceSize]); err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "vault.Seal", Message: "no randomness for the nonce", Err: err}
	}
	out = s.aead.Seal(out, out[1:1+nonceSize], []byte(p), additionalData(sealVersion, context))
	return core.Sealed(out), nil
}

// Open decrypts a value made by Seal with the same key and context. A value
// sealed under another key or context, truncated, or altered in any byte
// fails with an *core.Error of KindInternal whose text does not depend on
// which of these happened.
func (s *Sealer) Open(sealed core.Sealed, context string) (core.Secret, error) {
	if len(sealed) < sealOverhead {
		return core.Secret{}, errOpen(errors.New("sealed value is too short"))
	}
	if sealed[0] != sealVersion {
		return core.Secret{}, errOpen(errors.New("unknown sealed value version"))
	}
	nonce := sealed[1 : 1+nonceSize]
	plain, err := s.aead.Open(nil, nonce, sealed[1+nonceSize:], additionalData(sealed[0], context))
	if err != nil {
		return core.Secret{}, errOpen(nil)
	}
	return core.NewSecret(string(plain)), nil
}

func errOpen(cause error) error {
	return &core.Error{Kind: core.KindInternal, Op: "vault.Open", Message: "sealed secret does not open under this key and context", Err: cause}
}

// additionalData authenticates the version byte and the context, so that
// neither can be changed without Open failing.
func additionalData(version byte, context string) []byte {
	ad := make([]byte, 0, 1+len(context))
	ad = append(ad, version)
	return append(ad, context...)
}
