package aliyun_test

import (
	"encoding/json"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
)

// SDKv1's CommonRequest with FormParams, POSTed: the SDK adds RegionId to
// the query of every request and signs query and form merged, the form's
// value over the query's (sdk/auth/rpc_signature_composer.go). latchkey
// takes the parameters as that signer merged them.
func TestCommonRequestFormParams(t *testing.T) {
	env := testenv.Start(t)
	client := env.ECS(t)
	run := ecs.CreateRunInstancesRequest()
	run.RegionId = testenv.Region
	run.ImageId, run.InstanceType, run.Amount = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.large", requests.NewInteger(3)
	if _, err := client.RunInstances(run); err != nil {
		t.Fatal(err)
	}

	common := env.Common(t, "", "")
	describe := func(t *testing.T, form map[string]string) (total, pageSize, n int) {
		t.Helper()
		req := requests.NewCommonRequest()
		req.Method, req.Scheme, req.Domain = requests.POST, "http", env.Endpoints.HTTP
		req.Product, req.Version, req.ApiName = "Ecs", "2014-05-26", "DescribeInstances"
		req.QueryParams["PageSize"] = "1"
		req.FormParams = form
		resp, err := common.ProcessCommonRequest(req)
		if err != nil {
			t.Fatalf("DescribeInstances with FormParams %v: %v", form, err)
		}
		var body struct {
			TotalCount, PageSize int
			Instances            struct{ Instance []json.RawMessage }
		}
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
			t.Fatal(err)
		}
		return body.TotalCount, body.PageSize, len(body.Instances.Instance)
	}

	// RegionId is in the query (the SDK's) and in the form (the caller's);
	// PageSize in both with different values: the form's count.
	if total, size, n := describe(t, map[string]string{"RegionId": testenv.Region, "PageSize": "2"}); total != 3 || size != 2 || n != 2 {
		t.Errorf("form RegionId=%s PageSize=2: TotalCount %d PageSize %d, %d instances; want 3, 2, 2", testenv.Region, total, size, n)
	}
	// The form's RegionId wins over the one the SDK put in the query.
	if total, _, _ := describe(t, map[string]string{"RegionId": "cn-shanghai"}); total != 0 {
		t.Errorf("form RegionId=cn-shanghai (query %s): TotalCount %d, want 0", testenv.Region, total)
	}
}
