package aliyun_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
)

// The darabonba client with SignatureAlgorithm "ACS3-HMAC-SM3", over HTTPS
// trusting latchkey's CA: the calls go through, and a wrong secret is
// SignatureDoesNotMatch, as with SHA-256.
func TestDarabonbaSM3(t *testing.T) {
	env := testenv.Start(t)
	client := func(secret string) *openapi.Client {
		c, err := openapi.NewClient(&openapi.Config{
			AccessKeyId:        dara.String(env.Credentials.AccessKeyID),
			AccessKeySecret:    dara.String(secret),
			RegionId:           dara.String(testenv.Region),
			Endpoint:           dara.String(env.Endpoints.HTTPS),
			Ca:                 dara.String(string(env.CAPEM)),
			SignatureAlgorithm: dara.String("ACS3-HMAC-SM3"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// call sends what ECSv7's generated methods send: the action's
	// parameters in the query of a POST.
	call := func(c *openapi.Client, action string, query map[string]any) (map[string]any, error) {
		query["RegionId"] = testenv.Region
		params := &openapi.Params{
			Action: dara.String(action), Version: dara.String("2014-05-26"), Protocol: dara.String("HTTPS"),
			Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"),
			Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
		}
		res, err := c.CallApi(params, &openapi.OpenApiRequest{Query: openapiutil.Query(query)}, &dara.RuntimeOptions{})
		if err != nil {
			return nil, err
		}
		body, _ := res["body"].(map[string]any)
		return body, nil
	}

	c := client(env.Credentials.AccessKeySecret)
	run, err := call(c, "RunInstances", map[string]any{"ImageId": "aliyun_3_x64_20G_alibase_20240528.vhd", "InstanceType": "ecs.g7.large"})
	if err != nil {
		t.Fatalf("RunInstances signed with SM3: %v", err)
	}
	ids, _ := run["InstanceIdSets"].(map[string]any)["InstanceIdSet"].([]any)
	if len(ids) != 1 {
		t.Fatalf("RunInstances: %v", run)
	}
	id := ids[0].(string)
	if _, err := call(c, "ModifyInstanceVncPasswd", map[string]any{"InstanceId": id, "VncPassword": "Sm3Pw1"}); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd signed with SM3: %v", err)
	}
	if err := consoleLogin(t, env, id, "Sm3Pw1"); err != nil {
		t.Errorf("the console refuses the password set with an SM3-signed call: %v", err)
	}

	_, err = call(client("not-the-secret"), "DescribeInstances", map[string]any{})
	var se *tea.SDKError
	if !errors.As(err, &se) || tea.StringValue(se.Code) != "SignatureDoesNotMatch" || tea.IntValue(se.StatusCode) != 400 {
		t.Fatalf("SM3 with a wrong secret: %v", err)
	}
}

// consoleLogin opens the instance's console as DescribeInstanceVncUrl
// hands it out and logs in with VNC Authentication; it returns the
// login's error. The deadline bounds a hung connection, not the test.
func consoleLogin(t *testing.T, env *testenv.Env, id, pw string) error {
	t.Helper()
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = testenv.Region, id
	resp, err := env.ECS(t).DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	u, err := url.QueryUnescape(resp.VncUrl)
	if err != nil {
		t.Fatalf("VncUrl %q does not decode", resp.VncUrl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := env.DialConsole(ctx, u)
	if err != nil {
		t.Fatalf("open the console: %v", err)
	}
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, pw)
	if err == nil {
		c.Close()
	}
	return err
}
