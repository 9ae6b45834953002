package service

import (
	"crypto/subtle"

	"github.com/latchkey/latchkey/core"
)

// sealedMatches opens a sealed password and compares it with pw in
// constant time. An unset or unreadable one matches nothing.
func sealedMatches(s core.Sealer, sealed core.Sealed, sealCtx string, pw core.Secret) bool {
	if len(sealed) == 0 || pw.IsZero() {
		return false
	}
	plain, err := s.Open(sealed, sealCtx)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(plain.Reveal()), []byte(pw.Reveal())) == 1
}

// hashMatches reports whether pw is the password of an argon2id hash; an
// unset hash matches nothing.
func hashMatches(h core.Hasher, hash core.PasswordHash, pw core.Secret) bool {
	return hash != "" && !pw.IsZero() && h.Verify(hash, pw)
}
