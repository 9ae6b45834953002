package internalapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/server"
)

// routes lists one request of every route, for the token checks.
func routes() [][2]string {
	return [][2]string{
		{"GET", "/_latchkey/health"},
		{"GET", "/_latchkey/version"},
		{"POST", "/_latchkey/reset"},
		{"GET", "/_latchkey/fleet/demo"},
		{"POST", "/_latchkey/fleet"},
		{"GET", "/_latchkey/resources"},
		{"GET", "/_latchkey/resources/i-anything"},
		{"POST", "/_latchkey/check-password"},
		{"GET", "/_latchkey/accounts"},
		{"GET", "/_latchkey/accounts/root"},
		{"PATCH", "/_latchkey/accounts/root"},
		{"GET", "/_latchkey/faults"},
		{"POST", "/_latchkey/faults"},
		{"DELETE", "/_latchkey/faults"},
		{"DELETE", "/_latchkey/faults/fault-1"},
		{"GET", "/_latchkey/transitions"},
		{"PUT", "/_latchkey/transitions"},
		{"POST", "/_latchkey/transitions/settle"},
		{"GET", "/_latchkey/audit"},
		{"GET", "/_latchkey/no-such-route"},
	}
}

func TestEveryRouteNeedsTheToken(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	for _, rt := range routes() {
		for _, auth := range []string{"", "Bearer ", "Bearer " + a.token + "x", "Bearer " + a.token[:len(a.token)-1], "Basic " + a.token, "bearer " + a.token} {
			status, raw := a.callAuth(rt[0], rt[1], auth, `{"fleet":"empty"}`, nil)
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q = %d, want 401", rt[0], rt[1], redactToken(auth, a.token), status)
			}
			if strings.Contains(raw, a.token) {
				t.Errorf("%s %s: the refusal echoes the token", rt[0], rt[1])
			}
		}
	}
	// A refused reset changed nothing: the root key still signs.
	if _, err := e.ECS(t).DescribeRegions(ecs.CreateDescribeRegionsRequest()); err != nil {
		t.Errorf("after refused calls: %v", err)
	}
	// The internal API is not served on the plain-HTTP listener.
	req, _ := http.NewRequest("GET", e.HTTPURL("/_latchkey/health"), nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/_latchkey/health over plain HTTP = %d, want 404", resp.StatusCode)
	}
	// With the token, an unknown route is 404.
	if status, _ := a.call("GET", "/_latchkey/no-such-route", nil, nil); status != 404 {
		t.Errorf("unknown route with the token = %d", status)
	}
}

// redactToken shows an Authorization value in a failure message without
// the token.
func redactToken(auth, token string) string { return strings.ReplaceAll(auth, token, "<token>") }

func TestHealthAndVersion(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	var h struct {
		Status, Version, Store string
		Uptime                 float64 `json:"uptime_seconds"`
	}
	a.must(200, "GET", "/_latchkey/health", nil, &h)
	if h.Status != "ok" || h.Store != "ok" || h.Version == "" {
		t.Errorf("health = %+v", h)
	}
	var v struct {
		Version string
		Go      string
		APIs    map[string]string `json:"apis"`
	}
	a.must(200, "GET", "/_latchkey/version", nil, &v)
	if v.APIs["ecs"] != "2014-05-26" || v.APIs["bcc"] != "v2" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version = %+v", v)
	}
}

func TestAccountState(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	type state struct {
		AccountID string          `json:"account_id"`
		Services  map[string]bool `json:"services"`
		InDebt    bool            `json:"in_debt"`
	}
	var list struct{ Accounts []state }
	a.must(200, "GET", "/_latchkey/accounts", nil, &list)
	if len(list.Accounts) != 1 || list.Accounts[0].AccountID != e.Credentials.AccountID || !list.Accounts[0].Services["ehpc"] {
		t.Fatalf("accounts = %+v", list)
	}
	var st state
	a.must(200, "PATCH", "/_latchkey/accounts/root", `{"services":{"ehpc":false},"in_debt":true}`, &st)
	if st.Services["ehpc"] || !st.InDebt || !st.Services["ecs"] {
		t.Errorf("after PATCH: %+v", st)
	}
	a.must(200, "GET", "/_latchkey/accounts/"+e.Credentials.AccountID, nil, &st)
	if st.Services["ehpc"] || !st.InDebt {
		t.Errorf("GET after PATCH: %+v", st)
	}
	if status, raw := a.call("PATCH", "/_latchkey/accounts/root", `{"services":{"s3":true}}`, nil); status != 400 || !strings.Contains(raw, "s3") {
		t.Errorf("unknown service: %d %s", status, raw)
	}
	if status, _ := a.call("PATCH", "/_latchkey/accounts/root", `{"in_debt":"yes"}`, nil); status != 400 {
		t.Errorf("malformed body: %d", status)
	}
	if status, _ := a.call("GET", "/_latchkey/accounts/1234567890123456", nil, nil); status != 404 {
		t.Errorf("unknown account: %d", status)
	}
	// The change is audited.
	var audit struct {
		Events []struct{ Action, Resource, Result, Detail string }
	}
	a.must(200, "GET", "/_latchkey/audit?action=ChangeAccountState", nil, &audit)
	if len(audit.Events) == 0 || !strings.Contains(audit.Events[0].Detail, "disable ehpc") {
		t.Errorf("audit = %+v", audit)
	}
}

func TestTransitions(t *testing.T) {
	e := testenv.Start(t, testenv.WithTransition(time.Hour))
	a := newAdmin(t, e)
	req := ecs.CreateRunInstancesRequest()
	req.RegionId, req.ImageId, req.InstanceType = testenv.Region, "aliyun_3_x64_20G_alibase_20240819.vhd", "ecs.g7.large"
	resp, err := e.ECS(t).RunInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.InstanceIdSets.InstanceIdSet[0]
	var tr struct {
		Interval   string
		Adjustable bool
		Pending    int
	}
	a.must(200, "GET", "/_latchkey/transitions", nil, &tr)
	if tr.Interval != "1h0m0s" || tr.Pending != 1 {
		t.Errorf("transitions = %+v, want 1h and one pending", tr)
	}
	if !tr.Adjustable {
		t.Error("the server's transition interval is not adjustable")
	}
	if status, raw := a.call("PUT", "/_latchkey/transitions", `{"interval":"-1s"}`, nil); status != 400 {
		t.Errorf("PUT a negative interval = %d %s, want 400", status, raw)
	}
	var settled struct{ Settled int }
	a.must(200, "POST", "/_latchkey/transitions/settle", nil, &settled)
	if settled.Settled != 1 {
		t.Errorf("settled %d, want 1", settled.Settled)
	}
	d := ecs.CreateDescribeInstancesRequest()
	d.RegionId = testenv.Region
	out, err := e.ECS(t).DescribeInstances(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Instances.Instance[0]; got.InstanceId != id || got.Status != "Running" {
		t.Errorf("after settle: %s %s, want %s Running", got.InstanceId, got.Status, id)
	}
	a.must(200, "GET", "/_latchkey/transitions", nil, &tr)
	if tr.Pending != 0 {
		t.Errorf("pending after settle = %d", tr.Pending)
	}

	// With the interval set to zero, a new instance is Running at once.
	a.must(200, "PUT", "/_latchkey/transitions", `{"interval":"0s"}`, &tr)
	resp, err = e.ECS(t).RunInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	d.InstanceIds = `["` + resp.InstanceIdSets.InstanceIdSet[0] + `"]`
	if out, err = e.ECS(t).DescribeInstances(d); err != nil {
		t.Fatal(err)
	}
	if got := out.Instances.Instance[0].Status; got != "Running" {
		t.Errorf("after setting the interval to 0: new instance is %s, want Running", got)
	}
}

func TestCheckPasswordIsRateLimited(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	a.apply("accounts:\n  - ecs:\n      - name: rl\n        vnc_password: Abc123\n")
	var list struct{ Resources []struct{ Kind, ID string } }
	a.must(200, "GET", "/_latchkey/resources?kind=ecs.instance", nil, &list)
	id := list.Resources[0].ID
	limited := 0
	for range 25 {
		status, raw := a.call("POST", "/_latchkey/check-password", map[string]string{"resource": id, "password": "Zzz999"}, nil)
		if status == http.StatusTooManyRequests {
			limited++
			if strings.Contains(raw, "Zzz999") {
				t.Error("the refusal echoes the password")
			}
		}
	}
	if limited == 0 {
		t.Error("25 checks of one resource at once were all answered")
	}
}

// With profiling on, Go's profiles are served behind the token; off,
// the routes do not exist.
func TestPprofBehindTheToken(t *testing.T) {
	on := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.Pprof = true }))
	a := newAdmin(t, on)
	if status, raw := a.call("GET", "/_latchkey/debug/pprof/goroutine?debug=1", nil, nil); status != 200 || !strings.Contains(raw, "goroutine profile") {
		t.Errorf("goroutine profile = %d %.80q", status, raw)
	}
	if status, _ := a.callAuth("GET", "/_latchkey/debug/pprof/goroutine?debug=1", "", nil, nil); status != 401 {
		t.Errorf("without the token = %d, want 401", status)
	}
	off := newAdmin(t, testenv.Start(t))
	if status, _ := off.call("GET", "/_latchkey/debug/pprof/goroutine?debug=1", nil, nil); status != 404 {
		t.Errorf("profiling off = %d, want 404", status)
	}
}
