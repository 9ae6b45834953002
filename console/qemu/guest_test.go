//go:build linux

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

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/console/qemu"
	"github.com/latchkey/latchkey/internal/guestimage"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// guestGuard bounds each wait on the real guest (a boot under TCG on a
// busy machine); a hang guard, not an assertion.
const guestGuard = 3 * time.Minute

// guestEnv is a latchkey with --console-driver qemu whose consoles boot
// the real guest (--qemu-guest), QEMU running niced.
func guestEnv(t *testing.T) *testenv.Env {
	t.Helper()
	bin := testutil.Program(t, qemu.DefaultBinary, "apt-get install qemu-system-x86")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	img, err := guestimage.Build(testutil.Context(t, guestGuard), filepath.Join(cache, "latchkey", "guest"))
	if errors.Is(err, guestimage.ErrMissing) {
		testutil.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	// A short data directory: the consoles' sockets live in it.
	dir, err := os.MkdirTemp("", "lkg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	wrapper := filepath.Join(dir, "qemu-nice")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec nice -n 5 "+bin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return testenv.Start(t, testenv.WithDataDir(filepath.Join(dir, "d")), testenv.WithConfig(func(c *server.Config) {
		c.ConsoleDriver, c.QEMUBinary, c.QEMUGuest = server.ConsoleDriverQEMU, wrapper, filepath.Dir(img.Kernel)
	}))
}

// qemuRuns reports whether the console's QEMU process runs, by its
// pidfile.
func qemuRuns(t *testing.T, env *testenv.Env, name string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Server().DataDir(), server.QEMUStateDir, name+".pid"))
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false // QEMU truncates its pidfile as it exits
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return syscall.Kill(pid, 0) == nil && !strings.HasPrefix(rest, "Z")
}

// The instance's QEMU follows it: gone after Stop and Delete, back after
// Start; and BCC's changePass reaches the real guest through
// qemu-guest-agent, checked by a login on its serial console. One guest
// boots once.
func TestQEMUFollowsTheInstance(t *testing.T) {
	env := guestEnv(t)

	t.Run("ECS", func(t *testing.T) {
		c := env.ECS(t)
		run := ecs.CreateRunInstancesRequest()
		run.RegionId, run.ImageId, run.InstanceType, run.IoOptimized = "cn-hangzhou", "debian_12_x64", "ecs.t6-c1m1.large", "optimized"
		res, err := c.RunInstances(run)
		if err != nil {
			t.Fatalf("RunInstances: %v", err)
		}
		id := res.InstanceIdSets.InstanceIdSet[0]
		name := "ecs-" + id
		if !qemuRuns(t, env, name) {
			t.Fatal("RunInstances did not start the instance's QEMU")
		}
		stop := ecs.CreateStopInstanceRequest()
		stop.RegionId, stop.InstanceId, stop.ForceStop = "cn-hangzhou", id, requests.NewBoolean(true)
		if _, err := c.StopInstance(stop); err != nil {
			t.Fatalf("StopInstance: %v", err)
		}
		if qemuRuns(t, env, name) {
			t.Fatal("the instance's QEMU still runs after StopInstance")
		}
		start := ecs.CreateStartInstanceRequest()
		start.RegionId, start.InstanceId = "cn-hangzhou", id
		if _, err := c.StartInstance(start); err != nil {
			t.Fatalf("StartInstance: %v", err)
		}
		if !qemuRuns(t, env, name) {
			t.Fatal("StartInstance did not start the instance's QEMU")
		}
		del := ecs.CreateDeleteInstanceRequest()
		del.RegionId, del.InstanceId, del.Force = "cn-hangzhou", id, requests.NewBoolean(true)
		if _, err := c.DeleteInstance(del); err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		if qemuRuns(t, env, name) {
			t.Fatal("the instance's QEMU still runs after DeleteInstance")
		}
	})

	t.Run("BCC", func(t *testing.T) {
		c := env.BCC(t)
		res, err := c.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-Z1TCx0Zv", CpuCount: 1, MemoryCapacityInGB: 1})
		if err != nil {
			t.Fatalf("CreateInstance: %v", err)
		}
		id := res.InstanceIds[0]
		name := "bcc-" + id
		if !qemuRuns(t, env, name) {
			t.Fatal("CreateInstance did not start the instance's QEMU")
		}
		ctx := testutil.Context(t, guestGuard)
		serial, err := guestimage.DialSerial(ctx, filepath.Join(env.Server().DataDir(), server.QEMUStateDir, name+".serial"))
		if err != nil {
			t.Fatalf("serial console: %v", err)
		}
		defer serial.Close()
		if err := serial.WaitLogin(ctx); err != nil {
			t.Fatalf("the guest did not boot to its login prompt: %v", err)
		}
		for _, pw := range []string{"Guest12!a", "Guest34!b"} {
			if _, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: pw}); err != nil {
				t.Fatalf("changePass: %v", err)
			}
		}
		if ok, err := serial.Login(ctx, "root", "Guest34!b"); err != nil || !ok {
			t.Fatalf("root cannot log in with the password changePass set (%v)", err)
		}
		if ok, err := serial.Login(ctx, "root", "Guest12!a"); err != nil || ok {
			t.Fatalf("root still logs in with the previous password (%v)", err)
		}
		// A graceful stop powers the guest off (ACPI).
		if err := c.StopInstance(id, false); err != nil {
			t.Fatalf("StopInstance: %v", err)
		}
		if qemuRuns(t, env, name) {
			t.Fatal("the instance's QEMU still runs after StopInstance")
		}
		if err := c.StartInstance(id); err != nil {
			t.Fatalf("StartInstance: %v", err)
		}
		if !qemuRuns(t, env, name) {
			t.Fatal("StartInstance did not start the instance's QEMU")
		}
		if err := c.DeleteInstance(id); err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		if qemuRuns(t, env, name) {
			t.Fatal("the instance's QEMU still runs after DeleteInstance")
		}
	})
}
