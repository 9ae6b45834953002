package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	sdkbce "github.com/baidubce/bce-sdk-go/bce"
	sdkhttp "github.com/baidubce/bce-sdk-go/http"
	"github.com/coder/websocket"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testenv"
)

// The hostile suite sends malformed and hostile requests to a whole
// latchkey serving the demo fleet, on every surface: the Alibaba RPC
// front end with both signature versions, BCE under /v2/, the internal
// API with and without its token, the console page and the VNC gateway.
// The cases are generated: a table of hostile values applied to each
// parameter of valid requests, which the official SDKs sign (SDKv1 for
// V1, darabonba for V3, bce-sdk-go for BCE) so that each one reaches the
// validation it targets, plus tables of malformed requests that no
// signer would produce. Every answer must be below 500 and show no Go
// internals; the server must log no panic; and the fleet must be what it
// was before (GET /_latchkey/resources).

// hostileValues are the values each parameter is tried with.
var hostileValues = []struct{ name, value string }{
	{"empty", ""},
	{"huge", "99999999999999999999999999"},
	{"int64 overflow", "9223372036854775808"},
	{"int64 minimum", "-9223372036854775808"},
	{"int32 overflow", "2147483648"},
	{"negative", "-1"},
	{"zero", "0"},
	{"fraction", "1.5"},
	{"exponent", "1e9"},
	{"hex", "0x10"},
	{"word", "abc"},
	{"bool", "true"},
	{"broken json", `["a"`},
	{"json object", `{"a":{"b":[1,2,{}]}}`},
	{"unicode", "名字\u202eabc\U0001F600"},
	{"nul", "a\x00b"},
	{"header injection", "x\r\nX-Injected: 1"},
	{"long", strings.Repeat("A", 100_000)},
	{"path traversal", "../../../../etc/passwd"},
	{"percent", "%zz%00%"},
	{"sql", "' OR '1'='1' --"},
	{"markup", "<script>alert(1)</script>"},
}

// invalidNames are the hostile values no product accepts as a name (the
// others could create something), for creation calls.
var invalidNames = []string{"", strings.Repeat("A", 100_000), "a\x00b", "x\r\nX-Injected: 1", "../../../../etc/passwd", "%zz%00%", "' OR '1'='1' --", "<script>alert(1)</script>"}

// invalidNumbers are the hostile values no count accepts, for creation
// calls.
var invalidNumbers = []string{"99999999999999999999999999", "9223372036854775808", "-9223372036854775808", "2147483648", "-1", "1.5", "1e9", "0x10", "abc", "true"}

// answer is what a case saw: the status and the body (or the error text
// a client reported).
type answer struct {
	status int
	body   string
}

// hostileCase is one request; input is what it sent, so that an answer
// echoing the input is not mistaken for a leak.
type hostileCase struct {
	name   string
	input  string
	signed bool // an official signer signed it: it must pass authentication
	send   func() (answer, error)
}

// authRefusal matches the authentication refusals of both clouds, which a
// correctly signed case must never get.
var authRefusal = regexp.MustCompile(`SignatureDoesNotMatch|IncompleteSignature|InvalidAccessKeyId|InvalidTimeStamp|SignatureNonceUsed|InvalidHTTPAuthHeader|RequestExpired`)

// internals are texts an answer must never show unless its input did.
var internals = []*regexp.Regexp{
	regexp.MustCompile(`goroutine \d`),
	regexp.MustCompile(`(?i)panic`),
	regexp.MustCompile(`\.go:\d`),
	regexp.MustCompile(`runtime error`),
	regexp.MustCompile(`(/home/|/tmp/|/root/|/work/|/usr/|/var/)`),
	regexp.MustCompile(`(?i)(sqlite|sqlstate|syntax error at or near|no such table)`),
	regexp.MustCompile(`strconv\.`),
	regexp.MustCompile(`(json: |invalid character '|yaml: |unexpected EOF|cannot unmarshal)`),
	regexp.MustCompile(`net/http|crypto/|tls: `),
}

// recorder is an http.RoundTripper that keeps the status and body of the
// last answer, for SDKs that turn answers into errors.
type recorder struct {
	mu   sync.Mutex
	last answer
	rt   http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.last = answer{resp.StatusCode, string(b)}
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) answer() answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// suite holds the server and the clients the cases use.
type suite struct {
	e     *testenv.Env
	plain *http.Client // plain HTTP, no proxy
	v1    *sdk.Client
	v1rec *recorder
	v3    *openapi.Client
	bce   *sdkbce.BceClient

	instance, cluster, bccInstance string
}

func newSuite(t *testing.T) *suite {
	e := testenv.Start(t, testenv.WithDemo())
	s := &suite{e: e, plain: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	s.v1rec = &recorder{rt: &http.Transport{Proxy: nil}}
	cfg := sdk.NewConfig()
	cfg.Transport, cfg.AutoRetry = s.v1rec, false
	var err error
	s.v1, err = sdk.NewClientWithOptions(testenv.Region, cfg, credentials.NewAccessKeyCredential(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	s.v3 = e.OpenAPI(t, false)
	s.bce, err = sdkbce.NewBceClientWithAkSk(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret, e.Endpoints.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	s.bce.Config.Retry = sdkbce.NewNoRetryPolicy()

	list, err := e.ECS(t).DescribeInstances(ecs.CreateDescribeInstancesRequest())
	if err != nil || len(list.Instances.Instance) == 0 {
		t.Fatalf("the demo fleet has no ECS instance: %v", err)
	}
	s.instance = list.Instances.Instance[0].InstanceId
	var clusters struct {
		Clusters struct{ ClusterInfoSimple []struct{ Id string } }
	}
	s.rpcJSON(t, "2018-04-12", "ListClusters", nil, &clusters)
	if len(clusters.Clusters.ClusterInfoSimple) == 0 {
		t.Fatal("the demo fleet has no E-HPC cluster")
	}
	s.cluster = clusters.Clusters.ClusterInfoSimple[0].Id
	bccList, err := e.BCC(t).ListInstances(nil)
	if err != nil || len(bccList.Instances) == 0 {
		t.Fatalf("the demo fleet has no BCC instance: %v", err)
	}
	s.bccInstance = bccList.Instances[0].InstanceId
	return s
}

// rpcJSON makes one successful V1 call and decodes its answer.
func (s *suite) rpcJSON(t *testing.T, version, action string, params map[string]string, out any) {
	t.Helper()
	a, err := s.rpcV1("GET", version, action, params)
	if err != nil || a.status != 200 {
		t.Fatalf("%s: %d %v", action, a.status, err)
	}
	if err := json.Unmarshal([]byte(a.body), out); err != nil {
		t.Fatal(err)
	}
}

// rpcV1 sends a CommonRequest that SDKv1 signs with V1, its parameters
// in the query (GET) or a form body (POST).
func (s *suite) rpcV1(method, version, action string, params map[string]string) (answer, error) {
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = method, "http", s.e.Endpoints.HTTP
	req.Version, req.ApiName = version, action
	req.QueryParams["RegionId"] = testenv.Region
	for k, v := range params {
		if method == "POST" {
			req.FormParams[k] = v
		} else {
			req.QueryParams[k] = v
		}
	}
	_, err := s.v1.ProcessCommonRequest(req)
	a := s.v1rec.answer()
	if a.status != 0 {
		err = nil // an answer, whatever its status
	}
	return a, err
}

// rpcV3 sends an RPC call that darabonba signs with ACS3-HMAC-SHA256,
// its parameters in the query.
func (s *suite) rpcV3(version, action string, params map[string]string) (answer, error) {
	q := map[string]*string{"RegionId": dara.String(testenv.Region)}
	for k, v := range params {
		q[k] = dara.String(v)
	}
	p := &openapi.Params{
		Action: dara.String(action), Version: dara.String(version), Protocol: dara.String("HTTP"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
	res, err := s.v3.CallApi(p, &openapiutil.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
	var se *tea.SDKError
	if errors.As(err, &se) {
		return answer{tea.IntValue(se.StatusCode), tea.StringValue(se.Code) + " " + tea.StringValue(se.Message) + " " + tea.StringValue(se.Data)}, nil
	}
	if err != nil {
		return answer{}, err
	}
	b, _ := json.Marshal(res["body"])
	return answer{200, string(b)}, nil
}

// bceCall sends a BCE request that bce-sdk-go signs, with a raw body.
func (s *suite) bceCall(method, path string, params map[string]string, body []byte) (answer, error) {
	req := &sdkbce.BceRequest{}
	req.SetUri(path)
	req.SetMethod(method)
	for k, v := range params {
		req.SetParam(k, v)
	}
	if body != nil {
		req.SetHeader(sdkhttp.CONTENT_TYPE, "application/json;charset=utf-8")
		b, err := sdkbce.NewBodyFromBytes(body)
		if err != nil {
			return answer{}, err
		}
		req.SetBody(b)
	}
	resp := &sdkbce.BceResponse{}
	if err := s.bce.SendRequest(req, resp); err != nil {
		var se *sdkbce.BceServiceError
		if errors.As(err, &se) {
			return answer{se.StatusCode, se.Code + " " + se.Message}, nil
		}
		if resp.StatusCode() != 0 {
			return answer{resp.StatusCode(), err.Error()}, nil
		}
		return answer{}, err
	}
	b, _ := io.ReadAll(resp.Body())
	resp.Body().Close()
	return answer{resp.StatusCode(), string(b)}, nil
}

// raw sends a request as given, to the HTTPS listener (tls) or the plain
// one, with optional headers.
func (s *suite) raw(tls bool, method, target string, header http.Header, body []byte) (answer, error) {
	base, client := "http://"+s.e.Endpoints.HTTP, s.plain
	if tls {
		base, client = "https://"+s.e.Endpoints.HTTPS, s.e.HTTPClient()
	}
	req, err := http.NewRequest(method, base+"/", bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	// The target goes on the request line as is: bad escapes included.
	req.URL.Opaque = "//" + req.URL.Host + target
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b)}, err
}

// resources is the fleet as the internal API lists it (signature nonces
// are not resources: accepted signatures add none).
func (s *suite) resources(t *testing.T) []map[string]any {
	t.Helper()
	var out struct{ Resources []map[string]any }
	if err := s.e.Server().Admin("GET", "resources", nil, &out); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, r := range out.Resources {
		// The VNC blacklist's records of attempts in progress come and
		// go with requests; noFailures checks the blacklist.
		if r["kind"] != string(blacklist.Kind) {
			kept = append(kept, r)
		}
	}
	return kept
}

// noFailures fails t if the VNC blacklist holds a failed login or a block:
// no hostile case is a login.
func (s *suite) noFailures(t *testing.T) {
	t.Helper()
	err := s.e.App().Store.View(context.Background(), func(tx core.Tx) error {
		docs, err := tx.ListDocs(context.Background(), core.Query{Kind: blacklist.Kind})
		for _, d := range docs {
			var rec struct {
				Failures     int
				BlockedUntil string `json:"blocked_until"`
			}
			if err := json.Unmarshal(d.Body, &rec); err != nil || rec.Failures != 0 || rec.BlockedUntil != "" {
				t.Errorf("the VNC blacklist holds %s: %s", d.Key, d.Body)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHostileRequests(t *testing.T) {
	s := newSuite(t)
	before := s.resources(t)
	cases := s.cases()
	if len(cases) < 300 {
		t.Fatalf("only %d cases", len(cases))
	}
	statuses := map[int]int{}
	for _, c := range cases {
		a, err := c.send()
		if err != nil {
			// A client that could not even send its request (a value
			// net/http refuses in a header, say) tells nothing here.
			continue
		}
		statuses[a.status]++
		if a.status >= 500 {
			t.Errorf("%s: status %d: %.300s", c.name, a.status, a.body)
		}
		if c.signed && authRefusal.MatchString(a.body) {
			t.Errorf("%s: a signed request did not pass authentication: %.300s", c.name, a.body)
		}
		for _, re := range internals {
			if re.MatchString(a.body) && !re.MatchString(c.input) {
				t.Errorf("%s: the answer shows internals (%s): %.300s", c.name, re, a.body)
			}
		}
	}
	t.Logf("%d cases; answers by status: %v", len(cases), statuses)
	if logs := s.e.Logs(); strings.Contains(logs, "panic") || strings.Contains(logs, "goroutine ") {
		t.Error("the server logged a panic")
	}
	s.noFailures(t)
	if after := s.resources(t); !reflect.DeepEqual(before, after) {
		t.Errorf("the fleet changed:\n%v\nbecame\n%v", before, after)
	}
}

// cases generates every case.
func (s *suite) cases() []hostileCase {
	var cs []hostileCase
	add := func(name, input string, send func() (answer, error)) {
		cs = append(cs, hostileCase{name: name, input: input, send: send})
	}
	// addSigned adds a case an official SDK signs.
	addSigned := func(name, input string, send func() (answer, error)) {
		cs = append(cs, hostileCase{name: name, input: input, signed: true, send: send})
	}
	const ecsV, ehpcV, ramV = "2014-05-26", "2018-04-12", "2015-05-01"

	// Signed RPC calls, each parameter of a valid request replaced in turn.
	type base struct {
		version, action string
		params          map[string]string
		mutate          []string
		only            []string // the values to try, when others could create something
	}
	bases := []base{
		{ecsV, "DescribeInstances", map[string]string{"PageNumber": "1", "PageSize": "10"},
			[]string{"PageNumber", "PageSize", "MaxResults", "NextToken", "InstanceIds", "Status", "IoOptimized", "InstanceName", "ZoneId"}, nil},
		{ecsV, "RunInstances", map[string]string{"DryRun": "true", "ImageId": "ubuntu", "InstanceType": "ecs.g7.large", "Amount": "1"},
			[]string{"Amount", "MinAmount", "InstanceName", "Description", "HostName", "ZoneId", "IoOptimized", "InstanceChargeType", "Tag.1.Key", "Tag.1.Value"}, nil},
		{ecsV, "ModifyInstanceVncPasswd", map[string]string{"InstanceId": s.instance, "VncPassword": "Ab1"}, []string{"VncPassword", "DryRun"}, nil},
		{ecsV, "StopInstance", map[string]string{"InstanceId": "i-doesnotexist0000000"}, []string{"InstanceId", "ForceStop", "StoppedMode"}, nil},
		{ehpcV, "ListClusters", map[string]string{"PageNumber": "1"}, []string{"PageNumber", "PageSize"}, nil},
		{ehpcV, "ListNodes", map[string]string{"ClusterId": s.cluster}, []string{"ClusterId", "PageNumber", "PageSize", "Role", "HostName"}, nil},
		{ehpcV, "ListUsers", map[string]string{"ClusterId": s.cluster}, []string{"ClusterId", "PageNumber", "PageSize"}, nil},
		{ehpcV, "ModifyVisualServicePasswd", map[string]string{"ClusterId": s.cluster, "Passwd": "x"}, []string{"Passwd", "RunasUser", "RunasUserPassword"}, nil},
		{ramV, "ListUsers", nil, []string{"MaxItems", "Marker"}, nil},
		{ramV, "GetPolicy", map[string]string{"PolicyType": "System", "PolicyName": "AliyunECSFullAccess"}, []string{"PolicyName", "PolicyType"}, nil},
		{ehpcV, "CreateCluster", map[string]string{"Name": "hostile-1", "OsTag": "CentOS_7.6_64", "Password": "Hostile-Pass-1",
			"EcsOrder.Manager.InstanceType": "ecs.g6.large", "EcsOrder.Compute.InstanceType": "ecs.g6.large", "EcsOrder.Login.InstanceType": "ecs.g6.large"},
			[]string{"EcsOrder.Manager.Count", "EcsOrder.Compute.Count", "EcsOrder.Login.Count"}, invalidNumbers},
		{ehpcV, "CreateCluster", map[string]string{"OsTag": "CentOS_7.6_64", "Password": "Hostile-Pass-1",
			"EcsOrder.Manager.InstanceType": "ecs.g6.large", "EcsOrder.Compute.InstanceType": "ecs.g6.large", "EcsOrder.Login.InstanceType": "ecs.g6.large"},
			[]string{"Name"}, invalidNames},
		{ehpcV, "AddUsers", map[string]string{"ClusterId": s.cluster, "User.1.Password": "Hostile-Pass-1", "User.1.Group": "users"}, []string{"User.1.Name"}, invalidNames},
		{ramV, "CreateUser", map[string]string{"UserName": "x y"}, []string{"UserName"}, invalidNames},
		{ramV, "CreatePolicy", map[string]string{"PolicyName": "p q", "PolicyDocument": "{}"}, []string{"PolicyName", "PolicyDocument"}, invalidNames},
	}
	for _, b := range bases {
		values := hostileValues
		if b.only != nil {
			values = nil
			for i, v := range b.only {
				values = append(values, struct{ name, value string }{fmt.Sprint("invalid ", i), v})
			}
		}
		for _, p := range b.mutate {
			for i, v := range values {
				params := map[string]string{}
				for k, val := range b.params {
					params[k] = val
				}
				params[p] = v.value
				method := "GET"
				if i%2 == 1 || len(v.value) > 4000 {
					method = "POST" // a long value goes in the body, as an SDK sends it
				}
				name := fmt.Sprintf("V1 %s %s %s=%s", method, b.action, p, v.name)
				addSigned(name, v.value, func() (answer, error) { return s.rpcV1(method, b.version, b.action, params) })
			}
		}
	}
	// V3: the paging parameters, signed by darabonba.
	for _, p := range []string{"PageNumber", "PageSize", "MaxResults", "NextToken"} {
		for _, v := range hostileValues {
			if len(v.value) > 4000 {
				continue // a query that long is refused by the HTTP layer, not the API
			}
			addSigned(fmt.Sprintf("V3 DescribeInstances %s=%s", p, v.name), v.value,
				func() (answer, error) { return s.rpcV3(ecsV, "DescribeInstances", map[string]string{p: v.value}) })
		}
	}

	// RPC requests no signer makes.
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, r := range []struct {
		name, method, target string
		header               http.Header
		body                 []byte
	}{
		{"unsigned", "GET", "/?Action=DescribeRegions&Version=2014-05-26", nil, nil},
		{"duplicated parameter", "GET", "/?Action=DescribeRegions&Action=RunInstances", nil, nil},
		{"duplicated form parameter", "POST", "/", form, []byte("Action=a&Action=b")},
		{"bad escape in query", "GET", "/?Action=%zz", nil, nil},
		{"bad escape in form", "POST", "/", form, []byte("Action=%zz")},
		{"nul in query", "GET", "/?Action=Describe%00Regions", nil, nil},
		{"unnamed parameter", "GET", "/?=x", nil, nil},
		{"PUT", "PUT", "/", nil, nil},
		{"DELETE", "DELETE", "/", nil, nil},
		{"PATCH", "PATCH", "/", nil, nil},
		{"OPTIONS", "OPTIONS", "/", nil, nil},
		{"TRACE", "TRACE", "/", nil, nil},
		{"oversized form", "POST", "/", form, bytes.Repeat([]byte("a"), 2<<20)},
		{"oversized JSON", "POST", "/", http.Header{"Content-Type": {"application/json"}}, bytes.Repeat([]byte("["), 2<<20)},
		{"bad content type", "POST", "/", http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=\"unterminated"}}, []byte("a=b")},
		{"path traversal", "GET", "/../../../../etc/passwd", nil, nil},
		{"encoded traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", nil, nil},
		{"unknown path", "GET", "/index.php?Action=DescribeRegions", nil, nil},
		{"long query", "GET", "/?Action=" + strings.Repeat("A", 60_000), nil, nil},
		{"nonce of 1 MB", "POST", "/", form, []byte("SignatureNonce=" + strings.Repeat("n", 1<<20-20))},
		{"V3 algorithm only", "POST", "/", http.Header{"Authorization": {"ACS3-HMAC-SHA256"}}, nil},
		{"V3 empty credential", "POST", "/", http.Header{"Authorization": {"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00"}}, nil},
		{"V3 bad hex", "POST", "/", http.Header{"Authorization": {"ACS3-HMAC-SHA256 Credential=LTAIx,SignedHeaders=host,Signature=zz"},
			"X-Acs-Action": {"DescribeRegions"}, "X-Acs-Version": {ecsV}, "X-Acs-Date": {"2020-01-01T00:00:00Z"}, "X-Acs-Signature-Nonce": {"n"}}, nil},
		{"V3 RSA", "POST", "/", http.Header{"Authorization": {"ACS3-RSA-SHA256 Credential=LTAIx,SignedHeaders=host,Signature=00"}}, nil},
		{"V3 huge signed headers", "POST", "/", http.Header{"Authorization": {"ACS3-HMAC-SHA256 Credential=LTAIx,SignedHeaders=" + strings.Repeat("x-acs-a;", 5000) + ",Signature=00"}}, nil},
		{"V1 timestamp of 1 MB", "POST", "/", form, []byte("Timestamp=" + strings.Repeat("9", 1<<19) + "&Signature=x&AccessKeyId=x&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Action=a&Version=v")},
	} {
		add("RPC raw "+r.name, r.target+string(r.body[:min(len(r.body), 100)]),
			func() (answer, error) { return s.raw(false, r.method, r.target, r.header, r.body) })
	}

	// BCE, signed by bce-sdk-go: list parameters, then bodies.
	for _, p := range []string{"marker", "maxKeys", "zoneName", "status", "instanceIds", "fuzzyInstanceName", "instanceNames"} {
		for _, v := range hostileValues {
			if len(v.value) > 4000 {
				continue
			}
			addSigned(fmt.Sprintf("BCE ListInstances %s=%s", p, v.name), v.value,
				func() (answer, error) { return s.bceCall("GET", "/v2/instance", map[string]string{p: v.value}, nil) })
		}
	}
	for _, v := range hostileValues {
		if len(v.value) > 4000 || strings.ContainsAny(v.value, "\x00\r\n") {
			continue
		}
		addSigned("BCE GetInstanceDetail id="+v.name, v.value,
			func() (answer, error) { return s.bceCall("GET", "/v2/instance/"+v.value, nil, nil) })
		body, _ := json.Marshal(map[string]string{"adminPass": v.value})
		addSigned("BCE ChangeInstancePass adminPass="+v.name, v.value,
			func() (answer, error) {
				return s.bceCall("PUT", "/v2/instance/"+s.bccInstance, map[string]string{"changePass": ""}, body)
			})
	}
	badJSON := []string{"", "{", "[]", "null", `"x"`, "123", `{"adminPass":`, `{"adminPass":1}`, `{"adminPass":null}`,
		`{"a":` + strings.Repeat("[", 100_000), "\x00\x01\x02", `{"adminPass":"` + strings.Repeat("f", 1<<20) + `"}`}
	for i, b := range badJSON {
		addSigned(fmt.Sprint("BCE ChangeInstancePass body ", i), b[:min(len(b), 100)],
			func() (answer, error) {
				return s.bceCall("PUT", "/v2/instance/"+s.bccInstance, map[string]string{"changePass": ""}, []byte(b))
			})
		addSigned(fmt.Sprint("BCE StopInstance body ", i), b[:min(len(b), 100)],
			func() (answer, error) {
				// Stopping is a legitimate change: an instance that does not exist.
				return s.bceCall("PUT", "/v2/instance/i-doesnotexist", map[string]string{"stop": ""}, []byte(b))
			})
		addSigned(fmt.Sprint("BCE CreateInstance body ", i), b[:min(len(b), 100)],
			func() (answer, error) { return s.bceCall("POST", "/v2/instance", nil, []byte(b)) })
	}
	for _, field := range []string{"cpuCount", "memoryCapacityInGB", "purchaseCount", "localDiskSizeInGB", "networkCapacityInMbps", "deletionProtection"} {
		for _, v := range []string{"-1", "1e20", "99999999999999999999", `"1"`, "1.5", "[]", "{}", "true", "-9223372036854775809"} {
			body := fmt.Sprintf(`{"imageId":"m-1","cpuCount":1,"memoryCapacityInGB":1,"purchaseCount":1,%q:%s}`, field, v)
			body = strings.Replace(body, fmt.Sprintf(`%q:1,`, field), "", 1)
			addSigned(fmt.Sprintf("BCE CreateInstance %s=%s", field, v), v,
				func() (answer, error) { return s.bceCall("POST", "/v2/instance", nil, []byte(body)) })
		}
	}
	for _, r := range []struct{ method, target string }{
		{"PATCH", "/v2/instance"}, {"DELETE", "/v2/instance"}, {"PUT", "/v2/instance/" + s.bccInstance + "?unknownAction"},
		{"POST", "/v2/instance/" + s.bccInstance}, {"GET", "/v2/instance/" + s.bccInstance + "/vnc/extra"}, {"GET", "/v2/"},
	} {
		addSigned("BCE wrong route "+r.method+" "+r.target, r.target,
			func() (answer, error) {
				u, _ := url.Parse(r.target)
				params := map[string]string{}
				for k := range u.Query() {
					params[k] = ""
				}
				return s.bceCall(r.method, u.Path, params, nil)
			})
	}
	for _, h := range []string{
		"bce-auth-v1", "bce-auth-v1/a/b/c/d/e", "bce-auth-v1/ak/2020-01-01T00:00:00Z/1800//00",
		"bce-auth-v1/ak/2020-01-01T00:00:00Z/-1/host/" + strings.Repeat("0", 64),
		"bce-auth-v1/ak/2020-01-01T00:00:00Z/99999999999999999999/host/" + strings.Repeat("0", 64),
		"bce-auth-v1/ak/9999-99-99T99:99:99Z/1800/host/" + strings.Repeat("0", 64),
		"bce-auth-v1/ak/2020-01-01T00:00:00Z/1800/ho st;\x7f/" + strings.Repeat("0", 64),
		"bce-auth-v1/" + strings.Repeat("a", 50_000) + "/2020-01-01T00:00:00Z/1800/host/" + strings.Repeat("0", 64),
		"bce-auth-v2/ak/2020-01-01T00:00:00Z/1800/host/" + strings.Repeat("0", 64),
	} {
		add("BCE bad Authorization "+h[:min(len(h), 40)], h,
			func() (answer, error) {
				return s.raw(false, "GET", "/v2/instance", http.Header{"Authorization": {h}}, nil)
			})
	}

	// The internal API, without a token, with a wrong one, and with the
	// token but bad input.
	internal := []string{"health", "version", "reset", "fleet", "fleet/demo", "resources", "resources/x", "check-password",
		"accounts", "accounts/root", "faults", "faults/1", "transitions", "transitions/settle", "audit", "debug/pprof/", "nowhere"}
	for _, p := range internal {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			add("internal without token "+m+" "+p, p,
				func() (answer, error) { return s.raw(true, m, "/_latchkey/"+p, nil, []byte("{}")) })
		}
		add("internal with a wrong token "+p, p,
			func() (answer, error) {
				return s.raw(true, "POST", "/_latchkey/"+p, http.Header{"Authorization": {"Bearer wrong"}}, []byte("{}"))
			})
		add("internal over plain HTTP "+p, p,
			func() (answer, error) { return s.raw(false, "GET", "/_latchkey/"+p, nil, nil) })
	}
	token := http.Header{"Authorization": {"Bearer " + s.e.App().AdminToken.Reveal()}}
	badYAML := []string{"accounts: [", "accounts:\n  - id: root\n    ecs:\n      - name: x\n        cpu: many\n", "\t\tx", "a: &a [*a, *a, *a]",
		"accounts:\n  - id: root\n    ecs:\n      - name: web\n        vnc_password: short\n", "unknown: 1", strings.Repeat("- ", 50_000), "\x00\xff"}
	for i, y := range badYAML {
		add(fmt.Sprint("internal fleet bad YAML ", i), y,
			func() (answer, error) { return s.raw(true, "POST", "/_latchkey/fleet", token, []byte(y)) })
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", "faults", "{"}, {"POST", "faults", `{"match":{"action":1}}`}, {"POST", "faults", `{"count":-1}`},
		{"POST", "faults", `{"count":99999999999999999999}`}, {"POST", "faults", "[]"},
		{"PATCH", "accounts/root", "{"}, {"PATCH", "accounts/root", `{"in_debt":"yes"}`}, {"PATCH", "accounts/root", `{"services":[]}`},
		{"PATCH", "accounts/%00", "{"},
		{"PUT", "transitions", "{"}, {"PUT", "transitions", `{"pending":"-1h"}`}, {"PUT", "transitions", `{"pending":99999999999999999999}`},
		{"POST", "check-password", "{"}, {"POST", "check-password", `{"id":1}`}, {"POST", "check-password", `{"id":"i-nothing","password":"x"}`},
		{"GET", "resources/..%2F..%2Fetc%2Fpasswd", ""}, {"GET", "resources/%00", ""}, {"GET", "resources/" + strings.Repeat("x", 10_000), ""},
		{"GET", "audit?limit=-1", ""}, {"GET", "audit?limit=99999999999999999999", ""}, {"GET", "audit?since=yesterday", ""},
		{"GET", "audit?limit=%zz", ""}, {"DELETE", "faults/99999999999999999999", ""}, {"DELETE", "faults/-1", ""},
		{"GET", "../../etc/passwd", ""},
	} {
		add("internal with token "+r.method+" "+r.path, r.path+r.body,
			func() (answer, error) { return s.raw(true, r.method, "/_latchkey/"+r.path, token, []byte(r.body)) })
	}

	// The console page and the VNC gateway.
	for _, v := range hostileValues {
		if len(v.value) > 4000 {
			continue
		}
		q := "s=" + url.QueryEscape(v.value)
		add("console page s="+v.name, v.value, func() (answer, error) { return s.raw(true, "GET", "/console/?"+q, nil, nil) })
		add("VNC gateway s="+v.name, v.value, func() (answer, error) { return s.raw(true, "GET", "/vnc/?"+q, nil, nil) })
		add("VNC WebSocket s="+v.name, v.value, func() (answer, error) { return s.websocket(q) })
	}
	for _, r := range []struct{ method, target string }{
		{"POST", "/console/"}, {"GET", "/console/../../etc/passwd"}, {"GET", "/console/%2e%2e/"}, {"DELETE", "/vnc/"},
		{"GET", "/vnc/?s=%zz"}, {"GET", "/vnc/?s=a&s=b"}, {"GET", "/vnc/../_latchkey/resources"},
	} {
		add("console raw "+r.method+" "+r.target, r.target, func() (answer, error) { return s.raw(true, r.method, r.target, nil, nil) })
	}

	// Broken RFB handshakes through the gateway to a BCC console, which
	// offers VeNCrypt Plain and VNC Authentication: none is a login.
	u32 := func(v uint32) string { return string([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) }
	const v38 = "RFB 003.008\n"
	for _, h := range []struct{ name, script string }{
		{"VeNCrypt 0.1", v38 + "\x13\x00\x01"},
		{"VeNCrypt 9.9", v38 + "\x13\x09\x09"},
		{"VeNCrypt subtype X509Plain", v38 + "\x13\x00\x02" + u32(262)},
		{"VeNCrypt subtype 0", v38 + "\x13\x00\x02" + u32(0)},
		{"Plain lengths 4 GiB", v38 + "\x13\x00\x02" + u32(256) + u32(0xffffffff) + u32(0xffffffff)},
		{"Plain lengths over the bound", v38 + "\x13\x00\x02" + u32(256) + u32(4) + u32(4097) + "root"},
		{"Plain truncated", v38 + "\x13\x00\x02" + u32(256) + u32(4) + u32(400) + "root" + "abc"},
		{"security type not offered", v38 + "\x07"},
		{"security type 0", v38 + "\x00"},
		{"RFB 3.3 then garbage", "RFB 003.003\n\x01\x02\x03"},
		{"RFB 4.0", "RFB 004.000\n"},
		{"not RFB", "GET / HTTP/1.1\r\n"},
		{"nothing", ""},
	} {
		add("BCC console RFB "+h.name, h.script, func() (answer, error) { return s.rfbScript(h.script) })
	}
	return cs
}

// rfbScript opens the console of the suite's BCC instance through the
// gateway with a fresh ticket, reads the console's ProtocolVersion, sends
// script and hangs up.
func (s *suite) rfbScript(script string) (answer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app := s.e.App()
	tok, err := app.BCC.GetInstanceVNC(ctx, app.RootCaller(), core.BCCRef{RegionID: "bj", InstanceID: core.BCCInstanceID(s.bccInstance)})
	if err != nil {
		return answer{}, err
	}
	ws, resp, err := websocket.Dial(ctx, app.ConsoleURL(tok.Token), &websocket.DialOptions{HTTPClient: s.e.HTTPClient()})
	if err != nil {
		if resp == nil {
			return answer{}, err
		}
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b)}, nil
	}
	conn := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer conn.Close()
	if _, err := io.ReadFull(conn, make([]byte, 12)); err != nil {
		return answer{}, err
	}
	if script != "" {
		if _, err := conn.Write([]byte(script)); err != nil {
			return answer{}, err
		}
	}
	return answer{http.StatusSwitchingProtocols, ""}, nil
}

// websocket opens the VNC gateway as a browser would, with a ticket that
// is not one.
func (s *suite) websocket(query string) (answer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "wss://"+s.e.Endpoints.HTTPS+"/vnc/?"+query, &websocket.DialOptions{HTTPClient: s.e.HTTPClient()})
	if conn != nil {
		conn.CloseNow()
		return answer{http.StatusSwitchingProtocols, ""}, nil
	}
	if resp == nil {
		return answer{}, err
	}
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b)}, nil
}
