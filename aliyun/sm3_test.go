package aliyun

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
)

// ACS3-HMAC-SM3: the hash is SM3 of GB/T 32905-2016 (its standard vector),
// and a request signed by darabonba's own signer (openapiutil, as the
// clients call it with SignatureAlgorithm "ACS3-HMAC-SM3") verifies,
// parameters in the query and in a form body alike.
func TestV3SM3(t *testing.T) {
	sm3, ok := v3AlgorithmNamed("ACS3-HMAC-SM3")
	if !ok {
		t.Fatal("ACS3-HMAC-SM3 is not a V3 algorithm")
	}
	if got, want := sm3.sum([]byte("abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"; got != want {
		t.Fatalf(`SM3("abc") = %s, want %s`, got, want)
	}

	r := newRig(t)
	alg := dara.String("ACS3-HMAC-SM3")
	const body = "InstanceId=i-sm3"
	payload := dara.String(sm3.sum([]byte(body)))
	headers := map[string]*string{
		"host":                  dara.String("ecs.example"),
		"x-acs-version":         dara.String(ecsVersion),
		"x-acs-action":          dara.String("StartInstance"),
		"x-acs-date":            dara.String(r.clock.Now().UTC().Format("2006-01-02T15:04:05Z")),
		"x-acs-signature-nonce": dara.String("sm3-nonce"),
		"x-acs-content-sha256":  payload,
		"content-type":          dara.String("application/x-www-form-urlencoded"),
	}
	query := map[string]*string{"RegionId": dara.String("cn-hangzhou")}
	dreq := &dara.Request{Method: dara.String("POST"), Pathname: dara.String("/"), Query: query, Headers: headers}
	auth := openapiutil.GetAuthorization(dreq, alg, payload, dara.String(stubAK), dara.String(stubSecret))
	if !strings.HasPrefix(*auth, "ACS3-HMAC-SM3 ") {
		t.Fatalf("darabonba signed with %q", *auth)
	}
	req := httptest.NewRequest("POST", "http://ecs.example/?"+url.Values{"RegionId": {"cn-hangzhou"}}.Encode(), strings.NewReader(body))
	for k, v := range headers {
		if k != "host" {
			req.Header.Set(k, *v)
		}
	}
	req.Header.Set("Authorization", *auth)
	wantOK(t, r.serve(req))
	if r.ecs.ref.InstanceID != "i-sm3" {
		t.Errorf("handler saw %+v", r.ecs.ref)
	}
}
