package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// ehpcCall runs an E-HPC 2018-04-12 action through replica e with the
// official SDK's CommonRequest (as the aliyun CLI sends it) and returns
// the decoded answer.
func ehpcCall(t *testing.T, e *testenv.Env, action string, params map[string]string) map[string]any {
	t.Helper()
	testutil.NoProxy(t)
	resp, err := e.Common(t, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret).ProcessCommonRequest(e.EHPCRequest(action, params))
	if err != nil {
		t.Fatalf("%s through %s: %v", action, e.Endpoints.HTTP, err)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

// visualAddrs creates a running cluster with two login nodes and its
// visual service started on port 12016 through replica e, and returns
// the login nodes' visual-service addresses.
func visualAddrs(t *testing.T, e *testenv.Env) (cluster string, addrs []string) {
	t.Helper()
	out := ehpcCall(t, e, "CreateCluster", map[string]string{
		"Name": "hpc-replicas", "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
		"EcsOrder.Manager.Count": "1", "EcsOrder.Manager.InstanceType": "ecs.n1.medium",
		"EcsOrder.Compute.Count": "1", "EcsOrder.Compute.InstanceType": "ecs.n1.medium",
		"EcsOrder.Login.Count": "2", "EcsOrder.Login.InstanceType": "ecs.n1.medium",
		"Password": "Root#Pass1", "RemoteVisEnable": "true", "VpcId": "vpc-test",
	})
	cluster, _ = out["ClusterId"].(string)
	nodes := ehpcCall(t, e, "ListNodes", map[string]string{"ClusterId": cluster, "Role": "Login"})
	for _, n := range nodes["Nodes"].(map[string]any)["NodeInfo"].([]any) {
		addrs = append(addrs, net.JoinHostPort(n.(map[string]any)["PublicIpAddress"].(string), "12016"))
	}
	if len(addrs) != 2 {
		t.Fatalf("ListNodes = %v, want two login nodes", nodes)
	}
	return cluster, addrs
}

// setVisualPassword sets the cluster's visual-service password through
// replica e and wants "Service started.".
func setVisualPassword(t *testing.T, e *testenv.Env, cluster, pw string) {
	t.Helper()
	out := ehpcCall(t, e, "ModifyVisualServicePasswd", map[string]string{
		"ClusterId": cluster, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": pw,
	})
	if out["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd through %s = %v", e.Endpoints.HTTP, out["Message"])
	}
}

// Of two replicas on one PostgreSQL the first started serves the sim
// visual listeners. A cluster created and a visual password changed
// through the other one are live on the login nodes: the owner follows
// the store, and every login checks the password the store holds, so the
// next change through the other replica is live at once and the old
// password refused.
func TestReplicasVisualServiceThroughTheOtherReplica(t *testing.T) {
	a, b := startReplicas(t)
	const serving = "this replica serves the sim visual services"
	if !strings.Contains(a.Logs(), serving) || strings.Contains(b.Logs(), serving) {
		t.Fatalf("the first replica should serve the visual listeners, and only it")
	}
	cluster, addrs := visualAddrs(t, b)
	setVisualPassword(t, b, cluster, "Vis001")
	for _, addr := range addrs {
		t.Logf("visual service %s up on the owner after %v", addr, rfbtest.AwaitLogin(t, addr, "Vis001"))
	}
	setVisualPassword(t, b, cluster, "Vis002")
	for _, addr := range addrs {
		rfbtest.Want(t, "the new password through the other replica", rfbtest.Login(addr, "Vis002"), true)
		rfbtest.Want(t, "the replaced password", rfbtest.Login(addr, "Vis001"), false)
	}
	if st := ehpcCall(t, a, "GetVisualServiceStatus", map[string]string{"ClusterId": cluster})["Message"]; st != "Service started." {
		t.Errorf("GetVisualServiceStatus through the owner = %v", st)
	}

	// Stopped through the other replica, the service stops listening on
	// the owner.
	ehpcCall(t, b, "StopVisualService", map[string]string{"ClusterId": cluster})
	for _, addr := range addrs {
		start := time.Now()
		for rfbtest.Login(addr, "Vis002") == nil {
			if time.Since(start) > time.Minute {
				t.Fatalf("visual service %s still admits a minute after it was stopped", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// An access key deleted through one replica is refused by the other at
// once: keys are read from the store at every request.
func TestReplicasRefuseADeletedKey(t *testing.T) {
	a, b := startReplicas(t)
	created, err := a.RAM(t).CreateAccessKey(ram.CreateCreateAccessKeyRequest())
	if err != nil {
		t.Fatal(err)
	}
	id, secret := created.AccessKey.AccessKeyId, created.AccessKey.AccessKeySecret
	describe := func() error {
		_, err := b.ECSWithKey(t, id, secret).DescribeRegions(ecs.CreateDescribeRegionsRequest())
		return err
	}
	if err := describe(); err != nil {
		t.Fatalf("the new key on the other replica: %v", err)
	}
	del := ram.CreateDeleteAccessKeyRequest()
	del.UserAccessKeyId = id
	if _, err := a.RAM(t).DeleteAccessKey(del); err != nil {
		t.Fatal(err)
	}
	var se *sdkerrors.ServerError
	if err := describe(); !errors.As(err, &se) || se.ErrorCode() != "InvalidAccessKeyId.NotFound" {
		t.Errorf("the deleted key on the other replica: %v, want InvalidAccessKeyId.NotFound", err)
	}
}

// A fault rule added through one replica applies to the next call
// through the other, and its removal too: rules are read from the store
// at every driver call.
func TestReplicasShareFaultRules(t *testing.T) {
	a, b := startReplicas(t)
	id := runInstance(t, a.ECS(t), "optimized")
	modify := func() error {
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, id, "Flt123"
		_, err := b.ECS(t).ModifyInstanceVncPasswd(req)
		return err
	}
	if err := modify(); err != nil {
		t.Fatal(err)
	}
	rule, err := a.App().Faults.Add(context.Background(), faults.Rule{Product: faults.ProductECS, Resource: id, Effect: faults.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	var se *sdkerrors.ServerError
	if err := modify(); !errors.As(err, &se) || se.ErrorCode() != "InstanceNotReady" {
		t.Errorf("a change through the other replica under an unreachable-console rule: %v, want InstanceNotReady", err)
	}
	if err := a.App().Faults.Remove(context.Background(), rule.ID); err != nil {
		t.Fatal(err)
	}
	if err := modify(); err != nil {
		t.Errorf("a change through the other replica after the rule was removed: %v", err)
	}
}
