package main

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
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

// Two replica binaries on one PostgreSQL; one is killed with SIGKILL
// right after a change it acknowledged: the other serves the console with
// that password at once, refuses the old one, and takes the next change.
func TestReplicaKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pgURL := pgtest.Need(t).URL()
	bin := filepath.Join(t.TempDir(), "latchkey")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	a.exited <- nil

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
