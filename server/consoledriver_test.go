//go:build unix

package server_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// qemuPIDs returns the process ids in the qemu driver's pidfiles.
func qemuPIDs(t *testing.T, dataDir string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, server.QEMUStateDir, "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // removed by a QEMU that exited meanwhile
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// `latchkey serve --console-driver qemu`, driven through the Alibaba SDK
// and the wss:// console URL: each new ECS instance's console is a QEMU
// that asks for the live password; a restart of latchkey stops every
// QEMU and brings the live passwords back on fresh ones.
func TestQEMUConsoleDriver(t *testing.T) {
	testutil.Program(t, qemu.DefaultBinary, "apt-get install qemu-system-x86")
	e := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.ConsoleDriver = server.ConsoleDriverQEMU }))
	c := e.ECS(t)
	opt := runInstance(t, c, "optimized")
	legacy := runInstance(t, c, "none")

	setVNCPassword(t, c, opt, "Live01")
	if err := consoleLogin(t, e, c, opt, "Live01"); err != nil {
		t.Fatalf("QEMU did not take the I/O optimized instance's password before the call returned: %v", err)
	}
	setVNCPassword(t, c, legacy, "Pend01")
	if err := consoleLogin(t, e, c, legacy, "Pend01"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("a pending password: got %v, want an authentication failure", err)
	}
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.RegionId, reboot.InstanceId = testenv.Region, legacy
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}
	if err := consoleLogin(t, e, c, legacy, "Pend01"); err != nil {
		t.Fatalf("the pending password after RebootInstance: %v", err)
	}
	before := qemuPIDs(t, e.DataDir)
	if len(before) != 2 {
		t.Fatalf("%d QEMU pidfiles for 2 instances", len(before))
	}

	e.Restart(t)
	for _, pid := range before {
		if syscall.Kill(pid, 0) == nil {
			t.Fatalf("QEMU %d survived the shutdown", pid)
		}
	}
	c = e.ECS(t)
	if err := consoleLogin(t, e, c, opt, "Live01"); err != nil {
		t.Errorf("after a restart, the optimized instance's live password: %v", err)
	}
	if err := consoleLogin(t, e, c, legacy, "Pend01"); err != nil {
		t.Errorf("after a restart, the other instance's live password: %v", err)
	}
	for _, secret := range []string{"Live01", "Pend01"} {
		if strings.Contains(e.Logs(), secret) {
			t.Fatal("the server's log holds a console password")
		}
	}
}

func TestValidateConsoleDriver(t *testing.T) {
	_, lookErr := qemu.LookPath("")
	for _, tc := range []struct {
		name string
		edit func(*server.Config)
		ok   bool
	}{
		{"sim", func(c *server.Config) { c.ConsoleDriver = "sim" }, true},
		{"qemu", func(c *server.Config) { c.ConsoleDriver = "qemu" }, lookErr == nil},
		{"qemu missing", func(c *server.Config) { c.ConsoleDriver = "qemu"; c.QEMUBinary = "/nonexistent/qemu" }, false},
		{"qemu binary unused", func(c *server.Config) { c.QEMUBinary = "/nonexistent/qemu" }, true},
		{"qemu long data dir", func(c *server.Config) {
			c.ConsoleDriver, c.QEMUBinary = "qemu", "/bin/true"
			c.DataDir = "/" + strings.Repeat("d", 80)
		}, false},
		{"unknown driver", func(c *server.Config) { c.ConsoleDriver = "libvirt" }, false},
		{"machine pc", func(c *server.Config) { c.QEMUMachine = "pc" }, true},
		{"machine unknown", func(c *server.Config) { c.QEMUMachine = "q35" }, false},
	} {
		c := server.Defaults()
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
