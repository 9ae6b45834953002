package aliyun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/service"
)

// The E-HPC 2018-04-12 API of the whole server through SDKv1's
// CommonRequest, the way the aliyun CLI calls it (Product EHPC, GET,
// every parameter in the query), with the SDK version of the main module. The typed services/ehpc client
// of v1.62.713 is exercised by the nested module e2e/ehpc2018.

const (
	testRootPassword = "Root#Pass1"
	// Passwords the tests set; no failure message prints them.
	visualPass1 = "Abc123"
	visualPass2 = "Xyz789"
)

// ehpcClient calls E-HPC with one access key.
type ehpcClient struct {
	t      *testing.T
	e      *testenv.Env
	client *sdk.Client
}

func newEHPCClient(t *testing.T, e *testenv.Env, ak, secret string) *ehpcClient {
	t.Helper()
	testutil.NoProxy(t)
	return &ehpcClient{t: t, e: e, client: e.Common(t, ak, secret)}
}

func rootEHPCClient(t *testing.T, e *testenv.Env) *ehpcClient {
	return newEHPCClient(t, e, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret)
}

// addFault adds a fault rule to the server's injector.
func addFault(t *testing.T, e *testenv.Env, r faults.Rule) *faults.Rule {
	t.Helper()
	added, err := e.App().Faults.Add(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

// call runs one action and returns the decoded answer, or the server
// error.
func (c *ehpcClient) call(action string, params map[string]string) (map[string]any, *sdkerrors.ServerError) {
	c.t.Helper()
	resp, err := c.client.ProcessCommonRequest(c.e.EHPCRequest(action, params))
	if err != nil {
		var se *sdkerrors.ServerError
		if errors.As(err, &se) {
			return nil, se
		}
		c.t.Fatalf("%s: %v", action, err)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		c.t.Fatalf("%s: answer is not JSON: %v", action, err)
	}
	return out, nil
}

// must runs an action that must succeed.
func (c *ehpcClient) must(action string, params map[string]string) map[string]any {
	c.t.Helper()
	out, se := c.call(action, params)
	if se != nil {
		c.t.Fatalf("%s: %d %s %s", action, se.HttpStatus(), se.ErrorCode(), se.Message())
	}
	if id, _ := out["RequestId"].(string); len(id) != 36 || strings.ToUpper(id) != id {
		c.t.Fatalf("%s: RequestId %q", action, id)
	}
	return out
}

// createCluster makes a running cluster with logins login nodes and the
// visual service started.
func (c *ehpcClient) createCluster(logins int) string {
	c.t.Helper()
	out := c.must("CreateCluster", map[string]string{
		"Name": "hpc-e2e", "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
		"EcsOrder.Manager.Count": "1", "EcsOrder.Manager.InstanceType": "ecs.n1.medium",
		"EcsOrder.Compute.Count": "2", "EcsOrder.Compute.InstanceType": "ecs.n1.medium",
		"EcsOrder.Login.Count": fmt.Sprint(logins), "EcsOrder.Login.InstanceType": "ecs.n1.medium",
		"Password": testRootPassword, "RemoteVisEnable": "true", "VpcId": "vpc-test",
	})
	id, _ := out["ClusterId"].(string)
	if !strings.HasPrefix(id, "ehpc-hz-") || out["TaskId"] == "" {
		c.t.Fatalf("CreateCluster = %v", out)
	}
	return id
}

// loginNodes returns the visual-service address of every login node.
func (c *ehpcClient) loginNodes(cluster string) []string {
	c.t.Helper()
	out := c.must("ListNodes", map[string]string{"ClusterId": cluster, "Role": "Login"})
	var addrs []string
	for _, n := range out["Nodes"].(map[string]any)["NodeInfo"].([]any) {
		addrs = append(addrs, n.(map[string]any)["PublicIpAddress"].(string))
	}
	return addrs
}

func TestEHPCCommonRequestEveryOperation(t *testing.T) {
	e := testenv.Start(t)
	c := rootEHPCClient(t, e)
	id := c.createCluster(2)

	info := c.must("DescribeCluster", map[string]string{"ClusterId": id})["ClusterInfo"].(map[string]any)
	if info["Status"] != "running" || info["ZoneId"] != "cn-hangzhou-b" || info["VpcId"] != "vpc-test" ||
		info["EcsInfo"].(map[string]any)["Login"].(map[string]any)["Count"] != float64(2) {
		t.Fatalf("DescribeCluster = %v", info)
	}
	if _, ok := info["ComputeSpotPriceLimit"].(string); !ok {
		t.Fatal("ClusterInfo.ComputeSpotPriceLimit is not a string")
	}
	list := c.must("ListClusters", map[string]string{"PageSize": "10"})
	simple := list["Clusters"].(map[string]any)["ClusterInfoSimple"].([]any)
	if list["TotalCount"] != float64(1) || simple[0].(map[string]any)["Id"] != id {
		t.Fatalf("ListClusters = %v", list)
	}
	if _, ok := simple[0].(map[string]any)["ComputeSpotPriceLimit"].(float64); !ok {
		t.Fatal("ClusterInfoSimple.ComputeSpotPriceLimit is not a number")
	}
	all := c.must("ListNodes", map[string]string{"ClusterId": id})
	if all["TotalCount"] != float64(5) {
		t.Fatalf("ListNodes = %v", all)
	}
	addrs := c.loginNodes(id)
	if len(addrs) != 2 || addrs[0] == addrs[1] {
		t.Fatalf("login node addresses %v", addrs)
	}
	for _, a := range addrs {
		if p := e.Server().EHPCLoginAddresses(); !p.Contains(mustAddr(t, a)) {
			t.Fatalf("login node address %s outside %s", a, p)
		}
	}

	c.must("AddUsers", map[string]string{"ClusterId": id, "User.1.Name": "alice01", "User.1.Password": "Alice#Pass1", "User.1.Group": "users",
		"User.2.Name": "bob.admin", "User.2.Password": "Bob#Pass12", "User.2.Group": "wheel"})
	users := c.must("ListUsers", map[string]string{"ClusterId": id})["Users"].(map[string]any)["UserInfo"].([]any)
	if len(users) != 2 || users[1].(map[string]any)["Group"] != "wheel" || users[0].(map[string]any)["UserId"] != "1000" {
		t.Fatalf("ListUsers = %v", users)
	}
	c.must("ModifyUserPasswords", map[string]string{"ClusterId": id, "User.1.Name": "alice01", "User.1.Password": "Alice#Pass2"})
	c.must("DeleteUsers", map[string]string{"ClusterId": id, "User.1.Name": "bob.admin"})

	if m := c.must("GetVisualServiceStatus", map[string]string{"ClusterId": id})["Message"]; m != "Service started." {
		t.Fatalf("GetVisualServiceStatus = %v", m)
	}
	port := 20000 + int(time.Now().UnixNano()%20000)
	if m := c.must("StartVisualService", map[string]string{"ClusterId": id, "Port": fmt.Sprint(port), "CidrIp": "127.0.0.0/8"})["Message"]; m != "Service started." {
		t.Fatalf("StartVisualService = %v", m)
	}
	out := c.must("ModifyVisualServicePasswd", map[string]string{"ClusterId": id, "RunasUser": "root", "RunasUserPassword": testRootPassword, "Passwd": visualPass1})
	if out["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd = %v", out)
	}
	for i, a := range addrs {
		addr := net.JoinHostPort(a, fmt.Sprint(port))
		if err := rfbtest.Login(addr, visualPass1); err != nil {
			t.Fatalf("login%d with the new password: %v", i, err)
		}
		if err := rfbtest.Login(addr, visualPass2); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("login%d with another password: %v", i, err)
		}
	}
	if m := c.must("StopVisualService", map[string]string{"ClusterId": id})["Message"]; m != "Service stopped." {
		t.Fatalf("StopVisualService = %v", m)
	}
	if m := c.must("ModifyVisualServicePasswd", map[string]string{"ClusterId": id, "RunasUser": "root", "RunasUserPassword": testRootPassword, "Passwd": visualPass2})["Message"]; m != "Service stopped." {
		t.Fatalf("ModifyVisualServicePasswd on a stopped service = %v", m)
	}
	c.must("StopCluster", map[string]string{"ClusterId": id})
	if st := c.must("DescribeCluster", map[string]string{"ClusterId": id})["ClusterInfo"].(map[string]any)["Status"]; st != "stopped" {
		t.Fatalf("after StopCluster: %v", st)
	}
	c.must("StartCluster", map[string]string{"ClusterId": id})
	c.must("DeleteCluster", map[string]string{"ClusterId": id, "ReleaseInstance": "true"})
	if _, se := c.call("DescribeCluster", map[string]string{"ClusterId": id}); se == nil || se.ErrorCode() != "ClusterNotFound" || se.HttpStatus() != 404 {
		t.Fatalf("deleted cluster: %v", se)
	}

	// Every mutating call was audited, none with a password.
	events := e.Audit(t, core.AuditFilter{})
	var n int
	for _, ev := range events {
		if ev.Product == "ehpc" {
			n++
		}
		for _, secret := range []string{testRootPassword, visualPass1, visualPass2, "Alice#Pass1", "Alice#Pass2", "Bob#Pass12"} {
			if strings.Contains(fmt.Sprintf("%+v", ev), secret) {
				t.Fatal("an audit event holds a password")
			}
		}
	}
	if n != 11 {
		t.Fatalf("%d E-HPC audit events, want one per mutating call", n)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// errorCase is one error of ModifyVisualServicePasswd (seed 004's table),
// with the state that produces it.
type errorCase struct {
	code   string
	status int
	// message is the exact Message, or its prefix when prefix is set.
	message string
	prefix  bool
	setup   func(t *testing.T, c *ehpcClient, cluster string) (params map[string]string, cleanup func())
}

// modifyParams are a valid call's parameters.
func modifyParams(cluster string) map[string]string {
	return map[string]string{"ClusterId": cluster, "RunasUser": "root", "RunasUserPassword": testRootPassword, "Passwd": visualPass1}
}

// modifyErrorCases lists every code of seed 004 with its HTTP status.
func modifyErrorCases(e *testenv.Env) []errorCase {
	// fault makes the next operation on the cluster's login nodes fail.
	fault := func(effect faults.Effect) func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
		return func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			addFault(t, e, faults.Rule{Product: faults.ProductEHPC, Resource: cluster, Effect: effect, Count: 1})
			return modifyParams(cluster), nil
		}
	}
	account := func(ch func() error, undo func() error) func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
		return func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			if err := ch(); err != nil {
				t.Fatal(err)
			}
			return modifyParams(cluster), func() {
				if err := undo(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	app := e.App()
	acct := app.Root.AccountID
	on, off := true, false
	setEHPC := func(v bool) func() error {
		return func() error {
			_, err := app.Accounts.Change(context.Background(), acct, serviceChange(core.ServiceEHPC, v))
			return err
		}
	}
	setDebt := func(v *bool) func() error {
		return func() error {
			_, err := app.Accounts.Change(context.Background(), acct, debtChange(v))
			return err
		}
	}
	return []errorCase{
		{code: "InvalidParams", status: 400, message: "The specified parameter Passwd is invalid.", setup: func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			p := modifyParams(cluster)
			p["Passwd"] = "short"
			return p, nil
		}},
		{code: "NotEnabled", status: 400, message: "You have not enabled this service", setup: account(setEHPC(false), setEHPC(true))},
		{code: "InDebt", status: 400, message: "Your account has overdue payments.", setup: account(setDebt(&on), setDebt(&off))},
		{code: "InvalidClusterStatus", status: 403, message: "The cluster status does not support the operation.", setup: func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			c.must("StopCluster", map[string]string{"ClusterId": cluster})
			return modifyParams(cluster), func() { c.must("StartCluster", map[string]string{"ClusterId": cluster}) }
		}},
		{code: "ConflictOpt", status: 403, message: "A conflicting operation is running. Please try again later."}, // run concurrently below
		{code: "AgentError", status: 403, message: "The agent request failed.", setup: fault(faults.AgentTimeout)},
		{code: "IncorrectCredential", status: 403, message: "The username or password is incorrect.", setup: func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			p := modifyParams(cluster)
			p["RunasUserPassword"] = "Wrong#Pass1"
			return p, nil
		}},
		{code: "ExecFail", status: 403, message: "Failed to execute the command: vncpasswd -f.", setup: fault(faults.ExecFailure)},
		{code: "ClusterNotFound", status: 404, message: "The specified instance does not exist.", setup: func(t *testing.T, c *ehpcClient, cluster string) (map[string]string, func()) {
			return modifyParams("ehpc-hz-NoSuchClstr"), nil
		}},
		{code: "AliyunError", status: 406, message: "Failed to request other cloud service APIs.", setup: fault(faults.UpstreamFailure)},
		{code: "NotAuthorized", status: 407, message: "You are not authorized by RAM for this request."}, // with a RAM user below
		{code: "PartFailure", status: 409, message: "Part of the batch operation failed. Changed: login0", prefix: true, setup: fault(faults.PartialFailure)},
		{code: "UnknownError", status: 500, message: "An unknown error occurred.", setup: fault(faults.InternalFailure)},
		{code: "ServiceUnavailable", status: 503, message: "The request has failed due to a temporary failure of the server", setup: fault(faults.ServiceUnavailable)},
	}
}

func serviceChange(svc core.Service, enabled bool) service.AccountChange {
	return service.AccountChange{Services: map[core.Service]bool{svc: enabled}}
}

func debtChange(v *bool) service.AccountChange { return service.AccountChange{InDebt: v} }

func TestEHPCModifyVisualServicePasswdErrors(t *testing.T) {
	e := testenv.Start(t)
	c := rootEHPCClient(t, e)
	cluster := c.createCluster(2)
	seen := map[string]bool{}
	check := func(code string, status int, message string, prefix bool, se *sdkerrors.ServerError) {
		t.Helper()
		if se == nil {
			t.Fatalf("%s: the call succeeded", code)
		}
		msgOK := se.Message() == message || prefix && strings.HasPrefix(se.Message(), message)
		if se.ErrorCode() != code || se.HttpStatus() != status || !msgOK {
			t.Fatalf("want %d %s %q, got %d %s %q", status, code, message, se.HttpStatus(), se.ErrorCode(), se.Message())
		}
		for _, secret := range []string{testRootPassword, visualPass1, "Wrong#Pass1", "short"} {
			if strings.Contains(se.Error(), secret) {
				t.Fatalf("%s: the error shows a password", code)
			}
		}
		seen[code] = true
	}
	for _, ec := range modifyErrorCases(e) {
		if ec.setup == nil {
			continue
		}
		params, cleanup := ec.setup(t, c, cluster)
		_, se := c.call("ModifyVisualServicePasswd", params)
		check(ec.code, ec.status, ec.message, ec.prefix, se)
		if cleanup != nil {
			cleanup()
		}
	}

	// ConflictOpt: of N simultaneous calls on one cluster whose agent is
	// slow, one succeeds and the others find the cluster busy. Slow
	// enough for every call to reach the cluster's lock while the first
	// holds it, password checks (argon2id) included.
	app := e.App()
	slow := addFault(t, e, faults.Rule{Product: faults.ProductEHPC, Resource: cluster, Effect: faults.Latency, Latency: faults.Duration(3 * time.Second)})
	const n = 6
	errs := make([]*sdkerrors.ServerError, n)
	// SDKv1's client is not safe for concurrent use: one each.
	clients := make([]*ehpcClient, n)
	for i := range clients {
		clients[i] = rootEHPCClient(t, e)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = clients[i].call("ModifyVisualServicePasswd", modifyParams(cluster)) })
	}
	wg.Wait()
	if err := app.Faults.Remove(context.Background(), slow.ID); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, se := range errs {
		if se == nil {
			ok++
			continue
		}
		check("ConflictOpt", 403, "A conflicting operation is running. Please try again later.", false, se)
	}
	if ok != 1 {
		t.Fatalf("%d of %d simultaneous calls succeeded, want 1", ok, n)
	}

	// NotAuthorized: a RAM user whose policy denies the action.
	ctx := context.Background()
	root := app.RootCaller()
	if _, err := app.RAM.CreateUser(ctx, root, core.CreateRAMUserInput{Name: "denied"}); err != nil {
		t.Fatal(err)
	}
	if err := app.RAM.AttachPolicyToUser(ctx, root, core.PolicySystem, "AliyunEHPCReadOnlyAccess", "denied"); err != nil {
		t.Fatal(err)
	}
	key, err := app.RAM.CreateAccessKey(ctx, root, "denied")
	if err != nil {
		t.Fatal(err)
	}
	uc := newEHPCClient(t, e, string(key.Key.ID), key.Secret.Reveal())
	_, se := uc.call("ModifyVisualServicePasswd", modifyParams(cluster))
	check("NotAuthorized", 407, "You are not authorized by RAM for this request.", false, se)
	uc.must("ListClusters", nil) // what the policy allows

	for _, ec := range modifyErrorCases(e) {
		if !seen[ec.code] {
			t.Errorf("%s was never produced", ec.code)
		}
	}
}

func TestEHPCCommonRequestXML(t *testing.T) {
	e := testenv.Start(t)
	c := rootEHPCClient(t, e)
	id := c.createCluster(1)
	req := e.EHPCRequest("GetVisualServiceStatus", map[string]string{"ClusterId": id})
	req.SetContent(nil)
	req.AcceptFormat = "XML"
	resp, err := c.client.ProcessCommonRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	body := resp.GetHttpContentString()
	if !strings.Contains(body, "<GetVisualServiceStatusResponse>") || !strings.Contains(body, "<Message>Service started.</Message>") {
		t.Fatalf("XML answer %s", body)
	}
}
