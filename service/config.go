package service

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync/atomic"
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
	// Starting, Stopping, creating, …); 0 makes transitions immediate.
	// It is the initial value of Timing when Timing is nil.
	Transition time.Duration
	// Timing holds the interval in use; services built from one Config
	// share it, so it can be changed while latchkey runs.
	Timing *Timing
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
	if c.Timing == nil {
		c.Timing = NewTiming(c.Transition)
	}
}

// transition returns the interval in use now.
func (c *Config) transition() time.Duration { return c.Timing.Transition() }

// Timing is the transition interval, safe to read and change
// concurrently. A change applies to transitions scheduled afterwards.
type Timing struct{ d atomic.Int64 }

// NewTiming returns a Timing set to d.
func NewTiming(d time.Duration) *Timing {
	t := &Timing{}
	t.d.Store(int64(d))
	return t
}

// Transition returns the interval.
func (t *Timing) Transition() time.Duration { return time.Duration(t.d.Load()) }

// SetTransition changes the interval; negative intervals are refused.
func (t *Timing) SetTransition(d time.Duration) error {
	if d < 0 {
		return core.Invalid(core.ReasonInvalidParameter, "interval")
	}
	t.d.Store(int64(d))
	return nil
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
