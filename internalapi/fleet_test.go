package internalapi_test

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
)

// fleetFile exercises every kind the server serves: a second account
// with its own access key and state, ECS instances I/O optimized or not,
// running or stopped, and BCC instances.
const fleetFile = `
accounts:
  - id: root
    ecs:
      - name: web-1
        region: cn-hangzhou
        vnc_password: Web123
      - name: legacy-1
        region: cn-hangzhou
        io_optimized: false
        status: Stopped
        vnc_password: Leg123
    bcc:
      - name: db-1
        region: bj
        admin_password: Fleet2020!
      - name: db-2
        region: bj
        status: Stopped
        admin_password: Other2020!
  - id: "2000000000000001"
    in_debt: true
    services: {ehpc: false}
    access_keys:
      - id: LTAIfleetsecondkey01
        secret: fleet-second-secret-0001
    ecs:
      - name: web-1
        region: cn-shanghai
        vnc_password: Sha123
`

// fleetSecrets are the secrets of fleetFile; none may ever come back.
func fleetSecrets() []string {
	return []string{"Web123", "Leg123", "Fleet2020!", "Other2020!", "fleet-second-secret-0001", "Sha123"}
}

type resourceList struct {
	Resources []struct {
		Kind, ID, Account, Region, Status string
	}
}

func TestFleetRoundTrip(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)

	first := a.apply(fleetFile)
	if !first.Changed {
		t.Fatal("the first apply changed nothing")
	}
	for _, x := range first.Resources {
		if x.Kind != "iam.account" && x.Action != "created" || x.Kind == "iam.account" && x.Name == "root" && x.Action != "unchanged" {
			t.Errorf("first apply: %+v", x)
		}
	}
	web := first.byName(t, "ecs.instance", "web-1")
	legacy := first.byName(t, "ecs.instance", "legacy-1")
	db1 := first.byName(t, "bcc.instance", "db-1")
	db2 := first.byName(t, "bcc.instance", "db-2")
	if web.Account != e.Credentials.AccountID || !strings.HasPrefix(web.ID, "i-") {
		t.Errorf("web-1 = %+v", web)
	}

	// Applying the same file again changes nothing.
	second := a.apply(fleetFile)
	if second.Changed {
		t.Errorf("the second apply changed something: %+v", second.Resources)
	}
	for _, x := range second.Resources {
		if x.Action != "unchanged" {
			t.Errorf("second apply: %+v", x)
		}
	}

	// The passwords took real effect: the consoles and guests have them.
	if !a.check(web.ID, "", "Web123") || a.check(web.ID, "", "Web124") {
		t.Error("web-1's console does not have exactly its fleet password")
	}
	if !a.check(legacy.ID, "", "Leg123") || a.check(legacy.ID, "pending", "Leg123") {
		t.Error("legacy-1 (not I/O optimized) should have its password live, nothing pending")
	}
	if !a.check(db1.ID, "", "Fleet2020!") || a.check(db1.ID, "guest", "Other2020!") || !a.check(db2.ID, "guest", "Other2020!") {
		t.Error("the BCC guests do not have their fleet passwords")
	}

	// The SDKs see the fleet.
	d := ecs.CreateDescribeInstancesRequest()
	d.RegionId = testenv.Region
	out, err := e.ECS(t).DescribeInstances(d)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, i := range out.Instances.Instance {
		status[i.InstanceName] = i.Status
	}
	if status["web-1"] != "Running" || status["legacy-1"] != "Stopped" || len(status) != 2 {
		t.Errorf("DescribeInstances: %v", status)
	}
	// The second account signs with the key the file gave it.
	other := e.ECSWithKey(t, "LTAIfleetsecondkey01", "fleet-second-secret-0001")
	d = ecs.CreateDescribeInstancesRequest()
	d.RegionId = "cn-shanghai"
	out, err = other.DescribeInstances(d)
	if err != nil || len(out.Instances.Instance) != 1 || out.Instances.Instance[0].InstanceName != "web-1" {
		t.Errorf("the second account's DescribeInstances: %v %+v", err, out)
	}
	var acct struct {
		Services map[string]bool
		InDebt   bool `json:"in_debt"`
	}
	a.must(200, "GET", "/_latchkey/accounts/2000000000000001", nil, &acct)
	if !acct.InDebt || acct.Services["ehpc"] || !acct.Services["ecs"] {
		t.Errorf("the second account's state: %+v", acct)
	}

	// Inspection shows every resource, with no secret in it.
	var list resourceList
	a.must(200, "GET", "/_latchkey/resources", nil, &list)
	kinds := map[string]int{}
	for _, r := range list.Resources {
		kinds[r.Kind]++
		raw := a.must(200, "GET", "/_latchkey/resources/"+r.Kind+"/"+r.ID, nil, nil)
		for _, s := range append(fleetSecrets(), e.Credentials.AccessKeySecret, "$argon2") {
			if strings.Contains(raw, s) {
				t.Errorf("inspecting %s %s shows a secret", r.Kind, r.ID)
			}
		}
	}
	if kinds["ecs.instance"] != 3 || kinds["bcc.instance"] != 2 || kinds["iam.account"] != 2 || kinds["iam.accesskey"] != 2 {
		t.Errorf("resources by kind: %v", kinds)
	}
	var inst struct {
		Kind, Status string
		Resource     map[string]any
	}
	a.must(200, "GET", "/_latchkey/resources/"+legacy.ID, nil, &inst)
	if inst.Kind != "ecs.instance" || inst.Status != "Stopped" || inst.Resource["VNCPassword"] != "[redacted]" || inst.Resource["IoOptimized"] != false {
		t.Errorf("inspect legacy-1: %+v", inst)
	}
	if _, ok := inst.Resource["PendingVNCPassword"]; ok {
		t.Errorf("legacy-1 shows a pending password: %v", inst.Resource["PendingVNCPassword"])
	}
	if status, _ := a.call("GET", "/_latchkey/resources/i-doesnotexist", nil, nil); status != 404 {
		t.Errorf("inspect an unknown id = %d", status)
	}

	// Reset to empty: only the root account and its key remain, and the
	// root key still works.
	var reset struct {
		Fleet   string
		Removed int
	}
	a.must(200, "POST", "/_latchkey/reset", `{"fleet":"empty"}`, &reset)
	if reset.Removed == 0 {
		t.Error("reset removed nothing")
	}
	a.must(200, "GET", "/_latchkey/resources", nil, &list)
	if len(list.Resources) != 2 {
		t.Errorf("after reset: %+v", list.Resources)
	}
	d = ecs.CreateDescribeInstancesRequest()
	d.RegionId = testenv.Region
	out, err = e.ECS(t).DescribeInstances(d)
	if err != nil || len(out.Instances.Instance) != 0 {
		t.Errorf("DescribeInstances after reset: %v, %d instances", err, len(out.Instances.Instance))
	}
	if status, _ := a.call("POST", "/_latchkey/check-password", map[string]string{"resource": web.ID, "password": "Web123"}, nil); status != 404 {
		t.Errorf("a check on a reset instance = %d, want 404", status)
	}

	// Applying again builds the fleet anew.
	third := a.apply(fleetFile)
	web3 := third.byName(t, "ecs.instance", "web-1")
	if web3.Action != "created" || web3.ID == web.ID {
		t.Errorf("after reset, web-1 = %+v (before: %s)", web3, web.ID)
	}
	if !a.check(web3.ID, "", "Web123") {
		t.Error("the new web-1 lacks its password")
	}
	second = a.apply(fleetFile)
	if second.Changed {
		t.Errorf("applying after the rebuild changed something: %+v", second.Resources)
	}
}

func TestFleetUpdatesWhatDiffers(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	a.apply(fleetFile)
	changed := strings.NewReplacer("vnc_password: Web123", "vnc_password: Web999", "status: Stopped\n    vnc_password: Leg123", "status: Running\n    vnc_password: Leg123").Replace(fleetFile)
	changed = strings.Replace(changed, "        status: Stopped\n        vnc_password: Leg123", "        status: Running\n        vnc_password: Leg123", 1)
	res := a.apply(changed)
	web := res.byName(t, "ecs.instance", "web-1")
	legacy := res.byName(t, "ecs.instance", "legacy-1")
	if web.Action != "updated" || strings.Join(web.Changes, ",") != "vnc_password" {
		t.Errorf("web-1: %+v", web)
	}
	if legacy.Action != "updated" || strings.Join(legacy.Changes, ",") != "status" {
		t.Errorf("legacy-1: %+v", legacy)
	}
	if !a.check(web.ID, "", "Web999") || a.check(web.ID, "", "Web123") {
		t.Error("web-1's console does not have the new password only")
	}

	// A file that changes what cannot change is refused, naming it.
	bad := strings.Replace(fleetFile, "      - name: web-1\n        region: cn-hangzhou\n", "      - name: web-1\n        region: cn-hangzhou\n        io_optimized: false\n", 1)
	status, raw := a.call("POST", "/_latchkey/fleet", bad, nil)
	if status != 409 || !strings.Contains(raw, "io_optimized") {
		t.Errorf("changing io_optimized: %d %s", status, raw)
	}

	// Malformed files are refused before anything is applied, without
	// quoting their values.
	for _, tc := range []struct{ file, want string }{
		{"accounts:\n  - ecs:\n      - name: x\n        vnc_password: Secret-Value-1\n", "vnc_password"},
		{"accounts:\n  - ecs:\n      - name: x\n        colour: Secret-Value-1\n", "colour"},
		{"accounts:\n  - ecs:\n      - name: x\n        io_optimized: Secret-Value-1\n", "wrong type"},
		{"accounts:\n  - id: 12\n", "16 digits"},
		{"accounts: [\n", "malformed"},
		{"accounts:\n  - ecs:\n      - name: x\n        status: Pending\n", "Running or Stopped"},
	} {
		status, raw := a.call("POST", "/_latchkey/fleet", tc.file, nil)
		if status != 400 || !strings.Contains(raw, tc.want) || strings.Contains(raw, "Secret-Value-1") {
			t.Errorf("file %q: %d %s", tc.file, status, raw)
		}
	}
	var list resourceList
	a.must(200, "GET", "/_latchkey/resources?kind=ecs.instance", nil, &list)
	if len(list.Resources) != 3 {
		t.Errorf("refused files created resources: %d instances", len(list.Resources))
	}
}

func TestResetToDemo(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	demo := a.must(200, "GET", "/_latchkey/fleet/demo", nil, nil)
	if !strings.Contains(demo, "demo-web-1") {
		t.Fatalf("demo fleet: %s", demo)
	}
	var reset struct {
		Fleet   string
		Applied *applyResult
	}
	status, raw := a.call("POST", "/_latchkey/reset", `{"fleet":"demo"}`, &reset)
	if status != 200 {
		t.Fatalf("reset to demo: %d %s", status, raw)
	}
	web := reset.Applied.byName(t, "ecs.instance", "demo-web-1")
	if !a.check(web.ID, "", "Web123") {
		t.Error("demo-web-1 lacks its documented password")
	}
	legacy := reset.Applied.byName(t, "ecs.instance", "demo-legacy-1")
	if !a.check(legacy.ID, "", "Old123") {
		t.Error("demo-legacy-1 lacks its documented password")
	}
	bcc := reset.Applied.byName(t, "bcc.instance", "demo-bcc-1")
	if !a.check(bcc.ID, "", "Demo2020!") {
		t.Error("demo-bcc-1 lacks its documented password")
	}
	// Resetting to the demo again gives the same fleet, anew.
	a.must(200, "POST", "/_latchkey/reset", `{"fleet":"demo"}`, &reset)
	var list resourceList
	a.must(200, "GET", "/_latchkey/resources?kind=ecs.instance", nil, &list)
	if len(list.Resources) != 3 {
		t.Errorf("after a second reset to demo: %d ECS instances", len(list.Resources))
	}
}
