package internalapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
)

// An ECS or BCC account in debt reads what it has and is refused the
// rest with the product's error; an account without the service is
// refused everything. Refused calls change nothing.
func TestAccountStateECSAndBCC(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: debtor\n        vnc_password: Dbt123\n    bcc:\n      - name: debtor\n        admin_password: Old2020!\n")
	ecsID := res.byName(t, "ecs.instance", "debtor").ID
	bccID := res.byName(t, "bcc.instance", "debtor").ID
	ec, bc := e.ECS(t), e.BCC(t)

	// A change before the account falls into debt: the account's state
	// is then known to the server, and the change of state must reach it.
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, ecsID, "Dbt123"
	if _, err := ec.ModifyInstanceVncPasswd(req); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd before the debt: %v", err)
	}

	a.must(200, "PATCH", "/_latchkey/accounts/root", map[string]any{"in_debt": true}, nil)

	req = ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, ecsID, "New123"
	_, err := ec.ModifyInstanceVncPasswd(req)
	if code, status := ecsCode(t, "ModifyInstanceVncPasswd", err); code != "InstanceExpiredOrInArrears" || status != 403 {
		t.Errorf("ModifyInstanceVncPasswd in debt = %s %d, want InstanceExpiredOrInArrears 403", code, status)
	}
	if !a.check(ecsID, "", "Dbt123") || a.check(ecsID, "", "New123") {
		t.Error("a refused ModifyInstanceVncPasswd changed the console's password")
	}
	run := ecs.CreateRunInstancesRequest()
	run.RegionId, run.ImageId, run.InstanceType = testenv.Region, "aliyun_3_x64_20G_alibase_20240819.vhd", "ecs.g7.large"
	_, err = ec.RunInstances(run)
	if code, status := ecsCode(t, "RunInstances", err); code != "Account.Arrearage" || status != 400 {
		t.Errorf("RunInstances in debt = %s %d, want Account.Arrearage 400", code, status)
	}
	desc := ecs.CreateDescribeInstancesRequest()
	desc.RegionId = testenv.Region
	list, err := ec.DescribeInstances(desc)
	if err != nil || list.TotalCount != 1 {
		t.Errorf("DescribeInstances in debt = %v, %v: want the one instance", list, err)
	}

	_, err = bc.ChangeInstancePass(bccID, &api.ChangeInstancePassArgs{AdminPass: "New2020!"})
	if code, status := bccCode(t, "ChangeInstancePass", err); code != "AccessDenied" || status != 403 {
		t.Errorf("ChangeInstancePass in debt = %s %d, want AccessDenied 403", code, status)
	}
	if !a.check(bccID, "guest", "Old2020!") || a.check(bccID, "guest", "New2020!") {
		t.Error("a refused changePass changed the guest's password")
	}
	_, err = bc.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-23Fv8Ixk", CpuCount: 2, MemoryCapacityInGB: 8, Billing: api.Billing{PaymentTiming: api.PaymentTimingPostPaid}})
	if code, status := bccCode(t, "CreateInstance", err); code != "AccessDenied" || status != 403 {
		t.Errorf("CreateInstance in debt = %s %d, want AccessDenied 403", code, status)
	}
	if got, err := bc.ListInstances(nil); err != nil || len(got.Instances) != 1 {
		t.Errorf("ListInstances in debt = %v, %v: want the one instance", got, err)
	}

	a.must(200, "PATCH", "/_latchkey/accounts/root", map[string]any{"in_debt": false, "services": map[string]bool{"ecs": false, "bcc": false}}, nil)
	_, err = ec.DescribeInstances(desc)
	if code, status := ecsCode(t, "DescribeInstances", err); code != "Forbidden" || status != 403 {
		t.Errorf("DescribeInstances without ECS = %s %d, want Forbidden 403", code, status)
	}
	_, err = bc.ListInstances(nil)
	if code, status := bccCode(t, "ListInstances", err); code != "OptInRequired" || status != 403 {
		t.Errorf("ListInstances without BCC = %s %d, want OptInRequired 403", code, status)
	}

	a.must(200, "PATCH", "/_latchkey/accounts/root", map[string]any{"services": map[string]bool{"ecs": true, "bcc": true}}, nil)
	_, err = ec.ModifyInstanceVncPasswd(req)
	if code, _ := ecsCode(t, "ModifyInstanceVncPasswd", err); code != "" || !a.check(ecsID, "", "New123") {
		t.Errorf("ModifyInstanceVncPasswd with the account restored = %q", code)
	}
}

// A fleet file's driver switch goes through the service: the new
// driver's console takes the live password before the store names it.
// When that console refuses (a fault rule), the apply fails naming the
// resource, the store still names the old driver and the old console
// keeps the password; once it accepts, the password works on the new
// console (a real QEMU VNC server).
func TestFleetDriverSwitchKeepsConsoleAndStoreTogether(t *testing.T) {
	testutil.Program(t, qemu.DefaultBinary, "apt-get install qemu-system-x86")
	// QEMU's VNC socket lives in the data directory: keep its path short.
	dir, err := os.MkdirTemp("", "lk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := testenv.Start(t, testenv.WithDataDir(filepath.Join(dir, "d")))
	a := newAdmin(t, e)
	res := a.apply("accounts:\n  - ecs:\n      - name: mover\n        vnc_password: Old123\n")
	id := res.byName(t, "ecs.instance", "mover").ID
	driver := func() string {
		var inspected struct {
			Resource struct{ Driver string } `json:"resource"`
		}
		a.must(200, "GET", "/_latchkey/resources/"+id, nil, &inspected)
		return inspected.Resource.Driver
	}
	move := "accounts:\n  - ecs:\n      - name: mover\n        driver: qemu\n"

	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": id, "effect": "unreachable"}, nil)
	status, raw := a.call("POST", "/_latchkey/fleet", move, nil)
	if status != 503 || !strings.Contains(raw, "ecs mover driver") {
		t.Errorf("a switch to a refusing console = %d %s, want 503 naming the resource", status, raw)
	}
	a.must(200, "DELETE", "/_latchkey/faults", nil, nil)
	if d := driver(); d != "sim" {
		t.Errorf("driver after the refused switch = %q, want sim", d)
	}
	if !a.check(id, "", "Old123") {
		t.Error("after the refused switch the old console lost its password")
	}

	a.apply(move)
	if d := driver(); d != "qemu" {
		t.Errorf("driver after the switch = %q, want qemu", d)
	}
	if !a.check(id, "", "Old123") || a.check(id, "", "Zzz999") {
		t.Error("the new console does not hold the live password")
	}
}

// A fleet file's administrator password change goes through changePass:
// when the guest refuses it (a fault rule), the apply fails naming the
// resource and the guest keeps its password; once the guest accepts, the
// same file changes it.
func TestFleetAdminPasswordWhenTheGuestRefuses(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	id := a.apply("accounts:\n  - bcc:\n      - name: guarded\n        admin_password: Old2020!\n").byName(t, "bcc.instance", "guarded").ID
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "bcc", "resource": id, "effect": "unreachable", "operations": []string{"set-guest-password"}}, nil)
	change := "accounts:\n  - bcc:\n      - name: guarded\n        admin_password: New2020!\n"
	status, raw := a.call("POST", "/_latchkey/fleet", change, nil)
	if status/100 == 2 || !strings.Contains(raw, "bcc guarded admin_password") {
		t.Errorf("an apply the guest refuses = %d %s, want a refusal naming the resource", status, raw)
	}
	if !a.check(id, "guest", "Old2020!") || a.check(id, "guest", "New2020!") {
		t.Error("a refused apply changed the guest's password")
	}
	a.must(200, "DELETE", "/_latchkey/faults", nil, nil)
	a.apply(change)
	if !a.check(id, "guest", "New2020!") {
		t.Error("the guest did not take the password once it accepted")
	}
}
