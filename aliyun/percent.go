package aliyun

import (
	"sort"
	"strings"
)

// percentEncode encodes s the way both Alibaba signature schemes require
// (RFC 3986 "unreserved" kept): the UTF-8 bytes A–Z a–z 0–9 '-' '_' '.' '~'
// stay as they are and every other byte becomes %XY with upper-case hex.
// A space is "%20" (never '+'), '*' is "%2A" and '~' is kept.
//
// The SDKs get the same result from url.QueryEscape followed by the
// fix-ups '+'→"%20", '*'→"%2A", "%7E"→'~'; a test holds the two equal.
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// canonicalQuery renders params as the sorted, percent-encoded query both
// signature schemes sign:
//
//	percentEncode(k1) "=" percentEncode(v1) "&" percentEncode(k2) "=" …
//
// Keys sort in byte order of their unencoded form (the SDKs sort before
// encoding). Empty values are kept as "k=". skip, if not empty, names one
// key to leave out (V1's Signature).
func canonicalQuery(params map[string]string, skip string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != skip {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(percentEncode(k))
		b.WriteByte('=')
		b.WriteString(percentEncode(params[k]))
	}
	return b.String()
}
