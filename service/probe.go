package service

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// probeTimeout bounds one login attempt of a password check on a console
// or visual service.
const probeTimeout = 5 * time.Second

// consoleLogin checks pw by logging in to the target's console through
// its driver without fault rules (Config.Probes): the check looks at the
// console, not at the path to it. When the driver's stream is not a
// network connection, or the driver is unknown, the stored password
// (sealed under sealCtx) is compared instead, if there is one.
func (c *Config) consoleLogin(ctx context.Context, driver string, t core.ConsoleTarget, stored core.Sealed, sealCtx string, pw core.Secret) (bool, error) {
	d := c.Probes[driver]
	if d == nil {
		if stored != nil {
			return sealedMatches(c.Sealer, stored, sealCtx, pw), nil
		}
		return false, &core.Error{Kind: core.KindUnavailable, Message: "the console driver " + quote(driver) + " is not available"}
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := d.OpenConsole(ctx, t)
	if err != nil {
		c.Log.Warn("password check: console unreachable", "target", t.ID, "err", err)
		return false, unreachable("the console cannot be reached")
	}
	defer conn.Close()
	nc, ok := conn.(net.Conn)
	if !ok {
		if stored != nil {
			return sealedMatches(c.Sealer, stored, sealCtx, pw), nil
		}
		return false, &core.Error{Kind: core.KindUnavailable, Message: "a console login through driver " + quote(driver) + " is not available"}
	}
	cl, err := rfb.Login(ctx, nc, pw.Reveal())
	switch {
	case err == nil:
		cl.Close()
		return true, nil
	case errors.Is(err, rfb.ErrAuthFailed):
		return false, nil
	}
	return false, unreachable("the console did not complete a login")
}

// visualLogin logs in to a visual service listening at addr, with VNC
// authentication or, under auth Plain, VeNCrypt Plain as user. probed is
// false when nothing answered a login (no listener, refused host).
func visualLogin(ctx context.Context, addr netip.AddrPort, auth core.VisualAuth, user string, pw core.Secret) (match, probed bool) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return false, false
	}
	defer conn.Close()
	var c *rfb.ClientConn
	if auth == core.VisualAuthPlain {
		c, err = rfb.LoginPlain(ctx, conn, user, pw.Reveal())
	} else {
		c, err = rfb.Login(ctx, conn, pw.Reveal())
	}
	switch {
	case err == nil:
		c.Close()
		return true, true
	case errors.Is(err, rfb.ErrAuthFailed):
		return false, true
	}
	return false, false
}
