package hostile

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/bce"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/internal/testenv"
)

// The ECS creation limits (core.CreateInstanceInput.ValidateText) as
// SDKv1 sees them: each bound accepted, one past it refused with ECS's
// own code and status, and nothing created by a refused call.
func TestECSCreationLimits(t *testing.T) {
	e := testenv.Start(t)
	c := e.ECS(t)
	run := func(edit func(*ecs.RunInstancesRequest)) error {
		req := ecs.CreateRunInstancesRequest()
		req.RegionId, req.ImageId, req.InstanceType = testenv.Region, "ubuntu_22_04_x64_20G_alibase_20240101.vhd", "ecs.g7.large"
		edit(req)
		_, err := c.RunInstances(req)
		return err
	}
	tags := func(n int, key, value string) *[]ecs.RunInstancesTag {
		ts := make([]ecs.RunInstancesTag, n)
		for i := range ts {
			ts[i] = ecs.RunInstancesTag{Key: fmt.Sprintf("%s%d", key, i), Value: value}
		}
		return &ts
	}
	han := "名"
	for _, tc := range []struct {
		name string
		edit func(*ecs.RunInstancesRequest)
		code string // "" when accepted
	}{
		{"name of 128 characters", func(r *ecs.RunInstancesRequest) { r.InstanceName = strings.Repeat(han, 128) }, ""},
		{"name of 129 characters", func(r *ecs.RunInstancesRequest) { r.InstanceName = strings.Repeat("n", 129) }, "InvalidInstanceName.Malformed"},
		{"name of 1 character", func(r *ecs.RunInstancesRequest) { r.InstanceName = "n" }, "InvalidInstanceName.Malformed"},
		{"name that is a URL", func(r *ecs.RunInstancesRequest) { r.InstanceName = "https://x" }, "InvalidInstanceName.Malformed"},
		{"description of 256 characters", func(r *ecs.RunInstancesRequest) { r.Description = strings.Repeat(han, 256) }, ""},
		{"description of 257 characters", func(r *ecs.RunInstancesRequest) { r.Description = strings.Repeat("d", 257) }, "InvalidDescription.Malformed"},
		{"description of 100 KB", func(r *ecs.RunInstancesRequest) { r.Description = strings.Repeat("d", 100<<10) }, "InvalidDescription.Malformed"},
		{"host name of 64 characters", func(r *ecs.RunInstancesRequest) { r.HostName = strings.Repeat("h", 64) }, ""},
		{"host name of 65 characters", func(r *ecs.RunInstancesRequest) { r.HostName = strings.Repeat("h", 65) }, "InvalidHostName.Malformed"},
		{"20 tags", func(r *ecs.RunInstancesRequest) { r.Tag = tags(20, "k", "v") }, ""},
		{"21 tags", func(r *ecs.RunInstancesRequest) { r.Tag = tags(21, "k", "v") }, "InvalidTagCount"},
		{"tag key of 129 characters", func(r *ecs.RunInstancesRequest) { r.Tag = tags(1, strings.Repeat("k", 128), "v") }, "InvalidTagKey.Malformed"},
		{"tag key starting aliyun", func(r *ecs.RunInstancesRequest) { r.Tag = tags(1, "aliyun-", "v") }, "InvalidTagKey.Malformed"},
		{"tag value of 129 characters", func(r *ecs.RunInstancesRequest) { r.Tag = tags(1, "k", strings.Repeat("v", 129)) }, "InvalidTagValue.Malformed"},
		{"Amount of 101", func(r *ecs.RunInstancesRequest) { r.Amount = requests.NewInteger(101) }, "InvalidParameter"},
		{"Amount past int64", func(r *ecs.RunInstancesRequest) { r.Amount = "92233720368547758070" }, "InvalidParameter"},
		{"Amount of -1", func(r *ecs.RunInstancesRequest) { r.Amount = "-1" }, "InvalidParameter"},
	} {
		err := run(tc.edit)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		var se *sdkerrors.ServerError
		if !errors.As(err, &se) || se.HttpStatus() != http.StatusBadRequest || se.ErrorCode() != tc.code {
			t.Errorf("%s: got %v, want 400 %s", tc.name, err, tc.code)
		}
	}
	list, err := c.DescribeInstances(ecs.CreateDescribeInstancesRequest())
	if err != nil {
		t.Fatal(err)
	}
	if accepted := 4; list.TotalCount != accepted {
		t.Errorf("%d instances exist, want the %d accepted calls' only", list.TotalCount, accepted)
	}
}

// The BCC name and hostname limits as bce-sdk-go sees them.
func TestBCCCreationLimits(t *testing.T) {
	e := testenv.Start(t)
	c := e.BCC(t)
	for _, tc := range []struct {
		name     string
		args     api.CreateInstanceArgs
		accepted bool
	}{
		{"name of 65 characters", api.CreateInstanceArgs{Name: strings.Repeat("名", 65)}, true},
		{"name of 66 characters", api.CreateInstanceArgs{Name: strings.Repeat("n", 66)}, false},
		{"name of 100 KB", api.CreateInstanceArgs{Name: strings.Repeat("n", 100<<10)}, false},
		{"hostname of 64 characters", api.CreateInstanceArgs{Hostname: strings.Repeat("h", 64)}, true},
		{"hostname of 65 characters", api.CreateInstanceArgs{Hostname: strings.Repeat("h", 65)}, false},
		{"hostname of 1 character", api.CreateInstanceArgs{Hostname: "h"}, false},
	} {
		args := tc.args
		args.ImageId, args.CpuCount, args.MemoryCapacityInGB = "m-1", 1, 1
		_, err := c.CreateInstance(&args)
		if tc.accepted {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		var se *bce.BceServiceError
		if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || se.Code != "BadRequest" {
			t.Errorf("%s: got %v, want 400 BadRequest", tc.name, err)
		}
	}
}
