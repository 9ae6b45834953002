package aliyun_test

import (
	"errors"
	"regexp"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/latchkey/latchkey/internal/testenv"
)

// STS 2015-04-01 GetCallerIdentity through SDKv1's typed services/sts
// client, which `aliyun sts GetCallerIdentity` runs on: the root and a
// RAM user each learn who they are, a RAM user whose policies allow
// nothing included (the call needs no authorization).
func TestGetCallerIdentity(t *testing.T) {
	env := testenv.Start(t)
	identity := func(t *testing.T, ak, secret string) *sts.GetCallerIdentityResponse {
		t.Helper()
		c, err := sts.NewClientWithAccessKey(testenv.Region, ak, secret)
		if err != nil {
			t.Fatal(err)
		}
		c.Domain = env.Endpoints.HTTP
		resp, err := c.GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
		if err != nil {
			t.Fatalf("GetCallerIdentity: %v", err)
		}
		return resp
	}
	requestID := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
	account := env.Credentials.AccountID

	root := identity(t, env.Credentials.AccessKeyID, env.Credentials.AccessKeySecret)
	if root.IdentityType != "Account" || root.AccountId != account || root.UserId != account ||
		root.PrincipalId != account || root.Arn != "acs:ram::"+account+":root" || root.RoleId != "" ||
		!requestID.MatchString(root.RequestId) {
		t.Errorf("root: %s", root.GetHttpContentString())
	}

	rc := env.RAM(t)
	cu := ram.CreateCreateUserRequest()
	cu.UserName = "auditor"
	user, err := rc.CreateUser(cu)
	if err != nil {
		t.Fatal(err)
	}
	ck := ram.CreateCreateAccessKeyRequest()
	ck.UserName = "auditor"
	key, err := rc.CreateAccessKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	got := identity(t, key.AccessKey.AccessKeyId, key.AccessKey.AccessKeySecret)
	if got.IdentityType != "RAMUser" || got.AccountId != account || got.UserId != user.User.UserId ||
		got.PrincipalId != user.User.UserId || got.Arn != "acs:ram::"+account+":user/auditor" || got.RoleId != "" {
		t.Errorf("RAM user %s: %s", user.User.UserId, got.GetHttpContentString())
	}

	// A wrong secret is refused like any other call.
	c, err := sts.NewClientWithAccessKey(testenv.Region, env.Credentials.AccessKeyID, "not-the-secret")
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = env.Endpoints.HTTP
	_, err = c.GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.HttpStatus() != 400 || se.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
}
