package service

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
const mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters drawn uniformly from alphabet.
func randomString(r io.Reader, alphabet string, n int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // rejection sampling keeps it uniform
	for b.Len() < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("random source: %w", err)
		}
		if int(buf[0]) < limit {
			b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
		}
	}
	return b.String(), nil
}

// randomDigits returns n decimal digits, the first not zero.
func randomDigits(r io.Reader, n int) (string, error) {
	s, err := randomString(r, "0123456789", n)
	if err != nil {
		return "", err
	}
	if s[0] == '0' {
		s = "1" + s[1:]
	}
	return s, nil
}

// randomToken returns 2n lower-case hex characters of fresh randomness.
func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random source: %w", err)
	}
	return hex.EncodeToString(b), nil
}
