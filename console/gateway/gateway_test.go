package gateway_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
)

// env is a whole latchkey with one Running, I/O optimized instance whose
// console password is Gw1234.
type env struct {
	lk *latchkeytest.Server
	id core.InstanceID
}

const fleet = `
accounts:
  - id: root
    ecs:
      - name: gw-1
        region: cn-hangzhou
        io_optimized: true
        status: Running
        vnc_password: Gw1234
`

func newEnv(t *testing.T) *env {
	t.Helper()
	lk := latchkeytest.Start(t, latchkeytest.WithFleet([]byte(fleet)))
	var out struct{ Resources []struct{ ID string } }
	if err := lk.Admin("GET", "resources?kind=ecs.instance&name=gw-1", nil, &out); err != nil || len(out.Resources) != 1 {
		t.Fatalf("the fleet's instance: %v, %v", out, err)
	}
	return &env{lk: lk, id: core.InstanceID(out.Resources[0].ID)}
}

// vncURL issues a ticket and returns the console URL, percent-encoded as
// DescribeInstanceVncUrl returns it.
func (e *env) vncURL(t *testing.T) string {
	t.Helper()
	app := e.lk.App()
	tok, err := app.ECS.DescribeInstanceVncURL(context.Background(), app.RootCaller(), core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: e.id})
	if err != nil {
		t.Fatal(err)
	}
	return url.QueryEscape(app.ConsoleURL(tok.Token))
}

func (e *env) dial(t *testing.T, u string) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return gateway.Dial(ctx, u, e.lk.HTTPClient())
}

func TestGatewayLoginWithLivePassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	conn, err := e.dial(t, e.vncURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := rfb.Login(ctx, conn, "Gw1234")
	if err != nil {
		t.Fatalf("login with the live password: %v", err)
	}
	if c.Name() != string(e.id) {
		t.Fatalf("desktop name %q, want the instance id", c.Name())
	}
	if _, err := c.Snapshot(ctx); err != nil {
		t.Fatalf("framebuffer update: %v", err)
	}
	c.Close()

	conn, err = e.dial(t, e.vncURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := rfb.Login(ctx, conn, "Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("login with a wrong password: got %v, want authentication failure", err)
	}
}

func TestGatewayRefusesUsedAndUnknownTickets(t *testing.T) {
	e := newEnv(t)
	u := e.vncURL(t)
	conn, err := e.dial(t, u)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := e.dial(t, u); err == nil {
		t.Fatal("a used ticket opened the console again")
	}
	if _, err := e.dial(t, "wss://"+e.lk.HTTPSEndpoint()+"/vnc/?s=nosuchticket"); err == nil {
		t.Fatal("an unknown ticket opened a console")
	}
}

// TestVNCSnapshotThroughRelay drives a real VNC client program: vncsnapshot
// connects over TCP to a relay that opens the console through a fresh
// DescribeInstanceVncUrl ticket per connection.
func TestVNCSnapshotThroughRelay(t *testing.T) {
	bin := testutil.Program(t, "vncsnapshot", "apt-get install vncsnapshot")
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gateway.Relay(ctx, ln, func(ctx context.Context) (net.Conn, error) {
		return gateway.Dial(ctx, e.vncURL(t), e.lk.HTTPClient())
	})
	dir := t.TempDir()
	snap := func(pw string) error {
		pwFile := filepath.Join(dir, "passwd")
		if err := os.WriteFile(pwFile, rfb.PasswdFile(pw), 0o600); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "snap.jpg")
		os.Remove(out)
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		port := ln.Addr().(*net.TCPAddr).Port
		cmd := exec.CommandContext(cctx, bin, "-quiet", "-allowblank", "-encodings", "raw", "-passwd", pwFile, "127.0.0.1::"+strconv.Itoa(port), out)
		if err := cmd.Run(); err != nil {
			return err
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
			return errors.New("no snapshot written")
		}
		return nil
	}
	if err := snap("Gw1234"); err != nil {
		t.Fatalf("vncsnapshot with the live password: %v", err)
	}
	if err := snap("Wrong1"); err == nil {
		t.Fatal("vncsnapshot logged in with a wrong password")
	}
}

// TestShutdownEndsConsoleSessions: when latchkey shuts down, open console
// sessions are closed once the in-flight requests are drained, rather
// than left running.
func TestShutdownEndsConsoleSessions(t *testing.T) {
	e := newEnv(t)
	conn, err := e.dial(t, e.vncURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := rfb.Login(context.Background(), conn, "Gw1234")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer c.Close()
	if err := e.lk.Stop(); err != nil {
		t.Fatal(err)
	}
	// The console sends nothing unasked, so a read returns only when the
	// session ends. The generous bound only keeps a failure from hanging.
	ended := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		ended <- err
	}()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("console sent data after shutdown instead of closing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("console session still open 30 seconds after shutdown")
	}
}
