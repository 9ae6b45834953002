package tigervnc_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/visual/tigervnc"
)

// rootPassword is root's password in every test cluster.
const rootPassword = "Root#Pass1"

// hangGuard bounds every test's calls (testutil.Context), so that a
// stuck agent or Xvnc fails the test instead of hanging it. No assertion
// depends on it.
const hangGuard = 90 * time.Second

// agentFor is the driver's view of an in-process agent.
func agentFor(e *agenttest.Env) tigervnc.Agent {
	return tigervnc.Agent{URL: e.URL, Token: core.NewSecret(agenttest.Token)}
}

// fixture is the whole server with --visual-driver tigervnc: the E-HPC
// service calls agents running real Xvnc, one per login node address.
type fixture struct {
	ehpc   *service.EHPC
	caller core.Caller
	prefix netip.Prefix
}

// newFixture starts latchkey with login addresses from prefix and an
// agents file that has agents[i] serve the (i+1)-th address.
func newFixture(t *testing.T, policy core.EHPCPasswordPolicy, prefix netip.Prefix, agents ...*agenttest.Env) *fixture {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "agent.token"), agenttest.Token)
	file := "token_file: agent.token\nagents:\n"
	for i, a := range agents {
		file += "  - address: " + nthLogin(prefix, i+1).String() + "\n    url: " + a.URL.String() + "\n"
	}
	write(t, filepath.Join(dir, "agents.yaml"), file)
	lk := latchkeytest.Start(t, latchkeytest.WithEHPCPasswordPolicy(string(policy)), latchkeytest.WithConfig(func(c *server.Config) {
		c.VisualDriver, c.VisualAgents, c.EHPCLoginAddresses = server.VisualDriverTigerVNC, filepath.Join(dir, "agents.yaml"), prefix
	}))
	app := lk.App()
	return &fixture{ehpc: app.EHPC, caller: app.RootCaller(), prefix: prefix}
}

// nthLogin is the address of the n-th login node (from 1) of a test's
// only cluster: the service hands out the prefix's addresses lowest first.
func nthLogin(prefix netip.Prefix, n int) netip.Addr {
	a := prefix.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

func (f *fixture) login(n int) netip.Addr { return nthLogin(f.prefix, n) }

func (f *fixture) create(t *testing.T, logins int, vis bool) *core.Cluster {
	t.Helper()
	ctx := testutil.Context(t, hangGuard)
	out, err := f.ehpc.CreateCluster(ctx, f.caller, core.CreateClusterInput{
		RegionID: "cn-hangzhou", Name: "hpc-tigervnc", OsTag: "CentOS_7.6_64",
		Manager:  core.NodeOrder{InstanceType: "ecs.n1.medium"},
		Compute:  core.NodeOrder{Count: 1, InstanceType: "ecs.n1.medium"},
		Login:    core.NodeOrder{Count: logins, InstanceType: "ecs.n1.medium"},
		Password: core.NewSecret(rootPassword), RemoteVisEnable: vis,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := f.ehpc.DescribeCluster(ctx, f.caller, f.ref(out.ClusterID))
	if err != nil {
		t.Fatal(err)
	}
	for i, li := range cl.LoginNodes() {
		if cl.Nodes[li].PublicIP != f.login(i+1) || cl.Nodes[li].HostName != "login"+strconv.Itoa(i) {
			t.Fatalf("login node %d has address %s, want %s", i, cl.Nodes[li].PublicIP, f.login(i+1))
		}
	}
	return cl
}

func (f *fixture) ref(id core.ClusterID) core.ClusterRef {
	return core.ClusterRef{RegionID: "cn-hangzhou", ClusterID: id}
}

func (f *fixture) modify(t *testing.T, cl *core.Cluster, user, userPw, pw string) (core.VisualStatus, error) {
	return f.ehpc.ModifyVisualServicePasswd(testutil.Context(t, hangGuard), f.caller, f.ref(cl.ID), core.VisualPasswdInput{
		RunasUser: user, RunasUserPassword: core.NewSecret(userPw), Passwd: core.NewSecret(pw),
	})
}

func visualAddr(a netip.Addr) string {
	return netip.AddrPortFrom(a, service.DefaultVisualPort).String()
}

func pid(t *testing.T, e *agenttest.Env, node core.NodeID) int {
	t.Helper()
	st, err := e.Client().Status(testutil.Context(t, hangGuard), string(node))
	if err != nil || !st.Running {
		t.Fatalf("agent status of %s: %+v, %v", node, st, err)
	}
	return st.PID
}

// TestModifyVisualServicePasswd drives the E-HPC service through this
// driver to two login nodes, each with its own agent and real Xvnc: the
// password is live on both without restarting Xvnc; with one agent down
// the answer is PartFailure and the other node still changes; with both
// down it is AgentError.
func TestModifyVisualServicePasswd(t *testing.T) {
	t.Parallel()
	prefix := testutil.LoopbackPrefix()
	envA := agenttest.Start(t, agenttest.Options{})
	envB := agenttest.Start(t, agenttest.Options{})
	f := newFixture(t, core.EHPCPasswordPolicy2025, prefix, envA, envB)
	cl := f.create(t, 2, true)
	n0, n1 := cl.Nodes[cl.LoginNodes()[0]], cl.Nodes[cl.LoginNodes()[1]]
	a0, a1 := visualAddr(n0.PublicIP), visualAddr(n1.PublicIP)
	pidA, pidB := pid(t, envA, n0.ID), pid(t, envB, n1.ID)

	st, err := f.modify(t, cl, "root", rootPassword, "Abc123")
	if err != nil || !st.Started {
		t.Fatalf("ModifyVisualServicePasswd = %+v, %v", st, err)
	}
	for _, a := range []string{a0, a1} {
		if err := rfbtest.Login(a, "Abc123"); err != nil {
			t.Fatalf("%s with the new password: %v", a, err)
		}
		if err := rfbtest.Login(a, "Xyz789"); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("%s with another password: %v, want an authentication failure", a, err)
		}
	}
	if _, err := f.modify(t, cl, "root", rootPassword, "Xyz789"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{a0, a1} {
		if rfbtest.Login(a, "Xyz789") != nil || !errors.Is(rfbtest.Login(a, "Abc123"), rfb.ErrAuthFailed) {
			t.Fatalf("%s: the second password is not the only one that works", a)
		}
	}
	if pid(t, envA, n0.ID) != pidA || pid(t, envB, n1.ID) != pidB {
		t.Error("a password change restarted Xvnc")
	}

	// Agent B stops answering: PartFailure naming both nodes; login0
	// takes the password, login1 keeps the old one (its Xvnc stopped with
	// its agent).
	envB.Close()
	_, err = f.modify(t, cl, "root", rootPassword, "Qwe456")
	if core.ReasonOf(err) != core.ReasonPartialFailure || !strings.Contains(err.Error(), "changed: login0") || !strings.Contains(err.Error(), "not changed: login1") {
		t.Fatalf("one agent down: %v, want PartFailure naming the nodes", err)
	}
	if err := rfbtest.Login(a0, "Qwe456"); err != nil {
		t.Errorf("login0 after the partial change: %v", err)
	}

	// Both down: AgentError, and nothing changed.
	envA.Close()
	_, err = f.modify(t, cl, "root", rootPassword, "Zzz999")
	if core.ReasonOf(err) != core.ReasonAgentTimeout || core.KindOf(err) != core.KindUnavailable {
		t.Fatalf("both agents down: %v, want AgentError (agent timeout)", err)
	}
	if strings.Contains(err.Error(), "Zzz999") || strings.Contains(err.Error(), agenttest.Token) {
		t.Error("the error holds the password or the token")
	}
}

// TestStartStopVisualService: StopVisualService closes the port, and
// StartVisualService brings the service back with the stored password;
// the password set while stopped is the one of the next start.
func TestStartStopVisualService(t *testing.T) {
	t.Parallel()
	prefix := testutil.LoopbackPrefix()
	env := agenttest.Start(t, agenttest.Options{})
	f := newFixture(t, core.EHPCPasswordPolicy2025, prefix, env)
	cl := f.create(t, 1, false)
	addr := visualAddr(f.login(1))
	if err := rfbtest.Login(addr, "Abc123"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("before StartVisualService: %v, want connection refused", err)
	}
	st, err := f.modify(t, cl, "root", rootPassword, "Abc123")
	if err != nil || st.Started {
		t.Fatalf("ModifyVisualServicePasswd while stopped = %+v, %v", st, err)
	}
	ctx := testutil.Context(t, hangGuard)
	if st, err := f.ehpc.StartVisualService(ctx, f.caller, f.ref(cl.ID), core.VisualServiceInput{}); err != nil || !st.Started {
		t.Fatalf("StartVisualService = %+v, %v", st, err)
	}
	if err := rfbtest.Login(addr, "Abc123"); err != nil {
		t.Fatalf("after StartVisualService, the password set while stopped: %v", err)
	}
	if _, err := f.ehpc.StopVisualService(ctx, f.caller, f.ref(cl.ID), core.VisualServiceInput{}); err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.Login(addr, "Abc123"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after StopVisualService: %v, want connection refused", err)
	}
}

// TestExecFail: a node whose Xvnc cannot run answers ExecFail naming the
// command, never the password.
func TestExecFail(t *testing.T) {
	t.Parallel()
	prefix := testutil.LoopbackPrefix()
	env := agenttest.Start(t, agenttest.Options{Xvnc: "/nonexistent/Xvnc"})
	f := newFixture(t, core.EHPCPasswordPolicy2025, prefix, env)
	cl := f.create(t, 1, false)
	if _, err := f.modify(t, cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatalf("setting a stopped service's password needs no Xvnc: %v", err)
	}
	_, err := f.ehpc.StartVisualService(testutil.Context(t, hangGuard), f.caller, f.ref(cl.ID), core.VisualServiceInput{})
	e := core.AsError(err)
	if e.Reason != core.ReasonExecFailed || !strings.HasPrefix(e.Message, "Xvnc") || !strings.Contains(e.Message, "-rfbport 12016") {
		t.Fatalf("StartVisualService with a missing Xvnc: %v, want ExecFail naming Xvnc", err)
	}
	if strings.Contains(err.Error(), "Abc123") {
		t.Error("the error holds the password")
	}
}

// TestPlain2024: under the 2024 policy the RunasUser who set the password
// logs in with VeNCrypt Plain, and every character counts.
func TestPlain2024(t *testing.T) {
	agenttest.RequireRoot(t)
	t.Parallel()
	const full = "Visual#Pass-2024-full"
	prefix := testutil.LoopbackPrefix()
	env := agenttest.Start(t, agenttest.Options{})
	f := newFixture(t, core.EHPCPasswordPolicy2024, prefix, env)
	cl := f.create(t, 1, true)
	ctx := testutil.Context(t, hangGuard)
	if err := f.ehpc.AddUsers(ctx, f.caller, f.ref(cl.ID), []core.NewClusterUser{{Name: "hpcuser01", Password: core.NewSecret("User#Pass-01")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.modify(t, cl, "hpcuser01", "User#Pass-01", full); err != nil {
		t.Fatalf("ModifyVisualServicePasswd: %v", err)
	}
	addr := visualAddr(f.login(1))
	if err := rfbtest.LoginPlain(addr, "hpcuser01", full); err != nil {
		t.Fatalf("Plain with the whole password: %v", err)
	}
	for what, pw := range map[string]string{"one character short": full[:len(full)-1], "same first 8, other tail": full[:8] + "Other#Tail-1"} {
		if err := rfbtest.LoginPlain(addr, "hpcuser01", pw); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Errorf("Plain with the password %s: %v, want an authentication failure", what, err)
		}
	}
	if err := rfbtest.LoginPlain(addr, "root", full); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("Plain as root, who did not set the password: %v", err)
	}
}

// TestAgentUnreachable: a node without an agent, an agent that is down
// and an agent that refuses the token are all AgentError.
func TestAgentUnreachable(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	ctx := testutil.Context(t, hangGuard)
	node := core.VisualNode{ClusterID: "ehpc-hz-test000001", NodeID: "i-unreach", HostName: "login0", Address: netip.MustParseAddr("127.0.0.1"), Port: 5999, Auth: core.VisualAuthVNC}

	none := tigervnc.New(tigervnc.Config{})
	if err := none.SetVisualPassword(ctx, node, core.NewSecret("Abc123")); core.ReasonOf(err) != core.ReasonAgentTimeout || !strings.Contains(err.Error(), "no agent") {
		t.Errorf("no agent configured: %v", err)
	}

	wrong := agentFor(env)
	wrong.Token = core.NewSecret("wrong-token-0123456789abcdef")
	d := tigervnc.New(tigervnc.Config{Agents: map[netip.Addr]tigervnc.Agent{node.Address: wrong}})
	err := d.SetVisualPassword(ctx, node, core.NewSecret("Abc123"))
	if core.ReasonOf(err) != core.ReasonAgentTimeout || !strings.Contains(err.Error(), "refused latchkey's token") {
		t.Errorf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Error("the error holds the token")
	}

	d = tigervnc.New(tigervnc.Config{Agents: map[netip.Addr]tigervnc.Agent{node.Address: agentFor(env)}})
	if err := d.SetVisualPassword(ctx, node, core.NewSecret("Abc123")); err != nil {
		t.Fatalf("the right token: %v", err)
	}
	if err := d.SetVisualPassword(ctx, node, core.Secret{}); core.ReasonOf(err) != core.ReasonExecFailed {
		t.Errorf("empty password: %v, want ExecFail", err)
	}
	env.Close()
	for name, call := range map[string]func() error{
		"SetVisualPassword": func() error { return d.SetVisualPassword(ctx, node, core.NewSecret("Abc123")) },
		"StartVisual":       func() error { return d.StartVisual(ctx, node, core.NewSecret("Abc123")) },
		"StopVisual":        func() error { return d.StopVisual(ctx, node) },
	} {
		err := call()
		if core.ReasonOf(err) != core.ReasonAgentTimeout || core.KindOf(err) != core.KindUnavailable || !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("%s with the agent down: %v, want AgentError", name, err)
		}
	}

	// A deadline that passes is the same answer, whatever the agent does.
	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-short.Done()
	if err := d.StopVisual(short, node); core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("an expired deadline: %v", err)
	}
}
