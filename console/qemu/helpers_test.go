//go:build unix

package qemu

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// hangGuard bounds every test's calls, so that a broken QEMU fails the
// test instead of hanging it. No assertion depends on it.
const hangGuard = 30 * time.Second

// needQEMU returns QEMU's path. Without QEMU it skips the test, or fails
// it when CI is set (testutil.Program).
func needQEMU(t testing.TB) string {
	t.Helper()
	return testutil.Program(t, DefaultBinary, "apt-get install qemu-system-x86")
}

// newDriver returns a driver over a fresh state directory, closed at the
// end of the test, which then checks that no QEMU and no goroutine of
// this package is left. Its log is returned for inspection.
func newDriver(t *testing.T, cfg Config) (*Driver, *testutil.Buffer) {
	t.Helper()
	needQEMU(t)
	logs := new(testutil.Buffer)
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "qemu")
	}
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pids := d.pids()
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("QEMU %d still runs after Close", pid)
			}
		}
		if leaked := lingeringGoroutines(); leaked != "" {
			t.Errorf("goroutines of the driver still run after Close:\n%s", leaked)
		}
	})
	return d, logs
}

// pids returns the process ids of the QEMUs the driver runs.
func (d *Driver) pids() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var pids []int
	for _, c := range d.consoles {
		c.mu.Lock()
		if c.proc != nil {
			pids = append(pids, c.proc.pid)
		}
		c.mu.Unlock()
	}
	return pids
}

// proc returns the target's running process, failing the test when there
// is none.
func (d *Driver) proc(t *testing.T, tg core.ConsoleTarget) *process {
	t.Helper()
	c, err := d.console(tg)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		t.Fatalf("console %s has no QEMU", c.name)
	}
	return c.proc
}

// alive reports whether a process with this id exists (zombies included:
// a QEMU the driver did not reap counts as left behind).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// lingeringGoroutines returns ownGoroutines once they stay: a goroutine
// that Close waited for may still be returning (its deferred Done ran),
// so it is given until hangGuard to be gone.
func lingeringGoroutines() string {
	deadline := time.Now().Add(hangGuard)
	for {
		leaked := ownGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ownGoroutines returns the stacks of goroutines running this package's
// code, other than the test's own.
func ownGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "console/qemu.(*console)") || strings.Contains(g, "console/qemu.(*qmpConn)") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func target(id string) core.ConsoleTarget {
	return core.ConsoleTarget{Product: "ecs", ID: id, Name: id, Status: "Running"}
}

// mustSet sets pw, failing the test on error (the error text holds no
// password, so it may be printed).
func mustSet(t *testing.T, d *Driver, tg core.ConsoleTarget, pw string) {
	t.Helper()
	if err := d.SetConsolePassword(testutil.Context(t, hangGuard), tg, core.NewSecret(pw)); err != nil {
		t.Fatalf("SetConsolePassword: %v", err)
	}
}

// login opens a new console connection and logs in with pw. It returns
// true when the login succeeds and false when QEMU rejects the password;
// anything else fails the test. Failure messages never show pw.
func login(t *testing.T, d *Driver, tg core.ConsoleTarget, pw string) bool {
	t.Helper()
	c := dialLogin(t, d, tg, pw)
	if c == nil {
		return false
	}
	c.Close()
	return true
}

// dialLogin is login that keeps the connection open; nil means rejected.
func dialLogin(t *testing.T, d *Driver, tg core.ConsoleTarget, pw string) *rfb.ClientConn {
	t.Helper()
	ctx := testutil.Context(t, hangGuard)
	conn, err := d.OpenConsole(ctx, tg)
	if err != nil {
		t.Fatalf("OpenConsole: %v", err)
	}
	c, err := rfb.Login(ctx, conn.(net.Conn), pw)
	if errors.Is(err, rfb.ErrAuthFailed) {
		conn.Close()
		return nil
	}
	if err != nil {
		conn.Close()
		t.Fatalf("login did not complete: %v", err)
	}
	return c
}

// wantUnreachable fails the test unless err is KindUnavailable,
// ReasonConsoleUnreachable and names none of the secrets.
func wantUnreachable(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("got nil, want an unreachable console")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatal("the error holds a password")
		}
	}
	e := core.AsError(err)
	if e.Kind != core.KindUnavailable || e.Reason != core.ReasonConsoleUnreachable {
		t.Fatalf("got %v, want KindUnavailable (ConsoleUnreachable)", err)
	}
}

// fakeQEMU writes an executable shell script standing in for QEMU and
// returns its path. The script writes its process id to path+".pid"
// first.
func fakeQEMU(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-qemu")
	script := "#!/bin/sh\necho $$ > \"$0.pid\"\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
