package internalapi_test

import (
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/latchkey/latchkey/internal/testenv"
)

const ehpcFleet = `accounts:
  - ehpc:
      - name: hpc-faults
        login_nodes: 3
        root_password: Root#Pass1
        visual:
          password: Vis123
`

// modifyVisual calls ModifyVisualServicePasswd through SDKv1's
// CommonRequest, as the aliyun CLI does, and returns the error (nil on
// success).
func modifyVisual(t *testing.T, e *testenv.Env, cluster, pw string) *sdkerrors.ServerError {
	t.Helper()
	req := e.EHPCRequest("ModifyVisualServicePasswd", map[string]string{
		"RegionId": testenv.Region, "ClusterId": cluster, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": pw,
	})
	_, err := e.Common(t, "", "").ProcessCommonRequest(req)
	return serverError(t, "ModifyVisualServicePasswd", err)
}

type visualMatch struct {
	Match bool `json:"match"`
	Nodes []struct {
		Node    string `json:"node"`
		Match   bool   `json:"match"`
		Checked string `json:"checked"`
	} `json:"nodes"`
}

// visual checks pw on every login node's running visual service.
func (a *admin) visual(cluster, pw string) visualMatch {
	a.t.Helper()
	var m visualMatch
	a.must(200, "POST", "/_latchkey/check-password", map[string]string{"resource": cluster, "target": "visual", "password": pw}, &m)
	for _, n := range m.Nodes {
		if n.Checked != "service" {
			a.t.Errorf("node %s was checked against the %s, not its running service", n.Node, n.Checked)
		}
	}
	return m
}

func TestEHPCFaultsThroughTheSDK(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	var v struct {
		APIs map[string]string `json:"apis"`
	}
	a.must(200, "GET", "/_latchkey/version", nil, &v)
	if v.APIs["ehpc"] == "" {
		t.Skip("this server does not serve E-HPC")
	}
	res := a.apply(ehpcFleet)
	cluster := res.byName(t, "ehpc.cluster", "hpc-faults").ID
	if m := a.visual(cluster, "Vis123"); !m.Match || len(m.Nodes) != 3 {
		t.Fatalf("the fleet's visual password is not live on three nodes: %+v", m)
	}

	// Each failure of the whole cluster: its documented error, and every
	// node keeps the password that was live.
	for _, tc := range []struct {
		effect, code string
		status       int
		message      string
	}{
		{"unreachable", "AgentError", 403, ""},
		{"agent-timeout", "AgentError", 403, ""},
		{"exec-failure", "ExecFail", 403, "vncpasswd -f"},
		{"upstream-failure", "AliyunError", 406, ""},
	} {
		a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ehpc", "resource": cluster, "effect": tc.effect, "operations": []string{"set-password"}, "count": 1}, nil)
		se := modifyVisual(t, e, cluster, "New123")
		if se == nil || se.ErrorCode() != tc.code || se.HttpStatus() != tc.status || !strings.Contains(se.Message(), tc.message) {
			t.Errorf("%s: ModifyVisualServicePasswd = %v, want %d %s", tc.effect, se, tc.status, tc.code)
		}
		if m := a.visual(cluster, "Vis123"); !m.Match {
			t.Errorf("%s: a node lost the live password: %+v", tc.effect, m.Nodes)
		}
		if m := a.visual(cluster, "New123"); anyMatch(m) {
			t.Errorf("%s: a node took the refused password: %+v", tc.effect, m.Nodes)
		}
	}

	// A partial failure: the first login node takes the password, the
	// others keep theirs, and PartFailure names them.
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ehpc", "resource": cluster, "effect": "partial-failure", "count": 1}, nil)
	se := modifyVisual(t, e, cluster, "Par123")
	if se == nil || se.ErrorCode() != "PartFailure" || se.HttpStatus() != 409 {
		t.Fatalf("partial-failure: ModifyVisualServicePasswd = %v, want 409 PartFailure", se)
	}
	m := a.visual(cluster, "Par123")
	if m.Match || len(m.Nodes) != 3 || !m.Nodes[0].Match || m.Nodes[1].Match || m.Nodes[2].Match {
		t.Errorf("after a partial failure, Par123 per node: %+v", m.Nodes)
	}
	old := a.visual(cluster, "Vis123")
	if old.Nodes[0].Match || !old.Nodes[1].Match || !old.Nodes[2].Match {
		t.Errorf("after a partial failure, Vis123 per node: %+v", old.Nodes)
	}

	// With the rules spent, the change reaches every node.
	if se := modifyVisual(t, e, cluster, "All123"); se != nil {
		t.Fatalf("after the rules: %v", se)
	}
	if m := a.visual(cluster, "All123"); !m.Match {
		t.Errorf("All123 is not live everywhere: %+v", m.Nodes)
	}
	var list struct{ Rules []rule }
	a.must(200, "GET", "/_latchkey/faults", nil, &list)
	if len(list.Rules) != 0 {
		t.Errorf("rules left: %+v", list.Rules)
	}

	// Account state: InDebt, then NotEnabled, through the same SDK.
	a.must(200, "PATCH", "/_latchkey/accounts/root", `{"in_debt":true}`, nil)
	if se := modifyVisual(t, e, cluster, "Dbt123"); se == nil || se.ErrorCode() != "InDebt" {
		t.Errorf("in debt: %v", se)
	}
	a.must(200, "PATCH", "/_latchkey/accounts/root", `{"in_debt":false,"services":{"ehpc":false}}`, nil)
	if se := modifyVisual(t, e, cluster, "Dbt123"); se == nil || se.ErrorCode() != "NotEnabled" {
		t.Errorf("E-HPC not enabled: %v", se)
	}
	a.must(200, "PATCH", "/_latchkey/accounts/root", `{"services":{"ehpc":true}}`, nil)
	if m := a.visual(cluster, "All123"); !m.Match {
		t.Errorf("refused calls changed the password: %+v", m.Nodes)
	}

	// Applying the fleet again puts the file's password back everywhere,
	// and then changes nothing.
	again := a.apply(ehpcFleet)
	if x := again.byName(t, "ehpc.cluster", "hpc-faults"); x.Action != "updated" || strings.Join(x.Changes, ",") != "visual.password" {
		t.Errorf("re-apply: %+v", x)
	}
	again = a.apply(ehpcFleet)
	if again.Changed {
		t.Errorf("a third apply changed something: %+v", again.Resources)
	}
	if !a.check(cluster, "user", "Root#Pass1") {
		t.Error("root's password does not check")
	}
}

func anyMatch(m visualMatch) bool {
	for _, n := range m.Nodes {
		if n.Match {
			return true
		}
	}
	return false
}

// A node's id names its cluster in the internal API (found through the
// cluster's node labels, not by reading every cluster).
func TestInspectFindsAClusterByNodeID(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	cluster := a.apply(ehpcFleet).byName(t, "ehpc.cluster", "hpc-faults").ID
	nodes := a.visual(cluster, "Vis123").Nodes
	if len(nodes) != 3 {
		t.Fatalf("%d login nodes, want 3", len(nodes))
	}
	var got struct{ Kind, ID string }
	a.must(200, "GET", "/_latchkey/resources/"+nodes[2].Node, nil, &got)
	if got.Kind != "ehpc.cluster" || got.ID != cluster {
		t.Errorf("inspecting node %s = %+v, want cluster %s", nodes[2].Node, got, cluster)
	}
	if status, _ := a.call("GET", "/_latchkey/resources/i-nosuchnode", nil, nil); status != 404 {
		t.Errorf("inspecting an unknown node id = %d, want 404", status)
	}
}
