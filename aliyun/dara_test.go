package aliyun_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/latchkey/latchkey/internal/testenv"
)

// The darabonba path: openapi.Client.CallApi with Params built exactly as
// ECSv7's generated *WithOptions methods build them (reference §2.1).
// ECSv7 itself is not served by the Go module proxy; its generated code
// is this call.

// daraFlavor is how a darabonba client talks: over HTTPS (with the CA
// given as Config.Ca) or plain HTTP, and with V3 or its HMAC-SHA1
// fallback (SignatureAlgorithm "v2").
type daraFlavor struct{ https, v1 bool }

// daraClient returns a darabonba client for the key.
func daraClient(t *testing.T, e *env, ak, secret string, f daraFlavor) *openapi.Client {
	t.Helper()
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(ak),
		AccessKeySecret: dara.String(secret),
		Endpoint:        dara.String(e.Endpoints.HTTP),
		Protocol:        dara.String("HTTP"),
		RegionId:        dara.String(testenv.Region),
	}
	if f.https {
		cfg.Endpoint, cfg.Protocol, cfg.Ca = dara.String(e.Endpoints.HTTPS), dara.String("HTTPS"), dara.String(string(e.CAPEM))
	}
	v1 := f.v1
	if v1 {
		cfg.SignatureAlgorithm = dara.String("v2")
	}
	c, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ecsV7Params are the Params ECSv7 passes to CallApi for an action.
func ecsV7Params(action string) *openapi.Params {
	return &openapi.Params{
		Action:      dara.String(action),
		Version:     dara.String("2014-05-26"),
		Protocol:    dara.String("HTTPS"),
		Pathname:    dara.String("/"),
		Method:      dara.String("POST"),
		AuthType:    dara.String("AK"),
		Style:       dara.String("RPC"),
		ReqBodyType: dara.String("formData"),
		BodyType:    dara.String("json"),
	}
}

// callECS calls an ECS action with its parameters in the query, as ECSv7
// does (openapiutil.Query flattens lists to Name.N.Field).
func callECS(c *openapi.Client, action string, query map[string]any) (map[string]any, error) {
	if _, ok := query["RegionId"]; !ok {
		query["RegionId"] = testenv.Region
	}
	res, err := c.CallApi(ecsV7Params(action), &openapi.OpenApiRequest{Query: openapiutil.Query(query)}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	return body, nil
}

// daraError checks a darabonba error's code and status.
func daraError(t *testing.T, err error, code string, status int) *tea.SDKError {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("want a tea.SDKError %s, got %T: %v", code, err, err)
	}
	if tea.StringValue(se.Code) != code || tea.IntValue(se.StatusCode) != status {
		t.Fatalf("got %s (%d) %s, want %s (%d)", tea.StringValue(se.Code), tea.IntValue(se.StatusCode), tea.StringValue(se.Message), code, status)
	}
	return se
}

func daraFlow(t *testing.T, f daraFlavor) {
	e := newEnv(t)
	v1 := f.v1
	c := daraClient(t, e, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret, f)

	regions, err := callECS(c, "DescribeRegions", map[string]any{"AcceptLanguage": "en-US"})
	if err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	list, _ := regions["Regions"].(map[string]any)["Region"].([]any)
	if len(list) < 20 || !requestIDPattern.MatchString(regions["RequestId"].(string)) {
		t.Fatalf("DescribeRegions: %v", regions)
	}

	run, err := callECS(c, "RunInstances", map[string]any{
		"ImageId": "aliyun_3_x64_20G_alibase_20240528.vhd", "InstanceType": "ecs.g7.large",
		"Amount": 2, "IoOptimized": "optimized", "InstanceName": "dara box*~",
		"Tag": []map[string]any{{"Key": "owner", "Value": "Ünïcode & space"}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	set, _ := run["InstanceIdSets"].(map[string]any)["InstanceIdSet"].([]any)
	if len(set) != 2 {
		t.Fatalf("RunInstances: %v", run)
	}
	id := set[0].(string)

	desc, err := callECS(c, "DescribeInstances", map[string]any{"InstanceIds": `["` + id + `"]`, "IoOptimized": true})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	insts, _ := desc["Instances"].(map[string]any)["Instance"].([]any)
	if len(insts) != 1 {
		t.Fatalf("DescribeInstances: %v", desc)
	}
	inst := insts[0].(map[string]any)
	if inst["IoOptimized"] != true || inst["InstanceName"] != "dara box*~" || inst["Status"] != "Running" {
		t.Errorf("instance %v", inst)
	}
	tags, _ := inst["Tags"].(map[string]any)["Tag"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["TagValue"] != "Ünïcode & space" {
		t.Errorf("tags %v", tags)
	}

	if _, err := callECS(c, "ModifyInstanceVncPasswd", map[string]any{"InstanceId": id, "VncPassword": "Dara12"}); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd: %v", err)
	}
	if !e.admits(t, id, "Dara12") {
		t.Error("password not live")
	}
	vnc, err := callECS(c, "DescribeInstanceVncUrl", map[string]any{"InstanceId": id})
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	if raw, err := url.QueryUnescape(vnc["VncUrl"].(string)); err != nil || !strings.Contains(raw, "/vnc/?s=") {
		t.Errorf("VncUrl %v", vnc["VncUrl"])
	}
	for _, a := range []string{"StopInstance", "StartInstance", "RebootInstance"} {
		if _, err := callECS(c, a, map[string]any{"InstanceId": id}); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if _, err := callECS(c, "DeleteInstance", map[string]any{"InstanceId": id, "Force": true}); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	if _, err := callECS(c, "CreateInstance", map[string]any{"ImageId": "img", "InstanceType": "ecs.g7.large"}); err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}

	// Errors reach darabonba as ClientErrors with their code and status.
	_, err = callECS(c, "ModifyInstanceVncPasswd", map[string]any{"InstanceId": set[1], "VncPassword": "short"})
	se := daraError(t, err, "IncorrectVncPassword.Malformed", 400)
	if !strings.Contains(tea.StringValue(se.Message), "must be 6 characters") {
		t.Errorf("message %q", tea.StringValue(se.Message))
	}
	_, err = callECS(c, "DescribeInstanceVncUrl", map[string]any{"InstanceId": "i-nothere", "RegionId": "cn-nowhere"})
	daraError(t, err, "InvalidRegionId.NotFound", 404)
	_, err = callECS(c, "NoSuchAction", map[string]any{})
	daraError(t, err, "InvalidAction.NotFound", 404)

	wrong := daraClient(t, e, e.Credentials.AccessKeyID, "wrong-secret", f)
	_, err = callECS(wrong, "DescribeRegions", map[string]any{})
	se = daraError(t, err, "SignatureDoesNotMatch", 400)
	if !strings.Contains(tea.StringValue(se.Message), " server string to sign is:") {
		t.Errorf("SignatureDoesNotMatch without the server's string to sign: %q", tea.StringValue(se.Message))
	}

	scheme := "scheme=v3"
	if v1 {
		scheme = "scheme=v1"
	}
	if logs := e.Logs(); !strings.Contains(logs, scheme) || strings.Contains(logs, map[bool]string{true: "scheme=v3", false: "scheme=v1"}[v1]) {
		t.Errorf("requests were not all verified with %s", scheme)
	}

	bobKey, bobSecret := e.userKey(t, "bob")
	_, err = callECS(daraClient(t, e, bobKey, bobSecret, f), "DescribeInstances", map[string]any{})
	se = daraError(t, err, "Forbidden.RAM", 403)
	if se.AccessDeniedDetail["AuthAction"] != "ecs:DescribeInstances" {
		t.Errorf("AccessDeniedDetail %v", se.AccessDeniedDetail)
	}
}

// The V3 signature (ACS3-HMAC-SHA256), darabonba's default, over HTTP.
func TestDarabonbaV3(t *testing.T) { daraFlow(t, daraFlavor{}) }

// The V3 signature over HTTPS with the CA given as Config.Ca.
func TestDarabonbaV3HTTPS(t *testing.T) { daraFlow(t, daraFlavor{https: true}) }

// darabonba's HMAC-SHA1 fallback (lower-case Format=json, no
// SignatureType).
func TestDarabonbaV1(t *testing.T) { daraFlow(t, daraFlavor{v1: true}) }
