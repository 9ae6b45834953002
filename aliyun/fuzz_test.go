package aliyun

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testutil"
)

// The RPC fuzzers drive the front end (NewHandler over the rig's stub ECS
// and SQLite nonces) with requests whose seeds the official SDKs signed:
// SDKv1 for V1, darabonba for V3 and its HMAC-SHA1 fallback. With resign
// set, the mutated request is signed again at the rig's time with a fresh
// nonce (V1 by this package's signer, which the published vectors pin;
// V3 by darabonba's openapiutil.GetAuthorization), so that mutations of
// the parameters reach the handlers' readers instead of stopping at the
// signature.

// capturedRequest is one request as a client put it on the wire.
type capturedRequest struct {
	method, rawQuery string
	header           http.Header
	body             string
}

// capture is an http.RoundTripper (for SDKv1) and an http.Handler (for
// darabonba, which needs an endpoint) that keeps every request and answers
// each with an empty success.
type capture struct {
	mu   sync.Mutex
	reqs []capturedRequest
}

func (c *capture) keep(r *http.Request) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, capturedRequest{method: r.Method, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: string(body)})
	c.mu.Unlock()
}

const capturedAnswer = `{"RequestId":"00000000-0000-0000-0000-000000000000"}`

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.keep(r)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(capturedAnswer)), Request: r}, nil
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.keep(r)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, capturedAnswer)
}

// sdkv1Requests returns requests SDKv1 signed: typed ECS calls (POST,
// form body) and CommonRequests (GET), with values that exercise every
// encoding rule.
func sdkv1Requests(t testing.TB) []capturedRequest {
	testutil.NoProxy(t)
	c := &capture{}
	cfg := sdk.NewConfig()
	cfg.Transport = c
	cfg.AutoRetry = false
	client, err := ecs.NewClientWithOptions(testRegion, cfg, credentials.NewAccessKeyCredential(stubAK, stubSecret))
	if err != nil {
		t.Fatal(err)
	}
	client.Domain = "ecs.example"
	run := ecs.CreateRunInstancesRequest()
	run.ImageId, run.InstanceType, run.InstanceName = "img", "ecs.g7.large", "华东 1（杭州）*~+/ %"
	run.Description, run.HostName = "a b&c=d", "web-1"
	run.Tag = &[]ecs.RunInstancesTag{{Key: "k", Value: "v"}}
	run.Amount = requests.NewInteger(2)
	client.RunInstances(run)
	desc := ecs.CreateDescribeInstancesRequest()
	desc.PageNumber, desc.PageSize = requests.NewInteger(2), requests.NewInteger(100)
	desc.InstanceIds = `["i-1","i-2"]`
	client.DescribeInstances(desc)
	vnc := ecs.CreateModifyInstanceVncPasswdRequest()
	vnc.InstanceId, vnc.VncPassword = "i-1", "Ab1234"
	client.ModifyInstanceVncPasswd(vnc)
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId, stop.ForceStop = "i-1", requests.NewBoolean(true)
	client.StopInstance(stop)
	common := requests.NewCommonRequest()
	common.Domain, common.Version, common.ApiName = "ecs.example", ecsVersion, "DescribeRegions"
	common.QueryParams["AcceptLanguage"] = "en-US"
	client.ProcessCommonRequest(common)
	ehpc := requests.NewCommonRequest()
	ehpc.Domain, ehpc.Version, ehpc.ApiName = "ehpc.example", "2018-04-12", "ListClusters"
	ehpc.QueryParams["PageNumber"], ehpc.QueryParams["PageSize"] = "1", "50"
	client.ProcessCommonRequest(ehpc)
	if len(c.reqs) == 0 {
		t.Fatal("SDKv1 sent no request")
	}
	return c.reqs
}

// daraRequests returns requests darabonba's openapi client signed, with
// V3 (ACS3-HMAC-SHA256, ACS3-HMAC-SM3) and with SignatureAlgorithm "v2"
// (HMAC-SHA1), parameters in the query and in a form body, as ECSv7's
// generated methods send them.
func daraRequests(t testing.TB) []capturedRequest {
	c := &capture{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	for _, alg := range []string{"", "v2", "ACS3-HMAC-SM3"} {
		cfg := &openapi.Config{
			AccessKeyId: dara.String(stubAK), AccessKeySecret: dara.String(stubSecret),
			Endpoint: dara.String(strings.TrimPrefix(srv.URL, "http://")), Protocol: dara.String("HTTP"),
			RegionId: dara.String(testRegion),
		}
		if alg != "" {
			cfg.SignatureAlgorithm = dara.String(alg)
		}
		client, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		params := &openapi.Params{
			Action: dara.String("DescribeInstances"), Version: dara.String(ecsVersion), Protocol: dara.String("HTTP"),
			Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
			ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
		}
		req := &openapiutil.OpenApiRequest{
			Query: map[string]*string{"RegionId": dara.String(testRegion), "PageNumber": dara.String("1"), "InstanceName": dara.String("a b*~")},
			Body:  map[string]any{"Description": "é & =", "MaxResults": "10"},
		}
		if _, err := client.CallApi(params, req, &dara.RuntimeOptions{}); err != nil {
			t.Fatalf("darabonba %q: %v", alg, err)
		}
	}
	return c.reqs
}

// fuzzRig is a rig whose log keeps only warnings and errors (a fuzzing
// run sends millions of requests) and whose handler is checked for
// panics, and which hands out fresh nonces.
type fuzzRig struct {
	*rig
	log   *panicWatch
	nonce atomic.Int64
}

// panicWatch is a log sink that remembers whether a record mentioned a
// panic, and nothing else.
type panicWatch struct{ panicked atomic.Bool }

func (p *panicWatch) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.panicked.Store(true)
	}
	return len(b), nil
}

func newFuzzRig(f *testing.F) *fuzzRig {
	pw := &panicWatch{}
	r := newRig(f, func(d *Deps) {
		d.Audit = nil
		d.Log = slog.New(slog.NewTextHandler(pw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	return &fuzzRig{rig: r, log: pw}
}

func (r *fuzzRig) freshNonce() string { return fmt.Sprintf("fuzz-%d", r.nonce.Add(1)) }

// check fails the test if the answer is a 5xx, if it or the log shows a
// panic, or if the answer shows a Go source position or stack.
func (r *fuzzRig) check(t *testing.T, rec *httptest.ResponseRecorder, input string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if r.log.panicked.Load() {
		t.Fatal("the handler logged a panic")
	}
	for _, internal := range []string{"goroutine ", ".go:", "runtime error", "panic:"} {
		if strings.Contains(rec.Body.String(), internal) && !strings.Contains(input, internal) {
			t.Fatalf("the answer shows %q: %s", internal, rec.Body.String())
		}
	}
}

// rpcRequest builds a request for the front end from fuzzed parts.
func rpcRequest(method, rawQuery, contentType, body string) (*http.Request, bool) {
	req, err := http.NewRequest(method, "http://ecs.example/", strings.NewReader(body))
	if err != nil {
		return nil, false
	}
	req.URL.RawQuery = rawQuery
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, true
}

func FuzzV1(f *testing.F) {
	r := newFuzzRig(f)
	for _, c := range append(sdkv1Requests(f), daraRequests(f)...) {
		if strings.HasPrefix(c.header.Get("Authorization"), v3AlgorithmPrefix) {
			continue
		}
		for _, resign := range []bool{false, true} {
			f.Add(c.method, c.rawQuery, c.header.Get("Content-Type"), c.body, resign)
		}
	}
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType, body string, resign bool) {
		req, ok := rpcRequest(method, rawQuery, contentType, body)
		if !ok {
			return
		}
		// The canonical query is a faithful encoding: it decodes back to
		// the parameters it was built from.
		if _, params, aerr := requestParams(req, []byte(body)); aerr == nil {
			back, err := url.ParseQuery(canonicalQuery(params, ""))
			if err != nil || len(back) != len(params) {
				t.Fatalf("canonical query does not decode back: %v (%d of %d)", err, len(back), len(params))
			}
			for k, v := range params {
				if got := back.Get(k); got != v {
					t.Fatalf("parameter %q: canonical form decodes to %q, want %q", k, got, v)
				}
			}
			if resign {
				req = r.resignV1(req, params, body != "" && isForm(contentType))
			}
		}
		rec := r.serve(req)
		r.check(t, rec, rawQuery+body)
	})
}

// resignV1 signs params again at the rig's time with a fresh nonce, in a
// form body (inBody) or the query, keeping the method.
func (r *fuzzRig) resignV1(orig *http.Request, params map[string]string, inBody bool) *http.Request {
	p := make(map[string]string, len(params)+3)
	for k, v := range params {
		p[k] = v
	}
	delete(p, "Signature")
	p["AccessKeyId"], p["SignatureNonce"] = stubAK, r.freshNonce()
	p["Timestamp"] = r.clock.Now().UTC().Format("2006-01-02T15:04:05Z")
	signed := encode(signV1(orig.Method, p, stubSecret))
	req, _ := rpcRequest(orig.Method, signed, "", "")
	if inBody {
		req, _ = rpcRequest(orig.Method, "", "application/x-www-form-urlencoded", signed)
	}
	return req
}

func FuzzV3(f *testing.F) {
	r := newFuzzRig(f)
	for _, c := range daraRequests(f) {
		if !strings.HasPrefix(c.header.Get("Authorization"), v3AlgorithmPrefix) {
			continue
		}
		var h strings.Builder
		for k, vs := range c.header {
			for _, v := range vs {
				fmt.Fprintf(&h, "%s: %s\n", k, v)
			}
		}
		for _, resign := range []bool{false, true} {
			f.Add(c.method, c.rawQuery, h.String(), c.body, resign)
		}
	}
	f.Fuzz(func(t *testing.T, method, rawQuery, headers, body string, resign bool) {
		req, ok := rpcRequest(method, rawQuery, "", body)
		if !ok {
			return
		}
		for line := range strings.SplitSeq(headers, "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if ok && k != "" {
				req.Header.Add(k, v)
			}
		}
		if resign {
			if query, _, aerr := requestParams(req, []byte(body)); aerr == nil {
				r.resignV3(req, query, body)
			}
		}
		rec := r.serve(req)
		r.check(t, rec, rawQuery+headers+body)
	})
}

// resignV3 replaces the date, nonce and Authorization of req with a
// signature by darabonba's signer over every x-acs-* header, host and
// content-type, at the rig's time.
func (r *fuzzRig) resignV3(req *http.Request, query map[string]string, body string) {
	alg := "ACS3-HMAC-SHA256"
	if a, _, _ := strings.Cut(req.Header.Get("Authorization"), " "); a == "ACS3-HMAC-SM3" {
		alg = a
	}
	req.Header.Set(hDate, r.clock.Now().UTC().Format("2006-01-02T15:04:05Z"))
	req.Header.Set(hNonce, r.freshNonce())
	a, _ := v3AlgorithmNamed(alg)
	hash := a.sum([]byte(body))
	req.Header.Set("x-acs-content-sha256", hash)
	headers := map[string]*string{"host": dara.String(req.Host)}
	for k := range req.Header {
		l := strings.ToLower(k)
		if strings.HasPrefix(l, "x-acs-") || l == "content-type" {
			headers[l] = dara.String(strings.Join(req.Header.Values(k), ","))
		}
	}
	q := make(map[string]*string, len(query))
	for k, v := range query {
		q[k] = dara.String(v)
	}
	dreq := &dara.Request{Method: dara.String(req.Method), Pathname: dara.String("/"), Query: q, Headers: headers}
	auth := openapiutil.GetAuthorization(dreq, dara.String(alg), dara.String(hash), dara.String(stubAK), dara.String(stubSecret))
	req.Header.Set("Authorization", dara.StringValue(auth))
}
