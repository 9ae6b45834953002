// Package libvirttest runs a throwaway libvirt daemon for tests: libvirtd
// as root in a mount namespace of its own, where the test's scratch
// directory is bind-mounted over /etc/libvirt, /run/libvirt,
// /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt (and over
// /etc/passwd and /etc/group, to add the libvirt-qemu user the QEMU
// driver insists on), so it reads only its own configuration and leaves
// nothing on the machine. Its socket is in the scratch directory; its
// QEMU driver runs guests as root without cgroups, namespaces or a
// security driver, logs through files (no virtlogd) and lets VNC listen
// on 127.0.0.1 (shared/reference/libvirt-guest.md).
package libvirttest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/latchkey/latchkey/internal/testutil"
)

// readyGuard bounds the daemon's start: its capability probing takes up
// to about 9 s on a quiet machine. A guard, not an assertion.
const readyGuard = 2 * time.Minute

// qemuConf is the QEMU driver's configuration.
const qemuConf = `user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
vnc_listen = "127.0.0.1"
`

// Daemon is a running libvirtd.
type Daemon struct {
	Dir    string // the scratch directory
	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has exited
}

// Start runs libvirtd for the rest of the test and returns once it
// answers. Its cleanup destroys every domain's QEMU and stops the daemon.
// It ends the test as testutil.Missing when libvirt is not installed or
// the test does not run as root.
func Start(t testing.TB) *Daemon {
	t.Helper()
	testutil.Program(t, "libvirtd", "apt-get install libvirt-daemon libvirt-daemon-driver-qemu")
	testutil.Program(t, "unshare", "apt-get install util-linux")
	testutil.Program(t, "qemu-system-x86_64", "apt-get install qemu-system-x86")
	if os.Geteuid() != 0 {
		testutil.Missing(t, "libvirtd for the tests runs as root")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"); err != nil {
		testutil.Missing(t, "libvirt's QEMU driver is not installed (apt-get install libvirt-daemon-driver-qemu)")
	}
	// A short directory: unix socket paths hold 107 bytes.
	dir, err := os.MkdirTemp("", "lvt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"etc", "run", "lib", "cache", "log", "sock"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	group, _ := os.ReadFile("/etc/group")
	if !bytes.Contains(group, []byte("\nlibvirt-qemu:")) {
		group = append(group, "libvirt-qemu:x:64055:\n"...)
	}
	if !bytes.Contains(passwd, []byte("\nlibvirt-qemu:")) {
		passwd = append(passwd, "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n"...)
	}
	write("passwd", string(passwd))
	write("group", string(group))
	write("etc/qemu.conf", qemuConf)
	write("etc/libvirt.conf", "")
	write("libvirtd.conf", fmt.Sprintf(`unix_sock_dir = %q
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:%s"
`, filepath.Join(dir, "sock"), filepath.Join(dir, "libvirtd.log")))
	d := &Daemon{Dir: dir, t: t}
	d.Restart()
	t.Cleanup(d.cleanup)
	return d
}

// Socket is the daemon's read-write socket.
func (d *Daemon) Socket() string { return filepath.Join(d.Dir, "sock", "libvirt-sock") }

// URI is the daemon's libvirt URI.
func (d *Daemon) URI() string {
	return "qemu+unix:///system?socket=" + url.QueryEscape(d.Socket())
}

// Restart starts the daemon if it is stopped and waits until it answers.
// Domains that kept running while it was stopped are found again.
func (d *Daemon) Restart() {
	t := d.t
	t.Helper()
	if d.cmd != nil {
		return
	}
	mounts := ""
	for _, m := range [][2]string{
		{"etc", "/etc/libvirt"}, {"run", "/run/libvirt"}, {"lib", "/var/lib/libvirt"},
		{"cache", "/var/cache/libvirt"}, {"log", "/var/log/libvirt"},
		{"passwd", "/etc/passwd"}, {"group", "/etc/group"},
	} {
		src := filepath.Join(d.Dir, m[0])
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			mounts += fmt.Sprintf("mkdir -p %s && ", m[1])
		}
		mounts += fmt.Sprintf("mount --bind %s %s && ", src, m[1])
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "libvirtd.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		mounts+"exec nice -n 5 libvirtd -f "+filepath.Join(d.Dir, "libvirtd.conf"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatalf("libvirtd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	ctx, cancel := context.WithTimeout(context.Background(), readyGuard)
	defer cancel()
	for {
		if l, err := d.dial(); err == nil {
			l.Disconnect()
			return
		}
		select {
		case <-exited:
			d.cmd = nil
			t.Fatalf("libvirtd exited at start: %s", d.logTail())
		case <-ctx.Done():
			t.Fatalf("libvirtd did not answer within %v: %s", readyGuard, d.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the daemon (SIGTERM) and waits until it has exited. Running
// domains keep running, as they do when a host's libvirtd stops.
func (d *Daemon) Stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.exited
	d.cmd = nil
}

// Dial connects to the daemon.
func (d *Daemon) Dial(t testing.TB) *libvirt.Libvirt {
	t.Helper()
	l, err := d.dial()
	if err != nil {
		t.Fatalf("connect to libvirtd: %v", err)
	}
	t.Cleanup(func() { l.Disconnect() })
	return l
}

func (d *Daemon) dial() (*libvirt.Libvirt, error) {
	u, err := url.Parse(d.URI())
	if err != nil {
		return nil, err
	}
	return libvirt.ConnectToURI(u)
}

// cleanup ends every domain's QEMU (through the daemon when it runs, by
// its pid file otherwise) and stops the daemon.
func (d *Daemon) cleanup() {
	if l, err := d.dial(); err == nil {
		doms, _, _ := l.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive)
		for _, dom := range doms {
			l.DomainDestroy(dom)
		}
		l.Disconnect()
	}
	d.Stop()
	pids, _ := filepath.Glob(filepath.Join(d.Dir, "run", "qemu", "*.pid"))
	for _, p := range pids {
		b, _ := os.ReadFile(p)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// logTail is the end of the daemon's log, for failure messages.
func (d *Daemon) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "libvirtd.out"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
