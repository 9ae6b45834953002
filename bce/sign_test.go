package bce

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkauth "github.com/baidubce/bce-sdk-go/auth"
	sdkbce "github.com/baidubce/bce-sdk-go/bce"
)

// The test vector of shared/reference/bce-rest.md §1.5, produced with the
// SDK signer and re-checked independently.
const (
	vectorAK        = "f81d3b34e48048fbb2634dc7882d7e21"
	vectorSK        = "0123456789abcdef0123456789abcdef"
	vectorTimestamp = "2015-08-11T04:17:29Z"
	vectorBody      = `{"adminPass":"2a71397f8c035255981a317d5b4ebd8d"}`
	vectorCanonical = "PUT\n" +
		"/v2/instance/i-YufwpQAe\n" +
		"changePass=\n" +
		"content-length:48\n" +
		"content-md5:Vc7CrEzIldnBP1MJIhYKwQ%3D%3D\n" +
		"content-type:application%2Fjson%3Bcharset%3Dutf-8\n" +
		"host:bcc.bj.baidubce.com\n" +
		"x-bce-date:2015-08-11T04%3A17%3A29Z"
	vectorSignedHeaders = "content-length;content-md5;content-type;host;x-bce-date"
	vectorSignature     = "4185f4020dc6ca27b22937bf7c32a776423d5aa7b83dac120e7c1dd8d1968d1a"
	vectorAuthorization = "bce-auth-v1/" + vectorAK + "/" + vectorTimestamp + "/1800/" + vectorSignedHeaders + "/" + vectorSignature
)

// vectorRequest is the vector's request as a server receives it.
func vectorRequest() *http.Request {
	r := httptest.NewRequest(http.MethodPut, "http://bcc.bj.baidubce.com/v2/instance/i-YufwpQAe?changePass", strings.NewReader(vectorBody))
	r.Host = "bcc.bj.baidubce.com"
	r.Header.Set("Content-Type", "application/json;charset=utf-8")
	r.Header.Set("Content-Length", "48")
	r.Header.Set("Content-Md5", "Vc7CrEzIldnBP1MJIhYKwQ==")
	r.Header.Set("x-bce-date", vectorTimestamp)
	r.Header.Set("Authorization", vectorAuthorization)
	return r
}

func TestSignReferenceVector(t *testing.T) {
	r := vectorRequest()
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatalf("ParseAuthorization: %v", err)
	}
	if a.AccessKeyID != vectorAK || a.ExpirationSeconds != 1800 || a.RawTimestamp != vectorTimestamp {
		t.Errorf("parsed ak=%q exp=%d ts=%q", a.AccessKeyID, a.ExpirationSeconds, a.RawTimestamp)
	}
	if got := strings.Join(a.SignedHeaders, ";"); got != vectorSignedHeaders {
		t.Errorf("signed headers = %q, want %q", got, vectorSignedHeaders)
	}
	canonical, err := CanonicalRequest(r, a.SignedHeaders)
	if err != nil {
		t.Fatalf("CanonicalRequest: %v", err)
	}
	if canonical != vectorCanonical {
		t.Errorf("canonical request =\n%s\nwant\n%s", canonical, vectorCanonical)
	}
	if got := hmacHex([]byte(vectorSK), "bce-auth-v1/"+vectorAK+"/"+vectorTimestamp+"/1800"); got != "b03265068f26dfc44fcea3bfc32efd51434a13d552ad5013e31b4e9c1ab5ae94" {
		t.Errorf("signing key differs from the vector")
	}
	if got := Sign(vectorSK, vectorAK, vectorTimestamp, 1800, canonical); got != vectorSignature {
		t.Errorf("signature differs from the vector")
	}
	if err := VerifySignature(r, a, vectorSK); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	if err := VerifySignature(r, a, "ffffffffffffffffffffffffffffffff"); !isFailure(err, AuthSignatureMismatch) {
		t.Errorf("VerifySignature with another secret = %v, want signature mismatch", err)
	}
	ts, _ := time.Parse(timestampLayout, vectorTimestamp)
	if err := CheckTime(r, a, ts.Add(10*time.Minute)); err != nil {
		t.Errorf("CheckTime within the window: %v", err)
	}
}

// TestSignTamper changes one signed part of the vector request at a time;
// each change must break the signature.
func TestSignTamper(t *testing.T) {
	for name, tamper := range map[string]func(r *http.Request){
		"method":       func(r *http.Request) { r.Method = http.MethodPost },
		"path":         func(r *http.Request) { r.URL.Path = "/v2/instance/i-YufwpQAf" },
		"query":        func(r *http.Request) { r.URL.RawQuery = "changePass=x" },
		"extra query":  func(r *http.Request) { r.URL.RawQuery = "changePass&reboot" },
		"host":         func(r *http.Request) { r.Host = "bcc.gz.baidubce.com" },
		"content-md5":  func(r *http.Request) { r.Header.Set("Content-Md5", "AAAAAAAAAAAAAAAAAAAAAA==") },
		"x-bce-date":   func(r *http.Request) { r.Header.Set("x-bce-date", "2015-08-11T04:17:30Z") },
		"content-type": func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
	} {
		t.Run(name, func(t *testing.T) {
			r := vectorRequest()
			tamper(r)
			a, err := ParseAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignature(r, a, vectorSK); !isFailure(err, AuthSignatureMismatch) {
				t.Errorf("got %v, want signature mismatch", err)
			}
		})
	}
	// Headers the client did not sign may change freely.
	r := vectorRequest()
	r.Header.Set("User-Agent", "other")
	r.Header.Set("x-bce-request-id", "0b7e8bd6-2b3f-4b8e-9f34-3b1d3bb0d1a6")
	a, _ := ParseAuthorization(r.Header.Get("Authorization"))
	if err := VerifySignature(r, a, vectorSK); err != nil {
		t.Errorf("unsigned headers changed: %v", err)
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		{"changePass", "changePass="},
		{"changePass=", "changePass="},
		{"reboot&clientToken=abc", "clientToken=abc&reboot="},
		{"status=Running&marker=i-x&maxKeys=10", "marker=i-x&maxKeys=10&status=Running"},
		// Whole k=v strings sort, not keys: '-' sorts before '='.
		{"a=1&a-b=1", "a-b=1&a=1"},
		{"name=a%20b", "name=a%20b"},
		{"name=a%2Bb", "name=a%2Bb"},
		{"name=a+b", "name=a%2Bb"}, // a plus is a plus, not a space
		{"name=%7E%2a", "name=~%2A"},
		{"path=a%2Fb", "path=a%2Fb"},
		{"name=%E4%B8%AD", "name=%E4%B8%AD"},
		{"authorization=x&Authorization=y&k=v", "k=v"},
		{"k=v&&j=w", "j=w&k=v"},
		{"k=a=b", "k=a%3Db"},
	} {
		got, err := CanonicalQuery(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("CanonicalQuery(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{"k=%zz", "%g1=v", "k=%"} {
		if _, err := CanonicalQuery(raw); !isFailure(err, AuthMalformedQuery) {
			t.Errorf("CanonicalQuery(%q) error = %v, want malformed query", raw, err)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"", "/"},
		{"/", "/"},
		{"/v2/instance/i-YufwpQAe", "/v2/instance/i-YufwpQAe"},
		{"/v2/a b/c~d*", "/v2/a%20b/c~d%2A"},
		{"/v2/中", "/v2/%E4%B8%AD"},
	} {
		if got := CanonicalURI(tc.path); got != tc.want {
			t.Errorf("CanonicalURI(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestCanonicalHeadersDefaultSet(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://h/v2/instance", nil)
	r.Host = "h:8080"
	r.Header.Set("Content-Type", " text/plain ")
	r.Header.Set("x-bce-date", "2015-08-11T04:17:29Z")
	r.Header.Set("x-bce-request-id", "not signed")
	r.Header.Set("User-Agent", "not signed")
	want := "content-type:text%2Fplain\nhost:h%3A8080\nx-bce-date:2015-08-11T04%3A17%3A29Z"
	if got := CanonicalHeaders(r, nil); got != want {
		t.Errorf("CanonicalHeaders(default) =\n%s\nwant\n%s", got, want)
	}
	// A client list without host (the SDK's doc example) leaves it out.
	if got := CanonicalHeaders(r, []string{"x-bce-date"}); got != "x-bce-date:2015-08-11T04%3A17%3A29Z" {
		t.Errorf("CanonicalHeaders([x-bce-date]) = %q", got)
	}
}

func TestParseAuthorizationFailures(t *testing.T) {
	good := strings.Split(vectorAuthorization, "/")
	with := func(i int, v string) string {
		p := append([]string(nil), good...)
		p[i] = v
		return strings.Join(p, "/")
	}
	for _, tc := range []struct {
		name  string
		value string
		want  AuthFailure
	}{
		{"empty", "", AuthMissing},
		{"blank", "   ", AuthMissing},
		{"other scheme", with(0, "bce-auth-v2"), AuthMalformedScheme},
		{"aws", "AWS4-HMAC-SHA256 Credential=x", AuthMalformedScheme},
		{"five fields", strings.Join(good[:5], "/"), AuthMalformedFields},
		{"seven fields", vectorAuthorization + "/x", AuthMalformedFields},
		{"empty ak", with(1, ""), AuthMalformedAccessKey},
		{"bad timestamp", with(2, "2015-08-11 04:17:29"), AuthMalformedTimestamp},
		{"fractional timestamp", with(2, "2015-08-11T04:17:29.5Z"), AuthMalformedTimestamp},
		{"offset timestamp", with(2, "2015-08-11T04:17:29+08:00"), AuthMalformedTimestamp},
		{"zero expiration", with(3, "0"), AuthMalformedExpiration},
		{"negative expiration", with(3, "-5"), AuthMalformedExpiration},
		{"signed expiration", with(3, "+5"), AuthMalformedExpiration},
		{"huge expiration", with(3, "99999999999"), AuthMalformedExpiration},
		{"text expiration", with(3, "soon"), AuthMalformedExpiration},
		{"empty header name", with(4, "host;;x-bce-date"), AuthMalformedSignedHeaders},
		{"bad header name", with(4, "host;x bce"), AuthMalformedSignedHeaders},
		{"short signature", with(5, "abcd"), AuthMalformedSignature},
		{"non-hex signature", with(5, strings.Repeat("z", 64)), AuthMalformedSignature},
	} {
		_, err := ParseAuthorization(tc.value)
		if !isFailure(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), vectorSignature) {
			t.Errorf("%s: error text contains the signature", tc.name)
		}
	}
	// An empty signed-header list is allowed (the documented default).
	if a, err := ParseAuthorization(with(4, "")); err != nil || len(a.SignedHeaders) != 0 {
		t.Errorf("empty signed-header list: %v", err)
	}
}

func TestCheckTime(t *testing.T) {
	ts, _ := time.Parse(timestampLayout, vectorTimestamp)
	for _, tc := range []struct {
		name    string
		date    string // x-bce-date; "-" removes it
		httpDay string // Date header
		now     time.Time
		want    AuthFailure // 0: accepted
	}{
		{"at signing", vectorTimestamp, "", ts, 0},
		{"date one second later", "2015-08-11T04:17:30Z", "", ts, 0},
		{"29 minutes later", vectorTimestamp, "", ts.Add(29 * time.Minute), 0},
		{"expired", vectorTimestamp, "", ts.Add(1801 * time.Second), AuthExpired},
		{"signed in the future", vectorTimestamp, "", ts.Add(-31 * time.Minute), AuthClockSkew},
		{"date far in the past", "2015-08-11T03:17:29Z", "", ts, AuthClockSkew},
		{"date far in the future", "2015-08-11T05:17:29Z", "", ts, AuthClockSkew},
		{"malformed date", "yesterday", "", ts, AuthMalformedDate},
		{"Date header used without x-bce-date", "-", "Tue, 11 Aug 2015 04:17:29 GMT", ts, 0},
		{"Date header skewed", "-", "Tue, 11 Aug 2015 06:17:29 GMT", ts, AuthClockSkew},
		{"Date header malformed", "-", "Tuesday", ts, AuthMalformedDate},
		{"no date at all", "-", "", ts.Add(time.Minute), 0},
	} {
		r := vectorRequest()
		if tc.date == "-" {
			r.Header.Del("x-bce-date")
		} else {
			r.Header.Set("x-bce-date", tc.date)
		}
		if tc.httpDay != "" {
			r.Header.Set("Date", tc.httpDay)
		}
		a, _ := ParseAuthorization(r.Header.Get("Authorization"))
		err := CheckTime(r, a, tc.now)
		if tc.want == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !isFailure(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			continue
		}
		var ae *AuthError
		errors.As(err, &ae)
		if api := ae.APIError(); api.Code != CodeRequestExpired || api.HTTPStatus != http.StatusBadRequest ||
			!strings.HasPrefix(api.Message, "Request has expired. Timestamp date is ") {
			t.Errorf("%s: rendered as %+v", tc.name, api)
		}
	}
	// A long expiration period is honoured within the skew window only.
	r := vectorRequest()
	r.Header.Set("Authorization", strings.Replace(vectorAuthorization, "/1800/", "/7200/", 1))
	a, _ := ParseAuthorization(r.Header.Get("Authorization"))
	if err := CheckTime(r, a, ts.Add(40*time.Minute)); !isFailure(err, AuthClockSkew) {
		t.Errorf("x-bce-date 40 minutes old: got %v, want clock skew", err)
	}
}

func TestAuthFailureCodes(t *testing.T) {
	for f := AuthMissing; f <= AuthSignatureMismatch; f++ {
		if _, ok := f.Code().Row(); !ok {
			t.Errorf("%v maps to %q, which has no row", f, f.Code())
		}
		if strings.HasPrefix(f.String(), "authentication failure ") {
			t.Errorf("failure %d has no name", int(f))
		}
	}
	for f, want := range map[AuthFailure]ErrorCode{
		AuthMissing:           CodeInvalidHTTPAuthHeader,
		AuthMalformedFields:   CodeInvalidHTTPAuthHeader,
		AuthUnknownAccessKey:  CodeInvalidAccessKeyID,
		AuthExpired:           CodeRequestExpired,
		AuthClockSkew:         CodeRequestExpired,
		AuthSignatureMismatch: CodeSignatureDoesNotMatch,
	} {
		if got := f.Code(); got != want {
			t.Errorf("%v.Code() = %q, want %q", f, got, want)
		}
	}
}

// TestSignSDKOracle sends requests of several shapes with bce-sdk-go's own
// client and signer to a server that verifies them with this file's
// functions: every shape must verify with the right secret key, and fail
// with another.
func TestSignSDKOracle(t *testing.T) {
	const ak, sk = "AKIDlatchkeytest0001", "5f3c1a7e9b2d4c6e8f0a1b3c5d7e9f01"
	type shape struct {
		name    string
		method  string
		url     string
		params  map[string]string
		body    any
		headers map[string]string
		sign    *sdkauth.SignOptions
		token   string // STS session token
	}
	shapes := []shape{
		{name: "changePass", method: "PUT", url: "/v2/instance/i-YufwpQAe", params: map[string]string{"changePass": ""},
			body: map[string]string{"adminPass": "2a71397f8c035255981a317d5b4ebd8d"}},
		{name: "start without body", method: "PUT", url: "/v2/instance/i-YufwpQAe", params: map[string]string{"start": ""}},
		{name: "list with params", method: "GET", url: "/v2/instance",
			params: map[string]string{"marker": "i-abc", "maxKeys": "10", "status": "Running", "zoneName": "cn-bj-a", "instanceIds": "i-a,i-b"}},
		{name: "create with clientToken", method: "POST", url: "/v2/instance",
			params:  map[string]string{"clientToken": "token-1/2+3 ~x"},
			headers: map[string]string{"X-Request-Token": ""},
			body:    map[string]any{"imageId": "m-Z1TCx0Zv", "cpuCount": 1}},
		{name: "odd characters", method: "GET", url: "/v2/instance/i-x y/vnc",
			params: map[string]string{"name": "a b*c(中)", "a-b": "1", "a": "1", "empty": ""}},
		{name: "delete", method: "DELETE", url: "/v2/instance/i-YufwpQAe"},
		{name: "short expiry, host unsigned", method: "GET", url: "/v2/instance/i-YufwpQAe",
			params: map[string]string{"isDeploySet": "false"},
			sign:   &sdkauth.SignOptions{HeadersToSign: map[string]struct{}{"Host": {}}, ExpireSeconds: 30}},
		{name: "extra signed headers", method: "GET", url: "/v2/instance/i-YufwpQAe",
			headers: map[string]string{"x-bce-custom": " spaced value "},
			sign: &sdkauth.SignOptions{HeadersToSign: map[string]struct{}{
				"host": {}, "content-type": {}, "user-agent": {}}, ExpireSeconds: 60}},
		{name: "session token", method: "GET", url: "/v2/instance/i-YufwpQAe", token: "sts-session-token"},
	}

	var verifyWith string // the secret key the server checks with
	var lastFailure AuthFailure
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastFailure = 0
		fail := func(err error) {
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Errorf("unexpected error type %T", err)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			lastFailure = ae.Failure
			writeError(w, "00000000-0000-4000-8000-000000000000", time.Now(), ae.APIError())
		}
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			fail(err)
			return
		}
		if err := CheckTime(r, a, time.Now()); err != nil {
			fail(err)
			return
		}
		if err := VerifySignature(r, a, verifyWith); err != nil {
			fail(err)
			return
		}
		writeResult(w, "00000000-0000-4000-8000-000000000000", time.Now(), nil)
	}))
	defer srv.Close()

	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			client, err := sdkbce.NewBceClientWithAkSk(ak, sk, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			client.Config.Retry = sdkbce.NewNoRetryPolicy()
			if s.sign != nil {
				client.Config.SignOption = s.sign
			}
			if s.token != "" {
				client.Config.Credentials.SessionToken = s.token
			}
			send := func() error {
				b := sdkbce.NewRequestBuilder(client).WithMethod(s.method).WithURL(s.url)
				for k, v := range s.params {
					b = b.WithQueryParam(k, v)
				}
				for k, v := range s.headers {
					b = b.WithHeader(k, v)
				}
				if s.body != nil {
					b = b.WithBody(s.body)
				}
				return b.WithResult(&map[string]any{}).Do()
			}
			verifyWith = sk
			if err := send(); err != nil {
				t.Fatalf("request signed by the SDK was refused (%v): %v", lastFailure, err)
			}
			verifyWith = "0000000000000000" + sk[16:]
			err = send()
			var se *sdkbce.BceServiceError
			if !errors.As(err, &se) || se.Code != string(CodeSignatureDoesNotMatch) || se.StatusCode != http.StatusBadRequest {
				t.Fatalf("with another secret key: got %v, want SignatureDoesNotMatch/400", err)
			}
		})
	}
}

func isFailure(err error, f AuthFailure) bool {
	var ae *AuthError
	return errors.As(err, &ae) && ae.Failure == f
}
