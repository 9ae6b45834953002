package gateway_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
)

type env struct {
	stop   context.CancelFunc // ends the server's base context, as a shutdown does
	ecs    *service.ECS
	srv    *httptest.Server
	caller core.Caller
	id     core.InstanceID
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := vault.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg := service.Config{Store: st, Sealer: sealer, Drivers: map[string]core.ConsoleDriver{"sim": sim.New()}}
	e := &env{caller: core.Caller{Principal: core.Principal{AccountID: "1234567890123456"}}}
	e.ecs = service.NewECS(cfg, catalog.NewAlibaba())
	consoles := service.NewConsoles(cfg, map[string]service.ConsoleSource{"ecs": e.ecs})
	mux := http.NewServeMux()
	mux.Handle("/vnc/", &gateway.Handler{Consoles: consoles})
	e.srv = httptest.NewUnstartedServer(mux)
	var base context.Context
	base, e.stop = context.WithCancel(context.Background())
	e.srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.stop)

	ids, err := e.ecs.RunInstances(ctx, e.caller, core.CreateInstanceInput{RegionID: "cn-hangzhou", ImageID: "img", InstanceType: "ecs.g7.large", IoOptimized: true})
	if err != nil {
		t.Fatal(err)
	}
	e.id = ids[0]
	if err := e.ecs.ModifyInstanceVncPasswd(ctx, e.caller, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: e.id}, core.NewSecret("Gw1234")); err != nil {
		t.Fatal(err)
	}
	return e
}

// vncURL issues a ticket and returns the console URL, percent-encoded as
// DescribeInstanceVncUrl returns it.
func (e *env) vncURL(t *testing.T) string {
	t.Helper()
	tok, err := e.ecs.DescribeInstanceVncURL(context.Background(), e.caller, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: e.id})
	if err != nil {
		t.Fatal(err)
	}
	raw := "wss://" + strings.TrimPrefix(e.srv.URL, "https://") + "/vnc/?s=" + tok.Token
	return url.QueryEscape(raw)
}

func (e *env) dial(t *testing.T, u string) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return gateway.Dial(ctx, u, e.srv.Client())
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
	if _, err := e.dial(t, "wss://"+strings.TrimPrefix(e.srv.URL, "https://")+"/vnc/?s=nosuchticket"); err == nil {
		t.Fatal("an unknown ticket opened a console")
	}
}

// TestVNCSnapshotThroughRelay drives a real VNC client program: vncsnapshot
// connects over TCP to a relay that opens the console through a fresh
// DescribeInstanceVncUrl ticket per connection.
func TestVNCSnapshotThroughRelay(t *testing.T) {
	bin, err := exec.LookPath("vncsnapshot")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("vncsnapshot is not installed")
		}
		t.Fatal("vncsnapshot is required in CI")
	}
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gateway.Relay(ctx, ln, func(ctx context.Context) (net.Conn, error) {
		return gateway.Dial(ctx, e.vncURL(t), e.srv.Client())
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

// TestShutdownEndsConsoleSessions: when the server's base context ends (as
// latchkey's shutdown does after draining requests), open console sessions
// are closed rather than left running.
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
	e.stop()
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
