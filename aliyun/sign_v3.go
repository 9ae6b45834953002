package aliyun

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"slices"
	"strings"

	"github.com/tjfoc/gmsm/sm3"

	"github.com/latchkey/latchkey/core"
)

// RPC signature V3: ACS3-HMAC-SHA256, the default of every darabonba
// client, or ACS3-HMAC-SM3, what they sign with when SignatureAlgorithm
// says so (shared/reference/alibaba-rpc.md §2). Action and Version travel
// in the x-acs-action and x-acs-version headers; the query holds only API
// parameters. H is the algorithm's hash, SHA-256 or SM3 (GB/T 32905):
//
//	CanonicalRequest =
//	    HTTPMethod "\n"
//	    CanonicalURI "\n"             the path, each segment percent-encoded
//	    CanonicalQueryString "\n"     canonicalQuery(query parameters)
//	    CanonicalHeaders              lower(name) ":" trim(value) "\n", per signed header
//	    "\n"
//	    SignedHeaders "\n"            the names from Authorization, joined by ';'
//	    HashedRequestPayload          hex(H(body))
//	StringToSign  = Algorithm "\n" hex(H(CanonicalRequest))
//	Signature     = hex(HMAC-H(AccessKeySecret, StringToSign))
//	Authorization = Algorithm " Credential=" AccessKeyId ",SignedHeaders=" names ",Signature=" Signature
//
// The canonical headers are rebuilt from the client's SignedHeaders list,
// not from the server's choice; a header signed more than once has its
// trimmed values sorted and joined by ','. "host" is the Host the client
// addressed, port included. The darabonba clients send the payload hash in
// x-acs-content-sha256 whatever the algorithm; the server hashes the body
// itself.

// v3Algorithm is a V3 signature algorithm latchkey verifies.
type v3Algorithm struct {
	name    string           // as in Authorization: "ACS3-HMAC-SHA256"
	newHash func() hash.Hash // digests payload and canonical request; keys the HMAC
}

// v3AlgorithmNamed returns the algorithm of an Authorization header's
// first word. SM3 is tjfoc/gmsm's, the implementation the darabonba
// clients sign with (darabonba-openapi utils.Hash and SignatureMethod).
// ACS3-RSA-SHA256 signs with a key pair, not an access key secret, and is
// not one of them.
func v3AlgorithmNamed(name string) (v3Algorithm, bool) {
	switch name {
	case "ACS3-HMAC-SHA256":
		return v3Algorithm{name: name, newHash: sha256.New}, true
	case "ACS3-HMAC-SM3":
		return v3Algorithm{name: name, newHash: sm3.New}, true
	}
	return v3Algorithm{}, false
}

// sum returns hex(H(data)).
func (a v3Algorithm) sum(data []byte) string {
	h := a.newHash()
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// mac returns HMAC-H(secret, stringToSign).
func (a v3Algorithm) mac(secret core.Secret, stringToSign string) []byte {
	m := hmac.New(a.newHash, []byte(secret.Reveal()))
	m.Write([]byte(stringToSign))
	return m.Sum(nil)
}

// v3AlgorithmPrefix marks an Authorization header of the V3 family; a
// header with it selects V3 verification.
const v3AlgorithmPrefix = "ACS3-"

// v3Authorization is a parsed Authorization header.
type v3Authorization struct {
	algorithm     v3Algorithm
	accessKeyID   string
	signedHeaders []string // as the client listed them
	signature     string
}

// parseV3Authorization parses an Authorization header of the V3 family.
// An algorithm other than ACS3-HMAC-SHA256 and ACS3-HMAC-SM3 gives
// InvalidSignatureMethod; a missing or empty Credential, SignedHeaders or
// Signature gives IncompleteSignature.
func parseV3Authorization(h string) (v3Authorization, *apiError) {
	var a v3Authorization
	name, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	alg, ok := v3AlgorithmNamed(name)
	if !ok {
		return a, newAPIError(errInvalidSignatureMethod)
	}
	a.algorithm = alg
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
func v3CanonicalRequest(alg v3Algorithm, method, path string, query map[string]string, header http.Header, host string, signed []string, body []byte) string {
	return method + "\n" +
		v3CanonicalURI(path) + "\n" +
		canonicalQuery(query, "") + "\n" +
		v3CanonicalHeaders(header, host, signed) + "\n" +
		strings.Join(signed, ";") + "\n" +
		alg.sum(body)
}

// v3StringToSign hashes a canonical request into the StringToSign.
func v3StringToSign(alg v3Algorithm, canonicalRequest string) string {
	return alg.name + "\n" + alg.sum([]byte(canonicalRequest))
}

// v3Sign returns the lower-case hex signature of stringToSign.
func v3Sign(alg v3Algorithm, secret core.Secret, stringToSign string) string {
	return hex.EncodeToString(alg.mac(secret, stringToSign))
}

// v3Verify reports, in constant time, whether sig (hex, either case) is
// the signature of stringToSign under secret.
func v3Verify(alg v3Algorithm, secret core.Secret, stringToSign, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(alg.mac(secret, stringToSign), got)
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
	alg := auth.algorithm
	sr.stringToSign = v3StringToSign(alg, v3CanonicalRequest(alg, r.Method, r.URL.Path, query, r.Header, r.Host, auth.signedHeaders, body))
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
	sr.verify = func(secret core.Secret) bool { return v3Verify(alg, secret, sr.stringToSign, sig) }
	return sr, nil
}
