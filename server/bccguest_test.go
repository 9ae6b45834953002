package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestBCCGuestLoginAfterRestart: the sim BCC guest checks its
// administrator's login against the stored hash, so the password set
// through bce-sdk-go's changePass opens its console (VeNCrypt Plain, as
// root or administrator, through the gateway) after a restart of
// latchkey on the same data directory, and the previous one does not;
// the gateway counts those failures for the blacklist. VNC
// Authentication takes the password only until the restart.
func TestBCCGuestLoginAfterRestart(t *testing.T) {
	e := testenv.Start(t)
	res, err := e.BCC(t).CreateInstance(&api.CreateInstanceArgs{
		ImageId: "m-Z1TCx0Zv", CpuCount: 1, MemoryCapacityInGB: 2, AdminPass: "Init1al!pw",
	})
	if err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}
	id := res.InstanceIds[0]
	if _, err := e.BCC(t).ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: "N3w!pass9"}); err != nil {
		t.Fatalf("ChangeInstancePass: %v", err)
	}
	login := func(user, pw string) error {
		t.Helper()
		vnc, err := e.BCC(t).GetInstanceVNC(id)
		if err != nil {
			t.Fatalf("GetInstanceVNC: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := e.DialConsole(ctx, vnc.VNCUrl)
		if err != nil {
			t.Fatalf("open the console: %v", err)
		}
		defer conn.Close()
		var c *rfb.ClientConn
		if user == "" {
			c, err = rfb.Login(ctx, conn, pw)
		} else {
			c, err = rfb.LoginPlain(ctx, conn, user, pw)
		}
		if err == nil {
			c.Close()
		}
		return err
	}
	// Before the restart VNC Authentication takes the password it was
	// given at changePass.
	if err := login("", "N3w!pass9"); err != nil {
		t.Fatalf("VNC Authentication before the restart: %v", err)
	}
	e.Restart(t)

	for _, user := range []string{"root", "administrator"} {
		if err := login(user, "N3w!pass9"); err != nil {
			t.Errorf("%s with the password set before the restart: %v", user, err)
		}
	}
	for _, c := range []struct{ user, pw string }{{"root", "Init1al!pw"}, {"guest", "N3w!pass9"}, {"root", "N3w!pass"}} {
		if err := login(c.user, c.pw); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Errorf("%s with a password that is not the administrator's: %v, want refused", c.user, err)
		}
	}
	// VNC Authentication needs the password itself, never stored: after
	// the restart it waits for the next changePass.
	if err := login("", "N3w!pass9"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("VNC Authentication after the restart: %v, want refused", err)
	}
	// The gateway follows VeNCrypt Plain to its verdict: with one more
	// failure the source has failed five times, and is refused.
	if err := login("root", "Wr0ng!pass"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("a wrong password: %v, want refused", err)
	}
	if err := login("root", "N3w!pass9"); !errors.Is(err, rfb.ErrRefused) || !strings.Contains(err.Error(), rfb.ReasonTooManyFailures) {
		t.Fatalf("after five failed Plain logins: %v, want %q", err, rfb.ReasonTooManyFailures)
	}
}
