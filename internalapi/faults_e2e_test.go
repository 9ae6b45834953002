package internalapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
)

type rule struct {
	ID        string `json:"id"`
	Remaining int    `json:"remaining"`
	Hits      int    `json:"hits"`
}

// modifyVnc calls ModifyInstanceVncPasswd through SDKv1 and returns the
// provider error code ("" on success).
func modifyVnc(t *testing.T, c *ecs.Client, id, pw string) (code string, status int) {
	t.Helper()
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, id, pw
	_, err := c.ModifyInstanceVncPasswd(req)
	return ecsCode(t, "ModifyInstanceVncPasswd", err)
}

func TestECSFaultsThroughTheSDK(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: target\n        vnc_password: Old123\n      - name: bystander\n        vnc_password: Bys123\n")
	id := res.byName(t, "ecs.instance", "target").ID
	other := res.byName(t, "ecs.instance", "bystander").ID
	c := e.ECS(t)

	// Each failure effect, once, on this instance: InstanceNotReady, and
	// the password that was live stays live.
	for _, effect := range []string{"unreachable", "agent-timeout", "exec-failure"} {
		var r rule
		a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": effect, "count": 1}, &r)
		if r.Remaining != 1 {
			t.Errorf("%s: added %+v", effect, r)
		}
		if code, status := modifyVnc(t, c, id, "New123"); code != "InstanceNotReady" || status != 403 {
			t.Errorf("%s: ModifyInstanceVncPasswd = %s %d, want InstanceNotReady 403", effect, code, status)
		}
		if !a.check(id, "", "Old123") || a.check(id, "", "New123") {
			t.Errorf("%s: the console's password changed", effect)
		}
		// The other instance is untouched.
		if code, _ := modifyVnc(t, c, other, "Bys123"); code != "" {
			t.Errorf("%s: the bystander got %s", effect, code)
		}
	}
	var list struct{ Rules []rule }
	a.must(200, "GET", "/_latchkey/faults", nil, &list)
	if len(list.Rules) != 0 {
		t.Errorf("spent rules are still listed: %+v", list.Rules)
	}
	if code, _ := modifyVnc(t, c, id, "New123"); code != "" || !a.check(id, "", "New123") {
		t.Errorf("after the rules are spent: %s", code)
	}

	// Latency delays the call and lets it through: the rule is spent and
	// the password is live.
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": "latency", "latency": "300ms", "count": 1}, nil)
	if code, _ := modifyVnc(t, c, id, "Lat123"); code != "" || !a.check(id, "", "Lat123") {
		t.Errorf("latency: %s", code)
	}
	a.must(200, "GET", "/_latchkey/faults", nil, &list)
	if len(list.Rules) != 0 {
		t.Errorf("the latency rule was not applied: %+v", list.Rules)
	}

	// A rule on every ECS console, without a count, holds until cleared.
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "effect": "unreachable", "probability": 1}, nil)
	for _, x := range []string{id, other} {
		if code, _ := modifyVnc(t, c, x, "All123"); code != "InstanceNotReady" {
			t.Errorf("all consoles unreachable: %s got %q", x, code)
		}
	}
	var cleared struct{ Removed int }
	a.must(200, "DELETE", "/_latchkey/faults?product=ecs", nil, &cleared)
	if cleared.Removed != 1 {
		t.Errorf("cleared %d rules", cleared.Removed)
	}
	if code, _ := modifyVnc(t, c, other, "All123"); code != "" {
		t.Errorf("after clear: %s", code)
	}

	// An unreachable console on open-console: the gateway refuses the
	// connection; DescribeInstanceVncUrl itself works.
	var r rule
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": "unreachable", "operations": []string{"open-console"}}, &r)
	u := ecs.CreateDescribeInstanceVncUrlRequest()
	u.RegionId, u.InstanceId = testenv.Region, id
	vnc, err := c.DescribeInstanceVncUrl(u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := e.DialConsole(ctx, vnc.VncUrl); err == nil {
		conn.Close()
		t.Error("the console opened despite an unreachable-console rule")
	}
	a.must(200, "DELETE", "/_latchkey/faults/"+r.ID, nil, nil)
	vnc, err = c.DescribeInstanceVncUrl(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := e.DialConsole(ctx, vnc.VncUrl)
	if err != nil {
		t.Fatalf("the console after the rule was removed: %v", err)
	}
	conn.Close()
	if status, _ := a.call("DELETE", "/_latchkey/faults/"+r.ID, nil, nil); status != 404 {
		t.Errorf("removing a removed rule = %d", status)
	}

	// Bad rules are refused with the field.
	for _, body := range []string{
		`{"product":"ecs","effect":"partial-failure"}`,
		`{"product":"ecs","effect":"latency"}`,
		`{"product":"gcp","effect":"unreachable"}`,
		`{"product":"ecs","effect":"unreachable","count":-1}`,
		`{"product":"ecs","effect":"unreachable","latency":5}`,
		`{"product":"ecs","effect":"unreachable","colour":"red"}`,
	} {
		if status, raw := a.call("POST", "/_latchkey/faults", body, nil); status != 400 {
			t.Errorf("rule %s: %d %s", body, status, raw)
		}
	}
}

func TestBCCFaultsThroughTheSDK(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - bcc:\n      - name: guest\n        admin_password: Old2020!\n")
	id := res.byName(t, "bcc.instance", "guest").ID
	c := e.BCC(t)
	for _, effect := range []string{"unreachable", "agent-timeout", "exec-failure"} {
		a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "bcc", "resource": id, "effect": effect, "operations": []string{"set-guest-password"}, "count": 1}, nil)
		_, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "New2020!"})
		if code, status := bccCode(t, "ChangeInstancePass", err); code != "Instance.PasswordOperationForbidden" || status != 409 {
			t.Errorf("%s: ChangeInstancePass = %s %d, want 409 Instance.PasswordOperationForbidden", effect, code, status)
		}
		if !a.check(id, "guest", "Old2020!") || a.check(id, "guest", "New2020!") {
			t.Errorf("%s: the guest's password changed", effect)
		}
	}
	if _, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "New2020!"}); err != nil {
		t.Errorf("after the rules are spent: %v", err)
	}
	if !a.check(id, "guest", "New2020!") {
		t.Error("the guest did not take the password after the rules were spent")
	}
}

func TestAuditQuery(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: audited\n        vnc_password: Old123\n")
	id := res.byName(t, "ecs.instance", "audited").ID
	before := time.Now().UTC().Add(-time.Second)
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": "unreachable", "count": 1}, nil)
	modifyVnc(t, e.ECS(t), id, "New123")
	modifyVnc(t, e.ECS(t), id, "New123")

	type event struct {
		Time                                      time.Time
		RequestID                                 string `json:"request_id"`
		AccountID                                 string `json:"account_id"`
		User                                      string
		AccessKeyID                               string `json:"access_key_id"`
		SourceIP                                  string `json:"source_ip"`
		Product, Action, Resource, Result, Detail string
	}
	var got struct{ Events []event }
	a.must(200, "GET", "/_latchkey/audit?resource="+id, nil, &got)
	var results []string
	for _, ev := range got.Events {
		if ev.Action != "ModifyInstanceVncPasswd" {
			continue
		}
		results = append(results, ev.Result)
		if ev.AccountID != e.Credentials.AccountID || ev.AccessKeyID != e.Credentials.AccessKeyID || ev.SourceIP != "127.0.0.1" || ev.RequestID == "" || ev.Product != "ecs" {
			t.Errorf("audit event %+v", ev)
		}
	}
	if strings.Join(results, ",") != "InstanceNotReady,Success" {
		t.Errorf("ModifyInstanceVncPasswd results in the audit log: %v, want InstanceNotReady,Success", results)
	}

	// By principal and time range.
	a.must(200, "GET", "/_latchkey/audit?principal="+e.Credentials.AccessKeyID+"&since="+before.Format(time.RFC3339Nano), nil, &got)
	if len(got.Events) != 2 {
		t.Errorf("by access key since before: %d events", len(got.Events))
	}
	a.must(200, "GET", "/_latchkey/audit?account=root&since=1h&action=ModifyInstanceVncPasswd&result=InstanceNotReady", nil, &got)
	if len(got.Events) != 1 {
		t.Errorf("by account, action and result: %+v", got.Events)
	}
	a.must(200, "GET", "/_latchkey/audit?until="+before.Format(time.RFC3339Nano)+"&resource="+id, nil, &got)
	if len(got.Events) != 0 {
		t.Errorf("until before the calls: %+v", got.Events)
	}
	// The internal API's own calls are there, as the admin.
	a.must(200, "GET", "/_latchkey/audit?product=latchkey&user=latchkey-admin", nil, &got)
	actions := map[string]bool{}
	for _, ev := range got.Events {
		actions[ev.Action] = true
	}
	if !actions["ApplyFleet"] || !actions["AddFaultRule"] {
		t.Errorf("the internal API's calls in the audit log: %v", actions)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "until=-5m"} {
		if status, _ := a.call("GET", "/_latchkey/audit?"+q, nil, nil); status != 400 {
			t.Errorf("audit?%s = %d, want 400", q, status)
		}
	}
	a.must(200, "GET", "/_latchkey/audit?limit=1", nil, &got)
	if len(got.Events) != 1 {
		t.Errorf("limit=1 gave %d events", len(got.Events))
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: metrics-vm\n        vnc_password: Old123\n")
	id := res.byName(t, "ecs.instance", "metrics-vm").ID
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": "unreachable", "count": 1}, nil)
	modifyVnc(t, e.ECS(t), id, "New123")
	modifyVnc(t, e.ECS(t), id, "New123")
	modifyVnc(t, e.ECSWithKey(t, e.Credentials.AccessKeyID, "a-wrong-secret-00000000"), id, "New123")
	a.callAuth("GET", "/_latchkey/health", "Bearer nope", nil, nil)
	e.BCC(t).ChangeInstancePass("i-nothere", &api.ChangeInstancePassArgs{AdminPass: "Passw0rd!"})
	// One console connection with a wrong password, and one refused ticket.
	u := ecs.CreateDescribeInstanceVncUrlRequest()
	u.RegionId, u.InstanceId = testenv.Region, id
	vnc, err := e.ECS(t).DescribeInstanceVncUrl(u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := e.DialConsole(ctx, vnc.VncUrl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rfb.Login(ctx, conn, "Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("console login with a wrong password: %v", err)
	}
	conn.Close()
	if conn, err := e.DialConsole(ctx, vnc.VncUrl); err == nil {
		conn.Close()
		t.Error("a used console ticket opened a console")
	}

	resp, err := e.HTTPClient().Get(e.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`latchkey_password_changes_total{product="ecs",result="ConsoleUnreachable"} 1`,
		`latchkey_password_changes_total{product="ecs",result="Success"}`,
		`latchkey_faults_injected_total{effect="unreachable",product="ecs"} 1`,
		`latchkey_requests_total{action="ApplyFleet",code="Success",product="latchkey"} 1`,
		`latchkey_request_duration_seconds_bucket{action="AddFaultRule",code="Success",product="latchkey",le=`,
		`latchkey_requests_total{action="ModifyInstanceVncPasswd",code="InstanceNotReady",product="ecs"} 1`,
		`latchkey_requests_total{action="ModifyInstanceVncPasswd",code="Success",product="ecs"} 1`,
		`latchkey_requests_total{action="ModifyInstanceVncPasswd",code="SignatureDoesNotMatch",product="ecs"} 1`,
		`latchkey_request_duration_seconds_count{action="ModifyInstanceVncPasswd",code="InstanceNotReady",product="ecs"} 1`,
		`latchkey_requests_total{action="ChangeInstancePass",code="NoSuchObject",product="bcc"} 1`,
		`latchkey_auth_failures_total{reason="SignatureDoesNotMatch",surface="aliyun"} 1`,
		`latchkey_auth_failures_total{reason="bad-token",surface="internal"} 1`,
		`latchkey_console_connections_total{product="ecs",result="opened"} 1`,
		`latchkey_console_connections_total{product="unknown",result="refused"} 1`,
		`latchkey_console_logins_total{product="ecs",result="failure"} 1`,
		`latchkey_auth_failures_total{reason="vnc-auth",surface="console"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestRulesSurviveARestart: rules are stored, and a restart, which puts
// every stored password back on its console, is not stopped by them.
func TestRulesSurviveARestart(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: restart\n        vnc_password: Old123\n")
	id := res.byName(t, "ecs.instance", "restart").ID
	var r rule
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "effect": "unreachable"}, &r)
	e.Restart(t)
	a = newAdmin(t, e)
	var list struct{ Rules []rule }
	a.must(200, "GET", "/_latchkey/faults", nil, &list)
	if len(list.Rules) != 1 || list.Rules[0].ID != r.ID {
		t.Fatalf("rules after a restart: %+v", list.Rules)
	}
	if code, _ := modifyVnc(t, e.ECS(t), id, "New123"); code != "InstanceNotReady" {
		t.Errorf("after a restart the rule does not hold: %q", code)
	}
	if !a.check(id, "", "Old123") {
		t.Error("after a restart under a rule, the console lacks its live password")
	}
}
