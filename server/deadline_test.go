package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// TestSlowBodyIsCut: a client that sends a body more slowly than the read
// deadline allows is answered and disconnected without sending the rest,
// on both listeners' routes.
func TestSlowBodyIsCut(t *testing.T) {
	lk := latchkeytest.Start(t, latchkeytest.WithConfig(func(c *server.Config) {
		c.RequestReadTimeout = 50 * time.Millisecond
	}))
	for _, path := range []string{"/", "/v2/instance", "/_latchkey/fleet"} {
		conn, err := net.Dial("tcp", lk.HTTPEndpoint())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nAction=", path, lk.HTTPEndpoint())
		// The hang guard only turns a server that never cuts the body
		// into a failure; the test waits for the server, not for time.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		rest, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("POST %s: the server still waits for a body sent too slowly", path)
		}
		if _, perr := http.ReadResponse(bufio.NewReader(bytes.NewReader(rest)), nil); len(rest) > 0 && perr != nil {
			t.Errorf("POST %s: the server's last words are not an HTTP response: %q", path, rest)
		}
	}
}

// TestConsoleOutlivesTheReadDeadline: with a read deadline already past
// when any handler starts, a console WebSocket still carries a login and
// a framebuffer update: the gateway lifts the deadline for its session.
func TestConsoleOutlivesTheReadDeadline(t *testing.T) {
	lk := latchkeytest.Start(t, latchkeytest.WithConfig(func(c *server.Config) {
		c.RequestReadTimeout = time.Nanosecond
	}))
	app := lk.App()
	ctx := testutil.Context(t, time.Minute)
	ids, err := app.ECS.RunInstances(ctx, app.RootCaller(), core.CreateInstanceInput{
		RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240819.vhd", InstanceType: "ecs.g7.large", IoOptimized: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[0]}
	if err := app.ECS.ModifyInstanceVncPasswd(ctx, app.RootCaller(), ref, core.NewSecret("Dl1234")); err != nil {
		t.Fatal(err)
	}
	tok, err := app.ECS.DescribeInstanceVncURL(ctx, app.RootCaller(), ref)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := gateway.Dial(ctx, app.ConsoleURL(tok.Token), lk.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, "Dl1234")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer c.Close()
	if _, err := c.Snapshot(ctx); err != nil {
		t.Fatalf("framebuffer update: %v", err)
	}
}
