package libvirt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/bce"
	"github.com/baidubce/bce-sdk-go/services/bcc"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"
	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/guestimage"
	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/libvirttest"
	"github.com/latchkey/latchkey/server"
)

// hangGuard bounds each wait on the guest (a boot under TCG on a busy
// machine can take half a minute): a hung guest fails the test instead
// of hanging it. No assertion depends on it.
const hangGuard = 3 * time.Minute

// fixture is one latchkey with --console-driver libvirt in front of one
// private libvirtd, whose domains boot the real guest.
type fixture struct {
	t         testing.TB // the test the fixture lives as long as
	env       *testenv.Env
	daemon    *libvirttest.Daemon
	lv        *golibvirt.Libvirt
	serialDir string
	// opt is the stopped I/O optimized ECS instance the ECS part leaves
	// behind, with its domain, for the part that stops libvirtd.
	opt    string
	optDom golibvirt.Domain
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	img, err := guestimage.Build(testutil.Context(t, hangGuard), filepath.Join(cache, "latchkey", "guest"))
	if errors.Is(err, guestimage.ErrMissing) {
		testutil.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	d := libvirttest.Start(t)
	// Serial sockets live here: a short path (107 bytes at most).
	serialDir, err := os.MkdirTemp("", "lks")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(serialDir) })
	hosts := filepath.Join(serialDir, "hosts.yaml")
	yaml := "hosts:\n  - name: kvm1\n    uri: " + d.URI() + "\n" +
		"template:\n  kernel: " + img.Kernel + "\n  initrd: " + img.Initramfs +
		"\n  cmdline: " + guestimage.Cmdline + "\n  memory_mib: 256\n  serial_dir: " + serialDir + "\n"
	if err := os.WriteFile(hosts, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) {
		c.ConsoleDriver, c.LibvirtHosts = server.ConsoleDriverLibvirt, hosts
	}))
	return &fixture{t: t, env: env, daemon: d, lv: d.Dial(t), serialDir: serialDir}
}

// restartDaemon starts libvirtd again after Stop and reconnects to it.
func (f *fixture) restartDaemon() {
	f.daemon.Restart()
	f.lv = f.daemon.Dial(f.t)
}

func (f *fixture) domain(t testing.TB, product, id string) golibvirt.Domain {
	t.Helper()
	dom, err := f.lv.DomainLookupByName("latchkey-" + product + "-" + id)
	if err != nil {
		t.Fatalf("the instance's domain: %v", err)
	}
	return dom
}

// exists reports whether the instance's domain is defined.
func (f *fixture) exists(t *testing.T, product, id string) bool {
	t.Helper()
	_, err := f.lv.DomainLookupByName("latchkey-" + product + "-" + id)
	if err != nil && !golibvirt.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func (f *fixture) active(t *testing.T, dom golibvirt.Domain) bool {
	t.Helper()
	n, err := f.lv.DomainIsActive(dom)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// vncPasswords returns the domain's graphics password, live and in its
// persistent definition.
func (f *fixture) vncPasswords(t testing.TB, dom golibvirt.Domain) (live, config string) {
	t.Helper()
	get := func(flags golibvirt.DomainXMLFlags) string {
		x, err := f.lv.DomainGetXMLDesc(dom, flags|golibvirt.DomainXMLSecure)
		if err != nil {
			t.Fatal(err)
		}
		var d libvirtxml.Domain
		if err := d.Unmarshal(x); err != nil {
			t.Fatal(err)
		}
		return d.Devices.Graphics[0].VNC.Passwd
	}
	return get(0), get(golibvirt.DomainXMLInactive)
}

// serial connects to the domain's serial console.
func (f *fixture) serial(t testing.TB, product, id string) *guestimage.Serial {
	t.Helper()
	s, err := guestimage.DialSerial(testutil.Context(t, hangGuard), filepath.Join(f.serialDir, "latchkey-"+product+"-"+id+".serial"))
	if err != nil {
		t.Fatalf("serial console: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// login opens the instance's console as a client of
// DescribeInstanceVncUrl does, through latchkey's gateway, and logs in
// with pw: true when the domain's VNC server admits it.
func (f *fixture) login(t *testing.T, c *ecs.Client, id, pw string) bool {
	t.Helper()
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = "cn-hangzhou", id
	resp, err := c.DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatalf("DescribeInstanceVncUrl: %v", err)
	}
	ctx := testutil.Context(t, hangGuard)
	conn, err := gateway.Dial(ctx, resp.VncUrl, f.env.HTTPClient())
	if err != nil {
		t.Fatalf("open the console: %v", err)
	}
	defer conn.Close()
	cl, err := rfb.Login(ctx, conn, pw)
	if errors.Is(err, rfb.ErrAuthFailed) {
		return false
	}
	if err != nil {
		t.Fatalf("console login did not complete: %v", err)
	}
	cl.Close()
	return true
}

func runInstance(t testing.TB, c *ecs.Client, optimized bool) string {
	t.Helper()
	req := ecs.CreateRunInstancesRequest()
	req.RegionId, req.ImageId, req.InstanceType = "cn-hangzhou", "debian_12_x64", "ecs.t6-c1m1.large"
	req.IoOptimized = "none"
	if optimized {
		req.IoOptimized = "optimized"
	}
	resp, err := c.RunInstances(req)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	return resp.InstanceIdSets.InstanceIdSet[0]
}

func modify(c *ecs.Client, id, pw string) error {
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, pw
	_, err := c.ModifyInstanceVncPasswd(req)
	return err
}

func stop(t *testing.T, c *ecs.Client, id string, force bool) {
	t.Helper()
	req := ecs.CreateStopInstanceRequest()
	req.InstanceId = id
	req.RegionId, req.ForceStop = "cn-hangzhou", requests.NewBoolean(force)
	if _, err := c.StopInstance(req); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
}

// TestLibvirt drives ECS and BCC instances on one libvirt host through
// the official SDKs, in one sequence so that libvirtd starts once and the
// guest boots as few times as it can.
func TestLibvirt(t *testing.T) {
	f := newFixture(t)
	if !t.Run("ECS", f.testECS) {
		return
	}
	if !t.Run("Adopt", f.testAdopt) {
		return
	}
	if !t.Run("Agentless", f.testAgentless) {
		return
	}
	t.Run("BCC", f.testBCC)
}

// testAdopt: a fleet file adopts an existing domain (by UUID); the
// instance's console password is the domain's graphics password, and
// DeleteInstance only forgets the domain.
func (f *fixture) testAdopt(t *testing.T) {
	d := &libvirtxml.Domain{
		Type: "qemu", Name: "legacy-vm", Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		Devices: &libvirtxml.DomainDeviceList{Graphics: []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
			Port: -1, AutoPort: "yes", Listen: "127.0.0.1", Passwd: "before",
		}}}},
	}
	x, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := f.lv.DomainDefineXMLFlags(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", dom.UUID[0:4], dom.UUID[4:6], dom.UUID[6:8], dom.UUID[8:10], dom.UUID[10:16])
	fleet := "accounts:\n  - id: root\n    ecs:\n      - name: legacy\n        status: Stopped\n" +
		"        driver: libvirt\n        machine: kvm1/" + uuid + "\n        vnc_password: Adopt1\n"
	if err := f.env.Server().ApplyFleet([]byte(fleet)); err != nil {
		t.Fatalf("apply the fleet: %v", err)
	}
	if _, config := f.vncPasswords(t, dom); config != "Adopt1" {
		t.Fatal("the adopted domain did not take the fleet's console password")
	}
	c := f.env.ECS(t)
	list := ecs.CreateDescribeInstancesRequest()
	list.RegionId, list.InstanceName = "cn-hangzhou", "legacy"
	res, err := c.DescribeInstances(list)
	if err != nil || len(res.Instances.Instance) != 1 {
		t.Fatalf("DescribeInstances: %v", err)
	}
	id := res.Instances.Instance[0].InstanceId
	if err := modify(c, id, "Adopt2"); err != nil {
		t.Fatal(err)
	}
	if _, config := f.vncPasswords(t, dom); config != "Adopt2" {
		t.Fatal("ModifyInstanceVncPasswd did not reach the adopted domain")
	}
	del := ecs.CreateDeleteInstanceRequest()
	del.RegionId, del.InstanceId = "cn-hangzhou", id
	if _, err := c.DeleteInstance(del); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	if _, err := f.lv.DomainLookupByName("legacy-vm"); err != nil {
		t.Fatalf("DeleteInstance removed the adopted domain: %v", err)
	}
	if !strings.Contains(f.env.Server().Logs(), "adopted domain forgotten") {
		t.Fatal("deleting an adopted instance does not say the domain was only forgotten")
	}
}

// waitAgent waits until the guest's qemu-guest-agent has connected, as
// the domain's definition shows it (state='connected').
// testAgentless: a running guest without qemu-guest-agent (an adopted
// domain with no agent channel, which boots nothing) cannot take
// changePass, which gives BCC's 409 and changes nothing.
func (f *fixture) testAgentless(t *testing.T) {
	d := &libvirtxml.Domain{
		Type: "qemu", Name: "no-agent-vm", Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		Devices: &libvirtxml.DomainDeviceList{Graphics: []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
			Port: -1, AutoPort: "yes", Listen: "127.0.0.1", Passwd: "before",
		}}}},
	}
	x, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := f.lv.DomainDefineXMLFlags(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.lv.DomainDestroy(dom)
		f.lv.DomainUndefine(dom)
	})
	if err := f.lv.DomainCreate(dom); err != nil {
		t.Fatal(err)
	}
	fleet := "accounts:\n  - id: root\n    bcc:\n      - name: no-agent\n        region: bj\n        status: Running\n" +
		"        driver: libvirt\n        machine: kvm1/no-agent-vm\n        admin_password: Before12!a\n"
	if err := f.env.Server().ApplyFleet([]byte(fleet)); err != nil {
		t.Fatalf("apply the fleet: %v", err)
	}
	c := f.env.BCC(t)
	list, err := c.ListInstances(&api.ListInstanceArgs{InstanceNames: "no-agent"})
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	var id string
	for _, inst := range list.Instances {
		if inst.InstanceName == "no-agent" {
			id = inst.InstanceId
		}
	}
	if id == "" {
		t.Fatal("ListInstances does not list the adopted instance")
	}
	err = changePass(c, id, "Never56!c")
	var be *bce.BceServiceError
	if !errors.As(err, &be) || be.StatusCode != 409 || be.Code != "Instance.PasswordOperationForbidden" {
		t.Fatalf("changePass without a guest agent: %v, want 409 Instance.PasswordOperationForbidden", err)
	}
	if strings.Contains(err.Error(), "Never56") {
		t.Fatal("the error holds the password")
	}
	ctx := testutil.Context(t, hangGuard)
	if ok, _ := f.env.App().BCC.CheckAdminPassword(ctx, "", core.BCCInstanceID(id), core.NewSecret("Never56!c")); ok {
		t.Fatal("a changePass that failed changed the stored password")
	}
	if ok, _ := f.env.App().BCC.CheckAdminPassword(ctx, "", core.BCCInstanceID(id), core.NewSecret("Before12!a")); !ok {
		t.Fatal("a changePass that failed lost the stored password")
	}
}

func (f *fixture) waitAgent(t testing.TB, dom golibvirt.Domain) {
	t.Helper()
	ctx := testutil.Context(t, hangGuard)
	for {
		x, err := f.lv.DomainGetXMLDesc(dom, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(x, "state='connected'") || strings.Contains(x, `state="connected"`) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the guest agent did not connect")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func changePass(c *bcc.Client, id, pw string) error {
	_, err := c.ChangeInstancePass(id, &api.ChangeInstancePassArgs{AdminPass: pw})
	return err
}

// testBCC: changePass sets the guest's root password through
// qemu-guest-agent, checked by logging in on the serial console.
func (f *fixture) testBCC(t *testing.T) {
	c := f.env.BCC(t)
	res, err := c.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-Z1TCx0Zv", CpuCount: 1, MemoryCapacityInGB: 1})
	if err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}
	id := res.InstanceIds[0]
	dom := f.domain(t, "bcc", id)
	if !f.active(t, dom) {
		t.Fatal("CreateInstance did not start the domain")
	}
	serial := f.serial(t, "bcc", id)
	ctx := testutil.Context(t, hangGuard)
	if err := serial.WaitLogin(ctx); err != nil {
		t.Fatalf("the guest did not boot to its login prompt: %v", err)
	}
	f.waitAgent(t, dom)
	for _, pw := range []string{"Guest12!a", "Guest34!b"} {
		if err := changePass(c, id, pw); err != nil {
			t.Fatalf("changePass: %v", err)
		}
	}
	if ok, err := serial.Login(ctx, "root", "Guest34!b"); err != nil || !ok {
		t.Fatalf("root cannot log in with the password changePass set (%v)", err)
	}
	if ok, err := serial.Login(ctx, "root", "Guest12!a"); err != nil || ok {
		t.Fatalf("root still logs in with the previous password (%v)", err)
	}

	// libvirtd stopped: the BCC conflict, and the guest keeps its password.
	f.daemon.Stop()
	err = changePass(c, id, "Never56!c")
	var be *bce.BceServiceError
	if !errors.As(err, &be) || be.StatusCode != 409 || be.Code != "Instance.PasswordOperationForbidden" {
		t.Fatalf("with libvirtd stopped: %v, want 409 Instance.PasswordOperationForbidden", err)
	}
	if strings.Contains(err.Error(), "Never56") {
		t.Fatal("the error holds the password")
	}
	if ok, err := serial.Login(ctx, "root", "Guest34!b"); err != nil || !ok {
		t.Fatalf("a changePass that failed changed the guest (%v)", err)
	}
	if ok, _ := f.env.App().BCC.CheckAdminPassword(ctx, "", core.BCCInstanceID(id), core.NewSecret("Never56!c")); ok {
		t.Fatal("a changePass that failed changed the stored password")
	}
	if err := c.StopInstance(id, true); err == nil {
		t.Fatal("StopInstance succeeded with libvirtd stopped")
	}
	f.checkECSDown(t)
	f.restartDaemon()
	if _, config := f.vncPasswords(t, f.optDom); config != "Xyz789" {
		t.Fatal("a change that answered InstanceNotReady reached the domain")
	}
	dom = f.domain(t, "bcc", id)
	if err := c.StopInstance(id, true); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if f.active(t, dom) {
		t.Fatal("StopInstance (forceStop) left the domain running")
	}
	if err := c.DeleteInstance(id); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	if f.exists(t, "bcc", id) {
		t.Fatal("DeleteInstance left the domain defined")
	}
}

// testECS: ECS instances through the Alibaba Go SDK.
func (f *fixture) testECS(t *testing.T) {
	c := f.env.ECS(t)

	// An I/O optimized instance: the change is live on the domain's VNC
	// server when the call returns, and in its persistent definition.
	opt := runInstance(t, c, true)
	dom := f.domain(t, "ecs", opt)
	if !f.active(t, dom) {
		t.Fatal("RunInstances did not start the domain")
	}
	for _, pw := range []string{"Abc123", "Xyz789"} {
		if err := modify(c, opt, pw); err != nil {
			t.Fatal(err)
		}
		if live, config := f.vncPasswords(t, dom); live != pw || config != pw {
			t.Fatal("the domain's graphics password is not the new one, live and in its definition")
		}
	}
	if !f.login(t, c, opt, "Xyz789") {
		t.Fatal("the console refused the password ModifyInstanceVncPasswd set")
	}
	if f.login(t, c, opt, "Abc123") {
		t.Fatal("the console admits the previous password")
	}
	stop(t, c, opt, true)
	if f.active(t, dom) {
		t.Fatal("StopInstance (ForceStop) left the domain running")
	}

	// Not I/O optimized: the old password stays until RebootInstance.
	legacy := runInstance(t, c, false)
	ldom := f.domain(t, "ecs", legacy)
	old, _ := f.vncPasswords(t, ldom)
	serial := f.serial(t, "ecs", legacy)
	if _, err := serial.Expect(testutil.Context(t, hangGuard), "latchkey guest up"); err != nil {
		t.Fatalf("the guest did not boot: %v", err)
	}
	if err := modify(c, legacy, "Pend12"); err != nil {
		t.Fatal(err)
	}
	if !f.login(t, c, legacy, old) || f.login(t, c, legacy, "Pend12") {
		t.Fatal("a pending password changed the console before the restart")
	}
	// A forced reboot resets the domain: its guest boots again.
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.RegionId, reboot.InstanceId, reboot.ForceStop = "cn-hangzhou", legacy, requests.NewBoolean(true)
	if _, err := c.RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}
	if !f.login(t, c, legacy, "Pend12") || f.login(t, c, legacy, old) {
		t.Fatal("RebootInstance did not make the pending password live")
	}
	if _, err := serial.Expect(testutil.Context(t, hangGuard), "latchkey guest up"); err != nil {
		t.Fatalf("the guest did not boot after RebootInstance: %v", err)
	}

	// A graceful stop powers the guest off (ACPI, which its acpid
	// handles once it has booted); Start starts the domain; Delete
	// removes it.
	if _, err := serial.Expect(testutil.Context(t, hangGuard), "login: "); err != nil {
		t.Fatalf("the guest did not come back after the reboot: %v", err)
	}
	stop(t, c, legacy, false)
	if f.active(t, ldom) {
		t.Fatal("StopInstance left the domain running")
	}
	start := ecs.CreateStartInstanceRequest()
	start.RegionId, start.InstanceId = "cn-hangzhou", legacy
	if _, err := c.StartInstance(start); err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	if !f.active(t, ldom) {
		t.Fatal("StartInstance did not start the domain")
	}
	// A domain destroyed behind latchkey's back: the instance follows.
	if err := f.lv.DomainDestroy(ldom); err != nil {
		t.Fatal(err)
	}
	f.waitStatus(t, c, legacy, "Stopped")
	del := ecs.CreateDeleteInstanceRequest()
	del.RegionId, del.InstanceId = "cn-hangzhou", legacy
	if _, err := c.DeleteInstance(del); err != nil {
		t.Fatalf("DeleteInstance: %v", err)
	}
	if f.exists(t, "ecs", legacy) {
		t.Fatal("DeleteInstance left the domain defined")
	}

	f.opt, f.optDom = opt, dom
}

// checkECSDown: with libvirtd stopped, ModifyInstanceVncPasswd answers
// InstanceNotReady and the stored password stays; StartInstance fails.
func (f *fixture) checkECSDown(t *testing.T) {
	t.Helper()
	c := f.env.ECS(t)
	err := modify(c, f.opt, "Never1")
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "InstanceNotReady" || se.HttpStatus() != 403 {
		t.Fatalf("with libvirtd stopped: %v, want 403 InstanceNotReady", err)
	}
	if strings.Contains(err.Error(), "Never1") {
		t.Fatal("the error holds the password")
	}
	inst := &core.Instance{ID: core.InstanceID(f.opt), Name: f.opt}
	pw, err := f.env.App().ECS.LivePassword(context.Background(), inst.ConsoleTarget())
	if err != nil || pw.Reveal() != "Xyz789" {
		t.Fatal("a change that answered InstanceNotReady changed the stored password")
	}
	start := ecs.CreateStartInstanceRequest()
	start.RegionId, start.InstanceId = "cn-hangzhou", f.opt
	if _, err := c.StartInstance(start); err == nil {
		t.Fatal("StartInstance succeeded with libvirtd stopped")
	}
}

// waitStatus waits until DescribeInstances shows the instance in status:
// latchkey follows its domain's lifecycle events.
func (f *fixture) waitStatus(t *testing.T, c *ecs.Client, id, status string) {
	t.Helper()
	ctx := testutil.Context(t, hangGuard)
	req := ecs.CreateDescribeInstancesRequest()
	req.RegionId, req.InstanceIds = "cn-hangzhou", `["`+id+`"]`
	for {
		res, err := c.DescribeInstances(req)
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		if len(res.Instances.Instance) == 1 && res.Instances.Instance[0].Status == status {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the instance did not become %s after its domain changed", status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
