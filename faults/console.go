package faults

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// ConsoleDriver is a core.ConsoleDriver whose calls pass the Injector's
// rules first. It is also a core.GuestPasswordSetter: when the wrapped
// driver sets guest passwords the call is passed on, and when it does not
// (sim: the guest password is only latchkey's stored hash) the call does
// nothing but let the rules act, so BCC's changePass can be made to fail.
type ConsoleDriver struct {
	in    *Injector
	inner core.ConsoleDriver
}

var (
	_ core.PullingConsoleDriver = (*ConsoleDriver)(nil)
	_ core.GuestPasswordSetter  = (*ConsoleDriver)(nil)
)

// ConsoleDriver wraps d. The product of each call is its target's Product
// ("ecs" or "bcc") and the resource is the target's ID.
func (in *Injector) ConsoleDriver(d core.ConsoleDriver) *ConsoleDriver {
	return &ConsoleDriver{in: in, inner: d}
}

// ConsoleDrivers wraps every driver of a name → driver map, as
// service.Config.Drivers holds them.
func (in *Injector) ConsoleDrivers(ds map[string]core.ConsoleDriver) map[string]core.ConsoleDriver {
	out := make(map[string]core.ConsoleDriver, len(ds))
	for name, d := range ds {
		out[name] = in.ConsoleDriver(d)
	}
	return out
}

// Unwrap returns the wrapped driver.
func (d *ConsoleDriver) Unwrap() core.ConsoleDriver { return d.inner }

// PullsPasswords implements core.PullingConsoleDriver: the wrapped
// driver's answer while the injector knows there is no fault rule at all
// (or ctx says so, see PreparePull); otherwise SetConsolePassword must be
// called for the rules to act (and that call refreshes what the injector
// knows).
func (d *ConsoleDriver) PullsPasswords(ctx context.Context, product string) bool {
	p, ok := d.inner.(core.PullingConsoleDriver)
	return ok && p.PullsPasswords(ctx, product) && d.in.quiet(ctx)
}

// PreparePull implements core.PullPreparer: on a store shared by
// replicas, it reads whether there is any fault rule, for the call ctx
// belongs to.
func (d *ConsoleDriver) PreparePull(ctx context.Context) context.Context {
	return d.in.prepare(ctx)
}

// SetConsolePassword implements core.ConsoleDriver.
func (d *ConsoleDriver) SetConsolePassword(ctx context.Context, t core.ConsoleTarget, pw core.Secret) error {
	if err := d.in.apply(ctx, t.Product, OpSetPassword, t.ID); err != nil {
		return err
	}
	return d.inner.SetConsolePassword(ctx, t, pw)
}

// OpenConsole implements core.ConsoleDriver.
func (d *ConsoleDriver) OpenConsole(ctx context.Context, t core.ConsoleTarget) (core.Conn, error) {
	if err := d.in.apply(ctx, t.Product, OpOpenConsole, t.ID); err != nil {
		return nil, err
	}
	return d.inner.OpenConsole(ctx, t)
}

// SetGuestPassword implements core.GuestPasswordSetter.
func (d *ConsoleDriver) SetGuestPassword(ctx context.Context, t core.ConsoleTarget, user string, pw core.Secret) error {
	if err := d.in.apply(ctx, t.Product, OpSetGuestPassword, t.ID); err != nil {
		return err
	}
	if g, ok := d.inner.(core.GuestPasswordSetter); ok {
		return g.SetGuestPassword(ctx, t, user, pw)
	}
	return nil
}
