package service_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/visual/sim"
)

// rootPassword is the root password every test cluster is created with.
const rootPassword = "Root#Pass1"

// ehpcFixture is an E-HPC service over a real SQLite store, a real sealer
// and hasher, and the sim visual driver behind the fault rules, as
// latchkey assembles it. Its login nodes listen on a loopback /24 of their
// own (so that parallel test packages never share an address).
type ehpcFixture struct {
	stored
	ehpc     *service.EHPC
	accounts *service.Accounts
	driver   *sim.Driver
	caller   core.Caller
	ecfg     service.EHPCConfig
}

func newEHPCFixture(t *testing.T, policy core.EHPCPasswordPolicy) *ehpcFixture {
	t.Helper()
	f := &ehpcFixture{stored: newStored(t)}
	f.ecfg = service.EHPCConfig{Policy: policy, LoginAddresses: testutil.LoopbackPrefix(), AgentTimeout: 2 * time.Second}
	f.open(t)
	creds, err := service.NewIdentity(f.cfg).CreateAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.caller = core.Caller{Principal: core.Principal{AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID}}
	return f
}

// open (re)opens the store and builds a fresh service, a fresh visual
// driver and a fresh fault injector over it, as a restart of latchkey
// does.
func (f *ehpcFixture) open(t *testing.T) {
	t.Helper()
	f.reopen(t, 0)
	f.driver = sim.New()
	t.Cleanup(func() { f.driver.Close() })
	f.ecfg.Drivers = map[string]core.VisualDriver{"sim": f.faults.VisualDriver(f.driver)}
	f.ehpc = service.NewEHPC(f.cfg, f.ecfg, catalog.NewAlibaba())
	f.accounts = service.NewAccounts(f.cfg)
}

// restart stops the visual services and opens the fixture again, as a
// restart of latchkey does; Reconcile, then ReconcileRemote once the
// server would be ready, bring the services back from the store (the
// fixture's driver, behind the fault rules, runs no listener of the
// lease's: it is reconciled as a driver outside latchkey is).
func (f *ehpcFixture) restart(t *testing.T) {
	t.Helper()
	f.driver.Close()
	f.open(t)
	if err := f.ehpc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	close(ready)
	f.ehpc.ReconcileRemote(context.Background(), ready)
}

// create makes a running cluster with logins login nodes and its visual
// service started (RemoteVisEnable).
func (f *ehpcFixture) create(t *testing.T, logins int) *core.Cluster {
	t.Helper()
	ctx := context.Background()
	out, err := f.ehpc.CreateCluster(ctx, f.caller, core.CreateClusterInput{
		RegionID: "cn-hangzhou", Name: "hpc-test", OsTag: "CentOS_7.6_64",
		Manager:  core.NodeOrder{InstanceType: "ecs.n1.medium"},
		Compute:  core.NodeOrder{Count: 1, InstanceType: "ecs.n1.medium"},
		Login:    core.NodeOrder{Count: logins, InstanceType: "ecs.n1.medium"},
		Password: core.NewSecret(rootPassword), RemoteVisEnable: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := f.ehpc.DescribeCluster(ctx, f.caller, cref(out.ClusterID))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// fault adds a fault rule on cluster cl's login nodes.
func (f *ehpcFixture) fault(t *testing.T, cl *core.Cluster, r faults.Rule) {
	t.Helper()
	r.Product, r.Resource = faults.ProductEHPC, string(cl.ID)
	if _, err := f.faults.Add(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// clearFaults removes the rules on cluster cl.
func (f *ehpcFixture) clearFaults(t *testing.T, cl *core.Cluster) {
	t.Helper()
	if _, err := f.faults.Clear(context.Background(), faults.ProductEHPC, string(cl.ID)); err != nil {
		t.Fatal(err)
	}
}

// slow is a rule that delays every call to a cluster's nodes by d.
func slow(d time.Duration) faults.Rule {
	return faults.Rule{Effect: faults.Latency, Latency: faults.Duration(d)}
}

func cref(id core.ClusterID) core.ClusterRef {
	return core.ClusterRef{RegionID: "cn-hangzhou", ClusterID: id}
}

func (f *ehpcFixture) modify(cl *core.Cluster, user, userPw, passwd string) (core.VisualStatus, error) {
	return f.ehpc.ModifyVisualServicePasswd(context.Background(), f.caller, cref(cl.ID), core.VisualPasswdInput{
		RunasUser: user, RunasUserPassword: core.NewSecret(userPw), Passwd: core.NewSecret(passwd),
	})
}

// loginAddr is the address of the cluster's i-th login node's visual
// service.
func loginAddr(cl *core.Cluster, i int) string {
	n := cl.Nodes[cl.LoginNodes()[i]]
	return netip.AddrPortFrom(n.PublicIP, uint16(cl.Visual.Port)).String()
}

// accepts reports whether anything accepts TCP connections at addr.
func accepts(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, rfbtest.DialTimeout)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func TestEHPCClusterLifecycle(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	cl := f.create(t, 2)
	if cl.Status != core.ClusterRunning || !strings.HasPrefix(string(cl.ID), "ehpc-hz-") || len(cl.ID) != len("ehpc-hz-")+10 {
		t.Fatalf("cluster %s status %s", cl.ID, cl.Status)
	}
	roles := map[core.NodeRole]int{}
	seen := map[netip.Addr]bool{}
	for _, n := range cl.Nodes {
		roles[n.Role]++
		if n.Role == core.RoleLogin {
			if !f.ecfg.LoginAddresses.Contains(n.PublicIP) || seen[n.PublicIP] {
				t.Fatalf("login node address %s not unique in %s", n.PublicIP, f.ecfg.LoginAddresses)
			}
			seen[n.PublicIP] = true
		} else if n.PublicIP.IsValid() {
			t.Fatalf("%s node has a public address", n.Role)
		}
	}
	if roles[core.RoleManager] != 1 || roles[core.RoleLogin] != 2 || roles[core.RoleCompute] != 1 {
		t.Fatalf("roles %v", roles)
	}
	for i := range 2 {
		if _, ok := f.driver.Listening(cl.Nodes[cl.LoginNodes()[i]].ID); !ok {
			t.Fatalf("login node %d is not listening", i)
		}
	}

	second := f.create(t, 1)
	page, err := f.ehpc.ListClusters(ctx, f.caller, "cn-hangzhou", core.Page{PageSize: 1, PageNumber: 2})
	if err != nil || page.TotalCount != 2 || len(page.Clusters) != 1 || page.Clusters[0].ID != second.ID {
		t.Fatalf("ListClusters page 2 = %+v, %v", page, err)
	}
	nodes, err := f.ehpc.ListNodes(ctx, f.caller, core.ListNodesInput{ClusterRef: cref(cl.ID), Role: core.RoleLogin})
	if err != nil || nodes.TotalCount != 2 || nodes.Nodes[0].HostName != "login0" {
		t.Fatalf("ListNodes(Login) = %+v, %v", nodes, err)
	}
	if _, err := f.ehpc.ListClusters(ctx, f.caller, "", core.Page{PageSize: 51}); core.AsError(err).Field != "PageSize" {
		t.Fatalf("PageSize 51: %v", err)
	}

	// Stop: status stopped, listeners gone, ModifyVisualServicePasswd
	// refused; start: back.
	if _, err := f.ehpc.StopCluster(ctx, f.caller, cref(cl.ID)); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.driver.Listening(cl.Nodes[cl.LoginNodes()[0]].ID); ok {
		t.Fatal("a stopped cluster's login node still listens")
	}
	_, err = f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindConflict, core.ReasonIncorrectStatus)
	st, err := f.ehpc.GetVisualServiceStatus(ctx, f.caller, cref(cl.ID))
	if err != nil || st.Started {
		t.Fatalf("status of a stopped cluster's service = %+v, %v", st, err)
	}
	if _, err := f.ehpc.StopCluster(ctx, f.caller, cref(cl.ID)); core.ReasonOf(err) != core.ReasonIncorrectStatus {
		t.Fatalf("StopCluster on stopped: %v", err)
	}
	if _, err := f.ehpc.StartCluster(ctx, f.caller, cref(cl.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "after restart", rfbtest.Login(loginAddr(cl, 0), "Abc123"), true)

	// Delete: gone, listeners closed, its addresses free again.
	if _, err := f.ehpc.DeleteCluster(ctx, f.caller, cref(cl.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ehpc.DescribeCluster(ctx, f.caller, cref(cl.ID)); core.ReasonOf(err) != core.ReasonClusterNotFound {
		t.Fatalf("deleted cluster: %v", err)
	}
	if accepts(loginAddr(cl, 0)) {
		t.Fatal("a deleted cluster's login node still accepts connections")
	}
	third := f.create(t, 1)
	if third.Nodes[third.LoginNodes()[0]].PublicIP != cl.Nodes[cl.LoginNodes()[0]].PublicIP {
		t.Fatalf("the freed login address was not reused")
	}
}

func TestEHPCTransitions(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	f.cfg.Transition = time.Second
	f.ehpc = service.NewEHPC(f.cfg, f.ecfg, catalog.NewAlibaba())
	ctx := context.Background()
	cl := f.create(t, 1)
	if cl.Status != core.ClusterCreating {
		t.Fatalf("new cluster is %s, want creating", cl.Status)
	}
	_, err := f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindConflict, core.ReasonIncorrectStatus)
	// wantStatus fails unless the cluster's status is want; when names
	// the step.
	wantStatus := func(when string, want core.ClusterStatus) {
		t.Helper()
		got, err := f.ehpc.DescribeCluster(ctx, f.caller, cref(cl.ID))
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got.Status != want {
			t.Fatalf("%s: the cluster is %s, want %s", when, got.Status, want)
		}
	}
	f.clock.Add(time.Second)
	wantStatus("after one interval", core.ClusterRunning)
	if _, err := f.ehpc.StopCluster(ctx, f.caller, cref(cl.ID)); err != nil {
		t.Fatal(err)
	}
	wantStatus("after StopCluster", core.ClusterStopping)
	f.clock.Add(time.Second)
	wantStatus("one interval later", core.ClusterStopped)
	if _, err := f.ehpc.DeleteCluster(ctx, f.caller, cref(cl.ID)); err != nil {
		t.Fatal(err)
	}
	wantStatus("after DeleteCluster", core.ClusterReleasing)
	f.clock.Add(time.Second)
	if _, err := f.ehpc.DescribeCluster(ctx, f.caller, cref(cl.ID)); core.ReasonOf(err) != core.ReasonClusterNotFound {
		t.Fatalf("released cluster: %v", err)
	}
}

func TestModifyVisualServicePasswdTakesEffect(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	cl := f.create(t, 2)
	st, err := f.modify(cl, "root", rootPassword, "Abc123")
	if err != nil || !st.Started {
		t.Fatalf("ModifyVisualServicePasswd = %+v, %v", st, err)
	}
	for i := range 2 {
		rfbtest.Want(t, fmt.Sprintf("login%d new password", i), rfbtest.Login(loginAddr(cl, i), "Abc123"), true)
	}
	if _, err := f.modify(cl, "root", rootPassword, "Xyz789"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		rfbtest.Want(t, fmt.Sprintf("login%d old password", i), rfbtest.Login(loginAddr(cl, i), "Abc123"), false)
		rfbtest.Want(t, fmt.Sprintf("login%d new password", i), rfbtest.Login(loginAddr(cl, i), "Xyz789"), true)
	}

	// A stopped service takes the password for its next start.
	ctx := context.Background()
	if _, err := f.ehpc.StopVisualService(ctx, f.caller, cref(cl.ID), core.VisualServiceInput{}); err != nil {
		t.Fatal(err)
	}
	st, err = f.modify(cl, "root", rootPassword, "Def456")
	if err != nil || st.Started {
		t.Fatalf("on a stopped service = %+v, %v, want Service stopped.", st, err)
	}
	if accepts(loginAddr(cl, 0)) {
		t.Fatal("a stopped visual service accepts connections")
	}
	if st, err := f.ehpc.StartVisualService(ctx, f.caller, cref(cl.ID), core.VisualServiceInput{}); err != nil || !st.Started {
		t.Fatalf("StartVisualService = %+v, %v", st, err)
	}
	rfbtest.Want(t, "password set while stopped", rfbtest.Login(loginAddr(cl, 0), "Def456"), true)
	rfbtest.Want(t, "password before", rfbtest.Login(loginAddr(cl, 0), "Xyz789"), false)

	// After a restart of latchkey the store brings the services back.
	f.restart(t)
	rfbtest.Want(t, "after restart", rfbtest.Login(loginAddr(cl, 1), "Def456"), true)
}

func TestVisualServiceCidrIp(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	cl := f.create(t, 1)
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	login := cl.Nodes[cl.LoginNodes()[0]].PublicIP
	inside := f.ecfg.LoginAddresses.Addr().As4()
	inside[3] = 200
	allowed := netip.AddrFrom4(inside)
	inside[3] = 201
	other := netip.AddrFrom4(inside)

	port := 20000 + rand.IntN(20000)
	if _, err := f.ehpc.StartVisualService(ctx, f.caller, cref(cl.ID), core.VisualServiceInput{Port: port, CIDR: allowed.String() + "/32"}); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(login, uint16(port)).String()
	if err := rfbtest.LoginFrom(addr, allowed, "Abc123"); err != nil {
		t.Fatalf("login from inside CidrIp: %v", err)
	}
	if err := rfbtest.LoginFrom(addr, other, "Abc123"); err == nil || errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("connection from outside CidrIp: got %v, want it refused before authentication", err)
	}
	if accepts(loginAddr(cl, 0)) {
		t.Fatal("the service still listens on its old port")
	}
	for _, bad := range []core.VisualServiceInput{{Port: 70000}, {CIDR: "10.0.0.0/33"}, {CIDR: "nonsense"}} {
		_, err := f.ehpc.StartVisualService(ctx, f.caller, cref(cl.ID), bad)
		if core.KindOf(err) != core.KindInvalid {
			t.Fatalf("StartVisualService(%+v) = %v, want InvalidParams", bad, err)
		}
	}
}

func TestVisualPolicy2024FullLength(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2024)
	cl := f.create(t, 1)
	const pw = "Visual#Pass-2024xyz"
	if _, err := f.modify(cl, "root", rootPassword, pw); err != nil {
		t.Fatal(err)
	}
	addr := loginAddr(cl, 0)
	rfbtest.Want(t, "VeNCrypt Plain, full password", rfbtest.LoginPlain(addr, "root", pw), true)
	// Differs only after the 8th character: the full-length path refuses it.
	rfbtest.Want(t, "VeNCrypt Plain, same first 8", rfbtest.LoginPlain(addr, "root", pw[:8]+"-different"), false)
	rfbtest.Want(t, "VeNCrypt Plain, one character short", rfbtest.LoginPlain(addr, "root", pw[:len(pw)-1]), false)
	rfbtest.Want(t, "VeNCrypt Plain, other user", rfbtest.LoginPlain(addr, "nobody", pw), false)
	// Classic VNC Authentication keeps working on the first 8 characters
	// (the documented trade-off).
	rfbtest.Want(t, "VNC Authentication", rfbtest.Login(addr, pw), true)
	rfbtest.Want(t, "VNC Authentication, other first 8", rfbtest.Login(addr, "Xisual#Pass"), false)

	// Any cluster user may run the change; Plain then expects that user.
	ctx := context.Background()
	if err := f.ehpc.AddUsers(ctx, f.caller, cref(cl.ID), []core.NewClusterUser{{Name: "alice01", Password: core.NewSecret("Alice#Pass1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.modify(cl, "alice01", "Alice#Pass1", "Second-Visual#9"); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "Plain as the user who set it", rfbtest.LoginPlain(addr, "alice01", "Second-Visual#9"), true)

	// 2024's rule: 8–30 characters, three classes.
	for _, bad := range []string{"Short1!", "alllowercase1", strings.Repeat("Aa1!", 8)} {
		_, err := f.modify(cl, "root", rootPassword, bad)
		if e := core.AsError(err); e.Kind != core.KindInvalid || e.Field != "Passwd" {
			t.Fatalf("2024 Passwd of %d characters: %v", len(bad), err)
		}
	}
}

func TestModifyVisualServicePasswdValidation(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	cl := f.create(t, 1)
	ctx := context.Background()
	cases := []struct {
		name  string
		ref   core.ClusterRef
		in    core.VisualPasswdInput
		field string
	}{
		{"no ClusterId", core.ClusterRef{}, core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")}, "ClusterId"},
		{"no RunasUser", cref(cl.ID), core.VisualPasswdInput{RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")}, "RunasUser"},
		{"no RunasUserPassword", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", Passwd: core.NewSecret("Abc123")}, "RunasUserPassword"},
		{"no Passwd", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword)}, "Passwd"},
		{"2025 RunasUser not root", cref(cl.ID), core.VisualPasswdInput{RunasUser: "alice01", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")}, "RunasUser"},
		{"5 characters", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc12")}, "Passwd"},
		{"letters only", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abcdef")}, "Passwd"},
		{"digits only", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("123456")}, "Passwd"},
		{"special", cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc12!")}, "Passwd"},
	}
	for _, c := range cases {
		_, err := f.ehpc.ModifyVisualServicePasswd(ctx, f.caller, c.ref, c.in)
		if e := core.AsError(err); e.Kind != core.KindInvalid || e.Field != c.field {
			t.Errorf("%s: got %v, want InvalidParams %s", c.name, err, c.field)
		}
	}
	_, err := f.ehpc.ModifyVisualServicePasswd(ctx, f.caller, core.ClusterRef{ClusterID: "ehpc-hz-0000000000"},
		core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")})
	wantReason(t, err, core.KindNotFound, core.ReasonClusterNotFound)
	// Another region's view of the cluster does not find it.
	_, err = f.ehpc.ModifyVisualServicePasswd(ctx, f.caller, core.ClusterRef{RegionID: "cn-beijing", ClusterID: cl.ID},
		core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")})
	wantReason(t, err, core.KindNotFound, core.ReasonClusterNotFound)
	// Another account does not find it either.
	other := f.caller
	other.AccountID = "9999999999999999"
	_, err = f.ehpc.ModifyVisualServicePasswd(ctx, other, cref(cl.ID),
		core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")})
	wantReason(t, err, core.KindNotFound, core.ReasonClusterNotFound)
}

func TestRunasUserLockout(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	cl := f.create(t, 1)
	for i := range 5 {
		_, err := f.modify(cl, "root", "Wrong#Pass1", "Abc123")
		wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
		if i < 4 {
			f.clock.Add(time.Minute) // five within ten minutes
		}
	}
	// Locked: even the right password is refused, the same way.
	_, err := f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
	f.clock.Add(9 * time.Minute)
	_, err = f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
	f.clock.Add(time.Minute + time.Second)
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}

	// Failures spread over more than ten minutes do not lock.
	for range 6 {
		_, err := f.modify(cl, "root", "Wrong#Pass1", "Abc123")
		wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
		f.clock.Add(3 * time.Minute)
	}
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatalf("failures outside the window locked the user: %v", err)
	}

	// An unknown user is an incorrect credential too.
	f.ecfg.Policy = core.EHPCPasswordPolicy2024
	f.ehpc = service.NewEHPC(f.cfg, f.ecfg, catalog.NewAlibaba())
	_, err = f.modify(cl, "nosuchuser", rootPassword, "Abcdefg#1")
	wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)

	// The lockout and the attempts refused during it are audited, without
	// any password.
	var events []core.AuditEvent
	err = f.cfg.Store.View(context.Background(), func(tx core.Tx) (err error) {
		events, err = tx.QueryAudit(context.Background(), core.AuditFilter{Resource: string(cl.ID) + "/user/root"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var locked, refused int
	for _, ev := range events {
		if strings.Contains(ev.Detail, rootPassword) || strings.Contains(ev.Detail, "Wrong#Pass1") {
			t.Fatal("an audit event holds a password")
		}
		switch {
		case strings.Contains(ev.Detail, "locked for 10 minutes"):
			locked++
		case strings.Contains(ev.Detail, "attempt refused"):
			refused++
		}
	}
	if locked != 1 || refused != 2 {
		t.Fatalf("audit: %d lockouts and %d refused attempts, want 1 and 2", locked, refused)
	}
}

func TestVisualDriverFailures(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	cl := f.create(t, 2)
	if _, err := f.modify(cl, "root", rootPassword, "Old123"); err != nil {
		t.Fatal(err)
	}
	// Failures that change nothing: the old password stays live on every
	// login node.
	for _, c := range []struct {
		rule   faults.Rule
		kind   core.Kind
		reason core.Reason
	}{
		{faults.Rule{Effect: faults.AgentTimeout}, core.KindUnavailable, core.ReasonAgentTimeout},
		{slow(5 * time.Second), core.KindUnavailable, core.ReasonAgentTimeout}, // slower than AgentTimeout
		{faults.Rule{Effect: faults.ExecFailure}, core.KindConflict, core.ReasonExecFailed},
		{faults.Rule{Effect: faults.UpstreamFailure}, core.KindUnavailable, core.ReasonUpstreamFailed},
		{faults.Rule{Effect: faults.ServiceUnavailable}, core.KindUnavailable, core.ReasonNone},
		{faults.Rule{Effect: faults.InternalFailure}, core.KindInternal, core.ReasonNone},
	} {
		c.rule.Count = 1 // one operation
		f.fault(t, cl, c.rule)
		_, err := f.modify(cl, "root", rootPassword, "New123")
		wantReason(t, err, c.kind, c.reason)
		if c.reason == core.ReasonExecFailed && !strings.Contains(core.AsError(err).Message, "vncpasswd -f") {
			t.Fatalf("ExecFail does not name the command: %v", err)
		}
		for i := range 2 {
			rfbtest.Want(t, fmt.Sprintf("%s: login%d old password", c.rule.Effect, i), rfbtest.Login(loginAddr(cl, i), "Old123"), true)
		}
	}

	// Partial failure: login0 takes the password, login1 does not; the
	// error names both, and each node keeps what it has.
	f.fault(t, cl, faults.Rule{Effect: faults.PartialFailure, Count: 1})
	_, err := f.modify(cl, "root", rootPassword, "New123")
	wantReason(t, err, core.KindConflict, core.ReasonPartialFailure)
	msg := core.AsError(err).Message
	if !strings.Contains(msg, "changed: login0") || !strings.Contains(msg, "not changed: login1") || strings.Contains(msg, "New123") {
		t.Fatalf("PartFailure message %q", msg)
	}
	rfbtest.Want(t, "login0 new", rfbtest.Login(loginAddr(cl, 0), "New123"), true)
	rfbtest.Want(t, "login1 old", rfbtest.Login(loginAddr(cl, 1), "Old123"), true)
	// The store records each node's password: a restart keeps both.
	f.restart(t)
	rfbtest.Want(t, "login0 after restart", rfbtest.Login(loginAddr(cl, 0), "New123"), true)
	rfbtest.Want(t, "login1 after restart", rfbtest.Login(loginAddr(cl, 1), "Old123"), true)
	// Retrying without the fault brings every node in line.
	if _, err := f.modify(cl, "root", rootPassword, "New123"); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "login1 retried", rfbtest.Login(loginAddr(cl, 1), "New123"), true)
}

func TestConcurrentModifyOneClusterConflicts(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	cl := f.create(t, 1)
	f.fault(t, cl, slow(300*time.Millisecond))
	const n = 8
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			_, errs[i] = f.modify(cl, "root", rootPassword, fmt.Sprintf("Pass%02d", i))
		})
	}
	start.Done()
	wg.Wait()
	ok, conflicts := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if ok >= 0 {
				t.Fatalf("calls %d and %d both succeeded", ok, i)
			}
			ok = i
		case core.ReasonOf(err) == core.ReasonConflictingOp:
			conflicts++
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if ok < 0 || conflicts != n-1 {
		t.Fatalf("%d conflicts and success %d, want 1 success and %d ConflictOpt", conflicts, ok, n-1)
	}
	f.clearFaults(t, cl)
	rfbtest.Want(t, "the winner's password", rfbtest.Login(loginAddr(cl, 0), fmt.Sprintf("Pass%02d", ok)), true)
	// The lock is gone once the winner finished.
	if _, err := f.modify(cl, "root", rootPassword, "After1"); err != nil {
		t.Fatal(err)
	}
	// Other operations on a busy cluster get ConflictOpt too.
	f.fault(t, cl, slow(300*time.Millisecond))
	done := make(chan error)
	go func() { _, err := f.modify(cl, "root", rootPassword, "After2"); done <- err }()
	time.Sleep(100 * time.Millisecond)
	err := f.ehpc.AddUsers(context.Background(), f.caller, cref(cl.ID), []core.NewClusterUser{{Name: "bobuser", Password: core.NewSecret("Bob#Pass12")}})
	wantReason(t, err, core.KindConflict, core.ReasonConflictingOp)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// barrier is a visual driver in front of another whose password changes
// each wait until n of them are in progress at once (or their context
// ends): calls that the service serialized would never all arrive.
type barrier struct {
	core.VisualDriver
	n int

	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (b *barrier) SetVisualPassword(ctx context.Context, n core.VisualNode, pw core.Secret) error {
	b.mu.Lock()
	if b.arrived++; b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.VisualDriver.SetVisualPassword(ctx, n, pw)
}

// Changes to different clusters run at the same time: three calls whose
// node changes each wait for the other two all succeed. Had one cluster's
// operation lock held up another, the first call would have waited for
// the others until its agent timeout (AgentError).
func TestConcurrentModifyDifferentClusters(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	clusters := []*core.Cluster{f.create(t, 1), f.create(t, 1), f.create(t, 1)}
	f.ecfg.Drivers = map[string]core.VisualDriver{"sim": &barrier{VisualDriver: f.faults.VisualDriver(f.driver), n: len(clusters), all: make(chan struct{})}}
	f.ehpc = service.NewEHPC(f.cfg, f.ecfg, catalog.NewAlibaba())
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, cl := range clusters {
		wg.Go(func() { _, errs[i] = f.modify(cl, "root", rootPassword, "Abc123") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("cluster %d: %v", i, err)
		}
	}
}

func TestEHPCAccountState(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	cl := f.create(t, 1)
	off, on := false, true
	if _, err := f.accounts.Change(ctx, f.caller.AccountID, service.AccountChange{Services: map[core.Service]bool{core.ServiceEHPC: off}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindForbidden, core.ReasonServiceNotEnabled)
	_, err = f.ehpc.ListClusters(ctx, f.caller, "", core.Page{})
	wantReason(t, err, core.KindForbidden, core.ReasonServiceNotEnabled)

	st, err := f.accounts.Change(ctx, f.caller.AccountID, service.AccountChange{Services: map[core.Service]bool{core.ServiceEHPC: on}, InDebt: &on})
	if err != nil || !st.InDebt || !st.Services[core.ServiceEHPC] {
		t.Fatalf("Change = %+v, %v", st, err)
	}
	_, err = f.modify(cl, "root", rootPassword, "Abc123")
	wantReason(t, err, core.KindForbidden, core.ReasonInDebt)

	if _, err := f.accounts.Change(ctx, f.caller.AccountID, service.AccountChange{InDebt: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.Change(ctx, f.caller.AccountID, service.AccountChange{Services: map[core.Service]bool{"nosuch": true}}); core.KindOf(err) != core.KindInvalid {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := f.accounts.Get(ctx, "0000000000000000"); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestClusterUsers(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2024)
	ctx := context.Background()
	cl := f.create(t, 1)
	users := []core.NewClusterUser{
		{Name: "alice01", Password: core.NewSecret("Alice#Pass1")},
		{Name: "bob.smith", Group: "wheel", Password: core.NewSecret("Bob#Pass12")},
	}
	if err := f.ehpc.AddUsers(ctx, f.caller, cref(cl.ID), users); err != nil {
		t.Fatal(err)
	}
	page, err := f.ehpc.ListUsers(ctx, f.caller, cref(cl.ID), core.Page{})
	if err != nil || page.TotalCount != 2 || page.Users[0].Name != "alice01" || page.Users[0].Group != "users" || page.Users[1].Group != "wheel" {
		t.Fatalf("ListUsers = %+v, %v", page, err)
	}
	for _, u := range page.Users {
		if u.Password != "" {
			t.Fatal("ListUsers returns password hashes")
		}
	}
	// The stored password is a hash, never the plaintext.
	var stored *core.Cluster
	_ = f.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		stored, err = core.Get[core.Cluster](ctx, tx, string(cl.ID))
		return err
	})
	for _, u := range stored.Users {
		if !strings.HasPrefix(string(u.Password), "$argon2id$") {
			t.Fatalf("user %s's password is not an argon2id hash", u.Name)
		}
	}

	for _, bad := range [][]core.NewClusterUser{
		{{Name: "alice01", Password: core.NewSecret("Alice#Pass1")}},                // exists
		{{Name: "short", Password: core.NewSecret("Alice#Pass1")}},                  // name too short
		{{Name: "carol01", Password: core.NewSecret("weak")}},                       // password rule
		{{Name: "carol01", Group: "root", Password: core.NewSecret("Carol#Pass1")}}, // group
	} {
		if err := f.ehpc.AddUsers(ctx, f.caller, cref(cl.ID), bad); core.KindOf(err) != core.KindInvalid {
			t.Fatalf("AddUsers(%s): %v", bad[0].Name, err)
		}
	}

	if err := f.ehpc.ModifyUserPasswords(ctx, f.caller, cref(cl.ID), []core.UserPassword{{Name: "alice01", Password: core.NewSecret("Alice#Pass2")}}); err != nil {
		t.Fatal(err)
	}
	_, err = f.modify(cl, "alice01", "Alice#Pass1", "Visual#Pass1")
	wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
	if _, err := f.modify(cl, "alice01", "Alice#Pass2", "Visual#Pass1"); err != nil {
		t.Fatal(err)
	}

	if err := f.ehpc.DeleteUsers(ctx, f.caller, cref(cl.ID), []string{"alice01"}); err != nil {
		t.Fatal(err)
	}
	if err := f.ehpc.DeleteUsers(ctx, f.caller, cref(cl.ID), []string{"root"}); core.KindOf(err) != core.KindInvalid {
		t.Fatalf("deleting root: %v", err)
	}
	_, err = f.modify(cl, "alice01", "Alice#Pass2", "Visual#Pass2")
	wantReason(t, err, core.KindForbidden, core.ReasonBadCredential)
}

func TestCreateClusterValidationAndClientToken(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	good := core.CreateClusterInput{
		RegionID: "cn-hangzhou", Name: "hpc-test", OsTag: "CentOS_7.6_64",
		Manager: core.NodeOrder{InstanceType: "ecs.n1.medium"}, Compute: core.NodeOrder{InstanceType: "ecs.n1.medium"},
		Login: core.NodeOrder{InstanceType: "ecs.n1.medium"}, Password: core.NewSecret(rootPassword), ClientToken: "token-1",
	}
	a, err := f.ehpc.CreateCluster(ctx, f.caller, good)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.ehpc.CreateCluster(ctx, f.caller, good)
	if err != nil || *a != *b {
		t.Fatalf("retry with the same ClientToken = %+v, %v; want %+v", b, err, a)
	}
	for field, mutate := range map[string]func(*core.CreateClusterInput){
		"RegionId":                      func(in *core.CreateClusterInput) { in.RegionID = "xx-nowhere-1" },
		"ZoneId":                        func(in *core.CreateClusterInput) { in.ZoneID = "cn-hangzhou-zz" },
		"Name":                          func(in *core.CreateClusterInput) { in.Name = "1abc" },
		"OsTag":                         func(in *core.CreateClusterInput) { in.OsTag = "" },
		"Password":                      func(in *core.CreateClusterInput) { in.Password = core.NewSecret("weak") },
		"EcsOrder.Login.Count":          func(in *core.CreateClusterInput) { in.Login.Count = 11 },
		"EcsOrder.Compute.InstanceType": func(in *core.CreateClusterInput) { in.Compute.InstanceType = "" },
	} {
		in := good
		in.ClientToken = ""
		mutate(&in)
		_, err := f.ehpc.CreateCluster(ctx, f.caller, in)
		if e := core.AsError(err); e.Kind != core.KindInvalid || e.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	// A cluster without RemoteVisEnable has its service stopped.
	in := good
	in.ClientToken = ""
	out, err := f.ehpc.CreateCluster(ctx, f.caller, in)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.ehpc.GetVisualServiceStatus(ctx, f.caller, cref(out.ClusterID))
	if err != nil || st.Started {
		t.Fatalf("GetVisualServiceStatus = %+v, %v", st, err)
	}
}

// E-HPC's list calls bound PageNumber the same way.
func TestEHPCPageNumberBounds(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	_, err := f.ehpc.ListClusters(ctx, f.caller, "", core.Page{PageNumber: math.MaxInt64, PageSize: 10})
	if e := core.AsError(err); e.Field != "PageNumber" {
		t.Errorf("ListClusters PageNumber MaxInt64: %v, want InvalidParams PageNumber", err)
	}
	page, err := f.ehpc.ListClusters(ctx, f.caller, "", core.Page{PageNumber: math.MaxInt32, PageSize: 50})
	if err != nil || len(page.Clusters) != 0 {
		t.Errorf("ListClusters PageNumber MaxInt32 = %+v, %v; want an empty page", page, err)
	}
}

// loginIPs returns the addresses of the cluster's login nodes.
func loginIPs(cl *core.Cluster) []netip.Addr {
	var out []netip.Addr
	for _, i := range cl.LoginNodes() {
		out = append(out, cl.Nodes[i].PublicIP)
	}
	return out
}

// Login addresses are given out lowest first and never twice: a cluster
// being released keeps its addresses, and once its release has ended
// the next creation gets them back.
func TestEHPCLoginAddressesAreUniqueAndReused(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	f.cfg.Transition = time.Second
	f.ehpc = service.NewEHPC(f.cfg, f.ecfg, catalog.NewAlibaba())
	ctx := context.Background()
	first := f.ecfg.LoginAddresses.Addr().Next()
	a := f.create(t, 1)
	b := f.create(t, 2)
	want := []netip.Addr{first, first.Next(), first.Next().Next()}
	if got := append(loginIPs(a), loginIPs(b)...); !slices.Equal(got, want) {
		t.Fatalf("login addresses %v, want %v", got, want)
	}
	f.clock.Add(time.Second)
	if _, err := f.ehpc.DeleteCluster(ctx, f.caller, cref(a.ID)); err != nil {
		t.Fatal(err)
	}
	c := f.create(t, 1)
	if got := loginIPs(c); !slices.Equal(got, []netip.Addr{want[2].Next()}) {
		t.Fatalf("created while another is releasing: %v, want the next address", got)
	}
	f.clock.Add(time.Second)
	d := f.create(t, 1)
	if got := loginIPs(d); !slices.Equal(got, []netip.Addr{first}) {
		t.Fatalf("created after a release ended: %v, want the released %v", got, first)
	}
	e := f.create(t, 1)
	if got := loginIPs(e); !slices.Equal(got, []netip.Addr{want[2].Next().Next()}) {
		t.Fatalf("next creation: %v", got)
	}
}

// Start-up does not wait for the visual services of drivers outside
// latchkey: Reconcile starts none of them, and ReconcileRemote, once the
// server is ready, starts every one the store has listening, and only
// those.
func TestEHPCRemoteDriversReconcileAfterReady(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	on := f.create(t, 2)
	off := f.create(t, 1)
	if _, err := f.ehpc.StopVisualService(ctx, f.caller, cref(off.ID), core.VisualServiceInput{}); err != nil {
		t.Fatal(err)
	}
	f.driver.Close()
	f.open(t)
	if err := f.ehpc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for li := range on.LoginNodes() {
		if accepts(loginAddr(on, li)) {
			t.Fatalf("login node %d listens before the server is ready", li)
		}
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ehpc.ReconcileRemote(ctx, ready)
	}()
	close(ready)
	<-done
	for li := range on.LoginNodes() {
		if !accepts(loginAddr(on, li)) {
			t.Errorf("login node %d does not listen after ready", li)
		}
	}
	if accepts(loginAddr(off, 0)) {
		t.Error("a stopped service listens after ready")
	}
}
