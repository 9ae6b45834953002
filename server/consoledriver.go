package server

import (
	"fmt"
	"path/filepath"

	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/core"
)

// The console drivers `latchkey serve --console-driver` chooses between
// for new ECS instances (PRODUCT.md §5). Both are always registered, so a
// fleet file may put single instances on either (driver: qemu).
const (
	ConsoleDriverSim  = "sim"
	ConsoleDriverQEMU = "qemu"
)

// DefaultQEMUMachine is the machine a console's QEMU emulates unless
// --qemu-machine says otherwise: none, a VNC server and a monitor only.
const DefaultQEMUMachine = string(qemu.MachineNone)

// QEMUStateDir is the qemu driver's directory in the data directory: a
// VNC socket, a pidfile and a QEMU log per console.
const QEMUStateDir = "qemu"

// longestECSConsole is the file name of an ECS console's VNC socket with
// the longest instance id ("i-" and 20 characters).
const longestECSConsole = "ecs-i-0123456789abcdefghij.vnc"

// validateConsoleDriver checks --console-driver, --qemu-binary and
// --qemu-machine. Choosing qemu needs a QEMU that can be run now and a
// data directory short enough for unix socket paths.
func (c *Config) validateConsoleDriver() error {
	switch c.ConsoleDriver {
	case "", ConsoleDriverSim:
	case ConsoleDriverQEMU:
		if _, err := qemu.LookPath(c.QEMUBinary); err != nil {
			return fmt.Errorf("--console-driver qemu: %w (install qemu-system-x86, or point --qemu-binary at QEMU)", err)
		}
		dir, err := filepath.Abs(filepath.Join(c.DataDir, QEMUStateDir))
		if err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
		// A unix socket path holds at most 107 bytes.
		if p := filepath.Join(dir, longestECSConsole); len(p) > 107 {
			return fmt.Errorf("--console-driver qemu: console sockets such as %s would be longer than the 107 bytes a unix socket path holds; use a shorter --data-dir", p)
		}
	default:
		return fmt.Errorf("--console-driver %q: want %s or %s", c.ConsoleDriver, ConsoleDriverSim, ConsoleDriverQEMU)
	}
	switch qemu.Machine(c.QEMUMachine) {
	case "", qemu.MachineNone, qemu.MachinePC:
	default:
		return fmt.Errorf("--qemu-machine %q: want %s or %s", c.QEMUMachine, qemu.MachineNone, qemu.MachinePC)
	}
	return nil
}

// addQEMUDriver registers the qemu console driver, over DATA_DIR/qemu, in
// drivers and has a closer stop its QEMU processes at shutdown. It starts
// no process: a console's QEMU starts when it is first used (at the
// latest when its console opens, taking the store's password). It is
// registered even when QEMU is not installed, so that instances the store
// puts on it answer InstanceNotReady rather than failing as internal
// errors.
func (a *App) addQEMUDriver(cfg Config, drivers map[string]core.ConsoleDriver) error {
	d, err := qemu.New(qemu.Config{
		Dir:     filepath.Join(cfg.DataDir, QEMUStateDir),
		Binary:  cfg.QEMUBinary,
		Machine: qemu.Machine(cfg.QEMUMachine),
		Log:     cfg.Log.With("component", "qemu"),
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, d.Close)
	drivers[ConsoleDriverQEMU] = d
	return nil
}

// ecsDefaultDriver is the driver new ECS instances get. BCC instances
// stay on sim whatever --console-driver says: their changePass sets the
// guest's administrator password, which the qemu driver cannot do yet (no
// qemu-guest-agent), and a QEMU console that never gets a VNC password
// admits nobody.
func (c *Config) ecsDefaultDriver() string {
	if c.ConsoleDriver == "" {
		return ConsoleDriverSim
	}
	return c.ConsoleDriver
}
