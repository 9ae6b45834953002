package aliyun_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testenv"
)

// storedAudit reads the audit events of resource straight from the
// store, without waiting for the batched audit writer: what a crash right
// after the answer would leave.
func storedAudit(t *testing.T, e *testenv.Env, resource, action string) []core.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var all []core.AuditEvent
	err := e.App().Store.View(ctx, func(tx core.Tx) (err error) {
		all, err = tx.QueryAudit(ctx, core.AuditFilter{Resource: resource})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []core.AuditEvent
	for _, ev := range all {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// A password change's audit event commits with the change: it is in the
// store when the call is answered, once. A refused change is audited with
// its error code.
func TestAuditEventCommitsWithTheChange(t *testing.T) {
	e := testenv.Start(t)
	c := e.ECS(t)
	run := ecs.CreateRunInstancesRequest()
	run.RegionId, run.ImageId, run.InstanceType, run.IoOptimized = testenv.Region, "aliyun_3_x64_20G_alibase_20240819.vhd", "ecs.g7.large", "optimized"
	run.Amount = requests.NewInteger(1)
	created, err := c.RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}
	id := created.InstanceIdSets.InstanceIdSet[0]
	modify := ecs.CreateModifyInstanceVncPasswdRequest()
	modify.RegionId, modify.InstanceId = testenv.Region, id
	const changes = 20
	for i := range changes {
		modify.VncPassword = fmt.Sprintf("Aud%03d", i)
		resp, err := c.ModifyInstanceVncPasswd(modify)
		if err != nil {
			t.Fatal(err)
		}
		got := storedAudit(t, e, id, "ModifyInstanceVncPasswd")
		if len(got) != i+1 || got[i].Result != "Success" || string(got[i].RequestID) != resp.RequestId {
			t.Fatalf("change %d: stored audit events at the answer = %d, want the change's among them, once", i, len(got))
		}
	}

	if _, err := e.App().Faults.Add(context.Background(), faults.Rule{Product: faults.ProductECS, Resource: id, Effect: faults.Unreachable}); err != nil {
		t.Fatal(err)
	}
	modify.VncPassword = "Aud456"
	if _, err := c.ModifyInstanceVncPasswd(modify); err == nil {
		t.Fatal("a change through an unreachable console succeeded")
	}
	e.Audit(t, core.AuditFilter{}) // waits for the batched writer
	all := storedAudit(t, e, id, "ModifyInstanceVncPasswd")
	if len(all) != changes+1 || all[changes].Result != "InstanceNotReady" {
		t.Errorf("audit after a refused change: %d events, the last %+v; want the successes then InstanceNotReady", len(all), all[len(all)-1])
	}
}
