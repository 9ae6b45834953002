//go:build unix

package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// A password takes effect for new connections as soon as
// SetConsolePassword returns; the previous one stops working, and a
// session opened with it stays open.
func TestSetConsolePasswordTakesEffect(t *testing.T) {
	d, _ := newDriver(t, Config{})
	tg := target("i-takes-effect")

	// Before any password, QEMU (password=on) admits nobody.
	if login(t, d, tg, "Ab1234") {
		t.Fatal("a console without a password admitted a login")
	}
	mustSet(t, d, tg, "Ab1234")
	if !login(t, d, tg, "Ab1234") {
		t.Fatal("the password just set was rejected")
	}
	if login(t, d, tg, "Zz9876") {
		t.Fatal("a password that was never set was admitted")
	}
	open := dialLogin(t, d, tg, "Ab1234")
	if open == nil {
		t.Fatal("the password just set was rejected")
	}
	defer open.Close()

	mustSet(t, d, tg, "Zz9876")
	if login(t, d, tg, "Ab1234") {
		t.Fatal("the previous password still works after a change")
	}
	if !login(t, d, tg, "Zz9876") {
		t.Fatal("the second password was rejected")
	}
	// VNC Authentication compares the first 8 bytes only.
	mustSet(t, d, tg, "Long-Passw0rd")
	if !login(t, d, tg, "Long-Pas") || !login(t, d, tg, "Long-PasXYZ") || login(t, d, tg, "Long-Pa") {
		t.Fatal("only the first 8 bytes of a password should count")
	}
	if _, err := open.Snapshot(testutil.Context(t, hangGuard)); err != nil {
		t.Fatalf("a session opened before the changes was dropped: %v", err)
	}
}

// Consoles are separate processes with separate passwords, and may be
// used concurrently.
func TestConsolesAreIndependent(t *testing.T) {
	d, _ := newDriver(t, Config{})
	ids := []string{"i-one", "i-two", "i-three", "i-four"}
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for n, id := range ids {
		wg.Go(func() {
			errs[n] = d.SetConsolePassword(testutil.Context(t, hangGuard), target(id), core.NewSecret("Pw"+strconv.Itoa(n)+"abc"))
		})
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", ids[n], err)
		}
	}
	for n, id := range ids {
		if !login(t, d, target(id), "Pw"+strconv.Itoa(n)+"abc") {
			t.Fatalf("%s rejected its own password", id)
		}
		if login(t, d, target(id), "Pw"+strconv.Itoa((n+1)%len(ids))+"abc") {
			t.Fatalf("%s admitted another console's password", id)
		}
	}
	if pids := d.pids(); len(pids) != len(ids) {
		t.Fatalf("%d QEMU processes for %d consoles", len(pids), len(ids))
	}
	// The same name under another product is another console.
	bcc := core.ConsoleTarget{Product: "bcc", ID: "i-one"}
	if login(t, d, bcc, "Pw0abc") {
		t.Fatal("bcc/i-one shares ecs/i-one's console")
	}
}

// Empty passwords and unusable names are refused before any process
// starts.
func TestRefusals(t *testing.T) {
	d, _ := newDriver(t, Config{})
	err := d.SetConsolePassword(testutil.Context(t, hangGuard), target("i-empty"), core.Secret{})
	if core.KindOf(err) != core.KindInvalid {
		t.Fatalf("empty password: got %v, want KindInvalid", err)
	}
	for _, id := range []string{"", "../etc", "i-a,b", "i a", strings.Repeat("x", 65)} {
		err := d.SetConsolePassword(testutil.Context(t, hangGuard), target(id), core.NewSecret("Ab1234"))
		if core.KindOf(err) != core.KindInvalid {
			t.Fatalf("id %q: got %v, want KindInvalid", id, err)
		}
		if _, err := d.OpenConsole(testutil.Context(t, hangGuard), target(id)); core.KindOf(err) != core.KindInvalid {
			t.Fatalf("OpenConsole id %q: got %v, want KindInvalid", id, err)
		}
	}
	// "ecs-a" + "b" would share a file name with "ecs" + "a-b".
	ambiguous := core.ConsoleTarget{Product: "ecs-a", ID: "b"}
	if err := d.SetConsolePassword(testutil.Context(t, hangGuard), ambiguous, core.NewSecret("Ab1234")); core.KindOf(err) != core.KindInvalid {
		t.Fatalf("product with '-': got %v, want KindInvalid", err)
	}
	if pids := d.pids(); len(pids) != 0 {
		t.Fatalf("refused calls started %d QEMU processes", len(pids))
	}
	entries, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("refused calls left files in the state directory: %v", entries)
	}
}

// The password travels only over QMP: not in QEMU's command line or
// environment, not in its log, not in the driver's log.
func TestPasswordStaysOutOfArgvAndLogs(t *testing.T) {
	d, logs := newDriver(t, Config{})
	tg := target("i-secret")
	const pw = "Qx7Zk2"
	mustSet(t, d, tg, pw)
	if !login(t, d, tg, pw) {
		t.Fatal("the password just set was rejected")
	}
	p := d.proc(t, tg)
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), f))
		if os.IsNotExist(err) {
			t.Skip("no /proc on this system")
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Fatalf("QEMU's %s holds the password", f)
		}
	}
	qlog, err := os.ReadFile(filepath.Join(d.cfg.Dir, "ecs-i-secret.log"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(qlog, []byte(pw)) {
		t.Fatal("QEMU's log holds the password")
	}
	if !strings.Contains(logs.String(), "qemu console started") {
		t.Fatalf("the driver did not log the start:\n%s", logs)
	}
	if strings.Contains(logs.String(), pw) {
		t.Fatal("the driver's log holds the password")
	}
	// The state directory is private: a VNC socket invites password
	// guessing.
	fi, err := os.Stat(d.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("state directory mode %v, want 0700", fi.Mode().Perm())
	}
}

// A QEMU killed underneath is started again on next use with the
// console's confirmed password; SetConsolePassword then succeeds on the
// fresh process. Both orders are checked: the driver already saw the
// exit, or it learns of it from the dead monitor mid-call.
func TestKilledQEMURestartsWithLivePassword(t *testing.T) {
	for _, reaped := range []bool{true, false} {
		t.Run("reaped="+strconv.FormatBool(reaped), func(t *testing.T) {
			d, logs := newDriver(t, Config{})
			tg := target("i-killed")
			mustSet(t, d, tg, "Old111")
			old := d.proc(t, tg)
			if err := syscall.Kill(old.pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if reaped {
				<-old.done
			}
			mustSet(t, d, tg, "New222")
			if !login(t, d, tg, "New222") {
				t.Fatal("the new password was rejected after the restart")
			}
			if login(t, d, tg, "Old111") {
				t.Fatal("the old password still works")
			}
			if d.proc(t, tg).pid == old.pid {
				t.Fatal("the killed QEMU is still in use")
			}
			if alive(old.pid) {
				t.Fatal("the killed QEMU was not reaped")
			}
			if strings.Contains(logs.String(), "New222") || strings.Contains(logs.String(), "Old111") {
				t.Fatal("the driver's log holds a password")
			}
		})
	}
	t.Run("OpenConsole", func(t *testing.T) {
		d, _ := newDriver(t, Config{})
		tg := target("i-killed")
		mustSet(t, d, tg, "Old111")
		old := d.proc(t, tg)
		syscall.Kill(old.pid, syscall.SIGKILL)
		<-old.done
		if !login(t, d, tg, "Old111") {
			t.Fatal("a restarted console did not take its live password again")
		}
	})
}

// When QEMU cannot be started again, SetConsolePassword reports the
// console unreachable, and once QEMU can run again the console still has
// the password it had before the failed call.
func TestUnreachableKeepsPassword(t *testing.T) {
	real := needQEMU(t)
	d, _ := newDriver(t, Config{})
	tg := target("i-unreachable")
	mustSet(t, d, tg, "Kept11")
	old := d.proc(t, tg)
	syscall.Kill(old.pid, syscall.SIGKILL)
	<-old.done

	for _, broken := range []string{"/nonexistent/qemu-system-x86_64", "/bin/false"} {
		d.cfg.Binary = broken // no call is running
		err := d.SetConsolePassword(testutil.Context(t, hangGuard), tg, core.NewSecret("Lost22"))
		wantUnreachable(t, err, "Kept11", "Lost22")
		if _, err := d.OpenConsole(testutil.Context(t, hangGuard), tg); err == nil {
			t.Fatalf("OpenConsole with QEMU %s: got a connection", broken)
		} else {
			wantUnreachable(t, err)
		}
	}
	d.cfg.Binary = real
	if !login(t, d, tg, "Kept11") {
		t.Fatal("the console lost its password after a failed change")
	}
	if login(t, d, tg, "Lost22") {
		t.Fatal("a change that failed took effect")
	}
}

// A QEMU that never answers is stopped when the caller gives up, and one
// that also ignores SIGTERM is killed after StopTimeout; a QEMU that never
// answers is given up after StartTimeout even when the caller waits.
// Nothing is left running in any case.
func TestHungQEMUIsStopped(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		cancel     bool // the caller gives up once the fake runs
	}{
		{"caller gives up", "exec sleep 600", true},
		{"ignores SIGTERM", "trap '' TERM\nexec sleep 600", true},
		{"start timeout", "exec sleep 600", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeQEMU(t, tc.body)
			cfg := Config{Binary: fake, StopTimeout: 50e6}
			if !tc.cancel {
				cfg.StartTimeout = 100e6
			}
			d, _ := newDriver(t, cfg)
			ctx, cancel := context.WithCancel(testutil.Context(t, hangGuard))
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.SetConsolePassword(ctx, target("i-hung"), core.NewSecret("Ab1234")) }()
			pid := 0
			if tc.cancel {
				pid = waitPIDFile(t, fake+".pid", done)
				cancel()
			}
			wantUnreachable(t, <-done, "Ab1234")
			if pid == 0 {
				b, err := os.ReadFile(fake + ".pid")
				if os.IsNotExist(err) {
					return // it never ran far enough to write it: nothing runs
				}
				if err != nil {
					t.Fatal(err)
				}
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			if pid == 0 || alive(pid) {
				t.Fatalf("the hung QEMU (pid %d) still runs", pid)
			}
		})
	}
}

// waitPIDFile waits until the fake QEMU has written its process id and
// returns it. The call must still be running: the fake never answers.
func waitPIDFile(t *testing.T, path string, done <-chan error) int {
	t.Helper()
	for {
		select {
		case err := <-done:
			t.Fatalf("SetConsolePassword returned before the fake QEMU ran: %v", err)
		default:
		}
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		time.Sleep(time.Millisecond)
	}
}

// A call whose context is already over changes nothing and starts
// nothing.
func TestCancelledContext(t *testing.T) {
	d, _ := newDriver(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := d.SetConsolePassword(ctx, target("i-cancel"), core.NewSecret("Ab1234"))
	wantUnreachable(t, err, "Ab1234")
	if pids := d.pids(); len(pids) != 0 {
		t.Fatal("a cancelled call started QEMU")
	}
}

// Close stops every QEMU and removes their sockets; the driver refuses
// work afterwards. (newDriver's cleanup checks for processes and
// goroutines left behind.)
func TestCloseStopsEverything(t *testing.T) {
	d, _ := newDriver(t, Config{})
	for _, id := range []string{"i-close-a", "i-close-b"} {
		mustSet(t, d, target(id), "Ab1234")
	}
	pids := d.pids()
	if len(pids) != 2 {
		t.Fatalf("%d processes, want 2", len(pids))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("QEMU %d still runs after Close", pid)
		}
	}
	socks, _ := filepath.Glob(filepath.Join(d.cfg.Dir, "*.vnc"))
	if len(socks) != 0 {
		t.Fatalf("sockets left after Close: %v", socks)
	}
	wantUnreachable(t, d.SetConsolePassword(testutil.Context(t, hangGuard), target("i-close-a"), core.NewSecret("Ab1234")))
	wantUnreachable(t, d.SetConsolePassword(testutil.Context(t, hangGuard), target("i-close-new"), core.NewSecret("Ab1234")))
	if _, err := d.OpenConsole(testutil.Context(t, hangGuard), target("i-close-b")); err == nil {
		t.Fatal("OpenConsole after Close: got a connection")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// MachinePC gives a console with a real (SeaBIOS) screen behind the same
// password handling.
func TestMachinePC(t *testing.T) {
	d, _ := newDriver(t, Config{Machine: MachinePC})
	tg := target("i-pc")
	mustSet(t, d, tg, "Ab1234")
	c := dialLogin(t, d, tg, "Ab1234")
	if c == nil {
		t.Fatal("the password just set was rejected")
	}
	defer c.Close()
	if c.Name() != "QEMU (ecs-i-pc)" {
		t.Fatalf("desktop name %q", c.Name())
	}
	if login(t, d, tg, "Zz9876") {
		t.Fatal("a wrong password was admitted")
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(d.proc(t, tg).pid), "cmdline"))
	if err == nil && !bytes.Contains(b, []byte("pc\x00-m\x0064")) {
		t.Fatalf("QEMU does not run a PC: %q", b)
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a directory succeeded")
	}
	if _, err := New(Config{Dir: t.TempDir(), Machine: "q35"}); err == nil {
		t.Fatal("New with an unknown machine succeeded")
	}
}
