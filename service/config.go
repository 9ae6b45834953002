package service

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Config holds what every service needs. Zero values get defaults from
// fill: the system clock, crypto/rand, a discarding logger, and an
// authorizer that allows only account roots.
type Config struct {
	Store      core.Store
	Sealer     core.Sealer
	Hasher     core.Hasher
	Clock      core.Clock
	Rand       io.Reader
	Authorizer core.Authorizer
	Log        *slog.Logger

	// Drivers maps a driver name to its console driver; DefaultDriver
	// names the one new resources get ("sim" unless set).
	Drivers       map[string]core.ConsoleDriver
	DefaultDriver string
	// Probes are the same drivers without fault rules or metrics: a
	// password check logs in to the console itself, whatever rules are in
	// force. Nil means Drivers.
	Probes map[string]core.ConsoleDriver
	// Machines maps the name of a driver whose targets are machines that
	// run (qemu, libvirt) to its machine side, without fault rules or
	// metrics: an instance's start, stop, reboot and delete act on its
	// machine first, and a machine that cannot be reached fails the call
	// with nothing changed.
	Machines map[string]core.MachineDriver

	// Transition is how long each intermediate status lasts (Pending,
	// Starting, Stopping, creating, …) while the store holds no interval
	// (Timing); 0 makes transitions immediate. A server writes its
	// --transition there at every start.
	Transition time.Duration

	// timing keeps the interval read from the store (kindCache; fill
	// makes it).
	timing *kindCache[struct{}, time.Duration]
}

func (c *Config) fill() {
	if c.Clock == nil {
		c.Clock = core.SystemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Authorizer == nil {
		c.Authorizer = RootOnly{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DefaultDriver == "" {
		c.DefaultDriver = "sim"
	}
	if c.Probes == nil {
		c.Probes = c.Drivers
	}
	if c.timing == nil {
		c.timing = newKindCache[struct{}, time.Duration](c.Store, timingKind)
	}
}

// The transition interval is a store document, so that every replica
// sharing the store schedules with the one interval: each call that
// schedules steps reads it (Config.transition), Timing changes it. It is
// a setting of the servers, not a resource: a reset keeps it.

// timingKind is the store kind of transitionSetting.
const timingKind core.ResourceKind = "service.timing"

// transitionSetting is the transition interval in force.
type transitionSetting struct {
	Interval time.Duration
}

func (*transitionSetting) Kind() core.ResourceKind { return timingKind }
func (*transitionSetting) Key() string             { return "transition" }
func (*transitionSetting) Owner() core.AccountID   { return "" }
func (*transitionSetting) Location() core.RegionID { return "" }

// transition returns the interval in force: the store's, or
// Config.Transition when the store holds none. A call that schedules
// steps reads it in a View of its own just before the Update that
// schedules them, so a change acknowledged before the call began
// applies to it. Not in that Update: there, on PostgreSQL, the read
// would lock the document, and every scheduling Update of every replica
// would wait behind that one lock.
// On a store with core.KindVersions the interval is kept until the next
// write of it.
func (c *Config) transition(ctx context.Context) (time.Duration, error) {
	return c.timing.load(ctx, struct{}{}, func(tx core.Tx) (time.Duration, error) { return c.transitionIn(ctx, tx) })
}

// transitionIn is transition's read in tx.
func (c *Config) transitionIn(ctx context.Context, tx core.Tx) (time.Duration, error) {
	t, err := core.Get[transitionSetting](ctx, tx, (*transitionSetting)(nil).Key())
	if core.KindOf(err) == core.KindNotFound {
		return c.Transition, nil
	}
	if err != nil {
		return 0, err
	}
	return t.Interval, nil
}

// Timing reads and changes the transition interval in the store. A
// change applies to transitions scheduled afterwards, through any
// replica.
type Timing struct{ cfg Config }

// NewTiming returns the Timing of cfg's store.
func NewTiming(cfg Config) *Timing {
	cfg.fill()
	return &Timing{cfg: cfg}
}

// Transition returns the interval in force.
func (t *Timing) Transition(ctx context.Context) (time.Duration, error) {
	return t.cfg.transition(ctx)
}

// SetTransition changes the interval; negative intervals are refused
// (KindInvalid).
func (t *Timing) SetTransition(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return core.Invalid(core.ReasonInvalidParameter, "interval")
	}
	return t.cfg.Store.Update(ctx, func(tx core.Tx) error {
		return core.Put(ctx, tx, &transitionSetting{Interval: d})
	})
}

// machineAct is one call on a machine: start, stop, reboot or delete.
type machineAct func(core.MachineDriver, core.ConsoleTarget) error

// machineCall runs act on t's machine, if driver has machines, mapping a
// failure onto KindUnavailable.
func (c *Config) machineCall(driver string, t core.ConsoleTarget, act machineAct) error {
	m, ok := c.Machines[driver]
	if !ok || act == nil {
		return nil
	}
	if err := act(m, t); err != nil {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Err: err}
	}
	return nil
}

// startMachine, stopMachine, rebootMachine and deleteMachine are the
// machineActs of the products' calls.
func startMachine(ctx context.Context) machineAct {
	return func(m core.MachineDriver, t core.ConsoleTarget) error { return m.StartMachine(ctx, t) }
}

func stopMachine(ctx context.Context, force bool) machineAct {
	return func(m core.MachineDriver, t core.ConsoleTarget) error { return m.StopMachine(ctx, t, force) }
}

func rebootMachine(ctx context.Context, force bool) machineAct {
	return func(m core.MachineDriver, t core.ConsoleTarget) error { return m.RebootMachine(ctx, t, force) }
}

func deleteMachine(ctx context.Context) machineAct {
	return func(m core.MachineDriver, t core.ConsoleTarget) error { return m.DeleteMachine(ctx, t) }
}

func (c *Config) driver(name string) (core.ConsoleDriver, error) {
	if d, ok := c.Drivers[name]; ok {
		return d, nil
	}
	return nil, &core.Error{Kind: core.KindInternal, Message: "no console driver " + name}
}
