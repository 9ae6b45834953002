package sim

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

func target(t *testing.T, port int) core.VisualNode {
	t.Helper()
	return core.VisualNode{
		ClusterID: "ehpc-hz-test000001", NodeID: "i-bptest", HostName: "login0",
		Address: netip.MustParseAddr("127.0.0.1"), Port: port,
		CIDR: netip.MustParsePrefix("0.0.0.0/0"), Auth: core.VisualAuthVNC, PlainUser: "root",
	}
}

func TestStartSetStop(t *testing.T) {
	d := New()
	defer d.Close()
	ctx := context.Background()
	tg := target(t, testutil.FreePort(t))
	addr := netip.AddrPortFrom(tg.Address, uint16(tg.Port)).String()
	if err := d.StartVisual(ctx, tg, core.NewSecret("Abc123")); err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.Login(addr, "Abc123"); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := d.SetVisualPassword(ctx, tg, core.NewSecret("Xyz789")); err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.Login(addr, "Abc123"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("old password: %v", err)
	}
	if err := d.SetVisualPassword(ctx, tg, core.Secret{}); core.ReasonOf(err) != core.ReasonExecFailed {
		t.Fatalf("empty password: %v", err)
	}
	if err := d.StopVisual(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if err := rfbtest.Login(addr, "Xyz789"); err == nil || errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("stopped service: %v", err)
	}
	if err := d.StopVisual(ctx, tg); err != nil {
		t.Fatalf("stopping twice: %v", err)
	}
}

func TestBusyPortIsExecFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := New()
	defer d.Close()
	err = d.StartVisual(context.Background(), target(t, ln.Addr().(*net.TCPAddr).Port), core.NewSecret("Abc123"))
	if e := core.AsError(err); e.Reason != core.ReasonExecFailed || !strings.HasPrefix(e.Message, "vncserver") {
		t.Fatalf("busy port: %v", err)
	}
}
