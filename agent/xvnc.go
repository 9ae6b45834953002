package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// x11Dir is where every X server keeps its lock files (.X<n>-lock) and
// sockets (.X11-unix/X<n>): fixed by X11, not $TMPDIR.
const x11Dir = "/tmp"

// maxBusyDisplays bounds how many displays one start finds taken by an X
// server that left no lock file or socket to see (an abstract socket
// only); maxDisplay bounds display numbers.
const (
	maxBusyDisplays = 32
	maxDisplay      = 1 << 15
)

// xvnc is one run of Xvnc for a node.
type xvnc struct {
	cmd     *exec.Cmd
	pid     int
	display int
	listen  netip.AddrPort
	auth    string
	done    chan struct{} // closed once Xvnc has exited and been reaped
	err     error         // the exit status; read only after done
}

// exited reports whether Xvnc has exited.
func (x *xvnc) exited() bool {
	select {
	case <-x.done:
		return true
	default:
		return false
	}
}

// execError is a command that failed: the agent answers CodeExecFailed
// with Command, and Detail (the command's own words or the OS error,
// never a password) as the message.
type execError struct {
	Command string
	Detail  string
}

func (e *execError) Error() string { return e.Command + ": " + e.Detail }

// xvncCommand names an Xvnc run in errors, as an operator would type it.
func (a *Agent) xvncCommand(display, port int) string {
	name := filepath.Base(a.cfg.Xvnc)
	if display > 0 {
		name += " :" + strconv.Itoa(display)
	}
	return name + " -rfbport " + strconv.Itoa(port)
}

// listenAddr is where a node's Xvnc listens: the agent's --vnc-interface
// if set, otherwise the address the control plane gave.
func (a *Agent) listenAddr(st nodeState) (netip.AddrPort, error) {
	addr := a.cfg.Interface
	if !addr.IsValid() {
		var err error
		if addr, err = netip.ParseAddr(st.Address); err != nil {
			return netip.AddrPort{}, err
		}
	}
	return netip.AddrPortFrom(addr, uint16(st.Port)), nil
}

// spawn starts Xvnc for n as st says and returns once it listens: Xvnc
// writes its display number to fd 3 (-displayfd) after its VNC listener is
// up. A display another X server holds is skipped. n's lock is held.
func (a *Agent) spawn(ctx context.Context, n *node, st nodeState) (*xvnc, error) {
	listen, err := a.listenAddr(st)
	if err != nil {
		return nil, &execError{Command: a.xvncCommand(0, st.Port), Detail: "no address to listen on"}
	}
	bin, err := exec.LookPath(a.cfg.Xvnc)
	if err != nil {
		return nil, &execError{Command: a.xvncCommand(0, st.Port), Detail: err.Error()}
	}
	if !hasRfbauth(n.dir) {
		return nil, &execError{Command: a.xvncCommand(0, st.Port), Detail: "no password has been set"}
	}
	plain := st.Auth == AuthPlain
	db := plainDB{root: filepath.Join(n.dir, plainDir)}
	if plain {
		if !db.ready() {
			return nil, &execError{Command: a.xvncCommand(0, st.Port), Detail: "no Plain password has been set"}
		}
		if err := db.prepare(); err != nil {
			return nil, &execError{Command: "mount --bind", Detail: "private /etc: " + err.Error()}
		}
	}
	display := a.cfg.DisplayBase
	for range maxBusyDisplays {
		if display = a.reserveDisplay(display); display < 0 {
			break
		}
		x, busy, err := a.run(ctx, n, st, bin, display, listen, db)
		if err != nil || x == nil {
			a.releaseDisplay(display)
		}
		if !busy {
			return x, err
		}
		display++
	}
	return nil, &execError{Command: a.xvncCommand(0, st.Port), Detail: fmt.Sprintf("no free X display from :%d", a.cfg.DisplayBase)}
}

// reserveDisplay returns the first display from `from` on that no agent
// start holds and no X server's lock file or socket claims, and marks it
// taken until releaseDisplay; -1 when there is none below maxDisplay.
func (a *Agent) reserveDisplay(from int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for d := from; d < maxDisplay; d++ {
		if a.displays[d] {
			continue
		}
		if exists(filepath.Join(x11Dir, fmt.Sprintf(".X%d-lock", d))) || exists(filepath.Join(x11Dir, ".X11-unix", fmt.Sprintf("X%d", d))) {
			continue
		}
		a.displays[d] = true
		return d
	}
	return -1
}

func (a *Agent) releaseDisplay(d int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.displays, d)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// xvncArgs is Xvnc's command line. No password is ever on it: VNC
// Authentication reads the rfbauth file, Plain asks PAM.
func (a *Agent) xvncArgs(dir string, display int, listen netip.AddrPort, st nodeState) []string {
	desktop := st.HostName
	if desktop == "" {
		desktop = filepath.Base(dir)
	}
	args := []string{
		":" + strconv.Itoa(display),
		"-displayfd", "3",
		"-nolisten", "tcp",
		"-rfbport", strconv.Itoa(int(listen.Port())),
		"-interface", listen.Addr().String(),
		"-rfbauth", filepath.Join(dir, rfbauthFile),
		"-desktop", desktop,
	}
	if st.Auth == AuthPlain {
		// Every account of the private database is locked but the Plain
		// user's, so "*" admits exactly that user, and a change of user
		// needs no restart.
		args = append(args, "-SecurityTypes", "Plain,VncAuth", "-PlainUsers", "*", "-PAMService", pamService)
	} else {
		args = append(args, "-SecurityTypes", "VncAuth")
	}
	args = append(args, "-geometry", "1280x800", "-depth", "24")
	return append(args, a.cfg.ExtraArgs...)
}

// run starts one Xvnc on display and waits for it to be ready. busy
// reports that the display was taken after all (another X server got
// there first): the caller tries the next one.
func (a *Agent) run(ctx context.Context, n *node, st nodeState, bin string, display int, listen netip.AddrPort, db plainDB) (x *xvnc, busy bool, err error) {
	command := a.xvncCommand(display, st.Port)
	plain := st.Auth == AuthPlain
	attr, err := sysProcAttr(plain)
	if err != nil {
		return nil, false, &execError{Command: command, Detail: err.Error()}
	}
	logPath := filepath.Join(n.dir, logFile)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, false, &execError{Command: command, Detail: "log file: " + err.Error()}
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, false, &execError{Command: command, Detail: err.Error()}
	}
	defer r.Close()

	args := a.xvncArgs(n.dir, display, listen, st)
	var cmd *exec.Cmd
	if plain {
		cmd = exec.Command("/bin/sh", append([]string{"-c", namespaceScript, db.root, bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w} // fd 3: -displayfd
	cmd.SysProcAttr = attr
	err = cmd.Start()
	w.Close() // only Xvnc holds the write end now: its exit ends the read with EOF
	if err != nil {
		if plain && errors.Is(err, syscall.EPERM) {
			return nil, false, &execError{Command: "unshare --mount", Detail: "a private mount namespace needs root: " + err.Error()}
		}
		return nil, false, &execError{Command: command, Detail: err.Error()}
	}
	x = &xvnc{cmd: cmd, pid: cmd.Process.Pid, display: display, listen: listen, auth: st.Auth, done: make(chan struct{})}
	a.procs.Add(1)
	go func() {
		defer a.procs.Done()
		x.err = cmd.Wait()
		close(x.done)
	}()

	got, err := a.readDisplay(ctx, x, r)
	if err == nil && got != display {
		err = fmt.Errorf("Xvnc reported display :%d, not :%d", got, display)
	}
	if err != nil {
		a.terminate(x)
		tail := logTail(logPath)
		if strings.Contains(tail, "server already running") || strings.Contains(tail, "Cannot establish any listening sockets") {
			return nil, true, nil
		}
		if tail == "" {
			tail = err.Error()
		}
		if plain && strings.HasPrefix(tail, "mount") {
			command = "mount --bind"
		}
		return nil, false, &execError{Command: command, Detail: tail}
	}
	a.cfg.Log.Info("Xvnc started", "node", n.id, "pid", x.pid, "display", display, "listen", listen.String(), "auth", st.Auth)
	return x, false, nil
}

// readDisplay waits for the display number Xvnc writes to fd 3 once it
// is ready, for StartTimeout at most and while ctx lasts.
func (a *Agent) readDisplay(ctx context.Context, x *xvnc, r *os.File) (int, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{line, err}
	}()
	timer := time.NewTimer(a.cfg.StartTimeout)
	defer timer.Stop()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		a.terminate(x) // its exit ends the read
		<-ch
		return 0, ctx.Err()
	case <-timer.C:
		a.terminate(x)
		<-ch
		return 0, fmt.Errorf("not ready after %s", a.cfg.StartTimeout)
	}
	if res.err != nil {
		if errors.Is(res.err, io.EOF) {
			<-x.done
			return 0, fmt.Errorf("exited before it was ready (%v)", x.err)
		}
		return 0, res.err
	}
	return strconv.Atoi(strings.TrimSpace(res.line))
}

// terminate stops x with SIGTERM, which makes Xvnc remove its X11 lock
// file and socket, and waits for it to exit; never SIGHUP, which resets
// the X server and drops every connection (vnc-backends.md §2). After
// StopTimeout it is killed, and what SIGKILL leaves behind is removed. The
// display stays reserved: its owner releases it.
func (a *Agent) terminate(x *xvnc) {
	if !x.exited() {
		x.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(a.cfg.StopTimeout)
		select {
		case <-x.done:
			timer.Stop()
		case <-timer.C:
			a.cfg.Log.Warn("Xvnc did not exit on SIGTERM; killing it", "pid", x.pid, "display", x.display)
			x.cmd.Process.Kill()
			<-x.done
			removeX11Leftovers(x.display, x.pid)
		}
	}
}

// removeX11Leftovers removes the lock file (if it names pid) and the
// socket of a display whose server was killed.
func removeX11Leftovers(display, pid int) {
	lock := filepath.Join(x11Dir, fmt.Sprintf(".X%d-lock", display))
	if b, err := os.ReadFile(lock); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		os.Remove(lock)
	}
	os.Remove(filepath.Join(x11Dir, ".X11-unix", fmt.Sprintf("X%d", display)))
}

// logTail returns the last message in Xvnc's log: its last line that says
// something, without X's "(EE)" prefix, at most 512 bytes. Xvnc never
// logs a password.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, max))
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i]), "(EE)"))
		if l == "" || l == "Fatal server error:" || strings.HasPrefix(l, "Please consult") {
			continue
		}
		if len(l) > 512 {
			l = l[:512]
		}
		return l
	}
	return ""
}
