package aliyun

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// The published V1 vector (reference §1.1): the GET value is the one in
// Alibaba's documentation, the POST value the same request signed with
// POST.
func TestV1Vectors(t *testing.T) {
	params := map[string]string{
		"AccessKeyId":      "testid",
		"Action":           "DescribeRegions",
		"Format":           "XML",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"SignatureVersion": "1.0",
		"Timestamp":        "2016-02-23T12:46:24Z",
		"Version":          "2014-05-26",
	}
	secret := core.NewSecret("testsecret")
	wantSTS := "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
		"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
		"%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := v1StringToSign("GET", params); got != wantSTS {
		t.Errorf("GET string to sign:\n got %s\nwant %s", got, wantSTS)
	}
	for _, tc := range []struct{ method, want string }{
		{"GET", "OLeaidS1JvxuMvnyHOwuJ+uX5qY="},
		{"POST", "MxbnVAM4w6sft9xjVpe/GCKueuk="},
	} {
		sts := v1StringToSign(tc.method, params)
		if got := v1Sign(secret, sts); got != tc.want {
			t.Errorf("%s signature = %s, want %s", tc.method, got, tc.want)
		}
		if !v1Verify(secret, sts, tc.want) {
			t.Errorf("%s: the published signature does not verify", tc.method)
		}
		// A '+' sent unencoded in a query decodes as a space.
		if !v1Verify(secret, sts, strings.ReplaceAll(tc.want, "+", " ")) {
			t.Errorf("%s: signature with '+' decoded as space does not verify", tc.method)
		}
		if v1Verify(core.NewSecret("testsecreT"), sts, tc.want) {
			t.Errorf("%s: verifies under the wrong secret", tc.method)
		}
		// The Signature parameter itself is never signed.
		withSig := map[string]string{"Signature": tc.want}
		for k, v := range params {
			withSig[k] = v
		}
		if v1StringToSign(tc.method, withSig) != sts {
			t.Errorf("%s: Signature parameter changed the string to sign", tc.method)
		}
	}
}

// The official V3 vector (reference §2.3).
func TestV3Vector(t *testing.T) {
	r, err := http.NewRequest("POST", "http://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("x-acs-action", "RunInstances")
	r.Header.Set("x-acs-version", "2014-05-26")
	r.Header.Set("x-acs-date", "2023-10-26T10:22:32Z")
	r.Header.Set("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d")
	r.Header.Set("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	query := map[string]string{"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
	sha, _ := v3AlgorithmNamed("ACS3-HMAC-SHA256")
	cr := v3CanonicalRequest(sha, r.Method, r.URL.Path, query, r.Header, r.Host, signed, nil)
	sum := sha256.Sum256([]byte(cr))
	if got, want := hex.EncodeToString(sum[:]), "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"; got != want {
		t.Errorf("hashed canonical request = %s, want %s\ncanonical request:\n%s", got, want, cr)
	}
	secret := core.NewSecret("YourAccessKeySecret")
	sts := v3StringToSign(sha, cr)
	const want = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
	if got := v3Sign(sha, secret, sts); got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
	if !v3Verify(sha, secret, sts, strings.ToUpper(want)) {
		t.Error("upper-case hex signature does not verify")
	}
	if v3Verify(sha, secret, sts, want[:len(want)-2]) || v3Verify(sha, secret, sts, "zz"+want[2:]) {
		t.Error("a truncated or non-hex signature verifies")
	}

	// The same request through parseV3, with the Authorization header the
	// client would send.
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders="+strings.Join(signed, ";")+",Signature="+want)
	sr, aerr := parseV3(r, query, query, nil)
	if aerr != nil {
		t.Fatalf("parseV3: %v", aerr)
	}
	if sr.accessKeyID != "YourAccessKeyId" || sr.action != "RunInstances" || sr.version != "2014-05-26" ||
		sr.nonce != "3156853299f313e23d1673dc12e1703d" || sr.timestamp != "2023-10-26T10:22:32Z" {
		t.Errorf("parseV3 read %+v", sr)
	}
	if !sr.verify(secret) {
		t.Error("official request does not verify through parseV3")
	}
	if sr.verify(core.NewSecret("wrong")) {
		t.Error("official request verifies with a wrong secret")
	}
}

func TestParseV3AuthorizationErrors(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   errorCode
	}{
		{"ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=00", errInvalidSignatureMethod},
		{"ACS3-RSA-SHA256 Credential=a,SignedHeaders=host,Signature=00", errInvalidSignatureMethod},
		{"ACS3-HMAC-SHA256", errIncompleteSignature},
		{"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host", errIncompleteSignature},
		{"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00", errIncompleteSignature},
		{"ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00", errIncompleteSignature},
	} {
		_, aerr := parseV3Authorization(tc.header)
		if aerr == nil || aerr.code != tc.want {
			t.Errorf("%q: got %v, want %v", tc.header, aerr, errorRowFor(tc.want).Code)
		}
	}
	a, aerr := parseV3Authorization("ACS3-HMAC-SHA256 Credential=AK, SignedHeaders=host;x-acs-date, Signature=ab")
	if aerr != nil || a.accessKeyID != "AK" || len(a.signedHeaders) != 2 || a.signature != "ab" {
		t.Errorf("spaces after commas: %+v, %v", a, aerr)
	}
}

// sdkEncode is how the SDKs percent-encode: url.QueryEscape and three
// fix-ups (SDKv1 rpc_signature_composer.go, darabonba utils).
func sdkEncode(s string) string {
	s = url.QueryEscape(s)
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

func TestPercentEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abcXYZ019-_.~", "abcXYZ019-_.~"},
		{" ", "%20"},
		{"*", "%2A"},
		{"~", "~"},
		{"+", "%2B"},
		{"/", "%2F"},
		{"=&%", "%3D%26%25"},
		{"é", "%C3%A9"},
		{"华东1（杭州）", "%E5%8D%8E%E4%B8%9C1%EF%BC%88%E6%9D%AD%E5%B7%9E%EF%BC%89"},
		{"Ecs 1*~", "Ecs%201%2A~"},
		{"2016-02-23T12:46:24Z", "2016-02-23T12%3A46%3A24Z"},
		{"\x00\xff", "%00%FF"},
	} {
		if got := percentEncode(tc.in); got != tc.want {
			t.Errorf("percentEncode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := sdkEncode(tc.in); got != tc.want {
			t.Errorf("SDK encoding of %q = %q, want %q (table is wrong)", tc.in, got, tc.want)
		}
	}
	// Random strings over a hostile alphabet: the server's encoding and
	// the SDKs' agree byte for byte.
	alphabet := []rune(" *~+/%=&?#!'()[]{}:;,.-_aZ09é中\t\n\x7f")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		n := rng.IntN(12)
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if percentEncode(s) != sdkEncode(s) {
			t.Fatalf("percentEncode(%q) = %q, SDK gives %q", s, percentEncode(s), sdkEncode(s))
		}
	}
}

func TestCanonicalQueryKeepsEmptyValues(t *testing.T) {
	params := map[string]string{"SignatureType": "", "b": "x y", "A": "*", "Signature": "skip"}
	if got, want := canonicalQuery(params, "Signature"), "A=%2A&SignatureType=&b=x%20y"; got != want {
		t.Errorf("canonicalQuery = %q, want %q", got, want)
	}
	// Upper case sorts before lower case (byte order).
	if got, want := canonicalQuery(map[string]string{"a": "1", "B": "2"}, ""), "B=2&a=1"; got != want {
		t.Errorf("canonicalQuery order = %q, want %q", got, want)
	}
	sts := v1StringToSign("POST", map[string]string{"SignatureType": "", "Action": "X"})
	if want := "POST&%2F&Action%3DX%26SignatureType%3D"; sts != want {
		t.Errorf("empty value in string to sign: %q, want %q", sts, want)
	}
}

func TestParseV1Errors(t *testing.T) {
	full := func() map[string]string {
		return map[string]string{
			"AccessKeyId": "ak", "Action": "DescribeRegions", "Version": "2014-05-26",
			"Format": "JSON", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
			"SignatureNonce": "n", "Timestamp": "2016-02-23T12:46:24Z", "SignatureType": "",
			"Signature": "sig",
		}
	}
	if _, aerr := parseV1("POST", full()); aerr != nil {
		t.Fatalf("complete request: %v", aerr)
	}
	for _, tc := range []struct {
		name  string
		edit  func(map[string]string)
		want  errorCode
		param string
	}{
		{"no signature", func(p map[string]string) { delete(p, "Signature") }, errIncompleteSignature, ""},
		{"empty signature", func(p map[string]string) { p["Signature"] = "" }, errIncompleteSignature, ""},
		{"no access key", func(p map[string]string) { delete(p, "AccessKeyId") }, errMissingParameter, "AccessKeyId"},
		{"no nonce", func(p map[string]string) { delete(p, "SignatureNonce") }, errMissingParameter, "SignatureNonce"},
		{"no timestamp", func(p map[string]string) { delete(p, "Timestamp") }, errMissingParameter, "Timestamp"},
		{"no action", func(p map[string]string) { delete(p, "Action") }, errMissingParameter, "Action"},
		{"no version", func(p map[string]string) { delete(p, "Version") }, errMissingParameter, "Version"},
		{"sha256", func(p map[string]string) { p["SignatureMethod"] = "HMAC-SHA256" }, errInvalidSignatureMethod, ""},
		{"version 2", func(p map[string]string) { p["SignatureVersion"] = "2.0" }, errInvalidParameter, "SignatureVersion"},
		{"yaml", func(p map[string]string) { p["Format"] = "YAML" }, errInvalidFormat, ""},
	} {
		p := tc.edit
		params := full()
		p(params)
		_, aerr := parseV1("POST", params)
		if aerr == nil || aerr.code != tc.want || aerr.param != tc.param {
			t.Errorf("%s: got %+v, want %s(%s)", tc.name, aerr, errorRowFor(tc.want).Code, tc.param)
		}
	}
	params := full()
	params["Format"] = "xml"
	if sr, aerr := parseV1("POST", params); aerr != nil || sr.format != formatXML {
		t.Errorf("Format=xml: %v, %v", sr.format, aerr)
	}
}

// A V1 string to sign shows every value in clear; it is echoed only when
// the request carries no password.
func TestV1EchoWithholdsPasswords(t *testing.T) {
	base := map[string]string{"AccessKeyId": "ak", "Action": "ModifyInstanceVncPasswd", "Version": "2014-05-26"}
	sr, _ := parseV1("POST", base)
	if !sr.echo {
		t.Error("request without a password: string to sign withheld")
	}
	for _, name := range []string{"VncPassword", "Password", "SecurityToken"} {
		p := map[string]string{name: "Abc123"}
		for k, v := range base {
			p[k] = v
		}
		sr, aerr := parseV1("POST", p)
		if sr.echo {
			t.Errorf("%s: string to sign would be echoed", name)
		}
		if aerr == nil || aerr.code != errIncompleteSignature || strings.Contains(aerr.suffix, "Abc123") {
			t.Errorf("%s: error %+v", name, aerr)
		}
	}
}
