package e2e

import (
	"encoding/json"
	"errors"
	"net"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// TestREADMEEHPCAndRAM follows README.md's E-HPC and RAM sections against
// the whole server, as a new user would: create a cluster with the SDK,
// set its visual-service password, log in to the visual service with it,
// and see a restricted RAM user refused.
func TestREADMEEHPCAndRAM(t *testing.T) {
	env := testenv.Start(t)
	akID, secret := env.Credentials.AccessKeyID, env.Credentials.AccessKeySecret
	endpoint := env.Endpoints.HTTP

	client, err := sdk.NewClientWithAccessKey("cn-hangzhou", akID, secret)
	if err != nil {
		t.Fatal(err)
	}
	call := func(c *sdk.Client, action string, params map[string]string) (*responses.CommonResponse, error) {
		req := requests.NewCommonRequest()
		req.Method, req.Scheme, req.Domain = "GET", "http", endpoint
		req.Product, req.Version, req.ApiName = "EHPC", "2018-04-12", action
		for k, v := range params {
			req.QueryParams[k] = v
		}
		return c.ProcessCommonRequest(req)
	}
	decode := func(resp *responses.CommonResponse, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	created := decode(call(client, "CreateCluster", map[string]string{
		"Name": "hpc-1", "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
		"EcsOrder.Manager.InstanceType": "ecs.g7.large",
		"EcsOrder.Compute.Count":        "2", "EcsOrder.Compute.InstanceType": "ecs.c7.large",
		"EcsOrder.Login.Count": "1", "EcsOrder.Login.InstanceType": "ecs.g7.large",
		"Password": "Root#Pass1", "RemoteVisEnable": "true",
	}))
	clusterID, _ := created["ClusterId"].(string)
	nodes := decode(call(client, "ListNodes", map[string]string{"ClusterId": clusterID, "Role": "Login"}))
	info := nodes["Nodes"].(map[string]any)["NodeInfo"].([]any)
	login := info[0].(map[string]any)["PublicIpAddress"].(string)

	set := decode(call(client, "ModifyVisualServicePasswd", map[string]string{
		"ClusterId": clusterID, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": "Abc123",
	}))
	if set["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd = %v", set)
	}
	vnc := func(pw string) error { return rfbtest.Login(net.JoinHostPort(login, "12016"), pw) }
	if err := vnc("Abc123"); err != nil {
		t.Fatalf("visual service refused the password just set: %v", err)
	}
	if err := vnc("Zzz999"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("visual service with another password: %v", err)
	}

	// RAM: a user whose policy denies both password changes.
	rc, err := ram.NewClientWithAccessKey("cn-hangzhou", akID, secret)
	if err != nil {
		t.Fatal(err)
	}
	rc.Domain = endpoint
	u := ram.CreateCreateUserRequest()
	u.UserName = "operator"
	if _, err := rc.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	p := ram.CreateCreatePolicyRequest()
	p.PolicyName = "NoPasswordChanges"
	p.PolicyDocument = `{"Version":"1","Statement":[
  {"Effect":"Allow","Action":"*","Resource":"*"},
  {"Effect":"Deny","Action":["ecs:ModifyInstanceVncPasswd","ehpc:ModifyVisualServicePasswd"],"Resource":"*"}]}`
	if _, err := rc.CreatePolicy(p); err != nil {
		t.Fatal(err)
	}
	a := ram.CreateAttachPolicyToUserRequest()
	a.PolicyType, a.PolicyName, a.UserName = "Custom", "NoPasswordChanges", "operator"
	if _, err := rc.AttachPolicyToUser(a); err != nil {
		t.Fatal(err)
	}
	k := ram.CreateCreateAccessKeyRequest()
	k.UserName = "operator"
	key, err := rc.CreateAccessKey(k)
	if err != nil {
		t.Fatal(err)
	}

	rootECS, err := ecs.NewClientWithAccessKey("cn-hangzhou", akID, secret)
	if err != nil {
		t.Fatal(err)
	}
	rootECS.Domain = endpoint
	run := ecs.CreateRunInstancesRequest()
	run.ImageId, run.InstanceType = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.large"
	ran, err := rootECS.RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}
	userECS, err := ecs.NewClientWithAccessKey("cn-hangzhou", key.AccessKey.AccessKeyId, key.AccessKey.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	userECS.Domain = endpoint
	mv := ecs.CreateModifyInstanceVncPasswdRequest()
	mv.InstanceId, mv.VncPassword = ran.InstanceIdSets.InstanceIdSet[0], "Abc123"
	_, err = userECS.ModifyInstanceVncPasswd(mv)
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.HttpStatus() != 403 || se.ErrorCode() != "Forbidden.RAM" || se.AccessDeniedDetail()["NoPermissionType"] != "ExplicitDeny" {
		t.Fatalf("ECS as the restricted user: %v", err)
	}
	userClient, err := sdk.NewClientWithAccessKey("cn-hangzhou", key.AccessKey.AccessKeyId, key.AccessKey.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = call(userClient, "ModifyVisualServicePasswd", map[string]string{
		"ClusterId": clusterID, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": "Xyz789",
	})
	if !errors.As(err, &se) || se.HttpStatus() != 407 || se.ErrorCode() != "NotAuthorized" || se.Message() != "You are not authorized by RAM for this request." {
		t.Fatalf("E-HPC as the restricted user: %v", err)
	}
	// What the policy allows works.
	decode(call(userClient, "DescribeCluster", map[string]string{"ClusterId": clusterID}))
	if err := vnc("Abc123"); err != nil {
		t.Fatalf("the refused change changed the password: %v", err)
	}
}
