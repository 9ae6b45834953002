package aliyun_test

import (
	"encoding/json"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
)

// `aliyun ecs DescribeInstances --PageSize 1 --pager`: the CLI's pager
// (aliyun-cli openapi/pager.go, Pager.CallWith) sends an SDKv1
// CommonRequest, reads NextToken from each answer, and while it is not
// empty sends the same request again with QueryParams["NextToken"] set;
// PageSize stays in the query. The CLI is not installable from the Go
// module proxy, so this drives SDKv1's CommonRequest, which the CLI is
// built on, through exactly that loop. A NextToken must come back in
// page-number mode whenever more instances remain.
func TestCLIPagerFollowsNextToken(t *testing.T) {
	env := testenv.Start(t)
	run := ecs.CreateRunInstancesRequest()
	run.RegionId = testenv.Region
	run.ImageId, run.InstanceType, run.Amount = "aliyun_3_x64_20G_alibase_20240528.vhd", "ecs.g7.large", requests.NewInteger(3)
	ran, err := env.ECS(t).RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}

	client := env.Common(t, "", "")
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = requests.POST, "http", env.Endpoints.HTTP
	req.Product, req.Version, req.ApiName = "Ecs", "2014-05-26", "DescribeInstances"
	req.QueryParams["RegionId"] = testenv.Region
	req.QueryParams["PageSize"] = "1"

	seen := map[string]bool{}
	var tokens []string
	// The pager loops until NextToken is empty; three instances at one per
	// page take three answers, so a fourth request would be a bug.
	for range 4 {
		resp, err := client.ProcessCommonRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			NextToken string
			PageSize  int
			Instances struct{ Instance []struct{ InstanceId string } }
		}
		if err := json.Unmarshal(resp.GetHttpContentBytes(), &body); err != nil {
			t.Fatal(err)
		}
		for _, i := range body.Instances.Instance {
			seen[i.InstanceId] = true
		}
		if body.NextToken == "" {
			break
		}
		tokens = append(tokens, body.NextToken)
		req.QueryParams["NextToken"] = body.NextToken
	}
	if len(seen) != 3 {
		t.Errorf("the pager collected %d of the 3 instances (NextTokens %q)", len(seen), tokens)
	}
	for _, id := range ran.InstanceIdSets.InstanceIdSet {
		if !seen[id] {
			t.Errorf("instance %s was never listed", id)
		}
	}

	// Page-number mode alone: a NextToken while more remain, none on the
	// last page.
	describe := func(number, size int) *ecs.DescribeInstancesResponse {
		t.Helper()
		d := ecs.CreateDescribeInstancesRequest()
		d.RegionId = testenv.Region
		d.PageNumber, d.PageSize = requests.NewInteger(number), requests.NewInteger(size)
		resp, err := env.ECS(t).DescribeInstances(d)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := describe(1, 2); r.NextToken == "" || len(r.Instances.Instance) != 2 {
		t.Errorf("page 1 of 2: NextToken %q, %d instances", r.NextToken, len(r.Instances.Instance))
	}
	if r := describe(2, 2); r.NextToken != "" || len(r.Instances.Instance) != 1 {
		t.Errorf("page 2 of 2: NextToken %q, %d instances", r.NextToken, len(r.Instances.Instance))
	}
}
