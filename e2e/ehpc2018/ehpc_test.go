// Package ehpc2018 drives latchkey's E-HPC 2018-04-12 API through the typed
// services/ehpc client of alibaba-cloud-sdk-go v1.62.713, the last release
// that has this API version (shared/reference/alibaba-rpc.md §3.2). It is a
// module of its own because a module can require one version of the SDK
// and the main module needs v1.63.107; go.mod replaces the SDK with
// v1.62.713 and latchkey with the checkout two directories up, and go.sum
// carries v1.62.713's checksums, which the checksum database does not
// know.
//
// The server is a whole latchkey run by latchkeytest, which imports no
// SDK, so this module builds with the SDK release it pins; visual
// services are RFB listeners on each login node's own loopback address.
// The failures of the node boundary are fault rules added through the
// internal API, as a user's tests add them.
package ehpc2018

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ehpc"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// region is the region the clients are configured for.
const region = "cn-hangzhou"

// Passwords the tests use; no failure message prints one.
const (
	rootPassword = "Root#Pass1"
	newPassword  = "Abc123"
	oldPassword  = "Old456"
)

// client returns a typed E-HPC client for the key, pointed at the server
// the way a user would: only the endpoint differs from the real cloud.
func client(t *testing.T, s *latchkeytest.Server, ak, secret string) *ehpc.Client {
	t.Helper()
	// A generous timeout: under load a call may wait long for its turn,
	// and no test measures time.
	c, err := ehpc.NewClientWithOptions(region, sdk.NewConfig().WithTimeout(2*time.Minute), credentials.NewAccessKeyCredential(ak, secret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = s.HTTPEndpoint()
	return c
}

func rootClient(t *testing.T, s *latchkeytest.Server) *ehpc.Client {
	creds := s.Credentials()
	return client(t, s, creds.AccessKeyID, creds.AccessKeySecret)
}

// addFault adds a fault rule on the login nodes of cluster.
func addFault(t *testing.T, s *latchkeytest.Server, cluster string, r faults.Rule) faults.Rule {
	t.Helper()
	r.Product, r.Resource = faults.ProductEHPC, cluster
	added, err := s.AddFault(r)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

// removeFault removes a fault rule.
func removeFault(t *testing.T, s *latchkeytest.Server, r faults.Rule) {
	t.Helper()
	if err := s.Admin("DELETE", "faults/"+r.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// slow delays every call to the login nodes by d.
func slow(d time.Duration) faults.Rule {
	return faults.Rule{Effect: faults.Latency, Latency: faults.Duration(d)}
}

// createCluster makes a running cluster with logins login nodes and its
// visual service started on port 12016 for 0.0.0.0/0.
func createCluster(t *testing.T, c *ehpc.Client, logins int) string {
	t.Helper()
	req := ehpc.CreateCreateClusterRequest()
	req.Name, req.ZoneId, req.OsTag = "hpc-typed", "cn-hangzhou-b", "CentOS_7.6_64"
	req.EcsOrderManagerCount, req.EcsOrderManagerInstanceType = requests.NewInteger(1), "ecs.n1.medium"
	req.EcsOrderComputeCount, req.EcsOrderComputeInstanceType = requests.NewInteger(1), "ecs.n1.medium"
	req.EcsOrderLoginCount, req.EcsOrderLoginInstanceType = requests.NewInteger(logins), "ecs.n1.medium"
	req.Password, req.RemoteVisEnable = rootPassword, "true"
	resp, err := c.CreateCluster(req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ClusterId, "ehpc-hz-") || len(resp.TaskId) != 36 || len(resp.RequestId) != 36 {
		t.Fatalf("CreateCluster = %+v", resp)
	}
	return resp.ClusterId
}

func modifyRequest(cluster, user, userPassword, passwd string) *ehpc.ModifyVisualServicePasswdRequest {
	req := ehpc.CreateModifyVisualServicePasswdRequest()
	req.ClusterId, req.RunasUser, req.RunasUserPassword, req.Passwd = cluster, user, userPassword, passwd
	return req
}

// loginAddrs returns each login node's PublicIpAddress.
func loginAddrs(t *testing.T, c *ehpc.Client, cluster string) []string {
	t.Helper()
	req := ehpc.CreateListNodesRequest()
	req.ClusterId, req.Role = cluster, "Login"
	resp, err := c.ListNodes(req)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range resp.Nodes.NodeInfo {
		out = append(out, n.PublicIpAddress)
	}
	return out
}

func TestTypedClientEveryOperation(t *testing.T) {
	s := latchkeytest.Start(t)
	c := rootClient(t, s)
	id := createCluster(t, c, 2)

	dc := ehpc.CreateDescribeClusterRequest()
	dc.ClusterId = id
	desc, err := c.DescribeCluster(dc)
	if err != nil {
		t.Fatal(err)
	}
	info := desc.ClusterInfo
	if info.Id != id || info.Status != "running" || info.ZoneId != "cn-hangzhou-b" || info.OsTag != "CentOS_7.6_64" ||
		info.EcsInfo.Login.Count != 2 || info.EcsInfo.Manager.InstanceType != "ecs.n1.medium" || len(info.Nodes.NodesInfo) != 4 {
		t.Fatalf("DescribeCluster = %+v", info)
	}

	lc := ehpc.CreateListClustersRequest()
	lc.PageSize = requests.NewInteger(10)
	list, err := c.ListClusters(lc)
	if err != nil || list.TotalCount != 1 || list.PageSize != 10 || len(list.Clusters.ClusterInfoSimple) != 1 {
		t.Fatalf("ListClusters = %+v, %v", list, err)
	}
	if cs := list.Clusters.ClusterInfoSimple[0]; cs.Id != id || cs.Status != "running" || cs.Managers.Total != 1 || cs.Computes.Total != 1 {
		t.Fatalf("ClusterInfoSimple = %+v", cs)
	}

	ln := ehpc.CreateListNodesRequest()
	ln.ClusterId = id
	nodes, err := c.ListNodes(ln)
	if err != nil || nodes.TotalCount != 4 {
		t.Fatalf("ListNodes = %+v, %v", nodes, err)
	}
	logins := loginAddrs(t, c, id)
	if len(logins) != 2 || logins[0] == logins[1] {
		t.Fatalf("login node addresses %v", logins)
	}
	for _, a := range logins {
		if addr, err := netip.ParseAddr(a); err != nil || !s.EHPCLoginAddresses().Contains(addr) {
			t.Fatalf("login node address %q outside %s", a, s.EHPCLoginAddresses())
		}
	}

	au := ehpc.CreateAddUsersRequest()
	au.ClusterId = id
	au.User = &[]ehpc.AddUsersUser{{Name: "alice01", Password: "Alice#Pass1", Group: "users"}, {Name: "bob.admin", Password: "Bob#Pass12", Group: "wheel"}}
	if _, err := c.AddUsers(au); err != nil {
		t.Fatal(err)
	}
	lu := ehpc.CreateListUsersRequest()
	lu.ClusterId = id
	users, err := c.ListUsers(lu)
	if err != nil || users.TotalCount != 2 || users.Users.UserInfo[0].Name != "alice01" || users.Users.UserInfo[1].Group != "wheel" || users.Users.UserInfo[0].AddTime == "" {
		t.Fatalf("ListUsers = %+v, %v", users, err)
	}
	mu := ehpc.CreateModifyUserPasswordsRequest()
	mu.ClusterId = id
	mu.User = &[]ehpc.ModifyUserPasswordsUser{{Name: "alice01", Password: "Alice#Pass2"}}
	if _, err := c.ModifyUserPasswords(mu); err != nil {
		t.Fatal(err)
	}
	du := ehpc.CreateDeleteUsersRequest()
	du.ClusterId = id
	du.User = &[]ehpc.DeleteUsersUser{{Name: "bob.admin"}}
	if _, err := c.DeleteUsers(du); err != nil {
		t.Fatal(err)
	}

	gs := ehpc.CreateGetVisualServiceStatusRequest()
	gs.ClusterId = id
	if st, err := c.GetVisualServiceStatus(gs); err != nil || st.Message != "Service started." {
		t.Fatalf("GetVisualServiceStatus = %+v, %v", st, err)
	}
	port := 20000 + int(time.Now().UnixNano()%20000)
	sv := ehpc.CreateStartVisualServiceRequest()
	sv.ClusterId, sv.Port, sv.CidrIp = id, requests.NewInteger(port), "127.0.0.0/8"
	if st, err := c.StartVisualService(sv); err != nil || st.Message != "Service started." {
		t.Fatalf("StartVisualService = %+v, %v", st, err)
	}
	mv, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, newPassword))
	if err != nil || mv.Message != "Service started." || len(mv.RequestId) != 36 {
		t.Fatalf("ModifyVisualServicePasswd = %+v, %v", mv, err)
	}
	for i, a := range logins {
		rfbtest.Want(t, fmt.Sprintf("login%d, new password", i), rfbtest.Login(net.JoinHostPort(a, fmt.Sprint(port)), newPassword), true)
	}
	xv := ehpc.CreateStopVisualServiceRequest()
	xv.ClusterId = id
	if st, err := c.StopVisualService(xv); err != nil || st.Message != "Service stopped." {
		t.Fatalf("StopVisualService = %+v, %v", st, err)
	}
	if mv, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, oldPassword)); err != nil || mv.Message != "Service stopped." {
		t.Fatalf("ModifyVisualServicePasswd on a stopped service = %+v, %v", mv, err)
	}

	stop := ehpc.CreateStopClusterRequest()
	stop.ClusterId = id
	if r, err := c.StopCluster(stop); err != nil || r.TaskId == "" {
		t.Fatalf("StopCluster = %+v, %v", r, err)
	}
	start := ehpc.CreateStartClusterRequest()
	start.ClusterId = id
	if r, err := c.StartCluster(start); err != nil || r.TaskId == "" {
		t.Fatalf("StartCluster = %+v, %v", r, err)
	}
	del := ehpc.CreateDeleteClusterRequest()
	del.ClusterId, del.ReleaseInstance = id, "true"
	if r, err := c.DeleteCluster(del); err != nil || r.TaskId == "" {
		t.Fatalf("DeleteCluster = %+v, %v", r, err)
	}
	_, err = c.DescribeCluster(dc)
	wantError(t, "deleted cluster", err, 404, "ClusterNotFound", "The specified instance does not exist.", false)
}

// The RAM user of TestTypedModifyVisualServicePasswdEveryError, allowed
// to read E-HPC only, with an access key whose secret the test chose.
const (
	readerKeyID  = "LTAItestehpcreader0001"
	readerSecret = "reader-secret-0000000001"
	readerFleet  = `
accounts:
  - id: root
    ram:
      users:
        - name: reader
          policies: [AliyunEHPCReadOnlyAccess]
          access_keys:
            - id: ` + readerKeyID + `
              secret: ` + readerSecret + `
`
)

// wantError fails unless err is the given status, code and message (or
// message prefix), and holds none of the tests' passwords.
func wantError(t *testing.T, what string, err error, status int, code, message string, prefix bool) {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %v, want %d %s", what, err, status, code)
	}
	msgOK := se.Message() == message || prefix && strings.HasPrefix(se.Message(), message)
	if se.HttpStatus() != status || se.ErrorCode() != code || !msgOK {
		t.Fatalf("%s: got %d %s %q, want %d %s %q", what, se.HttpStatus(), se.ErrorCode(), se.Message(), status, code, message)
	}
	for _, pw := range []string{rootPassword, newPassword, oldPassword, "Wrong#Pass1"} {
		if strings.Contains(se.Error(), pw) {
			t.Fatalf("%s: the error shows a password", what)
		}
	}
}

func TestTypedModifyVisualServicePasswdEveryError(t *testing.T) {
	g := newGate()
	s := startGated(t, g)
	c := rootClient(t, s)
	id := createCluster(t, c, 2)
	modify := func() error {
		_, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, newPassword))
		return err
	}
	// withFault makes the next operation on the cluster fail.
	withFault := func(effect faults.Effect) error {
		addFault(t, s, id, faults.Rule{Effect: effect, Count: 1})
		return modify()
	}
	// change sets the root account's state through the internal API.
	change := func(state map[string]any) {
		t.Helper()
		if err := s.Admin("PATCH", "accounts/root", state, nil); err != nil {
			t.Fatal(err)
		}
	}

	// 400 InvalidParams, naming the parameter.
	_, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, "abcdef"))
	wantError(t, "letters only", err, 400, "InvalidParams", "The specified parameter Passwd is invalid.", false)
	_, err = c.ModifyVisualServicePasswd(modifyRequest(id, "alice01", rootPassword, newPassword))
	wantError(t, "RunasUser not root (2025)", err, 400, "InvalidParams", "The specified parameter RunasUser is invalid.", false)
	_, err = c.ModifyVisualServicePasswd(modifyRequest("", "root", rootPassword, newPassword))
	wantError(t, "no ClusterId", err, 400, "InvalidParams", "The specified parameter ClusterId is invalid.", false)

	// 400 NotEnabled and InDebt: account state.
	change(map[string]any{"services": map[string]bool{"ehpc": false}})
	wantError(t, "E-HPC not enabled", modify(), 400, "NotEnabled", "You have not enabled this service", false)
	change(map[string]any{"services": map[string]bool{"ehpc": true}, "in_debt": true})
	wantError(t, "in debt", modify(), 400, "InDebt", "Your account has overdue payments.", false)
	change(map[string]any{"in_debt": false})

	// 403 InvalidClusterStatus: a stopped cluster.
	stop := ehpc.CreateStopClusterRequest()
	stop.ClusterId = id
	if _, err := c.StopCluster(stop); err != nil {
		t.Fatal(err)
	}
	wantError(t, "stopped cluster", modify(), 403, "InvalidClusterStatus", "The cluster status does not support the operation.", false)
	start := ehpc.CreateStartClusterRequest()
	start.ClusterId = id
	if _, err := c.StartCluster(start); err != nil {
		t.Fatal(err)
	}

	// 403 IncorrectCredential.
	_, err = c.ModifyVisualServicePasswd(modifyRequest(id, "root", "Wrong#Pass1", newPassword))
	wantError(t, "wrong RunasUserPassword", err, 403, "IncorrectCredential", "The username or password is incorrect.", false)

	// 403 AgentError, ExecFail (naming the command); 406 AliyunError; 409
	// PartFailure (naming the nodes); 500 UnknownError; 503
	// ServiceUnavailable: the node boundary.
	wantError(t, "agent timeout", withFault(faults.AgentTimeout), 403, "AgentError", "The agent request failed.", false)
	wantError(t, "exec failure", withFault(faults.ExecFailure), 403, "ExecFail", "Failed to execute the command: vncpasswd -f.", false)
	wantError(t, "upstream failure", withFault(faults.UpstreamFailure), 406, "AliyunError", "Failed to request other cloud service APIs.", false)
	wantError(t, "partial failure", withFault(faults.PartialFailure), 409, "PartFailure", "Part of the batch operation failed. Changed: login0", true)
	wantError(t, "internal failure", withFault(faults.InternalFailure), 500, "UnknownError", "An unknown error occurred.", false)
	wantError(t, "unavailable", withFault(faults.ServiceUnavailable), 503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server", false)

	// 404 ClusterNotFound.
	_, err = c.ModifyVisualServicePasswd(modifyRequest("ehpc-hz-NoSuchClstr", "root", rootPassword, newPassword))
	wantError(t, "unknown cluster", err, 404, "ClusterNotFound", "The specified instance does not exist.", false)

	// 403 ConflictOpt: another operation holds the cluster. It does while
	// the gate holds it in its latency: the rule acts on the login nodes,
	// which an operation reaches only with the cluster's lock held.
	delay := addFault(t, s, id, slow(time.Second))
	done := make(chan error, 1)
	busy := rootClient(t, s)
	go func() {
		_, err := busy.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, oldPassword))
		done <- err
	}()
	<-g.entered
	wantError(t, "concurrent", modify(), 403, "ConflictOpt", "A conflicting operation is running. Please try again later.", false)
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	removeFault(t, s, delay)

	// 407 NotAuthorized: a RAM user denied the action, from a fleet file.
	if err := s.ApplyFleet([]byte(readerFleet)); err != nil {
		t.Fatal(err)
	}
	reader := client(t, s, readerKeyID, readerSecret)
	_, err = reader.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, newPassword))
	wantError(t, "RAM denies", err, 407, "NotAuthorized", "You are not authorized by RAM for this request.", false)
	if _, err := reader.ListClusters(ehpc.CreateListClustersRequest()); err != nil {
		t.Fatalf("what the policy allows: %v", err)
	}

	// The lockout: five wrong passwords within ten minutes (one above),
	// then even the right one is refused the same way.
	for range 4 {
		_, err = c.ModifyVisualServicePasswd(modifyRequest(id, "root", "Wrong#Pass1", newPassword))
		wantError(t, "wrong RunasUserPassword", err, 403, "IncorrectCredential", "The username or password is incorrect.", false)
	}
	wantError(t, "locked out", modify(), 403, "IncorrectCredential", "The username or password is incorrect.", false)
}

func TestVisualServiceEffect(t *testing.T) {
	s := latchkeytest.Start(t)
	c := rootClient(t, s)
	id := createCluster(t, c, 1)
	addr := net.JoinHostPort(loginAddrs(t, c, id)[0], "12016")

	if _, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, oldPassword)); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "first password", rfbtest.Login(addr, oldPassword), true)
	if _, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, newPassword)); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "new password", rfbtest.Login(addr, newPassword), true)
	rfbtest.Want(t, "old password", rfbtest.Login(addr, oldPassword), false)

	// Only CidrIp may connect: from inside the allowed /32 the login
	// works; from another loopback address the connection is refused
	// before any password is asked for.
	inside := s.EHPCLoginAddresses().Addr().As4()
	inside[3] = 250
	allowed := netip.AddrFrom4(inside)
	inside[3] = 251
	other := netip.AddrFrom4(inside)
	sv := ehpc.CreateStartVisualServiceRequest()
	sv.ClusterId, sv.CidrIp = id, allowed.String()+"/32"
	if _, err := c.StartVisualService(sv); err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.LoginFrom(addr, allowed, newPassword); err != nil {
		t.Fatalf("login from inside CidrIp: %v", err)
	}
	if err := rfbtest.LoginFrom(addr, other, newPassword); err == nil || errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("connection from outside CidrIp: got %v, want it refused", err)
	}
}

func TestVisualServiceFullLength2024(t *testing.T) {
	s := latchkeytest.Start(t, latchkeytest.WithEHPCPasswordPolicy("2024"))
	c := rootClient(t, s)
	id := createCluster(t, c, 1)
	addr := net.JoinHostPort(loginAddrs(t, c, id)[0], "12016")
	const long = "Visual#Pass-2024xyz"
	const sameFirst8 = "Visual#P-different"
	if _, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, long)); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "VeNCrypt Plain, whole password", rfbtest.LoginPlain(addr, "root", long), true)
	rfbtest.Want(t, "VeNCrypt Plain, same first 8 characters", rfbtest.LoginPlain(addr, "root", sameFirst8), false)
	// Classic VNC Authentication still logs in on the first 8 characters:
	// the trade-off README.md documents.
	rfbtest.Want(t, "VNC Authentication", rfbtest.Login(addr, long), true)

	// 2024's rule: 8–30 characters, three classes; any cluster user.
	_, err := c.ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, "Abc123"))
	wantError(t, "6 characters under 2024", err, 400, "InvalidParams", "The specified parameter Passwd is invalid.", false)
	au := ehpc.CreateAddUsersRequest()
	au.ClusterId = id
	au.User = &[]ehpc.AddUsersUser{{Name: "alice01", Password: "Alice#Pass1"}}
	if _, err := c.AddUsers(au); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyVisualServicePasswd(modifyRequest(id, "alice01", "Alice#Pass1", "Second#Visual9")); err != nil {
		t.Fatal(err)
	}
	rfbtest.Want(t, "Plain as alice01", rfbtest.LoginPlain(addr, "alice01", "Second#Visual9"), true)
}

// gate holds every injected latency of a server until the test releases
// it, whatever the latency's length (server.Config.FaultSleep): a call
// held there is inside its cluster's operation. entered receives once per
// call that reaches its latency.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (g *gate) sleep(ctx context.Context, _ time.Duration) error {
	select {
	case g.entered <- struct{}{}:
	default: // nobody counts any more
	}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startGated starts a server whose injected latencies g holds.
func startGated(t *testing.T, g *gate) *latchkeytest.Server {
	return latchkeytest.Start(t, latchkeytest.WithConfig(func(c *server.Config) { c.FaultSleep = g.sleep }))
}

// TestConcurrentCallsOnOneCluster: while one ModifyVisualServicePasswd
// is in progress on a cluster, every other call on it is refused with
// ConflictOpt, and the one in progress then succeeds.
func TestConcurrentCallsOnOneCluster(t *testing.T) {
	g := newGate()
	s := startGated(t, g)
	const n = 8
	clients := make([]*ehpc.Client, n)
	for i := range clients {
		clients[i] = rootClient(t, s) // SDKv1 clients are not safe for concurrent use
	}
	id := createCluster(t, clients[0], 1)
	delay := addFault(t, s, id, slow(time.Second)) // held by the gate
	first := make(chan error, 1)
	go func() {
		_, err := clients[0].ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, "Pass00"))
		first <- err
	}()
	<-g.entered // the first call holds the cluster's operation
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() {
			_, errs[i] = clients[i].ModifyVisualServicePasswd(modifyRequest(id, "root", rootPassword, fmt.Sprintf("Pass%02d", i)))
		})
	}
	wg.Wait()
	close(g.release)
	if err := <-first; err != nil {
		t.Fatalf("the call in progress: %v", err)
	}
	for i := 1; i < n; i++ {
		wantError(t, fmt.Sprintf("call %d", i), errs[i], 403, "ConflictOpt", "A conflicting operation is running. Please try again later.", false)
	}
	removeFault(t, s, delay)
	addr := net.JoinHostPort(loginAddrs(t, clients[0], id)[0], "12016")
	rfbtest.Want(t, "the first call's password", rfbtest.Login(addr, "Pass00"), true)
	rfbtest.Want(t, "a refused call's password", rfbtest.Login(addr, "Pass01"), false)
}

// TestConcurrentCallsOnDifferentClusters: calls on different clusters
// neither conflict nor wait for each other: every one is inside its
// cluster's operation at once before any is let go.
func TestConcurrentCallsOnDifferentClusters(t *testing.T) {
	g := newGate()
	s := startGated(t, g)
	const n = 4
	clients := make([]*ehpc.Client, n)
	ids := make([]string, n)
	for i := range n {
		clients[i] = rootClient(t, s)
		ids[i] = createCluster(t, clients[i], 1)
		addFault(t, s, ids[i], slow(time.Second))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = clients[i].ModifyVisualServicePasswd(modifyRequest(ids[i], "root", rootPassword, newPassword))
		})
	}
	for range n {
		<-g.entered
	}
	close(g.release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("cluster %d: %v", i, err)
		}
	}
}
