package aliyun

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testutil"
)

const testRegion = "cn-hangzhou"

// handlerTransport delivers requests straight to a handler, without a
// listener: the SDK's own signer produces the request, the server verifies
// it.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// Requests signed by SDKv1 verify, with values that exercise every
// encoding rule: spaces, '*', '~', '+', '/', non-ASCII, and the empty
// SignatureType the SDK always signs.
func TestSDKv1SignerRequestsVerify(t *testing.T) {
	testutil.NoProxy(t) // SDKv1 sends even loopback requests through a proxy (reference §1.5)
	r := newRig(t)
	cfg := sdk.NewConfig()
	cfg.Transport = handlerTransport{r.h}
	c, err := ecs.NewClientWithOptions(testRegion, cfg, credentials.NewAccessKeyCredential(stubAK, stubSecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = "ecs.example"
	// SDKv1 takes its timestamp from the wall clock.
	r.clock.Set(time.Now())

	for _, name := range []string{"a b", "*~", "1+1=2", "a/b?c&d", "华东 1（杭州）", "ü~*+ %"} {
		req := ecs.CreateRunInstancesRequest()
		req.ImageId, req.InstanceType, req.InstanceName = "img", "ecs.g7.large", name
		req.Description = "" // left out by the SDK: empty fields are not sent
		req.Tag = &[]ecs.RunInstancesTag{{Key: name, Value: name}}
		req.Amount = requests.NewInteger(1)
		if _, err := c.RunInstances(req); err != nil {
			t.Errorf("InstanceName %q: %v", name, err)
		}
	}
	// GET, as SDKv1's CommonRequest and the E-HPC clients send.
	common := requests.NewCommonRequest()
	common.Domain, common.Version, common.ApiName = "ecs.example", ecsVersion, "DescribeRegions"
	common.QueryParams["AcceptLanguage"] = "en-US"
	resp, err := c.ProcessCommonRequest(common)
	if err != nil {
		t.Fatalf("CommonRequest GET: %v", err)
	}
	if !strings.Contains(resp.GetHttpContentString(), "China (Hangzhou)") {
		t.Errorf("CommonRequest answer %s", resp.GetHttpContentString())
	}
}
