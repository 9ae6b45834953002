package bce

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkauth "github.com/baidubce/bce-sdk-go/auth"
	sdkbce "github.com/baidubce/bce-sdk-go/bce"
	sdkbcc "github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/core"
)

const fuzzAK, fuzzSK = "AKIDlatchkeyfuzz0001", "5f3c1a7e9b2d4c6e8f0a1b3c5d7e9f01"

// sdkRequests returns raw HTTP requests (request line, headers, body) as
// bce-sdk-go's client and signer sent them, in the shapes of the BCC
// operations latchkey serves.
func sdkRequests(t testing.TB) []string {
	var mu sync.Mutex
	var raw []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.URL.RequestURI(), r.Host)
		r.Header.Write(&b)
		b.WriteString("\r\n")
		b.Write(body)
		mu.Lock()
		raw = append(raw, b.String())
		mu.Unlock()
		writeResult(w, "00000000-0000-4000-8000-000000000000", time.Now(), nil)
	}))
	defer srv.Close()
	pass, err := sdkbcc.Aes128EncryptUseSecreteKey(fuzzSK, "Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		method, url string
		params      map[string]string
		body        any
		sign        *sdkauth.SignOptions
	}{
		{method: "PUT", url: "/v2/instance/i-YufwpQAe", params: map[string]string{"changePass": ""}, body: map[string]string{"adminPass": pass}},
		{method: "PUT", url: "/v2/instance/i-YufwpQAe", params: map[string]string{"stop": ""}, body: map[string]any{"forceStop": true}},
		{method: "GET", url: "/v2/instance", params: map[string]string{"marker": "i-abc", "maxKeys": "10", "fuzzyInstanceName": "a b*c(中)"}},
		{method: "POST", url: "/v2/instance", params: map[string]string{"clientToken": "token-1/2+3 ~x"},
			body: map[string]any{"imageId": "m-Z1TCx0Zv", "cpuCount": 1, "memoryCapacityInGB": 1, "name": "web-1", "adminPass": pass, "purchaseCount": 1}},
		{method: "GET", url: "/v2/instance/i-YufwpQAe/vnc"},
		{method: "DELETE", url: "/v2/instance/i-YufwpQAe"},
		{method: "GET", url: "/v2/instance/i-YufwpQAe", sign: &sdkauth.SignOptions{HeadersToSign: map[string]struct{}{"Host": {}}, ExpireSeconds: 30}},
	} {
		client, err := sdkbce.NewBceClientWithAkSk(fuzzAK, fuzzSK, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		client.Config.Retry = sdkbce.NewNoRetryPolicy()
		if s.sign != nil {
			client.Config.SignOption = s.sign
		}
		b := sdkbce.NewRequestBuilder(client).WithMethod(s.method).WithURL(s.url)
		for k, v := range s.params {
			b = b.WithQueryParam(k, v)
		}
		if s.body != nil {
			b = b.WithBody(s.body)
		}
		if err := b.WithResult(&map[string]any{}).Do(); err != nil {
			t.Fatalf("%s %s: %v", s.method, s.url, err)
		}
	}
	return raw
}

// FuzzAuthorization parses, canonicalizes and verifies arbitrary HTTP
// requests, seeded with bce-sdk-go's. Every refusal must be an
// *AuthError with a non-5xx row, and signing a request's own canonical
// form must verify: Sign and VerifySignature agree on every input.
func FuzzAuthorization(f *testing.F) {
	for _, raw := range sdkRequests(f) {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		authRefusal := func(err error) {
			t.Helper()
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *AuthError", err)
			}
			if e := ae.APIError(); e.HTTPStatus >= 500 {
				t.Fatalf("%v renders as %d", ae.Failure, e.HTTPStatus)
			}
			if strings.Contains(ae.APIError().Message, fuzzSK) {
				t.Fatal("the refusal shows the secret key")
			}
		}
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			authRefusal(err)
			return
		}
		if err := CheckTime(r, a, a.Timestamp); err != nil {
			authRefusal(err)
		}
		if err := VerifySignature(r, a, fuzzSK); err != nil {
			authRefusal(err)
		}
		canonical, err := CanonicalRequest(r, a.SignedHeaders)
		if err != nil {
			authRefusal(err)
			return
		}
		resigned := *a
		sig := Sign(fuzzSK, a.AccessKeyID, a.RawTimestamp, a.ExpirationSeconds, canonical)
		if resigned.signature, err = hex.DecodeString(sig); err != nil {
			t.Fatal(err)
		}
		if err := VerifySignature(r, &resigned, fuzzSK); err != nil {
			t.Fatalf("a request signed over its own canonical form does not verify: %v", err)
		}
	})
}

// FuzzDecryptAdminPass decrypts arbitrary adminPass values, seeded with
// bce-sdk-go's ciphertexts. A refusal is an *AdminPassError that shows
// neither the value nor the key; an accepted value encrypts back to
// itself (ECB with PKCS#7 is deterministic).
func FuzzDecryptAdminPass(f *testing.F) {
	for _, sk := range []string{fuzzSK, "0123456789abcdef"} {
		for _, pw := range []string{"Passw0rd!", "中文密码Aa1!", strings.Repeat("p", 16), ""} {
			enc, err := sdkbcc.Aes128EncryptUseSecreteKey(sk, pw)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(enc, sk)
		}
	}
	f.Add("2A71397F8C035255981A317D5B4EBD8D", "0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, adminPass, sk string) {
		pw, err := DecryptAdminPass(adminPass, core.NewSecret(sk))
		if err != nil {
			var pe *AdminPassError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not an *AdminPassError", err)
			}
			msg := toAPIError(core.BCCChangeInstancePass, err)
			if msg.HTTPStatus != http.StatusBadRequest {
				t.Fatalf("refusal renders as %d", msg.HTTPStatus)
			}
			if (len(adminPass) > 3 && strings.Contains(msg.Message, adminPass)) || (len(sk) > 3 && strings.Contains(msg.Message, sk)) {
				t.Fatal("the refusal shows its input")
			}
			return
		}
		back, err := EncryptAdminPass(pw, core.NewSecret(sk))
		if err != nil {
			t.Fatal(err)
		}
		if back != strings.ToLower(adminPass) {
			t.Fatal("the password does not encrypt back to the adminPass it came from")
		}
	})
}
