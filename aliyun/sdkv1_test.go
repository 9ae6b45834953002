package aliyun_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/aliyun"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testenv"
)

// requestIDPattern is an upper-case UUID, as every RequestId is.
var requestIDPattern = aliyun.RequestIDPattern

// serverError unwraps an SDKv1 error into its ServerError.
func serverError(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want an SDK ServerError, got %T: %v", err, err)
	}
	return se
}

// wantECSError checks an SDKv1 error's code and HTTP status, and that
// its RequestId is an upper-case UUID.
func wantECSError(t *testing.T, err error, code string, status int) *sdkerrors.ServerError {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s (%d), got success", code, status)
	}
	se := serverError(t, err)
	if se.ErrorCode() != code || se.HttpStatus() != status {
		t.Fatalf("got %s (%d) %q, want %s (%d)", se.ErrorCode(), se.HttpStatus(), se.Message(), code, status)
	}
	if !requestIDPattern.MatchString(se.RequestId()) {
		t.Errorf("RequestId %q is not an upper-case UUID", se.RequestId())
	}
	return se
}

func runInstances(t *testing.T, c *ecs.Client, edit func(*ecs.RunInstancesRequest)) []string {
	t.Helper()
	req := ecs.CreateRunInstancesRequest()
	req.ImageId = "aliyun_3_x64_20G_alibase_20240528.vhd"
	req.InstanceType = "ecs.g7.large"
	if edit != nil {
		edit(req)
	}
	resp, err := c.RunInstances(req)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	return resp.InstanceIdSets.InstanceIdSet
}

func describeOne(t *testing.T, c *ecs.Client, id string) ecs.Instance {
	t.Helper()
	req := ecs.CreateDescribeInstancesRequest()
	req.InstanceIds = `["` + id + `"]`
	resp, err := c.DescribeInstances(req)
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(resp.Instances.Instance) != 1 {
		t.Fatalf("DescribeInstances %s: %d instances", id, len(resp.Instances.Instance))
	}
	return resp.Instances.Instance[0]
}

// Every ECS operation through the typed SDKv1 client, over plain HTTP
// (SDKv1's default scheme).
func TestSDKv1EveryOperation(t *testing.T) {
	e := newEnv(t)
	c := e.rootClient(t)

	// DescribeRegions, in the default language and in English.
	regions, err := c.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	if err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	if !requestIDPattern.MatchString(regions.RequestId) {
		t.Errorf("RequestId %q", regions.RequestId)
	}
	if got := regions.GetHttpHeaders()["X-Acs-Request-Id"]; len(got) != 1 || got[0] != regions.RequestId {
		t.Errorf("x-acs-request-id header %v, body RequestId %s", got, regions.RequestId)
	}
	var hz *ecs.Region
	for i, r := range regions.Regions.Region {
		if r.RegionId == testenv.Region {
			hz = &regions.Regions.Region[i]
		}
	}
	if len(regions.Regions.Region) < 20 || hz == nil {
		t.Fatalf("DescribeRegions: %d regions, cn-hangzhou present: %v", len(regions.Regions.Region), hz != nil)
	}
	if hz.LocalName != "华东1（杭州）" || hz.RegionEndpoint != "ecs.cn-hangzhou.aliyuncs.com" || hz.Status != "available" {
		t.Errorf("cn-hangzhou: %+v", *hz)
	}
	enReq := ecs.CreateDescribeRegionsRequest()
	enReq.AcceptLanguage = "en-US"
	en, err := c.DescribeRegions(enReq)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range en.Regions.Region {
		if r.RegionId == testenv.Region && r.LocalName != "China (Hangzhou)" {
			t.Errorf("en-US LocalName %q", r.LocalName)
		}
	}

	// RunInstances: two I/O optimized instances, started, with tags and
	// echoed network parameters.
	ids := runInstances(t, c, func(r *ecs.RunInstancesRequest) {
		r.Amount = requests.NewInteger(2)
		r.IoOptimized = "optimized"
		r.InstanceName = "web"
		r.VSwitchId = "vsw-bp1s5fnvk4gn2tws0****"
		r.SecurityGroupId = "sg-bp15ed6xe1yxeycg****"
		r.Tag = &[]ecs.RunInstancesTag{{Key: "team", Value: "blue"}, {Key: "env", Value: "测试"}}
	})
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "i-bp") {
		t.Fatalf("RunInstances ids %v", ids)
	}
	inst := describeOne(t, c, ids[0])
	if inst.Status != "Running" || !inst.IoOptimized || inst.InstanceName != "web" || inst.ZoneId != "cn-hangzhou-a" ||
		inst.InstanceType != "ecs.g7.large" || inst.InstanceTypeFamily != "ecs.g7" || inst.Cpu != 2 || inst.Memory != 8192 {
		t.Errorf("described instance: %+v", inst)
	}
	if _, err := time.Parse("2006-01-02T15:04Z", inst.CreationTime); err != nil {
		t.Errorf("CreationTime %q: %v", inst.CreationTime, err)
	}
	if inst.VpcAttributes.VSwitchId != "vsw-bp1s5fnvk4gn2tws0****" ||
		len(inst.SecurityGroupIds.SecurityGroupId) != 1 || inst.SecurityGroupIds.SecurityGroupId[0] != "sg-bp15ed6xe1yxeycg****" {
		t.Errorf("echoed network parameters: %+v %+v", inst.VpcAttributes, inst.SecurityGroupIds)
	}
	if len(inst.Tags.Tag) != 2 || inst.Tags.Tag[0].TagKey != "team" || inst.Tags.Tag[1].TagValue != "测试" {
		t.Errorf("tags: %+v", inst.Tags.Tag)
	}

	// CreateInstance: one instance, not I/O optimized, created Stopped.
	creq := ecs.CreateCreateInstanceRequest()
	creq.ImageId = "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"
	creq.InstanceType = "ecs.c6.xlarge"
	creq.IoOptimized = "none"
	creq.ZoneId = "cn-hangzhou-b"
	creq.Password = "Admin#2024pass"
	cresp, err := c.CreateInstance(creq)
	if err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}
	plain := cresp.InstanceId
	if cresp.TradePrice != 0 || !strings.HasPrefix(plain, "i-") {
		t.Errorf("CreateInstance: %+v", cresp)
	}
	pinst := describeOne(t, c, plain)
	if pinst.Status != "Stopped" || pinst.IoOptimized || pinst.OSType != "windows" || pinst.Cpu != 4 || pinst.Memory != 8192 {
		t.Errorf("created instance: %+v", pinst)
	}

	// DescribeInstances filters and both paging styles.
	list := func(edit func(*ecs.DescribeInstancesRequest)) *ecs.DescribeInstancesResponse {
		t.Helper()
		req := ecs.CreateDescribeInstancesRequest()
		edit(req)
		resp, err := c.DescribeInstances(req)
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		return resp
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) {}); r.TotalCount != 3 || r.PageNumber != 1 || r.PageSize != 10 || len(r.Instances.Instance) != 3 {
		t.Errorf("all: total %d page %d size %d n %d", r.TotalCount, r.PageNumber, r.PageSize, len(r.Instances.Instance))
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) { r.Status = "Stopped" }); r.TotalCount != 1 || r.Instances.Instance[0].InstanceId != plain {
		t.Errorf("Status=Stopped: %d", r.TotalCount)
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) { r.IoOptimized = requests.NewBoolean(false) }); r.TotalCount != 1 {
		t.Errorf("IoOptimized=false: %d", r.TotalCount)
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) { r.InstanceName = "we*" }); r.TotalCount != 2 {
		t.Errorf("InstanceName=we*: %d", r.TotalCount)
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) { r.ZoneId = "cn-hangzhou-b" }); r.TotalCount != 1 {
		t.Errorf("ZoneId: %d", r.TotalCount)
	}
	if r := list(func(r *ecs.DescribeInstancesRequest) {
		r.PageSize = requests.NewInteger(2)
		r.PageNumber = requests.NewInteger(2)
	}); r.TotalCount != 3 || r.PageNumber != 2 || r.PageSize != 2 || len(r.Instances.Instance) != 1 {
		t.Errorf("page 2 of 2: total %d page %d size %d n %d", r.TotalCount, r.PageNumber, r.PageSize, len(r.Instances.Instance))
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; pages < 5; pages++ {
		r := list(func(r *ecs.DescribeInstancesRequest) {
			r.MaxResults = requests.NewInteger(2)
			r.NextToken = token
		})
		for _, i := range r.Instances.Instance {
			seen[i.InstanceId] = true
		}
		if token = r.NextToken; token == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("token paging saw %d instances", len(seen))
	}

	// Stop, start and reboot.
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId = ids[1]
	stop.StoppedMode = "StopCharging"
	if _, err := c.StopInstance(stop); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if got := describeOne(t, c, ids[1]); got.Status != "Stopped" || got.StoppedMode != "StopCharging" {
		t.Errorf("after StopInstance: %s %s", got.Status, got.StoppedMode)
	}
	start := ecs.CreateStartInstanceRequest()
	start.InstanceId = plain
	if _, err := c.StartInstance(start); err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	if got := describeOne(t, c, plain); got.Status != "Running" || got.StartTime == "" {
		t.Errorf("after StartInstance: %s start %q", got.Status, got.StartTime)
	}
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.InstanceId = plain
	reboot.ForceStop = requests.NewBoolean(true)
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}

	// ModifyInstanceVncPasswd on an I/O optimized instance: live at once.
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.InstanceId = ids[0]
	mod.VncPassword = "Ecs123"
	mresp, err := c.ModifyInstanceVncPasswd(mod)
	if err != nil {
		t.Fatalf("ModifyInstanceVncPasswd: %v", err)
	}
	if !requestIDPattern.MatchString(mresp.RequestId) {
		t.Errorf("RequestId %q", mresp.RequestId)
	}
	if !e.admits(t, ids[0], "Ecs123") {
		t.Error("the new password is not live on the I/O optimized console")
	}

	// DescribeInstanceVncUrl: a percent-encoded console URL with a token.
	vnc := ecs.CreateDescribeInstanceVncUrlRequest()
	vnc.InstanceId = ids[0]
	vresp, err := c.DescribeInstanceVncUrl(vnc)
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	if strings.ContainsAny(vresp.VncUrl, ":/?=") {
		t.Errorf("VncUrl %q is not percent-encoded", vresp.VncUrl)
	}
	raw, err := url.QueryUnescape(vresp.VncUrl)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "wss" || u.Host != e.Endpoints.HTTPS || u.Path != "/vnc/" || len(u.Query().Get("s")) < 16 {
		t.Errorf("VncUrl decodes to %q", raw)
	}

	// DeleteInstance: a Running instance needs Force.
	del := ecs.CreateDeleteInstanceRequest()
	del.InstanceId = ids[0]
	_, err = c.DeleteInstance(del)
	wantECSError(t, err, "IncorrectInstanceStatus", 403)
	del.Force = requests.NewBoolean(true)
	if _, err := c.DeleteInstance(del); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	req := ecs.CreateDescribeInstancesRequest()
	req.InstanceIds = `["` + ids[0] + `"]`
	if r, err := c.DescribeInstances(req); err != nil || r.TotalCount != 0 {
		t.Errorf("after DeleteInstance: %v, %v", r, err)
	}

	// Every mutating call was audited, with the caller and the result.
	events := e.ecsEvents(t)
	actions := map[string]int{}
	for _, ev := range events {
		actions[ev.Action]++
		if ev.AccountID != core.AccountID(e.Credentials.AccountID) || ev.AccessKeyID != core.AccessKeyID(e.Credentials.AccessKeyID) || ev.Product != "ecs" ||
			!requestIDPattern.MatchString(string(ev.RequestID)) || !ev.SourceIP.IsLoopback() {
			t.Errorf("audit event %+v", ev)
		}
	}
	for _, a := range []string{"RunInstances", "CreateInstance", "StopInstance", "StartInstance", "RebootInstance",
		"ModifyInstanceVncPasswd", "DescribeInstanceVncUrl"} {
		if actions[a] != 1 {
			t.Errorf("audit: %d events for %s", actions[a], a)
		}
	}
	if actions["DeleteInstance"] != 2 || actions["DescribeInstances"] != 0 || actions["DescribeRegions"] != 0 {
		t.Errorf("audit counts %v", actions)
	}
	for _, ev := range events {
		if ev.Action == "DeleteInstance" && ev.Result != "IncorrectInstanceStatus" && ev.Result != "Success" {
			t.Errorf("DeleteInstance audit result %q", ev.Result)
		}
		if ev.Action == "RunInstances" && ev.Resource != ids[0]+","+ids[1] {
			t.Errorf("RunInstances audit resource %q", ev.Resource)
		}
		if ev.Action == "ModifyInstanceVncPasswd" && (ev.Resource != ids[0] || ev.Result != "Success") {
			t.Errorf("ModifyInstanceVncPasswd audit %+v", ev)
		}
		b, _ := json.Marshal(ev)
		if strings.Contains(string(b), "Ecs123") || strings.Contains(string(b), "Admin#2024pass") {
			t.Error("an audit event contains a password")
		}
	}
}

// A non-I/O-optimized instance keeps its old console password until it
// restarts, by reboot or by stop and start (PRODUCT.md §3).
func TestSDKv1PendingPasswordUntilRestart(t *testing.T) {
	e := newEnv(t)
	c := e.rootClient(t)
	ids := runInstances(t, c, func(r *ecs.RunInstancesRequest) { r.IoOptimized = "none"; r.Amount = requests.NewInteger(2) })
	set := func(id, pw string) {
		t.Helper()
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.InstanceId, req.VncPassword = id, pw
		if _, err := c.ModifyInstanceVncPasswd(req); err != nil {
			t.Fatalf("ModifyInstanceVncPasswd: %v", err)
		}
	}
	set(ids[0], "Pend01")
	if e.admits(t, ids[0], "Pend01") {
		t.Fatal("the password is live before the restart")
	}
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.InstanceId = ids[0]
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatal(err)
	}
	if !e.admits(t, ids[0], "Pend01") {
		t.Error("the password is not live after RebootInstance")
	}

	set(ids[1], "Pend02")
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId = ids[1]
	if _, err := c.StopInstance(stop); err != nil {
		t.Fatal(err)
	}
	if e.holds(t, ids[1], "Pend02") {
		t.Fatal("the password is live after StopInstance alone")
	}
	start := ecs.CreateStartInstanceRequest()
	start.InstanceId = ids[1]
	if _, err := c.StartInstance(start); err != nil {
		t.Fatal(err)
	}
	if !e.admits(t, ids[1], "Pend02") {
		t.Error("the password is not live after StopInstance and StartInstance")
	}
}

// Every error of ModifyInstanceVncPasswd's documentation (seeds 000, 001)
// with its HTTP status and exact message.
func TestSDKv1ModifyInstanceVncPasswdErrors(t *testing.T) {
	e := newEnv(t, testenv.WithTransition(time.Minute))
	c := e.rootClient(t)
	ids := runInstances(t, c, func(r *ecs.RunInstancesRequest) { r.Amount = requests.NewInteger(3) })
	e.clock.Add(3 * time.Minute) // Pending → Starting → Running

	modify := func(region, id, pw string) error {
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		if region != "" {
			req.RegionId = region
		}
		req.InstanceId, req.VncPassword = id, pw
		_, err := c.ModifyInstanceVncPasswd(req)
		return err
	}
	if err := modify("", ids[0], "Abc123"); err != nil {
		t.Fatalf("a valid change: %v", err)
	}

	for _, tc := range []struct {
		name, region, id, pw string
		code                 string
		status               int
		message              string
	}{
		{"too short", "", ids[0], "Ab1", "IncorrectVncPassword.Malformed", 400,
			"The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers."},
		{"too long", "", ids[0], "Abc1234", "IncorrectVncPassword.Malformed", 400,
			"The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers."},
		{"symbol", "", ids[0], "Abc12#", "IncorrectVncPassword.Malformed", 400, "The specified parameter VncPassword is not valid."},
		{"space", "", ids[0], "Abc 12", "IncorrectVncPassword.Malformed", 400, "The specified parameter VncPassword is not valid."},
		{"unknown region", "cn-atlantis", ids[0], "Abc123", "InvalidRegionId.NotFound", 404, "The specified RegionId does not exist."},
		{"unknown instance", "", "i-bpdoesnotexist0000", "Abc123", "InvalidInstanceId.NotFound", 404, "The specified InstanceId does not exist."},
		{"other region", "cn-shanghai", ids[0], "Abc123", "InvalidInstanceId.NotFound", 404, "The specified InstanceId does not exist."},
		{"no instance", "", "", "Abc123", "MissingParameter", 400, `The input parameter "InstanceId" that is mandatory for processing this request is not supplied.`},
	} {
		err := modify(tc.region, tc.id, tc.pw)
		se := wantECSError(t, err, tc.code, tc.status)
		if se.Message() != tc.message {
			t.Errorf("%s: message %q, want %q", tc.name, se.Message(), tc.message)
		}
	}

	// IncorrectInstanceStatus: Stopping (and Pending, Starting).
	stop := ecs.CreateStopInstanceRequest()
	stop.InstanceId = ids[1]
	if _, err := c.StopInstance(stop); err != nil {
		t.Fatal(err)
	}
	se := wantECSError(t, modify("", ids[1], "Abc123"), "IncorrectInstanceStatus", 403)
	if se.Message() != "The current status of the resource does not support this operation." {
		t.Errorf("IncorrectInstanceStatus message %q", se.Message())
	}
	fresh := runInstances(t, c, nil)
	wantECSError(t, modify("", fresh[0], "Abc123"), "IncorrectInstanceStatus", 403)

	// NoSuchResource: the instance is being released.
	e.clock.Add(2 * time.Minute) // ids[1] is Stopped now
	del := ecs.CreateDeleteInstanceRequest()
	del.InstanceId = ids[1]
	if _, err := c.DeleteInstance(del); err != nil {
		t.Fatal(err)
	}
	se = wantECSError(t, modify("", ids[1], "Abc123"), "NoSuchResource", 404)
	if se.Message() != "The specified resource is not found." {
		t.Errorf("NoSuchResource message %q", se.Message())
	}

	// InstanceNotReady: the console cannot be reached, and nothing changes.
	if err := modify("", ids[2], "Kept12"); err != nil {
		t.Fatal(err)
	}
	restore := e.unreachable(t, ids[2])
	if err := modify("", ids[2], "Down99"); err == nil {
		t.Fatal("change with the console down succeeded")
	} else {
		se := wantECSError(t, err, "InstanceNotReady", 403)
		if se.Message() != "Temporarily unable to connect the specified instance,please try later." {
			t.Errorf("InstanceNotReady message %q", se.Message())
		}
	}
	restore()
	if e.admits(t, ids[2], "Down99") || !e.admits(t, ids[2], "Kept12") {
		t.Error("the refused password reached the console")
	}
	// The stored password did not change either: a restart, which makes a
	// pending password live, leaves the console as it was.
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.InstanceId = ids[2]
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatal(err)
	}
	if e.holds(t, ids[2], "Down99") || !e.holds(t, ids[2], "Kept12") {
		t.Error("the console password changed after a refused change and a reboot")
	}

	// A RAM user without a policy: Forbidden.RAM with AccessDeniedDetail.
	aliceKey, aliceSecret := e.userKey(t, "alice")
	ac := e.ECSWithKey(t, aliceKey, aliceSecret)
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.InstanceId, req.VncPassword = ids[0], "Abc123"
	_, err := ac.ModifyInstanceVncPasswd(req)
	se = wantECSError(t, err, "Forbidden.RAM", 403)
	d := se.AccessDeniedDetail()
	if d["AuthAction"] != "ecs:ModifyInstanceVncPasswd" || d["AuthPrincipalDisplayName"] != "alice" ||
		d["AuthPrincipalOwnerId"] != e.Credentials.AccountID || d["NoPermissionType"] != "ImplicitDeny" {
		t.Errorf("AccessDeniedDetail %v", d)
	}
	if se.Message() != "User not authorized to operate on the specified resource, or this API doesn't support RAM." {
		t.Errorf("Forbidden.RAM message %q", se.Message())
	}
}

// DryRun that passes validation answers DryRunOperation and creates
// nothing; ClientToken makes RunInstances idempotent.
func TestSDKv1DryRunAndClientToken(t *testing.T) {
	e := newEnv(t)
	c := e.rootClient(t)
	req := ecs.CreateRunInstancesRequest()
	req.ImageId, req.InstanceType = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.large"
	req.DryRun = requests.NewBoolean(true)
	_, err := c.RunInstances(req)
	se := wantECSError(t, err, "DryRunOperation", 400)
	if se.Message() != "Request validation has been passed with DryRun flag set." {
		t.Errorf("DryRunOperation message %q", se.Message())
	}
	if r, err := c.DescribeInstances(ecs.CreateDescribeInstancesRequest()); err != nil || r.TotalCount != 0 {
		t.Fatalf("after DryRun: %v %v", r, err)
	}

	first := runInstances(t, c, func(r *ecs.RunInstancesRequest) { r.ClientToken = "tok-1"; r.Amount = requests.NewInteger(2) })
	again := runInstances(t, c, func(r *ecs.RunInstancesRequest) { r.ClientToken = "tok-1"; r.Amount = requests.NewInteger(2) })
	if strings.Join(first, ",") != strings.Join(again, ",") {
		t.Errorf("same ClientToken gave %v then %v", first, again)
	}
	req = ecs.CreateRunInstancesRequest()
	req.ImageId, req.InstanceType, req.ClientToken = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.xlarge", "tok-1"
	_, err = c.RunInstances(req)
	wantECSError(t, err, "IdempotentParameterMismatch", 400)

	bad := ecs.CreateRunInstancesRequest()
	bad.ImageId, bad.InstanceType, bad.IoOptimized = "img", "ecs.g7.large", "sometimes"
	_, err = c.RunInstances(bad)
	se = wantECSError(t, err, "InvalidParameter", 400)
	if se.Message() != `The specified parameter "IoOptimized" is not valid.` {
		t.Errorf("message %q", se.Message())
	}
	bad = ecs.CreateRunInstancesRequest()
	bad.InstanceType = "ecs.g7.large"
	_, err = c.RunInstances(bad)
	se = wantECSError(t, err, "MissingParameter", 400)
	if se.Message() != `The input parameter "ImageId" that is mandatory for processing this request is not supplied.` {
		t.Errorf("message %q", se.Message())
	}
	bad = ecs.CreateRunInstancesRequest()
	bad.ImageId, bad.InstanceType, bad.ZoneId = "img", "ecs.g7.large", "cn-hangzhou-z"
	_, err = c.RunInstances(bad)
	wantECSError(t, err, "InvalidZoneId.NotFound", 404)
}

// Format=XML: SDKv1 asks for XML and parses it into the same structs.
func TestSDKv1FormatXML(t *testing.T) {
	e := newEnv(t)
	c := e.rootClient(t)
	ids := runInstances(t, c, func(r *ecs.RunInstancesRequest) {
		r.Tag = &[]ecs.RunInstancesTag{{Key: "k", Value: "<v&>"}}
		r.Amount = requests.NewInteger(2)
	})
	req := ecs.CreateDescribeInstancesRequest()
	req.AcceptFormat = "XML"
	resp, err := c.DescribeInstances(req)
	if err != nil {
		t.Fatalf("DescribeInstances XML: %v", err)
	}
	if ct := resp.GetHttpHeaders()["Content-Type"]; len(ct) != 1 || ct[0] != "text/xml;charset=utf-8" {
		t.Errorf("Content-Type %v", ct)
	}
	body := resp.GetHttpContentString()
	if !strings.HasPrefix(body, "<?xml") || !strings.Contains(body, "<DescribeInstancesResponse><RequestId>") {
		t.Errorf("XML body starts %.120q", body)
	}
	if resp.TotalCount != 2 || len(resp.Instances.Instance) != 2 || !requestIDPattern.MatchString(resp.RequestId) {
		t.Fatalf("parsed XML: total %d, %d instances, RequestId %q", resp.TotalCount, len(resp.Instances.Instance), resp.RequestId)
	}
	got := resp.Instances.Instance[0]
	if got.InstanceId != ids[0] || got.Status != "Running" || !got.IoOptimized || len(got.Tags.Tag) != 1 || got.Tags.Tag[0].TagValue != "<v&>" {
		t.Errorf("parsed XML instance: %+v", got)
	}

	rr := ecs.CreateRunInstancesRequest()
	rr.AcceptFormat = "XML"
	rr.ImageId, rr.InstanceType, rr.Amount = "img", "ecs.g7.large", requests.NewInteger(2)
	run, err := c.RunInstances(rr)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.InstanceIdSets.InstanceIdSet) != 2 {
		t.Errorf("XML InstanceIdSets: %v in %s", run.InstanceIdSets.InstanceIdSet, run.GetHttpContentString())
	}

	// Errors stay JSON, so SDKv1 still reads their code.
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.AcceptFormat = "XML"
	mod.InstanceId, mod.VncPassword = ids[0], "bad"
	_, err = c.ModifyInstanceVncPasswd(mod)
	wantECSError(t, err, "IncorrectVncPassword.Malformed", 400)
}

// Over HTTPS with latchkey's CA trusted through config.WithHttpTransport.
func TestSDKv1HTTPS(t *testing.T) {
	e := newEnv(t)
	c := e.ECSHTTPS(t)
	ids := runInstances(t, c, nil)
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.InstanceId, mod.VncPassword = ids[0], "Tls123"
	if _, err := c.ModifyInstanceVncPasswd(mod); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd over HTTPS: %v", err)
	}
	if !e.admits(t, ids[0], "Tls123") {
		t.Error("password not live")
	}
	vnc := ecs.CreateDescribeInstanceVncUrlRequest()
	vnc.InstanceId = ids[0]
	v, err := c.DescribeInstanceVncUrl(vnc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.VncUrl, "wss%3A%2F%2F") {
		t.Errorf("VncUrl over HTTPS %q", v.VncUrl)
	}
	// The audit knows the call came over TLS only through its caller; the
	// source is still the loopback client.
	for _, ev := range e.ecsEvents(t) {
		if !ev.SourceIP.IsLoopback() {
			t.Errorf("audit source %v", ev.SourceIP)
		}
	}

	// Without the CA the client refuses the server.
	untrusted, err := ecs.NewClientWithAccessKey(testenv.Region, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	untrusted.Domain = e.Endpoints.HTTPS
	r := ecs.CreateDescribeRegionsRequest()
	r.Scheme = "HTTPS"
	if _, err := untrusted.DescribeRegions(r); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: %v", err)
	}
}

// Authentication failures as SDKv1 sees them.
func TestSDKv1AuthenticationErrors(t *testing.T) {
	e := newEnv(t)

	// Wrong secret: SignatureDoesNotMatch carrying the server's string to
	// sign, which lets SDKv1 diagnose the secret.
	wrong := e.ECSWithKey(t, e.Credentials.AccessKeyID, "not-the-secret")
	_, err := wrong.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	se := wantECSError(t, err, "SignatureDoesNotMatch", 400)
	if !strings.HasPrefix(se.Message(), "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&") {
		t.Errorf("message %q", se.Message())
	}
	if se.Recommend() != "InvalidAccessKeySecret: Please check you AccessKeySecret" {
		t.Errorf("SDK recommendation %q", se.Recommend())
	}
	// With a password among the parameters the string to sign is
	// withheld: it would show the password.
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.InstanceId, mod.VncPassword = "i-bpx", "Sec123"
	_, err = wrong.ModifyInstanceVncPasswd(mod)
	se = wantECSError(t, err, "SignatureDoesNotMatch", 400)
	if strings.Contains(se.Message(), "Sec123") || strings.Contains(se.Message(), "string to sign") {
		t.Errorf("message shows the request: %q", se.Message())
	}

	// Unknown access key: 404.
	unknown := e.ECSWithKey(t, "LTAInobodyhasthiskey00", "x")
	_, err = unknown.DescribeRegions(ecs.CreateDescribeRegionsRequest())
	se = wantECSError(t, err, "InvalidAccessKeyId.NotFound", 404)
	if se.Message() != "Specified access key is not found." {
		t.Errorf("message %q", se.Message())
	}

	// Stale timestamp: the server's clock is 16 minutes ahead.
	e.clock.Add(16 * time.Minute)
	_, err = e.rootClient(t).DescribeRegions(ecs.CreateDescribeRegionsRequest())
	se = wantECSError(t, err, "InvalidTimeStamp.Expired", 400)
	if se.Message() != "Specified time stamp or date value is expired." {
		t.Errorf("message %q", se.Message())
	}
	e.clock.Add(-2 * time.Minute) // 14 minutes: still accepted
	if _, err := e.rootClient(t).DescribeRegions(ecs.CreateDescribeRegionsRequest()); err != nil {
		t.Errorf("14 minutes of skew: %v", err)
	}
	e.clock.Add(-30 * time.Minute) // 16 minutes behind
	_, err = e.rootClient(t).DescribeRegions(ecs.CreateDescribeRegionsRequest())
	wantECSError(t, err, "InvalidTimeStamp.Expired", 400)
}

// A request replayed byte for byte is refused: its nonce was used.
func TestSDKv1ReplayedNonce(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{}
	c := e.rootClient(t)
	c.SetTransport(rec)
	ids := runInstances(t, c, nil)
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.InstanceId, mod.VncPassword = ids[0], "Once12"
	if _, err := c.ModifyInstanceVncPasswd(mod); err != nil {
		t.Fatal(err)
	}
	status, body := rec.replayLast(t)
	if status != 400 {
		t.Fatalf("replay answered %d %s", status, body)
	}
	var eb map[string]any
	if err := json.Unmarshal(body, &eb); err != nil || eb["Code"] != "SignatureNonceUsed" ||
		eb["Message"] != "Specified signature nonce was used already." {
		t.Errorf("replay answered %s", body)
	}
}

// The same account's RAM user is refused with Forbidden.RAM on every
// operation, including the Describe ones (the 2025 ECS change).
func TestSDKv1ForbiddenRAM(t *testing.T) {
	e := newEnv(t)
	bobKey, bobSecret := e.userKey(t, "bob")
	c := e.ECSWithKey(t, bobKey, bobSecret)
	_, err := c.DescribeInstances(ecs.CreateDescribeInstancesRequest())
	se := wantECSError(t, err, "Forbidden.RAM", 403)
	if d := se.AccessDeniedDetail(); d["AuthAction"] != "ecs:DescribeInstances" || d["PolicyType"] == nil {
		t.Errorf("AccessDeniedDetail %v", d)
	}
	if _, err := e.rootClient(t).DescribeInstances(ecs.CreateDescribeInstancesRequest()); err != nil {
		t.Errorf("root: %v", err)
	}
}
