package qemu

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Guest is the real guest a console's QEMU runs when Config.Guest is set:
// a kernel booted directly with its initramfs (internal/guestimage builds
// one), on a q35 machine under TCG, with its serial console on the unix
// socket <product>-<id>.serial and qemu-guest-agent on the virtio-serial
// port org.qemu.guest_agent.0, reached through <product>-<id>.qga.
type Guest struct {
	Kernel    string
	Initrd    string
	Cmdline   string
	MemoryMiB int // zero means 256
}

// args are the guest's QEMU options; file names are relative to the
// state directory, and name is checked by validName.
func (g *Guest) args(name string) []string {
	mem := g.MemoryMiB
	if mem == 0 {
		mem = 256
	}
	return []string{
		"-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", strconv.Itoa(mem), "-vga", "std",
		"-kernel", g.Kernel, "-initrd", g.Initrd, "-append", g.Cmdline,
		"-serial", "unix:" + name + ".serial,server=on,wait=off",
		"-chardev", "socket,id=qga,path=" + name + ".qga,server=on,wait=off",
		"-device", "virtio-serial",
		"-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
	}
}

// StartMachine implements core.MachineDriver: the target's QEMU starts
// (taking the console's password, and the product's stored one if it has
// a source), unless it runs.
func (d *Driver) StartMachine(ctx context.Context, t core.ConsoleTarget) error {
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return d.start(ctx, c, t)
}

// start starts c's QEMU unless it runs. c.mu is held.
func (d *Driver) start(ctx context.Context, c *console, t core.ConsoleTarget) error {
	c.stopped = false
	if c.live.IsZero() {
		d.mu.Lock()
		src := d.sources[t.Product]
		d.mu.Unlock()
		return c.ensureFrom(ctx, t, src)
	}
	_, err := c.ensure(ctx)
	return err
}

// StopMachine implements core.MachineDriver: QEMU stops, after the real
// guest powered off (ACPI, for at most Config.StopGrace) unless force is
// set or there is no guest. It stays stopped until StartMachine.
func (d *Driver) StopMachine(ctx context.Context, t core.ConsoleTarget, force bool) error {
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	p := c.proc
	if p == nil {
		return nil
	}
	if !force && d.cfg.Guest != nil {
		qctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
		_, err := p.qmp.execute(qctx, "system_powerdown", nil)
		cancel()
		if err == nil {
			timer := time.NewTimer(d.cfg.StopGrace)
			select {
			case <-p.done:
			case <-timer.C:
				c.log().Warn("guest did not power off in time; stopping QEMU", "grace", d.cfg.StopGrace)
			case <-ctx.Done():
			}
			timer.Stop()
		}
	}
	c.stop(p)
	return nil
}

// RebootMachine implements core.MachineDriver: a running QEMU resets its
// machine (QMP system_reset, which keeps the VNC password); a stopped one
// starts.
func (d *Driver) RebootMachine(ctx context.Context, t core.ConsoleTarget, force bool) error {
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	running := p != nil
	if running {
		select {
		case <-p.done:
			running = false
		default:
		}
	}
	if !running {
		return d.start(ctx, c, t)
	}
	qctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
	defer cancel()
	if _, err := p.qmp.execute(qctx, "system_reset", nil); err != nil {
		return c.unreachable("QEMU did not reset", err)
	}
	return nil
}

// DeleteMachine implements core.MachineDriver: QEMU stops at once and the
// console is forgotten, with its files.
func (d *Driver) DeleteMachine(ctx context.Context, t core.ConsoleTarget) error {
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.stopped = true
	if c.proc != nil {
		c.stop(c.proc)
	}
	c.mu.Unlock()
	d.mu.Lock()
	delete(d.consoles, c.name)
	d.mu.Unlock()
	os.Remove(c.path(".log"))
	return nil
}

// userPasswordArgs are guest-set-user-password's arguments: the password
// in base64, in plain text for the guest to hash.
type userPasswordArgs struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Crypted  bool   `json:"crypted"`
}

// SetGuestPassword implements core.GuestPasswordSetter when the driver
// runs real guests: qemu-guest-agent's guest-set-user-password, after a
// guest-sync. A guest that is not running, or whose agent does not
// answer within CommandTimeout, gives KindUnavailable
// (ReasonAgentTimeout), and the guest's password is unchanged.
func (d *Driver) SetGuestPassword(ctx context.Context, t core.ConsoleTarget, user string, pw core.Secret) error {
	agentDown := func(msg string, err error) error {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: "qemu guest " + t.Product + "-" + t.ID + ": " + msg, Err: err}
	}
	if d.cfg.Guest == nil {
		return agentDown("the driver runs no guests", nil)
	}
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.proc == nil {
		return agentDown("the guest is not running", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
	defer cancel()
	q, err := c.syncAgent(ctx)
	if err != nil {
		return agentDown("the agent did not answer", err)
	}
	defer q.close()
	args := userPasswordArgs{Username: user, Password: base64.StdEncoding.EncodeToString([]byte(pw.Reveal()))}
	if _, err := q.execute(ctx, "guest-set-user-password", args); err != nil {
		return agentDown("the agent did not set the password", err)
	}
	return nil
}

// agentTry bounds one guest-sync: the guest discards what reaches its
// agent's port before the agent opened it, so a sync that gets no answer
// is sent again on a fresh connection until ctx ends.
const agentTry = time.Second

// syncAgent connects to the guest agent and synchronizes with it
// (guest-sync with a fresh id). c.mu is held.
func (c *console) syncAgent(ctx context.Context) (*qmpConn, error) {
	var last error
	for ctx.Err() == nil {
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, "unix", c.path(".qga"))
		if err != nil {
			return nil, err
		}
		q := newAgentConn(conn)
		tctx, cancel := context.WithTimeout(ctx, agentTry)
		_, err = q.execute(tctx, "guest-sync", map[string]int64{"id": time.Now().UnixNano()})
		cancel()
		if err == nil {
			return q, nil
		}
		q.close()
		last = err
	}
	return nil, last
}
