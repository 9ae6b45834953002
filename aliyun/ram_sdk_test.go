package aliyun_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/latchkey/latchkey/internal/testenv"
)

// RAM 2015-05-01 through SDKv1's typed services/ram client, and its
// enforcement on ECS (403 Forbidden.RAM with AccessDeniedDetail) and E-HPC
// (407 NotAuthorized) for a RAM user signing with its own access key.

func ramClient(t *testing.T, e *testenv.Env, ak, secret string) *ram.Client {
	t.Helper()
	c, err := ram.NewClientWithOptions(testenv.Region, sdk.NewConfig(), credentials.NewAccessKeyCredential(ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	return c
}

func ecsClient(t *testing.T, e *testenv.Env, ak, secret string) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClientWithOptions(testenv.Region, sdk.NewConfig(), credentials.NewAccessKeyCredential(ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	return c
}

// wantServerError fails unless err is the given code and status.
func wantServerError(t *testing.T, what string, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.HttpStatus() != status || se.ErrorCode() != code {
		t.Fatalf("%s: got %v, want %d %s", what, err, status, code)
	}
	return se
}

const denyVNC = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
	`{"Effect":"Deny","Action":["ecs:ModifyInstanceVncPasswd","ehpc:ModifyVisualServicePasswd"],"Resource":"*"}]}`

func TestRAMThroughSDK(t *testing.T) {
	e := testenv.Start(t)
	rootAK, rootSecret := e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret
	rc := ramClient(t, e, rootAK, rootSecret)

	// A user, a custom policy that denies both password changes, a key.
	cu := ram.CreateCreateUserRequest()
	cu.UserName, cu.DisplayName, cu.Email = "operator", "Operator", "op@example.com"
	user, err := rc.CreateUser(cu)
	if err != nil || user.User.UserName != "operator" || len(user.User.UserId) != 16 || user.User.CreateDate == "" {
		t.Fatalf("CreateUser = %+v, %v", user, err)
	}
	_, err = rc.CreateUser(cu)
	wantServerError(t, "CreateUser again", err, 409, "EntityAlreadyExists.User")
	bad := ram.CreateCreateUserRequest()
	bad.UserName = "no spaces"
	_, err = rc.CreateUser(bad)
	wantServerError(t, "bad UserName", err, 400, "InvalidParameter.UserName.InvalidChars")

	cp := ram.CreateCreatePolicyRequest()
	cp.PolicyName, cp.PolicyDocument, cp.Description = "DenyVncPasswords", denyVNC, "no password changes"
	pol, err := rc.CreatePolicy(cp)
	if err != nil || pol.Policy.PolicyType != "Custom" || pol.Policy.DefaultVersion != "v1" {
		t.Fatalf("CreatePolicy = %+v, %v", pol, err)
	}
	mal := ram.CreateCreatePolicyRequest()
	mal.PolicyName, mal.PolicyDocument = "Broken", `{"Version":"1","Statement":[{"Effect":"Allow"}]}`
	_, err = rc.CreatePolicy(mal)
	if se := wantServerError(t, "malformed policy", err, 400, "MalformedPolicyDocument"); se.Message() == "" {
		t.Fatal("MalformedPolicyDocument without a reason")
	}

	ap := ram.CreateAttachPolicyToUserRequest()
	ap.PolicyType, ap.PolicyName, ap.UserName = "Custom", "DenyVncPasswords", "operator"
	if _, err := rc.AttachPolicyToUser(ap); err != nil {
		t.Fatal(err)
	}
	_, err = rc.AttachPolicyToUser(ap)
	wantServerError(t, "attach twice", err, 409, "EntityAlreadyExists.User.Policy")
	ck := ram.CreateCreateAccessKeyRequest()
	ck.UserName = "operator"
	key, err := rc.CreateAccessKey(ck)
	if err != nil || key.AccessKey.AccessKeyId == "" || key.AccessKey.AccessKeySecret == "" || key.AccessKey.Status != "Active" {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	lk := ram.CreateListAccessKeysRequest()
	lk.UserName = "operator"
	keys, err := rc.ListAccessKeys(lk)
	if err != nil || len(keys.AccessKeys.AccessKey) != 1 || keys.AccessKeys.AccessKey[0].AccessKeySecret != "" {
		t.Fatalf("ListAccessKeys: %d keys, %v", len(keys.AccessKeys.AccessKey), err)
	}

	// Listing and reading.
	lu, err := rc.ListUsers(ram.CreateListUsersRequest())
	if err != nil || len(lu.Users.User) != 1 || lu.IsTruncated {
		t.Fatalf("ListUsers = %+v, %v", lu, err)
	}
	gp := ram.CreateGetPolicyRequest()
	gp.PolicyType, gp.PolicyName = "Custom", "DenyVncPasswords"
	got, err := rc.GetPolicy(gp)
	if err != nil || got.Policy.PolicyDocument != denyVNC || got.DefaultPolicyVersion.PolicyDocument != denyVNC ||
		!got.DefaultPolicyVersion.IsDefaultVersion || got.Policy.AttachmentCount != 1 {
		t.Fatalf("GetPolicy = %+v, %v", got, err)
	}
	gs := ram.CreateGetPolicyRequest()
	gs.PolicyType, gs.PolicyName = "System", "AliyunEHPCReadOnlyAccess"
	if sys, err := rc.GetPolicy(gs); err != nil || !strings.Contains(sys.Policy.PolicyDocument, "ehpc:List*") {
		t.Fatalf("GetPolicy(System) = %+v, %v", sys, err)
	}
	gs.PolicyName = "NoSuchPolicy"
	_, err = rc.GetPolicy(gs)
	wantServerError(t, "unknown policy", err, 404, "EntityNotExist.Policy")
	lp := ram.CreateListPoliciesRequest()
	lp.PolicyType = "System"
	sysList, err := rc.ListPolicies(lp)
	if err != nil || len(sysList.Policies.Policy) != 7 {
		t.Fatalf("ListPolicies(System) = %d, %v", len(sysList.Policies.Policy), err)
	}
	lpu := ram.CreateListPoliciesForUserRequest()
	lpu.UserName = "operator"
	if up, err := rc.ListPoliciesForUser(lpu); err != nil || len(up.Policies.Policy) != 1 || up.Policies.Policy[0].AttachDate == "" {
		t.Fatalf("ListPoliciesForUser = %+v, %v", up, err)
	}

	// The user's key signs like the root's; the policy decides.
	ak, secret := key.AccessKey.AccessKeyId, key.AccessKey.AccessKeySecret
	rootECS := ecsClient(t, e, rootAK, rootSecret)
	run := ecs.CreateRunInstancesRequest()
	run.ImageId, run.InstanceType = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.large"
	ran, err := rootECS.RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}
	inst := ran.InstanceIdSets.InstanceIdSet[0]
	userECS := ecsClient(t, e, ak, secret)
	mv := ecs.CreateModifyInstanceVncPasswdRequest()
	mv.InstanceId, mv.VncPassword = inst, "Abc123"
	_, err = userECS.ModifyInstanceVncPasswd(mv)
	se := wantServerError(t, "ECS ModifyInstanceVncPasswd", err, 403, "Forbidden.RAM")
	detail := se.AccessDeniedDetail()
	if detail["AuthAction"] != "ecs:ModifyInstanceVncPasswd" || detail["NoPermissionType"] != "ExplicitDeny" ||
		detail["AuthPrincipalDisplayName"] != "operator" || detail["AuthPrincipalType"] != "SubUser" {
		t.Fatalf("AccessDeniedDetail = %v", detail)
	}
	dr := ecs.CreateDescribeInstancesRequest()
	if _, err := userECS.DescribeInstances(dr); err != nil {
		t.Fatalf("what the policy allows: %v", err)
	}

	ec := newEHPCClient(t, e, rootAK, rootSecret)
	cluster := ec.createCluster(1)
	uc := newEHPCClient(t, e, ak, secret)
	_, sErr := uc.call("ModifyVisualServicePasswd", modifyParams(cluster))
	if sErr == nil || sErr.HttpStatus() != 407 || sErr.ErrorCode() != "NotAuthorized" || sErr.Message() != "You are not authorized by RAM for this request." {
		t.Fatalf("E-HPC ModifyVisualServicePasswd: %v", sErr)
	}
	uc.must("DescribeCluster", map[string]string{"ClusterId": cluster})

	// Detached, the user has no policy and is denied everything: ECS, E-HPC
	// and RAM itself.
	dp := ram.CreateDetachPolicyFromUserRequest()
	dp.PolicyType, dp.PolicyName, dp.UserName = "Custom", "DenyVncPasswords", "operator"
	if _, err := rc.DetachPolicyFromUser(dp); err != nil {
		t.Fatal(err)
	}
	_, err = rc.DetachPolicyFromUser(dp)
	wantServerError(t, "detach twice", err, 404, "EntityNotExist.User.Policy")
	_, err = userECS.DescribeInstances(ecs.CreateDescribeInstancesRequest())
	wantServerError(t, "no policy, ECS", err, 403, "Forbidden.RAM")
	if _, sErr := uc.call("ListClusters", nil); sErr == nil || sErr.HttpStatus() != 407 {
		t.Fatalf("no policy, E-HPC: %v", sErr)
	}
	userRAM := ramClient(t, e, ak, secret)
	_, err = userRAM.ListUsers(ram.CreateListUsersRequest())
	if se := wantServerError(t, "no policy, RAM", err, 403, "NoPermission"); !strings.Contains(se.Message(), "Action: ram:ListUsers") {
		t.Fatalf("NoPermission message %q", se.Message())
	}

	// Deleting: conflicts first, then in order.
	du := ram.CreateDeleteUserRequest()
	du.UserName = "operator"
	_, err = rc.DeleteUser(du)
	wantServerError(t, "user with a key", err, 409, "DeleteConflict.User.AccessKey")
	dk := ram.CreateDeleteAccessKeyRequest()
	dk.UserName, dk.UserAccessKeyId = "operator", ak
	if _, err := rc.DeleteAccessKey(dk); err != nil {
		t.Fatal(err)
	}
	_, err = rc.DeleteAccessKey(dk)
	wantServerError(t, "deleted key", err, 404, "EntityNotExist.User.AccessKey")
	_, err = userECS.DescribeInstances(ecs.CreateDescribeInstancesRequest())
	wantServerError(t, "deleted key signs", err, 404, "InvalidAccessKeyId.NotFound")
	if _, err := rc.DeleteUser(du); err != nil {
		t.Fatal(err)
	}
	_, err = rc.DeleteUser(du)
	wantServerError(t, "deleted user", err, 404, "EntityNotExist.User")
	dpol := ram.CreateDeletePolicyRequest()
	dpol.PolicyName = "DenyVncPasswords"
	if _, err := rc.DeletePolicy(dpol); err != nil {
		t.Fatal(err)
	}

	if strings.Contains(e.Logs(), secret) {
		t.Fatal("the RAM user's secret appears in the server log")
	}
}
