package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/vault"
)

// replicaProcess is one `latchkey serve` binary of a replica set.
type replicaProcess struct {
	dir    string
	cmd    *exec.Cmd
	exited chan error
	stderr *testutil.Buffer
}

func startReplica(t *testing.T, bin, dir, store string) *replicaProcess {
	t.Helper()
	r := &replicaProcess{dir: dir, exited: make(chan error, 1), stderr: new(testutil.Buffer)}
	r.cmd = exec.Command(bin, append(serveArgs(dir), "--store", store)...)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.exited
		r.exited <- nil
	})
	waitReady(t, dir, r.exited, r.stderr.String)
	return r
}

// console logs in to instance id's console through the replica serving
// dir, with a fresh DescribeInstanceVncUrl ticket.
func console(t *testing.T, dir, id, pw string) error {
	t.Helper()
	c := rootECS(t, dir)
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = "cn-hangzhou", id
	resp, err := c.DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	u, err := url.QueryUnescape(resp.VncUrl)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := gateway.Dial(ctx, u, noProxy(pool))
	if err != nil {
		t.Fatalf("open the console: %v", err)
	}
	cl, err := rfb.Login(ctx, conn, pw)
	if err == nil {
		cl.Close()
	}
	return err
}

// ehpc runs an E-HPC 2018-04-12 action through the replica serving dir
// with the official SDK's CommonRequest, and returns the decoded answer.
func ehpc(t *testing.T, dir, action string, params map[string]string) map[string]any {
	t.Helper()
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := server.ReadEndpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sdk.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = "GET", "http", eps.HTTP
	req.Product, req.Version, req.ApiName = "EHPC", "2018-04-12", action
	for k, v := range params {
		req.QueryParams[k] = v
	}
	resp, err := c.ProcessCommonRequest(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

// visualPassword sets the visual-service password of cluster through the
// replica serving dir.
func visualPassword(t *testing.T, dir, cluster, pw string) {
	t.Helper()
	out := ehpc(t, dir, "ModifyVisualServicePasswd", map[string]string{
		"ClusterId": cluster, "RunasUser": "root", "RunasUserPassword": "Root#Pass1", "Passwd": pw,
	})
	if out["Message"] != "Service started." {
		t.Fatalf("ModifyVisualServicePasswd = %v", out["Message"])
	}
}

// Two replica binaries on one PostgreSQL; the first, which serves the sim
// visual listeners, is killed with SIGKILL right after changes it
// acknowledged: the other serves the console with the last password at
// once and refuses the old one, takes the visual listeners over on the
// same addresses with the current password (the old one refused), and
// takes the next changes.
func TestReplicaKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pgURL := pgtest.Need(t).URL()
	bin := buildLatchkey(t)
	dirA := filepath.Join(t.TempDir(), "a")
	a := startReplica(t, bin, dirA, pgURL)
	dirB := filepath.Join(t.TempDir(), "b")
	if err := os.MkdirAll(dirB, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dirA, vault.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, vault.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	startReplica(t, bin, dirB, pgURL)

	ca := rootECS(t, dirA)
	run := ecs.CreateRunInstancesRequest()
	run.RegionId, run.ImageId, run.InstanceType, run.IoOptimized = "cn-hangzhou", "aliyun_3_x64_20G_alibase_20240819.vhd", "ecs.g7.large", "optimized"
	run.Amount = requests.NewInteger(1)
	created, err := ca.RunInstances(run)
	if err != nil {
		t.Fatal(err)
	}
	id := created.InstanceIdSets.InstanceIdSet[0]
	modify := func(c *ecs.Client, pw string) {
		t.Helper()
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, pw
		if _, err := c.ModifyInstanceVncPasswd(req); err != nil {
			t.Fatalf("ModifyInstanceVncPasswd: %v", err)
		}
	}
	modify(ca, "Kil001")
	modify(ca, "Kil002")

	out := ehpc(t, dirA, "CreateCluster", map[string]string{
		"Name": "hpc-killed", "ZoneId": "cn-hangzhou-b", "OsTag": "CentOS_7.6_64",
		"EcsOrder.Manager.Count": "1", "EcsOrder.Manager.InstanceType": "ecs.n1.medium",
		"EcsOrder.Compute.Count": "1", "EcsOrder.Compute.InstanceType": "ecs.n1.medium",
		"EcsOrder.Login.Count": "2", "EcsOrder.Login.InstanceType": "ecs.n1.medium",
		"Password": "Root#Pass1", "RemoteVisEnable": "true", "VpcId": "vpc-test",
	})
	cluster, _ := out["ClusterId"].(string)
	nodes := ehpc(t, dirB, "ListNodes", map[string]string{"ClusterId": cluster, "Role": "Login"})
	var addrs []string
	for _, n := range nodes["Nodes"].(map[string]any)["NodeInfo"].([]any) {
		addrs = append(addrs, net.JoinHostPort(n.(map[string]any)["PublicIpAddress"].(string), "12016"))
	}
	visualPassword(t, dirB, cluster, "Vis001")
	visualPassword(t, dirA, cluster, "Vis002")
	for _, addr := range addrs {
		rfbtest.AwaitLogin(t, addr, "Vis002")
	}

	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-a.exited
	a.exited <- nil
	for _, addr := range addrs {
		rfbtest.AwaitLogin(t, addr, "Vis002")
	}
	t.Logf("the surviving replica serves the visual services %v after the kill", time.Since(killed))
	for _, addr := range addrs {
		rfbtest.Want(t, "the replaced visual password after the takeover", rfbtest.Login(addr, "Vis001"), false)
	}
	visualPassword(t, dirB, cluster, "Vis003")
	for _, addr := range addrs {
		rfbtest.Want(t, "a visual change through the surviving replica", rfbtest.Login(addr, "Vis003"), true)
	}

	if err := console(t, dirB, id, "Kil002"); err != nil {
		t.Errorf("after the kill, the other replica's console with the last acknowledged password: %v", err)
	}
	if err := console(t, dirB, id, "Kil001"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("after the kill, the other replica's console with the old password: %v, want refused", err)
	}
	cb := rootECS(t, dirB)
	modify(cb, "Kil003")
	if err := console(t, dirB, id, "Kil003"); err != nil {
		t.Errorf("a change through the surviving replica: %v", err)
	}
}
