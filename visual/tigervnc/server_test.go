package tigervnc_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/server"
)

// TestServeWithAgents runs the whole server with --visual-driver tigervnc
// and an agents file, and drives it with the Alibaba Go SDK as the
// README's E-HPC walkthrough does: the visual service of a new cluster is
// a real Xvnc on its login node's address, ModifyVisualServicePasswd
// makes the password live there, a node whose Xvnc cannot run answers
// ExecFail, and a node whose agent is down answers AgentError.
func TestServeWithAgents(t *testing.T) {
	t.Parallel()
	prefix := testutil.LoopbackPrefix()
	good := agenttest.Start(t, agenttest.Options{})
	bad := agenttest.Start(t, agenttest.Options{Xvnc: "/nonexistent/Xvnc"})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "agent.token"), agenttest.Token)
	agents := filepath.Join(dir, "agents.yaml")
	// The first cluster's login node gets .1, the second cluster's .2.
	write(t, agents, "token_file: agent.token\nagents:\n"+
		"  - address: "+nthLogin(prefix, 1).String()+"\n    url: "+good.URL.String()+"\n"+
		"  - address: "+nthLogin(prefix, 2).String()+"\n    url: "+bad.URL.String()+"\n")
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) {
		c.VisualDriver, c.VisualAgents, c.EHPCLoginAddresses = server.VisualDriverTigerVNC, agents, prefix
	}))

	client := env.Common(t, "", "")
	call := func(action string, params map[string]string) (map[string]any, error) {
		resp, err := client.ProcessCommonRequest(env.EHPCRequest(action, params))
		if err != nil {
			return nil, err
		}
		var out map[string]any
		return out, json.Unmarshal(resp.GetHttpContentBytes(), &out)
	}
	create := func(name string) string {
		out, err := call("CreateCluster", map[string]string{
			"Name": name, "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
			"EcsOrder.Manager.InstanceType": "ecs.g7.large",
			"EcsOrder.Compute.Count":        "1", "EcsOrder.Compute.InstanceType": "ecs.c7.large",
			"EcsOrder.Login.Count": "1", "EcsOrder.Login.InstanceType": "ecs.g7.large",
			"Password": rootPassword, "RemoteVisEnable": "true",
		})
		if err != nil {
			t.Fatalf("CreateCluster: %v", err)
		}
		return out["ClusterId"].(string)
	}
	code := func(err error) string {
		var se *sdkerrors.ServerError
		if errors.As(err, &se) {
			return se.ErrorCode() + " " + se.Message()
		}
		return ""
	}

	id := create("hpc-real")
	nodes, err := call("ListNodes", map[string]string{"ClusterId": id, "Role": "Login"})
	if err != nil {
		t.Fatal(err)
	}
	loginIP := nodes["Nodes"].(map[string]any)["NodeInfo"].([]any)[0].(map[string]any)["PublicIpAddress"].(string)
	if loginIP != nthLogin(prefix, 1).String() {
		t.Fatalf("the login node's PublicIpAddress is %s, want %s", loginIP, nthLogin(prefix, 1))
	}
	set, err := call("ModifyVisualServicePasswd", map[string]string{"ClusterId": id, "RunasUser": "root", "RunasUserPassword": rootPassword, "Passwd": "Abc123"})
	if err != nil || set["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd = %v, %v", set, err)
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr(loginIP), 12016).String()
	if err := rfbtest.Login(addr, "Abc123"); err != nil {
		t.Fatalf("the real Xvnc with the new password: %v", err)
	}
	if err := rfbtest.Login(addr, "Xyz789"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("the real Xvnc with another password: %v", err)
	}

	// The second cluster's node has an agent whose Xvnc cannot run.
	id2 := create("hpc-broken")
	_, err = call("StartVisualService", map[string]string{"ClusterId": id2})
	if c := code(err); !strings.HasPrefix(c, "ExecFail Failed to execute the command: Xvnc") {
		t.Errorf("StartVisualService on a node without Xvnc: %v, want ExecFail naming Xvnc", err)
	}

	// The first node's agent goes away.
	good.Close()
	_, err = call("ModifyVisualServicePasswd", map[string]string{"ClusterId": id, "RunasUser": "root", "RunasUserPassword": rootPassword, "Passwd": "Xyz789"})
	if c := code(err); !strings.HasPrefix(c, "AgentError") {
		t.Errorf("ModifyVisualServicePasswd with the agent down: %v, want AgentError", err)
	}
	if err := rfbtest.Login(addr, "Abc123"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after the agent stopped: %v, want connection refused", err)
	}
	if logs := env.Logs(); strings.Contains(logs, "Abc123") || strings.Contains(logs, agenttest.Token) {
		t.Error("latchkey's log holds a password or the agent token")
	}
}
