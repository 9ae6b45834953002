package aliyun

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// RPC signature V1, SignatureMethod HMAC-SHA1, SignatureVersion 1.0: what
// alibaba-cloud-sdk-go, the aliyun CLI and darabonba's "v2" mode send
// (shared/reference/alibaba-rpc.md §1). Every parameter, from the query
// and from a form body alike, is signed, including empty ones such as
// "SignatureType=":
//
//	CanonicalizedQueryString = percentEncode(k1) "=" percentEncode(v1) "&" …
//	                           (every parameter but Signature, sorted by name)
//	StringToSign             = HTTPMethod "&" "%2F" "&" percentEncode(CanonicalizedQueryString)
//	Signature                = Base64(HMAC-SHA1(AccessKeySecret "&", StringToSign))
//
// The path is always signed as "/" (%2F), whatever the request line says.

// v1StringToSign builds the StringToSign of a V1 request from its HTTP
// method and its decoded parameters; a Signature parameter is left out.
func v1StringToSign(method string, params map[string]string) string {
	return method + "&%2F&" + percentEncode(canonicalQuery(params, "Signature"))
}

// v1Sign returns the Base64 HMAC-SHA1 signature of stringToSign.
func v1Sign(secret core.Secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret.Reveal()+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// v1Verify reports, in constant time, whether sig is the signature of
// stringToSign under secret. A '+' that reached the server unencoded
// decodes as a space; Base64 has no spaces, so one is read as '+'.
func v1Verify(secret core.Secret, stringToSign, sig string) bool {
	sig = strings.ReplaceAll(sig, " ", "+")
	return hmac.Equal([]byte(v1Sign(secret, stringToSign)), []byte(sig))
}

// The common parameters of a V1 request: everything the gateway consumes
// itself. Whatever else is present is an API parameter.
const (
	pAccessKeyID      = "AccessKeyId"
	pAction           = "Action"
	pVersion          = "Version"
	pFormat           = "Format"
	pSignature        = "Signature"
	pSignatureMethod  = "SignatureMethod"
	pSignatureNonce   = "SignatureNonce"
	pSignatureVersion = "SignatureVersion"
	pSignatureType    = "SignatureType"
	pTimestamp        = "Timestamp"
	pSecurityToken    = "SecurityToken"
	pBearerToken      = "BearerToken"
)

// isCommonParam reports whether name is a gateway parameter rather than an
// API parameter. SourceIp and SecureTransport are SDKv1's proxy-forwarding
// parameters; latchkey never trusts them and keeps them away from handlers.
func isCommonParam(name string) bool {
	switch name {
	case pAccessKeyID, pAction, pVersion, pFormat, pSignature, pSignatureMethod,
		pSignatureNonce, pSignatureVersion, pSignatureType, pTimestamp,
		pSecurityToken, pBearerToken, "SourceIp", "SecureTransport":
		return true
	}
	return false
}

// isSecretParam reports whether a parameter carries a password or a token.
// A V1 string to sign holds every value in clear, so the server does not
// echo its string to sign for a request that carries one (PRODUCT.md §6:
// no password in any response).
func isSecretParam(name string) bool {
	switch name {
	case "VncPassword", "Password", "RunasUserPassword", "Passwd", "NewPassword",
		"OldPassword", "AccessKeySecret", pSecurityToken, pBearerToken:
		return true
	}
	// E-HPC's AddUsers and ModifyUserPasswords send User.N.Password.
	return strings.HasSuffix(name, ".Password")
}

// parseV1 reads the common parameters of a V1 request. params is the
// union of query and form body. Checks, in order: a Signature is present
// (IncompleteSignature), the other common parameters are present and well
// formed, Format is JSON or XML.
func parseV1(method string, params map[string]string) (*signedRequest, *apiError) {
	sr := &signedRequest{
		scheme:       "v1",
		stringToSign: v1StringToSign(method, params),
		echo:         true,
		format:       formatJSON,
		params:       make(map[string]string, len(params)),
	}
	for k, v := range params {
		if isSecretParam(k) {
			sr.echo = false
		}
		if !isCommonParam(k) {
			sr.params[k] = v
		}
	}
	sig := params[pSignature]
	if sig == "" {
		return sr, signatureError(errIncompleteSignature, sr)
	}
	for _, name := range []string{pAccessKeyID, pSignatureMethod, pSignatureVersion, pSignatureNonce, pTimestamp, pAction, pVersion} {
		if params[name] == "" {
			return sr, missingParam(name)
		}
	}
	if params[pSignatureMethod] != "HMAC-SHA1" {
		return sr, newAPIError(errInvalidSignatureMethod)
	}
	if params[pSignatureVersion] != "1.0" {
		return sr, invalidParam(pSignatureVersion)
	}
	switch strings.ToUpper(params[pFormat]) {
	case "", "JSON":
	case "XML":
		sr.format = formatXML
	default:
		return sr, newAPIError(errInvalidFormat)
	}
	sr.accessKeyID = core.AccessKeyID(params[pAccessKeyID])
	sr.action, sr.version = params[pAction], params[pVersion]
	sr.timestamp, sr.nonce = params[pTimestamp], params[pSignatureNonce]
	sr.securityToken = params[pSecurityToken] != ""
	sr.verify = func(secret core.Secret) bool { return v1Verify(secret, sr.stringToSign, sig) }
	return sr, nil
}
