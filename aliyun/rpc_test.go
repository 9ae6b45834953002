package aliyun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
)

// Handler-level tests: NewHandler over a stub ECS and keyring, with an
// injected clock, driven by hand-signed requests.

// requestIDPattern is an upper-case UUID, as every RequestId is.
var requestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

type stubKey struct {
	principal core.Principal
	secret    string
	inactive  bool
}

// stubKeys is a core.Keyring over a fixed map.
type stubKeys map[core.AccessKeyID]stubKey

func (k stubKeys) Lookup(_ context.Context, id core.AccessKeyID) (core.Principal, core.Secret, error) {
	key, ok := k[id]
	if !ok {
		return core.Principal{}, core.Secret{}, &core.Error{Kind: core.KindNotFound, Reason: core.ReasonAccessKeyNotFound}
	}
	if key.inactive {
		return core.Principal{}, core.Secret{}, &core.Error{Kind: core.KindForbidden, Reason: core.ReasonAccessKeyNotFound}
	}
	return key.principal, core.NewSecret(key.secret), nil
}

// stubECS answers DescribeRegions with one region and the other calls
// with whatever err holds; it records the last caller and reference.
type stubECS struct {
	mu     sync.Mutex
	err    error
	panics bool
	caller core.Caller
	ref    core.InstanceRef
	pw     core.Secret
}

func (s *stubECS) record(c core.Caller, ref core.InstanceRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panics {
		panic("stub panic")
	}
	s.caller, s.ref = c, ref
	return s.err
}

func (s *stubECS) DescribeRegions(_ context.Context, c core.Caller) ([]core.Region, error) {
	if err := s.record(c, core.InstanceRef{}); err != nil {
		return nil, err
	}
	return []core.Region{{ID: "cn-hangzhou", Names: map[string]string{"zh-CN": "华东1（杭州）", "en-US": "China (Hangzhou)"}, Endpoint: "ecs.cn-hangzhou.aliyuncs.com"}}, nil
}
func (s *stubECS) RunInstances(_ context.Context, c core.Caller, in core.CreateInstanceInput) ([]core.InstanceID, error) {
	return []core.InstanceID{"i-1"}, s.record(c, core.InstanceRef{RegionID: in.RegionID})
}
func (s *stubECS) CreateInstance(_ context.Context, c core.Caller, in core.CreateInstanceInput) (core.InstanceID, error) {
	return "i-1", s.record(c, core.InstanceRef{RegionID: in.RegionID})
}
func (s *stubECS) DescribeInstances(_ context.Context, c core.Caller, in core.DescribeInstancesInput) (*core.InstancePage, error) {
	return &core.InstancePage{}, s.record(c, core.InstanceRef{RegionID: in.RegionID})
}
func (s *stubECS) StartInstance(_ context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.record(c, ref)
}
func (s *stubECS) StopInstance(_ context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.record(c, ref)
}
func (s *stubECS) RebootInstance(_ context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.record(c, ref)
}
func (s *stubECS) DeleteInstance(_ context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.record(c, ref)
}
func (s *stubECS) DescribeInstanceVncURL(_ context.Context, c core.Caller, ref core.InstanceRef) (*core.VNCToken, error) {
	return &core.VNCToken{Token: "tok/+="}, s.record(c, ref)
}
func (s *stubECS) ModifyInstanceVncPasswd(_ context.Context, c core.Caller, ref core.InstanceRef, pw core.Secret) error {
	s.mu.Lock()
	s.pw = pw
	s.mu.Unlock()
	return s.record(c, ref)
}

const (
	stubAK     = "LTAIstubkey"
	stubSecret = "stub-secret"
)

type rig struct {
	h     http.Handler
	clock *testutil.ManualClock
	ecs   *stubECS
	logs  *testutil.Buffer
	audit *auditLog
	// store holds the nonces, as latchkey's store does.
	store core.Store
}

func newRig(t testing.TB, edit ...func(*Deps)) *rig {
	t.Helper()
	r := &rig{clock: testutil.NewManualClock(time.Date(2026, 11, 23, 20, 19, 19, 0, time.UTC)), ecs: &stubECS{}, logs: new(testutil.Buffer), audit: &auditLog{}}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"), r.clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.store = st
	d := Deps{
		Nonces: service.NewNonces(st),
		Keys:   r.keys(),
		ECS:    r.ecs,
		Audit:  r.audit,
		Clock:  r.clock,
		Log:    slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&d)
	}
	r.h = NewHandler(d)
	return r
}

// keys are the rig's access keys.
func (r *rig) keys() stubKeys {
	return stubKeys{
		stubAK:          {principal: core.Principal{AccountID: "1234567890123456", AccessKeyID: stubAK}, secret: stubSecret},
		"LTAIother":     {principal: core.Principal{AccountID: "1234567890123456", AccessKeyID: "LTAIother"}, secret: stubSecret},
		"LTAIinactive":  {secret: stubSecret, inactive: true},
		"LTAIsubuser00": {principal: core.Principal{AccountID: "1234567890123456", User: "carol", AccessKeyID: "LTAIsubuser00"}, secret: stubSecret},
	}
}

// v1Params returns the common parameters of a V1 request at the rig's
// time with the given nonce, plus extra.
func (r *rig) v1Params(action, nonce string, extra map[string]string) map[string]string {
	p := map[string]string{
		"AccessKeyId": stubAK, "Action": action, "Version": ecsVersion, "Format": "JSON",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "",
		"SignatureNonce": nonce, "Timestamp": r.clock.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"RegionId": "cn-hangzhou",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// signV1 adds the Signature of params under secret for method.
func signV1(method string, params map[string]string, secret string) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		out[k] = v
	}
	out["Signature"] = v1Sign(core.NewSecret(secret), v1StringToSign(method, params))
	return out
}

func encode(params map[string]string) string {
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	return v.Encode()
}

// doV1 signs params and sends them in the query (inBody false) or in a
// form body.
func (r *rig) doV1(method string, params map[string]string, secret string, inBody bool) *httptest.ResponseRecorder {
	signed := signV1(method, params, secret)
	var req *http.Request
	if inBody {
		req = httptest.NewRequest(method, "http://ecs.example/", strings.NewReader(encode(signed)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, "http://ecs.example/?"+encode(signed), nil)
	}
	return r.serve(req)
}

func (r *rig) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	return rec
}

// v3Request builds a V3 request signed by darabonba's own signer
// (openapiutil.GetAuthorization), as the SDK would send it.
func (r *rig) v3Request(t *testing.T, action, nonce string, query map[string]string, body string, secret string) *http.Request {
	t.Helper()
	q := map[string]*string{}
	for k, v := range query {
		q[k] = dara.String(v)
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	headers := map[string]*string{
		"host":                  dara.String("ecs.example"),
		"x-acs-version":         dara.String(ecsVersion),
		"x-acs-action":          dara.String(action),
		"x-acs-date":            dara.String(r.clock.Now().UTC().Format("2006-01-02T15:04:05Z")),
		"x-acs-signature-nonce": dara.String(nonce),
		"x-acs-content-sha256":  dara.String(hash),
		"accept":                dara.String("application/json"),
	}
	if body != "" {
		headers["content-type"] = dara.String("application/x-www-form-urlencoded")
	}
	dreq := &dara.Request{Method: dara.String("POST"), Pathname: dara.String("/"), Query: q, Headers: headers}
	auth := openapiutil.GetAuthorization(dreq, dara.String("ACS3-HMAC-SHA256"), dara.String(hash), dara.String(stubAK), dara.String(secret))
	vals := url.Values{}
	for k, v := range query {
		vals.Set(k, v)
	}
	req := httptest.NewRequest("POST", "http://ecs.example/?"+vals.Encode(), strings.NewReader(body))
	for k, v := range headers {
		if k != "host" {
			req.Header.Set(k, *v)
		}
	}
	req.Header.Set("Authorization", *auth)
	return req
}

// errorOf decodes an error answer, checking the envelope: every field a
// string, RequestId an upper-case UUID equal to x-acs-request-id.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("error body is not JSON: %q", rec.Body.String())
	}
	for _, f := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if _, ok := raw[f].(string); !ok {
			t.Errorf("%s is %T, want a string", f, raw[f])
		}
	}
	for f, v := range raw {
		if f == "AccessDeniedDetail" {
			if _, ok := v.(map[string]any); !ok {
				t.Errorf("AccessDeniedDetail is %T, want an object", v)
			}
		} else if _, ok := v.(string); !ok {
			t.Errorf("field %s is %T", f, v)
		}
	}
	id, _ := raw["RequestId"].(string)
	if !requestIDPattern.MatchString(id) || rec.Header().Get("x-acs-request-id") != id {
		t.Errorf("RequestId %q, header %q", id, rec.Header().Get("x-acs-request-id"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != jsonContentType {
		t.Errorf("Content-Type %q", ct)
	}
	code, _ = raw["Code"].(string)
	message, _ = raw["Message"].(string)
	return code, message
}

func wantCode(t *testing.T, rec *httptest.ResponseRecorder, code string, status int) string {
	t.Helper()
	got, msg := errorOf(t, rec)
	if got != code || rec.Code != status {
		t.Fatalf("got %s (%d) %q, want %s (%d)", got, rec.Code, msg, code, status)
	}
	return msg
}

func wantOK(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if id, _ := v["RequestId"].(string); !requestIDPattern.MatchString(id) || rec.Header().Get("x-acs-request-id") != id {
		t.Errorf("RequestId %q header %q", id, rec.Header().Get("x-acs-request-id"))
	}
	return v
}

func TestTimestampWindow(t *testing.T) {
	r := newRig(t)
	now := r.clock.Now()
	for i, tc := range []struct {
		ts   string
		code string
	}{
		{now.Add(-15 * time.Minute).Format(time.RFC3339), ""},
		{now.Add(15 * time.Minute).Format(time.RFC3339), ""},
		{now.Add(-15*time.Minute - time.Second).Format(time.RFC3339), "InvalidTimeStamp.Expired"},
		{now.Add(15*time.Minute + time.Second).Format(time.RFC3339), "InvalidTimeStamp.Expired"},
		{now.In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339), ""},
		{now.Format("2006-01-02 15:04:05"), "InvalidTimeStamp.Format"},
		{"yesterday", "InvalidTimeStamp.Format"},
	} {
		p := r.v1Params("DescribeRegions", "nonce-"+string(rune('a'+i)), map[string]string{"Timestamp": tc.ts})
		rec := r.doV1("GET", p, stubSecret, false)
		if tc.code == "" {
			wantOK(t, rec)
			continue
		}
		msg := wantCode(t, rec, tc.code, 400)
		if tc.code == "InvalidTimeStamp.Format" && msg != "Specified time stamp or date value is not well formatted." {
			t.Errorf("message %q", msg)
		}
	}
}

func TestNonceRules(t *testing.T) {
	r := newRig(t)
	p := r.v1Params("DescribeRegions", "n-1", nil)
	wantOK(t, r.doV1("POST", p, stubSecret, false))
	wantCode(t, r.doV1("POST", p, stubSecret, false), "SignatureNonceUsed", 400)
	// The same nonce in another method, body or scheme is still used.
	wantCode(t, r.doV1("GET", p, stubSecret, true), "SignatureNonceUsed", 400)
	wantCode(t, r.serve(r.v3Request(t, "DescribeRegions", "n-1", map[string]string{"RegionId": "cn-hangzhou"}, "", stubSecret)), "SignatureNonceUsed", 400)

	// Nonces are per access key.
	other := r.v1Params("DescribeRegions", "n-1", map[string]string{"AccessKeyId": "LTAIother"})
	wantOK(t, r.doV1("POST", other, stubSecret, false))

	// A request that fails its signature does not burn the nonce.
	p2 := r.v1Params("DescribeRegions", "n-2", nil)
	wantCode(t, r.doV1("POST", p2, "forged", false), "SignatureDoesNotMatch", 400)
	wantOK(t, r.doV1("POST", p2, stubSecret, false))

	// A nonce is remembered for 30 minutes, then forgotten.
	r.clock.Add(29 * time.Minute)
	wantCode(t, r.doV1("POST", r.v1Params("DescribeRegions", "n-1", nil), stubSecret, false), "SignatureNonceUsed", 400)
	r.clock.Add(time.Minute)
	wantOK(t, r.doV1("POST", r.v1Params("DescribeRegions", "n-1", nil), stubSecret, false))

	// V3 nonces follow the same rules.
	v3 := r.v3Request(t, "DescribeRegions", "v3-nonce", map[string]string{"RegionId": "cn-hangzhou"}, "", stubSecret)
	wantOK(t, r.serve(v3))
	v3 = r.v3Request(t, "DescribeRegions", "v3-nonce", map[string]string{"RegionId": "cn-hangzhou"}, "", stubSecret)
	wantCode(t, r.serve(v3), "SignatureNonceUsed", 400)
}

// A nonce lives in the store: a handler over the same store (another
// replica, or this one after a restart) refuses it too.
func TestNonceIsRefusedByEveryHandlerOfTheStore(t *testing.T) {
	r := newRig(t)
	p := signV1("POST", r.v1Params("DescribeRegions", "shared-1", nil), stubSecret)
	wantOK(t, r.doV1("POST", p, stubSecret, false))
	other := NewHandler(Deps{Keys: r.keys(), ECS: r.ecs, Audit: r.audit, Clock: r.clock, Nonces: service.NewNonces(r.store)})
	req := httptest.NewRequest("POST", "http://ecs.example/", strings.NewReader(encode(p)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	other.ServeHTTP(rec, req)
	wantCode(t, rec, "SignatureNonceUsed", 400)
}

// A nonce longer than any SDK sends is refused before anything is
// stored.
func TestNonceLengthIsBounded(t *testing.T) {
	r := newRig(t)
	wantOK(t, r.doV1("POST", r.v1Params("DescribeRegions", strings.Repeat("n", maxNonce), nil), stubSecret, false))
	wantCode(t, r.doV1("POST", r.v1Params("DescribeRegions", strings.Repeat("n", maxNonce+1), nil), stubSecret, false), "InvalidParameter", 400)
	// A sweep of every nonce, in an Update rolled back, counts them.
	counted := errors.New("counted")
	err := r.store.Update(context.Background(), func(tx core.Tx) error {
		n, err := tx.SweepNonces(context.Background(), r.clock.Now().Add(24*time.Hour), 1000)
		if err == nil && n != 1 {
			t.Errorf("%d nonces stored, want the one accepted", n)
		}
		if err != nil {
			return err
		}
		return counted
	})
	if err != counted {
		t.Fatal(err)
	}
}

func TestProtocolErrors(t *testing.T) {
	r := newRig(t)
	ok := r.v1Params("DescribeRegions", "x", nil)

	req := httptest.NewRequest("GET", "http://ecs.example/other?"+encode(signV1("GET", ok, stubSecret)), nil)
	wantCode(t, r.serve(req), "InvalidAction.NotFound", 404)
	req = httptest.NewRequest("PUT", "http://ecs.example/?"+encode(signV1("PUT", ok, stubSecret)), nil)
	wantCode(t, r.serve(req), "UnsupportedHTTPMethod", 400)
	req = httptest.NewRequest("POST", "http://ecs.example/?a=1&a=2", nil)
	if msg := wantCode(t, r.serve(req), "InvalidParameter", 400); msg != `The specified parameter "a" is not valid.` {
		t.Errorf("duplicate parameter message %q", msg)
	}
	req = httptest.NewRequest("POST", "http://ecs.example/", bytes.NewReader(make([]byte, maxBody+1)))
	wantCode(t, r.serve(req), "InvalidParameter.BodyTooLarge", 413)

	for _, tc := range []struct {
		name   string
		edit   map[string]string
		code   string
		status int
		msg    string
	}{
		{"unknown version", map[string]string{"Version": "2099-01-01"}, "InvalidVersion", 400, "Specified parameter Version is not valid."},
		{"unknown action", map[string]string{"Action": "LaunchRockets"}, "InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method."},
		{"unknown key", map[string]string{"AccessKeyId": "LTAInobody"}, "InvalidAccessKeyId.NotFound", 404, "Specified access key is not found."},
		{"inactive key", map[string]string{"AccessKeyId": "LTAIinactive"}, "InvalidAccessKeyId.Inactive", 400, "Specified access key is disabled."},
		{"security token", map[string]string{"SecurityToken": "tok"}, "InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed."},
		{"signature method", map[string]string{"SignatureMethod": "HMAC-SHA256"}, "InvalidSignatureMethod", 400, "Specified signature method is not valid."},
		{"missing nonce", map[string]string{"SignatureNonce": ""}, "MissingParameter", 400, `The input parameter "SignatureNonce" that is mandatory for processing this request is not supplied.`},
		{"bad format", map[string]string{"Format": "CSV"}, "InvalidParameter.Format", 400, "Specified parameter format is not valid."},
	} {
		p := r.v1Params("DescribeRegions", "nonce-"+tc.name, tc.edit)
		msg := wantCode(t, r.doV1("POST", p, stubSecret, false), tc.code, tc.status)
		if msg != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, msg, tc.msg)
		}
	}

	// No Signature at all: IncompleteSignature with the server's string
	// to sign.
	p := r.v1Params("DescribeRegions", "unsigned", nil)
	req = httptest.NewRequest("GET", "http://ecs.example/?"+encode(p), nil)
	msg := wantCode(t, r.serve(req), "IncompleteSignature", 400)
	if want := "The request signature does not conform to Aliyun standards." + stringToSignMarker + v1StringToSign("GET", p); msg != want {
		t.Errorf("IncompleteSignature message %q, want %q", msg, want)
	}

	// SignatureDoesNotMatch carries exactly the server's string to sign.
	p = r.v1Params("DescribeRegions", "mismatch", map[string]string{"Name": "a b*~é"})
	msg = wantCode(t, r.doV1("GET", p, "wrong", false), "SignatureDoesNotMatch", 400)
	if want := "Specified signature is not matched with our calculation." + stringToSignMarker + v1StringToSign("GET", p); msg != want {
		t.Errorf("SignatureDoesNotMatch message %q, want %q", msg, want)
	}
}

// V1 parameters may come in a form body; query and body are signed
// together.
func TestV1FormBody(t *testing.T) {
	r := newRig(t)
	p := r.v1Params("ModifyInstanceVncPasswd", "form", map[string]string{"InstanceId": "i-form", "VncPassword": "Abc123"})
	wantOK(t, r.doV1("POST", p, stubSecret, true))
	if r.ecs.ref.InstanceID != "i-form" || r.ecs.pw.Reveal() != "Abc123" {
		t.Errorf("handler saw %+v", r.ecs.ref)
	}
	// Split across query and body.
	signed := signV1("POST", r.v1Params("StartInstance", "split", map[string]string{"InstanceId": "i-split"}), stubSecret)
	body := url.Values{"InstanceId": {signed["InstanceId"]}, "Signature": {signed["Signature"]}}
	delete(signed, "InstanceId")
	delete(signed, "Signature")
	req := httptest.NewRequest("POST", "http://ecs.example/?"+encode(signed), strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	wantOK(t, r.serve(req))
	if r.ecs.ref.InstanceID != "i-split" {
		t.Errorf("handler saw %+v", r.ecs.ref)
	}
	// A parameter in both counts once, with the form's value, as SDKv1
	// signs it: the signed map is the form's value over the query's.
	signed = signV1("POST", r.v1Params("StartInstance", "both", map[string]string{"InstanceId": "i-form"}), stubSecret)
	query := maps.Clone(signed)
	query["InstanceId"] = "i-query"
	req = httptest.NewRequest("POST", "http://ecs.example/?"+encode(query), strings.NewReader("InstanceId=i-form"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	wantOK(t, r.serve(req))
	if r.ecs.ref.InstanceID != "i-form" {
		t.Errorf("a parameter in query and form: handler saw %q, want the form's value", r.ecs.ref.InstanceID)
	}
	// Repeated within the form body, it is refused.
	signed = signV1("POST", r.v1Params("StartInstance", "dup", nil), stubSecret)
	req = httptest.NewRequest("POST", "http://ecs.example/?"+encode(signed), strings.NewReader("InstanceId=i-1&InstanceId=i-2"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if msg := wantCode(t, r.serve(req), "InvalidParameter", 400); msg != `The specified parameter "InstanceId" is not valid.` {
		t.Errorf("repeated form parameter message %q", msg)
	}
}

func TestV3Rules(t *testing.T) {
	r := newRig(t)
	q := map[string]string{"RegionId": "cn-hangzhou", "InstanceId": "i-v3", "VncPassword": "Abc123"}
	wantOK(t, r.serve(r.v3Request(t, "ModifyInstanceVncPasswd", "v3-a", q, "", stubSecret)))
	if r.ecs.ref.InstanceID != "i-v3" || r.ecs.pw.Reveal() != "Abc123" {
		t.Errorf("handler saw %+v", r.ecs.ref)
	}

	// Parameters in a form body, which V3 signs through its hash.
	req := r.v3Request(t, "StartInstance", "v3-body", map[string]string{"RegionId": "cn-hangzhou"}, "InstanceId=i-body", stubSecret)
	wantOK(t, r.serve(req))
	if r.ecs.ref.InstanceID != "i-body" {
		t.Errorf("form body parameter: handler saw %+v", r.ecs.ref)
	}
	// A body changed in flight no longer matches.
	req = r.v3Request(t, "StartInstance", "v3-tamper", map[string]string{"RegionId": "cn-hangzhou"}, "InstanceId=i-body", stubSecret)
	req.Body = io.NopCloser(strings.NewReader("InstanceId=i-evil"))
	msg := wantCode(t, r.serve(req), "SignatureDoesNotMatch", 400)
	if !strings.Contains(msg, stringToSignMarker+"ACS3-HMAC-SHA256\n") {
		t.Errorf("V3 mismatch message %q", msg)
	}
	// An x-acs-* header that is not signed could be changed in flight.
	req = r.v3Request(t, "DescribeRegions", "v3-extra", map[string]string{}, "", stubSecret)
	req.Header.Set("x-acs-extra", "1")
	wantCode(t, r.serve(req), "IncompleteSignature", 400)
	// Host must be signed.
	req = r.v3Request(t, "DescribeRegions", "v3-host", map[string]string{}, "", stubSecret)
	auth := req.Header.Get("Authorization")
	req.Header.Set("Authorization", strings.Replace(auth, "SignedHeaders=host;", "SignedHeaders=", 1))
	wantCode(t, r.serve(req), "IncompleteSignature", 400)
	// Missing date.
	req = r.v3Request(t, "DescribeRegions", "v3-date", map[string]string{}, "", stubSecret)
	req.Header.Del("x-acs-date")
	if msg := wantCode(t, r.serve(req), "MissingParameter", 400); !strings.Contains(msg, "x-acs-date") {
		t.Errorf("message %q", msg)
	}
	// A SHA-256 signature labelled SM3 is checked as SM3, and fails.
	req = r.v3Request(t, "DescribeRegions", "v3-sm3", map[string]string{}, "", stubSecret)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
	wantCode(t, r.serve(req), "SignatureDoesNotMatch", 400)
	// An algorithm latchkey does not verify.
	req = r.v3Request(t, "DescribeRegions", "v3-rsa", map[string]string{}, "", stubSecret)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-RSA-SHA256", 1))
	wantCode(t, r.serve(req), "InvalidSignatureMethod", 400)
	// A stale x-acs-date.
	r.clock.Add(-20 * time.Minute)
	req = r.v3Request(t, "DescribeRegions", "v3-stale", map[string]string{}, "", stubSecret)
	r.clock.Add(20 * time.Minute)
	wantCode(t, r.serve(req), "InvalidTimeStamp.Expired", 400)
	// A security token.
	req = r.v3Request(t, "DescribeRegions", "v3-sts", map[string]string{}, "", stubSecret)
	req.Header.Set("x-acs-security-token", "tok")
	// (an unsigned x-acs header is caught first)
	wantCode(t, r.serve(req), "IncompleteSignature", 400)
}

// The caller the services see: principal, source address, TLS.
func TestCallerAndRequestID(t *testing.T) {
	n := 0
	r := newRig(t, func(d *Deps) {
		d.NewRequestID = func() core.RequestID {
			n++
			return core.RequestID("0000000" + string(rune('0'+n)) + "-AAAA-4AAA-8AAA-AAAAAAAAAAAA")
		}
	})
	p := signV1("POST", r.v1Params("StartInstance", "c1", map[string]string{"InstanceId": "i-1", "DryRun": "true"}), stubSecret)
	req := httptest.NewRequest("POST", "https://ecs.example/?"+encode(p), nil)
	req.RemoteAddr = "[::ffff:10.1.2.3]:4567"
	wantOK(t, r.serve(req))
	c := r.ecs.caller
	if c.AccountID != "1234567890123456" || c.AccessKeyID != stubAK || !c.Secure ||
		c.SourceIP != netip.MustParseAddr("10.1.2.3") || c.RequestID != "00000001-AAAA-4AAA-8AAA-AAAAAAAAAAAA" {
		t.Errorf("caller %+v", c)
	}
	if !r.ecs.ref.DryRun || r.ecs.ref.RegionID != "cn-hangzhou" {
		t.Errorf("ref %+v", r.ecs.ref)
	}
	ev := r.audit.all()
	if len(ev) != 1 || ev[0].RequestID != c.RequestID || ev[0].Resource != "i-1" || ev[0].Result != "Success" || ev[0].SourceIP != c.SourceIP {
		t.Errorf("audit %+v", ev)
	}
	for _, remote := range []string{"192.0.2.1:80", "[fe80::1%eth0]:80", "garbage"} {
		t.Logf("%s → %v", remote, sourceIP(remote))
	}
	if sourceIP("[fe80::1%eth0]:80") != netip.MustParseAddr("fe80::1") || sourceIP("garbage").IsValid() {
		t.Error("sourceIP")
	}
}

// Internal errors never show their text; the error is logged instead.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	r := newRig(t)
	r.ecs.err = errors.New("disk full at /var/lib/latchkey (detail-7781)")
	rec := r.doV1("POST", r.v1Params("StartInstance", "i1", map[string]string{"InstanceId": "i-1"}), stubSecret, false)
	msg := wantCode(t, rec, "InternalError", 500)
	if msg != "The request processing has failed due to some unknown error, exception or failure." || strings.Contains(rec.Body.String(), "detail-7781") {
		t.Errorf("internal error body %s", rec.Body.String())
	}
	if !strings.Contains(r.logs.String(), "detail-7781") {
		t.Error("the cause of an internal error is not logged")
	}
	if ev := r.audit.all(); len(ev) != 1 || ev[0].Result != "InternalError" {
		t.Errorf("audit %+v", ev)
	}

	r.ecs.err, r.ecs.panics = nil, true
	wantCode(t, r.doV1("POST", r.v1Params("StartInstance", "i2", map[string]string{"InstanceId": "i-1"}), stubSecret, false), "InternalError", 500)

	// A core error with a message of its own still renders the table's
	// text for its code.
	r.ecs.panics = false
	r.ecs.err = &core.Error{Kind: core.KindUnavailable, Message: "backend pool exhausted (detail-9)"}
	rec = r.doV1("POST", r.v1Params("StartInstance", "i3", map[string]string{"InstanceId": "i-1"}), stubSecret, false)
	wantCode(t, rec, "ServiceUnavailable", 503)
	if strings.Contains(rec.Body.String(), "detail-9") {
		t.Error("an unavailable error shows its internal message")
	}
}

func TestForbiddenRAMDetail(t *testing.T) {
	r := newRig(t)
	r.ecs.err = &core.Error{Kind: core.KindForbidden, Reason: core.ReasonRAMDenied, Denial: &core.Denial{
		Action: "ecs:StartInstance", Resource: "acs:ecs:cn-hangzhou:1234567890123456:instance/i-1",
		PrincipalType: "SubUser", PrincipalID: "carol", AccountID: "1234567890123456", Explicit: true,
	}}
	p := r.v1Params("StartInstance", "ram", map[string]string{"AccessKeyId": "LTAIsubuser00", "InstanceId": "i-1"})
	rec := r.doV1("POST", p, stubSecret, false)
	wantCode(t, rec, "Forbidden.RAM", 403)
	var body struct{ AccessDeniedDetail map[string]string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	d := body.AccessDeniedDetail
	if d["AuthAction"] != "ecs:StartInstance" || d["AuthPrincipalType"] != "SubUser" || d["AuthPrincipalDisplayName"] != "carol" ||
		d["AuthPrincipalOwnerId"] != "1234567890123456" || d["NoPermissionType"] != "ExplicitDeny" || d["EncodedDiagnosticMessage"] == "" {
		t.Errorf("AccessDeniedDetail %v", d)
	}
	if r.ecs.caller.User != "carol" {
		t.Errorf("caller %+v", r.ecs.caller)
	}
}

func TestDescribeInstanceVncURLEncoding(t *testing.T) {
	r := newRig(t, func(d *Deps) {
		d.ConsoleURL = func(tok string) string { return "wss://127.0.0.1:8443/vnc/?s=" + url.QueryEscape(tok) }
	})
	v := wantOK(t, r.doV1("POST", r.v1Params("DescribeInstanceVncUrl", "v", map[string]string{"InstanceId": "i-1"}), stubSecret, false))
	if got, want := v["VncUrl"], "wss%3A%2F%2F127.0.0.1%3A8443%2Fvnc%2F%3Fs%3Dtok%252F%252B%253D"; got != want {
		t.Errorf("VncUrl %v, want %v", got, want)
	}
}

func TestXMLRendering(t *testing.T) {
	r := newRig(t)
	p := r.v1Params("DescribeRegions", "xml", map[string]string{"Format": "XML", "AcceptLanguage": "en-US"})
	rec := r.doV1("GET", p, stubSecret, false)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != xmlContentType {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	id := rec.Header().Get("x-acs-request-id")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<DescribeRegionsResponse><RequestId>` + id + `</RequestId><Regions><Region>` +
		`<RegionId>cn-hangzhou</RegionId><LocalName>China (Hangzhou)</LocalName>` +
		`<RegionEndpoint>ecs.cn-hangzhou.aliyuncs.com</RegionEndpoint><Status>available</Status>` +
		`</Region></Regions></DescribeRegionsResponse>`
	if rec.Body.String() != want {
		t.Errorf("XML:\n got %s\nwant %s", rec.Body.String(), want)
	}

	// A bare response renders its RequestId alone.
	p = r.v1Params("StartInstance", "xml2", map[string]string{"Format": "xml", "InstanceId": "i-1"})
	rec = r.doV1("POST", p, stubSecret, false)
	if want := "<StartInstanceResponse><RequestId>" + rec.Header().Get("x-acs-request-id") + "</RequestId></StartInstanceResponse>"; !strings.HasSuffix(rec.Body.String(), want) {
		t.Errorf("bare XML %s", rec.Body.String())
	}

	// Wrapped lists and special characters.
	resp := &ecsRunInstancesResponse{}
	resp.InstanceIdSets.InstanceIdSet = []string{"i-1", "i-<2>"}
	b, err := marshalXML("RunInstancesResponse", resp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "<InstanceIdSets><InstanceIdSet>i-1</InstanceIdSet><InstanceIdSet>i-&lt;2&gt;</InstanceIdSet></InstanceIdSets>") ||
		!strings.Contains(string(b), "<TradePrice>0</TradePrice>") {
		t.Errorf("RunInstances XML %s", b)
	}
}

// Every request the server handled was logged without a secret, a
// password or the Authorization header.
func TestLogsHoldNoSecrets(t *testing.T) {
	r := newRig(t)
	wantOK(t, r.doV1("POST", r.v1Params("ModifyInstanceVncPasswd", "l1", map[string]string{"InstanceId": "i-1", "VncPassword": "Zq9Xy7"}), stubSecret, false))
	wantOK(t, r.serve(r.v3Request(t, "ModifyInstanceVncPasswd", "l2", map[string]string{"RegionId": "cn-hangzhou", "InstanceId": "i-1", "VncPassword": "Zq9Xy7"}, "", stubSecret)))
	wantCode(t, r.doV1("POST", r.v1Params("ModifyInstanceVncPasswd", "l3", map[string]string{"VncPassword": "Zq9Xy7"}), "wrong", false), "SignatureDoesNotMatch", 400)
	logs := r.logs.String()
	for _, s := range []string{"Zq9Xy7", stubSecret, "ACS3-HMAC-SHA256 Credential", "Signature="} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a secret (%d bytes)", len(s))
		}
	}
	if !strings.Contains(logs, "action=ModifyInstanceVncPasswd") {
		t.Error("requests are not logged")
	}
}

// auditLog keeps audit events in memory.
type auditLog struct {
	mu     sync.Mutex
	events []core.AuditEvent
}

func (a *auditLog) Record(_ context.Context, ev core.AuditEvent) error {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	return nil
}

// Flush implements core.Auditor: Record stores at once.
func (a *auditLog) Flush(context.Context) error { return nil }

func (a *auditLog) all() []core.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]core.AuditEvent(nil), a.events...)
}
