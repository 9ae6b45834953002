package aliyun

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// RPC signature V3, ACS3-HMAC-SHA256: the default of every darabonba
// client (shared/reference/alibaba-rpc.md §2). Action and Version travel
// in the x-acs-action and x-acs-version headers; the query holds only API
// parameters.
//
//	CanonicalRequest =
//	    HTTPMethod "\n"
//	    CanonicalURI "\n"             the path, each segment percent-encoded
//	    CanonicalQueryString "\n"     canonicalQuery(query parameters)
//	    CanonicalHeaders              lower(name) ":" trim(value) "\n", per signed header
//	    "\n"
//	    SignedHeaders "\n"            the names from Authorization, joined by ';'
//	    HashedRequestPayload          hex(SHA-256(body))
//	StringToSign  = "ACS3-HMAC-SHA256" "\n" hex(SHA-256(CanonicalRequest))
//	Signature     = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//	Authorization = "ACS3-HMAC-SHA256 Credential=" AccessKeyId ",SignedHeaders=" names ",Signature=" Signature
//
// The canonical headers are rebuilt from the client's SignedHeaders list,
// not from the server's choice; a header signed more than once has its
// trimmed values sorted and joined by ','. "host" is the Host the client
// addressed, port included.

// v3Algorithm is the only V3 algorithm latchkey verifies.
const v3Algorithm = "ACS3-HMAC-SHA256"

// v3AlgorithmPrefix marks an Authorization header of the V3 family; a
// header with it selects V3 verification.
const v3AlgorithmPrefix = "ACS3-"

// v3Authorization is a parsed Authorization header.
type v3Authorization struct {
	accessKeyID   string
	signedHeaders []string // as the client listed them
	signature     string
}

// parseV3Authorization parses an Authorization header of the V3 family.
// An algorithm other than ACS3-HMAC-SHA256 gives InvalidSignatureMethod; a
// missing or empty Credential, SignedHeaders or Signature gives
// IncompleteSignature.
func parseV3Authorization(h string) (v3Authorization, *apiError) {
	var a v3Authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != v3Algorithm {
		return a, newAPIError(errInvalidSignatureMethod)
	}
	var signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.accessKeyID = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || signed == "" || a.signature == "" {
		return a, newAPIError(errIncompleteSignature)
	}
	a.signedHeaders = strings.Split(signed, ";")
	return a, nil
}

// v3CanonicalURI percent-encodes each segment of path, keeping '/'. RPC
// requests always have the path "/".
func v3CanonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = percentEncode(s)
	}
	return strings.Join(segs, "/")
}

// v3CanonicalHeaders renders the CanonicalHeaders block for the signed
// header names, reading values from header and "host" from host.
func v3CanonicalHeaders(header http.Header, host string, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		lower := strings.ToLower(name)
		var vals []string
		if lower == "host" {
			vals = []string{host}
		} else {
			for _, v := range header.Values(name) {
				vals = append(vals, strings.TrimSpace(v))
			}
			slices.Sort(vals)
		}
		b.WriteString(lower)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(strings.Join(vals, ",")))
		b.WriteByte('\n')
	}
	return b.String()
}

// v3CanonicalRequest assembles the canonical request from its parts.
func v3CanonicalRequest(method, path string, query map[string]string, header http.Header, host string, signed []string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + "\n" +
		v3CanonicalURI(path) + "\n" +
		canonicalQuery(query, "") + "\n" +
		v3CanonicalHeaders(header, host, signed) + "\n" +
		strings.Join(signed, ";") + "\n" +
		hex.EncodeToString(sum[:])
}

// v3StringToSign hashes a canonical request into the StringToSign.
func v3StringToSign(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return v3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

// v3Sign returns the lower-case hex HMAC-SHA256 signature of stringToSign.
func v3Sign(secret core.Secret, stringToSign string) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

// v3Verify reports, in constant time, whether sig (hex, either case) is
// the signature of stringToSign under secret.
func v3Verify(secret core.Secret, stringToSign, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write([]byte(stringToSign))
	return hmac.Equal(mac.Sum(nil), got)
}

// The V3 headers the gateway reads.
const (
	hAction        = "x-acs-action"
	hVersion       = "x-acs-version"
	hDate          = "x-acs-date"
	hNonce         = "x-acs-signature-nonce"
	hSecurityToken = "x-acs-security-token"
)

// parseV3 reads a V3 request. query holds the decoded URL query (what is
// signed); params is query ∪ form body (what the handler sees). Checks, in
// order: the Authorization header, the routing, date and nonce headers,
// and that every x-acs-* header and host are signed (IncompleteSignature
// otherwise: an unsigned header could be changed in flight).
func parseV3(r *http.Request, query, params map[string]string, body []byte) (*signedRequest, *apiError) {
	sr := &signedRequest{scheme: "v3", echo: true, format: formatJSON, params: make(map[string]string, len(params))}
	for k, v := range params {
		if !isCommonParam(k) {
			sr.params[k] = v
		}
	}
	auth, aerr := parseV3Authorization(r.Header.Get("Authorization"))
	if aerr != nil {
		return sr, aerr
	}
	sr.stringToSign = v3StringToSign(v3CanonicalRequest(r.Method, r.URL.Path, query, r.Header, r.Host, auth.signedHeaders, body))
	for _, name := range []string{hAction, hVersion, hDate, hNonce} {
		if r.Header.Get(name) == "" {
			return sr, missingParam(name)
		}
	}
	signed := make(map[string]bool, len(auth.signedHeaders))
	for _, n := range auth.signedHeaders {
		signed[strings.ToLower(n)] = true
	}
	if !signed["host"] {
		return sr, signatureError(errIncompleteSignature, sr)
	}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-acs-") && !signed[l] {
			return sr, signatureError(errIncompleteSignature, sr)
		}
	}
	sr.accessKeyID = core.AccessKeyID(auth.accessKeyID)
	sr.action, sr.version = r.Header.Get(hAction), r.Header.Get(hVersion)
	sr.timestamp, sr.nonce = r.Header.Get(hDate), r.Header.Get(hNonce)
	sr.securityToken = r.Header.Get(hSecurityToken) != ""
	sig := auth.signature
	sr.verify = func(secret core.Secret) bool { return v3Verify(secret, sr.stringToSign, sig) }
	return sr, nil
}
