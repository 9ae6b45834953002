package server_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/baidubce/bce-sdk-go/services/bcc"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// runInstance creates and starts one instance through the SDK and returns
// its id.
func runInstance(t testing.TB, c *ecs.Client, ioOptimized string) string {
	t.Helper()
	req := ecs.CreateRunInstancesRequest()
	req.RegionId = testenv.Region
	req.ImageId = "aliyun_3_x64_20G_alibase_20240819.vhd"
	req.InstanceType = "ecs.g7.large"
	req.IoOptimized = ioOptimized
	req.Amount = requests.NewInteger(1)
	resp, err := c.RunInstances(req)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(resp.InstanceIdSets.InstanceIdSet) != 1 {
		t.Fatalf("RunInstances returned %d ids, want 1", len(resp.InstanceIdSets.InstanceIdSet))
	}
	return resp.InstanceIdSets.InstanceIdSet[0]
}

func setVNCPassword(t *testing.T, c *ecs.Client, id, pw string) {
	t.Helper()
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, id, pw
	if _, err := c.ModifyInstanceVncPasswd(req); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd %s: %v", id, err)
	}
}

// consoleLogin opens the instance's console through DescribeInstanceVncUrl
// and logs in with pw; it returns the login's error.
func consoleLogin(t *testing.T, e *testenv.Env, c *ecs.Client, id, pw string) error {
	t.Helper()
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = testenv.Region, id
	resp, err := c.DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	u, err := url.QueryUnescape(resp.VncUrl)
	if err != nil || !strings.HasPrefix(u, "wss://"+e.Endpoints.HTTPS+"/vnc/") {
		t.Fatalf("VncUrl %q does not decode to a wss:// URL on the HTTPS listener", resp.VncUrl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := e.DialConsole(ctx, u)
	if err != nil {
		t.Fatalf("open the console: %v", err)
	}
	return rfbtest.LoginConn(ctx, conn, pw)
}

// TestRestartKeepsLivePasswords checks PRODUCT.md §6: a password made live
// before a restart is the live one after it, and a pending one stays
// pending.
func TestRestartKeepsLivePasswords(t *testing.T) {
	e := testenv.Start(t)
	c := e.ECS(t)
	opt := runInstance(t, c, "optimized")
	legacy := runInstance(t, c, "none")
	setVNCPassword(t, c, opt, "Live01")
	setVNCPassword(t, c, legacy, "Old001")
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.RegionId, reboot.InstanceId = testenv.Region, legacy
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}
	setVNCPassword(t, c, legacy, "Pend01") // pending until the next restart

	e.Restart(t)
	c = e.ECS(t)
	if err := consoleLogin(t, e, c, opt, "Live01"); err != nil {
		t.Errorf("after a restart, the live password of the I/O optimized instance: %v", err)
	}
	if err := consoleLogin(t, e, c, legacy, "Old001"); err != nil {
		t.Errorf("after a restart, the live password of the non-optimized instance: %v", err)
	}
	if err := consoleLogin(t, e, c, legacy, "Pend01"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("after a restart, the pending password: got %v, want an authentication failure", err)
	}
}

// TestClients checks that every client testenv hands out reaches the
// server: SDKv1 (ECS over HTTP and HTTPS, RAM, CommonRequest to E-HPC),
// bce-sdk-go and darabonba (V3), each over HTTP and HTTPS.
func TestClients(t *testing.T) {
	e := testenv.Start(t)
	for name, c := range map[string]*ecs.Client{"http": e.ECS(t), "https": e.ECSHTTPS(t)} {
		resp, err := c.DescribeRegions(ecs.CreateDescribeRegionsRequest())
		if err != nil {
			t.Errorf("SDKv1 over %s: DescribeRegions: %v", name, err)
			continue
		}
		if len(resp.Regions.Region) == 0 {
			t.Errorf("SDKv1 over %s: DescribeRegions returned no regions", name)
		}
	}
	if _, err := e.RAM(t).ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Errorf("SDKv1 RAM: ListUsers: %v", err)
	}
	common := requests.NewCommonRequest()
	common.Domain, common.Version, common.ApiName = e.Endpoints.HTTP, "2018-04-12", "ListClusters"
	common.QueryParams["RegionId"] = testenv.Region
	if _, err := e.Common(t, "", "").ProcessCommonRequest(common); err != nil {
		t.Errorf("SDKv1 CommonRequest: E-HPC ListClusters: %v", err)
	}
	for name, c := range map[string]*bcc.Client{"http": e.BCC(t), "https": e.BCCHTTPS(t)} {
		if _, err := c.ListInstances(&api.ListInstanceArgs{}); err != nil {
			t.Errorf("bce-sdk-go over %s: ListInstances: %v", name, err)
		}
	}
	for _, https := range []bool{false, true} {
		c := e.OpenAPI(t, https)
		params := &openapi.Params{
			Action: dara.String("DescribeRegions"), Version: dara.String("2014-05-26"),
			Protocol: dara.String("HTTPS"), Pathname: dara.String("/"), Method: dara.String("POST"),
			AuthType: dara.String("AK"), Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
		}
		req := &openapi.OpenApiRequest{Query: map[string]*string{"RegionId": dara.String(testenv.Region)}}
		out, err := c.CallApi(params, req, &dara.RuntimeOptions{})
		if err != nil {
			t.Errorf("darabonba V3 (https=%v): DescribeRegions: %v", https, err)
			continue
		}
		if out["statusCode"] == nil {
			t.Errorf("darabonba V3 (https=%v): no status in %v", https, out)
		}
	}
}

// TestMetricsCountRequests checks that /metrics is served on both
// listeners and counts an SDK call by product, action and code.
func TestMetricsCountRequests(t *testing.T) {
	e := testenv.Start(t)
	if _, err := e.ECS(t).DescribeRegions(ecs.CreateDescribeRegionsRequest()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{e.URL("/metrics"), e.HTTPURL("/metrics")} {
		resp, err := e.HTTPClient().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", u, resp.Status)
		}
		counted := false
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, `latchkey_requests_total{action="DescribeRegions",`) && strings.HasSuffix(line, " 1") {
				counted = true
			}
		}
		if !counted {
			t.Errorf("GET %s does not count the one DescribeRegions call", u)
		}
	}
}

// TestNoSecretInLogs runs a password change with debug logging and checks
// that neither the access key secret nor the password reaches the log.
func TestNoSecretInLogs(t *testing.T) {
	e := testenv.Start(t, testenv.WithDemo())
	c := e.ECS(t)
	id := runInstance(t, c, "optimized")
	setVNCPassword(t, c, id, "Sec7et")
	if err := consoleLogin(t, e, c, id, "Sec7et"); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	logs := e.Logs()
	if logs == "" {
		t.Fatal("no log captured")
	}
	for what, s := range map[string]string{"access key secret": e.Credentials.AccessKeySecret, "VNC password": "Sec7et"} {
		if strings.Contains(logs, s) {
			t.Errorf("the debug log holds the %s", what)
		}
	}
}
