//go:build unix

package qemu_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// TestGatewayBlacklistsQEMUConsoles: QEMU answers the console's RFB
// handshake itself and has no blacklist; the gateway reads QEMU's verdict
// and refuses the address after five failures, as Xvnc would.
func TestGatewayBlacklistsQEMUConsoles(t *testing.T) {
	bin := testutil.Program(t, qemu.DefaultBinary, "apt-get install qemu-system-x86")
	// Console sockets live in the data directory, and a unix socket path
	// holds at most 107 bytes.
	dir, err := os.MkdirTemp("", "lkqb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	lk := latchkeytest.Start(t, latchkeytest.WithDataDir(dir), latchkeytest.WithConfig(func(c *server.Config) {
		c.ConsoleDriver, c.QEMUBinary = server.ConsoleDriverQEMU, bin
	}))
	app := lk.App()
	ctx := testutil.Context(t, time.Minute)
	ids, err := app.ECS.RunInstances(ctx, app.RootCaller(), core.CreateInstanceInput{
		RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240528.vhd", InstanceType: "ecs.g7.large", IoOptimized: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[0]}
	if err := app.ECS.ModifyInstanceVncPasswd(ctx, app.RootCaller(), ref, core.NewSecret("Qemu12")); err != nil {
		t.Fatal(err)
	}
	login := func(pw string) error {
		tok, err := app.ECS.DescribeInstanceVncURL(ctx, app.RootCaller(), ref)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := gateway.Dial(ctx, app.ConsoleURL(tok.Token), lk.HTTPClient())
		if err != nil {
			t.Fatalf("open the console: %v", err)
		}
		defer conn.Close()
		c, err := rfb.Login(ctx, conn, pw)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := login("Qemu12"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for i := range blacklist.DefaultThreshold {
		var ae *rfb.AuthError
		// QEMU 7.2 counts the reason's terminating NUL in its length.
		if err := login("Wrong1"); !errors.As(err, &ae) || strings.TrimRight(ae.Reason, "\x00") != "Authentication failed" {
			t.Fatalf("wrong password %d: %v (reason %q), want QEMU's refusal", i+1, err, ae.Reason)
		}
	}
	err = login("Qemu12")
	if !errors.Is(err, rfb.ErrRefused) || !strings.Contains(err.Error(), rfb.ReasonTooManyFailures) {
		t.Fatalf("sixth attempt: %v, want %q", err, rfb.ReasonTooManyFailures)
	}
}
