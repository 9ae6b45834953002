package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/console/libvirt"
	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/guestimage"
)

// The console drivers `latchkey serve --console-driver` chooses between
// for new ECS instances (PRODUCT.md §5). sim and qemu are always
// registered, so a fleet file may put single instances on either (driver:
// qemu); libvirt is registered when --libvirt-hosts names a hosts file.
const (
	ConsoleDriverSim     = "sim"
	ConsoleDriverQEMU    = "qemu"
	ConsoleDriverLibvirt = "libvirt"
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
	case ConsoleDriverLibvirt:
		if c.LibvirtHosts == "" {
			return fmt.Errorf("--console-driver libvirt needs --libvirt-hosts FILE")
		}
	default:
		return fmt.Errorf("--console-driver %q: want %s, %s or %s", c.ConsoleDriver, ConsoleDriverSim, ConsoleDriverQEMU, ConsoleDriverLibvirt)
	}
	if c.QEMUGuest != "" {
		for _, f := range []string{"vmlinuz", "initramfs.gz"} {
			if _, err := os.Stat(filepath.Join(c.QEMUGuest, f)); err != nil {
				return fmt.Errorf("--qemu-guest: %w (build the guest with internal/guestimage/build.sh DIR)", err)
			}
		}
	}
	if c.LibvirtHosts != "" {
		if _, err := libvirt.ReadHostsFile(c.LibvirtHosts); err != nil {
			return fmt.Errorf("--libvirt-hosts: %w", err)
		}
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
	var guest *qemu.Guest
	if cfg.QEMUGuest != "" {
		dir, err := filepath.Abs(cfg.QEMUGuest)
		if err != nil {
			return err
		}
		guest = &qemu.Guest{Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initramfs.gz"), Cmdline: guestimage.Cmdline}
	}
	d, err := qemu.New(qemu.Config{
		Dir:     filepath.Join(cfg.DataDir, QEMUStateDir),
		Binary:  cfg.QEMUBinary,
		Machine: qemu.Machine(cfg.QEMUMachine),
		Guest:   guest,
		Log:     cfg.Log.With("component", "qemu"),
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, d.Close)
	drivers[ConsoleDriverQEMU] = d
	return nil
}

// addLibvirtDriver registers the libvirt driver of the --libvirt-hosts
// file, if one is given, and has a closer close its host connections. It
// connects to no host: each is connected on first use (assemble then has
// it follow the hosts, see followMachines).
func (a *App) addLibvirtDriver(cfg Config, drivers map[string]core.ConsoleDriver) error {
	if cfg.LibvirtHosts == "" {
		return nil
	}
	f, err := libvirt.ReadHostsFile(cfg.LibvirtHosts)
	if err != nil {
		return err
	}
	d, err := libvirt.New(libvirt.Config{Hosts: f.Hosts, Template: f.Template, Log: cfg.Log.With("component", "libvirt")})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, d.Close)
	drivers[ConsoleDriverLibvirt] = d
	a.libvirt = d
	return nil
}

// machineDrivers are the drivers among ds whose targets are machines
// that run.
func machineDrivers(ds map[string]core.ConsoleDriver) map[string]core.MachineDriver {
	out := map[string]core.MachineDriver{}
	for name, d := range ds {
		if m, ok := d.(core.MachineDriver); ok {
			out[name] = m
		}
	}
	return out
}

// bccDefaultDriver is the driver new BCC instances get: libvirt's when
// --console-driver libvirt says so (its guests take the administrator
// password through qemu-guest-agent), qemu's when its consoles boot a
// real guest (--qemu-guest), sim otherwise. A qemu console without a
// guest has no administrator to set a password for.
func (c *Config) bccDefaultDriver() string {
	switch {
	case c.ConsoleDriver == ConsoleDriverLibvirt:
		return ConsoleDriverLibvirt
	case c.ConsoleDriver == ConsoleDriverQEMU && c.QEMUGuest != "":
		return ConsoleDriverQEMU
	}
	return ConsoleDriverSim
}

// ecsDefaultDriver is the driver new ECS instances get.
func (c *Config) ecsDefaultDriver() string {
	if c.ConsoleDriver == "" {
		return ConsoleDriverSim
	}
	return c.ConsoleDriver
}

// followMachines has the instances on the libvirt driver, if there is
// one, follow their domains' states (lifecycle events and a poll).
func (a *App) followMachines(ecs, bcc interface {
	FollowMachine(ctx context.Context, id string, running func() (bool, error))
}) {
	if a.libvirt == nil {
		return
	}
	a.libvirt.Follow("ecs", ecs.FollowMachine)
	a.libvirt.Follow("bcc", bcc.FollowMachine)
	a.libvirt.Run()
}
