package qemu

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Machine selects what a console's QEMU emulates.
type Machine string

const (
	// MachineNone emulates no machine: the process is a VNC server and a
	// monitor, and the console (640x480) reads "This VM has no graphic
	// display device.". It starts fastest and uses no CPU.
	MachineNone Machine = "none"
	// MachinePC runs a 64 MB PC with standard VGA and no disk, so the
	// console shows SeaBIOS ("No bootable device."); it takes about 30 ms
	// longer to start and about 13 MB more memory.
	MachinePC Machine = "pc"
)

// DefaultBinary is the QEMU system emulator looked up in PATH when
// Config.Binary is empty.
const DefaultBinary = "qemu-system-x86_64"

// maxSocketPath is the longest path a unix socket address holds on Linux
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Config configures a Driver.
type Config struct {
	// Dir is the state directory: each console's VNC socket, pidfile and
	// QEMU log, named <product>-<id>.vnc, .pid and .log. It is created
	// with mode 0700 (whoever can reach a VNC socket can try passwords on
	// it). Required. A unix socket's path is at most 107 bytes, so keep
	// Dir under about 70 (an ECS socket's name is 30 bytes).
	Dir string
	// Binary is the QEMU system emulator, a path or a name looked up in
	// PATH at every start; empty means DefaultBinary.
	Binary string
	// Machine is MachineNone (the default when empty) or MachinePC.
	Machine Machine
	// StartTimeout bounds a start, from exec to QEMU's QMP greeting; zero
	// means 10 seconds.
	StartTimeout time.Duration
	// CommandTimeout bounds one password change over QMP; zero means 5
	// seconds.
	CommandTimeout time.Duration
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL;
	// zero means 5 seconds.
	StopTimeout time.Duration
	// Guest, when set, makes every console's QEMU run a real guest (see
	// Guest) instead of Machine.
	Guest *Guest
	// StopGrace is how long a graceful StopMachine waits for a real guest
	// to power off (ACPI) before QEMU is stopped; zero means 60 seconds.
	StopGrace time.Duration
	// Log receives process starts, exits and failures (never a password);
	// nil discards them.
	Log *slog.Logger
}

// Driver is the qemu console driver. Its methods may be called
// concurrently; calls for one console are serialized.
type Driver struct {
	cfg Config

	mu       sync.Mutex
	consoles map[string]*console // by name, "<product>-<id>"
	sources  map[string]core.ConsolePasswords
	closed   bool

	// procs counts the goroutines that wait for QEMU processes; Close
	// waits for it.
	procs sync.WaitGroup
}

var (
	_ core.ConsoleDriver = (*Driver)(nil)
	_ core.MachineDriver = (*Driver)(nil)
)

// New returns a driver with its state directory created. It starts no
// process: consoles start on first use. New does not check that QEMU is
// installed; a console whose QEMU cannot be started is unreachable (use
// LookPath to check beforehand).
func New(cfg Config) (*Driver, error) {
	if cfg.Dir == "" {
		return nil, errors.New("qemu: no state directory")
	}
	switch cfg.Machine {
	case "":
		cfg.Machine = MachineNone
	case MachineNone, MachinePC:
	default:
		return nil, fmt.Errorf("qemu: machine %q: want %q or %q", cfg.Machine, MachineNone, MachinePC)
	}
	if cfg.Binary == "" {
		cfg.Binary = DefaultBinary
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 5 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 60 * time.Second
	}
	if g := cfg.Guest; g != nil && (g.Kernel == "" || g.Initrd == "") {
		return nil, errors.New("qemu: a guest needs a kernel and an initramfs")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("qemu: state directory: %w", err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("qemu: state directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("qemu: state directory: %w", err)
	}
	return &Driver{cfg: cfg, consoles: make(map[string]*console), sources: make(map[string]core.ConsolePasswords)}, nil
}

// LookPath reports where binary (DefaultBinary when empty) is, or why it
// cannot be run.
func LookPath(binary string) (string, error) {
	if binary == "" {
		binary = DefaultBinary
	}
	return exec.LookPath(binary)
}

// SetConsolePassword implements core.ConsoleDriver: it starts the target's
// QEMU if it is not running, then sets pw over QMP (set_password, then
// expire_password never). When it returns nil, pw is what QEMU asks for on
// every new connection (open ones stay). It returns a *core.Error of
// KindInvalid for an empty password or a target name it cannot use, and
// of KindUnavailable, ReasonConsoleUnreachable when QEMU cannot be
// started or does not take the password; then the console keeps its
// previous password (see the package documentation for how).
func (d *Driver) SetConsolePassword(ctx context.Context, t core.ConsoleTarget, pw core.Secret) error {
	if pw.IsZero() {
		return &core.Error{Kind: core.KindInvalid, Message: "empty console password"}
	}
	c, err := d.console(t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return c.unreachable("no time left to set the password", err)
	}
	if c.stopped || t.Status == string(core.StatusStopped) {
		// A stopped instance's machine does not run: it takes the
		// password when it starts.
		c.live = pw
		return nil
	}
	for attempt := 0; ; attempt++ {
		p, err := c.ensure(ctx)
		if err != nil {
			return err
		}
		err = c.apply(ctx, p, pw)
		if err == nil {
			c.live = pw
			return nil
		}
		if qe := (*QMPError)(nil); errors.As(err, &qe) && qe.Command == "set_password" {
			// Refused: QEMU still has the previous password.
			return c.unreachable("QEMU refused the password", err)
		}
		// The password QEMU holds is unknown: stop it, so that it comes
		// back with the confirmed one. If it had closed the monitor (it
		// died underneath), start a fresh one at once, once.
		gone := peerClosed(err)
		c.stop(p)
		if !gone || attempt > 0 {
			return c.unreachable("QEMU did not confirm the password", err)
		}
		c.log().Warn("qemu console exited during a password change; starting it again", "pid", p.pid)
	}
}

// ServeFrom makes src the source of the live passwords of product's
// consoles: a console that opens first takes the password src gives
// when it differs from the one QEMU holds, so a console started after a
// restart of latchkey, or on another replica, asks for the password the
// store holds. Call it before the driver serves consoles.
func (d *Driver) ServeFrom(product string, src core.ConsolePasswords) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sources[product] = src
}

// OpenConsole implements core.ConsoleDriver: it starts the target's QEMU
// if it is not running, brings its password in line with the product's
// password source if there is one, and returns a connection to its VNC
// server, which speaks RFB and does VNC Authentication itself. A console
// that was never given a password refuses every login. Errors are
// *core.Error of KindUnavailable, ReasonConsoleUnreachable.
func (d *Driver) OpenConsole(ctx context.Context, t core.ConsoleTarget) (core.Conn, error) {
	c, err := d.console(t)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	src := d.sources[t.Product]
	d.mu.Unlock()
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil, c.unreachable("the instance is stopped", nil)
	}
	err = c.ensureFrom(ctx, t, src)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", c.path(".vnc"))
	if err != nil {
		return nil, c.unreachable("VNC server did not answer", err)
	}
	return conn, nil
}

// Close stops every console's QEMU (SIGTERM, then SIGKILL after
// StopTimeout) and waits until each has exited. Afterwards every call
// fails as unreachable. Close is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	all := make([]*console, 0, len(d.consoles))
	for _, c := range d.consoles {
		all = append(all, c)
	}
	d.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.closed = true
			if c.proc != nil {
				c.stop(c.proc)
			}
		})
	}
	wg.Wait()
	d.procs.Wait()
	return nil
}

// console returns the console of t, creating its record on first use.
func (d *Driver) console(t core.ConsoleTarget) (*console, error) {
	// The product has no '-', so "<product>-<id>" names one target only.
	if !validName(t.Product) || strings.Contains(t.Product, "-") || !validName(t.ID) {
		return nil, &core.Error{Kind: core.KindInvalid, Message: "console target names must be letters, digits, '-' and '_' (no '-' in the product)"}
	}
	name := t.Product + "-" + t.ID
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "qemu console " + name + ": the driver is closed"}
	}
	c := d.consoles[name]
	if c == nil {
		c = &console{d: d, name: name}
		d.consoles[name] = c
	}
	return c, nil
}

// validName reports whether s may be part of a file name and of a QEMU
// option value: 1–64 letters, digits, '-' or '_'.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// console is one target's QEMU. mu serializes everything that touches
// the process or the password.
type console struct {
	d    *Driver
	name string

	mu      sync.Mutex
	proc    *process    // nil when not started (or stopped)
	live    core.Secret // the last password QEMU confirmed; zero: none yet
	closed  bool        // the driver is closed: never start again
	stopped bool        // StopMachine stopped it: start only at StartMachine
}

// process is one run of QEMU.
type process struct {
	cmd  *exec.Cmd
	pid  int
	qmp  *qmpConn
	done chan struct{} // closed once QEMU has exited and been reaped
	err  error         // the exit status; read only after done
}

func (c *console) log() *slog.Logger { return c.d.cfg.Log.With("console", c.name) }

func (c *console) path(ext string) string { return filepath.Join(c.d.cfg.Dir, c.name+ext) }

func (c *console) unreachable(msg string, err error) error {
	return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "qemu console " + c.name + ": " + msg, Err: err}
}

// ensure returns the running process, starting QEMU if there is none or
// it exited; a fresh QEMU first takes the confirmed password. c.mu is
// held.
func (c *console) ensure(ctx context.Context) (*process, error) {
	if c.closed {
		return nil, c.unreachable("the driver is closed", nil)
	}
	if p := c.proc; p != nil {
		select {
		case <-p.done:
			c.log().Warn("qemu console had exited; starting it again", "pid", p.pid, "exit", p.err)
			c.stop(p) // removes its sockets
		default:
			return p, nil
		}
	}
	p, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	if !c.live.IsZero() {
		if err := c.apply(ctx, p, c.live); err != nil {
			c.stop(p)
			return nil, c.unreachable("a fresh QEMU did not take the console's password", err)
		}
	}
	c.proc = p
	return p, nil
}

// ensureFrom is ensure, then, when src is set, the source's password
// made live if QEMU holds another. c.mu is held.
func (c *console) ensureFrom(ctx context.Context, t core.ConsoleTarget, src core.ConsolePasswords) error {
	p, err := c.ensure(ctx)
	if err != nil || src == nil {
		return err
	}
	pw, err := src.LivePassword(ctx, t)
	if err != nil {
		return c.unreachable("the console's password could not be read", err)
	}
	if !c.live.IsZero() && subtle.ConstantTimeCompare([]byte(c.live.Reveal()), []byte(pw.Reveal())) == 1 {
		return nil
	}
	if err := c.apply(ctx, p, pw); err != nil {
		// The password QEMU holds is unknown: stop it (see doc.go).
		c.stop(p)
		return c.unreachable("QEMU did not take the console's password", err)
	}
	c.live = pw
	return nil
}

// args is QEMU's command line. QEMU runs in the state directory and is
// given file names relative to it: names are checked by validName, so no
// QEMU option syntax (',' or '=') can appear in them, whatever the
// directory's path holds.
func (c *console) args() []string {
	a := []string{
		"-nodefaults", "-no-user-config", "-display", "none",
		"-name", c.name,
		"-pidfile", c.name + ".pid",
		"-vnc", "unix:" + c.name + ".vnc,password=on",
		// The monitor is fd 3, one end of a socket pair: only latchkey
		// can reach it.
		"-chardev", "socket,id=qmp,fd=3",
		"-mon", "chardev=qmp,mode=control",
	}
	if g := c.d.cfg.Guest; g != nil {
		return append(a, g.args(c.name)...)
	}
	switch c.d.cfg.Machine {
	case MachinePC:
		a = append(a, "-machine", "pc", "-m", "64", "-vga", "std")
	default:
		a = append(a, "-machine", "none")
	}
	return a
}

// start runs QEMU and waits for its QMP greeting. On error nothing is left
// running. c.mu is held.
func (c *console) start(ctx context.Context) (*process, error) {
	cfg := c.d.cfg
	vnc := c.path(".vnc")
	if len(vnc) > maxSocketPath {
		// QEMU binds it relative to its working directory, but
		// OpenConsole dials the whole path.
		return nil, c.unreachable(fmt.Sprintf("socket path %s is longer than %d bytes; use a shorter data directory", vnc, maxSocketPath), nil)
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, c.unreachable("QEMU cannot be run", err)
	}
	if err := os.Remove(vnc); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, c.unreachable("stale VNC socket", err)
	}
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, c.unreachable("monitor socket", err)
	}
	defer theirs.Close()
	logf, err := os.OpenFile(c.path(".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		mine.Close()
		return nil, c.unreachable("log file", err)
	}
	defer logf.Close()

	cmd := exec.Command(bin, c.args()...)
	cmd.Dir = cfg.Dir // the file names in args are relative to it
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		mine.Close()
		return nil, c.unreachable("QEMU did not start", err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	c.d.procs.Add(1)
	go func() {
		defer c.d.procs.Done()
		p.err = cmd.Wait()
		close(p.done)
	}()
	// Only QEMU holds the other end now, so its exit ends the greeting
	// wait with EOF.
	theirs.Close()

	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	q, err := handshakeQMP(sctx, mine)
	if err != nil {
		mine.Close()
		c.stop(p)
		if tail := c.logTail(); tail != "" {
			err = fmt.Errorf("%w; QEMU said: %s", err, tail)
		}
		return nil, c.unreachable("QEMU did not start", err)
	}
	p.qmp = q
	// QEMU binds the VNC socket with the umask's mode; it gives whoever
	// can connect a console login, so it is the owner's alone, like
	// every file of the data directory.
	if err := os.Chmod(vnc, 0o600); err != nil {
		c.stop(p)
		return nil, c.unreachable("VNC socket", err)
	}
	c.log().Info("qemu console started", "pid", p.pid, "machine", cfg.Machine, "took", time.Since(began).Round(time.Millisecond))
	return p, nil
}

// passwordArgs are set_password's arguments.
type passwordArgs struct {
	Protocol string `json:"protocol"`
	Password string `json:"password"`
}

// expireArgs are expire_password's arguments.
type expireArgs struct {
	Protocol string `json:"protocol"`
	Time     string `json:"time"`
}

// apply sets pw as the VNC password and clears any expiry. The request
// holding pw is never logged.
func (c *console) apply(ctx context.Context, p *process, pw core.Secret) error {
	ctx, cancel := context.WithTimeout(ctx, c.d.cfg.CommandTimeout)
	defer cancel()
	if _, err := p.qmp.execute(ctx, "set_password", passwordArgs{Protocol: "vnc", Password: pw.Reveal()}); err != nil {
		return err
	}
	_, err := p.qmp.execute(ctx, "expire_password", expireArgs{Protocol: "vnc", Time: "never"})
	return err
}

// stop ends p: it closes the monitor connection, sends SIGTERM, and
// after StopTimeout SIGKILL, waits until QEMU has exited, and removes its
// VNC socket. c.mu is held.
func (c *console) stop(p *process) {
	if p.qmp != nil {
		p.qmp.close()
	}
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(c.d.cfg.StopTimeout)
		select {
		case <-p.done:
			timer.Stop()
		case <-timer.C:
			c.log().Warn("qemu console did not exit on SIGTERM; killing it", "pid", p.pid)
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	if c.proc == p {
		c.proc = nil
	}
	os.Remove(c.path(".vnc"))
	os.Remove(c.path(".serial"))
	os.Remove(c.path(".qga"))
	c.log().Info("qemu console stopped", "pid", p.pid, "exit", p.err)
}

// logTail returns the last line QEMU wrote to its log (its own messages:
// never a password, which only travels over QMP), at most 512 bytes.
func (c *console) logTail() string {
	f, err := os.Open(c.path(".log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 512
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, max))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// peerClosed reports whether err means QEMU closed its end of the
// monitor, which it does only when it exits.
func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
