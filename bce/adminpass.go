package bce

import (
	"crypto/aes"
	"encoding/hex"
	"unicode/utf8"

	"github.com/latchkey/latchkey/core"
)

// This file implements BCE's "password encryption transmission" rule
// (shared/reference/bce-rest.md §2): an adminPass travels as the lower-case
// hex of AES-128-ECB(PKCS#7(password)), keyed with the first 16 characters
// of the secret key of the access key that signed the request.
//
//	adminPass = hex( E(k, p[0:16]) || E(k, p[16:32]) || … ),  k = SK[0:16]
//
// ECB is what Baidu specifies and what bce-sdk-go sends; it is not a
// choice latchkey would make, and it is used for nothing else.

// AdminPassFailure names why an adminPass could not be decrypted.
type AdminPassFailure int

const (
	// AdminPassKeyTooShort: the secret key has fewer than 16 characters.
	AdminPassKeyTooShort AdminPassFailure = iota + 1
	// AdminPassNotHex: the value is not a hex string.
	AdminPassNotHex
	// AdminPassBadLength: the value is empty or not whole AES blocks.
	AdminPassBadLength
	// AdminPassBadPadding: the plaintext does not end in PKCS#7 padding,
	// which is what a value encrypted under another secret key gives.
	AdminPassBadPadding
	// AdminPassNotUTF8: the plaintext is not UTF-8 text.
	AdminPassNotUTF8
)

// AdminPassError reports an adminPass that cannot be decrypted. Its text
// is caller-safe: it names the rule and never the value.
type AdminPassError struct{ Failure AdminPassFailure }

func (e *AdminPassError) Error() string {
	switch e.Failure {
	case AdminPassKeyTooShort:
		return "The secret key is too short to encrypt adminPass."
	case AdminPassNotHex:
		return "adminPass must be the hex encoding of the encrypted password."
	case AdminPassBadLength:
		return "adminPass must be a whole number of AES-128 blocks."
	case AdminPassBadPadding:
		return "adminPass could not be decrypted with the secret key of the signing access key."
	case AdminPassNotUTF8:
		return "adminPass does not decrypt to UTF-8 text."
	}
	return "adminPass is invalid."
}

// adminPassKey returns the AES-128 key: the first 16 bytes of the secret
// key's text.
func adminPassKey(secretKey core.Secret) ([]byte, error) {
	sk := secretKey.Reveal()
	if len(sk) < aes.BlockSize {
		return nil, &AdminPassError{AdminPassKeyTooShort}
	}
	return []byte(sk[:aes.BlockSize]), nil
}

// DecryptAdminPass recovers the password from an adminPass value. Hex of
// either case is accepted. Errors are *AdminPassError.
func DecryptAdminPass(adminPass string, secretKey core.Secret) (core.Secret, error) {
	key, err := adminPassKey(secretKey)
	if err != nil {
		return core.Secret{}, err
	}
	data, err := hex.DecodeString(adminPass)
	if err != nil {
		return core.Secret{}, &AdminPassError{AdminPassNotHex}
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return core.Secret{}, &AdminPassError{AdminPassBadLength}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return core.Secret{}, &AdminPassError{AdminPassKeyTooShort}
	}
	plain := make([]byte, len(data))
	for i := 0; i < len(data); i += aes.BlockSize {
		block.Decrypt(plain[i:i+aes.BlockSize], data[i:i+aes.BlockSize])
	}
	n := int(plain[len(plain)-1])
	if n < 1 || n > aes.BlockSize {
		clear(plain)
		return core.Secret{}, &AdminPassError{AdminPassBadPadding}
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			clear(plain)
			return core.Secret{}, &AdminPassError{AdminPassBadPadding}
		}
	}
	plain = plain[:len(plain)-n]
	if !utf8.Valid(plain) {
		clear(plain)
		return core.Secret{}, &AdminPassError{AdminPassNotUTF8}
	}
	pw := core.NewSecret(string(plain))
	clear(plain)
	return pw, nil
}

// EncryptAdminPass is the client side of the rule, as bce-sdk-go's
// Aes128EncryptUseSecreteKey computes it: PKCS#7 pads the password to
// whole blocks (a full block when it already is), encrypts each block
// with SK[0:16] and returns lower-case hex.
func EncryptAdminPass(password, secretKey core.Secret) (string, error) {
	key, err := adminPassKey(secretKey)
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", &AdminPassError{AdminPassKeyTooShort}
	}
	p := []byte(password.Reveal())
	n := aes.BlockSize - len(p)%aes.BlockSize
	for range n {
		p = append(p, byte(n))
	}
	out := make([]byte, len(p))
	for i := 0; i < len(p); i += aes.BlockSize {
		block.Encrypt(out[i:i+aes.BlockSize], p[i:i+aes.BlockSize])
	}
	clear(p)
	return hex.EncodeToString(out), nil
}
