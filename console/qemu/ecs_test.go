//go:build unix

package qemu_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// The whole server with `--console-driver qemu`: ECS instances' consoles
// are QEMU processes, reached through the VNC gateway. QEMU is run
// through a wrapper script whose target the test can switch to
// /bin/false, to make restarts fail.
type ecsFixture struct {
	lk       *latchkeytest.Server
	wrapper  string // the QEMU binary the driver runs
	qemuPath string // the real QEMU
}

func newECSFixture(t *testing.T) *ecsFixture {
	t.Helper()
	f := &ecsFixture{qemuPath: testutil.Program(t, qemu.DefaultBinary, "apt-get install qemu-system-x86")}
	f.wrapper = filepath.Join(t.TempDir(), "qemu-wrapper")
	script := "#!/bin/sh\nexec \"$(cat \"$0.target\")\" \"$@\"\n"
	if err := os.WriteFile(f.wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f.setQEMU(t, f.qemuPath)
	// A short data directory: console sockets live in it, and a unix
	// socket path holds at most 107 bytes.
	dir, err := os.MkdirTemp("", "lkq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f.lk = latchkeytest.Start(t, latchkeytest.WithDataDir(dir), latchkeytest.WithConfig(func(c *server.Config) {
		c.ConsoleDriver, c.QEMUBinary = server.ConsoleDriverQEMU, f.wrapper
	}))
	return f
}

// setQEMU points the wrapper at path.
func (f *ecsFixture) setQEMU(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(f.wrapper+".target", []byte(path), 0o644); err != nil {
		t.Fatal(err)
	}
}

// restart restarts latchkey: every QEMU stops, and the store's live
// passwords are pushed to fresh ones.
func (f *ecsFixture) restart(t *testing.T) {
	t.Helper()
	if err := f.lk.Restart(); err != nil {
		t.Fatal(err)
	}
}

// hangGuard bounds every call of the tests (testutil.Context), so that a
// broken QEMU fails a test instead of hanging it. No assertion depends on
// it.
const hangGuard = 30 * time.Second

func (f *ecsFixture) run(t *testing.T, optimized bool) core.InstanceID {
	t.Helper()
	app := f.lk.App()
	ids, err := app.ECS.RunInstances(testutil.Context(t, hangGuard), app.RootCaller(), core.CreateInstanceInput{
		RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240528.vhd", InstanceType: "ecs.g7.large", IoOptimized: optimized,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func ref(id core.InstanceID) core.InstanceRef {
	return core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: id}
}

func (f *ecsFixture) modify(t *testing.T, id core.InstanceID, pw string) error {
	t.Helper()
	app := f.lk.App()
	return app.ECS.ModifyInstanceVncPasswd(testutil.Context(t, hangGuard), app.RootCaller(), ref(id), core.NewSecret(pw))
}

// login opens the console through a fresh ticket and the VNC gateway, as
// a client of DescribeInstanceVncUrl does, and logs in to QEMU with pw:
// true when admitted, false when QEMU rejects the password.
func (f *ecsFixture) login(t *testing.T, id core.InstanceID, pw string) bool {
	t.Helper()
	app := f.lk.App()
	tok, err := app.ECS.DescribeInstanceVncURL(testutil.Context(t, hangGuard), app.RootCaller(), ref(id))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := gateway.Dial(testutil.Context(t, hangGuard), app.ConsoleURL(tok.Token), f.lk.HTTPClient())
	if err != nil {
		t.Fatalf("open the console: %v", err)
	}
	defer conn.Close()
	c, err := rfb.Login(testutil.Context(t, hangGuard), conn, pw)
	if errors.Is(err, rfb.ErrAuthFailed) {
		return false
	}
	if err != nil {
		t.Fatalf("login did not complete: %v", err)
	}
	if !strings.HasPrefix(c.Name(), "QEMU (ecs-"+string(id)) {
		t.Fatalf("desktop %q is not the instance's QEMU", c.Name())
	}
	c.Close()
	return true
}

// kill SIGKILLs the instance's QEMU, found through its pidfile, and waits
// until it is gone.
func (f *ecsFixture) kill(t *testing.T, id core.InstanceID) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.lk.DataDir(), server.QEMUStateDir, "ecs-"+string(id)+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The driver reaps it; until then it is a zombie. Either way it no
	// longer answers.
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if os.IsNotExist(err) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// An I/O optimized instance's new password is live on QEMU when
// ModifyInstanceVncPasswd returns.
func TestECSOptimizedPasswordIsLiveOnReturn(t *testing.T) {
	f := newECSFixture(t)
	id := f.run(t, true)
	if err := f.modify(t, id, "Ecs123"); err != nil {
		t.Fatal(err)
	}
	if !f.login(t, id, "Ecs123") {
		t.Fatal("QEMU rejected the password ModifyInstanceVncPasswd just set")
	}
	if err := f.modify(t, id, "Abc987"); err != nil {
		t.Fatal(err)
	}
	if f.login(t, id, "Ecs123") {
		t.Fatal("QEMU still admits the previous password")
	}
	if !f.login(t, id, "Abc987") {
		t.Fatal("QEMU rejected the second password")
	}
}

// A password set on an instance that is not I/O optimized stays pending:
// QEMU keeps the old one until RebootInstance (or Stop then Start).
func TestECSNotOptimizedPasswordWaitsForReboot(t *testing.T) {
	f := newECSFixture(t)
	id := f.run(t, false)
	if err := f.modify(t, id, "Old111"); err != nil {
		t.Fatal(err)
	}
	if f.login(t, id, "Old111") {
		t.Fatal("a pending password is live before the restart")
	}
	app := f.lk.App()
	if err := app.ECS.RebootInstance(testutil.Context(t, hangGuard), app.RootCaller(), ref(id)); err != nil {
		t.Fatal(err)
	}
	if !f.login(t, id, "Old111") {
		t.Fatal("the password did not become live at RebootInstance")
	}

	if err := f.modify(t, id, "New222"); err != nil {
		t.Fatal(err)
	}
	if !f.login(t, id, "Old111") || f.login(t, id, "New222") {
		t.Fatal("a pending password changed the console before the restart")
	}
	if err := app.ECS.StopInstance(testutil.Context(t, hangGuard), app.RootCaller(), ref(id)); err != nil {
		t.Fatal(err)
	}
	if err := app.ECS.StartInstance(testutil.Context(t, hangGuard), app.RootCaller(), ref(id)); err != nil {
		t.Fatal(err)
	}
	if !f.login(t, id, "New222") || f.login(t, id, "Old111") {
		t.Fatal("StartInstance did not make the pending password live")
	}
}

// When QEMU cannot be reached, ModifyInstanceVncPasswd answers
// InstanceNotReady (KindUnavailable, ReasonConsoleUnreachable) and
// nothing changes: once QEMU runs again the console has the old password,
// also after a restart of latchkey.
func TestECSUnreachableChangesNothing(t *testing.T) {
	f := newECSFixture(t)
	id := f.run(t, true)
	if err := f.modify(t, id, "Kept11"); err != nil {
		t.Fatal(err)
	}
	f.kill(t, id)
	f.setQEMU(t, "/bin/false")
	err := f.modify(t, id, "Lost22")
	e := core.AsError(err)
	if err == nil || e.Kind != core.KindUnavailable || e.Reason != core.ReasonConsoleUnreachable {
		t.Fatalf("got %v, want KindUnavailable (ConsoleUnreachable)", err)
	}
	if strings.Contains(err.Error(), "Lost22") || strings.Contains(err.Error(), "Kept11") {
		t.Fatal("the error holds a password")
	}

	f.setQEMU(t, f.qemuPath)
	if !f.login(t, id, "Kept11") || f.login(t, id, "Lost22") {
		t.Fatal("a change that answered InstanceNotReady took effect")
	}

	// A restart of latchkey: every QEMU stops, and the store's live
	// password is pushed to a fresh one.
	f.restart(t)
	if !f.login(t, id, "Kept11") || f.login(t, id, "Lost22") {
		t.Fatal("after a restart the console does not have the stored live password")
	}
}
