package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/vault"
)

// startReplicas runs two latchkey replicas on one fresh PostgreSQL
// database, the second with a copy of the first's master key, as the
// README's replicas section says.
func startReplicas(t *testing.T) (a, b *testenv.Env) {
	t.Helper()
	pgURL := pgtest.Need(t).URL()
	store := testenv.WithConfig(func(c *server.Config) { c.Store = pgURL })
	a = testenv.Start(t, store)
	dirB := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dirB, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(a.DataDir, vault.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, vault.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return a, testenv.Start(t, store, testenv.WithDataDir(dirB))
}

// wantConsole fails unless pw opens (ok) or is refused by (!ok) the
// console of id through replica e.
func wantConsole(t *testing.T, e *testenv.Env, id, pw string, ok bool) {
	t.Helper()
	err := consoleLogin(t, e, e.ECS(t), id, pw)
	switch {
	case ok && err != nil:
		t.Errorf("replica %s refused the live password: %v", e.Endpoints.HTTP, err)
	case !ok && !errors.Is(err, rfb.ErrAuthFailed):
		t.Errorf("replica %s: an old password: %v, want refused", e.Endpoints.HTTP, err)
	}
}

// Two replicas on one PostgreSQL answer every console login from the
// store: a password changed through either is live on both replicas'
// consoles and the previous one is refused; a pending password made live
// by a reboot through the other replica is live on both.
func TestReplicasConsolesAgree(t *testing.T) {
	a, b := startReplicas(t)
	id := runInstance(t, a.ECS(t), "optimized")
	prev := ""
	for i, pw := range []string{"RepA01", "RepB02", "RepA03", "RepB04"} {
		via := []*testenv.Env{a, b}[i%2]
		setVNCPassword(t, via.ECS(t), id, pw)
		for _, r := range []*testenv.Env{a, b} {
			wantConsole(t, r, id, pw, true)
			if prev != "" {
				wantConsole(t, r, id, prev, false)
			}
		}
		prev = pw
	}

	legacy := runInstance(t, a.ECS(t), "none")
	setVNCPassword(t, a.ECS(t), legacy, "Leg001")
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.RegionId, reboot.InstanceId = testenv.Region, legacy
	if _, err := b.ECS(t).RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance through the other replica: %v", err)
	}
	for _, r := range []*testenv.Env{a, b} {
		wantConsole(t, r, legacy, "Leg001", true)
	}
}

// Concurrent changes of one instance through both replicas, 20 rounds:
// after each round both replicas' consoles admit the same one of the two
// passwords, and only it.
func TestReplicasConcurrentChanges(t *testing.T) {
	a, b := startReplicas(t)
	id := runInstance(t, a.ECS(t), "optimized")
	ca, cb := a.ECS(t), b.ECS(t)
	for round := range 20 {
		pws := [2]string{fmt.Sprintf("Ca%04d", round), fmt.Sprintf("Cb%04d", round)}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, c := range []*ecs.Client{ca, cb} {
			wg.Go(func() {
				req := ecs.CreateModifyInstanceVncPasswdRequest()
				req.RegionId, req.InstanceId, req.VncPassword = testenv.Region, id, pws[i]
				_, errs[i] = c.ModifyInstanceVncPasswd(req)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, replica %d: %v", round, i, err)
			}
		}
		winner := ""
		for _, pw := range pws {
			if consoleLogin(t, a, ca, id, pw) == nil {
				winner = pw
			}
		}
		if winner == "" {
			t.Fatalf("round %d: replica a's console admits neither password", round)
		}
		for _, pw := range pws {
			wantConsole(t, b, id, pw, pw == winner)
		}
	}
}

// The VNC blacklist is in the shared store: after five failed console
// logins through one replica, the sixth attempt through the other is
// refused as Xvnc refuses a blacklisted address, even with the right
// password.
func TestReplicasShareTheVNCBlacklist(t *testing.T) {
	a, b := startReplicas(t)
	id := runInstance(t, a.ECS(t), "optimized")
	setVNCPassword(t, a.ECS(t), id, "Blk123")
	for i := range 5 {
		if err := consoleLogin(t, a, a.ECS(t), id, "Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("wrong password %d through replica A: %v, want refused", i+1, err)
		}
	}
	err := consoleLogin(t, b, b.ECS(t), id, "Blk123")
	if !errors.Is(err, rfb.ErrRefused) || !strings.Contains(err.Error(), rfb.ReasonTooManyFailures) {
		t.Fatalf("sixth attempt through replica B: %v, want %q", err, rfb.ReasonTooManyFailures)
	}
}

// A signed request that one replica accepted is refused when replayed on
// the other: the nonce is in the shared store.
func TestReplicasRefuseAReplay(t *testing.T) {
	a, b := startReplicas(t)
	var rec testutil.Recorder
	c, err := ecs.NewClientWithOptions(testenv.Region, sdk.NewConfig().WithTimeout(30*time.Second),
		credentials.NewAccessKeyCredential(a.Credentials.AccessKeyID, a.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = a.Endpoints.HTTP
	c.SetTransport(&rec)
	if _, err := c.DescribeRegions(ecs.CreateDescribeRegionsRequest()); err != nil {
		t.Fatal(err)
	}
	resp, err := rec.Replay(b.Endpoints.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&body)
	if body.Code != "SignatureNonceUsed" || resp.StatusCode != 400 {
		t.Errorf("the replay on the other replica = %s %d, want SignatureNonceUsed 400", body.Code, resp.StatusCode)
	}
}

// With --public-address, console URLs name the address clients reach
// (a load balancer), and the ticket they carry opens the console through
// any replica.
func TestPublicAddressNamesConsoleURLs(t *testing.T) {
	e := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.PublicAddress = "consoles.example:443" }))
	c := e.ECS(t)
	id := runInstance(t, c, "optimized")
	setVNCPassword(t, c, id, "Pub123")
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = testenv.Region, id
	resp, err := c.DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.QueryUnescape(resp.VncUrl)
	if err != nil || !strings.HasPrefix(u, "wss://consoles.example:443/vnc/?s=") {
		t.Fatalf("VncUrl %q does not name the public address", resp.VncUrl)
	}
	// What the load balancer does: the same path, to a replica.
	local := strings.Replace(u, "consoles.example:443", e.Endpoints.HTTPS, 1)
	ctx := testutil.Context(t, 30*time.Second)
	conn, err := e.DialConsole(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.LoginConn(ctx, conn, "Pub123"); err != nil {
		t.Errorf("the console behind the public address: %v", err)
	}
}

// instanceStatus returns the status of instance id through c.
func instanceStatus(t *testing.T, c *ecs.Client, id string) string {
	t.Helper()
	req := ecs.CreateDescribeInstancesRequest()
	req.RegionId, req.InstanceIds = testenv.Region, `["`+id+`"]`
	resp, err := c.DescribeInstances(req)
	if err != nil || len(resp.Instances.Instance) != 1 {
		t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	return resp.Instances.Instance[0].Status
}

// The transition interval is the store's: set through one replica's
// internal API, the other replica reports it and schedules with it, and
// a replica that starts later sets it to its own --transition.
func TestReplicasShareTheTransitionInterval(t *testing.T) {
	a, b := startReplicas(t)
	var got struct{ Interval string }
	if err := a.Server().Admin("PUT", "transitions", map[string]string{"interval": "5m"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Server().Admin("GET", "transitions", nil, &got); err != nil || got.Interval != "5m0s" {
		t.Fatalf("the other replica's interval = %q, %v; want 5m0s", got.Interval, err)
	}
	slow := runInstance(t, b.ECS(t), "optimized")
	if st := instanceStatus(t, a.ECS(t), slow); st != "Pending" {
		t.Fatalf("an instance created through the other replica is %s, want Pending for five minutes", st)
	}

	if err := b.Server().Admin("PUT", "transitions", map[string]string{"interval": "0s"}, nil); err != nil {
		t.Fatal(err)
	}
	fast := runInstance(t, a.ECS(t), "optimized")
	if st := instanceStatus(t, b.ECS(t), fast); st != "Running" {
		t.Fatalf("with the interval set to 0 through the other replica: %s, want Running", st)
	}

	if err := a.Server().Admin("PUT", "transitions", map[string]string{"interval": "5m"}, nil); err != nil {
		t.Fatal(err)
	}
	b.Restart(t)
	if err := a.Server().Admin("GET", "transitions", nil, &got); err != nil || got.Interval != "0s" {
		t.Fatalf("after a replica restarted with --transition 0: %q, %v; want 0s", got.Interval, err)
	}
}
