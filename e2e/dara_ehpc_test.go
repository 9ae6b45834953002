package e2e

import (
	"errors"
	"fmt"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/latchkey/latchkey/internal/testenv"
)

// ehpcV5Params are the Params the darabonba E-HPC client (ehpc-20180412
// v5) passes to CallApi: GET, every parameter in the query, V3 signature
// (shared/reference/alibaba-rpc.md §2.1). That client is not served by the
// Go module proxy; its generated code is this call.
func ehpcV5Params(action string) *openapi.Params {
	return &openapi.Params{
		Action: dara.String(action), Version: dara.String("2018-04-12"), Protocol: dara.String("HTTPS"),
		Pathname: dara.String("/"), Method: dara.String("GET"), AuthType: dara.String("AK"),
		Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
}

func callEHPCV5(c *openapi.Client, action string, query map[string]any) (map[string]any, error) {
	res, err := c.CallApi(ehpcV5Params(action), &openapi.OpenApiRequest{Query: openapiutil.Query(query)}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	return body, nil
}

// TestEHPCThroughDarabonbaV3 calls E-HPC over HTTPS with V3 signatures and
// no RegionId, as the darabonba client does: the zone names the region,
// clusters are found by id.
func TestEHPCThroughDarabonbaV3(t *testing.T) {
	env := testenv.Start(t)
	c := env.OpenAPI(t, true)
	created, err := callEHPCV5(c, "CreateCluster", map[string]any{
		"Name": "hpc-v3", "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
		"EcsOrder.Manager.InstanceType": "ecs.g7.large", "EcsOrder.Compute.InstanceType": "ecs.c7.large",
		"EcsOrder.Login.InstanceType": "ecs.g7.large", "Password": "Root#Pass1", "RemoteVisEnable": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := created["ClusterId"].(string)
	out, err := callEHPCV5(c, "ModifyVisualServicePasswd", map[string]any{
		"ClusterId": id, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": "Abc123",
	})
	if err != nil || out["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd = %v, %v", out, err)
	}
	_, err = callEHPCV5(c, "ModifyVisualServicePasswd", map[string]any{
		"ClusterId": id, "RunasUser": "root", "RunasUserPassword": "Wrong#Pass1", "Passwd": "Abc123",
	})
	var se *tea.SDKError
	if !errors.As(err, &se) || tea.IntValue(se.StatusCode) != 403 || tea.StringValue(se.Code) != "IncorrectCredential" {
		t.Fatalf("wrong RunasUserPassword: %v", err)
	}
	list, err := callEHPCV5(c, "ListClusters", map[string]any{})
	if err != nil || fmt.Sprint(list["TotalCount"]) != "1" {
		t.Fatalf("ListClusters = %v, %v", list, err)
	}
}
