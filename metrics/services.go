package metrics

import (
	"context"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/core"
)

// Result is the result label of an outcome: "Success", or the core reason
// of the error ("ConsoleUnreachable", "PasswordLength", …), or its kind
// when it has no reason ("not_found", …).
func Result(err error) string {
	if err == nil {
		return "Success"
	}
	e := core.AsError(err)
	if e.Reason != "" {
		return string(e.Reason)
	}
	return strings.ReplaceAll(e.Kind.String(), " ", "_")
}

// ECS wraps an ECS service so that every ModifyInstanceVncPasswd is
// counted as a password change of product "ecs".
func ECS(s core.ECS, r PasswordRecorder) core.ECS { return ecsCounter{ECS: s, r: r} }

type ecsCounter struct {
	core.ECS
	r PasswordRecorder
}

func (e ecsCounter) ModifyInstanceVncPasswd(ctx context.Context, c core.Caller, ref core.InstanceRef, pw core.Secret) error {
	err := e.ECS.ModifyInstanceVncPasswd(ctx, c, ref, pw)
	e.r.PasswordChange("ecs", Result(err))
	return err
}

// Consoles wraps the console-ticket service so that a refused ticket
// (unknown, used, expired, or a console that is not running) counts as a
// refused console connection. Connections that reach a driver are counted
// by ConsoleDriver.
func Consoles(c core.Consoles, r ConsoleRecorder) core.Consoles { return consolesCounter{c, r} }

type consolesCounter struct {
	inner core.Consoles
	r     ConsoleRecorder
}

func (c consolesCounter) Redeem(ctx context.Context, token string) (core.Conn, error) {
	conn, err := c.inner.Redeem(ctx, token)
	if err != nil && core.KindOf(err) != core.KindUnavailable && core.KindOf(err) != core.KindInternal {
		c.r.ConsoleConnection("unknown", "refused")
	}
	return conn, err
}

// ConsoleDriver wraps a console driver so that each console it opens
// counts as a connection of the target's product ("opened", and open until
// closed) or a failed one. It is a core.GuestPasswordSetter that passes
// the call on when d is one, and does nothing otherwise, as a driver
// without guest passwords would (latchkey keeps only the hash).
func ConsoleDriver(d core.ConsoleDriver, r ConsoleRecorder) *CountedDriver {
	return &CountedDriver{inner: d, r: r}
}

// ConsoleDrivers wraps every driver of a name → driver map.
func ConsoleDrivers(ds map[string]core.ConsoleDriver, r ConsoleRecorder) map[string]core.ConsoleDriver {
	out := make(map[string]core.ConsoleDriver, len(ds))
	for name, d := range ds {
		out[name] = ConsoleDriver(d, r)
	}
	return out
}

// CountedDriver is the driver ConsoleDriver returns.
type CountedDriver struct {
	inner core.ConsoleDriver
	r     ConsoleRecorder
}

var (
	_ core.PullingConsoleDriver = (*CountedDriver)(nil)
	_ core.GuestPasswordSetter  = (*CountedDriver)(nil)
)

// SetConsolePassword implements core.ConsoleDriver.
func (d *CountedDriver) SetConsolePassword(ctx context.Context, t core.ConsoleTarget, pw core.Secret) error {
	return d.inner.SetConsolePassword(ctx, t, pw)
}

// OpenConsole implements core.ConsoleDriver.
func (d *CountedDriver) OpenConsole(ctx context.Context, t core.ConsoleTarget) (core.Conn, error) {
	conn, err := d.inner.OpenConsole(ctx, t)
	if err != nil {
		d.r.ConsoleConnection(t.Product, "failed")
		return nil, err
	}
	return &countedConn{Conn: conn, closed: d.r.ConsoleConnection(t.Product, "opened")}, nil
}

// SetGuestPassword implements core.GuestPasswordSetter.
func (d *CountedDriver) SetGuestPassword(ctx context.Context, t core.ConsoleTarget, user string, pw core.Secret) error {
	if g, ok := d.inner.(core.GuestPasswordSetter); ok {
		return g.SetGuestPassword(ctx, t, user, pw)
	}
	return nil
}

// PullsPasswords implements core.PullingConsoleDriver: counting adds
// nothing to SetConsolePassword, so it is the wrapped driver's answer.
func (d *CountedDriver) PullsPasswords(ctx context.Context, product string) bool {
	p, ok := d.inner.(core.PullingConsoleDriver)
	return ok && p.PullsPasswords(ctx, product)
}

// PreparePull implements core.PullPreparer for the wrapped driver.
func (d *CountedDriver) PreparePull(ctx context.Context) context.Context {
	if p, ok := d.inner.(core.PullPreparer); ok {
		return p.PreparePull(ctx)
	}
	return ctx
}

// Unwrap returns the wrapped driver.
func (d *CountedDriver) Unwrap() core.ConsoleDriver { return d.inner }

// countedConn marks its connection closed on the first Close.
type countedConn struct {
	core.Conn
	once   sync.Once
	closed func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}
