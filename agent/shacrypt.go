package agent

import (
	"crypto/sha512"
	"errors"
	"hash"
	"io"
	"strings"
)

// sha512Crypt returns the crypt(3) hash of password with the SHA-512
// method ("$6$", Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512",
// the default rounds), the form /etc/shadow holds and PAM's pam_unix
// checks. salt is at most 16 characters of the crypt alphabet; longer
// salts are cut, as crypt(3) cuts them.
func sha512Crypt(password, salt string) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	pw, s := []byte(password), []byte(salt)
	const rounds = 5000

	// Digest B: password, salt, password.
	h := sha512.New()
	h.Write(pw)
	h.Write(s)
	h.Write(pw)
	b := h.Sum(nil)

	// Digest A: password, salt, B for every byte of the password, then B
	// or the password for each bit of the password's length.
	h.Reset()
	h.Write(pw)
	h.Write(s)
	repeat(h, b, len(pw))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 == 1 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	// P: the password hashed len(password) times, stretched to its length.
	h.Reset()
	for range len(pw) {
		h.Write(pw)
	}
	p := stretch(h.Sum(nil), len(pw))

	// S: the salt hashed 16+A[0] times, stretched to its length.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	sp := stretch(h.Sum(nil), len(s))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 == 1 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sp)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 == 1 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$")
	out.WriteString(salt)
	out.WriteByte('$')
	// The spec's byte order for SHA-512: 21 groups of three, then one.
	for i := range 21 {
		out.WriteString(b64From24(c[i], c[(i+21)%63], c[(i+42)%63], i))
	}
	out.WriteString(b64From24Bits(0, 0, c[63], 2))
	return out.String()
}

// repeat writes d to h repeatedly until n bytes are written.
func repeat(h hash.Hash, d []byte, n int) {
	for ; n > len(d); n -= len(d) {
		h.Write(d)
	}
	h.Write(d[:n])
}

// stretch repeats d to n bytes.
func stretch(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// cryptAlphabet is crypt(3)'s base-64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// b64From24 encodes group i of the SHA-512 layout: the spec rotates which
// of the three bytes is most significant from group to group.
func b64From24(x, y, z byte, i int) string {
	switch i % 3 {
	case 0:
		return b64From24Bits(x, y, z, 4)
	case 1:
		return b64From24Bits(y, z, x, 4)
	}
	return b64From24Bits(z, x, y, 4)
}

// b64From24Bits is the spec's b64_from_24bit: n characters of the 24-bit
// value b2<<16 | b1<<8 | b0, least significant six bits first.
func b64From24Bits(b2, b1, b0 byte, n int) string {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	out := make([]byte, n)
	for i := range out {
		out[i] = cryptAlphabet[w&0x3f]
		w >>= 6
	}
	return string(out)
}

// cryptSalt returns a 16-character salt from rnd.
func cryptSalt(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", errors.Join(errors.New("salt"), err)
	}
	for i := range b {
		b[i] = cryptAlphabet[b[i]&0x3f]
	}
	return string(b[:]), nil
}
