package bce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file verifies bce-auth-v1, the signature of every BCE REST request
// (shared/reference/bce-rest.md §1). The scheme, as bce-sdk-go v0.9.277
// computes it (auth/signer.go):
//
//	Authorization: bce-auth-v1/{ak}/{timestamp}/{expiration}/{signedHeaders}/{signature}
//
//	authStringPrefix = "bce-auth-v1/{ak}/{timestamp}/{expiration}"
//	signingKey       = hex(HMAC-SHA256(key = SK,                 msg = authStringPrefix))
//	signature        = hex(HMAC-SHA256(key = signingKey as text, msg = canonicalRequest))
//
//	canonicalRequest = METHOD              "\n"
//	                   CanonicalURI        "\n"
//	                   CanonicalQuery      "\n"
//	                   CanonicalHeaders
//
// with no trailing newline, no payload hash and no signed-headers line.
// Verification always follows the client's own signed-header list: the
// server never decides which headers were signed.

// AuthScheme is the only signature version BCE accepts.
const AuthScheme = "bce-auth-v1"

// IsSigned reports whether r carries a bce-auth-v1 Authorization header.
// Such a request is BCE's whatever its path: the server routes it to this
// front end, so that a BCE client always gets BCE's answers.
func IsSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), AuthScheme+"/")
}

// timestampLayout is the form of the auth timestamp and of x-bce-date:
// UTC, whole seconds.
const timestampLayout = "2006-01-02T15:04:05Z"

// MaxClockSkew is how far the request's date may be from the server's
// clock, in either direction (Baidu's common-header rule: more than 30
// minutes apart gives RequestExpired).
const MaxClockSkew = 30 * time.Minute

// AuthFailure names the part of a request that failed authentication.
// Each failure maps to one row of the error table (see Code).
type AuthFailure int

const (
	// AuthMissing: no Authorization header.
	AuthMissing AuthFailure = iota + 1
	// AuthMalformedScheme: the first field is not bce-auth-v1.
	AuthMalformedScheme
	// AuthMalformedFields: the header does not have exactly six fields.
	AuthMalformedFields
	// AuthMalformedAccessKey: the access key id field is empty.
	AuthMalformedAccessKey
	// AuthMalformedTimestamp: the timestamp is not yyyy-mm-ddThh:mm:ssZ.
	AuthMalformedTimestamp
	// AuthMalformedExpiration: the expiration period is not a positive
	// decimal integer.
	AuthMalformedExpiration
	// AuthMalformedSignedHeaders: the signed-header list has an empty or
	// invalid name.
	AuthMalformedSignedHeaders
	// AuthMalformedSignature: the signature is not 64 hex digits.
	AuthMalformedSignature
	// AuthMalformedQuery: the query string has an invalid percent escape,
	// so it has no canonical form.
	AuthMalformedQuery
	// AuthMalformedDate: x-bce-date (or Date) cannot be parsed.
	AuthMalformedDate
	// AuthUnknownAccessKey: the access key id is not known. Raised by the
	// caller of this file's functions, after its key lookup.
	AuthUnknownAccessKey
	// AuthExpired: the auth timestamp plus the expiration period is past.
	AuthExpired
	// AuthClockSkew: the request's date, or the auth timestamp, is more
	// than MaxClockSkew away from the server's clock.
	AuthClockSkew
	// AuthSignatureMismatch: the signature does not match.
	AuthSignatureMismatch
)

func (f AuthFailure) String() string {
	switch f {
	case AuthMissing:
		return "missing Authorization header"
	case AuthMalformedScheme:
		return "Authorization is not bce-auth-v1"
	case AuthMalformedFields:
		return "Authorization does not have six fields"
	case AuthMalformedAccessKey:
		return "Authorization has an empty access key id"
	case AuthMalformedTimestamp:
		return "Authorization timestamp is malformed"
	case AuthMalformedExpiration:
		return "Authorization expiration period is malformed"
	case AuthMalformedSignedHeaders:
		return "Authorization signed-header list is malformed"
	case AuthMalformedSignature:
		return "Authorization signature is malformed"
	case AuthMalformedQuery:
		return "query string is not canonicalizable"
	case AuthMalformedDate:
		return "request date is malformed"
	case AuthUnknownAccessKey:
		return "unknown access key id"
	case AuthExpired:
		return "request has expired"
	case AuthClockSkew:
		return "request date is too far from the server clock"
	case AuthSignatureMismatch:
		return "signature does not match"
	}
	return "authentication failure " + strconv.Itoa(int(f))
}

// Code returns the error-table row a failure is rendered with.
func (f AuthFailure) Code() ErrorCode {
	switch f {
	case AuthUnknownAccessKey:
		return CodeInvalidAccessKeyID
	case AuthExpired, AuthClockSkew, AuthMalformedDate:
		return CodeRequestExpired
	case AuthSignatureMismatch:
		return CodeSignatureDoesNotMatch
	case AuthMalformedQuery:
		return CodeInvalidURI
	}
	return CodeInvalidHTTPAuthHeader
}

// AuthError reports why a request failed authentication. Its text never
// contains the Authorization value, a signature or a key.
type AuthError struct {
	Failure AuthFailure
	// Date is the request date the time checks used, as the client sent
	// it (sanitized), for RequestExpired's message.
	Date string
}

func (e *AuthError) Error() string { return "bce-auth-v1: " + e.Failure.String() }

// APIError renders the failure as its error-table row.
func (e *AuthError) APIError() *APIError {
	a := NewAPIError(e.Failure.Code())
	if a.Code == CodeRequestExpired {
		a.Message = fmt.Sprintf("Request has expired. Timestamp date is %s.", e.Date)
	}
	return a
}

func authErr(f AuthFailure) *AuthError { return &AuthError{Failure: f} }

// Authorization is a parsed bce-auth-v1 header.
type Authorization struct {
	AccessKeyID string
	// Timestamp is the signing time; RawTimestamp is its text, which is
	// what the signing key covers.
	Timestamp    time.Time
	RawTimestamp string
	// ExpirationSeconds is how long after Timestamp the signature is valid.
	ExpirationSeconds int
	// SignedHeaders are the lower-case header names the client signed, in
	// its order. Empty means the documented default set.
	SignedHeaders []string
	// signature is the client's signature, decoded.
	signature []byte
}

// ParseAuthorization parses an Authorization header value. Every
// malformed part gives its own *AuthError.
func ParseAuthorization(value string) (*Authorization, error) {
	if strings.TrimSpace(value) == "" {
		return nil, authErr(AuthMissing)
	}
	parts := strings.Split(value, "/")
	if parts[0] != AuthScheme {
		return nil, authErr(AuthMalformedScheme)
	}
	if len(parts) != 6 {
		return nil, authErr(AuthMalformedFields)
	}
	a := &Authorization{AccessKeyID: parts[1], RawTimestamp: parts[2]}
	if a.AccessKeyID == "" {
		return nil, authErr(AuthMalformedAccessKey)
	}
	ts, err := parseTimestamp(parts[2])
	if err != nil {
		return nil, authErr(AuthMalformedTimestamp)
	}
	a.Timestamp = ts
	exp, err := parseExpiration(parts[3])
	if err != nil {
		return nil, authErr(AuthMalformedExpiration)
	}
	a.ExpirationSeconds = exp
	if parts[4] != "" {
		for _, h := range strings.Split(parts[4], ";") {
			if !validHeaderName(h) {
				return nil, authErr(AuthMalformedSignedHeaders)
			}
			a.SignedHeaders = append(a.SignedHeaders, strings.ToLower(h))
		}
	}
	sig := parts[5]
	if len(sig) != 2*sha256.Size {
		return nil, authErr(AuthMalformedSignature)
	}
	if a.signature, err = hex.DecodeString(sig); err != nil {
		return nil, authErr(AuthMalformedSignature)
	}
	return a, nil
}

// parseTimestamp accepts exactly the layout the SDK writes; time.Parse
// alone would also accept fractional seconds.
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(timestampLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Format(timestampLayout) != s {
		return time.Time{}, fmt.Errorf("timestamp is not in canonical form")
	}
	return t, nil
}

// maxExpirationSeconds bounds the expiration period so that the expiry
// time cannot overflow.
const maxExpirationSeconds = 1 << 31

func parseExpiration(s string) (int, error) {
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("bad expiration")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad expiration")
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > maxExpirationSeconds {
		return 0, fmt.Errorf("bad expiration")
	}
	return n, nil
}

// validHeaderName reports whether h is a non-empty HTTP token (RFC 9110).
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// CheckTime applies the time rules to a request signed with a: the
// signature must not have expired (timestamp + expiration period), the
// auth timestamp must not lie more than MaxClockSkew in the future, and
// the request's date — x-bce-date, else Date, else the auth timestamp —
// must be within MaxClockSkew of now. x-bce-date need not equal the auth
// timestamp: the SDK takes them from two clock readings.
func CheckTime(r *http.Request, a *Authorization, now time.Time) error {
	date, raw, err := requestDate(r, a)
	if err != nil {
		return &AuthError{Failure: AuthMalformedDate, Date: sanitizeDate(raw)}
	}
	shown := sanitizeDate(raw)
	if now.After(a.Timestamp.Add(time.Duration(a.ExpirationSeconds) * time.Second)) {
		return &AuthError{Failure: AuthExpired, Date: shown}
	}
	if a.Timestamp.Sub(now) > MaxClockSkew || absDuration(date.Sub(now)) > MaxClockSkew {
		return &AuthError{Failure: AuthClockSkew, Date: shown}
	}
	return nil
}

// requestDate returns the date the skew check uses and its text.
func requestDate(r *http.Request, a *Authorization) (time.Time, string, error) {
	if v := r.Header.Get("x-bce-date"); v != "" {
		t, err := parseTimestamp(strings.TrimSpace(v))
		return t, v, err
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		return t, v, err
	}
	return a.Timestamp, a.RawTimestamp, nil
}

// sanitizeDate keeps a client-supplied date printable and short before it
// goes into an error message.
func sanitizeDate(s string) string {
	const max = 64
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// VerifySignature recomputes the signature of r with secretKey over the
// headers a lists and compares it with a's in constant time. It returns
// nil or an *AuthError (AuthMalformedQuery or AuthSignatureMismatch).
func VerifySignature(r *http.Request, a *Authorization, secretKey string) error {
	canonical, err := CanonicalRequest(r, a.SignedHeaders)
	if err != nil {
		return err
	}
	want := Sign(secretKey, a.AccessKeyID, a.RawTimestamp, a.ExpirationSeconds, canonical)
	got := make([]byte, hex.EncodedLen(len(a.signature)))
	hex.Encode(got, a.signature)
	if !hmac.Equal([]byte(want), got) {
		return authErr(AuthSignatureMismatch)
	}
	return nil
}

// Sign returns the hex signature of a canonical request: the signing key
// is the hex HMAC-SHA256 of the auth-string prefix under the secret key,
// and that hex text (not its bytes) keys the second HMAC.
func Sign(secretKey, accessKeyID, timestamp string, expirationSeconds int, canonicalRequest string) string {
	prefix := AuthScheme + "/" + accessKeyID + "/" + timestamp + "/" + strconv.Itoa(expirationSeconds)
	signingKey := hmacHex([]byte(secretKey), prefix)
	return hmacHex([]byte(signingKey), canonicalRequest)
}

func hmacHex(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// CanonicalRequest builds the string a bce-auth-v1 signature covers, from
// the request as the server received it and the client's signed-header
// list (nil or empty: the documented default set).
func CanonicalRequest(r *http.Request, signedHeaders []string) (string, error) {
	query, err := CanonicalQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	return r.Method + "\n" +
		CanonicalURI(r.URL.Path) + "\n" +
		query + "\n" +
		CanonicalHeaders(r, signedHeaders), nil
}

// CanonicalURI encodes the decoded request path with UriEncode, keeping
// slashes. An empty path is "/".
func CanonicalURI(path string) string {
	return "/" + UriEncode(strings.TrimPrefix(path, "/"), false)
}

// CanonicalQuery canonicalizes a raw query string: each k=v piece is
// percent-decoded (a "+" stays a plus), re-encoded with UriEncode, a
// valueless parameter becomes "k=" (so "?changePass" gives "changePass="),
// a parameter named authorization in any case is dropped, and the whole
// k=v strings are sorted bytewise and joined with "&".
func CanonicalQuery(rawQuery string) (string, error) {
	if rawQuery == "" {
		return "", nil
	}
	var items []string
	for piece := range strings.SplitSeq(rawQuery, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		key, err := url.PathUnescape(k)
		if err != nil {
			return "", authErr(AuthMalformedQuery)
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			return "", authErr(AuthMalformedQuery)
		}
		if strings.EqualFold(key, "authorization") {
			continue
		}
		items = append(items, UriEncode(key, true)+"="+UriEncode(val, true))
	}
	slices.Sort(items)
	return strings.Join(items, "&"), nil
}

// CanonicalHeaders renders the signed headers: for each name, lower-cased,
// the trimmed value (Host from r.Host, where Go keeps it); names whose
// value is empty are skipped, as the signer skips them; each line is
// UriEncode(name) ":" UriEncode(value); the lines are sorted bytewise and
// joined with "\n". An empty list means Baidu's documented default: host,
// content-length, content-type, content-md5 and every x-bce-* header but
// x-bce-request-id.
func CanonicalHeaders(r *http.Request, signedHeaders []string) string {
	names := signedHeaders
	if len(names) == 0 {
		names = defaultSignedHeaders(r)
	}
	lines := make([]string, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		n = strings.ToLower(n)
		if seen[n] || n == "authorization" {
			continue
		}
		seen[n] = true
		var v string
		if n == "host" {
			v = r.Host
		} else {
			v = r.Header.Get(n)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		lines = append(lines, UriEncode(n, true)+":"+UriEncode(v, true))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func defaultSignedHeaders(r *http.Request) []string {
	names := []string{"host", "content-length", "content-type", "content-md5"}
	for k := range r.Header {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "x-bce-") && k != "x-bce-request-id" {
			names = append(names, k)
		}
	}
	return names
}

// UriEncode is BCE's percent-encoding: bytes of A-Z a-z 0-9 - _ . ~ stay,
// "/" stays unless encodeSlash, every other byte becomes %XX with
// upper-case hex.
func UriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
